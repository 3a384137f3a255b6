/**
 * A GDPR erasure request is declined only for a stated reason: a decline
 * without one is refused with a stable code, and the request stays open —
 * its row, its audit trail and its tracking workflow alike.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, gdprRequests } from '../../db/schema';
import { gdprRequestStatusQuery } from '../../workflows/contracts';
import { problemOf, startTestApp, uniqueWord, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: true });
});
afterAll(() => t.close());

interface Request {
  id: string;
  status: string;
  workflowId: string;
  decline: { reason: string; note: string | null } | null;
}

async function openRequest(): Promise<Request> {
  const customer = await t.create('/v1/customers', { name: `Decline ${uniqueWord()}` });
  return t.create<Request>('/v1/gdpr-requests', { customerId: customer.id });
}

/** The request as Postgres and its workflow hold it, and its decline audit entries by ID. */
async function stateOf(request: Request) {
  const [row] = await t.db.select().from(gdprRequests).where(eq(gdprRequests.id, request.id));
  const declines = await t.db
    .select({ id: auditLog.id })
    .from(auditLog)
    .where(and(eq(auditLog.objectId, request.id), eq(auditLog.action, 'gdpr_request.declined')));
  const workflow = await t.temporal.workflow
    .getHandle(request.workflowId)
    .query(gdprRequestStatusQuery);
  return {
    status: row!.status,
    declineReason: row!.declineReason,
    declineNote: row!.declineNote,
    declinedBy: row!.declinedBy,
    declineAuditEntries: declines.length,
    workflow,
  };
}

const untouched = {
  status: 'open',
  declineReason: null,
  declineNote: null,
  declinedBy: null,
  declineAuditEntries: 0,
  workflow: 'open',
};

describe('declining a GDPR request without a reason', () => {
  const withoutReason: [string, unknown][] = [
    ['no body at all', undefined],
    ['an empty body', {}],
    ['a note but no reason', { note: 'We keep this one.' }],
    ['a null reason', { reason: null }],
    ['an empty reason', { reason: '' }],
    ['a blank reason', { reason: '   ' }],
    ['a blank reason with a note', { reason: ' ', note: 'We keep this one.' }],
  ];

  it.each(withoutReason)(
    'is refused with 400 VALIDATION_FAILED for %s; the request stays open',
    async (_what, body) => {
      const request = await openRequest();
      const response = await t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, { body });
      expect(problemOf(response)).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
      expect(response.statusCode).toBe(400);
      expect(await stateOf(request)).toEqual(untouched);
      const shown = (await t.call('GET', `/v1/gdpr-requests/${request.id}`)).json<Request>();
      expect(shown).toMatchObject({ status: 'open', decline: null });
    },
  );

  it('is accepted once a reason is given, on a request a reasonless decline was refused for', async () => {
    const request = await openRequest();
    const refused = await t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, {
      body: { note: 'No reason stated' },
    });
    expect(problemOf(refused).code).toBe('VALIDATION_FAILED');
    const declined = await t.call('POST', `/v1/gdpr-requests/${request.id}/decline`, {
      body: { reason: 'legal_hold' },
    });
    expect(declined.statusCode, declined.body).toBe(200);
    expect(await stateOf(request)).toEqual({
      status: 'declined',
      declineReason: 'legal_hold',
      declineNote: null,
      declinedBy: t.adminId,
      declineAuditEntries: 1,
      workflow: 'declined',
    });
  });
});
