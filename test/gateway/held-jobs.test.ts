// Queries that need an approval, held as PENDING jobs that the official clients wait on unmodified:
// the Python client's `query().result()` and `query_and_wait()`, the Node client's `query()` and
// `bq query` block while a data owner decides; approved, they return the masked rows; rejected or
// expired, they raise the refusal; alice may approve through the API or on the approver page in a
// browser. Cancelling a held job withdraws its request, a held job survives
// a restart (SQLite and PostgreSQL), and pages of a job whose grant is revoked are refused.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { pythonQueries } from '../support/python-client.ts';
import { chromiumAvailable, launchBrowser } from '../approvals/support/browser.ts';
import { storageTargets } from '../support/databases.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

/** A finance read (approval: data-owners) that also returns a masked column (email). */
const FINANCE_SQL =
  "SELECT l.entry_id, l.account, c.email FROM finance.ledger AS l CROSS JOIN crm.customers AS c WHERE c.customer_id = 'C001' ORDER BY l.entry_id LIMIT 3";
const AGENT = 'reporting-agent';
const GRANT_TTL_SECONDS = 3600;

const run = promisify(execFile);
const hasBq = await run('bq', ['version'], { timeout: 30_000 }).then(
  () => true,
  () => false,
);

interface Api {
  status: number;
  body: any;
}

function approvalsApi(stack: Stack, token: () => string) {
  const call = async (path: string, body?: object): Promise<Api> => {
    const res = await fetch(stack.gatewayUrl + path, {
      method: body ? 'POST' : 'GET',
      headers: { authorization: `Bearer ${token()}`, ...(body && { 'content-type': 'application/json' }) },
      ...(body && { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: await res.json() };
  };
  return {
    call,
    /**
     * The agent's pending request once it is filed. (A request left pending by a test that moved
     * the clock ahead and back is joined by the next ask of the same query.)
     */
    async pending(): Promise<string> {
      for (let i = 0; i < 200; i++) {
        const list = await call('/approvals?status=pending');
        const mine = (list.body.requests as { id: string; requester: { subject: string } }[]).find((r) => r.requester.subject === AGENT);
        if (mine) return mine.id;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('no pending approval request was filed');
    },
    async vote(id: string, vote: 'approve' | 'reject', comment: string): Promise<void> {
      const res = await call(`/approvals/${id}/${vote}`, { comment });
      expect(res.status).toBe(200);
    },
  };
}

/** The rows the agent may see: straight from the emulator, email masked as the policy masks it for agents. */
async function expectedRows(stack: Stack): Promise<Record<string, string>[]> {
  const [rows] = await stack.direct().query(FINANCE_SQL);
  return rows.map((r: Record<string, unknown>) => ({ entry_id: String(r.entry_id), account: String(r.account), email: String(r.email).replace(/^[^@]*/, '***') }));
}

function asText(rows: Record<string, unknown>[]): Record<string, string>[] {
  return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, String(v)])));
}

describe('queries held as PENDING jobs until approved', () => {
  let stack: Stack;
  let alice: string;
  let offsetMs = 0;
  let api: ReturnType<typeof approvalsApi>;

  beforeAll(async () => {
    stack = await startStack({
      idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] },
      gateway: { now: () => Date.now() + offsetMs },
    });
    alice = await humanAccessToken(stack.idp, 'alice');
    api = approvalsApi(stack, () => alice);
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** Revokes every active grant of the agent, so each case starts without one. */
  async function revokeAgentGrants(): Promise<void> {
    const grants = await api.call('/grants?status=active');
    for (const grant of grants.body.grants as { id: string; subject: string }[]) {
      if (grant.subject === AGENT) await api.call(`/grants/${grant.id}/revoke`, { comment: 'test reset' });
    }
  }

  it('the Python client blocks in result() until a data owner approves, then gets the masked rows', async () => {
    await revokeAgentGrants();
    const running = pythonQueries(stack.gatewayUrl, await stack.token(AGENT), [{ sql: FINANCE_SQL, method: 'query' }], { timeoutSeconds: 90 });
    const id = await api.pending();
    // Still waiting: the job is PENDING and names its approval request.
    await new Promise((r) => setTimeout(r, 1500));
    await api.vote(id, 'approve', 'quarter-end reconciliation');
    const [result] = await running;
    expect(result!.error).toBeUndefined();
    expect(asText(result!.rows!)).toEqual(await expectedRows(stack));
    expect(result!.seconds).toBeGreaterThan(1.5);
  });

  it('query_and_wait (jobs.query) and the Node client wait the same way', async () => {
    await revokeAgentGrants();
    const python = pythonQueries(stack.gatewayUrl, await stack.token(AGENT), [{ sql: FINANCE_SQL, method: 'query_and_wait' }], { timeoutSeconds: 90 });
    const first = await api.pending();
    await api.vote(first, 'approve', 'month-end close');
    const [result] = await python;
    expect(asText(result!.rows!)).toEqual(await expectedRows(stack));

    await revokeAgentGrants();
    const node = stack.client(AGENT).query(FINANCE_SQL);
    const second = await api.pending();
    await api.vote(second, 'approve', 'audit sample');
    const [rows] = await node;
    expect(asText(rows)).toEqual(await expectedRows(stack));

    // createQueryJob (jobs.insert) then getQueryResults, as the Node client's job API does.
    await revokeAgentGrants();
    const [job] = await stack.client(AGENT).createQueryJob({ query: FINANCE_SQL });
    const [metadata] = await job.getMetadata();
    expect(metadata.status.state).toBe('PENDING');
    const results = job.getQueryResults();
    await api.vote(metadata.status.approval.requestId, 'approve', 'job API');
    const [jobRows] = await results;
    expect(asText(jobRows)).toEqual(await expectedRows(stack));
  });

  it('a rejection ends the job: the Python client raises Forbidden with the approver and comment', async () => {
    await revokeAgentGrants();
    const running = pythonQueries(stack.gatewayUrl, await stack.token(AGENT), [{ sql: FINANCE_SQL, method: 'query' }], { timeoutSeconds: 90 });
    const id = await api.pending();
    await api.vote(id, 'reject', 'not for this quarter');
    const [result] = await running;
    expect(result!.rows).toBeUndefined();
    expect(result!.error).toMatchObject({ type: 'Forbidden', code: 403 });
    expect(result!.error!.message).toContain(`approval request ${id} was rejected by alice: not for this quarter`);
  });

  it('an expiry ends the job, and jobs.get shows PENDING with the approval link before that', async () => {
    await revokeAgentGrants();
    const inserted = await insertJob(stack);
    expect(inserted.status).toBe(200);
    expect(inserted.body.status.state).toBe('PENDING');
    const jobId = inserted.body.jobReference.jobId as string;
    const got = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs/${jobId}`, { agent: AGENT });
    expect(got.body.status).toMatchObject({ state: 'PENDING', approval: { requestId: expect.stringMatching(/^apr_/) } });
    expect(got.body.status.errors).toBeUndefined();
    const id = got.body.status.approval.requestId as string;
    expect(got.body.status.approval.url).toMatch(new RegExp(`/${id}$`));
    const results = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${jobId}?timeoutMs=200`, { agent: AGENT });
    expect(results.body).toMatchObject({ jobComplete: false, jobReference: { jobId } });

    // Another caller cannot read or cancel it.
    const other = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs/${jobId}`, { agent: 'pii-agent' });
    expect(other.status).toBe(403);

    offsetMs = 2 * 86_400 * 1000; // past the request's 24 h
    try {
      const ended = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs/${jobId}`, { agent: AGENT });
      expect(ended.body.status).toMatchObject({ state: 'DONE', errorResult: { reason: 'accessDenied' } });
      expect(ended.body.status.errorResult.message).toContain('expired');
      const page = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${jobId}`, { agent: AGENT });
      expect(page.status).toBe(403);
      expect(page.body.error.message).toContain(`approval request ${id} expired`);
      await stack.gateway.approvalStore.expireDue(); // as the sweeper records it, before the clock goes back
    } finally {
      offsetMs = 0;
    }
  });

  it('the Python client sees an expiry while it waits as Forbidden', { timeout: 60_000 }, async () => {
    await revokeAgentGrants();
    const running = pythonQueries(stack.gatewayUrl, await stack.token(AGENT), [{ sql: FINANCE_SQL, method: 'query' }], { timeoutSeconds: 90 });
    const id = await api.pending();
    offsetMs = 2 * 86_400 * 1000;
    try {
      const [result] = await running;
      expect(result!.error).toMatchObject({ type: 'Forbidden', code: 403 });
      expect(result!.error!.message).toContain(`approval request ${id} expired`);
      await stack.gateway.approvalStore.expireDue();
    } finally {
      offsetMs = 0;
    }
  });

  it('jobs.cancel withdraws the request, recorded in the audit trail', async () => {
    await revokeAgentGrants();
    const jobId = (await insertJob(stack)).body.jobReference.jobId as string;
    const id = await api.pending();
    const cancelled = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs/${jobId}/cancel`, { method: 'POST', agent: AGENT });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.job.status).toMatchObject({ state: 'DONE', errorResult: { reason: 'stopped' } });
    const view = await api.call(`/approvals/${id}`);
    expect(view.body.request.status).toBe('withdrawn');
    // Withdrawn: nobody can approve it any more, and the job stays ended.
    const late = await api.call(`/approvals/${id}/approve`, { comment: 'too late' });
    expect(late.status).toBe(409);
    const got = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs/${jobId}`, { agent: AGENT });
    expect(got.body.status.errorResult.reason).toBe('stopped');
    const audit = await auditRecords(stack, 'approval');
    expect(audit.some((r) => r.data.approval_id === id && r.data.action === 'withdrawn' && r.data.actor === AGENT)).toBe(true);
  });

  it('pages of a job stop once its grant is revoked, but not once it merely expires', async () => {
    await revokeAgentGrants();
    const jobId = (await insertJob(stack)).body.jobReference.jobId as string;
    const id = await api.pending();
    await api.vote(id, 'approve', 'sampling');
    const page = (token?: string) => stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${jobId}?maxResults=1${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`, { agent: AGENT });
    const first = await page();
    expect(first.status).toBe(200);
    expect(first.body.rows).toHaveLength(1);
    expect(first.body.rows[0].f[2].v).toMatch(/^\*\*\*@/);

    // Expired grant: the finished job keeps its pages.
    offsetMs = (GRANT_TTL_SECONDS + 60) * 1000;
    try {
      expect((await page(first.body.pageToken)).status).toBe(200);
    } finally {
      offsetMs = 0;
    }

    const view = await api.call(`/approvals/${id}`);
    await api.call(`/grants/${view.body.request.grantId}/revoke`, { comment: 'no longer needed' });
    const refused = await page(first.body.pageToken);
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toContain('[grant_revoked]');
    expect(refused.body.error.details[0]).toMatchObject({ reason: 'GRANT_REVOKED' });
  });

  it.skipIf(!hasBq)('bq query waits for the approval too, and fails with the reason when rejected', { timeout: 120_000 }, async () => {
    await revokeAgentGrants();
    const home = await mkdtemp(join(tmpdir(), 'sluice-bq-home-'));
    try {
      const argv = [`--api=${stack.gatewayUrl}`, `--oauth_access_token=${await stack.token(AGENT)}`, `--project_id=${PROJECT}`, '--format=json', 'query', '--use_legacy_sql=false', FINANCE_SQL];
      const running = run('bq', argv, { env: { ...process.env, HOME: home }, timeout: 90_000 });
      const id = await api.pending();
      await api.vote(id, 'approve', 'bq check');
      const { stdout } = await running;
      expect(asText(JSON.parse(stdout.trim()))).toEqual(await expectedRows(stack));

      // Rejected: bq fails with the approver's reason.
      await revokeAgentGrants();
      const refused = run('bq', argv, { env: { ...process.env, HOME: home }, timeout: 90_000 }).then(
        () => ({ code: 0, output: '' }),
        (e: { code?: number; stdout?: string; stderr?: string }) => ({ code: e.code ?? 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` }),
      );
      const second = await api.pending();
      await api.vote(second, 'reject', 'not through bq');
      const failed = await refused;
      expect(failed.code).not.toBe(0);
      // bq wraps its message at the terminal width, and shows the PENDING state while it waits.
      const output = failed.output.replace(/\s+/g, ' ');
      expect(output).toContain(`approval request ${second} was rejected by alice: not through bq`);
      expect(output).toContain('Current status: PENDING');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!chromiumAvailable() && !process.env.CI)('a held job approved on the approver page', () => {
  it('the Python client waits while alice signs in and approves in a browser, then gets the masked rows', { timeout: 120_000 }, async () => {
    const stack = await startStack({ approverPage: true });
    const browser = await launchBrowser();
    try {
      const running = pythonQueries(stack.gatewayUrl, await stack.token(AGENT), [{ sql: FINANCE_SQL, method: 'query' }], { timeoutSeconds: 90 });
      const page = await browser.context.newPage();
      await page.goto(`${stack.gatewayUrl}/approve`);
      await expect.poll(() => page.url()).toContain(stack.idp.url);
      await page.getByLabel('Account').fill('alice');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${stack.gatewayUrl}/approve**`);
      // The agent's request shows up once its job is held.
      const row = page.getByRole('row').filter({ hasText: AGENT });
      await expect
        .poll(async () => {
          await page.reload();
          return row.count();
        }, { timeout: 30_000 })
        .toBe(1);
      await row.getByRole('link', { name: /Review/ }).click();
      await page.getByLabel(/Comment/).fill('Month-end close, approved in the browser.');
      await page.getByRole('button', { name: 'Approve' }).click();
      await page.waitForURL(/\?done=approved$/);
      const [result] = await running;
      expect(result!.error).toBeUndefined();
      expect(asText(result!.rows!)).toEqual(await expectedRows(stack));
    } finally {
      await browser.close();
      await stack.close();
    }
  });
});

describe.each(storageTargets())('a held job across a gateway restart ($engine)', (target) => {
  it('is still pending after the restart and runs once approved', async () => {
    const stack = await startStack({ idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] }, storageUrl: await target.url() });
    try {
      const alice = await humanAccessToken(stack.idp, 'alice');
      const api = approvalsApi(stack, () => alice);
      const jobId = (await insertJob(stack)).body.jobReference.jobId as string;
      await stack.restartGateway();
      const got = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs/${jobId}`, { agent: AGENT });
      expect(got.body.status.state).toBe('PENDING');
      await api.vote(await api.pending(), 'approve', 'after the restart');
      const results = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries/${jobId}`, { agent: AGENT });
      expect(results.status).toBe(200);
      expect(results.body.jobComplete).toBe(true);
      expect(results.body.rows).toHaveLength(3);
      const done = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs/${jobId}`, { agent: AGENT });
      expect(done.body.status.state).toBe('DONE');
      expect(done.body.status.errorResult).toBeUndefined();
    } finally {
      await stack.close();
    }
  });
});

/** jobs.insert of the finance query as the agent, with a raw call. */
function insertJob(stack: Stack) {
  return stack.fetch(`/bigquery/v2/projects/${PROJECT}/jobs`, {
    method: 'POST',
    agent: AGENT,
    body: JSON.stringify({ configuration: { query: { query: FINANCE_SQL, useLegacySql: false } } }),
  });
}

async function auditRecords(stack: Stack, kind: string): Promise<{ data: Record<string, unknown> }[]> {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(stack.databaseFile, { readonly: true });
  try {
    return (db.prepare('SELECT body FROM audit_records WHERE kind = ? ORDER BY seq').all(kind) as { body: string }[]).map((r) => JSON.parse(r.body));
  } finally {
    db.close();
  }
}
