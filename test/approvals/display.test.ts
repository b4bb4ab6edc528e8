import { describe, expect, it } from 'vitest';
import { visibleText } from '../../gateway/approvals/display.ts';
import { requestDetailPage, requestListPage } from '../../gateway/approvals/page/views.ts';
import { newRequestRow, toRequestView } from '../../gateway/approvals/rows.ts';
import { financeAsk, reportingAgent } from './support/fixtures.ts';

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
