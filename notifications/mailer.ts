import nodemailer from 'nodemailer';
import { ConfigError, type Config } from '../lib/config';

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  /** The same content as `text`, for mail clients that show HTML (sent as multipart/alternative). */
  html?: string;
}

/** Sends email over SMTP; one pooled transport per process. */
export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

export function createMailer(smtp: Config['smtp']): Mailer {
  if (!smtp.url) throw new ConfigError('SMTP_URL is required: the worker sends notices by email');
  const transport = nodemailer.createTransport(smtp.url, { from: smtp.from });
  return {
    async send(message) {
      await transport.sendMail(message);
    },
    close: () => transport.close(),
  };
}
