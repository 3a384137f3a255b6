import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { searchAttributes } from '../../workflows/contracts';
import { problemOf, startTestApp, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ worker: true });
});
afterAll(() => t.close());

describe('API → Temporal → worker → Postgres round trip', () => {
  it('counts a customer timeline in a workflow that is findable by its search attributes', async () => {
    const customer = (
      await t.call('POST', '/v1/customers', { body: { name: 'Counted Person' } })
    ).json<{ id: string }>();
    await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
      body: { channel: 'chat' },
    });
    await t.call('POST', `/v1/customers/${customer.id}/conversations`, {
      body: { channel: 'voice' },
    });

    const response = await t.call('POST', '/v1/diagnostics/timeline-count', {
      body: { customerId: customer.id },
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json<{ workflowId: string; temporalUiUrl: string; counts: object }>();
    expect(body.counts).toEqual({ conversations: 2, kobjects: 0, total: 2 });
    expect(body.workflowId).toMatch(/^timeline-count-/);
    expect(body.temporalUiUrl).toContain(`/namespaces/default/workflows/${body.workflowId}`);

    const description = await t.temporal.workflow.getHandle(body.workflowId).describe();
    expect(description.status.name).toBe('COMPLETED');
    expect(description.typedSearchAttributes.get(searchAttributes.customerIds)).toEqual([
      customer.id,
    ]);
    expect(description.typedSearchAttributes.get(searchAttributes.startedBy)).toBe(t.adminId);
    expect(description.typedSearchAttributes.get(searchAttributes.jobType)).toBe('timeline_count');
    expect(await description.staticSummary()).toContain(customer.id);

    const history = JSON.stringify(
      await t.temporal.workflow.getHandle(body.workflowId).fetchHistory(),
    );
    expect(history).not.toContain('Counted Person');
  });

  it('answers 404 when the workflow finds no such customer', async () => {
    const response = await t.call('POST', '/v1/diagnostics/timeline-count', {
      body: { customerId: randomUUID() },
    });
    expect(response.statusCode).toBe(404);
    expect(problemOf(response).code).toBe('CUSTOMER_NOT_FOUND');
  });
});
