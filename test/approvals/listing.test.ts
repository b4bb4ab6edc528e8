// Listings of requests and grants decided in SQL, on both engines: a flood of one agent's requests
// hides nobody else's, paging is exact and stable while requests keep arriving, counts are right,
// and a page token only continues the listing it was issued for.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApprovalStore, type ApprovalRequestView, type ApprovalStore, type ListRequestsOptions, type RequestPage } from '../../gateway/approvals/index.ts';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { migrations } from '../../gateway/store/migrations.ts';
import { storageTargets } from '../support/databases.ts';
import { agent, alice, bob, carol, financeAsk, person, reportingAgent, TestClock } from './support/fixtures.ts';
import { flood } from './support/flood.ts';

const floodingAgent = agent('flood-bot');
const quietAgent = agent('quiet-bot');
const marketingOwner = person('mo', ['marketing-owners']);
const FLOOD = 1000;

describe.each(storageTargets())('approval listings on $engine', ({ url }) => {
  let database: Database;
  let store: ApprovalStore;
  let clock: TestClock;

  beforeEach(async () => {
    database = await openDatabase(await url());
    clock = new TestClock();
    store = createApprovalStore({ database, publicUrl: 'https://sluice.acme.example', sweepIntervalMs: 0, now: clock.now });
  });

  afterEach(async () => {
    await store.close();
    await database.close();
  });

  /** Every page of a listing, following nextPageToken; the pages' ids in order. */
  async function everyPage(options: ListRequestsOptions): Promise<{ ids: string[]; pages: number }> {
    const ids: string[] = [];
    let pages = 0;
    let pageToken: string | undefined;
    do {
      const page = await store.listPage({ ...options, ...(pageToken && { pageToken }) });
      ids.push(...page.items.map((r) => r.id));
      pages++;
      pageToken = page.nextPageToken;
    } while (pageToken && pages < 100);
    return { ids, pages };
  }

  it("shows an approver the request it may decide on, first page, after another agent's flood", async () => {
    const quiet = await store.requestApproval(financeAsk(quietAgent, { now: clock.date() }));
    clock.advance(1);
    // Newer, many, and for other approvers and another dataset.
    const flooded = await flood(database, floodingAgent, FLOOD, {
      startMs: clock.ms,
      dataset: 'acme-analytics.marketing',
      approval: { approver_groups: ['marketing-owners'], scope: { kind: 'dataset', datasets: ['acme-analytics.marketing'] } },
    });
    clock.advance(10);

    const approverView = await store.listPage({ status: 'pending', visibleTo: alice });
    expect(approverView.items.map((r) => r.id)).toEqual([quiet.id]);
    expect(approverView.counts).toEqual({ pending: 1, approved: 0, rejected: 0, expired: 0, withdrawn: 0 });
    expect(approverView.nextPageToken).toBeUndefined();
    // The quiet agent lists its own request; the flood is not its to see.
    expect((await store.list({ visibleTo: quietAgent })).map((r) => r.id)).toEqual([quiet.id]);

    // The flooding agent pages through all of its own requests, each exactly once, newest first.
    const own = await everyPage({ visibleTo: floodingAgent, maxResults: 100 });
    expect(own.pages).toBe(10);
    expect(own.ids.length).toBe(FLOOD);
    expect(new Set(own.ids)).toEqual(new Set(flooded));
    const created = await Promise.all(own.ids.slice(0, 3).map(async (id) => (await store.get(id))!.createdAt));
    expect([...created].sort().reverse()).toEqual(created);
    // Their approver sees them, and filtering by dataset or requester narrows the listing in SQL.
    const marketing = await store.listPage({ visibleTo: marketingOwner, maxResults: 5 });
    expect(marketing.counts.pending).toBe(FLOOD);
    const both = person('bea', ['data-owners', 'marketing-owners']);
    expect((await store.list({ visibleTo: both, dataset: 'acme-analytics.finance' })).map((r) => r.id)).toEqual([quiet.id]);
    expect((await store.list({ visibleTo: both, requester: 'quiet-bot' })).map((r) => r.id)).toEqual([quiet.id]);
    expect((await store.listPage({ visibleTo: both, requester: 'flood-bot', maxResults: 1 })).counts.pending).toBe(FLOOD);
    expect(await store.list({ visibleTo: bob })).toEqual([]);
  });

  it('pages exactly and stably while new requests arrive, forwards and back', async () => {
    await flood(database, floodingAgent, 250, { startMs: clock.ms });
    clock.advance(60);
    const seen: string[] = [];
    let page = await store.listPage({ visibleTo: alice, status: 'pending', maxResults: 40 });
    const pages: RequestPage[] = [];
    for (;;) {
      pages.push(page);
      seen.push(...page.items.map((r) => r.id));
      // Someone files more while the approver pages: the pages already handed out do not move.
      await store.requestApproval(financeAsk(reportingAgent, { sql: `SELECT late_${pages.length} FROM \`acme-analytics.finance.ledger\``, now: clock.date() }));
      clock.advance(1);
      if (!page.nextPageToken) break;
      page = await store.listPage({ visibleTo: alice, status: 'pending', maxResults: 40, pageToken: page.nextPageToken });
    }
    expect(seen.length).toBe(250);
    expect(new Set(seen).size).toBe(250);
    expect(pages.map((p) => p.items.length)).toEqual([40, 40, 40, 40, 40, 40, 10]);
    expect(pages[0]!.prevPageToken).toBeUndefined();
    expect(pages.at(-1)!.nextPageToken).toBeUndefined();

    // Back from the third page is the second, then the first, whatever arrived meanwhile.
    const ids = (p: RequestPage) => p.items.map((r) => r.id);
    const second = await store.listPage({ visibleTo: alice, status: 'pending', maxResults: 40, pageToken: pages[2]!.prevPageToken! });
    expect(ids(second)).toEqual(ids(pages[1]!));
    const first = await store.listPage({ visibleTo: alice, status: 'pending', maxResults: 40, pageToken: second.prevPageToken! });
    expect(ids(first)).toEqual(ids(pages[0]!));
    // Newer requests arrived since: the first page of then now has a page before it.
    expect(first.prevPageToken).toBeDefined();
    const newest = await store.listPage({ visibleTo: alice, status: 'pending', maxResults: 40, pageToken: first.prevPageToken! });
    expect(newest.items.map((r) => r.sql.text)).toEqual([7, 6, 5, 4, 3, 2, 1].map((n) => `SELECT late_${n} FROM \`acme-analytics.finance.ledger\``));
    expect(newest.prevPageToken).toBeUndefined();
    expect(newest.counts.pending).toBe(257);
  });

  it('counts each status for the viewer, a lapsed pending request as expired', async () => {
    const asks = [];
    for (let i = 0; i < 6; i++) asks.push(await store.requestApproval(financeAsk(reportingAgent, { sql: `SELECT column_${i} FROM \`acme-analytics.finance.ledger\``, now: clock.date(), approval: { request_ttl_seconds: 600 * (i + 1) } })));
    await store.vote({ requestId: asks[5]!.id, approver: alice, vote: 'approve', comment: 'ok' });
    await store.vote({ requestId: asks[4]!.id, approver: carol, vote: 'reject', comment: 'no' });
    clock.advance(700); // asks[0] lapses; nobody swept it
    const counts = { pending: 3, approved: 1, rejected: 1, expired: 1, withdrawn: 0 };
    expect((await store.listPage({ visibleTo: alice })).counts).toEqual(counts);
    expect((await store.listPage({ visibleTo: reportingAgent, status: 'pending' })).counts).toEqual(counts);
    expect((await store.list({ visibleTo: alice, status: 'expired' })).map((r) => r.id)).toEqual([asks[0]!.id]);
    expect((await store.list({ visibleTo: alice, status: 'pending' })).map((r) => r.id).sort()).toEqual([asks[1]!.id, asks[2]!.id, asks[3]!.id].sort());
    expect((await store.listPage({ visibleTo: bob })).counts).toEqual({ pending: 0, approved: 0, rejected: 0, expired: 0, withdrawn: 0 });

    // Grants: the approver and the holder see the one grant, with its counts; others nothing.
    const grants = await store.listGrantsPage({ visibleTo: carol, status: 'all' });
    expect(grants.items.map((g) => g.approvalId)).toEqual([asks[5]!.id]);
    expect(grants.counts).toEqual({ active: 1, expired: 0, revoked: 0, consumed: 0 });
    expect((await store.listGrantsPage({ visibleTo: reportingAgent })).items).toHaveLength(1);
    expect((await store.listGrantsPage({ visibleTo: bob, status: 'all' })).counts).toEqual({ active: 0, expired: 0, revoked: 0, consumed: 0 });
    await store.revoke(grants.items[0]!.id, alice, 'done');
    expect((await store.listGrantsPage({ visibleTo: carol })).counts).toEqual({ active: 0, expired: 0, revoked: 1, consumed: 0 });
    expect(await store.listGrants({ visibleTo: carol, status: 'revoked', dataset: 'acme-analytics.finance' })).toHaveLength(1);
    expect(await store.listGrants({ visibleTo: carol, status: 'revoked', dataset: 'acme-analytics.sales' })).toHaveLength(0);
  });

  it('refuses a page token that is malformed, edited, or issued for another caller or filters', async () => {
    await flood(database, floodingAgent, 30, { startMs: clock.ms });
    const page = await store.listPage({ visibleTo: alice, maxResults: 10 });
    const token = page.nextPageToken!;
    const [version, direction, created, id, check] = JSON.parse(Buffer.from(token, 'base64url').toString()) as [number, string, number, string, string];
    const edited = Buffer.from(JSON.stringify([version, direction, created + 1_000_000, id, check])).toString('base64url');
    const refusals: [string, ListRequestsOptions][] = [
      ['garbage', { visibleTo: alice, maxResults: 10, pageToken: 'not-a-token' }],
      ['not base64url JSON', { visibleTo: alice, maxResults: 10, pageToken: 'e30' }],
      ['odd characters', { visibleTo: alice, maxResults: 10, pageToken: `${token}%00` }],
      ['too long', { visibleTo: alice, maxResults: 10, pageToken: 'A'.repeat(600) }],
      ['edited position', { visibleTo: alice, maxResults: 10, pageToken: edited }],
      ["another caller's", { visibleTo: bob, maxResults: 10, pageToken: token }],
      ['other filters', { visibleTo: alice, maxResults: 10, status: 'pending', pageToken: token }],
      ['another listing', { visibleTo: alice, maxResults: 10, pageToken: (await store.listGrantsPage({ visibleTo: alice, maxResults: 1 })).nextPageToken ?? Buffer.from('[1,"n",1,"grt_x","x"]').toString('base64url') }],
    ];
    for (const [what, options] of refusals) {
      await expect(store.listPage(options), what).rejects.toMatchObject({ code: 'invalid_request', httpStatus: 400 });
    }
    // The genuine token still works: the same caller and filters continue where they left off.
    const next = await store.listPage({ visibleTo: alice, maxResults: 10, pageToken: token });
    expect(next.items.map((r) => r.id).some((id) => page.items.some((r) => r.id === id))).toBe(false);
  });

  it('backfills the listing rows of requests filed before the listing tables existed', async () => {
    const before = await flood(database, quietAgent, 5, { startMs: clock.ms, index: false });
    expect(await store.list({ visibleTo: alice })).toEqual([]); // their rows are not indexed yet
    await database.db.schema.dropTable('approval_request_groups').execute();
    await database.db.schema.dropTable('approval_request_datasets').execute();
    for (const index of ['approval_requests_listing', 'approval_requests_requester', 'grants_listing']) await database.db.schema.dropIndex(index).execute();
    await migrations['0008_approval_listing']!.up(database.db);
    const listed: ApprovalRequestView[] = await store.list({ visibleTo: alice, dataset: 'acme-analytics.finance' });
    expect(listed.map((r) => r.id).sort()).toEqual([...before].sort());
  });
});
