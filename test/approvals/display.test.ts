import { describe, expect, it } from 'vitest';
import { visibleName, visibleText } from '../../gateway/approvals/display.ts';
import { grantsPage, requestDetailPage, requestListPage } from '../../gateway/approvals/page/views.ts';
import { newRequestRow, toGrantView, toRequestView, toSummary } from '../../gateway/approvals/rows.ts';
import type { ApprovalVoteRow, GrantRow } from '../../gateway/store/tables.ts';
import { messageFor } from '../../gateway/webhook/index.ts';
import { agent, financeAsk, reportingAgent } from './support/fixtures.ts';

// What the approver reads must be what runs: a bidi control in the agent's SQL reorders the text
// a browser shows (a filter that appears to apply sits in a comment), a zero-width or control
// character hides. The page shows each as a visible escape.
describe('the approver page shows the SQL as written', () => {
  const sql = "SELECT account, amount FROM `acme-analytics.finance.ledger` /*\u202e ⁦WHERE account = 'petty-cash'⁩ ⁦*/\u200b\u001b[8m";
  const ask = financeAsk(reportingAgent, { sql });
  const row = newRequestRow(ask, ask.decision.approval!, Date.now(), 3_600_000);
  const view = toRequestView(row, [], Date.now(), 'https://gateway.example/approve/requests/x');

  it('escapes bidi, zero-width and control characters in the detail and the listing', () => {
    const detail = requestDetailPage({ base: '/approve' }, { request: view });
    expect(detail).toContain("/*\\u{202E} \\u{2066}WHERE account = &#39;petty-cash&#39;\\u{2069} \\u{2066}*/\\u{200B}\\u{1B}[8m");
    const listing = requestListPage({ base: '/approve' }, { status: 'pending', items: [view], counts: { pending: 1, approved: 0, rejected: 0, expired: 0, withdrawn: 0 } });
    for (const page of [detail, listing]) expect(page).not.toMatch(/[\u202e\u2066\u2069\u200b\u001b]/);
  });
});

describe('characters drawn as nothing or as a blank', () => {
  it('are escaped too: Hangul fillers, the braille blank, variation selectors, tag characters', () => {
    const hidden = ['\u3164', '\u115f', '\u1160', '\uffa0', '\u2800', '\ufe0f', '\u{e0041}', '\u00ad'];
    const shown = visibleText(`SELECT 1 /*${hidden.join('')}*/`);
    expect(shown).toBe('SELECT 1 /*\\u{3164}\\u{115F}\\u{1160}\\u{FFA0}\\u{2800}\\u{FE0F}\\u{E0041}\\u{AD}*/');
    // Letters, accents and ordinary spaces stay as written.
    expect(visibleText("SELECT 'café', 'naïve' AS 名前")).toBe("SELECT 'café', 'naïve' AS 名前");
  });
});

describe('the approver page shows the query parameters bound to the statement', () => {
  it('lists them under the SQL', () => {
    const ask = { ...financeAsk(reportingAgent, { sql: 'SELECT account FROM `acme-analytics.finance.ledger` WHERE account LIKE @pattern' }), parameters: [{ name: 'pattern', parameterType: { type: 'STRING' }, parameterValue: { value: '%' } }] };
    const row = newRequestRow(ask, ask.decision.approval!, Date.now(), 3_600_000);
    const detail = requestDetailPage({ base: '/approve' }, { request: toRequestView(row, [], Date.now(), 'https://gateway.example/approve/requests/x') });
    expect(detail).toContain('<h2>Query parameters</h2>');
    expect(detail).toContain('&#34;value&#34;: &#34;%&#34;');
  });
});

// A subject is the provider's text, often built from what its holder chose (a client's name, a
// workflow's branch). Written with a bidi override it reads as another name ('reporting-agent'
// spelled backwards shows as 'reporting-agent'), with a zero-width space it looks like a trusted one.
describe('the approver is shown who asks, votes and holds a grant as their names are written', () => {
  const spoof = '\u202etnega-gnitroper\u200b\nvotes:';
  const requester = agent(spoof);
  const ask = financeAsk(requester);
  const now = Date.now();
  const row = newRequestRow(ask, ask.decision.approval!, now, 3_600_000);
  const vote: ApprovalVoteRow = { approval_id: row.id, approver: 'k', approver_subject: 'ali\u200bce', approver_issuer: row.issuer, vote: 'reject', comment: 'no \u202eway', at_ms: now };
  const view = toRequestView(row, [vote], now, 'https://gateway.example/approve/requests/x');
  const hidden = /[\u202e\u200b]/;

  it('escapes bidi, invisible and line-breaking characters of subjects on the page', () => {
    const detail = requestDetailPage({ base: '/approve' }, { request: view });
    expect(detail).toContain('Request from \\u{202E}tnega-gnitroper\\u{200B}\\u{A}votes:');
    expect(detail).toContain('ali\\u{200B}ce');
    const listing = requestListPage({ base: '/approve' }, { status: 'pending', items: [view], counts: { pending: 1, approved: 0, rejected: 0, expired: 0, withdrawn: 0 } });
    const grant: GrantRow = {
      id: 'grt_x', subject: spoof, issuer: row.issuer, scope: row.scope, one_time: 0, approval_id: row.id, created_at_ms: now,
      expires_at_ms: now + 60_000, revoked_at_ms: null, revoked_by: null, consumed_at_ms: null, consumed_by: null,
    } as GrantRow;
    const revoked = { ...grant, id: 'grt_y', revoked_at_ms: now, revoked_by: 'mal\u202elory' } as GrantRow;
    const grants = grantsPage({ base: '/approve' }, { items: [toGrantView(grant, now)], counts: { active: 1, expired: 0, revoked: 1, consumed: 0 } } as never, [toGrantView(revoked, now)]);
    for (const page of [detail, listing, grants]) expect(page).not.toMatch(hidden);
    expect(grants).toContain('\\u{202E}tnega-gnitroper');
  });

  it('escapes them in the webhook message too', () => {
    const message = messageFor({ kind: 'approval', action: 'requested', at: '', requestId: view.id, request: toSummary(view) })!;
    expect(JSON.stringify(message)).not.toMatch(/\\u202e|\\u200b|\u202e|\u200b/);
    expect(message.text).toContain('Approval needed: \\u{202E}tnega-gnitroper\\u{200B}\\u{A}votes: (agent)');
    const decided = messageFor({ kind: 'approval', action: 'rejected', at: '', requestId: view.id, actor: { subject: 'ali\u200bce', issuer: row.issuer, kind: 'human' }, request: toSummary(view) })!;
    expect(decided.text).toMatch(/^Rejected by ali\\u\{200B\}ce: \\u\{202E\}tnega-gnitroper/);
  });

  it('keeps letters and ordinary punctuation as written', () => {
    expect(visibleName('repo:acme/etl:ref:refs/heads/main')).toBe('repo:acme/etl:ref:refs/heads/main');
    expect(visibleName('josé@acme.example')).toBe('josé@acme.example');
  });
});
