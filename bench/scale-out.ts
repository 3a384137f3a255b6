/**
 * Scale-out benchmark: the same small merges (each customer 3 conversations
 * and 2 KObjects), previewed and confirmed through the API 10 at a time, first
 * with one worker process, then with two — each a real `worker.ts` process on
 * one task queue, as deploy/compose.yaml runs its replicas. Prints jobs/s of
 * both, their ratio, and the CPU each part used, which is what explains the
 * ratio on a small machine. Any job that does not complete fails the run.
 * Run: `npm run bench:scale-out` (under two minutes; BENCH_JOBS merges per run, 30 by default).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import { projectRoot } from '../stack';
import { mergeOnce, seedMergePair, withThrowawayApp, type Harness } from './harness';

const JOBS = Number(process.env.BENCH_JOBS ?? 30);
const CONCURRENCY = 10;
const CLOCK_TICKS_PER_SECOND = 100;

/** A `worker.ts` process on the benchmark's services; resolves once it polls. */
function startWorkerProcess(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts'], {
    cwd: projectRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4000);
      if (output.includes('worker polling')) resolve(child);
    });
    child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
    child.once('exit', (code) =>
      reject(new Error(`worker exited (${code}): ${output.slice(-2000)}`)),
    );
  });
}

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
}

/** Busy and total CPU seconds of the whole machine so far, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const values = ticks.map(Number);
  const total = values.reduce((sum, value) => sum + value, 0);
  const idle = values[3]! + values[4]!;
  return { busy: (total - idle) / CLOCK_TICKS_PER_SECOND, total: total / CLOCK_TICKS_PER_SECOND };
}

interface Run {
  workers: number;
  seconds: number;
  /** CPU seconds used by each worker process during the run. */
  workerCpu: number[];
  /** CPU seconds used by this process (the API and the load generator). */
  apiCpu: number;
  /** Share of all cores busy, with everything else on the machine (Postgres, Temporal, Meilisearch). */
  machineBusy: number;
}

async function run(
  harness: Harness,
  klassId: string,
  workers: ChildProcess[],
  jobs: number,
): Promise<Run> {
  const pairs: [string, string][] = [];
  for (let i = 0; i < jobs; i++) pairs.push(await seedMergePair(harness.db, klassId));
  const workerCpu0 = workers.map((worker) => cpuSecondsOf(worker.pid!));
  const apiCpu0 = process.cpuUsage();
  const machine0 = machineCpu();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < pairs.length) await mergeOnce(harness.app, harness.headers, pairs[next++]!);
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const machine1 = machineCpu();
  const api = process.cpuUsage(apiCpu0);
  return {
    workers: workers.length,
    seconds,
    workerCpu: workers.map((worker, i) => cpuSecondsOf(worker.pid!) - workerCpu0[i]!),
    apiCpu: (api.user + api.system) / 1e6,
    machineBusy: (machine1.busy - machine0.busy) / (machine1.total - machine0.total),
  };
}

async function main() {
  const taskQueue = `bench-scale-out-${randomUUID().slice(0, 8)}`;
  const workers: ChildProcess[] = [];
  try {
    await withThrowawayApp(
      'bench-scale-out',
      async (harness) => {
        const klass = await harness.db.execute<{ id: string }>(
          sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
        );
        const klassId = klass.rows[0]!.id;
        const workerEnv = { ...harness.env, LOG_LEVEL: 'warn' };

        workers.push(await startWorkerProcess(workerEnv));
        await run(harness, klassId, workers, 3); // warm-up: caches, pools, the sticky queue
        const one = await run(harness, klassId, workers, JOBS);
        workers.push(await startWorkerProcess(workerEnv));
        await run(harness, klassId, workers, 3);
        const two = await run(harness, klassId, workers, JOBS);

        console.log(
          `\n${JOBS} merges of 2 × 5 items, previewed and confirmed through the API ${CONCURRENCY} at a time`,
        );
        console.log(
          `machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, load average ${os
            .loadavg()
            .map((l) => l.toFixed(1))
            .join(' ')}\n`,
        );
        console.log('workers   jobs/s   worker CPU (s, each)   API + load CPU (s)   machine busy');
        for (const r of [one, two]) {
          console.log(
            `${String(r.workers).padStart(7)}   ${(JOBS / r.seconds).toFixed(1).padStart(6)}   ${r.workerCpu
              .map((s) => s.toFixed(1))
              .join(' + ')
              .padStart(
                20,
              )}   ${r.apiCpu.toFixed(1).padStart(18)}   ${(r.machineBusy * 100).toFixed(0).padStart(11)}%`,
          );
        }
        const ratio = one.seconds / two.seconds;
        const workerShare = one.workerCpu[0]! / one.seconds;
        console.log(`\ntwo workers ÷ one: ${ratio.toFixed(2)}×`);
        console.log(
          `One worker was busy ${(workerShare * 100).toFixed(0)}% of one core while the machine's ${os.cpus().length} cores were ${(one.machineBusy * 100).toFixed(0)}% busy.\n` +
            (one.machineBusy > 0.85
              ? 'The machine, not the worker, was the limit: Postgres, Temporal, Meilisearch, the API and the workers share its cores, so a second worker adds pollers and task slots but no CPU. Expect a ratio near 1, moved either way by whatever else the machine runs (its load average is above). With cores of their own, workers scale until Temporal or Postgres is the limit.'
              : workerShare > 0.85
                ? 'The worker was the limit (one core saturated): a second worker process takes half its tasks, which is where the gain comes from.'
                : 'Neither the machine nor the worker was saturated: each job waits on Temporal and Postgres round trips, so its latency, not worker capacity, set the rate; a second worker adds capacity nobody was waiting for.'),
        );
      },
      // A request waits up to 30 s for its workflow: the first ones meet a worker still warming up.
      { worker: false, env: { TEMPORAL_TASK_QUEUE: taskQueue, JOB_REPLY_WAIT: '30s' } },
    );
  } finally {
    for (const worker of workers) worker.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
