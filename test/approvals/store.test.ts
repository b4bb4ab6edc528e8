import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { ApprovalError, approvalRequestsOf, createApprovalStore, grantSourceOf, oneTimeGrantsUsed, type ApprovalStore, type ApprovalStoreOptions } from '../../gateway/approvals/index.ts';
import { storageTargets } from '../support/databases.ts';
import { LEDGER_SQL, TestClock, agent, alice, bob, bytesAsk, carol, financeAsk, person, recorder, reportingAgent } from './support/fixtures.ts';

const PUBLIC_URL = 'https://sluice.acme-analytics.example';

describe.each(storageTargets())('approval workflow on $engine', ({ engine, url }) => {
  const opened: Database[] = [];
  const stores: ApprovalStore[] = [];

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    await Promise.all(opened.splice(0).map((d) => d.close()));
  });

  const connections = new Map<string, Database>();

  /**
   * A gateway replica: its own store, and on PostgreSQL its own connection pool. SQLite serves one
   * gateway process: its replicas here share the process's connection, as concurrent requests do.
   */
  async function replica(storageUrl: string, options: Partial<ApprovalStoreOptions> = {}) {
    const shared = engine === 'sqlite' ? connections.get(storageUrl) : undefined;
    const database = shared && opened.includes(shared) ? shared : await openDatabase(storageUrl);
    connections.set(storageUrl, database);
    if (!opened.includes(database)) opened.push(database);
    const events = recorder();
    const store = createApprovalStore({ database, publicUrl: PUBLIC_URL, onEvent: events.listener, sweepIntervalMs: 0, ...options });
    stores.push(store);
    return { database, store, events };
  }

  async function expectRefusal(promise: Promise<unknown>, code: string): Promise<void> {
    const error = await promise.then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(ApprovalError);
    expect((error as ApprovalError).code).toBe(code);
  }

  it('records a pending request with everything an approver needs, and reuses it for the same ask', async () => {
    const clock = new TestClock();
    const { store, events } = await replica(await url(), { now: clock.now });
    const ask = financeAsk(reportingAgent, { now: clock.date() });

    const first = await store.requestApproval(ask);
    expect(first).toMatchObject({ status: 'pending', reused: false, approveUrl: `${PUBLIC_URL}/approve/requests/${first.id}` });
    expect(first.id).toMatch(/^apr_[0-9a-f]{32}$/);
    expect(first.expiresAt).toBe(new Date(clock.ms + 86_400_000).toISOString());

    const view = await store.get(first.id);
    expect(view).toMatchObject({
      status: 'pending',
      requester: { subject: 'reporting-agent', issuer: reportingAgent.issuer, kind: 'agent', groups: ['agents'] },
      sql: { text: LEDGER_SQL, hash: ask.sqlHash },
      tables: ['acme-analytics.finance.ledger'],
      estimatedBytes: 3_221_225_472,
      approverGroups: ['data-owners'],
      minApprovals: 1,
      grantTtlSeconds: 3600,
      oneTime: false,
      scope: { kind: 'dataset', datasets: ['acme-analytics.finance'] },
      createdAt: clock.date().toISOString(),
      decidedAt: null,
      grantId: null,
      votes: [],
    });
    expect(view?.reasons.map((r) => r.code)).toEqual(['approval_required']);

    clock.advance(60);
    const again = await store.requestApproval(financeAsk(reportingAgent, { now: clock.date() }));
    expect(again).toMatchObject({ id: first.id, reused: true, status: 'pending' });

    // A different statement, another identity, a different proposed scope: separate requests.
    const otherSql = await store.requestApproval(financeAsk(reportingAgent, { sql: 'SELECT COUNT(*) FROM `acme-analytics.finance.ledger`' }));
    const otherAgent = await store.requestApproval(financeAsk(agent('analyst-bot', ['analysts'])));
    const otherScope = await store.requestApproval(bytesAsk(reportingAgent));
    // The policy now asks for two approvals: a new request, not the one raised under weaker terms.
    const stricter = await store.requestApproval(financeAsk(reportingAgent, { approval: { min_approvals: 2 } }));
    expect(new Set([first.id, otherSql.id, otherAgent.id, otherScope.id, stricter.id]).size).toBe(5);

    expect(events.actions()).toEqual(['requested', 'reused', 'requested', 'requested', 'requested', 'requested']);
    expect(events.events[0]).toMatchObject({
      kind: 'approval',
      action: 'requested',
      requestId: first.id,
      actor: { subject: 'reporting-agent', kind: 'agent' },
      request: { id: first.id, tables: ['acme-analytics.finance.ledger'], approveUrl: first.approveUrl },
    });
    expect((await store.list({ status: 'pending' })).map((r) => r.id).sort()).toEqual([first.id, otherSql.id, otherAgent.id, otherScope.id, stricter.id].sort());
  });

  it('refuses to record a request the decision does not ask for', async () => {
    const { store } = await replica(await url());
    const ask = financeAsk(reportingAgent);
    await expectRefusal(store.requestApproval({ ...ask, decision: { ...ask.decision, outcome: 'allow' } }), 'invalid_request');
    await expectRefusal(store.requestApproval({ ...ask, sqlHash: 'f'.repeat(64) }), 'invalid_request');
    await expectRefusal(store.requestApproval({ ...ask, identity: agent('someone-else') }), 'invalid_request');
    const noGroups = { ...ask.decision.approval!, approver_groups: [] as unknown as [string] };
    await expectRefusal(store.requestApproval({ ...ask, decision: { ...ask.decision, approval: noGroups } }), 'invalid_request');
    expect(await store.list()).toEqual([]);
  });

  it('an approval by a member of the approver groups creates the grant the engine then sees', async () => {
    const clock = new TestClock();
    const { store, events } = await replica(await url(), { now: clock.now });
    const { id } = await store.requestApproval(financeAsk(reportingAgent));
    expect(await store.activeGrants(reportingAgent, clock.date())).toEqual([]);

    clock.advance(120);
    const { request, grant } = await store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'quarter-end close' });
    expect(request).toMatchObject({ status: 'approved', decidedAt: clock.date().toISOString(), grantId: grant?.id });
    expect(request.votes).toEqual([
      { approver: { subject: 'alice', issuer: alice.issuer }, vote: 'approve', comment: 'quarter-end close', at: clock.date().toISOString() },
    ]);
    expect(grant).toMatchObject({
      status: 'active',
      subject: 'reporting-agent',
      issuer: reportingAgent.issuer,
      scope: { kind: 'dataset', datasets: ['acme-analytics.finance'] },
      oneTime: false,
      approvalId: id,
      expiresAt: new Date(clock.ms + 3_600_000).toISOString(),
    });
    expect(grant!.id).toMatch(/^grt_[0-9a-f]{32}$/);

    expect(await store.activeGrants(reportingAgent, clock.date())).toEqual([
      { id: grant!.id, subject: 'reporting-agent', scope: { kind: 'dataset', datasets: ['acme-analytics.finance'] }, expires_at: Math.floor(clock.ms / 1000) + 3600 },
    ]);
    // Only the identity it was issued to, from the same issuer.
    expect(await store.activeGrants(agent('reporting-agent', ['agents'], 'https://other-idp.example'), clock.date())).toEqual([]);
    expect(await store.activeGrants(agent('analyst-bot'), clock.date())).toEqual([]);

    expect(events.actions()).toEqual(['requested', 'voted', 'approved']);
    expect(events.events[2]).toMatchObject({ action: 'approved', requestId: id, grantId: grant!.id, actor: { subject: 'alice', kind: 'human' } });

    // A new ask after the grant exists starts a new request rather than reviving the old one.
    const next = await store.requestApproval(financeAsk(reportingAgent));
    expect(next.id).not.toBe(id);
  });

  it('needs min_approvals distinct approvers; a reject ends the request', async () => {
    const { store, events } = await replica(await url());
    const twoNeeded = await store.requestApproval(financeAsk(reportingAgent, { approval: { min_approvals: 2 } }));
    const first = await store.vote({ requestId: twoNeeded.id, approver: alice, vote: 'approve', comment: 'ok' });
    expect(first).toEqual({ request: expect.objectContaining({ status: 'pending', grantId: null }) });
    await expectRefusal(store.vote({ requestId: twoNeeded.id, approver: alice, vote: 'approve', comment: 'me again' }), 'already_voted');
    expect((await store.get(twoNeeded.id))?.status).toBe('pending');
    const second = await store.vote({ requestId: twoNeeded.id, approver: carol, vote: 'approve', comment: 'agreed' });
    expect(second.request.status).toBe('approved');
    expect(second.request.votes.map((v) => v.approver.subject)).toEqual(['alice', 'carol']);

    const rejected = await store.requestApproval(financeAsk(agent('analyst-bot', ['analysts'])));
    const result = await store.vote({ requestId: rejected.id, approver: alice, vote: 'reject', comment: 'not for bots' });
    expect(result.request).toMatchObject({ status: 'rejected', grantId: null });
    expect(result.grant).toBeUndefined();
    await expectRefusal(store.vote({ requestId: rejected.id, approver: carol, vote: 'approve', comment: 'late' }), 'not_pending');
    expect(await store.activeGrants(agent('analyst-bot', ['analysts']))).toEqual([]);
    expect(events.actions()).toEqual([
      'requested', 'voted', 'refused:already_voted', 'voted', 'approved',
      'requested', 'voted', 'rejected', 'refused:not_pending',
    ]);
  });

  it('refuses a vote or a revocation from a member of an agent group the approval names, whatever kind its token says', async () => {
    const { store, events } = await replica(await url());
    const { id } = await store.requestApproval(financeAsk(reportingAgent, { approval: { agent_groups: ['agents'] } }));
    // A token of kind human, in the approver group and in the agent group: the policy's agent.
    const ownerBot = person('owner-bot', ['data-owners', 'agents']);
    await expectRefusal(store.vote({ requestId: id, approver: ownerBot, vote: 'approve', comment: 'auto' }), 'not_human');
    expect(events.events.filter((e) => e.action === 'refused').map((e) => [e.error?.code, e.actor?.subject])).toEqual([['not_human', 'owner-bot']]);
    expect((await store.get(id))?.status).toBe('pending');
    await store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'fine' });
    const approved = await store.get(id);
    expect(approved?.status).toBe('approved');
    // Nor does it revoke the grant, as the approver groups may.
    await expectRefusal(store.revoke(approved!.grantId!, ownerBot), 'not_an_approver');
    // Filed before the policy named its agent groups: an ask naming them files a request of its own.
    const { id: older } = await store.requestApproval(financeAsk(reportingAgent, { sql: 'SELECT 1 AS x FROM `acme-analytics.finance.ledger`' }));
    const stricter = await store.requestApproval(financeAsk(reportingAgent, { sql: 'SELECT 1 AS x FROM `acme-analytics.finance.ledger`', approval: { agent_groups: ['agents'] } }));
    expect(stricter.id).not.toBe(older);
  });

  it('refuses self-approval, outsiders, agents, expired requests and second votes, and emits each refusal', async () => {
    const clock = new TestClock();
    const { store, events } = await replica(await url(), { now: clock.now });
    // A person in data-owners asking for their own access.
    const dave = person('dave', ['data-owners']);
    const own = await store.requestApproval(financeAsk(dave));
    await expectRefusal(store.vote({ requestId: own.id, approver: dave, vote: 'approve', comment: 'trust me' }), 'self_approval');

    const { id } = await store.requestApproval(financeAsk(reportingAgent, { approval: { min_approvals: 2 } }));
    await expectRefusal(store.vote({ requestId: id, approver: bob, vote: 'approve', comment: 'looks fine' }), 'not_an_approver');
    await expectRefusal(store.vote({ requestId: id, approver: agent('owner-bot', ['data-owners']), vote: 'approve', comment: 'auto' }), 'not_human');
    await expectRefusal(store.vote({ requestId: id, approver: alice, vote: 'approve', comment: '   ' }), 'invalid_request');
    await expectRefusal(store.vote({ requestId: 'apr_missing', approver: alice, vote: 'approve', comment: 'x' }), 'not_found');
    await store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'fine' });
    await expectRefusal(store.vote({ requestId: id, approver: alice, vote: 'reject', comment: 'changed my mind' }), 'already_voted');
    // Same subject from another issuer is another person.
    await store.vote({ requestId: id, approver: person('alice', ['data-owners'], 'https://other-idp.example'), vote: 'reject', comment: 'no' });
    expect((await store.get(id))?.status).toBe('rejected');

    const late = await store.requestApproval(financeAsk(agent('engineer-bot'), { approval: { request_ttl_seconds: 60 } }));
    clock.advance(61);
    expect((await store.get(late.id))?.status).toBe('expired');
    await expectRefusal(store.vote({ requestId: late.id, approver: alice, vote: 'approve', comment: 'sorry, late' }), 'expired');
    await expectRefusal(store.vote({ requestId: late.id, approver: carol, vote: 'approve', comment: 'me too' }), 'not_pending');
    expect(await store.activeGrants(agent('engineer-bot'), clock.date())).toEqual([]);

    const refusals = events.events.filter((e) => e.action === 'refused');
    expect(refusals.map((e) => [e.error?.code, e.actor?.subject, e.operation])).toEqual([
      ['self_approval', 'dave', 'vote'],
      ['not_an_approver', 'bob', 'vote'],
      ['not_human', 'owner-bot', 'vote'],
      ['invalid_request', 'alice', 'vote'],
      ['not_found', 'alice', 'vote'],
      ['already_voted', 'alice', 'vote'],
      ['expired', 'alice', 'vote'],
      ['not_pending', 'carol', 'vote'],
    ]);
    expect(refusals[0]).toMatchObject({ kind: 'approval', requestId: own.id, vote: 'approve', comment: 'trust me' });
    expect(events.events.filter((e) => e.action === 'expired').map((e) => e.requestId)).toEqual([late.id]);
    // Refused votes were not recorded.
    expect((await store.get(id))?.votes.map((v) => v.approver.issuer)).toEqual([alice.issuer, 'https://other-idp.example']);
  });

  it('lets a grant lapse at its TTL and an unanswered request at its deadline', async () => {
    const clock = new TestClock();
    const { store, events } = await replica(await url(), { now: clock.now });
    const { id } = await store.requestApproval(financeAsk(reportingAgent, { approval: { grant_ttl_seconds: 30, request_ttl_seconds: 600 } }));
    const { grant } = await store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'half a minute' });
    clock.advance(29);
    expect((await store.activeGrants(reportingAgent, clock.date())).map((g) => g.id)).toEqual([grant!.id]);
    clock.advance(1);
    expect(await store.activeGrants(reportingAgent, clock.date())).toEqual([]);
    expect((await store.getGrant(grant!.id))?.status).toBe('expired');
    expect(await store.listGrants()).toEqual([]);
    expect((await store.listGrants({ status: 'all' })).map((g) => g.status)).toEqual(['expired']);

    const waiting = await store.requestApproval(financeAsk(agent('analyst-bot'), { approval: { request_ttl_seconds: 10 } }));
    clock.advance(11);
    expect(await store.list({ status: 'pending' })).toEqual([]);
    expect((await store.list({ status: 'expired' })).map((r) => r.id)).toEqual([waiting.id]);
    expect(await store.expireDue()).toBe(1);
    expect(await store.expireDue()).toBe(0);
    // The lapsed request is not reused: asking again starts over.
    const again = await store.requestApproval(financeAsk(agent('analyst-bot'), { approval: { request_ttl_seconds: 10 } }));
    expect(again).toMatchObject({ reused: false });
    expect(again.id).not.toBe(waiting.id);
    expect(events.actions().filter((a) => a === 'expired')).toHaveLength(1);
  });

  it('expires a short-lived grant in real time', async () => {
    const { store } = await replica(await url());
    const { id } = await store.requestApproval(financeAsk(reportingAgent, { approval: { grant_ttl_seconds: 1 } }));
    await store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'one second' });
    expect(await store.activeGrants(reportingAgent)).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await store.activeGrants(reportingAgent)).toEqual([]);
  });

  it('revocation takes effect at once and only approvers or the holder may revoke', async () => {
    const { store, events } = await replica(await url());
    const { id } = await store.requestApproval(financeAsk(reportingAgent));
    const { grant } = await store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'ok' });
    await expectRefusal(store.revoke(grant!.id, bob), 'not_an_approver');
    await expectRefusal(store.revoke(grant!.id, agent('owner-bot', ['data-owners'])), 'not_an_approver');
    await expectRefusal(store.revoke('grt_missing', alice), 'grant_not_found');
    expect(await store.activeGrants(reportingAgent)).toHaveLength(1);

    const revoked = await store.revoke(grant!.id, carol, 'incident 42');
    expect(revoked).toMatchObject({ status: 'revoked', revokedBy: 'carol' });
    expect(await store.activeGrants(reportingAgent)).toEqual([]);
    await expectRefusal(store.revoke(grant!.id, alice), 'already_revoked');

    // The holder may give its own grant up.
    const second = await store.requestApproval(financeAsk(reportingAgent));
    const { grant: other } = await store.vote({ requestId: second.id, approver: alice, vote: 'approve', comment: 'again' });
    expect((await store.revoke(other!.id, reportingAgent)).status).toBe('revoked');
    expect(events.events.filter((e) => e.action === 'grant_revoked').map((e) => [e.grantId, e.actor?.subject, e.comment])).toEqual([
      [grant!.id, 'carol', 'incident 42'],
      [other!.id, 'reporting-agent', undefined],
    ]);
    expect(events.actions().filter((a) => a.startsWith('refused'))).toEqual([
      'refused:not_an_approver', 'refused:not_an_approver', 'refused:grant_not_found', 'refused:already_revoked',
    ]);
  });

  it('shows requests and grants only to their requester and their approvers', async () => {
    const { store } = await replica(await url());
    const { id } = await store.requestApproval(financeAsk(reportingAgent));
    await store.requestApproval(financeAsk(agent('analyst-bot')));
    expect((await store.list({ visibleTo: alice })).length).toBe(2);
    expect((await store.list({ visibleTo: reportingAgent })).map((r) => r.id)).toEqual([id]);
    expect(await store.list({ visibleTo: bob })).toEqual([]);
    const { grant } = await store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'ok' });
    expect((await store.listGrants({ visibleTo: carol })).map((g) => g.id)).toEqual([grant!.id]);
    expect((await store.listGrants({ visibleTo: reportingAgent })).map((g) => g.id)).toEqual([grant!.id]);
    expect(await store.listGrants({ visibleTo: bob })).toEqual([]);
  });

  it('consumes a one-time grant exactly once when two replicas race for it', async () => {
    const storageUrl = await url();
    const a = await replica(storageUrl);
    const b = await replica(storageUrl);
    for (let round = 0; round < 5; round++) {
      const sql = `${LEDGER_SQL} LIMIT ${round + 1}`;
      const { id } = await a.store.requestApproval(bytesAsk(reportingAgent, sql));
      const { grant } = await b.store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'one run' });
      expect(grant).toMatchObject({ oneTime: true, scope: { kind: 'statement' } });
      const engineGrants = await a.store.activeGrants(reportingAgent);
      expect(engineGrants.find((g) => g.id === grant!.id)).toMatchObject({ one_time: true });

      const results = await Promise.allSettled([
        a.store.consumeOneTime([grant!.id], `req-a-${round}`),
        b.store.consumeOneTime([grant!.id], `req-b-${round}`),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const loser = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(loser.reason).toBeInstanceOf(ApprovalError);
      expect(loser.reason.code).toBe('grant_unavailable');
      expect(await a.store.activeGrants(reportingAgent)).toEqual([]);
      const spent = await b.store.getGrant(grant!.id);
      expect(spent?.status).toBe('consumed');
      expect([`req-a-${round}`, `req-b-${round}`]).toContain(spent?.consumedBy);
    }
    const consumed = [...a.events.events, ...b.events.events].filter((e) => e.action === 'grant_consumed');
    const refused = [...a.events.events, ...b.events.events].filter((e) => e.action === 'refused' && e.operation === 'consume');
    expect(consumed).toHaveLength(5);
    expect(refused).toHaveLength(5);
    expect(refused[0]).toMatchObject({ error: { code: 'grant_unavailable' } });
  });

  it('consumes a one-time grant exactly once when replica processes race for it', async () => {
    const storageUrl = await url();
    const { store } = await replica(storageUrl);
    const { id } = await store.requestApproval(bytesAsk(reportingAgent));
    const { grant } = await store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'one run' });
    const worker = join(import.meta.dirname, 'support', 'consume-worker.ts');
    const startAt = String(Date.now() + 2500); // after every process has started and connected
    const outcomes = await Promise.all(
      ['p1', 'p2', 'p3', 'p4'].map(async (label) => (await promisify(execFile)(process.execPath, [worker, storageUrl, grant!.id, label, startAt])).stdout),
    );
    expect(outcomes.sort()).toEqual(['grant_unavailable', 'grant_unavailable', 'grant_unavailable', 'won']);
    expect((await store.getGrant(grant!.id))?.status).toBe('consumed');
  });

  it('consumes all or none of several one-time grants, and never a reusable, revoked or expired one', async () => {
    const clock = new TestClock();
    const { store } = await replica(await url(), { now: clock.now });
    const one = await store.requestApproval(bytesAsk(reportingAgent, `${LEDGER_SQL} LIMIT 1`));
    const two = await store.requestApproval(bytesAsk(reportingAgent, `${LEDGER_SQL} LIMIT 2`));
    const reusable = await store.requestApproval(financeAsk(reportingAgent));
    const g1 = (await store.vote({ requestId: one.id, approver: alice, vote: 'approve', comment: 'a' })).grant!;
    const g2 = (await store.vote({ requestId: two.id, approver: alice, vote: 'approve', comment: 'b' })).grant!;
    const g3 = (await store.vote({ requestId: reusable.id, approver: alice, vote: 'approve', comment: 'c' })).grant!;

    await expect(store.consumeOneTime([g1.id, g3.id], 'req-1')).rejects.toMatchObject({ code: 'grant_unavailable' });
    expect((await store.getGrant(g1.id))?.status).toBe('active'); // rolled back
    await store.revoke(g2.id, alice);
    await expect(store.consumeOneTime([g1.id, g2.id], 'req-2')).rejects.toMatchObject({ code: 'grant_unavailable' });
    expect((await store.getGrant(g1.id))?.status).toBe('active');
    clock.advance(3601);
    await expect(store.consumeOneTime([g1.id], 'req-3')).rejects.toMatchObject({ code: 'grant_unavailable' });
    await store.consumeOneTime([], 'req-4'); // nothing to spend
  });

  it('names the one-time grants a decision relied on', () => {
    const grants = [
      { id: 'grt_reusable', subject: 's', scope: { kind: 'dataset' as const, datasets: ['p.d'] }, expires_at: 9e9 },
      { id: 'grt_once', subject: 's', scope: { kind: 'statement' as const, statement_hash: 'h' }, expires_at: 9e9, one_time: true },
      { id: 'grt_unused', subject: 's', scope: { kind: 'statement' as const, statement_hash: 'x' }, expires_at: 9e9, one_time: true },
    ];
    const reasons = [
      { code: 'grant_used', message: 'grant grt_reusable (scope dataset) allows statement 0 to read p.d.t', grant: 'grt_reusable' },
      { code: 'grant_used', message: 'grant grt_once (scope statement) allows scanning 21474836480 bytes', grant: 'grt_once' },
      // The message is prose: only the `grant` field names what was used.
      { code: 'pii_masked', message: 'not grant grt_unused' },
    ];
    expect(oneTimeGrantsUsed({ outcome: 'allow', reasons }, grants)).toEqual(['grt_once']);
    expect(oneTimeGrantsUsed({ outcome: 'mask', reasons }, grants)).toEqual(['grt_once']);
    expect(oneTimeGrantsUsed({ outcome: 'deny', reasons }, grants)).toEqual([]);
  });

  it('settles concurrent asks and concurrent votes from two replicas', async () => {
    const storageUrl = await url();
    const a = await replica(storageUrl);
    const b = await replica(storageUrl);
    for (let round = 0; round < 3; round++) {
      const requester = agent(`bot-${round}`);
      const [x, y] = await Promise.all([a.store.requestApproval(financeAsk(requester)), b.store.requestApproval(financeAsk(requester))]);
      expect(x.id).toBe(y.id);
      expect([x.reused, y.reused].sort()).toEqual([false, true]);

      // Two approvals needed, both arrive at once on different replicas: exactly one grant.
      const { id } = await a.store.requestApproval(financeAsk(requester, { approval: { min_approvals: 2 }, sql: `${LEDGER_SQL} -- ${round}` }));
      const votes = await Promise.all([
        a.store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'a' }),
        b.store.vote({ requestId: id, approver: carol, vote: 'approve', comment: 'c' }),
      ]);
      expect(votes.filter((v) => v.grant)).toHaveLength(1);
      expect((await a.store.get(id))?.status).toBe('approved');
      expect(await b.store.activeGrants(requester)).toHaveLength(1);

      // The same approver twice at once, on both replicas: counted once.
      const { id: twice } = await a.store.requestApproval(financeAsk(requester, { approval: { min_approvals: 2 }, sql: `${LEDGER_SQL} -- twice ${round}` }));
      const settled = await Promise.allSettled([
        a.store.vote({ requestId: twice, approver: alice, vote: 'approve', comment: 'a' }),
        b.store.vote({ requestId: twice, approver: alice, vote: 'approve', comment: 'a' }),
      ]);
      expect(settled.filter((s) => s.status === 'rejected').map((s) => (s as PromiseRejectedResult).reason.code)).toEqual(['already_voted']);
      expect((await b.store.get(twice))?.votes).toHaveLength(1);
      expect((await b.store.get(twice))?.status).toBe('pending');
    }
    // Two replicas sweeping at once announce each expiry once.
    const clock = new TestClock(Date.now() + 10 * 86_400_000);
    const c = await replica(storageUrl, { now: clock.now });
    const d = await replica(storageUrl, { now: clock.now });
    const [n1, n2] = await Promise.all([c.store.expireDue(), d.store.expireDue()]);
    expect(n1 + n2).toBe(6); // per round, the first ask and the `twice` request are still pending
    expect(c.events.actions().length + d.events.actions().length).toBe(6);
  });

  it('serves the enforcement pipeline through its grant source and approval-request seams', async () => {
    const clock = new TestClock();
    const { store } = await replica(await url(), { now: clock.now });
    const ask = financeAsk(reportingAgent);
    const ticket = await approvalRequestsOf(store).open({
      identity: ask.identity,
      project: 'acme-analytics',
      sqlHash: ask.sqlHash,
      sql: ask.sqlText,
      approval: ask.decision.approval!,
      reasons: ask.decision.reasons,
      input: ask.input,
      decision: { ...ask.decision, outcome: 'approve', masks: [] },
      now: clock.date(),
    });
    expect(ticket).toEqual({ id: expect.stringMatching(/^apr_/), url: `${PUBLIC_URL}/approve/requests/${ticket.id}`, expiresAt: Math.floor(clock.ms / 1000) + 86_400 });
    expect(await grantSourceOf(store).active(reportingAgent, clock.date())).toEqual([]);
    await store.vote({ requestId: ticket.id, approver: alice, vote: 'approve', comment: 'ok' });
    expect(await grantSourceOf(store).active(reportingAgent, clock.date())).toEqual(await store.activeGrants(reportingAgent, clock.date()));
    expect(await grantSourceOf(store).active(reportingAgent, clock.date())).toHaveLength(1);
  });

  it('keeps pending requests and grants across a restart', async () => {
    const storageUrl = await url();
    const first = await replica(storageUrl);
    const pending = await first.store.requestApproval(financeAsk(reportingAgent));
    const decided = await first.store.requestApproval(bytesAsk(agent('analyst-bot')));
    const { grant } = await first.store.vote({ requestId: decided.id, approver: alice, vote: 'approve', comment: 'ok' });
    await first.store.close();
    await first.database.close();
    opened.splice(opened.indexOf(first.database), 1);

    const second = await replica(storageUrl);
    expect((await second.store.list({ status: 'pending' })).map((r) => r.id)).toEqual([pending.id]);
    expect((await second.store.activeGrants(agent('analyst-bot'))).map((g) => g.id)).toEqual([grant!.id]);
    const again = await second.store.requestApproval(financeAsk(reportingAgent));
    expect(again).toMatchObject({ id: pending.id, reused: true });
    const { grant: after } = await second.store.vote({ requestId: pending.id, approver: carol, vote: 'approve', comment: 'after restart' });
    expect(await second.store.activeGrants(reportingAgent)).toEqual([expect.objectContaining({ id: after!.id })]);
  });
});
