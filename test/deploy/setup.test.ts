import type { Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { connectTemporal, ensureNamespace } from '../../lib/temporal';
import { projectRoot } from '../../stack';
import { startWorker } from '../../worker';
import { searchAttributes } from '../../workflows/contracts';
import { eventually, testConfig } from '../helpers';

const custodianAttributes = Object.values(searchAttributes).map((key) => key.name);

/** Runs a script of the project as compose runs it, against the test services. */
function runScript(
  script: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: projectRoot,
    env: { ...process.env, ...inject('serviceEnv'), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, output })));
}

let connection: Connection;
beforeAll(async () => {
  connection = await connectTemporal(inject('serviceEnv').TEMPORAL_ADDRESS!);
});
afterAll(() => connection.close());

async function registeredIn(namespace: string): Promise<string[]> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({
    namespace,
  });
  return custodianAttributes.filter((name) => name in (customAttributes ?? {}));
}

/**
 * What the namespace lists once it holds `count` of Custodian's attributes: a
 * namespace just registered, and an attribute just added, are seen a moment
 * later on a busy server (NOT_FOUND meanwhile).
 */
const registeredWhen = (namespace: string, count: number) =>
  eventually(
    async () => {
      const names = await registeredIn(namespace).catch(() => undefined);
      return names?.length === count ? names : undefined;
    },
    20_000,
    `${count} attributes listed in namespace ${namespace}`,
  );

describe('the setup job (npm run setup)', () => {
  it('registers a missing namespace and every search attribute, and can run again', async () => {
    const namespace = `setup-${randomUUID()}`;
    // As deploy/compose.yaml passes it: the password apart from DATABASE_URL, in PGPASSWORD.
    const url = new URL(inject('serviceEnv').DATABASE_URL!);
    const password = decodeURIComponent(url.password);
    url.password = '';
    expect(password).not.toBe('');
    const first = await runScript('scripts/setup.ts', {
      TEMPORAL_NAMESPACE: namespace,
      DATABASE_URL: url.toString(),
      PGPASSWORD: password,
    });
    expect(first.code, first.output).toBe(0);
    expect(first.output).toContain(`namespace "${namespace}" registered`);
    expect(first.output).toContain('migrations applied');
    expect(await registeredWhen(namespace, custodianAttributes.length)).toEqual(
      custodianAttributes,
    );

    const again = await runScript('scripts/setup.ts', { TEMPORAL_NAMESPACE: namespace });
    expect(again.code, again.output).toBe(0);
    expect(again.output).not.toContain(`namespace "${namespace}" registered`);
  }, 90_000);
});

describe('a worker in a namespace whose search attributes someone else registers', () => {
  it('registers none with TEMPORAL_REGISTER_SEARCH_ATTRIBUTES=false, all by default', async () => {
    const namespace = `managed-${randomUUID()}`;
    await ensureNamespace(connection, namespace, 86_400_000);
    // Found by the operator service before a worker starts in it.
    await registeredWhen(namespace, 0);
    const start = (overrides: Record<string, string>) =>
      startWorker(testConfig({ TEMPORAL_NAMESPACE: namespace, ...overrides }), {
        workflowBundle: { codePath: inject('workflowBundlePath') },
        shutdownGraceTime: '1 second',
        webhooks: false,
      });
    const managed = await eventually(
      () => start({ TEMPORAL_REGISTER_SEARCH_ATTRIBUTES: 'false' }),
      20_000,
      'a worker started in the new namespace',
    );
    await managed.shutdown();
    expect(await registeredIn(namespace)).toEqual([]);

    const selfServed = await eventually(() => start({}), 20_000, 'a self-registering worker');
    await selfServed.shutdown();
    expect(await registeredWhen(namespace, custodianAttributes.length)).toEqual(
      custodianAttributes,
    );
  }, 60_000);
});

describe('the worker health check (scripts/worker-health.ts)', () => {
  it('is healthy while a worker on this host polls the task queue, and says why it is not otherwise', async () => {
    const config = testConfig();
    const worker = await startWorker(config, {
      workflowBundle: { codePath: inject('workflowBundlePath') },
      shutdownGraceTime: '1 second',
      webhooks: false,
    });
    try {
      const env = { TEMPORAL_TASK_QUEUE: config.temporal.taskQueue };
      await eventually(
        async () =>
          (await runScript('scripts/worker-health.ts', env)).code === 0 ? true : undefined,
        20_000,
        'the health check to see this worker polling',
      );
      const elsewhere = await runScript('scripts/worker-health.ts', {
        ...env,
        WORKER_HEALTH_HOSTNAME: 'another-container',
      });
      expect(elsewhere.code).toBe(1);
      expect(elsewhere.output).toContain('no worker on this host (*@another-container) polls');
    } finally {
      await worker.shutdown();
    }
    const idle = await runScript('scripts/worker-health.ts', {
      TEMPORAL_TASK_QUEUE: `nobody-${randomUUID()}`,
    });
    expect(idle.code).toBe(1);
    expect(idle.output).toContain('unhealthy: no worker on this host');
  }, 60_000);
});
