// Many approval requests at once, written the way ApprovalStore.requestApproval writes one (the
// request row and its listing rows in one transaction), in a single transaction for speed.
import type { Identity } from '../../../engine/schema-types.ts';
import type { RequestApprovalArgs } from '../../../gateway/approvals/index.ts';
import { indexForListing } from '../../../gateway/approvals/listing.ts';
import { newRequestRow } from '../../../gateway/approvals/rows.ts';
import type { Database } from '../../../gateway/store/database.ts';
import type { ApprovalRequestRow } from '../../../gateway/store/tables.ts';
import { financeAsk, type AskOptions } from './fixtures.ts';

export interface FloodOptions extends AskOptions {
  /** created_at_ms of the first request; each next one is 1 ms later (some share a millisecond). */
  startMs: number;
  ttlMs?: number;
  /** The dataset (`project.dataset`) the statements read; default acme-analytics.finance. */
  dataset?: string;
  /** Also write the listing rows (true), or leave them out (a request filed before the listing tables existed). */
  index?: boolean;
}

export function requestRow(args: RequestApprovalArgs, createdMs: number, ttlMs: number): ApprovalRequestRow {
  return newRequestRow(args, args.decision.approval!, createdMs, ttlMs);
}

/** `count` pending requests of `identity`, each a statement of its own shape; returns their ids. */
export async function flood(database: Database, identity: Identity, count: number, options: FloodOptions): Promise<string[]> {
  const rows = Array.from({ length: count }, (_, i) => {
    const [project, dataset] = (options.dataset ?? 'acme-analytics.finance').split('.') as [string, string];
    const args = financeAsk(identity, { ...options, sql: `SELECT amount AS n${i} FROM \`${project}.${dataset}.ledger\`` });
    for (const statement of args.input.sql.statements) statement.tables = statement.tables.map((t) => ({ ...t, id: `${project}.${dataset}.${t.table}`, project, dataset }));
    // Two requests per millisecond: the id must break ties for paging to stay exact.
    return requestRow(args, options.startMs + Math.floor(i / 2), options.ttlMs ?? 86_400_000);
  });
  await database.db.transaction().execute(async (tx) => {
    for (let i = 0; i < rows.length; i += 200) await tx.insertInto('approval_requests').values(rows.slice(i, i + 200)).execute();
    if (options.index !== false) for (const row of rows) await indexForListing(tx, row);
  });
  return rows.map((r) => r.id);
}
