import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

type Responses = Record<string, { content?: Record<string, unknown> }>;
interface Document {
  paths: Record<string, Record<string, { responses: Responses }>>;
}

describe('the OpenAPI document', () => {
  it('declares every error as application/problem+json, with 413, 415 and 500', async () => {
    const document = (await t.call('GET', '/openapi.json', { key: null })).json<Document>();
    const create = document.paths['/v1/customers']!.post!.responses;
    for (const status of ['400', '401', '409', '413', '415', '422', '500']) {
      expect(Object.keys(create[status]?.content ?? {}), status).toEqual([
        'application/problem+json',
      ]);
    }
    const read = document.paths['/v1/customers/{id}']!.get!.responses;
    expect(Object.keys(read['404']?.content ?? {})).toEqual(['application/problem+json']);
    expect(read['500']).toBeDefined();
    expect(read['413']).toBeUndefined();
    expect(Object.keys(read['200']?.content ?? {})).toEqual(['application/json']);
  });

  it('still serialises problem documents with their extra members', async () => {
    const response = await t.call('POST', '/v1/customers', { body: { name: 'x', wrong: 1 } });
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({
      code: 'VALIDATION_FAILED',
      errors: [{ field: 'wrong', property: 'wrong' }],
    });
  });
});
