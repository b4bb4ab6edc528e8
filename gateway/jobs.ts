// What the gateway remembers about each job it ran: who owns it and which masks its rows get, so
// every later page (jobs.getQueryResults, jobs.get) is masked exactly like the first. A job id the
// gateway did not create for the caller is never served.
import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { ContentScan, Mask, PolicyInput } from '../engine/schema-types.ts';
import { withSortedKeys } from '../engine/sql/analysis.ts';
import type { Tables } from './store/tables.ts';

export interface JobRecord {
  project: string;
  jobId: string;
  location?: string | undefined;
  connection: string;
  owner: { issuer: string; subject: string };
  /** `approve` while the job is held for an approval (see `held`): nothing has run upstream yet. */
  outcome: 'allow' | 'mask' | 'approve';
  /** The masks for the returned rows (the last statement's). */
  masks: readonly Mask[];
  contentScan?: ContentScan | undefined;
  /** Output names of the statement whose rows come back, in order. */
  outputs?: readonly string[] | undefined;
  /** Upstream error texts are withheld from the caller. */
  withholdErrors?: boolean | undefined;
  /** The statement whose rows come back returns none (see ResultPolicy.rowless). */
  rowless?: boolean | undefined;
  credentialTtlSeconds?: number | undefined;
  /** Policy revision that decided. */
  revision: string;
  sqlHash: string;
  createdAt: number;
  /**
   * The insert that named this job failed in transit: the job may exist upstream (so its owner may
   * still read it), but it may also be a job made outside the gateway under the same id, so the
   * gateway never cancels it on its own.
   */
  unconfirmed?: boolean | undefined;
  /**
   * With `unconfirmed`: a digest of the query the insert sent (see `queryDigest`). The job is
   * served only once BigQuery shows a job under its id running that query.
   */
  sent?: string | undefined;
  /**
   * Registered by a jobs.insert whose upstream answer has not come yet: the id may still name a
   * job made outside the gateway (BigQuery then refuses the insert as a duplicate), so it is not
   * served until the upstream's 200 says the job is the one this insert made.
   */
  inserting?: true | undefined;
  /**
   * The job ran under a cap and was still running when answered: before its first page is
   * released, the tables it read are checked against the input it was decided on (SQL text removed).
   */
  tablesCheck?: { input: PolicyInput } | undefined;
  /** Grants the decision relied on: once one is revoked, the job's pages are refused. */
  grantIds?: readonly string[] | undefined;
  /** A job held for an approval: PENDING until the request is decided (gateway/bigquery/held-jobs.ts). */
  held?: HeldJob | undefined;
  /** Approved and being inserted upstream since this time by one caller's poll; others wait. */
  launching?: number | undefined;
}

export interface HeldJob {
  approvalId: string;
  approvalUrl?: string | undefined;
  /** The job inserted upstream once approved (a jobs.query request is restated as a query job). */
  job: Record<string, unknown>;
  /** Set once the job ended without running: rejected, expired, withdrawn, or refused when decided again. */
  error?: { reason: string; message: string } | undefined;
  endedAt?: number | undefined;
}

export interface JobStore {
  /** Stores the record unless the job id is already known; false then (the existing record stays). */
  register(record: JobRecord): Promise<boolean>;
  get(project: string, jobId: string): Promise<JobRecord | undefined>;
  /** Replaces the stored record of a job already registered. */
  update(record: JobRecord): Promise<void>;
  /** Replaces `expected` with `next` only if the stored record is still `expected`: false when another call changed it first. */
  replace(expected: JobRecord, next: JobRecord): Promise<boolean>;
  delete(project: string, jobId: string): Promise<void>;
}

/** Expired records are deleted at most this often (a read never returns one in any case). */
const SWEEP_INTERVAL_MS = 600_000;

/**
 * Job records in the gateway's database, so every replica serves the jobs any of them ran and a
 * restart forgets none. One statement per registration: an insert that replaces a record only
 * when it has expired, so a live job id is never taken over.
 */
export class DatabaseJobStore implements JobStore {
  readonly #db: Kysely<Tables>;
  readonly #retentionMs: number;
  readonly #now: () => number;
  #lastSweep = 0;

  constructor(db: Kysely<Tables>, options: { retentionSeconds?: number; now?: () => number } = {}) {
    this.#db = db;
    this.#retentionMs = (options.retentionSeconds ?? 86_400) * 1000;
    this.#now = options.now ?? Date.now;
  }

  async register(record: JobRecord): Promise<boolean> {
    const now = this.#now();
    const row = {
      project: record.project,
      job_id: record.jobId,
      record: JSON.stringify(record),
      created_at_ms: record.createdAt,
      expires_at_ms: record.createdAt + this.#retentionMs,
    };
    const result = await this.#db
      .insertInto('jobs')
      .values(row)
      .onConflict((oc) =>
        oc
          .columns(['project', 'job_id'])
          .doUpdateSet({ record: row.record, created_at_ms: row.created_at_ms, expires_at_ms: row.expires_at_ms })
          .where('jobs.expires_at_ms', '<=', now),
      )
      .executeTakeFirst();
    if (now - this.#lastSweep > SWEEP_INTERVAL_MS) {
      this.#lastSweep = now;
      // Housekeeping only: a failed sweep is retried at the next interval.
      void this.#db.deleteFrom('jobs').where('expires_at_ms', '<=', now).execute().catch(() => undefined);
    }
    return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
  }

  async get(project: string, jobId: string): Promise<JobRecord | undefined> {
    const row = await this.#db
      .selectFrom('jobs')
      .select('record')
      .where('project', '=', project)
      .where('job_id', '=', jobId)
      .where('expires_at_ms', '>', this.#now())
      .executeTakeFirst();
    return row ? (JSON.parse(row.record) as JobRecord) : undefined;
  }

  async update(record: JobRecord): Promise<void> {
    await this.#db.updateTable('jobs').set({ record: JSON.stringify(record) }).where('project', '=', record.project).where('job_id', '=', record.jobId).execute();
  }

  async replace(expected: JobRecord, next: JobRecord): Promise<boolean> {
    // The stored text is what `get` parsed, and JSON.stringify gives it back unchanged.
    const result = await this.#db
      .updateTable('jobs')
      .set({ record: JSON.stringify(next) })
      .where('project', '=', next.project)
      .where('job_id', '=', next.jobId)
      .where('record', '=', JSON.stringify(expected))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async delete(project: string, jobId: string): Promise<void> {
    await this.#db.deleteFrom('jobs').where('project', '=', project).where('job_id', '=', jobId).execute();
  }
}

export function ownedBy(record: JobRecord, identity: { issuer: string; subject: string }): boolean {
  return record.owner.issuer === identity.issuer && record.owner.subject === identity.subject;
}

/**
 * What a query job runs, as a digest: its text, its default dataset and its parameters. A job
 * BigQuery shows under an unconfirmed id is the one the gateway sent only when they agree.
 */
export function queryDigest(query: unknown): string {
  const q = (query && typeof query === 'object' ? query : {}) as { query?: unknown; defaultDataset?: { projectId?: unknown; datasetId?: unknown } | null; queryParameters?: unknown };
  const dataset = q.defaultDataset ? [q.defaultDataset.projectId ?? null, q.defaultDataset.datasetId ?? null] : null;
  const parameters = Array.isArray(q.queryParameters) && q.queryParameters.length > 0 ? withSortedKeys(q.queryParameters) : null;
  return createHash('sha256').update(JSON.stringify([typeof q.query === 'string' ? q.query : null, dataset, parameters])).digest('hex');
}
