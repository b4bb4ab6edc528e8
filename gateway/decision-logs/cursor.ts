// Where decision-log shipping stands in an audit stream: the seq of the last record the collector
// acknowledged (or that was dropped), kept in the database so shipping resumes there.
import type { Kysely } from 'kysely';
import type { Tables } from '../store/tables.ts';

/**
 * The stream's cursor. A stream seen for the first time starts at `initialSeq` (the head of the
 * stream when shipping is first enabled: earlier decisions are for `sluice audit export`).
 */
export async function readCursor(db: Kysely<Tables>, stream: string, initialSeq: number, now: number): Promise<number> {
  const row = await db.selectFrom('decision_log_cursors').select('seq').where('stream', '=', stream).executeTakeFirst();
  if (row) return Number(row.seq);
  await db
    .insertInto('decision_log_cursors')
    .values({ stream, seq: initialSeq, updated_at_ms: now })
    .onConflict((oc) => oc.column('stream').doNothing())
    .execute();
  const created = await db.selectFrom('decision_log_cursors').select('seq').where('stream', '=', stream).executeTakeFirstOrThrow();
  return Number(created.seq);
}

/**
 * Moves the cursor from `from` to `to`. False when the stored cursor was not at `from`: another
 * process ships the same stream (two instances with one stream id), and the caller re-reads it.
 */
export async function advanceCursor(db: Kysely<Tables>, stream: string, from: number, to: number, now: number): Promise<boolean> {
  const result = await db
    .updateTable('decision_log_cursors')
    .set({ seq: to, updated_at_ms: now })
    .where('stream', '=', stream)
    .where('seq', '=', from)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function storedCursor(db: Kysely<Tables>, stream: string): Promise<number | undefined> {
  const row = await db.selectFrom('decision_log_cursors').select('seq').where('stream', '=', stream).executeTakeFirst();
  return row ? Number(row.seq) : undefined;
}
