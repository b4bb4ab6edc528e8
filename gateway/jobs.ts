// What the gateway remembers about each job it ran: who owns it and which masks its rows get, so
// every later page (jobs.getQueryResults, jobs.get) is masked exactly like the first. A job id the
// gateway did not create for the caller is never served. The store is an interface so a shared,
// persistent one can replace the in-memory default.
import type { ContentScan, Mask } from '../engine/schema-types.ts';

export interface JobRecord {
  project: string;
  jobId: string;
  location?: string | undefined;
  connection: string;
  owner: { issuer: string; subject: string };
  outcome: 'allow' | 'mask';
  /** The masks for the returned rows (the last statement's). */
  masks: readonly Mask[];
  contentScan?: ContentScan | undefined;
  /** Output names of the statement whose rows come back, in order. */
  outputs?: readonly string[] | undefined;
  /** Upstream error texts are withheld from the caller. */
  withholdErrors?: boolean | undefined;
  credentialTtlSeconds?: number | undefined;
  /** Policy revision that decided. */
  revision: string;
  sqlHash: string;
  createdAt: number;
}

export interface JobStore {
  /** Stores the record unless the job id is already known; false then (the existing record stays). */
  register(record: JobRecord): Promise<boolean>;
  get(project: string, jobId: string): Promise<JobRecord | undefined>;
  delete(project: string, jobId: string): Promise<void>;
}

/** BigQuery job ids are unique per project; locations never share an id. */
const key = (project: string, jobId: string) => `${project}\u0000${jobId}`;

export class MemoryJobStore implements JobStore {
  readonly #records = new Map<string, JobRecord>();
  readonly #retentionMs: number;
  readonly #maxJobs: number;

  constructor(options: { retentionSeconds?: number; maxJobs?: number } = {}) {
    this.#retentionMs = (options.retentionSeconds ?? 86_400) * 1000;
    this.#maxJobs = options.maxJobs ?? 100_000;
  }

  async register(record: JobRecord): Promise<boolean> {
    const k = key(record.project, record.jobId);
    const existing = this.#records.get(k);
    if (existing && !this.#expired(existing)) return false;
    this.#evict();
    this.#records.set(k, record);
    return true;
  }

  async get(project: string, jobId: string): Promise<JobRecord | undefined> {
    const record = this.#records.get(key(project, jobId));
    if (!record || this.#expired(record)) return undefined;
    return record;
  }

  async delete(project: string, jobId: string): Promise<void> {
    this.#records.delete(key(project, jobId));
  }

  get size(): number {
    return this.#records.size;
  }

  #expired(record: JobRecord): boolean {
    return Date.now() - record.createdAt > this.#retentionMs;
  }

  /** Maps iterate in insertion order: the oldest records go first. */
  #evict(): void {
    for (const [k, record] of this.#records) {
      if (this.#records.size < this.#maxJobs && !this.#expired(record)) break;
      this.#records.delete(k);
    }
  }
}

export function ownedBy(record: JobRecord, identity: { issuer: string; subject: string }): boolean {
  return record.owner.issuer === identity.issuer && record.owner.subject === identity.subject;
}
