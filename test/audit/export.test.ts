// Decision-log export in OPA's event format.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, Engine } from '../../engine/index.ts';
import { AuditLog, toDecisionLogEvent, type AuditRequestRecord, type DecisionLogEvent } from '../../gateway/audit/index.ts';
import { openDatabase } from '../../gateway/store/database.ts';
import { sluice } from '../support/cli.ts';
import { storageTargets } from '../support/databases.ts';
import { AGENT, ANALYST, crmSelect, financeSelect, plainEvent, requestEvent } from './helpers.ts';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load((await buildBundle({ out: join(mkdtempSync(join(tmpdir(), 'sluice-export-')), 'bundle.tar.gz') })).path);
});

describe.each(storageTargets())('OPA decision-log export on $engine', ({ url }) => {
  it('writes one event per decision with OPA’s fields, as NDJSON', async () => {
    const storage = await url();
    const database = await openDatabase(storage);
    const log = await AuditLog.open(database, { stream: 'gw-export' });
    const masked = crmSelect(AGENT);
    const maskedEval = engine.evaluate(masked);
    const first = requestEvent(masked, maskedEval);
    const firstRecord = await log.record(first);
    const approve = financeSelect(ANALYST);
    await log.record(requestEvent(approve, engine.evaluate(approve)));
    await log.record(plainEvent(1)); // no decision: not a decision-log event
    await log.record({ kind: 'config_reload', component: 'policy', ok: true, revision: engine.revision });
    await log.close();
    await database.close();

    const env = { SLUICE_STORAGE: storage };
    const { stdout, code } = await sluice(['audit', 'export', '--format', 'opa-decision-log'], env);
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    const events = lines.map((line) => JSON.parse(line) as DecisionLogEvent);
    const [event] = events;
    expect(event).toMatchObject({
      decision_id: firstRecord.id,
      request_context: { http: { headers: { 'x-request-id': [first.request_id] } } },
      path: 'sluice/decision',
      labels: { app: 'sluice', id: 'gw-export' },
      bundles: { sluice: { revision: engine.revision } },
      requested_by: AGENT.subject,
      result: maskedEval.decision,
      masked: ['/input/sql/text'],
    });
    expect(event!.timestamp).toMatch(RFC3339);
    expect(event!.input).toMatchObject({ identity: AGENT, sql: { hash: masked.sql.hash, text: expect.stringContaining('WHERE customer_id != ?') } });
    expect(event!.metrics.timer_rego_query_eval_ns).toBe(Math.round(maskedEval.evalNs));
    expect(event!.metrics).toMatchObject({ timer_server_handler_ns: 170_000_000, timer_sluice_decision_ns: 250_000, timer_sluice_upstream_ns: 120_500_000 });
    expect(event!.erased).toBeUndefined();
    expect(events[1]).toMatchObject({ result: { outcome: 'approve' }, requested_by: ANALYST.subject });

    // OPA-style erasure and masking on export.
    const erased = await sluice(
      ['audit', 'export', '--erase', '/input/identity/claims', '--erase', '/input/sql/text', '--mask', '/input/identity/subject', '--since', '1h'],
      env,
    );
    const redacted = JSON.parse(erased.stdout.split('\n')[0]!) as DecisionLogEvent;
    expect(redacted.erased).toEqual(['/input/identity/claims', '/input/sql/text']);
    expect(redacted.masked).toEqual(['/input/identity/subject']);
    expect(redacted.input!.identity).not.toHaveProperty('claims');
    expect(redacted.input!.sql).not.toHaveProperty('text');
    expect(redacted.input!.identity.subject).toBe('**REDACTED**');

    // Only /input and /result can be masked, as in OPA.
    const refused = await sluice(['audit', 'export', '--erase', '/labels/id'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/under \/input or \/result/);
  });
});

describe('toDecisionLogEvent', () => {
  it('skips records that hold no decision', () => {
    const record = {
      v: 1,
      stream: 's',
      seq: 1,
      id: 'x',
      at: '2026-01-01T00:00:00.000Z',
      kind: 'request',
      data: { decision: null },
    } as unknown as AuditRequestRecord;
    expect(toDecisionLogEvent(record)).toBeUndefined();
  });
});
