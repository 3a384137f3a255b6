import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { csvField } from '../../operations/exports';
import { ZipWriter } from '../../lib/zip-writer';
import { parseCsv, unzip } from '../exports';

async function archiveOf(files: [string, string[]][]): Promise<Buffer> {
  const parts: Buffer[] = [];
  const zip = new ZipWriter(async (bytes) => {
    parts.push(Buffer.from(bytes));
  });
  for (const [name, pieces] of files) {
    const entry = await zip.entry(name);
    for (const piece of pieces) await entry.write(piece);
    await entry.end();
  }
  await zip.finish();
  return Buffer.concat(parts);
}

describe('the streaming ZIP writer', () => {
  it('writes entries written piece by piece that unzip and our reader both read back', async () => {
    const lines = Array.from({ length: 5_000 }, (_, i) => `line ${i} é ✓\n`);
    const archive = await archiveOf([
      ['manifest.json', ['{"a":1}\n']],
      ['csv/big.csv', lines],
      ['empty.json', []],
    ]);
    const files = unzip(archive);
    expect(files.get('manifest.json')).toBe('{"a":1}\n');
    expect(files.get('csv/big.csv')).toBe(lines.join(''));
    expect(files.get('empty.json')).toBe('');

    const dir = mkdtempSync(path.join(tmpdir(), 'zip-writer-'));
    try {
      const file = path.join(dir, 'test.zip');
      writeFileSync(file, archive);
      // The system's unzip checks every CRC and size; the test data holds nothing personal.
      expect(execFileSync('unzip', ['-t', file]).toString()).toContain('No errors detected');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('quotes CSV fields as RFC 4180 says and defuses formulas', () => {
    const row = [
      'plain',
      'a,b',
      'say "hi"',
      'two\nlines',
      ' edge',
      '=SUM(A1)',
      '-3',
      7,
      null,
      { k: 1 },
    ];
    const text = `${row.map(csvField).join(',')}\r\n`;
    expect(text).toBe(
      'plain,"a,b","say ""hi""","two\nlines"," edge",\'=SUM(A1),\'-3,7,,"{""k"":1}"\r\n',
    );
    expect(parseCsv(text)).toEqual([
      ['plain', 'a,b', 'say "hi"', 'two\nlines', ' edge', "'=SUM(A1)", "'-3", '7', '', '{"k":1}'],
    ]);
  });
});
