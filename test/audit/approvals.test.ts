// The approval store's events, recorded through approvalAuditListener: every step of a request
// and every grant change is in the chain, without the statement's literals.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, Engine, type Identity } from '../../engine/index.ts';
import { createApprovalStore } from '../../gateway/approvals/index.ts';
import { AuditLog, approvalAuditListener, verifyAudit, type AuditRecord } from '../../gateway/audit/index.ts';
import { openDatabase } from '../../gateway/store/database.ts';
import { storageTargets } from '../support/databases.ts';
import { ANALYST, financeSelect, recordValidator } from './helpers.ts';

const OWNER: Identity = { subject: 'olga@acme.example', issuer: 'https://idp.acme.example', kind: 'human', groups: ['data-owners'], claims: {} };

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load((await buildBundle({ out: join(mkdtempSync(join(tmpdir(), 'sluice-approvals-')), 'bundle.tar.gz') })).path);
});

describe.each(storageTargets())('approval events in the audit trail on $engine', ({ url }) => {
  it('records requests, votes, grants, consumption and revocation as chained records', async () => {
    const database = await openDatabase(await url());
    const audit = await AuditLog.open(database, { stream: 'gw-approvals' });
    const failures: unknown[] = [];
    const store = createApprovalStore({
      database,
      publicUrl: 'https://sluice.acme.example',
      onEvent: approvalAuditListener(audit, (error) => failures.push(error)),
      sweepIntervalMs: 0,
    });

    const input = financeSelect(ANALYST, 'payroll-2026-secret');
    const { decision } = engine.evaluate(input);
    expect(decision.outcome).toBe('approve');
    const oneTime = { ...decision, approval: { ...decision.approval!, one_time: true } };
    const asked = await store.requestApproval({ identity: ANALYST, sqlText: input.sql.text, sqlHash: input.sql.hash, input, decision: oneTime });
    await store.requestApproval({ identity: ANALYST, sqlText: input.sql.text, sqlHash: input.sql.hash, input, decision: oneTime });
    const voted = await store.vote({ requestId: asked.id, approver: OWNER, vote: 'approve', comment: 'quarter close' });
    const grantId = voted.grant!.id;
    await store.consumeOneTime([grantId], 'req-after-approval');
    await store.revoke(grantId, OWNER, 'done');
    await store.close();
    await audit.flush();

    expect(failures).toEqual([]);
    const rows = await database.db.selectFrom('audit_records').select(['body', 'kind', 'subject']).orderBy('seq').execute();
    const records = rows.map((r) => JSON.parse(r.body) as AuditRecord);
    const steps = records.map((r) => (r.kind === 'approval' || r.kind === 'grant' ? `${r.kind}:${r.data.action}` : r.kind));
    expect(steps).toEqual(['approval:requested', 'approval:reused', 'approval:voted', 'approval:approved', 'grant:created', 'grant:consumed', 'grant:revoked']);
    const created = records.find((r) => r.kind === 'grant' && r.data.action === 'created');
    expect(created).toMatchObject({ data: { grant_id: grantId, subject: ANALYST.subject, approval_id: asked.id, actor: OWNER.subject, one_time: true } });
    const consumed = records.find((r) => r.kind === 'grant' && r.data.action === 'consumed');
    expect(consumed).toMatchObject({ data: { grant_id: grantId, request_id: 'req-after-approval' } });
    const requested = records.find((r) => r.kind === 'approval' && r.data.action === 'requested');
    expect(requested).toMatchObject({ data: { approval_id: asked.id, subject: ANALYST.subject, approver_groups: ['data-owners'], tables: ['acme-analytics.finance.ledger'] } });

    const validate = recordValidator();
    for (const record of records) expect(validate(record), JSON.stringify(validate.errors)).toBe(true);
    expect(JSON.stringify(records)).not.toContain('payroll-2026-secret');
    expect((await verifyAudit(database.db)).ok).toBe(true);
    await database.close();
  });
});
