/**
 * What the Temporal dev server's SQLite costs a job: two throw-away dev servers
 * side by side, one with SQLite's defaults (a synchronous commit, an fsync, per
 * write) and one with PRAGMAS (default: stack/temporal.ts FAST_SQLITE),
 * each running the do-nothing workflow of a confirmed job's shape
 * (bench/floor-workflows.ts) in alternation: one at a time, then 30 at once.
 * Run: `node --import tsx bench/temporal-sqlite.ts`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { floorWorkflow, goUpdate } from './floor-workflows';
import { median } from './measure';
import { FAST_SQLITE, startTemporal } from '../stack/temporal';
import { freePort } from '../stack/process';

const PRAGMAS = process.env.PRAGMAS?.split(',') ?? [...FAST_SQLITE];

/** A throw-away dev server with these SQLite pragmas, on a port of its own. */
async function server(pragmas: readonly string[]) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-temporal-sqlite-'));
  const port = await freePort();
  const started = await startTemporal({
    dataDir: dir,
    port,
    uiPort: 0,
    headless: true,
    logFile: path.join(dir, 'temporal.log'),
    sqlitePragmas: pragmas,
  });
  return {
    port,
    c: await Connection.connect({ address: started.url }),
    async stop() {
      await started.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
async function main() {
  const servers = [await server([]), await server(PRAGMAS)];
  const rigs: { client: Client; taskQueue: string; worker: Worker; running: Promise<void> }[] = [];
  for (const [i, s] of servers.entries()) {
    const taskQueue = `q${i}`;
    const connection = await NativeConnection.connect({ address: `127.0.0.1:${s.port}` });
    const worker = await Worker.create({
      connection,
      taskQueue,
      workflowsPath: fileURLToPath(new URL('./floor-workflows.ts', import.meta.url)),
      activities: { noop: async () => undefined },
    });
    const running = worker.run();
    const client = new Client({ connection: s.c });
    rigs.push({ client, taskQueue, worker, running });
  }
  const once = async (r: (typeof rigs)[number]) => {
    const t0 = performance.now();
    const h = await r.client.workflow.start(floorWorkflow, {
      taskQueue: r.taskQueue,
      workflowId: randomUUID(),
    });
    await h.executeUpdate(goUpdate);
    const ms = performance.now() - t0;
    await h.result();
    return ms;
  };
  const conc = async (r: (typeof rigs)[number]) => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 30 }, () => once(r)));
    return 30 / ((performance.now() - t0) / 1000);
  };
  for (let i = 0; i < 5; i++) for (const r of rigs) await once(r);
  const a: number[][] = [[], []],
    b: number[][] = [[], []];
  for (let round = 0; round < 15; round++)
    for (const [i, r] of rigs.entries()) a[i]!.push(await once(r));
  for (let round = 0; round < 4; round++)
    for (const [i, r] of rigs.entries()) b[i]!.push(await conc(r));
  console.log(`load ${os.loadavg()[0]!.toFixed(1)}`);
  console.log(
    `default sqlite: start+update+activity+local median ${median(a[0]!).toFixed(0)} ms; 30 concurrent: ${median(b[0]!).toFixed(1)} wf/s`,
  );
  console.log(
    `${PRAGMAS.join(',')}: start+update+activity+local median ${median(a[1]!).toFixed(0)} ms; 30 concurrent: ${median(b[1]!).toFixed(1)} wf/s`,
  );
  for (const r of rigs) {
    r.worker.shutdown();
    await r.running;
  }
  for (const s of servers) await s.stop();
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
