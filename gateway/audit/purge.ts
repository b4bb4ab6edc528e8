// Retention: deletes each stream's records older than a cutoff while keeping what is left
// verifiable. In one transaction per stream it appends a checkpoint record to the stream's tail
// (hash-chained like any other) that carries the seq and hash of the last deleted record, and
// deletes the records up to it; verification then starts the chain at the checkpoint's hash
// instead of the genesis hash. Only a prefix of a chain is ever deleted (never a record at or
// after the first one inside the retention window), and only from a chain that verifies:
// purging a damaged chain would erase the evidence and vouch for what remains.
import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../store/database.ts';
import type { AuditRecordRow, Tables } from '../store/tables.ts';
import { canonicalJson } from './canonical-json.ts';
import { indexedColumns, linkHash, recordBody } from './chain.ts';
import type { AuditCheckpointData } from './events.ts';
import { isUniqueViolation } from './store-errors.ts';
import { rfc3339 } from './time.ts';
import { verifyAudit, type BrokenLink } from './verify.ts';

export interface PurgeOptions {
  /** Records strictly older than this are deleted. */
  cutoff: Date;
  /** Only this stream. */
  stream?: string;
  /** Count what would be deleted; change nothing. */
  dryRun?: boolean;
  /** Recorded in the checkpoint. Default: user@host. */
  actor?: string;
  now?: () => number;
}

export interface PurgedStream {
  stream: string;
  purged: number;
  throughSeq: number | null;
  checkpoint: { id: string; seq: number } | null;
}

export class PurgeRefusedError extends Error {
  override name = 'PurgeRefusedError';
  readonly broken: BrokenLink[];
  constructor(broken: BrokenLink[]) {
    super(`refusing to purge: the audit chain is broken (${broken.map((b) => `${b.stream}:${b.seq} ${b.problem}`).join('; ')}); run \`sluice audit verify\``);
    this.broken = broken;
  }
}

const ATTEMPTS = 5;

export async function purgeAudit(database: Pick<Database, 'db' | 'dialect'>, options: PurgeOptions): Promise<PurgedStream[]> {
  const { db } = database;
  const verified = await verifyAudit(db, { stream: options.stream });
  if (!verified.ok) throw new PurgeRefusedError(verified.broken);
  const results: PurgedStream[] = [];
  for (const { stream } of verified.streams) {
    for (let attempt = 1; ; attempt++) {
      try {
        results.push(await purgeStream(database, stream, options));
        break;
      } catch (thrown) {
        // The gateway appended to the stream meanwhile: take the new tail and try again.
        if (attempt < ATTEMPTS && (isUniqueViolation(thrown) || isBusy(thrown))) continue;
        throw thrown;
      }
    }
  }
  return results;
}

async function purgeStream(database: Pick<Database, 'db' | 'dialect'>, stream: string, options: PurgeOptions): Promise<PurgedStream> {
  const cutoffMs = options.cutoff.getTime();
  return writeTransaction(database, async (db) => {
    const nothing: PurgedStream = { stream, purged: 0, throughSeq: null, checkpoint: null };
    const firstKept = await db
      .selectFrom('audit_records')
      .select('seq')
      .where('stream', '=', stream)
      .where('at_ms', '>=', cutoffMs)
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    const tail = await db.selectFrom('audit_records').select(['seq', 'hash']).where('stream', '=', stream).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    if (!tail) return nothing;
    const throughSeq = firstKept ? Number(firstKept.seq) - 1 : Number(tail.seq);
    const through = await db
      .selectFrom('audit_records')
      .select(['seq', 'hash', 'at_ms'])
      .where('stream', '=', stream)
      .where('seq', '<=', throughSeq)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!through) return nothing;
    const counts = await db
      .selectFrom('audit_records')
      .select((eb) => [eb.fn.countAll<number | string>().as('all'), eb.fn.count<number | string>(sql`case when kind <> 'checkpoint' then 1 end`).as('records')])
      .where('stream', '=', stream)
      .where('seq', '<=', throughSeq)
      .executeTakeFirstOrThrow();
    // Only earlier checkpoints are that old: replacing them with a new one would gain nothing.
    if (Number(counts.records) === 0) return nothing;
    const purged = Number(counts.all);
    if (options.dryRun) return { ...nothing, purged, throughSeq: Number(through.seq) };

    const data: AuditCheckpointData = {
      reason: 'purge',
      through_seq: Number(through.seq),
      through_hash: through.hash,
      through_at: rfc3339(Number(through.at_ms)),
      purged_records: purged,
      cutoff: rfc3339(cutoffMs),
      actor: options.actor ?? defaultActor(),
    };
    const atMs = (options.now ?? Date.now)();
    const seq = Number(tail.seq) + 1;
    const id = randomUUID();
    const body = recordBody({ stream, seq, id, atMs, kind: 'checkpoint' }, canonicalJson(data));
    const row: AuditRecordRow = { stream, seq, id, ...indexedColumns('checkpoint', atMs, data), body, prev_hash: tail.hash, hash: linkHash(tail.hash, body) };
    await db.insertInto('audit_records').values(row).execute();
    await db.deleteFrom('audit_records').where('stream', '=', stream).where('seq', '<=', data.through_seq).execute();
    return { stream, purged, throughSeq: data.through_seq, checkpoint: { id, seq } };
  });
}

/**
 * A transaction that writes: on SQLite `BEGIN IMMEDIATE` takes the write lock up front (a deferred
 * transaction that read first could not upgrade while the gateway writes); on PostgreSQL the
 * unique (stream, seq) key settles a race with the gateway appending.
 */
async function writeTransaction<T>(database: Pick<Database, 'db' | 'dialect'>, fn: (db: Kysely<Tables>) => Promise<T>): Promise<T> {
  return database.db.connection().execute(async (db) => {
    await sql.raw(database.dialect === 'sqlite' ? 'BEGIN IMMEDIATE' : 'BEGIN').execute(db);
    try {
      const result = await fn(db);
      await sql.raw('COMMIT').execute(db);
      return result;
    } catch (thrown) {
      await sql.raw('ROLLBACK').execute(db).catch(() => {});
      throw thrown;
    }
  });
}

function isBusy(thrown: unknown): boolean {
  const code = (thrown as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

function defaultActor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    /* no passwd entry */
  }
  return `${user}@${hostname()}`;
}
