import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import * as workflows from '../../workflows';

const dir = path.join(import.meta.dirname, 'histories');
const files = readdirSync(dir).filter((file) => file.endsWith('.history.bin'));
const recorded = files.map((file) => ({
  file,
  history: proto.temporal.api.history.v1.History.decode(readFileSync(path.join(dir, file))),
}));

/**
 * Workflows already running were recorded by older code; replaying their
 * histories against today's code proves a change does not break them.
 * Record new ones with `npm run record:histories` (README: changing a workflow).
 */
describe('recorded workflow histories', () => {
  it('cover every workflow type the worker registers', () => {
    const types = new Set(
      recorded.map(({ history }) => {
        const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
        return started?.workflowType?.name;
      }),
    );
    expect([...types].sort()).toEqual(Object.keys(workflows).sort());
  });

  it('replay against the current workflow code without nondeterminism', async () => {
    const results = Worker.runReplayHistories(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      recorded.map(({ file, history }) => ({ workflowId: file, history })),
    );
    const failures: string[] = [];
    for await (const result of results) {
      if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
    }
    expect(failures).toEqual([]);
    expect(recorded.length).toBeGreaterThan(0);
  });
});
