import nodemailer from 'nodemailer';
import type { Config } from '../lib/config';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

/** Sends email over SMTP; one pooled transport per process. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export function createMailer(smtp: Config['smtp']): Mailer {
  const transport = nodemailer.createTransport(smtp.url, { from: smtp.from });
  return {
    async send(message) {
      await transport.sendMail(message);
    },
    close: () => transport.close(),
  };
}
