// No raw sensitive value reaches the audit store or its exports. The test plays the gateway: it
// decides with the real policy, masks what "BigQuery returned" with the real masker, and records
// the masked response; the SQL carries a sensitive literal and an upstream error quotes one.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, Engine } from '../../engine/index.ts';
import { AuditLog, scanRecords, toDecisionLogEvent, type AuditRecord } from '../../gateway/audit/index.ts';
import { compileMasker, type TableRow } from '../../gateway/masking/index.ts';
import { openDatabase } from '../../gateway/store/database.ts';
import { sluice } from '../support/cli.ts';
import { storageTargets } from '../support/databases.ts';
import { AGENT, crmSelect, requestEvent } from './helpers.ts';


const SSN = '123-45-6789';
const EMAIL = 'jane.doe@example.com';
const SECOND_SSN = '078-05-1120';
const UNFLAGGED_PHONE = '(415) 555-0123';
const RAW = [SSN, EMAIL, 'jane.doe', SECOND_SSN, UNFLAGGED_PHONE];

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load((await buildBundle({ out: join(mkdtempSync(join(tmpdir(), 'sluice-pii-')), 'bundle.tar.gz') })).path);
});

const cell = (v: string | null) => ({ v });

describe.each(storageTargets())('no raw PII in the audit trail on $engine', ({ engine: storageEngine, url }) => {
  it('stores and exports masked values only', async () => {
    const storage = await url();
    const database = await openDatabase(storage);
    const log = await AuditLog.open(database, { stream: 'gw-pii' });

    // 1. A masked query whose WHERE clause quotes an SSN.
    const input = crmSelect(AGENT, SSN);
    const evaluation = engine.evaluate(input);
    expect(evaluation.decision.outcome).toBe('mask');
    const schema = { fields: [{ name: 'customer_id', type: 'STRING' }, { name: 'ssn', type: 'STRING' }, { name: 'email', type: 'STRING' }] };
    const upstreamRows: TableRow[] = [
      { f: [cell('1001'), cell(SSN), cell(EMAIL)] },
      { f: [cell('1002'), cell('234-56-7890'), cell('max@example.org')] },
    ];
    const masker = compileMasker({ schema, masks: evaluation.decision.masks, contentScan: evaluation.decision.content_scan, hashKey: 'k'.repeat(32) });
    const page = masker.maskRows(upstreamRows);
    expect(JSON.stringify(page.rows)).not.toContain(SSN); // the gateway's own masking works
    await log.record(
      requestEvent(input, evaluation, { masking: masker.totals, response: { schema: masker.schema, rows: page.rows, total_rows: '2' } }),
    );

    // 2. An upstream error that quotes a literal of the SQL back.
    const failing = crmSelect(AGENT, SECOND_SSN);
    await log.record(
      requestEvent(failing, engine.evaluate(failing), {
        status: 400,
        error: { reason: 'invalidQuery', message: `Could not cast literal "${SECOND_SSN}" to type INT64 at [1:52]` },
      }),
    );

    // 3. A response with a value in a column the policy did not flag: the recorder's backstop scan.
    const plain = crmSelect(AGENT, '000');
    await log.record(
      requestEvent(plain, engine.evaluate(plain), {
        response: { schema: { fields: [{ name: 'note', type: 'STRING' }] }, rows: [{ f: [cell(`call ${UNFLAGGED_PHONE} after 5pm`)] }] },
      }),
    );

    // 4. Literals written directly after a word, and an unquoted SSN: BigQuery reads them as
    //    values, and so does the redaction.
    const glued = crmSelect(AGENT, '0');
    const gluedSql = `SELECT customer_id FROM \`acme-analytics.crm.customers\` WHERE TRUE OR'${EMAIL}'='x' AND'${SECOND_SSN}'=ssn OR ssn = ${SSN}`;
    const gluedInput = { ...glued, sql: { ...glued.sql, text: gluedSql } };
    await log.record(requestEvent(gluedInput, engine.evaluate(glued)));

    const records: AuditRecord[] = [];
    for await (const { record } of scanRecords(database.db)) records.push(record);
    const bodies = JSON.stringify(records);
    const events = records.flatMap((r) => (r.kind === 'request' ? [JSON.stringify(toDecisionLogEvent(r))] : [])).join('\n');
    await log.close();
    await database.close();

    const exports: string[] = [];
    for (const format of ['opa-decision-log', 'records']) {
      const run = await sluice(['audit', 'export', '--format', format], { SLUICE_STORAGE: storage });
      expect(run.code).toBe(0);
      exports.push(run.stdout);
    }

    const haystacks: Record<string, string> = { 'stored records': bodies, 'decision-log events': events, 'CLI exports': exports.join('\n') };
    if (storageEngine === 'sqlite') {
      // Every byte on disk: the database file, its WAL and anything else SQLite left behind.
      const dir = dirname(storage.slice('sqlite:'.length));
      for (const file of readdirSync(dir)) haystacks[file] = readFileSync(join(dir, file)).toString('latin1');
    }
    for (const [where, text] of Object.entries(haystacks)) {
      for (const value of RAW) expect(text.includes(value), `${value} found in ${where}`).toBe(false);
    }

    // What is there instead: masked values, redacted SQL, and marks saying so.
    const [masked, failed, scrubbed] = records as Extract<AuditRecord, { kind: 'request' }>[];
    expect(masked!.data.response!.rows[0]!.f[1]!.v).toBe('***-**-6789');
    expect(masked!.data.sql).toBe("SELECT customer_id, ssn, email FROM `acme-analytics.crm.customers` WHERE customer_id != ?");
    expect(masked!.data.input!.sql.text).toBe(masked!.data.sql);
    expect(masked!.data.sql_hash).toBe(input.sql.hash); // still identifies the statement
    expect(masked!.data.redactions).toEqual(expect.arrayContaining(['/sql', '/input/sql/text']));
    expect(masked!.data.masking!.cells_masked).toBeGreaterThan(0);
    expect(failed!.data.error!.message).toBe('Could not cast literal "?" to type INT64 at [1:52]');
    expect(failed!.data.redactions).toContain('/error/message');
    expect(scrubbed!.data.response).toMatchObject({ scrubbed_values: 1, rows: [{ f: [{ v: 'call [REDACTED] after 5pm' }] }] });
    expect(scrubbed!.data.redactions).toContain('/response/rows');
    const gluedRecord = records[3] as Extract<AuditRecord, { kind: 'request' }>;
    expect(gluedRecord.data.sql).toBe("SELECT customer_id FROM `acme-analytics.crm.customers` WHERE TRUE OR?=? AND?=ssn OR ssn = ?-?-?");
    expect(gluedRecord.data.input!.sql.text).toBe(gluedRecord.data.sql);
  });
});
