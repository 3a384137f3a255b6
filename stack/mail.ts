import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { spawnService, waitUntil } from './process';
import type { StartedService } from './types';

export interface StartedMail extends StartedService {
  /** MailDev's web inbox; its JSON API lives under `/api/email`. */
  inboxUrl: string;
}

/** MailDev: a real SMTP server that keeps what it receives and shows it in a web inbox. */
export async function startMail({
  dataDir,
  smtpPort,
  webPort,
  logFile,
}: {
  dataDir: string;
  smtpPort: number;
  webPort: number;
  logFile: string;
}): Promise<StartedMail> {
  // maildev exports only its ESM entry (dist/index.js); its CLI sits beside it.
  const packageDir = path.dirname(path.dirname(fileURLToPath(import.meta.resolve('maildev'))));
  const inboxUrl = `http://127.0.0.1:${webPort}`;
  const server = spawnService(
    'maildev',
    process.execPath,
    [
      path.join(packageDir, 'dist/bin/maildev.js'),
      '--smtp',
      String(smtpPort),
      '--web',
      String(webPort),
      '--ip',
      '127.0.0.1',
      '--web-ip',
      '127.0.0.1',
      '--mail-directory',
      path.join(dataDir, 'mail'),
    ],
    { logFile },
  );
  try {
    await waitUntil('MailDev', async () => (await fetch(`${inboxUrl}/api/healthz`)).ok, {
      process: server,
      logFile,
    });
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url: `smtp://127.0.0.1:${smtpPort}`, inboxUrl, stop: () => server.stop() };
}
