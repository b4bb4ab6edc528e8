// Attack on principal status across replicas sharing PostgreSQL: two changes to one principal's
// status committed at the same time (a kill switch on one replica while the agent's fresh token
// re-enables it through introspection on another; a session revocation racing an account-enabled
// signal). Each change reads the status it builds on; applied one after the other, the kill
// switch stays in force and the session revocation is kept, whichever lands first.
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PrincipalStatusStore } from '../../gateway/identity/index.ts';
import type { StatusChange } from '../../gateway/identity/status-store.ts';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { freshPostgresDatabase } from '../support/databases.ts';

const postgresUrl = process.env.SLUICE_TEST_POSTGRES_URL ?? inject('postgresUrl');
const ISSUER = 'https://idp.example';

describe.runIf(postgresUrl)('concurrent principal status changes (PostgreSQL)', () => {
  let url: string;
  let database: Database;
  let store: PrincipalStatusStore;
  let blocker: pg.Client;

  beforeAll(async () => {
    url = await freshPostgresDatabase(postgresUrl!);
    database = await openDatabase(url);
    store = new PrincipalStatusStore(database.db);
    blocker = new pg.Client({ connectionString: url });
    await blocker.connect();
    // Connections for both changes, opened before a race needs them.
    await Promise.all([0, 1, 2].map(() => sql`SELECT pg_sleep(0.05)`.execute(database.db)));
  });
  afterAll(async () => {
    await blocker?.end();
    await database?.close();
  });

  const change = (subject: string, action: StatusChange['action'], signal: string, extra: Partial<StatusChange> = {}): StatusChange => ({
    action,
    issuer: ISSUER,
    subject,
    reason: `${signal} ${action}`,
    signal,
    atMs: Date.now(),
    ...extra,
  });

  /** Backends of this database waiting for a lock. */
  const waiting = async () => {
    const { rows } = await blocker.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
    return rows[0].n as number;
  };
  const until = async (n: number) => {
    for (let i = 0; (await waiting()) < n; i++) {
      if (i > 1000) throw new Error(`${n} transactions never waited for a lock`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  /**
   * `first` and `second` applied while another transaction holds the change counter, `second`
   * starting only once `first` waits: the order the database lets them commit in is forced.
   */
  async function race(first: StatusChange, second: StatusChange) {
    await blocker.query('BEGIN');
    await blocker.query('UPDATE principal_status_version SET version = version WHERE id = 1');
    const a = store.apply(first);
    await until(1);
    const b = store.apply(second);
    await until(2);
    await blocker.query('COMMIT');
    await Promise.all([a, b]);
    return store.get(ISSUER, first.subject);
  }

  it('a kill switch is not undone by an introspection enable committed at the same time', async () => {
    await store.apply(change('agent-1', 'disable', 'introspection'));
    const after = await race(change('agent-1', 'disable', 'cli'), change('agent-1', 'enable', 'introspection'));
    expect(after).toMatchObject({ disabled: true, signal: 'cli' });
  });

  it('a session revocation is not lost to an enable committed at the same time', async () => {
    await store.apply(change('agent-2', 'disable', 'ssf:account-disabled'));
    const notBeforeMs = Date.now();
    const after = await race(change('agent-2', 'revoke_sessions', 'ssf:session-revoked', { notBeforeMs }), change('agent-2', 'enable', 'ssf:account-enabled'));
    expect(after).toMatchObject({ disabled: false, notBeforeMs });
  });
});
