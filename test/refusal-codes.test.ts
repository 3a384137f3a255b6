// Pure unit test: no services involved. Reads the source, not the running API.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { statusOfKind } from '../api/plugins/errors';
import type { DomainErrorKind } from '../lib/errors';

const root = path.resolve(import.meta.dirname, '..');
const sourceDirs = [
  'activities',
  'api',
  'db',
  'domain',
  'lib',
  'notifications',
  'operations',
  'search',
  'webhooks',
  'workflows',
];

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'migrations' ? [] : sourceFiles(relative);
    return entry.name.endsWith('.ts') ? [relative] : [];
  });
}

interface Refusal {
  code: string;
  status: number | string;
  file: string;
  decidedBy: string;
}

const httpMethods = new Set(['get', 'post', 'put', 'patch', 'delete']);

/** The name a reader would look for: the function, method or route handler around `node`. */
function decider(node: ts.Node): string {
  for (let at: ts.Node | undefined = node.parent; at; at = at.parent) {
    if (ts.isFunctionDeclaration(at) && at.name) return `${at.name.text}()`;
    if (ts.isMethodDeclaration(at) && ts.isIdentifier(at.name)) return `${at.name.text}()`;
    if (ts.isArrowFunction(at) || ts.isFunctionExpression(at)) {
      const owner = at.parent;
      if (ts.isVariableDeclaration(owner) && ts.isIdentifier(owner.name))
        return `${owner.name.text}()`;
      if (ts.isPropertyAssignment(owner) && ts.isIdentifier(owner.name))
        return `${owner.name.text}()`;
      if (
        ts.isCallExpression(owner) &&
        ts.isPropertyAccessExpression(owner.expression) &&
        httpMethods.has(owner.expression.name.text) &&
        owner.arguments[0] &&
        ts.isStringLiteralLike(owner.arguments[0])
      )
        return `${owner.expression.name.text.toUpperCase()} ${owner.arguments[0].text} handler`;
    }
  }
  return '(module)';
}

function literalCodes(node: ts.Node): string[] {
  if (ts.isStringLiteralLike(node)) return /^[A-Z][A-Z0-9_]+$/.test(node.text) ? [node.text] : [];
  if (ts.isConditionalExpression(node))
    return [...literalCodes(node.whenTrue), ...literalCodes(node.whenFalse)];
  if (ts.isParenthesizedExpression(node)) return literalCodes(node.expression);
  // `DUPLICATE_${what.toUpperCase()}` is listed as DUPLICATE_*: one code per value of `what`.
  if (ts.isTemplateExpression(node))
    return [node.head.text + node.templateSpans.map((span) => `*${span.literal.text}`).join('')];
  return [];
}

/** Every `new DomainError(kind, 'CODE', …)` and `notFound('What', …)` in the source. */
function refusalsInSource(): Refusal[] {
  const found: Refusal[] = [];
  for (const file of sourceDirs.flatMap(sourceFiles)) {
    const text = readFileSync(path.join(root, file), 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node) => {
      if (
        ts.isNewExpression(node) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === 'DomainError'
      ) {
        const [kind, code] = node.arguments ?? [];
        const status =
          kind && ts.isStringLiteralLike(kind)
            ? statusOfKind[kind.text as DomainErrorKind]
            : 'per call';
        // A literal code, or each literal branch of a computed one (`a ? 'X' : 'Y'`).
        const codes = code ? literalCodes(code) : [];
        // A code passed in from elsewhere is listed by where it is passed on, so none goes unseen.
        for (const literal of codes.length > 0 ? codes : ['(passed in)'])
          found.push({ code: literal, status, file, decidedBy: decider(node) });
      }
      if (
        ts.isCallExpression(node) &&
        ts.isIdentifier(node.expression) &&
        node.expression.text === 'notFound' &&
        node.arguments[0] &&
        ts.isStringLiteralLike(node.arguments[0])
      ) {
        const code = `${node.arguments[0].text.toUpperCase().replaceAll(' ', '_')}_NOT_FOUND`;
        found.push({ code, status: 404, file, decidedBy: decider(node) });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

function table(refusals: Refusal[]): string {
  const byCode = new Map<string, Refusal[]>();
  for (const refusal of refusals)
    byCode.set(refusal.code, [...(byCode.get(refusal.code) ?? []), refusal]);
  const rows = [...byCode.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, all]) => {
      const statuses = [...new Set(all.map((r) => String(r.status)))].join(', ');
      const places = [...new Set(all.map((r) => `\`${r.file}\` ${r.decidedBy}`))].join('<br>');
      return `| \`${code}\` | ${statuses} | ${places} |`;
    });
  return [
    '<!-- Written by test/refusal-codes.test.ts from the source: `npx vitest run test/refusal-codes.test.ts -u` -->',
    '',
    '# Refusal codes and where each is decided',
    '',
    'Every `code` a problem+json refusal can carry that the source names literally, its HTTP status',
    '(from the `kind` of its `DomainError`, through `statusOfKind` in `api/plugins/errors.ts`), and the',
    'function that decides it. A refusal decided in an activity crosses its workflow as a non-retryable',
    'failure of the same code and status. Fastify’s own refusals (`VALIDATION_FAILED` from a schema,',
    '`JSON_TOO_DEEP`, `PAYLOAD_TOO_LARGE`, …) and outages (`*_UNAVAILABLE`) are mapped in',
    '`api/plugins/errors.ts` and `lib/errors.ts`; see [architecture.md](architecture.md#where-each-rule-lives).',
    'A `*` stands for a part the code fills in (`DUPLICATE_*`: `DUPLICATE_EMAIL`, `DUPLICATE_PHONE`);',
    '`(passed in)` lists helpers that take their code from their caller (a failed job answers with its own code).',
    '',
    '| code | status | decided in |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}

describe('the refusal-code table', () => {
  it('lists every refusal the source decides, with the function that decides it', async () => {
    const refusals = refusalsInSource();
    expect(refusals.length).toBeGreaterThan(50);
    await expect(table(refusals)).toMatchFileSnapshot('../docs/refusal-codes.md');
  });
});
