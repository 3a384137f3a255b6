/**
 * How every benchmark measures: warm-up runs that are thrown away, then rounds
 * of timed runs until two consecutive rounds agree within a tolerance (15 %),
 * each figure printed next to a baseline measured in the same runs, with the
 * machine and its load. Only the last two rounds are reported.
 *
 * A run returns several named figures at once (say `workflow`, `preview` and
 * `sql`), so an API figure and its baseline always come from the same moment
 * of the machine's load.
 */
import os from 'node:os';

export type Figures<K extends string> = Record<K, number>;

export interface Round<K extends string> {
  /** Each figure's values, one per run of this round. */
  samples: Record<K, number[]>;
  medians: Figures<K>;
}

export interface Measured<K extends string> {
  /** The last two rounds (or the only one, with `maxRounds` 1). */
  previous: Round<K> | undefined;
  last: Round<K>;
  rounds: number;
  /** Whether the last two rounds agree within the tolerance on every figure checked. */
  stable: boolean;
  /** The largest difference between the last two rounds' medians, as a fraction. */
  spread: number;
  load: { start: number; end: number };
}

export const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** The value below which a fraction `p` of the values lie (nearest rank). */
export const percentile = (values: readonly number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(sorted.length * p) - 1))]!;
};

/** How long `work` took, in ms. */
export async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

/** Relative difference of two positive figures, as a fraction of the smaller. */
export const differs = (a: number, b: number): number =>
  Math.abs(a - b) / Math.max(Math.min(a, b), Number.EPSILON);

/**
 * Runs `once` `warmup` times untimed, then rounds of `runs` runs until the
 * medians of two consecutive rounds agree within `tolerance` on every figure
 * in `check` (all figures by default), or `maxRounds` rounds have run.
 * `once` may take its run index (global across rounds) to pick fresh data.
 */
export async function measure<K extends string>(
  once: (run: number) => Promise<Figures<K>>,
  {
    warmup = 2,
    runs = 5,
    maxRounds = 4,
    tolerance = 0.15,
    check,
    aggregate = median,
  }: {
    warmup?: number;
    runs?: number;
    maxRounds?: number;
    tolerance?: number;
    /** The figures whose agreement decides stability (some baselines of a few ms jitter by more than 15 % and say nothing). */
    check?: readonly NoInfer<K>[];
    /** How a round summarises its runs: the median, or a percentile for latency tails. */
    aggregate?: (values: readonly number[]) => number;
  } = {},
): Promise<Measured<K>> {
  const loadStart = os.loadavg()[0]!;
  let run = 0;
  for (let i = 0; i < warmup; i++) await once(run++);
  let previous: Round<K> | undefined;
  let last: Round<K> | undefined;
  let spread = Number.POSITIVE_INFINITY;
  let rounds = 0;
  while (rounds < maxRounds) {
    const samples = {} as Record<K, number[]>;
    for (let i = 0; i < runs; i++) {
      const figures = await once(run++);
      for (const key of Object.keys(figures) as K[]) (samples[key] ??= []).push(figures[key]);
    }
    const medians = {} as Figures<K>;
    for (const key of Object.keys(samples) as K[]) medians[key] = aggregate(samples[key]);
    previous = last;
    last = { samples, medians };
    rounds += 1;
    if (previous) {
      const keys = check ?? (Object.keys(medians) as K[]);
      spread = Math.max(...keys.map((key) => differs(previous!.medians[key], medians[key])));
      if (spread <= tolerance) break;
    }
  }
  return {
    previous,
    last: last!,
    rounds,
    stable: spread <= tolerance,
    spread: Number.isFinite(spread) ? spread : 0,
    load: { start: loadStart, end: os.loadavg()[0]! },
  };
}

/** One line about the machine: cores, memory, load average now. */
export function machineLine(): string {
  return `machine: ${os.cpus().length} cores (${os.cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${(
    os.totalmem() /
    2 ** 30
  ).toFixed(0)} GiB, load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}

const fmt = (value: number, digits: number) => value.toFixed(digits);

/**
 * Prints the last two rounds' figures side by side, each with its ratio to
 * `baseline` (a figure of the same runs), and whether the rounds agreed.
 */
export function printMeasured<K extends string>(
  title: string,
  measured: Measured<K>,
  {
    labels,
    baseline,
    unit = 'ms',
    digits = 0,
    what = 'median',
  }: {
    /** The figures to print, in order, with their labels. */
    labels: Partial<Record<NoInfer<K>, string>>;
    /** The figure each other one is divided by, if any. */
    baseline?: NoInfer<K>;
    unit?: string;
    digits?: number;
    what?: string;
  },
): void {
  const { previous, last } = measured;
  const runs = Object.values<number[]>(last.samples)[0]?.length ?? 0;
  console.log(`\n${title}`);
  console.log(
    `${measured.rounds} round(s) of ${runs} runs after warm-up; last two rounds ${
      previous ? `differ by at most ${(measured.spread * 100).toFixed(0)} %` : 'n/a'
    } (${measured.stable ? 'stable' : 'NOT stable'} within 15 %); load average ${fmt(
      measured.load.start,
      1,
    )} → ${fmt(measured.load.end, 1)}`,
  );
  const width = Math.max(...Object.values<string | undefined>(labels).map((l) => l?.length ?? 0));
  console.log(
    `${''.padEnd(width)}   ${`${what} ${unit}`.padStart(14)}   ${'previous round'.padStart(14)}${
      baseline ? '   × baseline' : ''
    }`,
  );
  for (const key of Object.keys(labels) as K[]) {
    const now = last.medians[key];
    const before = previous?.medians[key];
    const ratio =
      baseline && key !== baseline ? `   ${fmt(now / last.medians[baseline], 1).padStart(9)}×` : '';
    console.log(
      `${labels[key]!.padEnd(width)}   ${fmt(now, digits).padStart(14)}   ${(before === undefined
        ? '—'
        : fmt(before, digits)
      ).padStart(14)}${ratio}`,
    );
  }
}

/** "met" or "NOT met", for a target line. */
export const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');
