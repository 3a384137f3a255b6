import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addInAppNotification } from '../../db/queries/notifications';
import { problemOf, startTestApp, userWithKey, type TestApp } from '../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const allOn = {
  bulkJobCompleted: { email: true, inApp: true },
  gdprDeadlines: { email: true, inApp: true },
};

describe('notification settings', () => {
  it('start with every channel on', async () => {
    const user = await userWithKey(t.db);
    const response = await t.call('GET', '/v1/me/notification-settings', { key: user.key });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual(allOn);
  });

  it('change one channel at a time, leaving the others and other users alone', async () => {
    const user = await userWithKey(t.db);
    const other = await userWithKey(t.db);
    const put = (body: unknown) =>
      t.call('PUT', '/v1/me/notification-settings', { key: user.key, body });

    expect((await put({ bulkJobCompleted: { email: false } })).json()).toEqual({
      ...allOn,
      bulkJobCompleted: { email: false, inApp: true },
    });
    expect((await put({ gdprDeadlines: { inApp: false } })).json()).toEqual({
      bulkJobCompleted: { email: false, inApp: true },
      gdprDeadlines: { email: true, inApp: false },
    });
    expect((await put({ bulkJobCompleted: { email: true, inApp: false } })).json()).toEqual({
      bulkJobCompleted: { email: true, inApp: false },
      gdprDeadlines: { email: true, inApp: false },
    });
    expect((await t.call('GET', '/v1/me/notification-settings', { key: user.key })).json()).toEqual(
      {
        bulkJobCompleted: { email: true, inApp: false },
        gdprDeadlines: { email: true, inApp: false },
      },
    );
    expect(
      (await t.call('GET', '/v1/me/notification-settings', { key: other.key })).json(),
    ).toEqual(allOn);
  });

  it('refuse unknown kinds, unknown channels and non-booleans', async () => {
    const user = await userWithKey(t.db);
    for (const body of [
      { weeklyDigest: { email: true } },
      { bulkJobCompleted: { sms: true } },
      { bulkJobCompleted: { email: 'no' } },
    ]) {
      const response = await t.call('PUT', '/v1/me/notification-settings', {
        key: user.key,
        body,
      });
      expect(response.statusCode).toBe(400);
      expect(problemOf(response).code).toBe('VALIDATION_FAILED');
    }
    expect((await t.call('GET', '/v1/me/notification-settings', { key: user.key })).json()).toEqual(
      allOn,
    );
  });
});

describe('in-app notifications', () => {
  interface Listed {
    id: string;
    title: string;
    read: boolean;
    readAt: string | null;
  }

  it('list unread first, newest first within each, page by cursor, and mark read', async () => {
    const user = await userWithKey(t.db);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      await addInAppNotification(t.db, `test:${randomUUID()}`, {
        userId: user.id,
        kind: 'job_finished',
        title: `n${i}`,
        body: 'test',
      });
    }
    const list = async (query = '') =>
      (await t.call('GET', `/v1/me/notifications${query}`, { key: user.key })).json<{
        items: Listed[];
        nextCursor: string | null;
      }>();
    const all = await list();
    expect(all.items.map((n) => n.title)).toEqual(['n4', 'n3', 'n2', 'n1', 'n0']);
    ids.push(...all.items.map((n) => n.id));

    const read = await t.call('POST', `/v1/me/notifications/${ids[1]}/read`, { key: user.key });
    expect(read.statusCode).toBe(200);
    expect(read.json<Listed>()).toMatchObject({ title: 'n3', read: true });
    const firstReadAt = read.json<Listed>().readAt;
    await t.call('POST', `/v1/me/notifications/${ids[3]}/read`, { key: user.key });
    const again = await t.call('POST', `/v1/me/notifications/${ids[1]}/read`, { key: user.key });
    expect(again.json<Listed>().readAt).toBe(firstReadAt);

    const titles: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      titles.push(...page.items.map((n) => `${n.title}${n.read ? ' read' : ''}`));
      cursor = page.nextCursor;
    } while (cursor);
    expect(titles).toEqual(['n4', 'n2', 'n0', 'n3 read', 'n1 read']);

    expect((await list('?unread=true')).items.map((n) => n.title)).toEqual(['n4', 'n2', 'n0']);
  });

  it("never shows or marks another user's notifications", async () => {
    const owner = await userWithKey(t.db);
    const stranger = await userWithKey(t.db);
    await addInAppNotification(t.db, `test:${randomUUID()}`, {
      userId: owner.id,
      kind: 'job_finished',
      title: 'mine',
      body: 'test',
    });
    const [mine] = (await t.call('GET', '/v1/me/notifications', { key: owner.key })).json<{
      items: Listed[];
    }>().items;
    expect(
      (await t.call('GET', '/v1/me/notifications', { key: stranger.key })).json<{
        items: Listed[];
      }>().items,
    ).toEqual([]);
    const response = await t.call('POST', `/v1/me/notifications/${mine!.id}/read`, {
      key: stranger.key,
    });
    expect(response.statusCode).toBe(404);
    expect(problemOf(response).code).toBe('NOTIFICATION_NOT_FOUND');
    const bad = await t.call('GET', '/v1/me/notifications?cursor=nonsense', { key: owner.key });
    expect(problemOf(bad).code).toBe('INVALID_CURSOR');
  });
});
