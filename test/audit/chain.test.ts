import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditLog, verifyAudit, type AuditRecord } from '../../gateway/audit/index.ts';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { storageTargets } from '../support/databases.ts';
import { plainEvent, recordValidator } from './helpers.ts';

const open: Database[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((d) => d.close()));
});

async function fresh(url: () => Promise<string>): Promise<Database> {
  const database = await openDatabase(await url());
  open.push(database);
  return database;
}

async function recordMany(log: AuditLog, n: number, from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) await log.record(plainEvent(i));
}

describe.each(storageTargets())('audit chain on $engine', ({ url }) => {
  it('records 200 concurrent calls as exactly 200 chained records, in few commits', async () => {
    const database = await fresh(url);
    const commits: number[] = [];
    const log = await AuditLog.open(database, { stream: 'gw-a', onCommit: ({ records }) => commits.push(records) });
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => log.record(plainEvent(i))));

    expect(new Set(results.map((r) => r.seq))).toEqual(new Set(Array.from({ length: 200 }, (_, i) => i + 1)));
    const { n } = await database.db.selectFrom('audit_records').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(n)).toBe(200);
    expect(commits.reduce((a, b) => a + b, 0)).toBe(200);
    expect(commits.length).toBeLessThan(20); // grouped, not one commit per record

    const report = await verifyAudit(database.db);
    expect(report.ok).toBe(true);
    expect(report.streams).toEqual([expect.objectContaining({ stream: 'gw-a', records: 200, firstSeq: 1, lastSeq: 200, start: { kind: 'genesis' } })]);
    expect(report.streams[0]!.head).toBe(log.head.hash);

    // Every stored body is a valid record of schemas/audit-record.schema.json.
    const validate = recordValidator();
    const rows = await database.db.selectFrom('audit_records').select('body').limit(20).execute();
    for (const row of rows) expect(validate(JSON.parse(row.body)), JSON.stringify(validate.errors)).toBe(true);
  });

  it('names the record whose body was edited with an SQL UPDATE', async () => {
    const database = await fresh(url);
    const log = await AuditLog.open(database, { stream: 'gw-a' });
    await recordMany(log, 30);
    expect((await verifyAudit(database.db)).ok).toBe(true);

    const target = await database.db.selectFrom('audit_records').select(['id', 'body']).where('seq', '=', 17).executeTakeFirstOrThrow();
    expect(target.body).toContain('"status":200');
    await sql`UPDATE audit_records SET body = replace(body, '"status":200', '"status":403') WHERE stream = 'gw-a' AND seq = 17`.execute(database.db);

    const report = await verifyAudit(database.db);
    expect(report.ok).toBe(false);
    expect(report.broken).toEqual([expect.objectContaining({ stream: 'gw-a', seq: 17, id: target.id, problem: 'hash_mismatch' })]);
  });

  it('names the record whose indexed column was edited', async () => {
    const database = await fresh(url);
    const log = await AuditLog.open(database, { stream: 'gw-a' });
    await recordMany(log, 10);
    await sql`UPDATE audit_records SET subject = 'someone-else' WHERE stream = 'gw-a' AND seq = 4`.execute(database.db);
    const report = await verifyAudit(database.db);
    expect(report.broken).toEqual([expect.objectContaining({ seq: 4, problem: 'column_mismatch' })]);
    expect(report.broken[0]!.message).toContain('subject');
  });

  it('detects a record rewritten with a recomputed hash at the next link', async () => {
    const database = await fresh(url);
    const log = await AuditLog.open(database, { stream: 'gw-a' });
    await recordMany(log, 10);
    const row = await database.db.selectFrom('audit_records').selectAll().where('seq', '=', 5).executeTakeFirstOrThrow();
    const { linkHash } = await import('../../gateway/audit/index.ts');
    const body = row.body.replace('"status":200', '"status":500');
    await database.db.updateTable('audit_records').set({ body, hash: linkHash(row.prev_hash, body) }).where('stream', '=', 'gw-a').where('seq', '=', 5).execute();
    const next = await database.db.selectFrom('audit_records').select('id').where('seq', '=', 6).executeTakeFirstOrThrow();
    const report = await verifyAudit(database.db);
    expect(report.broken).toEqual([expect.objectContaining({ seq: 6, id: next.id, problem: 'prev_hash_mismatch' })]);
  });

  it('detects a deleted record as a seq gap, and deleted first records as a missing start', async () => {
    const database = await fresh(url);
    const log = await AuditLog.open(database, { stream: 'gw-a' });
    await recordMany(log, 12);
    await sql`DELETE FROM audit_records WHERE stream = 'gw-a' AND seq = 8`.execute(database.db);
    const after = await database.db.selectFrom('audit_records').select('id').where('seq', '=', 9).executeTakeFirstOrThrow();
    let report = await verifyAudit(database.db);
    expect(report.broken).toEqual([expect.objectContaining({ seq: 9, id: after.id, problem: 'seq_gap' })]);
    expect(report.broken[0]!.message).toContain('seq 8');

    await sql`DELETE FROM audit_records WHERE stream = 'gw-a' AND seq <= 3`.execute(database.db);
    report = await verifyAudit(database.db);
    expect(report.broken).toEqual([expect.objectContaining({ seq: 4, problem: 'missing_start' })]);
  });

  it('detects reordered records', async () => {
    const database = await fresh(url);
    const log = await AuditLog.open(database, { stream: 'gw-a' });
    await recordMany(log, 6);
    // Swap the contents of seq 3 and 4 (a reorder that keeps every row individually consistent).
    const [a, b] = await database.db.selectFrom('audit_records').selectAll().where('seq', 'in', [3, 4]).orderBy('seq').execute();
    const { seq: _sa, stream: _ta, ...restA } = a!;
    const { seq: _sb, stream: _tb, ...restB } = b!;
    await database.db.deleteFrom('audit_records').where('seq', 'in', [3, 4]).execute();
    await database.db.insertInto('audit_records').values([{ ...restB, stream: 'gw-a', seq: 3 }, { ...restA, stream: 'gw-a', seq: 4 }]).execute();
    const report = await verifyAudit(database.db);
    expect(report.broken).toEqual([expect.objectContaining({ seq: 3, problem: 'misplaced' })]);
  });

  it('detects a deleted tail against an anchor taken earlier', async () => {
    const database = await fresh(url);
    const log = await AuditLog.open(database, { stream: 'gw-a' });
    await recordMany(log, 8);
    const anchor = { stream: 'gw-a', seq: log.head.seq, hash: log.head.hash };
    expect((await verifyAudit(database.db, { anchors: [anchor] })).ok).toBe(true);
    await sql`DELETE FROM audit_records WHERE stream = 'gw-a' AND seq >= 7`.execute(database.db);
    expect((await verifyAudit(database.db)).ok).toBe(true); // undetectable without the anchor
    const report = await verifyAudit(database.db, { anchors: [anchor] });
    expect(report.broken).toEqual([expect.objectContaining({ seq: 8, problem: 'anchor_mismatch' })]);
  });

  it('resumes its stream after a restart and keeps instances on separate chains', async () => {
    const target = await url();
    const first = await openDatabase(target);
    open.push(first);
    const a = await AuditLog.open(first, { stream: 'gw-a' });
    const b = await AuditLog.open(first, { stream: 'gw-b' });
    await Promise.all([recordMany(a, 15), recordMany(b, 10, 100)]);
    await a.close();

    // A restarted instance (new process: new connection) continues where the store says.
    const second = await openDatabase(target);
    open.push(second);
    const restarted = await AuditLog.open(second, { stream: 'gw-a' });
    expect(restarted.head).toEqual(a.head);
    const next = await restarted.record(plainEvent(99));
    expect(next.seq).toBe(16);

    const report = await verifyAudit(second.db);
    expect(report.ok).toBe(true);
    expect(report.streams.map((s) => [s.stream, s.records])).toEqual([
      ['gw-a', 16],
      ['gw-b', 10],
    ]);
  });

  it('keeps one chain when two writers share a stream id (re-chains on conflict)', async () => {
    const target = await url();
    const one = await openDatabase(target);
    const two = await openDatabase(target);
    open.push(one, two);
    const x = await AuditLog.open(one, { stream: 'shared' });
    const y = await AuditLog.open(two, { stream: 'shared' });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 40; i++) calls.push(x.record(plainEvent(i)), y.record(plainEvent(1000 + i)));
    const settled = await Promise.allSettled(calls);
    const committed = settled.filter((s) => s.status === 'fulfilled').length;
    const report = await verifyAudit(one.db);
    expect(report.ok).toBe(true);
    expect(report.streams[0]!.records).toBe(committed);
    expect(committed).toBe(80);
  });

  it('refuses malformed events without disturbing the batch they arrived with', async () => {
    const database = await fresh(url);
    const log = await AuditLog.open(database, { stream: 'gw-a' });
    const results = await Promise.allSettled([
      log.record(plainEvent(1)),
      log.record({ ...plainEvent(2), timings_ms: { total: Number.NaN } }),
      log.record({ ...plainEvent(3), request_id: '' }),
      log.record(plainEvent(4)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.name).toBe('AuditRecordError');
    expect((await verifyAudit(database.db)).streams[0]!.records).toBe(2);
  });

  it('records every kind of event', async () => {
    const database = await fresh(url);
    const log = await AuditLog.open(database, { stream: 'gw-a' });
    const scope = { kind: 'tables' as const, tables: ['acme-analytics.finance.ledger'] };
    await log.record({ kind: 'approval', approval_id: 'ap-1', action: 'requested', subject: 'ana@acme.example', request_id: 'r-1', approver_groups: ['data-owners'], min_approvals: 1, scope });
    await log.record({ kind: 'approval', approval_id: 'ap-1', action: 'approved', subject: 'ana@acme.example', actor: 'olga@acme.example', vote: 'approve', grant_id: 'g-1' });
    await log.record({ kind: 'grant', grant_id: 'g-1', action: 'created', subject: 'ana@acme.example', issuer: 'https://idp', scope, expires_at: new Date('2026-01-01T01:00:00Z'), approval_id: 'ap-1' });
    await log.record({ kind: 'grant', grant_id: 'g-1', action: 'consumed', subject: 'ana@acme.example', issuer: 'https://idp', scope, expires_at: new Date('2026-01-01T01:00:00Z'), request_id: 'r-2' });
    await log.record({ kind: 'grant', grant_id: 'g-1', action: 'revoked', subject: 'ana@acme.example', issuer: 'https://idp', scope, expires_at: new Date('2026-01-01T01:00:00Z'), actor: 'olga@acme.example' });
    await log.record({ kind: 'token_failure', reason: 'bad_signature', message: 'signature verification failed', token: 'eyJhbGciOi.fake.token', claimed_subject: 'mallory' });
    await log.record({ kind: 'config_reload', component: 'policy', ok: true, revision: 'abc', previous_revision: 'def', source: 'build/bundle.tar.gz' });

    const rows = await database.db.selectFrom('audit_records').select(['body', 'kind', 'subject', 'request_id']).orderBy('seq').execute();
    const validate = recordValidator();
    for (const row of rows) expect(validate(JSON.parse(row.body)), JSON.stringify(validate.errors)).toBe(true);
    expect(rows.map((r) => r.kind)).toEqual(['approval', 'approval', 'grant', 'grant', 'grant', 'token_failure', 'config_reload']);
    expect(rows[0]).toMatchObject({ subject: 'ana@acme.example', request_id: 'r-1' });
    const failure = JSON.parse(rows[5]!.body) as AuditRecord;
    expect(failure.kind === 'token_failure' && failure.data.token_sha256).toMatch(/^[0-9a-f]{16}$/);
    expect(rows[5]!.body).not.toContain('eyJhbGciOi');
    expect((await verifyAudit(database.db)).ok).toBe(true);
  });
});

describe('audit chain on SQLite when the store is full', () => {
  it('rejects with AuditUnavailableError, advances nothing, and recovers with the chain intact', async () => {
    const { sqliteUrl } = await import('../support/databases.ts');
    const database = await openDatabase(sqliteUrl());
    open.push(database);
    const log = await AuditLog.open(database, { stream: 'gw-a' });
    await recordMany(log, 5);
    const head = log.head;

    const { page_count } = (await sql<{ page_count: number }>`PRAGMA page_count`.execute(database.db)).rows[0]!;
    await sql.raw(`PRAGMA max_page_count = ${page_count}`).execute(database.db);
    const big = 'x'.repeat(64 * 1024);
    const failed = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => log.record(plainEvent(100 + i, { sql: big }))));
    for (const f of failed) {
      expect(f.status).toBe('rejected');
      expect((f as PromiseRejectedResult).reason.name).toBe('AuditUnavailableError');
    }
    expect(log.head).toEqual(head);

    await sql.raw('PRAGMA max_page_count = 1073741823').execute(database.db);
    const next = await log.record(plainEvent(200));
    expect(next.seq).toBe(head.seq + 1);
    const report = await verifyAudit(database.db);
    expect(report.ok).toBe(true);
    expect(report.streams[0]!.records).toBe(6);
  });
});
