// Folds the audit trail's request records into the principal inventory (tables `principals`,
// `principal_datasets`), per stream, past a cursor kept in `principal_cursors`.
//
// Any process may fold (a gateway answering GET /principals, the CLI): each batch moves its
// stream's cursor with a compare-and-set as the first write of the transaction that adds the
// batch, so a batch is added by exactly one folder; a folder that lost the race rolls back and
// re-reads. Counts are added with atomic upserts, so folds of different streams (replicas) into
// one principal never lose an update.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { AuditRequestData } from '../../engine/schema-types.ts';
import type { Tables } from '../store/tables.ts';

/** Records read per transaction. */
const BATCH = 200;

export const OUTCOMES = ['allow', 'mask', 'approve', 'deny', 'refused', 'other'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What a request record counts as: its decision, or, without one, refused (an error status) or other. */
function outcomeOf(data: Pick<AuditRequestData, 'decision' | 'status'>): Outcome {
  return data.decision?.outcome ?? (data.status >= 400 ? 'refused' : 'other');
}

/** `project.dataset` of every table the request's statements read, for answered reads only. */
function datasetsOf(data: Pick<AuditRequestData, 'decision' | 'input'>): string[] {
  const outcome = data.decision?.outcome;
  if (outcome !== 'allow' && outcome !== 'mask') return [];
  const datasets = new Set<string>();
  for (const statement of data.input?.sql.statements ?? []) for (const table of statement.tables) datasets.add(`${table.project}.${table.dataset}`);
  return [...datasets].sort();
}

interface Delta {
  issuer: string;
  subject: string;
  kind: 'agent' | 'human' | null;
  groups: string[];
  first: number;
  last: number;
  counts: Record<Outcome, number>;
  datasets: Map<string, { requests: number; last: number }>;
}

/** Folds every record committed so far; returns how many request records were added. */
export async function foldPrincipals(db: Kysely<Tables>, now: () => number = Date.now): Promise<number> {
  let added = 0;
  for (const stream of await streams(db)) {
    const head = (await db.selectFrom('audit_records').select((eb) => eb.fn.max('seq').as('head')).where('stream', '=', stream).executeTakeFirst())?.head ?? 0;
    await db.insertInto('principal_cursors').values({ stream, seq: 0, updated_at_ms: now() }).onConflict((oc) => oc.column('stream').doNothing()).execute();
    for (;;) {
      const cursor = Number((await db.selectFrom('principal_cursors').select('seq').where('stream', '=', stream).executeTakeFirstOrThrow()).seq);
      if (cursor >= Number(head)) break;
      // Seqs of a stream are committed in order, so everything up to its head is there.
      const to = Math.min(Number(head), cursor + BATCH);
      const rows = await db
        .selectFrom('audit_records')
        .select(['at_ms', 'body'])
        .where('stream', '=', stream)
        .where('seq', '>', cursor)
        .where('seq', '<=', to)
        .where('kind', '=', 'request')
        .execute();
      const deltas = collect(rows.map((r) => ({ atMs: Number(r.at_ms), data: (JSON.parse(r.body) as { data: AuditRequestData }).data })));
      const won = await db.transaction().execute(async (trx) => {
        const moved = await trx
          .updateTable('principal_cursors')
          .set({ seq: to, updated_at_ms: now() })
          .where('stream', '=', stream)
          .where('seq', '=', cursor)
          .executeTakeFirst();
        if (Number(moved.numUpdatedRows) !== 1) return false;
        for (const delta of deltas.values()) await apply(trx, delta);
        return true;
      });
      if (won) added += rows.length;
    }
  }
  return added;
}

/**
 * The trail's streams, one index probe each (a loose index scan on the (stream, seq) key): a
 * GROUP BY would read every record on each fold.
 */
async function streams(db: Kysely<Tables>): Promise<string[]> {
  const { rows } = await sql<{ stream: string }>`
    WITH RECURSIVE s(stream) AS (
      SELECT MIN(stream) FROM audit_records
      UNION ALL
      SELECT (SELECT MIN(stream) FROM audit_records WHERE stream > s.stream) FROM s WHERE s.stream IS NOT NULL
    )
    SELECT stream FROM s WHERE stream IS NOT NULL`.execute(db);
  return rows.map((r) => r.stream);
}

function collect(records: { atMs: number; data: AuditRequestData }[]): Map<string, Delta> {
  const deltas = new Map<string, Delta>();
  for (const { atMs, data } of records) {
    const { issuer, subject } = data.identity;
    // A call refused before its token was checked has no identity to count it against.
    if (!issuer) continue;
    const key = JSON.stringify([issuer, subject]);
    let d = deltas.get(key);
    if (!d) {
      d = { issuer, subject, kind: data.identity.kind, groups: data.identity.groups, first: atMs, last: atMs, counts: { allow: 0, mask: 0, approve: 0, deny: 0, refused: 0, other: 0 }, datasets: new Map() };
      deltas.set(key, d);
    }
    if (atMs < d.first) d.first = atMs;
    if (atMs >= d.last) {
      d.last = atMs;
      d.kind = data.identity.kind;
      d.groups = data.identity.groups;
    }
    d.counts[outcomeOf(data)]++;
    for (const dataset of datasetsOf(data)) {
      const used = d.datasets.get(dataset) ?? { requests: 0, last: atMs };
      used.requests++;
      used.last = Math.max(used.last, atMs);
      d.datasets.set(dataset, used);
    }
  }
  return deltas;
}

async function apply(trx: Transaction<Tables>, d: Delta): Promise<void> {
  const newer = sql<boolean>`excluded.last_seen_ms >= principals.last_seen_ms`;
  await trx
    .insertInto('principals')
    .values({
      issuer: d.issuer,
      subject: d.subject,
      kind: d.kind,
      groups: JSON.stringify([...d.groups].sort()),
      first_seen_ms: d.first,
      last_seen_ms: d.last,
      allow_count: d.counts.allow,
      mask_count: d.counts.mask,
      approve_count: d.counts.approve,
      deny_count: d.counts.deny,
      refused_count: d.counts.refused,
      other_count: d.counts.other,
    })
    .onConflict((oc) =>
      oc.columns(['issuer', 'subject']).doUpdateSet({
        // Every right-hand side reads the row as it was before this update.
        kind: sql`CASE WHEN ${newer} THEN excluded.kind ELSE principals.kind END`,
        groups: sql`CASE WHEN ${newer} THEN excluded.groups ELSE principals.groups END`,
        first_seen_ms: sql`CASE WHEN excluded.first_seen_ms < principals.first_seen_ms THEN excluded.first_seen_ms ELSE principals.first_seen_ms END`,
        last_seen_ms: sql`CASE WHEN ${newer} THEN excluded.last_seen_ms ELSE principals.last_seen_ms END`,
        allow_count: sql`principals.allow_count + excluded.allow_count`,
        mask_count: sql`principals.mask_count + excluded.mask_count`,
        approve_count: sql`principals.approve_count + excluded.approve_count`,
        deny_count: sql`principals.deny_count + excluded.deny_count`,
        refused_count: sql`principals.refused_count + excluded.refused_count`,
        other_count: sql`principals.other_count + excluded.other_count`,
      }),
    )
    .execute();
  for (const [dataset, used] of d.datasets) {
    await trx
      .insertInto('principal_datasets')
      .values({ issuer: d.issuer, subject: d.subject, dataset, requests: used.requests, last_seen_ms: used.last })
      .onConflict((oc) =>
        oc.columns(['issuer', 'subject', 'dataset']).doUpdateSet({
          requests: sql`principal_datasets.requests + excluded.requests`,
          last_seen_ms: sql`CASE WHEN excluded.last_seen_ms > principal_datasets.last_seen_ms THEN excluded.last_seen_ms ELSE principal_datasets.last_seen_ms END`,
        }),
      )
      .execute();
  }
}
