import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../gateway/store/database.ts';
import { createApprovalStore, type ApprovalEvent } from '../../gateway/approvals/index.ts';
import { createWebhook, messageFor, signatureFor, verifySignature, type WebhookDispatcher, type WebhookEvent } from '../../gateway/webhook/index.ts';
import { newRequestRow, toRequestView, toSummary } from '../../gateway/approvals/rows.ts';
import { sqliteUrl } from '../support/databases.ts';
import { agent, alice, financeAsk, reportingAgent } from './support/fixtures.ts';

const SECRET = 'whsec_5c1b7e0f8a2d4c6e9b3a';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  at: number;
}

/** A receiver that answers each delivery with the next status of `script` (then the last one). */
async function receiver(script: number[]): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
    const status = script[Math.min(received.length - 1, script.length - 1)]!;
    res.statusCode = status;
    res.end(status === 200 ? 'ok' : 'nope');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/sluice`, received, server };
}

describe('approval webhook', () => {
  const cleanups: (() => Promise<unknown> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function setup(script: number[], options: { maxAttempts?: number } = {}) {
    const target = await receiver(script);
    cleanups.push(() => new Promise((resolve) => { target.server.close(resolve); target.server.closeAllConnections(); }));
    const webhookEvents: WebhookEvent[] = [];
    const webhook = createWebhook({
      url: target.url,
      secret: SECRET,
      initialDelayMs: 50,
      maxDelayMs: 400,
      maxAttempts: options.maxAttempts ?? 4,
      onEvent: (e) => webhookEvents.push(e),
    });
    cleanups.push(() => webhook.close());
    const database = await openDatabase(sqliteUrl());
    cleanups.push(() => database.close());
    const store = createApprovalStore({ database, publicUrl: 'https://sluice.acme-analytics.example', sweepIntervalMs: 0 });
    cleanups.push(() => store.close());
    store.subscribe(webhook.listener);
    return { target, webhook, webhookEvents, store };
  }

  it('posts a signed Slack-compatible message for a new request, retrying after a 500', async () => {
    const { target, webhook, webhookEvents, store } = await setup([500, 200]);
    const started = performance.now();
    const { id, approveUrl } = await store.requestApproval(financeAsk(reportingAgent));
    // The ask returns without waiting for the receiver.
    expect(performance.now() - started).toBeLessThan(1000);
    expect(await webhook.drain(5000)).toBe(true);

    expect(target.received).toHaveLength(2);
    const [first, second] = target.received as [Received, Received];
    expect(second.at - first.at).toBeGreaterThanOrEqual(45); // backed off before retrying
    expect(second.body).toBe(first.body);
    expect(second.headers['x-sluice-delivery']).toBe(first.headers['x-sluice-delivery']);
    expect(second.headers['x-sluice-event']).toBe('approval.requested');
    expect(second.headers['content-type']).toBe('application/json');

    // The receiver can verify each attempt's signature with the shared secret, and nothing else passes.
    for (const attempt of target.received) {
      const header = attempt.headers['x-sluice-signature'] as string;
      expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
      expect(verifySignature(SECRET, attempt.body, header)).toBe(true);
      expect(verifySignature('another-secret-of-sixteen', attempt.body, header)).toBe(false);
      expect(verifySignature(SECRET, attempt.body.replace('reporting-agent', 'reporting-agenT'), header)).toBe(false);
      expect(verifySignature(SECRET, attempt.body, header, { now: Math.floor(Date.now() / 1000) + 3600 })).toBe(false);
    }

    const message = JSON.parse(second.body) as { text: string; blocks: { type: string; elements?: { url?: string }[] }[] };
    expect(message.text).toContain('Approval needed: reporting-agent (agent) wants to query acme-analytics.finance.ledger');
    expect(message.blocks.map((b) => b.type)).toEqual(['header', 'section', 'section', 'context', 'context', 'actions']);
    expect(message.blocks.at(-1)?.elements?.[0]?.url).toBe(approveUrl);
    expect(second.body).toContain('3.00 GiB');

    expect(webhookEvents.map((e) => [e.action, e.attempt, e.status])).toEqual([
      ['retrying', 1, 500],
      ['delivered', 2, 200],
    ]);
    expect(webhookEvents[0]).toMatchObject({ kind: 'webhook', event: 'approval.requested', requestId: id });
  });

  it('sends the statement to the channel with its literal values and comments withheld', async () => {
    const { target, webhook, store } = await setup([200]);
    const sql = "SELECT account, amount FROM finance.ledger WHERE memo = 'jane.doe@example.com' AND amount > 123456789 -- card 4111111111111111";
    await store.requestApproval(financeAsk(reportingAgent, { sql }));
    expect(await webhook.drain(5000)).toBe(true);
    const body = target.received[0]!.body;
    for (const raw of ['jane.doe@example.com', '123456789', '4111111111111111']) expect(body).not.toContain(raw);
    expect(body).toContain('WHERE memo = ? AND amount &gt; ? -- ?');
  });

  it('names a statement scope without its hash, which would let the channel test guesses of the withheld literals', async () => {
    const { target, webhook, store } = await setup([200]);
    const sql = "SELECT account FROM finance.ledger WHERE memo = 'jane.doe@example.com'";
    const ask = financeAsk(reportingAgent, { sql });
    const hash = ask.sqlHash;
    await store.requestApproval(financeAsk(reportingAgent, { sql, approval: { scope: { kind: 'statement', statement_hash: hash } } }));
    expect(await webhook.drain(5000)).toBe(true);
    const body = target.received[0]!.body;
    expect(body).toContain('this statement only');
    expect(body).not.toContain(hash.slice(0, 8));
  });

  it('announces decisions, and records a delivery that keeps failing', async () => {
    const { target, webhook, webhookEvents, store } = await setup([503], { maxAttempts: 3 });
    const { id } = await store.requestApproval(financeAsk(reportingAgent));
    await store.vote({ requestId: id, approver: alice, vote: 'approve', comment: 'for the audit <today>' });
    expect(await webhook.drain(5000)).toBe(true);
    expect(target.received).toHaveLength(6); // two messages, three attempts each
    const decided = target.received.filter((r) => r.headers['x-sluice-event'] === 'approval.approved');
    expect(decided).toHaveLength(3);
    const body = JSON.parse(decided[0]!.body) as { text: string };
    expect(body.text).toMatch(/^Approved by alice: reporting-agent may query acme-analytics\.finance\.ledger/);
    expect(decided[0]!.body).toContain('for the audit &lt;today&gt;');
    const failures = webhookEvents.filter((e) => e.action === 'failed');
    expect(failures.map((e) => [e.event, e.attempt, e.status]).sort()).toEqual([
      ['approval.approved', 3, 503],
      ['approval.requested', 3, 503],
    ]);
  });

  it('does not retry a delivery the receiver refuses for good, and reports unreachable receivers', async () => {
    const { target, webhook, webhookEvents, store } = await setup([400]);
    await store.requestApproval(financeAsk(reportingAgent));
    expect(await webhook.drain(5000)).toBe(true);
    expect(target.received).toHaveLength(1);
    expect(webhookEvents.map((e) => [e.action, e.status])).toEqual([['failed', 400]]);

    const events: WebhookEvent[] = [];
    const unreachable: WebhookDispatcher = createWebhook({ url: 'http://127.0.0.1:9/hook', secret: SECRET, initialDelayMs: 10, maxAttempts: 2, onEvent: (e) => events.push(e) });
    cleanups.push(() => unreachable.close());
    const event: ApprovalEvent = { kind: 'approval', action: 'reused', at: new Date().toISOString() };
    unreachable.listener(event); // not a notified action: nothing queued
    expect(unreachable.pending).toBe(0);
    unreachable.send({ text: 'hello', blocks: [] }, 'approval.test');
    expect(await unreachable.drain(5000)).toBe(true);
    expect(events.map((e) => e.action)).toEqual(['retrying', 'failed']);
    expect(events[1]?.error).toBeTruthy();
  });

  it('drops what it cannot queue or deliver before closing, and says so', async () => {
    const events: WebhookEvent[] = [];
    const webhook = createWebhook({ url: 'http://127.0.0.1:9/hook', secret: SECRET, queueLimit: 1, concurrency: 1, initialDelayMs: 10_000, onEvent: (e) => events.push(e) });
    webhook.send({ text: 'one', blocks: [] }, 'approval.test');
    webhook.send({ text: 'two', blocks: [] }, 'approval.test');
    webhook.send({ text: 'three', blocks: [] }, 'approval.test');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await webhook.close();
    expect(events.filter((e) => e.action === 'dropped').length).toBeGreaterThanOrEqual(2);
    webhook.send({ text: 'after', blocks: [] }, 'approval.test');
    expect(events.at(-1)).toMatchObject({ action: 'dropped', error: 'webhook is closed' });
  });

  it('signs with a timestamp bound to the body', () => {
    const body = JSON.stringify({ text: 'x' });
    const header = signatureFor(SECRET, body, 1_700_000_000);
    expect(verifySignature(SECRET, body, header, { now: 1_700_000_100 })).toBe(true);
    expect(verifySignature(SECRET, body, header.replace('t=1700000000', 't=1700000001'), { now: 1_700_000_100 })).toBe(false);
    expect(verifySignature(SECRET, body, `${header},v1=${'0'.repeat(64)}`, { now: 1_700_000_100 })).toBe(true);
    expect(verifySignature(SECRET, body, undefined)).toBe(false);
    expect(verifySignature(SECRET, body, 'v1=abc')).toBe(false);
    expect(messageFor({ kind: 'approval', action: 'voted', at: '' })).toBeUndefined();
  });
});

describe('the webhook keeps literal values out of the reasons it posts', () => {
  it('a reason that quotes the statement has the statement\'s literals taken out, as the posted SQL has', () => {
    const sql = "SELECT account, amount FROM `acme-analytics.finance.ledger` WHERE account = 'Jane Roe private'";
    const ask = financeAsk(reportingAgent, { sql });
    // A policy is the deployment's own code: a rule of its own may quote the text it judged.
    ask.decision.reasons = [{ code: 'org_rule', message: "ledger lookups of a named account (WHERE account = 'Jane Roe private') need finance's approval" }];
    const row = newRequestRow(ask, ask.decision.approval!, Date.now(), 3_600_000);
    const view = toRequestView(row, [], Date.now(), 'https://gateway.example/approve/requests/x');
    const message = messageFor({ kind: 'approval', action: 'requested', at: '', requestId: view.id, request: toSummary(view) })!;
    const posted = JSON.stringify(message);
    expect(posted).not.toContain('Jane Roe');
    expect(posted).toContain("WHERE account = '?') need finance");
    // The approver page, inside the gateway, still shows the reason whole.
    expect(view.reasons[0]!.message).toContain('Jane Roe private');
  });
});

describe('the webhook\'s notification text', () => {
  it('escapes what Slack reads as markup in a requester\'s or an approver\'s name, as its blocks do', () => {
    const ask = financeAsk(agent('repo:acme/etl:ref:refs/heads/<!channel>'));
    const row = newRequestRow(ask, ask.decision.approval!, Date.now(), 3_600_000);
    const view = toRequestView(row, [], Date.now(), 'https://gateway.example/approve/requests/x');
    const requested = messageFor({ kind: 'approval', action: 'requested', at: '', requestId: view.id, request: toSummary(view) })!;
    expect(requested.text).toContain('refs/heads/&lt;!channel&gt; (agent)');
    const approved = messageFor({ kind: 'approval', action: 'approved', at: '', requestId: view.id, actor: { subject: '<https://evil.example|alice>', issuer: row.issuer, kind: 'human' }, request: toSummary(view) })!;
    expect(approved.text).toMatch(/^Approved by &lt;https:\/\/evil\.example\|alice&gt;: repo:acme\/etl:ref:refs\/heads\/&lt;!channel&gt; may query/);
    // Only plain_text (the header, which Slack never reads as markup) keeps the name as written.
    const mrkdwn = JSON.stringify([requested, approved], (k, v) => (v && typeof v === 'object' && v.type === 'plain_text' ? undefined : v));
    expect(mrkdwn).not.toMatch(/<!channel>|<https:/);
  });
});
