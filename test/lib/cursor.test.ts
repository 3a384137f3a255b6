import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../lib/cursor';
import { problemOf, startTestApp, uniqueName, type TestApp } from '../helpers';

let t: TestApp;
let customerId: string;
let companyId: string;
beforeAll(async () => {
  t = await startTestApp();
  companyId = (await t.create('/v1/companies', { name: uniqueName('Company') })).id;
  customerId = (await t.create('/v1/customers', { name: uniqueName('Customer'), companyId })).id;
});
afterAll(() => t.close());

const ID = '0070dcd9-582f-40b2-b5ee-c734954f7ee1';

/** Refused by every list, whatever its cursor holds. */
const tampered = [
  encodeCursor([null, null]),
  encodeCursor([null, null, null]),
  encodeCursor([null]),
  encodeCursor(['2026-01-01 10:00:00+00', 'not-a-uuid']),
  encodeCursor([2, '2026-01-01 10:00:00+00', ID]),
  encodeCursor([ID, ID, ID, ID]),
  encodeCursor([ID]).slice(0, -3),
  'not base64 at all!',
];

/** Refused by the lists ordered by a time. */
const badTimes = [encodeCursor(['not a time', ID]), encodeCursor(['2026-13-45 10:00:00+00', ID])];

describe('cursors', () => {
  it('refuses a tampered cursor on every paginated list with 400 INVALID_CURSOR', async () => {
    const lists: [string, string[]][] = [
      ['/v1/customers', badTimes],
      ['/v1/companies', []],
      [`/v1/customers/${customerId}/timeline`, []],
      [`/v1/companies/${companyId}/timeline`, badTimes],
      [`/v1/companies/${companyId}/customers`, []],
      ['/v1/jobs', badTimes],
    ];
    for (const [list, more] of lists) {
      for (const cursor of [...tampered, ...more]) {
        const response = await t.call('GET', `${list}?cursor=${encodeURIComponent(cursor)}`);
        expect(response.statusCode, `${list} ${cursor}: ${response.body}`).toBe(400);
        expect(problemOf(response).code).toBe('INVALID_CURSOR');
      }
    }
  });

  it('still follows the cursors the API hands out', async () => {
    for (let i = 0; i < 3; i++) {
      await t.create('/v1/customers', { name: uniqueName('Paged'), companyId });
    }
    for (const list of [
      '/v1/customers',
      `/v1/companies/${companyId}/timeline`,
      `/v1/companies/${companyId}/customers`,
    ]) {
      const first = await t.call('GET', `${list}?limit=1`);
      const { nextCursor } = first.json<{ nextCursor: string }>();
      const second = await t.call('GET', `${list}?limit=1&cursor=${nextCursor}`);
      expect(second.statusCode, `${list}: ${second.body}`).toBe(200);
    }
  });
});
