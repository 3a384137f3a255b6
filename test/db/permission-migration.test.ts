/**
 * Migration 0011 gives every existing non-admin user a permission set that
 * lets them do what they could before permission sets existed, and says so
 * in its output. Run on a database of its own, migrated to 0010 first.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../db/client';
import { runMigrations } from '../../db/migrate';
import { getUser } from '../../db/queries/users';
import { testConfig } from '../helpers';

const committed = path.join(import.meta.dirname, '../../db/migrations');
const databaseName = `permission_migration_${randomUUID().replaceAll('-', '')}`;
let server: pg.Client;
let url: string;
let folderBefore: string;

/** The committed migrations up to (not including) `idx`: the schema as it was then. */
function migrationsBefore(idx: number): string {
  const folder = mkdtempSync(path.join(tmpdir(), 'custodian-migrations-'));
  cpSync(committed, folder, { recursive: true });
  const journalPath = path.join(folder, 'meta/_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { idx: number }[] };
  journal.entries = journal.entries.filter((entry) => entry.idx < idx);
  writeFileSync(journalPath, JSON.stringify(journal));
  return folder;
}

beforeAll(async () => {
  const base = new URL(testConfig().databaseUrl);
  server = new pg.Client({ connectionString: base.toString() });
  await server.connect();
  await server.query(`create database ${databaseName}`);
  base.pathname = `/${databaseName}`;
  url = base.toString();
  folderBefore = migrationsBefore(11);
});
afterAll(async () => {
  rmSync(folderBefore, { recursive: true, force: true });
  await server.query(`drop database if exists ${databaseName} with (force)`);
  await server.end();
});

const before = {
  plain: [] as string[],
  merger: ['customers.merge'],
  deleter: ['objects.delete', 'searches.read'],
  // The same list in another order: one set for both.
  deleterToo: ['searches.read', 'objects.delete'],
  bulk: ['searches.bulkDelete', 'searches.read'],
  compliance: ['gdpr.manage'],
};

const readWrite = [
  'conversations.read',
  'conversations.write',
  'customers.read',
  'customers.write',
  'events.read',
  'events.write',
  'kobjects.read',
  'kobjects.write',
  'reports.read',
];
const deletes = ['conversations.delete', 'customers.delete', 'kobjects.delete'];
const sorted = (list: string[]) => [...list].sort();

describe('migration 0011: permission sets', () => {
  it('gives each existing non-admin user a set equivalent to what they could do before, and reports it', async () => {
    await runMigrations(url, { migrationsFolder: folderBefore, dataMigrations: [] });
    const ids: Record<string, string> = {};
    const old = new pg.Client({ connectionString: url });
    await old.connect();
    try {
      for (const [who, permissions] of Object.entries(before)) {
        const { rows } = await old.query<{ id: string }>(
          'insert into users (name, email, permissions) values ($1, $2, $3) returning id',
          [who, `${who}@example.com`, permissions],
        );
        ids[who] = rows[0]!.id;
      }
      const { rows } = await old.query<{ id: string }>(
        "insert into users (name, email, is_admin) values ('admin', 'admin@example.com', true) returning id",
      );
      ids.admin = rows[0]!.id;
    } finally {
      await old.end();
    }

    const lines: string[] = [];
    await runMigrations(url, { log: (line) => lines.push(line), dataMigrations: [] });

    const database = createDatabase(url, { max: 1 });
    const { db } = database;
    try {
      const permissionsOf = async (who: string) => (await getUser(db, ids[who]!)).permissions;
      expect(await permissionsOf('plain')).toEqual(sorted(readWrite));
      expect(await permissionsOf('merger')).toEqual(sorted([...readWrite, 'customers.merge']));
      expect(await permissionsOf('deleter')).toEqual(
        sorted([...readWrite, ...deletes, 'searches.read']),
      );
      // Bulk erasure now also needs the erased type's delete permission.
      expect(await permissionsOf('bulk')).toEqual(
        sorted([...readWrite, ...deletes, 'searches.bulkDelete', 'searches.read']),
      );
      // Erasing through a GDPR request now also needs customers.delete.
      expect(await permissionsOf('compliance')).toEqual(
        sorted([...readWrite, 'customers.delete', 'gdpr.manage']),
      );
      const deleter = await getUser(db, ids.deleter!);
      const deleterToo = await getUser(db, ids.deleterToo!);
      expect(deleterToo.permissionSets).toEqual(deleter.permissionSets);
      const admin = await getUser(db, ids.admin);
      expect(admin).toMatchObject({ isAdmin: true, permissionSets: [] });
    } finally {
      await database.close();
    }

    const told = lines.filter((line) => line.includes('permission set'));
    expect(told).toHaveLength(6);
    expect(told.at(-1)).toContain(
      'permission sets: 6 existing non-admin user(s) keep what they could do before',
    );
    expect(told.find((line) => line.includes('objects.delete, searches.read'))).toContain(
      'given to 2 user(s)',
    );
  });
});
