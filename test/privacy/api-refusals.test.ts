/**
 * What the API answers and logs when it refuses a request: every refusal,
 * the framework's own included, is problem+json with a stable code, and
 * neither the answer nor the log repeats what the client sent (an email
 * typed where an ID belongs, a query string, a header).
 */
import { randomUUID } from 'node:crypto';
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../api/app';
import { testConfig, uniqueWord, userWithKey } from '../helpers';

let lines: string[] = [];
const stream = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    lines.push(chunk.toString('utf8'));
    callback();
  },
});

let app: Awaited<ReturnType<typeof buildApp>>;
let key: string;
let base: string;
beforeAll(async () => {
  app = await buildApp({ config: testConfig({ LOG_LEVEL: 'info' }), logStream: stream });
  key = (await userWithKey(app.db, { isAdmin: true })).key;
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(() => app.close());

/** An email address no other test uses. */
const secretEmail = () => `${uniqueWord('ada')}@example.org`;

interface Answer {
  status: number;
  contentType: string;
  body: string;
}

async function send(
  method: string,
  path: string,
  { body, contentType }: { body?: string; contentType?: string } = {},
): Promise<Answer> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${key}`,
      ...(contentType ? { 'content-type': contentType } : {}),
    },
    ...(body === undefined ? {} : { body }),
  });
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    body: await response.text(),
  };
}

/** Raw bytes for what `fetch` will not send (a header over Node's limit). */
function sendRaw(request: string): Promise<Answer> {
  const { port } = app.server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      const contentType = /content-type: (.*)/i.exec(head)?.[1]?.trim() ?? '';
      resolve({ status: Number(head.split(' ')[1]), contentType, body });
    });
  });
}

interface CompletedLine {
  msg: string;
  req: Record<string, unknown>;
  res: { statusCode: number };
}

/** The log lines written since the last call, parsed. */
function takeLog(): { text: string; completed: CompletedLine[] } {
  const text = lines.join('');
  lines = [];
  const completed = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as CompletedLine)
    .filter((entry) => entry.msg === 'request completed');
  return { text, completed };
}

describe('the API log', () => {
  it('names a request by its route, with its path IDs only once they validated', async () => {
    takeLog();
    const email = secretEmail();
    const refused = await send('GET', `/v1/customers/${encodeURIComponent(email)}`);
    expect(refused.status).toBe(400);
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'VALIDATION_FAILED' });
    const id = randomUUID();
    const missing = await send('GET', `/v1/customers/${id}`);
    expect(missing.status).toBe(404);

    const { text, completed } = takeLog();
    expect(text).not.toContain(email);
    expect(text).not.toContain(encodeURIComponent(email));
    expect(completed.map((entry) => [entry.res.statusCode, entry.req])).toEqual([
      [400, { method: 'GET', route: '/v1/customers/:id', remoteAddress: '127.0.0.1' }],
      [
        404,
        { method: 'GET', route: '/v1/customers/:id', params: { id }, remoteAddress: '127.0.0.1' },
      ],
    ]);
  });
});

describe('refusals the framework makes', () => {
  const email = secretEmail();
  const refusals: [what: string, request: () => Promise<Answer>, status: number, code: string][] = [
    [
      'a path segment longer than the router takes (414)',
      () => send('GET', `/v1/customers/${email}${'x'.repeat(120)}`),
      414,
      'URI_TOO_LONG',
    ],
    [
      'a malformed %-escape in the path',
      () => send('GET', `/v1/customers/${email}%zz`),
      400,
      'INVALID_URL',
    ],
    ['a path no route has', () => send('GET', `/v1/no-such/${email}`), 404, 'ROUTE_NOT_FOUND'],
    [
      'a method the path does not answer',
      () => send('PUT', `/v1/customers/${email}`),
      405,
      'METHOD_NOT_ALLOWED',
    ],
    [
      'a body that is not JSON',
      () =>
        send('POST', '/v1/customers', {
          body: `name=${email}`,
          contentType: `application/x-${email.replace('@', '-')}`,
        }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    [
      'a malformed JSON body',
      () =>
        send('POST', '/v1/customers', {
          body: `{"name": "${email}`,
          contentType: 'application/json',
        }),
      400,
      'INVALID_JSON',
    ],
    [
      'a body over the size limit',
      () =>
        send('POST', '/v1/customers', {
          body: JSON.stringify({ name: email, note: 'x'.repeat(6 * 1024 * 1024) }),
          contentType: 'application/json',
        }),
      413,
      'PAYLOAD_TOO_LARGE',
    ],
    [
      'a request line over the header limit',
      () =>
        sendRaw(
          `GET /v1/search/customers?q=${email}${'a'.repeat(20 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`,
        ),
      431,
      'HEADERS_TOO_LARGE',
    ],
    [
      'a header over the header limit',
      () =>
        sendRaw(
          `GET /v1/customers/${email} HTTP/1.1\r\nHost: x\r\nX-Note: ${email}${'a'.repeat(20 * 1024)}\r\n\r\n`,
        ),
      431,
      'HEADERS_TOO_LARGE',
    ],
  ];

  it.each(refusals)(
    'answers %s with problem+json and a code, repeating nothing of it in the answer or the log',
    async (_what, request, status, code) => {
      takeLog();
      const answer = await request();
      expect(answer.status, answer.body).toBe(status);
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(answer.body)).toMatchObject({ status, code });
      expect(answer.body).not.toContain(email);
      expect(answer.body).not.toContain(email.split('@')[0]);
      const { text } = takeLog();
      expect(text).not.toContain(email.split('@')[0]);
    },
  );
});
