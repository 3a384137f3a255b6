// The README a newcomer follows: its static promises (pure checks), and its tour
// run as written against the test services over real HTTP.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './helpers';

const root = new URL('../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');

/** The one `sh` block between the tour markers: the script the README tells people to paste. */
function tourScript(): string {
  const start = readme.indexOf('<!-- tour:start -->');
  const end = readme.indexOf('<!-- tour:end -->');
  expect(start, 'the README marks its tour').toBeGreaterThan(-1);
  const blocks = [...readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)];
  expect(blocks, 'the tour is one script').toHaveLength(1);
  return blocks[0]![1]!;
}

/** Variables a shell or a login sets, which a pasted tour must not overwrite. */
const shellVariables = [
  'USER',
  'HOME',
  'PATH',
  'PWD',
  'SHELL',
  'LANG',
  'TERM',
  'HOSTNAME',
  'LOGNAME',
  'UID',
  'TMPDIR',
];

describe('the README a new user follows', () => {
  it('stays short enough to read in ten minutes', () => {
    expect(readme.split('\n').length).toBeLessThanOrEqual(450);
  });

  it('links no file a clone lacks and needs no tool beyond node, curl and jq', () => {
    expect(readme).not.toMatch(/\.\.\/shared\//);
    expect(readme).not.toContain('uuidgen');
  });

  it('links only files the repository has', () => {
    const links = [...readme.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!);
    const local = links.filter((link) => !/^[a-z]+:/.test(link));
    expect(local.length).toBeGreaterThan(10);
    expect(local.filter((link) => !existsSync(new URL(link, root)))).toEqual([]);
  });

  it('gives the test command CI runs', () => {
    const ci = readFileSync(new URL('.ci/run', root), 'utf8');
    expect(readme).toMatch(/^npm test\b/m);
    expect(ci).toMatch(/^npm test$/m);
    expect(readme).toContain('npx vitest run test/readme.test.ts');
  });

  it('says bootstrap runs npm install, as scripts/bootstrap.sh does', () => {
    const bootstrap = readFileSync(new URL('scripts/bootstrap.sh', root), 'utf8');
    expect(bootstrap).toMatch(/^\s*npm install\b/m);
    expect(readme).toContain('`npm install`');
    expect(readme).not.toMatch(/bootstrap[^\n]*`npm ci`,/);
  });

  it('lists in docs/configuration.md every variable lib/config.ts reads', () => {
    const config = readFileSync(new URL('lib/config.ts', root), 'utf8');
    const documented = readFileSync(new URL('docs/configuration.md', root), 'utf8');
    const names = [...config.matchAll(/\benv(?:\.|, ')([A-Z][A-Z0-9_]+)/g)].map((m) => m[1]!);
    // Per-regulation clocks are read as `${prefix}_DEADLINE_DAYS` and `${prefix}_MAX_EXTENSION_DAYS`.
    for (const [, prefix] of config.matchAll(/regulationClock\(env, '([A-Z_]+)'/g)) {
      names.splice(names.indexOf(prefix!), 1);
      names.push(`${prefix}_DEADLINE_DAYS`, `${prefix}_MAX_EXTENSION_DAYS`);
    }
    expect(names.length).toBeGreaterThan(30);
    const missing = [...new Set(names)].filter((name) => !documented.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });

  it('tours with variables of its own: no placeholders, no shell variable overwritten', () => {
    const tour = tourScript();
    expect(tour).not.toMatch(/<[a-z][a-z0-9 _-]*>/i);
    for (const name of shellVariables)
      expect(tour).not.toMatch(new RegExp(`(^|[\\s;(])${name}=`, 'm'));
  });

  it('keeps an open conversation for the filter=open example', () => {
    const tour = tourScript();
    expect(tour).toContain('filter=open');
    expect(tour).not.toMatch(/"status":"snoozed"}' \$CUSTODIAN\/conversations\/\$CONV\b/);
  });
});

describe('the README tour, run as written', () => {
  let stack: TestApp;
  let base: string;
  let workDir: string;

  beforeAll(async () => {
    stack = await startTestApp({ worker: true });
    await stack.app.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(stack.app.server.address() as AddressInfo).port}/v1`;
    workDir = mkdtempSync(path.join(tmpdir(), 'custodian-tour-'));
  });
  afterAll(async () => {
    await stack?.close();
    if (workDir) rmSync(workDir, { recursive: true, force: true });
  });

  it('answers every call as the tour expects, to its last line', async () => {
    const { code, stdout, stderr } = await runBash(tourScript(), {
      cwd: workDir,
      env: { PATH: process.env.PATH ?? '', HOME: workDir, CUSTODIAN: base, KEY: stack.adminKey },
      timeoutMs: 170_000,
    });
    const context = `exit ${code}\n--- stderr\n${stderr}\n--- stdout (end)\n${stdout.slice(-3000)}`;
    // curl --fail-with-body reports each unexpected non-2xx; `refused` each unexpected refusal.
    expect(stderr, context).not.toMatch(/curl: \(\d+\)|expected \d+, got|gave up waiting/);
    expect(code, context).toBe(0);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('tour finished');
    // The erasure's completion record names every place it reached, events included.
    const places = stdout.split('\n').find((line) => line.includes('"searchDocuments='));
    expect(places, 'the completion record is printed').toBeDefined();
    for (const place of [
      'customers=1',
      'conversations=1',
      'kobjects=1',
      'events=0',
      'searchDocuments=3',
    ])
      expect(JSON.parse(places!)).toContain(place);
    // Readiness names each store, Meilisearch included.
    expect(stdout).toContain('{"status":"ok","postgres":"ok","temporal":"ok","search":"ok"}');
    // The merged-away customer redirects to the survivor.
    expect(stdout).toMatch(/^308 → http:\/\/127\.0\.0\.1:\d+\/v1\/customers\/[0-9a-f-]{36}$/m);
    // The report's dates are today's, so it counts the tour's email conversation.
    expect(stdout).toMatch(/^\{"from":"\d{4}-\d\d-\d\d","to":"\d{4}-\d\d-\d\d","total":[1-9]/m);
  }, 180_000);
});

function runBash(
  script: string,
  { cwd, env, timeoutMs }: { cwd: string; env: Record<string, string>; timeoutMs: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`the tour ran longer than ${timeoutMs} ms\n${stderr}\n${stdout.slice(-3000)}`),
      );
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
