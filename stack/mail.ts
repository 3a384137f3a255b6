import { existsSync } from 'node:fs';
import path from 'node:path';
import { MissingBinaryError, projectRoot } from './binaries';
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
  // maildev's package exports hide its CLI, so it is found by path.
  const cli = path.join(projectRoot, 'node_modules/maildev/dist/bin/maildev.js');
  if (!existsSync(cli))
    throw new MissingBinaryError('MailDev is not installed: run `npm install`, or set SMTP_URL.');
  const inboxUrl = `http://127.0.0.1:${webPort}`;
  const server = spawnService(
    'maildev',
    process.execPath,
    [
      cli,
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
