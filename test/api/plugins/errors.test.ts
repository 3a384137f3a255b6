import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../api/app';
import { problemOf, startTestApp, testConfig, type TestApp } from '../../helpers';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

describe('methods a path does not answer', () => {
  it('answers 405 with an Allow header, as problem+json', async () => {
    const response = await t.call('DELETE', '/v1/customers');
    expect(response.statusCode).toBe(405);
    expect(response.headers.allow).toBe('GET, HEAD, POST');
    expect(problemOf(response)).toMatchObject({
      code: 'METHOD_NOT_ALLOWED',
      allowed: ['GET', 'HEAD', 'POST'],
    });

    const withId = await t.call('PUT', '/v1/customers/0070dcd9-582f-40b2-b5ee-c734954f7ee1');
    expect(withId.statusCode).toBe(405);
    expect(withId.headers.allow).toBe('DELETE, GET, HEAD, PATCH');
  });

  it('still answers 404 for a path no route has', async () => {
    const response = await t.call('GET', '/v1/nothing-here');
    expect(response.statusCode).toBe(404);
    expect(problemOf(response).code).toBe('ROUTE_NOT_FOUND');
  });
});

describe('requests the HTTP parser refuses', () => {
  let app: Awaited<ReturnType<typeof buildApp>>;
  let port: number;
  beforeAll(async () => {
    app = await buildApp({ config: testConfig(), logger: false });
    await app.listen({ host: '127.0.0.1', port: 0 });
    port = (app.server.address() as AddressInfo).port;
  });
  afterAll(() => app.close());

  /** Sends raw bytes and returns the status line, headers and body of the answer. */
  function raw(request: string): Promise<{ status: number; headers: string; body: string }> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString('latin1')));
      socket.on('error', reject);
      socket.on('close', () => {
        const [head = '', body = ''] = text.split('\r\n\r\n');
        resolve({ status: Number(head.split(' ')[1]), headers: head.toLowerCase(), body });
      });
    });
  }

  const problem = (body: string) => JSON.parse(body) as { code: string; status: number };

  it('answers a control character in a header with 400 problem+json', async () => {
    const answer = await raw('GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Note: a\u0001b\r\n\r\n');
    expect(answer.status).toBe(400);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(problem(answer.body)).toMatchObject({ code: 'INVALID_HEADER', status: 400 });
  });

  it('answers a 20 KB header with 431 problem+json', async () => {
    const answer = await raw(
      `GET /v1/me HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`,
    );
    expect(answer.status).toBe(431);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(problem(answer.body).code).toBe('HEADERS_TOO_LARGE');
  });

  it('answers a method HTTP does not know with 405 and the Allow header', async () => {
    const answer = await raw('FROB /v1/customers HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(answer.status).toBe(405);
    expect(answer.headers).toContain('allow: get, head, post');
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(problem(answer.body).code).toBe('METHOD_NOT_ALLOWED');
  });
});
