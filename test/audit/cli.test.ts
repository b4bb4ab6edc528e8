// The audit commands end to end: list, show, verify (exit codes), purge, replay.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, Engine } from '../../engine/index.ts';
import { AuditLog } from '../../gateway/audit/index.ts';
import { compileMasker } from '../../gateway/masking/index.ts';
import { openDatabase } from '../../gateway/store/database.ts';
import { sluice } from '../support/cli.ts';
import { storageTargets } from '../support/databases.ts';
import { AGENT, ANALYST, crmSelect, financeSelect, forwardOf, plainEvent, requestEvent, salesSelect } from './helpers.ts';

/** `sluice …args --storage <storage>`. */
const cli = (args: string[], storage: string) => sluice([...args, '--storage', storage]);

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load((await buildBundle({ out: join(mkdtempSync(join(tmpdir(), 'sluice-cli-')), 'bundle.tar.gz') })).path);
});

describe.each(storageTargets())('sluice audit on $engine', ({ url }) => {
  it('lists, shows, replays, verifies and purges', { timeout: 120_000 }, async () => {
    const storage = await url();
    const database = await openDatabase(storage);
    const log = await AuditLog.open(database, { stream: 'gw-cli' });
    const old = new Date(Date.now() - 200 * 86_400_000);
    await log.record(plainEvent(1, { at: old }));
    const crm = crmSelect(AGENT);
    const decided = engine.evaluate(crm);
    const schema = { fields: [{ name: 'customer_id', type: 'STRING' }, { name: 'ssn', type: 'STRING' }, { name: 'email', type: 'STRING' }] };
    const masker = compileMasker({ schema, masks: decided.decision.masks, contentScan: decided.decision.content_scan, hashKey: 'k'.repeat(32) });
    const rows = masker.maskRows([{ f: [{ v: '1001' }, { v: '123-45-6789' }, { v: 'jane.doe@example.com' }] }]).rows;
    const replayed = requestEvent(crm, decided, { response: { schema: masker.schema, rows, total_rows: '1' }, masking: masker.totals });
    await log.record(replayed);
    const finance = financeSelect(ANALYST);
    const approval = requestEvent(finance, engine.evaluate(finance));
    await log.record(approval);
    await log.record({ kind: 'approval', approval_id: 'ap-1', action: 'requested', subject: ANALYST.subject, request_id: approval.request_id });
    const sales = salesSelect(AGENT);
    const salesEvaluation = engine.evaluate(sales);
    const answered = requestEvent(sales, salesEvaluation);
    await log.record(forwardOf(answered));
    await log.record(answered);
    // Sent upstream, but the answer could not be recorded (the agent got a 503).
    const unanswered = requestEvent(sales, salesEvaluation);
    await log.record(forwardOf(unanswered));
    await log.close();
    await database.close();

    const list = await cli(['audit', 'list'], storage);
    expect(list.code).toBe(0);
    // One line per call: the forward record of an answered call is not listed, an unanswered one is.
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(6);
    expect(lines.filter((l) => l.includes(answered.request_id)).map((l) => l.split(/\s+/)[2])).toEqual(['request']);
    expect(lines.filter((l) => l.includes(unanswered.request_id)).map((l) => l.split(/\s+/)[2])).toEqual(['forward']);
    const forwards = await cli(['audit', 'list', '--kind', 'forward', '--json'], storage);
    expect(JSON.parse(forwards.stdout).map((r: { data: { request_id: string } }) => r.data.request_id)).toEqual([unanswered.request_id, answered.request_id]);
    const salesAllowed = await cli(['audit', 'list', '--table', 'sales.orders', '--outcome', 'allow', '--json'], storage);
    expect(JSON.parse(salesAllowed.stdout).map((r: { kind: string; data: { request_id: string } }) => [r.kind, r.data.request_id])).toEqual([
      ['forward', unanswered.request_id],
      ['request', answered.request_id],
    ]);
    const withheld = await cli(['replay', unanswered.request_id], storage);
    expect(withheld.code).toBe(0);
    expect(withheld.stdout).toMatch(/sent upstream, but no answer was recorded/);
    const approvals = await cli(['audit', 'list', '--outcome', 'approve', '--json'], storage);
    expect(JSON.parse(approvals.stdout).map((r: { data: { request_id: string } }) => r.data.request_id)).toEqual([approval.request_id]);
    const byTable = await cli(['audit', 'list', '--table', 'crm.customers', '--identity', AGENT.subject, '--since', '1d', '--json'], storage);
    expect(JSON.parse(byTable.stdout)).toHaveLength(1);
    const none = await cli(['audit', 'list', '--table', 'crm_customers'], storage); // `_` is not a LIKE wildcard here
    expect(none.stderr).toMatch(/no records match/);

    const show = await cli(['audit', 'show', approval.request_id, '--json'], storage);
    expect(JSON.parse(show.stdout).map((r: { kind: string }) => r.kind)).toEqual(['request', 'approval']);

    const replay = await cli(['replay', replayed.request_id], storage);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(AGENT.subject);
    expect(replay.stdout).toContain('WHERE customer_id != ?');
    expect(replay.stdout).toMatch(/^mask/m);
    expect(replay.stdout).toMatch(/customer_id\s+ssn\s+email/);
    expect(replay.stdout).toMatch(/1001\s+\*\*\*-\*\*-6789\s+\*\*\*@example\.com/);
    expect(replay.stdout).not.toContain('123-45-6789');

    const intact = await cli(['audit', 'verify'], storage);
    expect(intact.code).toBe(0);
    expect(intact.stdout).toMatch(/intact gw-cli: 7 record\(s\), seq 1\.\.7 from genesis/);

    const purge = await cli(['audit', 'purge', '--older-than', '90d'], storage);
    expect(purge.stdout).toMatch(/gw-cli: deleted 1 record\(s\) through seq 1, checkpoint gw-cli:8/);
    expect((await cli(['audit', 'verify'], storage)).stdout).toMatch(/from checkpoint seq 8 \(purged through 1\)/);

    const tamper = await openDatabase(storage);
    const target = await tamper.db.selectFrom('audit_records').select('id').where('seq', '=', 3).executeTakeFirstOrThrow();
    await sql`UPDATE audit_records SET body = replace(body, '"approve"', '"allow"') WHERE stream = 'gw-cli' AND seq = 3`.execute(tamper.db);
    await tamper.close();
    const broken = await cli(['audit', 'verify'], storage);
    expect(broken.code).toBe(7);
    expect(broken.stdout).toContain(`BROKEN gw-cli at seq 3 (record ${target.id}): hash_mismatch`);
    expect(broken.stdout).toContain(`first broken record: gw-cli:3 ${target.id}`);
    expect((await cli(['audit', 'purge', '--older-than', '1d'], storage)).code).toBe(7);
  });
});

describe('sluice replay and sluice audit list on a record holding terminal escapes', () => {
  // An agent's SQL (a quoted identifier keeps what the audit log's redaction keeps), a value of its
  // result and its token's subject reach the record as sent; printed raw they would conceal, erase
  // or reorder lines of the operator's terminal.
  it('show control, bidi and invisible characters as visible escapes', { timeout: 60_000 }, async () => {
    const { url } = storageTargets()[0]!;
    const storage = await url();
    const database = await openDatabase(storage);
    const log = await AuditLog.open(database, { stream: 'gw-esc' });
    const sneaky = { ...AGENT, subject: 'report-bot\u202e\u001b[2K' };
    const input = crmSelect(sneaky);
    input.sql.text = "SELECT ssn FROM `acme-analytics.crm.customers` AS `\u001b[8m\u001b[1A\u001b[2K`";
    const evaluation = engine.evaluate(input);
    const event = requestEvent(input, evaluation, { response: { schema: { fields: [{ name: 'ssn', type: 'STRING' }] }, rows: [{ f: [{ v: 'x\u001b]0;pwned\u0007' }] }], total_rows: '1' } });
    await log.record(event);
    await log.close();
    await database.close();

    const replay = await cli(['replay', event.request_id], storage);
    expect(replay.code, replay.stderr).toBe(0);
    const list = await cli(['audit', 'list'], storage);
    const show = await cli(['audit', 'show', event.request_id], storage);
    for (const out of [replay.stdout, list.stdout, show.stdout]) expect(out).not.toMatch(/[\u001b\u0007\u202e]/);
    for (const out of [replay.stdout, list.stdout]) expect(out).toContain('report-bot\\u{202E}\\u{1B}[2K');
    expect(show.stdout).toContain('"subject": "report-bot\\\\u{202E}\\\\u{1B}[2K"');
    expect(replay.stdout).toContain('`\\u{1B}[8m\\u{1B}[1A\\u{1B}[2K`');
    expect(replay.stdout).toContain('x\\u{1B}]0;pwned\\u{7}');
  });
});

describe('sluice audit usage', () => {
  it('refuses a missing SQLite store and bad arguments with exit 2', async () => {
    const missing = join(mkdtempSync(join(tmpdir(), 'sluice-cli-')), 'nope.sqlite');
    const run = await cli(['audit', 'list'], `sqlite:${missing}`);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('no audit store at');
    const store = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sluice-cli-')), 'x.sqlite')}`;
    (await openDatabase(store)).close();
    expect((await cli(['audit', 'list', '--since', 'yesterday'], store)).code).toBe(2);
    expect((await cli(['audit', 'purge', '--older-than', 'soon'], store)).code).toBe(2);
  });
});
