/**
 * The worker's log lines describe errors, never quote them: whatever error
 * the SDK or the project hands its logger (one that did not pass through the
 * activity wrapper: a failed workflow activation, a search-sync round), the
 * line says its class, codes and frames only.
 */
import { ApplicationFailure } from '@temporalio/common';
import { DefaultLogger } from '@temporalio/worker';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { activityFailure } from '../../activities/failures';
import { redactingLogger } from '../../worker';

/** A driver error as `pg` and Drizzle make it: the parameters in the message, the row in `detail`. */
function driverError(secret: string) {
  const pg = Object.assign(new Error(`duplicate key value: ${secret}`), {
    name: 'error',
    severity: 'ERROR',
    code: '23505',
    constraint: 'customers_external_id_unique',
    detail: `Key (external_id)=(${secret}) already exists.`,
  });
  return new Error(`Failed query: update customers set name = $1\nparams: ${secret}`, {
    cause: pg,
  });
}

describe('the worker log', () => {
  it('writes an error in a line as its class, SQLSTATE and constraint', () => {
    const lines: string[] = [];
    const logger = redactingLogger(
      new DefaultLogger('TRACE', ({ message, meta }) => lines.push(`${message} ${inspect(meta)}`)),
    );
    const secret = 'ada.lovelace@example.org';
    logger.warn('Failed to process Workflow Activation', { error: driverError(secret) });
    logger.error('search sync failed', { err: new TypeError(`no ${secret}`), attempt: 3 });

    const text = lines.join('\n');
    expect(text).not.toContain('ada.lovelace');
    expect(text).toContain("sqlState: '23505'");
    expect(text).toContain("constraint: 'customers_external_id_unique'");
    expect(text).toContain("errorClass: 'TypeError'");
    expect(text).toContain('attempt: 3');
  });
});

describe('an activity failure', () => {
  it('carries the class, SQLSTATE and constraint of a driver error, retryable, without its message or causes', () => {
    const secret = 'ada.lovelace@example.org';
    const failure = activityFailure('executeJob', driverError(secret)) as ApplicationFailure;
    expect(failure).toBeInstanceOf(ApplicationFailure);
    expect(failure).toMatchObject({
      type: 'TRANSIENT_FAULT',
      nonRetryable: false,
      message: 'executeJob failed: Error (SQLSTATE 23505, constraint customers_external_id_unique)',
    });
    expect(failure.cause).toBeUndefined();
    expect(JSON.stringify([failure.message, failure.stack, failure.details])).not.toContain(
      'ada.lovelace',
    );
  });
});
