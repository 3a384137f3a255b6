import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import * as workflows from '../../workflows';

const dir = path.join(import.meta.dirname, 'histories');
const files = readdirSync(dir)
  .filter((file) => file.endsWith('.history.bin'))
  .sort();
const recorded = files.map((file) => ({
  file,
  history: proto.temporal.api.history.v1.History.decode(readFileSync(path.join(dir, file))),
}));

/**
 * Workflows already running were recorded by older code; replaying their
 * histories against today's code proves a change does not break them.
 * Record new ones with `npm run record:histories` (README: changing a workflow).
 * Each file is a test of its own, so a failure names the history it broke.
 */
describe('recorded workflow histories', () => {
  /** Each file's replay error, or 'replayed'. */
  const outcomes = new Map<string, string>();

  beforeAll(async () => {
    // One replay worker for every history: a bundle is loaded once.
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      recorded.map(({ file, history }) => ({ workflowId: file, history })),
    );
    for await (const result of results) {
      outcomes.set(
        result.workflowId,
        result.error ? `${result.error.name}: ${result.error.message}` : 'replayed',
      );
    }
  });

  it('cover every workflow type the worker registers', () => {
    const types = new Set(
      recorded.map(({ history }) => {
        const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
        return started?.workflowType?.name;
      }),
    );
    expect([...types].sort()).toEqual(Object.keys(workflows).sort());
  });

  it('are there to replay', () => {
    expect(recorded.length).toBeGreaterThan(0);
  });

  it.each(files)('%s replays against the current workflow code', (file) => {
    expect(outcomes.get(file), file).toBe('replayed');
  });
});
