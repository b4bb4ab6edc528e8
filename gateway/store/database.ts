// Opens the gateway's database from a storage URL and brings its schema up to date:
//   sqlite:/path/to/sluice.sqlite   embedded default (WAL mode)
//   sqlite::memory:                  tests
//   postgres://user@host:port/db     several gateway replicas sharing approvals, grants, audit
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type SqliteDatabase } from 'kysely';
import { Migrator, type MigrationProvider } from 'kysely/migration';
import pg from 'pg';
import { migrations } from './migrations.ts';
import type { Tables } from './tables.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Database {
  db: Kysely<Tables>;
  dialect: Dialect;
  url: string;
  close(): Promise<void>;
}

// PostgreSQL returns BIGINT as text by default; epoch milliseconds fit a JS number exactly.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export async function openDatabase(url: string): Promise<Database> {
  const { db, dialect } = connect(url);
  const provider: MigrationProvider = { getMigrations: async () => migrations };
  const { error } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    await db.destroy();
    throw new Error(`database migration failed for ${redact(url)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { db, dialect, url, close: () => db.destroy() };
}

function connect(url: string): { db: Kysely<Tables>; dialect: Dialect } {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length);
    const sqlite = new BetterSqlite3(file === ':memory:' ? ':memory:' : file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = FULL'); // a committed audit record survives power loss, not only a crash
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma('foreign_keys = ON');
    return { db: new Kysely<Tables>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) }), dialect: 'sqlite' };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    // Bounded waits everywhere: a request that must be audited fails closed in seconds, not
    // minutes, when the server is gone or hangs (connect, server-side statement, client-side query).
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      connectionTimeoutMillis: 2_000,
      statement_timeout: 10_000,
      query_timeout: 12_000,
      idle_in_transaction_session_timeout: 30_000,
      keepAlive: true,
    });
    // A client losing its server must not crash the process: idle ones report through the pool,
    // checked-out ones through their own 'error' event (which pg emits with no listener attached
    // and Kysely does not listen to). The query in flight fails with the error either way, and the
    // pool drops the broken client when it is released.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    return { db: new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres' };
  }
  throw new Error(`unsupported storage URL ${redact(url)}: use sqlite:<file> or postgres://…`);
}

/** A URL fit for messages: no password. */
export function redact(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/** Prepared statements kept per SQL text; the least recently used beyond this are dropped. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares every query anew, and with better-sqlite3 preparing is a large share of a write
 * (the audit trail, jobs and grants repeat a few statement texts). Statements are reused instead;
 * the driver never streams, so a cached statement is never busy when it is handed out again.
 */
function withStatementCache(sqlite: BetterSqlite3.Database): SqliteDatabase {
  const statements = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => void sqlite.close(),
    prepare(source: string) {
      let statement = statements.get(source);
      if (statement) {
        statements.delete(source); // re-inserted below: most recently used last
      } else {
        statement = sqlite.prepare(source);
        if (statements.size >= STATEMENT_CACHE_SIZE) statements.delete(statements.keys().next().value!);
      }
      statements.set(source, statement);
      return statement;
    },
  };
}
