import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { AuditLog, purgeAudit, PurgeRefusedError, verifyAudit } from '../../gateway/audit/index.ts';
import { openDatabase } from '../../gateway/store/database.ts';
import { storageTargets } from '../support/databases.ts';
import { plainEvent } from './helpers.ts';

const DAY = 86_400_000;

describe.each(storageTargets())('retention on $engine', ({ url }) => {
  it('purges old records behind a checkpoint; the rest verifies and the gateway keeps appending', async () => {
    const database = await openDatabase(await url());
    const now = Date.now();
    const log = await AuditLog.open(database, { stream: 'gw-r' });
    for (let i = 0; i < 10; i++) await log.record(plainEvent(i, { at: new Date(now - 100 * DAY + i) }));
    for (let i = 10; i < 15; i++) await log.record(plainEvent(i, { at: new Date(now - 40 * DAY + i) }));
    for (let i = 15; i < 20; i++) await log.record(plainEvent(i));
    const other = await AuditLog.open(database, { stream: 'gw-s' });
    for (let i = 0; i < 3; i++) await other.record(plainEvent(100 + i));

    const dry = await purgeAudit(database, { cutoff: new Date(now - 90 * DAY), dryRun: true });
    expect(dry).toEqual([
      { stream: 'gw-r', purged: 10, throughSeq: 10, checkpoint: null },
      { stream: 'gw-s', purged: 0, throughSeq: null, checkpoint: null },
    ]);
    expect((await verifyAudit(database.db)).streams[0]!.records).toBe(20);

    const [first] = await purgeAudit(database, { cutoff: new Date(now - 90 * DAY), actor: 'ops@acme.example' });
    expect(first).toMatchObject({ stream: 'gw-r', purged: 10, throughSeq: 10, checkpoint: { seq: 21 } });
    let report = await verifyAudit(database.db);
    expect(report.ok).toBe(true);
    expect(report.streams[0]).toMatchObject({ stream: 'gw-r', records: 11, firstSeq: 11, lastSeq: 21, start: { kind: 'checkpoint', checkpointSeq: 21, throughSeq: 10 } });

    // The running gateway's next record lands after the checkpoint (its seq was taken).
    const next = await log.record(plainEvent(50));
    expect(next.seq).toBe(22);

    const [second] = await purgeAudit(database, { cutoff: new Date(now - 30 * DAY), stream: 'gw-r' });
    expect(second).toMatchObject({ purged: 5, throughSeq: 15, checkpoint: { seq: 23 } });
    report = await verifyAudit(database.db);
    expect(report.ok).toBe(true);
    expect(report.streams[0]).toMatchObject({ firstSeq: 16, lastSeq: 23, start: { kind: 'checkpoint', checkpointSeq: 23, throughSeq: 15 } });

    // Nothing old left: nothing to do, and no checkpoint churn.
    expect(await purgeAudit(database, { cutoff: new Date(now - 30 * DAY), stream: 'gw-r' })).toEqual([{ stream: 'gw-r', purged: 0, throughSeq: null, checkpoint: null }]);

    // Deleting the first remaining record is still caught: no checkpoint accounts for it.
    await sql`DELETE FROM audit_records WHERE stream = 'gw-r' AND seq = 16`.execute(database.db);
    report = await verifyAudit(database.db);
    expect(report.broken).toEqual([expect.objectContaining({ stream: 'gw-r', seq: 17, problem: 'missing_start' })]);

    // And a damaged chain is never purged (that would erase the evidence).
    await expect(purgeAudit(database, { cutoff: new Date(now) })).rejects.toBeInstanceOf(PurgeRefusedError);
    await database.close();
  });
});
