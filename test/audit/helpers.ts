// Shared by the audit tests: policy inputs shaped exactly as the normalizer produces them (the
// same examples as rego/sluice/testdata), request events, and the audit record schema validator.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Evaluation, Identity, PolicyInput, Statement } from '../../engine/index.ts';
import type { ForwardAuditEvent, RequestAuditEvent } from '../../gateway/audit/index.ts';

export const ORDERS = 'acme-analytics.sales.orders';
export const CUSTOMERS = 'acme-analytics.crm.customers';
export const LEDGER = 'acme-analytics.finance.ledger';

const identity = (subject: string, kind: Identity['kind'], groups: string[]): Identity => ({
  subject,
  issuer: 'https://idp.acme.example',
  kind,
  groups,
  claims: { email: subject },
});

export const AGENT = identity('report-bot@agents.acme.example', 'agent', ['agents']);
export const ANALYST = identity('ana@acme.example', 'human', ['analysts']);
export const ANALYST_2 = identity('bo@acme.example', 'human', ['analysts']);

const ref = (id: string, mode: 'read' | 'write' = 'read') => {
  const [project, dataset, ...table] = id.split('.');
  return { id, project: project!, dataset: dataset!, table: table.join('.'), mode };
};
const direct = (index: number, name: string, table: string, column: string) => ({
  index,
  name,
  sources: [{ table, column }],
  lineage: 'known' as const,
  direct: true,
});
const derived = (index: number, name: string, table: string, column: string) => ({ ...direct(index, name, table, column), direct: false });

function select(table: string, outputs: Statement['outputs'], predicates: readonly string[]): Statement {
  const predicate_columns = predicates.map((column) => ({ table, column }));
  return {
    index: 0,
    type: 'SELECT',
    category: 'read',
    parsed: true,
    tables: [ref(table)],
    columns: [...outputs.flatMap((o) => o.sources), ...predicate_columns],
    predicate_columns,
    functions: [],
    outputs,
  };
}

export function policyInput(who: Identity, sql: string, statement: Statement, bytes = 12 * 1024 * 1024): PolicyInput {
  return {
    now: { unix: 1_767_225_600, rfc3339: '2026-01-01T00:00:00Z' },
    identity: who,
    request: { project: 'acme-analytics', route: 'jobs.query' },
    sql: { text: sql, hash: createHash('sha256').update(sql.replace(/\s+/g, ' ').trim()).digest('hex'), parsed: true, statements: [statement] },
    estimate: { bytes, source: 'dry_run', referenced_tables: statement.tables.map((t) => t.id), unparsed_tables: [] },
    grants: [],
  };
}

export const salesSelect = (who: Identity, n = 0) =>
  policyInput(who, `SELECT order_id, amount FROM \`${ORDERS}\` WHERE amount > ${n}`, select(ORDERS, [direct(0, 'order_id', ORDERS, 'order_id'), direct(1, 'amount', ORDERS, 'amount')], ['amount']));

/** A masked read whose SQL quotes an SSN (a filter on a plain column: one on ssn is denied). */
export const crmSelect = (who: Identity, ssn = '123-45-6789') =>
  policyInput(
    who,
    `SELECT customer_id, ssn, email FROM \`${CUSTOMERS}\` WHERE customer_id != '${ssn}'`,
    select(CUSTOMERS, [direct(0, 'customer_id', CUSTOMERS, 'customer_id'), direct(1, 'ssn', CUSTOMERS, 'ssn'), direct(2, 'email', CUSTOMERS, 'email')], ['customer_id']),
    40 * 1024 * 1024,
  );

export const financeSelect = (who: Identity, account = 'ops') =>
  policyInput(
    who,
    `SELECT account, SUM(amount) AS total FROM \`${LEDGER}\` WHERE account = '${account}' GROUP BY account`,
    select(LEDGER, [direct(0, 'account', LEDGER, 'account'), derived(1, 'total', LEDGER, 'amount')], ['account']),
    200 * 1024 * 1024,
  );

let counter = 0;

/** A request event as the gateway would record it after deciding with `evaluation`. */
export function requestEvent(input: PolicyInput, evaluation: Evaluation, extra: Partial<RequestAuditEvent> = {}): RequestAuditEvent {
  const allowed = evaluation.decision.outcome === 'allow' || evaluation.decision.outcome === 'mask';
  return {
    kind: 'request',
    request_id: `req-${++counter}-${Math.random().toString(36).slice(2, 8)}`,
    identity: { subject: input.identity.subject, issuer: input.identity.issuer, kind: input.identity.kind, groups: input.identity.groups },
    route: 'jobs.query',
    connection: 'default',
    project: input.request.project,
    sql: input.sql.text,
    input,
    evaluation,
    bytes: { estimated: input.estimate?.bytes ?? null, processed: allowed ? 1024 : null },
    job: allowed ? { id: `job_${counter}`, location: 'EU' } : null,
    status: allowed ? 200 : 403,
    error: allowed ? null : { reason: evaluation.decision.outcome === 'approve' ? 'approvalRequired' : 'accessDenied', message: 'refused by policy' },
    timings_ms: { decision: 0.25, dry_run: allowed ? 40 : null, upstream: allowed ? 120.5 : null, total: 170 },
    ...extra,
  };
}

/** A simple event that needs no engine. */
export function plainEvent(i: number, extra: Partial<RequestAuditEvent> = {}): RequestAuditEvent {
  return {
    kind: 'request',
    request_id: `plain-${i}`,
    identity: { subject: `agent-${i % 5}`, issuer: 'https://idp.test', kind: 'agent', groups: ['agents'] },
    route: 'jobs.query',
    sql: `SELECT ${i}`,
    status: 200,
    timings_ms: { total: 1 + i },
    ...extra,
  };
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Validates stored bodies against schemas/audit-record.schema.json. */
export function recordValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  addFormats(ajv);
  ajv.addKeyword({ keyword: 'tsType' });
  const schema = JSON.parse(readFileSync(new URL('../../schemas/audit-record.schema.json', import.meta.url), 'utf8')) as object;
  return ajv.compile(schema);
}

/** The forward record the gateway writes ahead of sending `event`'s call upstream. */
export function forwardOf(event: RequestAuditEvent): ForwardAuditEvent {
  const tables = [...new Set(event.input?.sql.statements.flatMap((s) => s.tables.map((t) => t.id)) ?? [])];
  const outcome = event.evaluation?.decision.outcome;
  return {
    kind: 'forward',
    request_id: event.request_id,
    identity: event.identity,
    route: event.route,
    operation: event.route,
    connection: event.connection ?? null,
    project: event.project ?? null,
    sql: event.sql ?? null,
    sql_hash: event.input?.sql.hash ?? null,
    outcome: outcome === 'allow' || outcome === 'mask' ? outcome : null,
    revision: event.evaluation?.revision ?? null,
    tables,
  };
}
