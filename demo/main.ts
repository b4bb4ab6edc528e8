// The local demo: an OIDC identity provider, the BigQuery emulator seeded with the reference
// organisation's data, and the gateway in front of it; then a short scripted agent using the
// official @google-cloud/bigquery client, unchanged except for its endpoint and its own token, and
// the same agent over the gateway's MCP door with the official MCP client.
//
//   node demo/main.ts [--keep]     --keep leaves everything running until Ctrl-C
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BigQuery } from '@google-cloud/bigquery';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { OAuth2Client } from 'google-auth-library';
import { buildBundle } from '../engine/index.ts';
import { resolveConfig } from '../gateway/config/load.ts';
import { createGateway, type Gateway } from '../gateway/server.ts';
import { listRecords, verifyAudit } from '../gateway/audit/index.ts';
import { ACME_PROJECT, freePort, startEmulator, type Emulator } from './emulator.ts';
import { DEFAULT_AUDIENCE, startIdentityProvider, type IdentityProvider } from './idp.ts';

const { values: flags } = parseArgs({ options: { keep: { type: 'boolean', default: false } } });
const tty = process.stdout.isTTY;
const style = (code: string) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const dim = style('2');
const bold = style('1');
const green = style('32');
const red = style('31');
const yellow = style('33');

const AGENT = 'reporting-agent';
/** The approver page's OIDC client at the demo provider (public client, PKCE). */
const APPROVER_PAGE_CLIENT = 'sluice-approver-page';

async function main(): Promise<void> {
  const state = await mkdtemp(join(tmpdir(), 'sluice-demo-'));
  let idp: IdentityProvider | undefined;
  let emulator: Emulator | undefined;
  let gateway: Gateway | undefined;
  let mcp: Client | undefined;
  const shutdown = async () => {
    await mcp?.close().catch(() => undefined);
    await gateway?.close();
    await Promise.allSettled([emulator?.stop(), idp?.close()]);
    await rm(state, { recursive: true, force: true });
  };

  try {
    console.log(`${bold('sluice')} ${dim('— a policy-as-code gateway between AI agents and BigQuery')}\n`);
    const bundle = await buildBundle();
    // The port is picked up front so approval links (and the approver page's sign-in redirect)
    // can name the gateway itself.
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    // The MCP door is its own OAuth resource: agents ask the provider for tokens naming it.
    const mcpUrl = `${publicUrl}/mcp`;
    [idp, emulator] = await Promise.all([
      startIdentityProvider({
        audiences: [DEFAULT_AUDIENCE, mcpUrl],
        webClients: [{ clientId: APPROVER_PAGE_CLIENT, redirectUris: [`${publicUrl}/approve/callback`] }],
      }),
      startEmulator(),
    ]);
    const config = resolveConfig({
      listen: { host: '127.0.0.1', port },
      public_url: publicUrl,
      log_level: 'warn',
      storage: { url: `sqlite:${join(state, 'sluice.sqlite')}` },
      issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE }],
      connections: [{ name: 'acme', upstream: emulator.url, project: ACME_PROJECT, credentials: { mode: 'none' }, require_referenced_tables: false }],
      bundle: bundle.path,
      // The demo's own throwaway secret for the approver page's sessions.
      approvals: { page: { issuer: idp.issuer, client_id: APPROVER_PAGE_CLIENT, resource: DEFAULT_AUDIENCE, session_secret: randomBytes(32).toString('base64url') } },
    });
    // …and for the `hash` strategy.
    gateway = await createGateway({ config, hashKey: randomBytes(32) });
    const gatewayUrl = await gateway.listen();

    console.log(`  identity provider  ${idp.issuer}  ${dim('(OIDC; agents use client credentials)')}`);
    console.log(`  BigQuery emulator  ${emulator.url}  ${dim(`(${ACME_PROJECT}, seeded with fake PII)`)}`);
    console.log(`  gateway            ${gatewayUrl}  ${dim(`(policy ${gateway.engine.revision}, rego/)`)}`);
    console.log(`  MCP endpoint       ${mcpUrl}  ${dim('(Streamable HTTP; tokens for this resource)')}`);
    console.log(`  approver page      ${publicUrl}/approve  ${dim('(sign in as alice, data-owners)')}`);
    console.log(`  audit trail        ${join(state, 'sluice.sqlite')}  ${dim('(every request, hash-chained)')}`);
    console.log(`\n  agent ${bold(AGENT)} ${dim('(group agents) runs @google-cloud/bigquery with apiEndpoint = the gateway')}\n`);

    const agent = agentClient(gatewayUrl, () => idp!.tokenFor(AGENT));
    const direct = new BigQuery({ apiEndpoint: emulator.url, projectId: ACME_PROJECT, authClient: staticAuth() });

    await step(1, 'an aggregate over sales', agent, 'SELECT product, SUM(units) AS units, SUM(amount) AS revenue FROM sales.orders GROUP BY product ORDER BY revenue DESC');

    const piiSql = 'SELECT customer_id, name, ssn, email, card_number, address.street AS street, address.city AS city FROM crm.customers ORDER BY customer_id LIMIT 3';
    await step(2, 'customer PII', agent, piiSql);
    const [raw] = await direct.query(piiSql);
    console.log(dim(`     in BigQuery the first row reads ${raw[0].name} / ${raw[0].ssn} / ${raw[0].email}: none of it reached the agent\n`));

    await step(3, 'guessing an SSN through a filter', agent, `SELECT customer_id FROM crm.customers WHERE ssn = '${raw[0].ssn}'`);

    await step(4, 'dropping a table', agent, 'DROP TABLE sales.orders');
    const [[count]] = await direct.query('SELECT COUNT(*) AS n FROM sales.orders');
    console.log(dim(`     sales.orders still holds ${count.n} rows\n`));

    const ledgerSql = 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account ORDER BY account';
    await heldStep(5, 'the finance ledger', agent, ledgerSql, !flags.keep);

    // The same agent as an MCP client: the same policy, masks and refusals, as tool results.
    console.log(`  ${dim('the same agent over MCP: @modelcontextprotocol/client at')} ${mcpUrl}\n`);
    mcp = new Client({ name: AGENT, version: '1.0.0' });
    const mcpToken = await idp.tokenFor(AGENT, { audience: mcpUrl });
    await mcp.connect(new StreamableHTTPClientTransport(new URL(mcpUrl), { requestInit: { headers: { authorization: `Bearer ${mcpToken}` } } }));
    const { tools } = await mcp.listTools();
    console.log(`${bold('6.')} listing the tools`);
    console.log(`   ${green('→ answered')} ${dim(`${tools.length} tool(s)`)}`);
    console.log(wrap(tools.map((t) => t.name).join(', '), '     '));
    console.log();
    await toolStep(7, 'customer PII through execute_sql', mcp, 'execute_sql', piiSql, (out) => {
      const rows = out.rows as Record<string, unknown>[];
      console.log(`   ${green('→ answered')} ${dim(`${rows.length} row(s)`)}`);
      printTable(rows);
      const masks = out.masks as { column: string; strategy: string }[];
      console.log(dim(`     masks listed with the rows: ${masks.map((m) => `${m.column} ${m.strategy}`).join(', ')}`));
    });
    await toolStep(8, 'dropping a table through execute_sql', mcp, 'execute_sql', 'DROP TABLE sales.orders', () => undefined);
    await toolStep(9, 'check_query on the finance ledger', mcp, 'check_query', ledgerSql, (out) => {
      const outcome = String(out.outcome);
      const color = outcome === 'approve' ? yellow : outcome === 'deny' ? red : green;
      const approval = out.approval as { approver_groups: string[]; min_approvals: number } | null;
      console.log(`   ${color(`→ ${outcome}`)} ${dim('(nothing run, no approval request filed)')}`);
      console.log(wrap((out.reasons as { message: string }[]).map((r) => r.message).join(' '), '     '));
      if (approval) console.log(dim(`     would need ${approval.min_approvals} approval(s) from ${approval.approver_groups.join(', ')}`));
    });

    await gateway.audit.flush();
    const trail = await listRecords(gateway.database.db, { order: 'oldest' });
    const verified = await verifyAudit(gateway.database.db);
    const outcomes = trail.map(({ record: r }) =>
      r.kind === 'request' ? `${r.data.route} ${r.data.decision?.outcome ?? r.data.status}` : r.kind === 'forward' ? `forward ${r.data.operation} (written before it was sent)` : r.kind,
    );
    console.log(`${bold('10.')} the audit trail`);
    console.log(`   ${trail.length} record(s), chain ${verified.ok ? green('verifies') : red('is broken')}`);
    for (const line of outcomes) console.log(dim(`     ${line}`));
    console.log();

    if (flags.keep) {
      console.log(`running; point a client at ${gatewayUrl} or an MCP client at ${mcpUrl} (agent tokens: ${idp.tokenEndpoint}). Ctrl-C stops.`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
    }
  } finally {
    await shutdown();
  }
  console.log(dim('stopped the gateway, the emulator and the identity provider'));
}

async function step(n: number, title: string, client: BigQuery, sql: string): Promise<void> {
  console.log(`${bold(`${n}.`)} ${title}`);
  console.log(dim(`   ${sql}`));
  try {
    const [rows] = await client.query(sql);
    console.log(`   ${green('→ answered')} ${dim(`${rows.length} row(s)`)}`);
    printTable(rows);
    console.log();
  } catch (error) {
    const e = error as { code?: number; message: string; errors?: { reason?: string }[] };
    const reason = e.errors?.[0]?.reason ?? 'error';
    const color = reason === 'approvalRequired' ? yellow : red;
    console.log(`   ${color(`→ ${e.code ?? ''} ${reason}`)}`);
    console.log(wrap(e.message, '     '));
    console.log();
  }
}

/**
 * A query that needs approval: the client gets a job in state PENDING, which it would poll like
 * any other until a data owner decides. Cancelling the job withdraws the approval request.
 */
async function heldStep(n: number, title: string, client: BigQuery, sql: string, cancel: boolean): Promise<void> {
  console.log(`${bold(`${n}.`)} ${title}`);
  console.log(dim(`   ${sql}`));
  const [job] = await client.createQueryJob({ query: sql });
  const [held] = await job.getMetadata();
  console.log(`   ${yellow(`→ job ${held.jobReference.jobId} ${held.status.state}`)} ${dim('(nothing runs until a data owner approves)')}`);
  console.log(wrap(held.status.approval?.message ?? '', '     '));
  if (cancel) {
    const [{ job: ended }] = await job.cancel();
    console.log(dim(`     jobs.cancel: the job is ${ended.status.state} (${ended.status.errorResult?.reason}); the approval request is withdrawn`));
  } else {
    console.log(dim('     approve it on the approver page: the job then runs and job.getQueryResults() returns the rows'));
  }
  console.log();
}

/** One tool call over MCP, printed like a REST step: a tool error as the REST refusal it stands for. */
async function toolStep(n: number, title: string, client: Client, tool: string, sql: string, show: (out: Record<string, unknown>) => void): Promise<void> {
  console.log(`${bold(`${n}.`)} ${title}`);
  console.log(dim(`   ${sql}`));
  const result = await client.callTool({ name: tool, arguments: { sql } });
  if (result.isError) {
    const error = (result._meta?.['sluice.dev/error'] ?? {}) as { code?: number; reason?: string };
    const text = (result.content as { type: string; text?: string }[]).find((c) => c.type === 'text')?.text ?? '';
    const color = error.reason === 'approvalRequired' ? yellow : red;
    console.log(`   ${color(`→ ${error.code ?? ''} ${error.reason ?? 'error'}`)} ${dim('(tool error)')}`);
    // The text leads with the reason and status already shown.
    console.log(wrap(text.replace(/^\S+ \(HTTP \d+\): /, ''), '     '));
  } else show(result.structuredContent ?? {});
  console.log();
}

function printTable(rows: Record<string, unknown>[]): void {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0]!);
  const cells = rows.map((r) => columns.map((c) => format(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => '     ' + values.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  console.log(dim(line(columns)));
  for (const row of cells) console.log(line(row));
}

function format(value: unknown): string {
  if (value === null || value === undefined) return 'NULL';
  if (typeof value === 'object' && 'value' in (value as object)) return String((value as { value: unknown }).value);
  // NUMERIC and BIGNUMERIC arrive as Big numbers.
  if (typeof value === 'object' && typeof (value as { toFixed?: unknown }).toFixed === 'function') return String(value);
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function wrap(text: string, indent: string, width = 100): string {
  const words = text.split(' ');
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    if (line && line.length + word.length + 1 > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l).join('\n');
}

/** The official client with the agent's own OIDC token, fetched again when it expires. */
function agentClient(apiEndpoint: string, getToken: () => Promise<string>): BigQuery {
  const auth = new OAuth2Client();
  auth.refreshHandler = async () => ({ access_token: await getToken(), expiry_date: Date.now() + 60_000 });
  return new BigQuery({ apiEndpoint, projectId: ACME_PROJECT, authClient: auth });
}

/** The emulator checks no credential; the client still wants one. */
function staticAuth(): OAuth2Client {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: 'emulator', expiry_date: Date.now() + 3_600_000 });
  return auth;
}

main().catch((error: Error) => {
  console.error(red(`demo failed: ${error.message}`));
  process.exit(1);
});
