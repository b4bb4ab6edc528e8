// Storage URLs for tests: a fresh SQLite file, and a fresh database in the run's PostgreSQL.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';

export interface StorageTarget {
  engine: 'sqlite' | 'postgres';
  url: () => Promise<string>;
}

export function sqliteUrl(): string {
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'sluice-db-')), 'sluice.sqlite')}`;
}

export async function freshPostgresDatabase(baseUrl: string): Promise<string> {
  const name = `sluice_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: baseUrl });
  await client.connect();
  await client.query(`CREATE DATABASE ${name}`);
  await client.end();
  const url = new URL(baseUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Both engines, for describe.each; PostgreSQL only when the run started one. */
export function storageTargets(): StorageTarget[] {
  const base = process.env.SLUICE_TEST_POSTGRES_URL ?? inject('postgresUrl');
  const targets: StorageTarget[] = [{ engine: 'sqlite', url: async () => sqliteUrl() }];
  if (base) targets.push({ engine: 'postgres', url: () => freshPostgresDatabase(base) });
  return targets;
}
