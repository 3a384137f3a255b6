/**
 * `npm run setup`: the one-off job a deployment runs before its API and
 * workers (deploy/compose.yaml's `setup` service), with the rights they do not
 * need: it applies the committed migrations to DATABASE_URL, registers the
 * Temporal namespace if the cluster has none by that name (self-hosted), and
 * registers Custodian's search attributes in it (operator rights). Workers then
 * run with TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=false. Safe to run again: each
 * step does only what is missing.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { runMigrations } from '../db/migrate';
import { describeErrorLine } from '../db/errors';
import { ConfigError, loadConfig, parseDuration } from '../lib/config';
import { connectTemporal, ensureNamespace, ensureSearchAttributes } from '../lib/temporal';

/** How long a namespace just registered may take to be known to every Temporal service. */
const NAMESPACE_PROPAGATION_MS = 60_000;

async function main() {
  const config = loadConfig();
  await runMigrations(config.databaseUrl, { log: (line) => console.log(line) });
  console.log('migrations applied');

  const connection = await connectTemporal(config.temporal);
  try {
    const { namespace } = config.temporal;
    const retentionMs = parseDuration(process.env, 'TEMPORAL_NAMESPACE_RETENTION', 30 * 86_400_000);
    if (await ensureNamespace(connection, namespace, retentionMs)) {
      console.log(`namespace "${namespace}" registered`);
    }
    // A new namespace reaches the server's caches some seconds after it is registered.
    const deadline = Date.now() + NAMESPACE_PROPAGATION_MS;
    for (;;) {
      try {
        await ensureSearchAttributes(connection, namespace);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await sleep(1_000);
      }
    }
    console.log(`search attributes registered in namespace "${namespace}"`);
  } finally {
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    // A configuration error names the variable; anything else is described without its text.
    console.error(
      `setup failed: ${error instanceof ConfigError ? error.message : describeErrorLine(error)}`,
    );
    process.exit(1);
  },
);
