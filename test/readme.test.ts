// Pure unit tests: no services involved.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('the README a new user follows', () => {
  it('links no file a clone lacks and needs no tool beyond node, curl and jq', () => {
    expect(readme).not.toMatch(/\.\.\/shared\//);
    expect(readme).not.toContain('uuidgen');
  });

  it('keeps an open conversation for the filter=open example', () => {
    const tour = readme.slice(readme.indexOf('## A tour of the API'), readme.indexOf('## Search'));
    expect(tour).toContain('filter=open');
    expect(tour).not.toMatch(/"status":"snoozed"}' \$CUSTODIAN\/conversations\/\$CONV\b/);
  });

  it('revokes a key by an ID the tour captured, not a placeholder', () => {
    expect(readme).not.toContain('api-keys/<keyId>');
  });
});
