// The approver page's HTML: semantic markup (landmarks, captions, labelled controls), no script,
// one small stylesheet. Everything that came from a request or a person is escaped by `html`.
import type { Reason } from '../../../engine/schema-types.ts';
import { describeScope, formatBytes } from '../../webhook/payload.ts';
import { visibleName, visibleParameters, visibleText } from '../display.ts';
import type { Preview } from '../preview.ts';
import type { ApprovalRequestView, ApprovalStatus, GrantStatus, GrantView } from '../types.ts';
import { html, type Html } from './html.ts';
import type { PageSession } from './session.ts';

export interface Chrome {
  base: string;
  session?: PageSession;
  current?: 'requests' | 'grants';
}

export function layout(title: string, chrome: Chrome, main: Html): string {
  const { base, session, current } = chrome;
  const link = (href: string, label: string, key: Chrome['current']) =>
    html`<li><a href="${href}"${current === key ? html` aria-current="page"` : ''}>${label}</a></li>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Sluice approvals</title>
<link rel="stylesheet" href="${base}/assets/page.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
<p class="brand">Sluice approvals</p>
${session
  ? html`<nav aria-label="Main"><ul>${link(base, 'Pending requests', 'requests')}${link(`${base}/grants`, 'Grants', 'grants')}</ul></nav>
<form method="post" action="${base}/logout" class="signout">
<span>Signed in as <strong>${visibleName(session.name ?? session.identity.subject)}</strong></span>
<input type="hidden" name="csrf" value="${session.csrf}">
<button type="submit">Sign out</button>
</form>`
  : ''}
</header>
<main id="main">
${main}
</main>
</body>
</html>
`.value;
}

function time(iso: string | null): Html {
  if (!iso) return html`—`;
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>`;
}

function reasonList(reasons: Reason[]): Html {
  const shown = reasons.filter((r) => r.code !== 'grant_used');
  if (shown.length === 0) return html`<p>None given.</p>`;
  return html`<ul class="reasons">${shown.map((r) => html`<li><span class="code">${r.code}</span> ${r.message}</li>`)}</ul>`;
}

function statusBadge(status: string): Html {
  return html`<span class="status status-${status}">${status}</span>`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

export function alert(kind: 'error' | 'success', message: string): Html {
  return kind === 'error'
    ? html`<div class="alert alert-error" role="alert"><p>${message}</p></div>`
    : html`<div class="alert alert-success" role="status"><p>${message}</p></div>`;
}

export interface RequestListing {
  status: ApprovalStatus;
  items: ApprovalRequestView[];
  counts: Record<ApprovalStatus, number>;
  nextPageToken?: string;
  prevPageToken?: string;
}

/** The requests the signed-in person may decide on, one page of one status, with the counts of all. */
export function requestListPage(chrome: Chrome, listing: RequestListing): string {
  const requests = listing.items;
  const title = listing.status === 'pending' ? 'Pending requests' : `${listing.status[0]!.toUpperCase()}${listing.status.slice(1)} requests`;
  const caption = listing.status === 'pending' ? 'Requests waiting for a decision' : `Requests ${listing.status}`;
  const body = requests.length
    ? html`<table>
<caption>${caption}, newest first</caption>
<thead><tr><th scope="col">Requested by</th><th scope="col">SQL</th><th scope="col">Tables</th><th scope="col">Estimated bytes</th><th scope="col">Reasons</th><th scope="col">Decide by</th><th scope="col"><span class="visually-hidden">Action</span></th></tr></thead>
<tbody>
${requests.map(
  (r) => html`<tr>
<td>${visibleName(r.requester.subject)} <span class="muted">(${r.requester.kind})</span></td>
<td><code class="sql">${clip(visibleText(r.sql.text), 160)}</code></td>
<td>${r.tables.length ? html`<ul class="plain">${r.tables.map((t) => html`<li>${t}</li>`)}</ul>` : '—'}</td>
<td>${formatBytes(r.estimatedBytes)}</td>
<td>${reasonList(r.reasons)}</td>
<td>${time(r.expiresAt)}</td>
<td><a href="${chrome.base}/requests/${r.id}">Review<span class="visually-hidden"> the request from ${visibleName(r.requester.subject)}</span></a></td>
</tr>`,
)}
</tbody>
</table>`
    : html`<p>${listing.status === 'pending' ? 'No request is waiting for your decision.' : `No ${listing.status} request.`}</p>`;
  const pager = pageLinks(chrome.base, listing, listing.status === 'pending' ? {} : { status: listing.status });
  return layout(title, { ...chrome, current: 'requests' }, html`<h1>${title}</h1>${statusCounts(chrome.base, listing)}${body}${pager}`);
}

/** Each status with how many requests are in it, linking to its list. */
function statusCounts(base: string, listing: RequestListing): Html {
  const statuses = Object.keys(listing.counts) as ApprovalStatus[];
  return html`<nav aria-label="Requests by status" class="counts"><ul>${statuses.map((s) =>
    html`<li><a href="${base}${s === 'pending' ? '' : `?status=${s}`}"${s === listing.status ? html` aria-current="page"` : ''}>${s} <span class="count">${listing.counts[s]}</span></a></li>`,
  )}</ul></nav>`;
}

/** Previous/next page links carrying the listing's page tokens. */
function pageLinks(href: string, page: { nextPageToken?: string; prevPageToken?: string }, query: Record<string, string>): Html {
  if (!page.nextPageToken && !page.prevPageToken) return html``;
  const link = (token: string) => `${href}?${new URLSearchParams({ ...query, pageToken: token })}`;
  return html`<nav aria-label="Pages" class="pager"><ul>${page.prevPageToken ? html`<li><a rel="prev" href="${link(page.prevPageToken)}">Previous page</a></li>` : ''}${page.nextPageToken ? html`<li><a rel="next" href="${link(page.nextPageToken)}">Next page</a></li>` : ''}</ul></nav>`;
}

export interface DetailState {
  request: ApprovalRequestView;
  /** Why the viewer cannot vote, when it cannot. */
  cannotVote?: string;
  preview?: Preview;
  notice?: Html;
  comment?: string;
}

export function requestDetailPage(chrome: Chrome, state: DetailState): string {
  const { request: r, preview } = state;
  const approvals = r.votes.filter((v) => v.vote === 'approve').length;
  const form =
    r.status === 'pending' && !state.cannotVote && chrome.session
      ? html`<section aria-labelledby="decide-heading">
<h2 id="decide-heading">Your decision</h2>
<form method="post" action="${chrome.base}/requests/${r.id}/vote" class="decide">
<input type="hidden" name="csrf" value="${chrome.session.csrf}">
<label for="comment">Comment <span class="muted">(required; recorded with your vote)</span></label>
<textarea id="comment" name="comment" rows="3" maxlength="2000" required>${state.comment ?? ''}</textarea>
<div class="buttons">
<button type="submit" name="vote" value="approve" class="approve">Approve</button>
<button type="submit" name="vote" value="reject" class="reject">Reject</button>
</div>
</form>
</section>`
      : state.cannotVote && r.status === 'pending'
        ? html`<p class="note">${state.cannotVote}</p>`
        : '';
  const main = html`<p><a href="${chrome.base}">← All pending requests</a></p>
<h1>Request from ${visibleName(r.requester.subject)}</h1>
${state.notice ?? ''}
<dl class="facts">
<dt>Status</dt><dd>${statusBadge(r.status)}${r.grantId ? html` — grant <code>${r.grantId}</code> (<a href="${chrome.base}/grants">grants</a>)` : ''}</dd>
<dt>Requested by</dt><dd>${visibleName(r.requester.subject)} <span class="muted">(${r.requester.kind}; groups: ${r.requester.groups.map(visibleName).join(', ') || 'none'}; issuer ${visibleName(r.requester.issuer)})</span></dd>
<dt>Tables</dt><dd>${r.tables.join(', ') || '—'}</dd>
<dt>Estimated bytes</dt><dd>${formatBytes(r.estimatedBytes)}${r.estimatedBytes !== null ? html` <span class="muted">(${r.estimatedBytes.toLocaleString('en-US')} bytes)</span>` : ''}</dd>
<dt>Access asked for</dt><dd>${describeScope(r)}, for ${Math.round(r.grantTtlSeconds / 60)} min after approval</dd>
<dt>Approvers</dt><dd>${r.minApprovals} of ${r.approverGroups.join(', ')} <span class="muted">(${approvals} so far)</span></dd>
<dt>Requested</dt><dd>${time(r.createdAt)}</dd>
<dt>Decide by</dt><dd>${time(r.expiresAt)}</dd>
${r.decidedAt ? html`<dt>Decided</dt><dd>${time(r.decidedAt)}</dd>` : ''}
</dl>
<h2>SQL</h2>
<pre class="sql"><code>${visibleText(r.sql.text)}</code></pre>
${r.sql.parameters !== undefined ? html`<h2>Query parameters</h2>
<p class="note">Sent with the statement and bound to it: the grant covers these values only.</p>
<pre class="sql"><code>${visibleParameters(r.sql.parameters)}</code></pre>` : ''}
<h2>Why approval is needed</h2>
${reasonList(r.reasons)}
${preview
  ? html`<h2>If approved</h2><p>With the proposed grant the policy would answer <strong>${preview.outcome}</strong>${preview.outcome === 'approve' ? ' (a further approval would be needed)' : ''}.</p>${preview.outcome !== 'allow' ? reasonList(preview.reasons) : ''}`
  : ''}
${r.votes.length
  ? html`<table><caption>Votes</caption><thead><tr><th scope="col">Approver</th><th scope="col">Vote</th><th scope="col">Comment</th><th scope="col">When</th></tr></thead>
<tbody>${r.votes.map((v) => html`<tr><td>${visibleName(v.approver.subject)}</td><td>${v.vote}</td><td>${visibleText(v.comment)}</td><td>${time(v.at)}</td></tr>`)}</tbody></table>`
  : ''}
${form}`;
  return layout(`Request from ${visibleName(r.requester.subject)}`, { ...chrome, current: 'requests' }, main);
}

export interface GrantListing {
  items: GrantView[];
  counts: Record<GrantStatus, number>;
  nextPageToken?: string;
  prevPageToken?: string;
}

/** One page of active grants (with the counts per status), and the most recently ended ones. */
export function grantsPage(chrome: Chrome, listing: GrantListing, ended: GrantView[], notice?: Html): string {
  const csrf = chrome.session?.csrf ?? '';
  const active = listing.items;
  const counts = (Object.keys(listing.counts) as GrantStatus[]).map((s) => html`<li>${s} <span class="count">${listing.counts[s]}</span></li>`);
  const activeTable = active.length
    ? html`<table>
<caption>Active grants</caption>
<thead><tr><th scope="col">Grant</th><th scope="col">Held by</th><th scope="col">Access</th><th scope="col">Expires</th><th scope="col">Request</th><th scope="col">Revoke</th></tr></thead>
<tbody>
${active.map(
  (g) => html`<tr>
<td><code>${g.id}</code></td>
<td>${visibleName(g.subject)}</td>
<td>${describeScope(g)}</td>
<td>${time(g.expiresAt)}</td>
<td>${g.approvalId ? html`<a href="${chrome.base}/requests/${g.approvalId}">view<span class="visually-hidden"> the request of grant ${g.id}</span></a>` : '—'}</td>
<td><form method="post" action="${chrome.base}/grants/${g.id}/revoke" class="inline">
<input type="hidden" name="csrf" value="${csrf}">
<label for="why-${g.id}" class="visually-hidden">Reason for revoking grant ${g.id}</label>
<input id="why-${g.id}" name="comment" type="text" maxlength="2000" placeholder="Reason (optional)">
<button type="submit" class="reject" aria-label="Revoke grant ${g.id} of ${visibleName(g.subject)}">Revoke</button>
</form></td>
</tr>`,
)}
</tbody>
</table>`
    : html`<p>No active grant.</p>`;
  const endedTable = ended.length
    ? html`<table>
<caption>Recently ended grants</caption>
<thead><tr><th scope="col">Grant</th><th scope="col">Held by</th><th scope="col">Access</th><th scope="col">Status</th><th scope="col">Ended</th></tr></thead>
<tbody>
${ended.map(
  (g) => html`<tr><td><code>${g.id}</code></td><td>${visibleName(g.subject)}</td><td>${describeScope(g)}</td><td>${statusBadge(g.status)}${g.revokedBy ? html` <span class="muted">by ${visibleName(g.revokedBy)}</span>` : ''}</td><td>${time(g.revokedAt ?? g.consumedAt ?? g.expiresAt)}</td></tr>`,
)}
</tbody>
</table>`
    : '';
  const summary = html`<section aria-label="Grants by status" class="counts"><ul>${counts}</ul></section>`;
  const pager = pageLinks(`${chrome.base}/grants`, listing, {});
  return layout('Grants', { ...chrome, current: 'grants' }, html`<h1>Grants</h1>${notice ?? ''}${summary}${activeTable}${pager}${endedTable}`);
}

export function messagePage(chrome: Chrome, title: string, message: string, action?: { href: string; label: string }): string {
  return layout(title, chrome, html`<h1>${title}</h1><p>${message}</p>${action ? html`<p><a href="${action.href}">${action.label}</a></p>` : ''}`);
}

export const STYLESHEET = `:root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;--muted:#57606a;--line:#d0d7de;--ok:#116329;--bad:#a40e26;--accent:#0550ae}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--muted:#9198a1;--line:#30363d;--ok:#3fb950;--bad:#f85149;--accent:#4493f8}}
*{box-sizing:border-box}body{margin:0;font:16px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:var(--bg);padding:.5rem;z-index:1}
.top{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;padding:.75rem 1.5rem;border-bottom:1px solid var(--line)}
.brand{font-weight:700;margin:0}.top nav ul{display:flex;gap:1rem;list-style:none;margin:0;padding:0}
.top a[aria-current=page]{font-weight:700;text-decoration:underline}.signout{margin-left:auto;display:flex;gap:.75rem;align-items:center}
main{padding:1rem 1.5rem;max-width:80rem}a{color:var(--accent)}
table{border-collapse:collapse;width:100%;margin:1rem 0}caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border-bottom:1px solid var(--line);padding:.5rem;text-align:left;vertical-align:top}
code,pre{font-family:ui-monospace,monospace;font-size:.9em}pre.sql{white-space:pre-wrap;border:1px solid var(--line);padding:.75rem;border-radius:4px}
code.sql{white-space:pre-wrap;word-break:break-word}.muted{color:var(--muted)}.plain,.reasons{margin:0;padding-left:1rem}
.code{font-family:ui-monospace,monospace;font-size:.85em;color:var(--muted)}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}.facts dt{font-weight:600}.facts dd{margin:0}
.status{font-weight:600}.status-approved,.status-active{color:var(--ok)}.status-rejected,.status-revoked{color:var(--bad)}
.decide{display:grid;gap:.5rem;max-width:40rem}textarea,input[type=text]{font:inherit;padding:.4rem;border:1px solid var(--muted);border-radius:4px;background:var(--bg);color:var(--fg)}
.buttons{display:flex;gap:.75rem}button{font:inherit;padding:.4rem 1rem;border-radius:4px;border:1px solid var(--muted);background:var(--bg);color:var(--fg);cursor:pointer}
button.approve{background:var(--ok);border-color:var(--ok);color:#fff}button.reject{border-color:var(--bad);color:var(--bad)}
button:focus-visible,a:focus-visible,textarea:focus-visible,input:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
form.inline{display:flex;gap:.5rem;flex-wrap:wrap}.alert{border-left:4px solid;padding:.25rem 1rem;margin:1rem 0}
.alert-error{border-color:var(--bad)}.alert-success{border-color:var(--ok)}.note{color:var(--muted);font-style:italic}
.counts ul,.pager ul{display:flex;flex-wrap:wrap;gap:1rem;list-style:none;margin:.5rem 0;padding:0}.count{font-weight:700}
.counts a[aria-current=page]{font-weight:700;text-decoration:underline}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
`;
