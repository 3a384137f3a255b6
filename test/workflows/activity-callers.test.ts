/**
 * A pure unit test (no services): every activity the worker registers is
 * called by some workflow, and every job type has a workflow — a step nobody
 * runs is code nobody tests through the path users take.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createActivities, type ActivityDeps } from '../../activities';
import { jobTypes } from '../../db/schema';
import { jobWorkflows } from '../../workflows/contracts';

const workflowsDir = path.resolve(__dirname, '../../workflows');
const workflowSource = readdirSync(workflowsDir)
  .filter((file) => file.endsWith('.ts'))
  .map((file) => readFileSync(path.join(workflowsDir, file), 'utf8'))
  .join('\n');

describe('registered steps', () => {
  it('has a workflow calling each registered activity', () => {
    // Building the activities touches none of their dependencies.
    const names = Object.keys(createActivities({} as ActivityDeps));
    expect(names.length).toBeGreaterThan(10);
    const uncalled = names.filter((name) => !new RegExp(`\\b${name}\\b`).test(workflowSource));
    expect(uncalled).toEqual([]);
  });

  it('has a workflow for each job type', () => {
    expect(jobTypes.filter((type) => !(type in jobWorkflows))).toEqual([]);
  });
});
