// Reading the principal inventory: pages of principals in a stable order, one principal with the
// datasets it read and its active grants, each with its disabled state. Every read first folds
// what the audit trail gained since the last one (projection.ts), so it is current.
import { sql, type Kysely } from 'kysely';
import { grantStatus, toGrantView } from '../approvals/rows.ts';
import type { GrantView } from '../approvals/types.ts';
import type { PrincipalRow, Tables } from '../store/tables.ts';
import { foldPrincipals, OUTCOMES, type Outcome } from './projection.ts';

export interface PrincipalStatus {
  disabled: boolean;
  reason: string | null;
  signal: string | null;
  changedAt: string | null;
}

export interface PrincipalSummary {
  issuer: string;
  subject: string;
  kind: 'agent' | 'human' | null;
  /** As presented with its latest request. */
  groups: string[];
  firstSeen: string;
  lastSeen: string;
  requests: Record<Outcome, number> & { total: number };
  status: PrincipalStatus;
}

export interface PrincipalDetail extends PrincipalSummary {
  datasets: { dataset: string; requests: number; lastSeen: string }[];
  activeGrants: GrantView[];
}

export interface PrincipalPage {
  principals: PrincipalSummary[];
  /** Present when more principals follow: pass it back as `pageToken`. */
  nextPageToken?: string;
}

export class PageTokenError extends Error {
  override name = 'PageTokenError';
}

export const MAX_PAGE = 500;

/** Principals ordered by (issuer, subject); a page token is the position after the last one. */
export async function listPrincipals(db: Kysely<Tables>, options: { limit?: number; pageToken?: string; now?: () => number } = {}): Promise<PrincipalPage> {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), MAX_PAGE);
  const after = options.pageToken === undefined ? undefined : decodePageToken(options.pageToken);
  await foldPrincipals(db, options.now);
  let query = db.selectFrom('principals').selectAll();
  if (after) {
    const [issuer, subject] = after;
    query = query.where((eb) => eb.or([eb('issuer', '>', issuer), eb.and([eb('issuer', '=', issuer), eb('subject', '>', subject)])]));
  }
  const rows = await query.orderBy('issuer').orderBy('subject').limit(limit + 1).execute();
  const page = rows.slice(0, limit);
  const statuses = await readStatuses(db, page);
  const principals = page.map((row) => toSummary(row, statuses.get(key(row))));
  const last = page[page.length - 1];
  return { principals, ...(rows.length > limit && last && { nextPageToken: encodePageToken([last.issuer, last.subject]) }) };
}

/** One principal, or undefined when the trail never saw it. `fold: false` reads without folding first (just done). */
export async function getPrincipal(
  db: Kysely<Tables>,
  issuer: string,
  subject: string,
  { now = Date.now, fold = true }: { now?: () => number; fold?: boolean } = {},
): Promise<PrincipalDetail | undefined> {
  if (fold) await foldPrincipals(db, now);
  const row = await db.selectFrom('principals').selectAll().where('issuer', '=', issuer).where('subject', '=', subject).executeTakeFirst();
  if (!row) return undefined;
  const [statuses, datasets, grants] = await Promise.all([
    readStatuses(db, [row]),
    db.selectFrom('principal_datasets').selectAll().where('issuer', '=', issuer).where('subject', '=', subject).orderBy('dataset').execute(),
    db
      .selectFrom('grants')
      .selectAll()
      .where('issuer', '=', issuer)
      .where('subject', '=', subject)
      .where('revoked_at_ms', 'is', null)
      .where('consumed_at_ms', 'is', null)
      .where('expires_at_ms', '>', now())
      .orderBy('expires_at_ms')
      .execute(),
  ]);
  const at = now();
  return {
    ...toSummary(row, statuses.get(key(row))),
    datasets: datasets.map((d) => ({ dataset: d.dataset, requests: Number(d.requests), lastSeen: iso(d.last_seen_ms) })),
    activeGrants: grants.filter((g) => grantStatus(g, at) === 'active').map((g) => toGrantView(g, at)),
  };
}

function toSummary(row: PrincipalRow, status: PrincipalStatus | undefined): PrincipalSummary {
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, Number(row[`${o}_count`])])) as Record<Outcome, number>;
  return {
    issuer: row.issuer,
    subject: row.subject,
    kind: row.kind,
    groups: JSON.parse(row.groups) as string[],
    firstSeen: iso(row.first_seen_ms),
    lastSeen: iso(row.last_seen_ms),
    requests: { ...counts, total: OUTCOMES.reduce((n, o) => n + counts[o], 0) },
    status: status ?? { disabled: false, reason: null, signal: null, changedAt: null },
  };
}

/**
 * Disabled state from `principal_status` (gateway/identity/). Read with plain SQL and forgiving of
 * its absence: a store whose schema predates it has no principal disabled.
 */
async function readStatuses(db: Kysely<Tables>, principals: readonly { issuer: string; subject: string }[]): Promise<Map<string, PrincipalStatus>> {
  const out = new Map<string, PrincipalStatus>();
  const subjects = [...new Set(principals.map((p) => p.subject))];
  if (!subjects.length) return out;
  let rows: { issuer: string; subject: string; disabled: number | string; reason: string | null; signal: string | null; changed_at_ms: number | string | null }[];
  try {
    rows = (
      await sql<(typeof rows)[number]>`SELECT issuer, subject, disabled, reason, signal, changed_at_ms FROM principal_status WHERE subject IN (${sql.join(subjects)})`.execute(db)
    ).rows;
  } catch (error) {
    if (isMissingTable(error)) return out;
    throw error;
  }
  const wanted = new Set(principals.map(key));
  for (const r of rows) {
    if (!wanted.has(key(r))) continue;
    out.set(key(r), { disabled: Number(r.disabled) === 1, reason: r.reason, signal: r.signal, changedAt: r.changed_at_ms === null ? null : iso(Number(r.changed_at_ms)) });
  }
  return out;
}

function isMissingTable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  return e?.code === '42P01' || (typeof e?.message === 'string' && e.message.includes('no such table'));
}

function key(p: { issuer: string; subject: string }): string {
  return JSON.stringify([p.issuer, p.subject]);
}

function iso(ms: number): string {
  return new Date(Number(ms)).toISOString();
}

/** Opaque to callers; only a well-formed position is accepted (it selects nothing a caller may not list anyway). */
function encodePageToken(position: [string, string]): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

function decodePageToken(token: string): [string, string] {
  try {
    if (!/^[A-Za-z0-9_-]{1,2048}$/.test(token)) throw new Error('not base64url');
    const value: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'string')) return value as [string, string];
  } catch {
    // reported below
  }
  throw new PageTokenError('the page token is not one this API issued');
}
