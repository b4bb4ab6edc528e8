// Listings of approval requests and grants that scale: who may see what, the filters and the page
// are all decided in SQL, so a flood of one caller's requests cannot push another's out of view.
//
// Visibility uses two side tables filled when a request is filed (approval_request_groups: the
// request's approver groups; approval_request_datasets: the datasets its statement reads and its
// scope names). Pages are keyset pages on (created desc, id asc): rows filed while someone pages
// land before the first page and never shift the others. A page token carries its position and a
// digest binding it to the caller and the filters it was issued for; anything else is refused.
import { createHash } from 'node:crypto';
import { sql, type Expression, type ExpressionBuilder, type Kysely, type SqlBool } from 'kysely';
import type { Identity, PolicyInput } from '../../engine/schema-types.ts';
import type { ApprovalRequestRow, Tables } from '../store/tables.ts';
import { ApprovalError } from './errors.ts';
import type { ApprovalStatus, GrantStatus } from './types.ts';

export const APPROVAL_STATUSES = ['pending', 'approved', 'rejected', 'expired', 'withdrawn'] as const satisfies readonly ApprovalStatus[];
export const GRANT_STATUSES = ['active', 'expired', 'revoked', 'consumed'] as const satisfies readonly GrantStatus[];
const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 500;
/** Group names and datasets kept per request: what a policy names is small; a hostile input is not. */
const MAX_INDEXED = 200;
const MAX_NAME_LENGTH = 1024;

/** What narrows a listing besides its page. */
export interface ListingFilters {
  status: string;
  /** `project.dataset`. */
  dataset?: string | undefined;
  /** The requester's (or grant holder's) subject. */
  requester?: string | undefined;  /** Only requests the viewer may decide on: its approver groups', not its own. */
  decidableOnly?: boolean | undefined;
}

/** Where a page starts: after (`next`) or before (`prev`) the row at (createdMs, id). */
export interface Cursor {
  direction: 'next' | 'prev';
  createdMs: number;
  id: string;
}

export interface Page<T, S extends string> {
  items: T[];
  /** Continues after the last item; absent on the last page. */
  nextPageToken?: string;
  /** Goes back to the page before the first item; absent on the first page. */
  prevPageToken?: string;
  /** How many of the viewer's rows (matching every filter but status) are in each status. */
  counts: Record<S, number>;
}

/** Fills the listing tables for a request just inserted (same transaction as its row, ideally). */
export async function indexForListing(db: Kysely<Tables>, row: Pick<ApprovalRequestRow, 'id' | 'approver_groups' | 'input' | 'scope'>): Promise<void> {
  const groups = listingGroups(row.approver_groups);
  const datasets = listingDatasets(row.input, row.scope);
  if (groups.length) await db.insertInto('approval_request_groups').values(groups.map((group_name) => ({ approval_id: row.id, group_name }))).execute();
  if (datasets.length) await db.insertInto('approval_request_datasets').values(datasets.map((dataset) => ({ approval_id: row.id, dataset }))).execute();
}

function listingGroups(approverGroups: string): string[] {
  return bounded(parseJson(approverGroups));
}

/** `project.dataset` of every table the statement reads, and of every dataset the scope names. */
function listingDatasets(input: string, scope: string): string[] {
  const names: unknown[] = [];
  const parsedInput = parseJson(input) as Partial<PolicyInput> | undefined;
  for (const statement of parsedInput?.sql?.statements ?? []) {
    for (const table of statement?.tables ?? []) {
      if (typeof table?.project === 'string' && typeof table.dataset === 'string') names.push(`${table.project}.${table.dataset}`);
    }
  }
  const parsedScope = parseJson(scope) as { datasets?: unknown; tables?: unknown } | undefined;
  if (Array.isArray(parsedScope?.datasets)) names.push(...parsedScope.datasets);
  if (Array.isArray(parsedScope?.tables)) {
    for (const table of parsedScope.tables) if (typeof table === 'string') names.push(table.split('.').slice(0, 2).join('.'));
  }
  return bounded(names);
}

function bounded(values: unknown): string[] {
  if (!Array.isArray(values)) return [];
  const kept = values.filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_NAME_LENGTH);
  return [...new Set(kept)].slice(0, MAX_INDEXED);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Clamps a requested page size; absent: the default. */
export function pageSize(requested: number | undefined): number {
  if (requested === undefined || !Number.isFinite(requested)) return DEFAULT_PAGE_SIZE;
  return Math.min(Math.max(Math.trunc(requested), 1), MAX_PAGE_SIZE);
}

/**
 * A token for the page after/before `row`. The digest is what makes the token useless elsewhere:
 * another caller, other filters or an edited position all fail it.
 */
export function encodePageToken(listing: string, viewer: Identity | undefined, filters: ListingFilters, cursor: Cursor): string {
  const body = [1, cursor.direction === 'next' ? 'n' : 'p', cursor.createdMs, cursor.id];
  return Buffer.from(JSON.stringify([...body, digest(listing, viewer, filters, body)])).toString('base64url');
}

/** The cursor in `token`, or a 400 refusal: malformed, edited, or issued for another caller or filters. */
export function decodePageToken(listing: string, viewer: Identity | undefined, filters: ListingFilters, token: string): Cursor {
  const refuse = () => new ApprovalError('invalid_request', 'pageToken is not a page token of this listing; start again without it');
  if (token.length > 512 || !/^[A-Za-z0-9_-]+$/.test(token)) throw refuse();
  const parsed = parseJson(Buffer.from(token, 'base64url').toString('utf8'));
  if (!Array.isArray(parsed) || parsed.length !== 5) throw refuse();
  const [version, direction, createdMs, id, check] = parsed as unknown[];
  if (version !== 1 || (direction !== 'n' && direction !== 'p') || !Number.isSafeInteger(createdMs) || typeof id !== 'string' || id.length > 100) throw refuse();
  if (typeof check !== 'string' || check !== digest(listing, viewer, filters, [version, direction, createdMs, id])) throw refuse();
  return { direction: direction === 'n' ? 'next' : 'prev', createdMs: createdMs as number, id };
}

function digest(listing: string, viewer: Identity | undefined, filters: ListingFilters, body: unknown[]): string {
  const who = viewer ? [viewer.issuer, viewer.subject, [...viewer.groups].sort()] : null;
  const material = JSON.stringify(['sluice listing page', listing, who, [filters.status, filters.dataset ?? null, filters.requester ?? null, filters.decidableOnly === true], body]);
  return createHash('sha256').update(material).digest('base64url').slice(0, 22);
}

type Columns = { created: string; id: string };

/** Rows after (or before) the cursor in the order created desc, id asc. */
function afterCursor<DB, TB extends keyof DB>(eb: ExpressionBuilder<DB, TB>, columns: Columns, cursor: Cursor): Expression<SqlBool> {
  const created = sql.ref(columns.created);
  const id = sql.ref(columns.id);
  return cursor.direction === 'next'
    ? sql<SqlBool>`(${created} < ${cursor.createdMs} or (${created} = ${cursor.createdMs} and ${id} > ${cursor.id}))`
    : sql<SqlBool>`(${created} > ${cursor.createdMs} or (${created} = ${cursor.createdMs} and ${id} < ${cursor.id}))`;
}

/**
 * Turns the `size + 1` rows fetched in cursor order into a page: the extra row only says whether
 * there is more in that direction.
 */
export function settlePage<T extends { created_at_ms: number; id: string }>(
  rows: T[],
  size: number,
  cursor: Cursor | undefined,
  tokenFor: (cursor: Cursor) => string,
): { rows: T[]; nextPageToken?: string; prevPageToken?: string } {
  const more = rows.length > size;
  const kept = rows.slice(0, size);
  const backwards = cursor?.direction === 'prev';
  if (backwards) kept.reverse();
  const first = kept[0];
  const last = kept.at(-1);
  const hasNext = backwards ? true : more;
  const hasPrev = backwards ? more : cursor !== undefined;
  return {
    rows: kept,
    ...(hasNext && last && { nextPageToken: tokenFor({ direction: 'next', createdMs: last.created_at_ms, id: last.id }) }),
    ...(hasPrev && first && { prevPageToken: tokenFor({ direction: 'prev', createdMs: first.created_at_ms, id: first.id }) }),
  };
}

function emptyCounts<S extends string>(statuses: readonly S[]): Record<S, number> {
  return Object.fromEntries(statuses.map((s) => [s, 0])) as Record<S, number>;
}

/** One page's worth of a listing: whose, which rows, from where, how many. */
export interface PageQuery {
  viewer: Identity | undefined;
  filters: ListingFilters;
  cursor: Cursor | undefined;
  size: number;
  now: number;
}

/** The request whose id is in `idColumn` names one of `groups` among its approver groups. */
function approverAmong(idColumn: 'approval_requests.id' | 'grants.approval_id', groups: readonly string[]): Expression<SqlBool> {
  const names = groups.length ? groups : [''];
  return sql<SqlBool>`exists (select 1 from approval_request_groups g where g.approval_id = ${sql.ref(idColumn)} and g.group_name in (${sql.join(names)}))`;
}

/** The request whose id is in `idColumn` reads `dataset`. */
function readsDataset(idColumn: 'approval_requests.id' | 'grants.approval_id', dataset: string): Expression<SqlBool> {
  return sql<SqlBool>`exists (select 1 from approval_request_datasets d where d.approval_id = ${sql.ref(idColumn)} and d.dataset = ${dataset})`;
}

/** Requests the viewer asked for or may decide on, matching the dataset and requester filters. */
function visibleRequests(db: Kysely<Tables>, viewer: Identity | undefined, filters: ListingFilters) {
  return db.selectFrom('approval_requests').where((eb) => {
    const terms: Expression<SqlBool>[] = [];
    if (viewer) {
      const own = eb.and([eb('approval_requests.issuer', '=', viewer.issuer), eb('approval_requests.subject', '=', viewer.subject)]);
      const decides = approverAmong('approval_requests.id', viewer.groups);
      if (filters.decidableOnly) terms.push(viewer.groups.length ? decides : sql<SqlBool>`1 = 0`, eb.not(own));
      else terms.push(viewer.groups.length ? eb.or([own, decides]) : own);
    }
    if (filters.dataset !== undefined) terms.push(readsDataset('approval_requests.id', filters.dataset));
    if (filters.requester !== undefined) terms.push(eb('approval_requests.subject', '=', filters.requester));
    return terms.length ? eb.and(terms) : sql<SqlBool>`1 = 1`;
  });
}

/** One page of request rows, in the listing's order. */
export async function requestRows(db: Kysely<Tables>, listing: PageQuery): Promise<ApprovalRequestRow[]> {
  const { now, cursor, filters } = listing;
  const status = filters.status;
  const backwards = cursor?.direction === 'prev';
  let query = visibleRequests(db, listing.viewer, filters).selectAll('approval_requests');
  if (status === 'pending') query = query.where('status', '=', 'pending').where('expires_at_ms', '>', now);
  else if (status === 'expired') {
    query = query.where((eb) => eb.or([eb('status', '=', 'expired'), eb.and([eb('status', '=', 'pending'), eb('expires_at_ms', '<=', now)])]));
  } else if (status !== 'all') query = query.where('status', '=', status as ApprovalStatus);
  if (cursor) query = query.where((eb) => afterCursor(eb, { created: 'approval_requests.created_at_ms', id: 'approval_requests.id' }, cursor));
  return query
    .orderBy('approval_requests.created_at_ms', backwards ? 'asc' : 'desc')
    .orderBy('approval_requests.id', backwards ? 'desc' : 'asc')
    .limit(listing.size + 1)
    .execute();
}

/** The viewer's requests per status (a lapsed pending request counts as expired). */
export async function requestCounts(db: Kysely<Tables>, viewer: Identity | undefined, filters: ListingFilters, now: number): Promise<Record<ApprovalStatus, number>> {
  const row = await visibleRequests(db, viewer, filters)
    .select([
      sql<number>`sum(case when status = 'pending' and expires_at_ms > ${now} then 1 else 0 end)`.as('pending'),
      sql<number>`sum(case when status = 'approved' then 1 else 0 end)`.as('approved'),
      sql<number>`sum(case when status = 'rejected' then 1 else 0 end)`.as('rejected'),
      sql<number>`sum(case when status = 'expired' or (status = 'pending' and expires_at_ms <= ${now}) then 1 else 0 end)`.as('expired'),
      sql<number>`sum(case when status = 'withdrawn' then 1 else 0 end)`.as('withdrawn'),
    ])
    .executeTakeFirst();
  const counts = emptyCounts(APPROVAL_STATUSES);
  for (const status of APPROVAL_STATUSES) counts[status] = Number(row?.[status] ?? 0);
  return counts;
}

/** Grants the viewer holds or that its approver groups gave, matching the dataset and holder filters. */
function visibleGrants(db: Kysely<Tables>, viewer: Identity | undefined, filters: ListingFilters) {
  return db.selectFrom('grants').where((eb) => {
    const terms: Expression<SqlBool>[] = [];
    if (viewer) {
      const held = eb.and([eb('grants.issuer', '=', viewer.issuer), eb('grants.subject', '=', viewer.subject)]);
      const revokes = approverAmong('grants.approval_id', viewer.groups);
      terms.push(viewer.groups.length ? eb.or([held, revokes]) : held);
    }
    if (filters.dataset !== undefined) terms.push(readsDataset('grants.approval_id', filters.dataset));
    if (filters.requester !== undefined) terms.push(eb('grants.subject', '=', filters.requester));
    return terms.length ? eb.and(terms) : sql<SqlBool>`1 = 1`;
  });
}

export async function grantRows(db: Kysely<Tables>, listing: PageQuery) {
  const { now, cursor, filters } = listing;
  const backwards = cursor?.direction === 'prev';
  let query = visibleGrants(db, listing.viewer, filters).selectAll('grants');
  switch (filters.status) {
    case 'active':
      query = query.where('revoked_at_ms', 'is', null).where('consumed_at_ms', 'is', null).where('expires_at_ms', '>', now);
      break;
    case 'expired':
      query = query.where('revoked_at_ms', 'is', null).where('consumed_at_ms', 'is', null).where('expires_at_ms', '<=', now);
      break;
    case 'revoked':
      query = query.where('revoked_at_ms', 'is not', null);
      break;
    case 'consumed':
      query = query.where('revoked_at_ms', 'is', null).where('consumed_at_ms', 'is not', null);
      break;
  }
  if (cursor) query = query.where((eb) => afterCursor(eb, { created: 'grants.created_at_ms', id: 'grants.id' }, cursor));
  return query
    .orderBy('grants.created_at_ms', backwards ? 'asc' : 'desc')
    .orderBy('grants.id', backwards ? 'desc' : 'asc')
    .limit(listing.size + 1)
    .execute();
}

/** The viewer's grants per status, with the precedence of grantStatus (revoked, consumed, expired). */
export async function grantCounts(db: Kysely<Tables>, viewer: Identity | undefined, filters: ListingFilters, now: number): Promise<Record<GrantStatus, number>> {
  const row = await visibleGrants(db, viewer, filters)
    .select([
      sql<number>`sum(case when revoked_at_ms is null and consumed_at_ms is null and expires_at_ms > ${now} then 1 else 0 end)`.as('active'),
      sql<number>`sum(case when revoked_at_ms is null and consumed_at_ms is null and expires_at_ms <= ${now} then 1 else 0 end)`.as('expired'),
      sql<number>`sum(case when revoked_at_ms is not null then 1 else 0 end)`.as('revoked'),
      sql<number>`sum(case when revoked_at_ms is null and consumed_at_ms is not null then 1 else 0 end)`.as('consumed'),
    ])
    .executeTakeFirst();
  const counts = emptyCounts(GRANT_STATUSES);
  for (const status of GRANT_STATUSES) counts[status] = Number(row?.[status] ?? 0);
  return counts;
}
