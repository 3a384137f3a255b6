/**
 * Scale-out benchmark: the same small merges (each customer 3 conversations
 * and 2 KObjects), previewed and confirmed through the API 10 at a time, with
 * one worker process and with two — each a real `worker.ts` process, as
 * deploy/compose.yaml runs its replicas. Three processes start up front: one
 * alone on one task queue, two together on another, and every run drives both
 * queues in turn (an API for each), so one worker and two are measured in the
 * same runs, under the same load. Prints jobs/s of both, their ratio, and the
 * CPU each part used, which is what explains the ratio on a small machine.
 * Warm-up, then rounds until two agree within 15 % (`bench/measure.ts`). Any
 * job that does not complete fails the run.
 * Run: `npm run bench:scale-out` (BENCH_JOBS merges per configuration and run, 30 by default).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { sql } from 'drizzle-orm';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app';
import { projectRoot } from '../stack';
import { drive, mergeOnce, seedPairs, withThrowawayApp, type Harness } from './harness';
import { machineLine, measure, percentile, printMeasured, verdict } from './measure';

const JOBS = Number(process.env.BENCH_JOBS ?? 30);
const CONCURRENCY = 10;
const CLOCK_TICKS_PER_SECOND = 100;
const TARGET_RATIO = 1.7;

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
  rate: number;
  confirmP99: number;
  /** CPU milliseconds the worker processes used per job, together. */
  workerCpuPerJob: number;
  /** CPU milliseconds this process (the API and the load generator) used per job. */
  apiCpuPerJob: number;
  /** Share of all cores busy, with everything else on the machine (Postgres, Temporal, Meilisearch). */
  machineBusy: number;
}

async function run(
  harness: Harness,
  app: FastifyInstance,
  klassId: string,
  workers: ChildProcess[],
  jobs: number,
): Promise<Run> {
  const pairs = await seedPairs(harness.db, klassId, jobs);
  const workerCpu0 = workers.map((worker) => cpuSecondsOf(worker.pid!));
  const apiCpu0 = process.cpuUsage();
  const machine0 = machineCpu();
  const driven = await drive(pairs, CONCURRENCY, (pair) => mergeOnce(app, harness.headers, pair));
  const machine1 = machineCpu();
  const api = process.cpuUsage(apiCpu0);
  const workerCpu = workers.reduce(
    (sum, worker, i) => sum + cpuSecondsOf(worker.pid!) - workerCpu0[i]!,
    0,
  );
  return {
    rate: jobs / driven.seconds,
    confirmP99: percentile(driven.confirmMs, 0.99),
    workerCpuPerJob: (workerCpu * 1000) / jobs,
    apiCpuPerJob: (api.user + api.system) / 1000 / jobs,
    machineBusy: ((machine1.busy - machine0.busy) / (machine1.total - machine0.total)) * 100,
  };
}

async function main() {
  const queues = {
    one: `bench-scale-out-1-${randomUUID().slice(0, 8)}`,
    two: `bench-scale-out-2-${randomUUID().slice(0, 8)}`,
  };
  const children: ChildProcess[] = [];
  try {
    await withThrowawayApp(
      'bench-scale-out',
      async (harness) => {
        const klass = await harness.db.execute<{ id: string }>(
          sql`insert into klasses (name, title) values ('order', 'Order') returning id`,
        );
        const klassId = klass.rows[0]!.id;
        const workerEnv = (queue: string) => ({
          ...harness.env,
          LOG_LEVEL: 'warn',
          TEMPORAL_TASK_QUEUE: queue,
        });
        const started = await Promise.all([
          startWorkerProcess(workerEnv(queues.one)),
          startWorkerProcess(workerEnv(queues.two)),
          startWorkerProcess(workerEnv(queues.two)),
        ]);
        children.push(...started);
        const [alone, ...pair] = started;
        // The harness's API starts jobs on the first queue; a second API, on the same services, on the other.
        const appTwo = await buildApp({
          config: {
            ...harness.config,
            temporal: { ...harness.config.temporal, taskQueue: queues.two },
          },
          logger: false,
        });
        try {
          const measured = await measure(
            async () => {
              const one = await run(harness, harness.app, klassId, [alone], JOBS);
              const two = await run(harness, appTwo, klassId, pair, JOBS);
              return {
                one: one.rate,
                two: two.rate,
                oneP99: one.confirmP99,
                twoP99: two.confirmP99,
                oneWorkerCpu: one.workerCpuPerJob,
                twoWorkerCpu: two.workerCpuPerJob,
                oneApiCpu: one.apiCpuPerJob,
                twoApiCpu: two.apiCpuPerJob,
                oneBusy: one.machineBusy,
                twoBusy: two.machineBusy,
              };
            },
            { warmup: 1, runs: 3, maxRounds: 3, check: ['one', 'two'] },
          );

          console.log(
            `\nmerges of 2 × 5 items, previewed and confirmed through the API ${CONCURRENCY} at a time; each run ${JOBS} with one worker process, then ${JOBS} with two`,
          );
          console.log(machineLine());
          printMeasured('jobs per second, two workers against one in the same runs', measured, {
            labels: { two: 'two workers', one: 'one worker' },
            baseline: 'one',
            unit: 'jobs/s',
            digits: 1,
          });
          printMeasured('what each job cost, and how busy the machine was', measured, {
            labels: {
              oneWorkerCpu: 'one worker: worker CPU ms/job',
              twoWorkerCpu: 'two workers: worker CPU ms/job (both)',
              oneApiCpu: 'one worker: API + load CPU ms/job',
              twoApiCpu: 'two workers: API + load CPU ms/job',
              oneBusy: 'one worker: machine busy %',
              twoBusy: 'two workers: machine busy %',
              oneP99: 'one worker: confirm p99 ms',
              twoP99: 'two workers: confirm p99 ms',
            },
            unit: '',
          });
          const { medians } = measured.last;
          const ratio = medians.two / medians.one;
          const workerShare = (medians.oneWorkerCpu * medians.one) / 1000;
          console.log(
            `\ntwo workers ÷ one: ${ratio.toFixed(2)}× (target ≥ ${TARGET_RATIO}×: ${verdict(ratio >= TARGET_RATIO)})`,
          );
          console.log(
            `One worker was busy ${(workerShare * 100).toFixed(0)}% of one core while the machine's ${os.cpus().length} cores were ${medians.oneBusy.toFixed(0)}% busy.\n` +
              (medians.oneBusy > 85
                ? 'The machine, not the worker, was the limit: Postgres, Temporal, Meilisearch, the API and the workers share its cores, so a second worker adds pollers and task slots but no CPU. Expect a ratio near 1, moved either way by whatever else the machine runs (its load average is above). With cores of their own, workers scale until Temporal or Postgres is the limit.'
                : workerShare > 0.85
                  ? 'The worker was the limit (one core saturated): a second worker process takes half its tasks, which is where the gain comes from.'
                  : 'Neither the machine nor the worker was saturated: each job waits on Temporal and Postgres round trips, so its latency, not worker capacity, set the rate; a second worker adds capacity nobody was waiting for.'),
          );
        } finally {
          await appTwo.close();
        }
      },
      // A request waits up to 30 s for its workflow: the first ones meet a worker still warming up.
      { worker: false, env: { TEMPORAL_TASK_QUEUE: queues.one, JOB_REPLY_WAIT: '30s' } },
    );
  } finally {
    for (const child of children) child.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
