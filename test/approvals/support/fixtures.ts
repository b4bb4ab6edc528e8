// Identities, policy inputs and `approve` decisions shaped like the default policy's, for the
// approval tests; plus an event recorder and a controllable clock.
import type { Approval, Identity, PolicyInput } from '../../../engine/schema-types.ts';
import { sqlHash as statementHash } from '../../../engine/sql/analysis.ts';
import type { ApprovalEvent, RequestApprovalArgs } from '../../../gateway/approvals/index.ts';

export const ISSUER = 'https://idp.acme-analytics.example';

export function person(subject: string, groups: string[], issuer = ISSUER): Identity {
  return { subject, issuer, kind: 'human', groups, claims: {} };
}

export function agent(subject: string, groups: string[] = ['agents'], issuer = ISSUER): Identity {
  return { subject, issuer, kind: 'agent', groups, claims: {} };
}

export const alice = person('alice', ['data-owners']);
export const carol = person('carol', ['data-owners', 'analysts']);
export const bob = person('bob', ['analysts']);
export const reportingAgent = agent('reporting-agent');

/** The statement hash the gateway computes for `text` run in acme-analytics. */
export function sqlHash(text: string): string {
  return statementHash(text, { project: 'acme-analytics' });
}

export const LEDGER_SQL = 'SELECT account, amount FROM `acme-analytics.finance.ledger` WHERE booked_on >= "2025-01-01"';

export interface AskOptions {
  sql?: string;
  approval?: Partial<Approval>;
  estimateBytes?: number;
  now?: Date;
}

/** What the gateway hands requestApproval after the default policy answered `approve`. */
export function financeAsk(identity: Identity, options: AskOptions = {}): RequestApprovalArgs {
  const text = options.sql ?? LEDGER_SQL;
  const hash = sqlHash(text);
  const now = options.now ?? new Date();
  const input: PolicyInput = {
    now: { unix: Math.floor(now.getTime() / 1000), rfc3339: now.toISOString() },
    identity,
    request: { project: 'acme-analytics', route: 'jobs.query' },
    sql: {
      text,
      hash,
      parsed: true,
      statements: [
        {
          index: 0,
          type: 'SELECT',
          category: 'read',
          parsed: true,
          tables: [{ id: 'acme-analytics.finance.ledger', project: 'acme-analytics', dataset: 'finance', table: 'ledger', mode: 'read' }],
          columns: [
            { table: 'acme-analytics.finance.ledger', column: 'account' },
            { table: 'acme-analytics.finance.ledger', column: 'amount' },
          ],
          predicate_columns: [{ table: 'acme-analytics.finance.ledger', column: 'account' }],
          functions: [],
          outputs: [],
        },
      ],
    },
    estimate: { bytes: options.estimateBytes ?? 3_221_225_472, source: 'dry_run' },
    grants: [],
  };
  const approval: Approval = {
    approver_groups: ['data-owners'],
    min_approvals: 1,
    grant_ttl_seconds: 3600,
    request_ttl_seconds: 86400,
    scope: { kind: 'dataset', datasets: ['acme-analytics.finance'] },
    ...options.approval,
  };
  return {
    identity,
    sqlText: text,
    sqlHash: hash,
    input,
    decision: {
      outcome: 'approve',
      reasons: [
        {
          code: 'approval_required',
          message: 'statement 0 reads acme-analytics.finance.ledger; dataset finance needs a just-in-time grant approved by data-owners',
          rule: 'sluice.access.approve_dataset',
          statement: 0,
        },
      ],
      approval,
    },
  };
}

/** A one-time, statement-scoped ask like the default policy's byte threshold. */
export function bytesAsk(identity: Identity, sql = LEDGER_SQL): RequestApprovalArgs {
  return financeAsk(identity, {
    sql,
    estimateBytes: 20 * 1024 ** 3,
    approval: { one_time: true, scope: { kind: 'statement', statement_hash: sqlHash(sql) }, request_ttl_seconds: undefined },
  });
}

export function recorder(): { events: ApprovalEvent[]; listener: (e: ApprovalEvent) => void; actions(): string[] } {
  const events: ApprovalEvent[] = [];
  return {
    events,
    listener: (event) => events.push(event),
    actions: () => events.map((e) => (e.action === 'refused' ? `refused:${e.error?.code}` : e.action)),
  };
}

export class TestClock {
  ms: number;
  constructor(start = Date.parse('2025-06-02T09:00:00Z')) {
    this.ms = start;
  }
  now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
  date(): Date {
    return new Date(this.ms);
  }
}
