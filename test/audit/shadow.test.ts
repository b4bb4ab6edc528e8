// Shadow evaluation against the real default policy and a candidate that lets analysts read the
// finance dataset: exactly the analysts' finance requests change, and the allow-list gates CI.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEFAULT_REGO_DIR } from '../../engine/build.ts';
import { buildBundle, Engine, type PolicyInput } from '../../engine/index.ts';
import { AuditLog, shadowEvaluate, type RecordedAudit } from '../../gateway/audit/index.ts';
import { openDatabase, type Database } from '../../gateway/store/database.ts';
import { sluice } from '../support/cli.ts';
import { storageTargets } from '../support/databases.ts';
import { AGENT, ANALYST, ANALYST_2, crmSelect, financeSelect, requestEvent, salesSelect } from './helpers.ts';

let baseline: Engine;
let candidatePath: string;
let candidate: Engine;
const work = mkdtempSync(join(tmpdir(), 'sluice-shadow-'));

beforeAll(async () => {
  baseline = await Engine.load((await buildBundle({ out: join(work, 'default.tar.gz') })).path);
  const regoDir = join(work, 'rego');
  cpSync(DEFAULT_REGO_DIR, regoDir, { recursive: true });
  const dataFile = join(regoDir, 'org', 'data.yaml');
  const data = parse(readFileSync(dataFile, 'utf8'));
  data.projects['acme-analytics'].datasets.finance.readers = ['analysts'];
  writeFileSync(dataFile, stringify(data));
  candidatePath = (await buildBundle({ regoDir, out: join(work, 'candidate.tar.gz') })).path;
  candidate = await Engine.load(candidatePath);
});

const cases: { name: string; input: () => PolicyInput; outcome: string; changes: boolean }[] = [
  { name: 'analyst reads finance', input: () => financeSelect(ANALYST, 'ops'), outcome: 'approve', changes: true },
  { name: 'analyst reads finance again', input: () => financeSelect(ANALYST, 'payroll'), outcome: 'approve', changes: true },
  { name: 'another analyst reads finance', input: () => financeSelect(ANALYST_2, 'ops'), outcome: 'approve', changes: true },
  { name: 'analyst reads sales', input: () => salesSelect(ANALYST, 1), outcome: 'allow', changes: false },
  { name: 'agent reads sales', input: () => salesSelect(AGENT, 2), outcome: 'allow', changes: false },
  { name: 'agent reads customers', input: () => crmSelect(AGENT), outcome: 'mask', changes: false },
  { name: 'agent reads finance', input: () => financeSelect(AGENT, 'ops'), outcome: 'approve', changes: false },
];

describe.each(storageTargets())('shadow evaluation on $engine', ({ url }) => {
  let database: Database;
  let storage: string;
  const recorded = new Map<string, RecordedAudit & { requestId: string }>();

  beforeAll(async () => {
    storage = await url();
    database = await openDatabase(storage);
    const log = await AuditLog.open(database, { stream: 'gw-1' });
    for (const c of cases) {
      const input = c.input();
      const evaluation = baseline.evaluate(input);
      expect(evaluation.decision.outcome, c.name).toBe(c.outcome);
      const event = requestEvent(input, evaluation);
      recorded.set(c.name, { ...(await log.record(event)), requestId: event.request_id });
    }
  });

  afterAll(async () => {
    await database?.close();
  });

  it('reports exactly the analysts\u2019 finance requests as changed, grouped', async () => {
    const report = await shadowEvaluate(database.db, candidate);
    const expected = cases.filter((c) => c.changes).map((c) => recorded.get(c.name)!.requestId);
    expect(report.evaluated).toBe(cases.length);
    expect(report.changed).toBe(expected.length);
    expect(report.changes.map((c) => c.requestId).sort()).toEqual([...expected].sort());
    for (const change of report.changes) {
      expect(change).toMatchObject({ from: { outcome: 'approve' }, to: { outcome: 'allow' }, tables: ['acme-analytics.finance.ledger'] });
      expect(change.reasonsRemoved).toContain('approval_required');
    }
    expect(report.groups).toHaveLength(1);
    expect(report.groups[0]).toMatchObject({ from: 'approve', to: 'allow', count: 3, subjects: [ANALYST.subject, ANALYST_2.subject] });
    expect(report.passed).toBe(false);
    expect(report.candidateRevision).toBe(candidate.revision);
  });

  it('is a CI gate: non-zero exit for changes, zero when the allow-list covers them', async () => {
    const env = { SLUICE_STORAGE: storage };
    const failed = await sluice(['shadow', '--bundle', candidatePath], env);
    expect(failed.code).toBe(8);
    expect(failed.stdout).toMatch(/3 would change, in 1 group/);
    expect(failed.stdout).toMatch(/approve → allow/);

    const allowFile = join(work, `allow-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(
      allowFile,
      stringify([{ description: 'analysts read finance without approval', from: 'approve', to: 'allow', tables: ['acme-analytics.finance.*'], subjects: ['*@acme.example'], reasons_removed: ['approval_required', 'grant_used'] }]),
    );
    const passed = await sluice(['shadow', '--bundle', candidatePath, '--allow-changes', allowFile, '--json'], env);
    expect(passed.code).toBe(0);
    const report = JSON.parse(passed.stdout);
    expect(report).toMatchObject({ changed: 3, unallowed: 0, passed: true });

    // A cap lower than the number of changes fails the gate again.
    writeFileSync(allowFile, stringify({ allow: [{ from: 'approve', to: 'allow', tables: ['acme-analytics.finance.*'], max: 2 }] }));
    const capped = await sluice(['shadow', '--bundle', candidatePath, '--allow-changes', allowFile], env);
    expect(capped.code).toBe(8);
    expect(capped.stdout).toMatch(/more than its max 2/);

    // The baseline bundle changes nothing.
    const same = await sluice(['shadow', '--bundle', join(work, 'default.tar.gz')], env);
    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/no decision would change/);
  });
});
