// Checks deploy/compose.yaml by reading it: no container engine is needed (one
// that is available validates it too, in the last test).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../../lib/config';
import { projectRoot } from '../../stack';

const deployDir = path.join(projectRoot, 'deploy');
const composePath = path.join(deployDir, 'compose.yaml');
const source = readFileSync(composePath, 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[];
  entrypoint?: string[];
  profiles?: string[];
  environment?: Record<string, string | number | null>;
  ports?: string[];
  expose?: string[];
  volumes?: (string | { source: string })[];
  healthcheck?: { test?: string[]; disable?: boolean };
  depends_on?: Record<string, { condition: string; required?: boolean }>;
  deploy?: { replicas?: number };
  restart?: string;
}

const compose = parse(source, { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** Every `${NAME…}` reference in the file, with what follows the name (`:?…`, `:-…`, or nothing). */
const references = [...source.matchAll(/\$\{([A-Z0-9_]+)((?::?[-?+])[^}]*)?\}/g)].map(
  ([, name, rest]) => ({ name: name!, rest: rest ?? '' }),
);

/** Variables whose value lets someone in: each must be required, never defaulted. */
const isSecret = (name: string) =>
  /PASSWORD|PWD|SECRET|TOKEN|_KEY$|^SMTP_URL$/.test(name) && name !== 'MEILI_INDEX_PREFIX';

/** Services that run once and exit: another service waits for them to complete. */
const oneOffs = new Set(
  Object.values(services).flatMap((service) =>
    Object.entries(service.depends_on ?? {})
      .filter(([, dependency]) => dependency.condition === 'service_completed_successfully')
      .map(([name]) => name),
  ),
);

describe('the production compose file', () => {
  it('runs the API and the worker apart, two workers by default, after a one-off setup job', () => {
    expect(Object.keys(services).sort()).toEqual(
      [
        'api',
        'grafana',
        'meilisearch',
        'postgres',
        'prometheus',
        'setup',
        'temporal',
        'temporal-schema',
        'temporal-ui',
        'worker',
      ].sort(),
    );
    expect(services.api!.command).toEqual(['node', '--import', 'tsx', 'api/server.ts']);
    expect(services.worker!.command).toEqual(['node', '--import', 'tsx', 'worker.ts']);
    expect(services.worker!.deploy?.replicas).toBeGreaterThanOrEqual(2);
    expect(services.setup!.command).toEqual(['node', '--import', 'tsx', 'scripts/setup.ts']);
    for (const name of ['api', 'worker']) {
      expect(services[name]!.depends_on?.setup?.condition, name).toBe(
        'service_completed_successfully',
      );
    }
    // Workers leave the search attributes to the setup job: they need no operator rights.
    expect(services.worker!.environment?.TEMPORAL_REGISTER_SEARCH_ATTRIBUTES).toBe('false');
    expect(services.setup!.environment?.TEMPORAL_REGISTER_SEARCH_ATTRIBUTES).toBeUndefined();
    expect([...oneOffs].sort()).toEqual(['setup', 'temporal-schema']);
  });

  it('gives every long-running service a health check', () => {
    for (const [name, service] of Object.entries(services)) {
      if (oneOffs.has(name)) {
        expect(service.restart, name).toMatch(/^(no|on-failure(:\d+)?)$/);
        continue;
      }
      expect(service.healthcheck?.disable, name).not.toBe(true);
      expect(service.healthcheck?.test?.length, `${name} has a health check`).toBeGreaterThan(1);
    }
    expect(services.api!.healthcheck!.test!.join(' ')).toContain('/health/ready');
    expect(services.worker!.healthcheck!.test).toContain('scripts/worker-health.ts');
  });

  it('gives no secret a default', () => {
    const secrets = references.filter((ref) => isSecret(ref.name));
    expect(new Set(secrets.map((ref) => ref.name))).toEqual(
      new Set([
        'POSTGRES_PASSWORD',
        'CUSTODIAN_DB_PASSWORD',
        'TEMPORAL_DB_PASSWORD',
        'MEILI_MASTER_KEY',
        'SMTP_URL',
      ]),
    );
    for (const ref of secrets) expect(`${ref.name}${ref.rest}`).toMatch(/^[A-Z0-9_]+:\?\S/);
    // No secret written into the file either: each is a reference, or passed through when set.
    for (const [name, service] of Object.entries(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!isSecret(key) && key !== 'PGPASSWORD' && key !== 'SQL_PASSWORD') continue;
        expect(value === null || /^\$\{[A-Z0-9_]+:\?/.test(String(value)), `${name}.${key}`).toBe(
          true,
        );
      }
    }
    // PUBLIC_URL and MAIL_FROM have no sensible default in production either.
    for (const name of ['PUBLIC_URL', 'MAIL_FROM']) {
      expect(references.filter((ref) => ref.name === name).map((ref) => ref.rest[1])).toEqual([
        '?',
      ]);
    }
  });

  it("runs Temporal's production server image, its schema set up by Temporal's admin tools in databases of its own", () => {
    expect(source).not.toContain('auto-setup');
    expect(services.temporal!.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-schema']!.image).toMatch(/^temporalio\/admin-tools:/);
    expect(services.temporal!.depends_on?.['temporal-schema']?.condition).toBe(
      'service_completed_successfully',
    );
    const script = readFileSync(path.join(deployDir, 'temporal/setup-schema.sh'), 'utf8');
    expect(script).toContain('temporal-sql-tool');
    expect(script).toMatch(/setup-schema -v 0\.0/);
    expect(script).toMatch(/update-schema -d "\$schema\/\$dir\/versioned"/);

    const env = services.temporal!.environment!;
    const custodianDb = new URL(
      String(services.api!.environment!.DATABASE_URL).slice(2, -1).split(':-')[1]!,
    ).pathname.slice(1);
    expect(custodianDb).toBe('custodian');
    expect([env.DBNAME, env.VISIBILITY_DBNAME]).toEqual(['temporal', 'temporal_visibility']);
    expect(env.POSTGRES_USER).not.toBe('custodian');
    expect(env.NUM_HISTORY_SHARDS).toBe('${TEMPORAL_HISTORY_SHARDS:-512}');
    const init = readFileSync(path.join(deployDir, 'postgres/create-databases.sh'), 'utf8');
    for (const database of ['custodian', 'temporal', 'temporal_visibility']) {
      expect(init).toContain(`CREATE DATABASE ${database} OWNER`);
    }
  });

  it('publishes the API only: neither Temporal nor its UI (which has no authentication)', () => {
    const published = Object.entries(services)
      .filter(([, service]) => (service.ports ?? []).length > 0)
      .map(([name]) => name);
    expect(published).toEqual(['api']);
    // The tunnel override publishes the UI on the loopback address only.
    const tunnel = parse(readFileSync(path.join(deployDir, 'compose.ui-tunnel.yaml'), 'utf8')) as {
      services: Record<string, Service>;
    };
    expect(Object.keys(tunnel.services).sort()).toEqual(['grafana', 'prometheus', 'temporal-ui']);
    for (const service of Object.values(tunnel.services))
      for (const port of service.ports!) expect(port).toMatch(/^127\.0\.0\.1:/);
  });

  it('refers only to files that exist, and gives the app every setting its configuration requires', () => {
    for (const service of Object.values(services)) {
      if (service.build) {
        expect(
          existsSync(path.join(deployDir, service.build.context, service.build.dockerfile)),
        ).toBe(true);
      }
      for (const word of [...(service.command ?? []), ...(service.healthcheck?.test ?? [])]) {
        if (/\.ts$/.test(word)) expect(existsSync(path.join(projectRoot, word)), word).toBe(true);
      }
      for (const volume of service.volumes ?? []) {
        const from = typeof volume === 'string' ? volume.split(':')[0]! : volume.source;
        if (from.startsWith('.')) expect(existsSync(path.join(deployDir, from)), from).toBe(true);
      }
    }
    // Each reference replaced by a plausible value, as compose would with deploy/.env filled in.
    const filledIn: Record<string, string> = {
      SMTP_URL: 'smtps://user:secret@smtp.example.com:465',
      PUBLIC_URL: 'https://custodian.example.com',
      MAIL_FROM: 'Custodian <custodian@example.com>',
    };
    const interpolate = (value: string | number) =>
      String(value).replace(
        /\$\{([A-Z0-9_]+)(?::?[-?]([^}]*))?\}/g,
        (_m, name: string, fallback?: string) =>
          filledIn[name] ?? (isSecret(name) ? 'secret' : (fallback ?? '')),
      );
    for (const name of ['api', 'worker', 'setup']) {
      const env = Object.fromEntries(
        Object.entries(services[name]!.environment!)
          .filter(([, value]) => value !== null)
          .map(([key, value]) => [key, interpolate(value!)]),
      );
      const config = loadConfig(env);
      expect(config.temporal.address, name).toBe('temporal:7233');
      expect(config.smtp.url, name).toBe(filledIn.SMTP_URL);
    }
  });

  it.skipIf(!composeAvailable())('is valid for the installed docker compose', () => {
    execFileSync('docker', ['compose', '-f', composePath, 'config', '--quiet'], {
      env: {
        ...process.env,
        COMPOSE_PROFILES: 'postgres,temporal,meilisearch',
        POSTGRES_PASSWORD: 'x',
        CUSTODIAN_DB_PASSWORD: 'x',
        TEMPORAL_DB_PASSWORD: 'x',
        MEILI_MASTER_KEY: 'x',
        SMTP_URL: 'smtp://mail.example.com',
        PUBLIC_URL: 'https://custodian.example.com',
        MAIL_FROM: 'Custodian <custodian@example.com>',
      },
      stdio: 'pipe',
    });
  });
});

function composeAvailable(): boolean {
  try {
    execFileSync('docker', ['compose', 'version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
