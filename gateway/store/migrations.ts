// Schema migrations, in code so one set serves SQLite and PostgreSQL. Append; never edit one
// that has shipped.
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';

const initial: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('audit_records')
      .addColumn('stream', 'text', (c) => c.notNull())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('id', 'text', (c) => c.notNull().unique())
      .addColumn('at_ms', 'bigint', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text')
      .addColumn('subject', 'text')
      .addColumn('outcome', 'text')
      .addColumn('route', 'text')
      .addColumn('tables', 'text')
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('prev_hash', 'text', (c) => c.notNull())
      .addColumn('hash', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('audit_records_pk', ['stream', 'seq'])
      .execute();
    await db.schema.createIndex('audit_records_at').on('audit_records').column('at_ms').execute();
    await db.schema.createIndex('audit_records_subject').on('audit_records').columns(['subject', 'at_ms']).execute();
    await db.schema.createIndex('audit_records_request').on('audit_records').column('request_id').execute();

    await db.schema
      .createTable('approval_requests')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('sql_text', 'text', (c) => c.notNull())
      .addColumn('sql_hash', 'text', (c) => c.notNull())
      .addColumn('dedupe_key', 'text', (c) => c.notNull())
      .addColumn('input', 'text', (c) => c.notNull())
      .addColumn('decision', 'text', (c) => c.notNull())
      .addColumn('approver_groups', 'text', (c) => c.notNull())
      .addColumn('min_approvals', 'integer', (c) => c.notNull())
      .addColumn('grant_ttl_seconds', 'integer', (c) => c.notNull())
      .addColumn('one_time', 'integer', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('decided_at_ms', 'bigint')
      .addColumn('grant_id', 'text')
      .execute();
    await db.schema.createIndex('approval_requests_status').on('approval_requests').columns(['status', 'created_at_ms']).execute();
    await db.schema.createIndex('approval_requests_dedupe').on('approval_requests').columns(['dedupe_key', 'status']).execute();

    await db.schema
      .createTable('approval_votes')
      .addColumn('approval_id', 'text', (c) => c.notNull().references('approval_requests.id'))
      .addColumn('approver', 'text', (c) => c.notNull())
      .addColumn('vote', 'text', (c) => c.notNull())
      .addColumn('comment', 'text', (c) => c.notNull())
      .addColumn('at_ms', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('approval_votes_pk', ['approval_id', 'approver'])
      .execute();

    await db.schema
      .createTable('grants')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('scope', 'text', (c) => c.notNull())
      .addColumn('one_time', 'integer', (c) => c.notNull())
      .addColumn('approval_id', 'text')
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('revoked_at_ms', 'bigint')
      .addColumn('revoked_by', 'text')
      .addColumn('consumed_at_ms', 'bigint')
      .addColumn('consumed_by', 'text')
      .execute();
    await db.schema.createIndex('grants_subject').on('grants').columns(['subject', 'expires_at_ms']).execute();

    await db.schema
      .createTable('jobs')
      .addColumn('job_id', 'text', (c) => c.primaryKey())
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('location', 'text')
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('request_id', 'text', (c) => c.notNull())
      .addColumn('connection', 'text', (c) => c.notNull())
      .addColumn('decision', 'text', (c) => c.notNull())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .execute();
  },
};

// Just-in-time approvals across replicas: a revision bumped by every decision transaction (its
// UPDATE is what serializes concurrent votes on one request), at most one pending request per
// dedupe key and at most one grant per approval (backstops for races), voters as identities.
const approvalsConcurrency: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .alterTable('approval_requests')
      .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema
      .createIndex('approval_requests_pending_dedupe')
      .unique()
      .on('approval_requests')
      .column('dedupe_key')
      .where(sql<boolean>`status = 'pending'`)
      .execute();
    await db.schema.createIndex('approval_requests_expiry').on('approval_requests').columns(['status', 'expires_at_ms']).execute();
    await db.schema
      .alterTable('approval_votes')
      .addColumn('approver_subject', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema
      .alterTable('approval_votes')
      .addColumn('approver_issuer', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema.createIndex('grants_approval').unique().on('grants').column('approval_id').execute();
  },
};

// Jobs shared by replicas: a poll for a job's results may reach another instance than the one
// that ran it. Keyed by (project, job_id), as BigQuery's job ids are unique per project; the
// table of 0001 was never written, so it is replaced rather than altered.
const sharedJobs: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.dropTable('jobs').execute();
    await db.schema
      .createTable('jobs')
      .addColumn('project', 'text', (c) => c.notNull())
      .addColumn('job_id', 'text', (c) => c.notNull())
      .addColumn('record', 'text', (c) => c.notNull())
      .addColumn('created_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('jobs_pk', ['project', 'job_id'])
      .execute();
    await db.schema.createIndex('jobs_expiry').on('jobs').column('expires_at_ms').execute();
  },
};

// Readiness: /readyz proves the audit store takes a write by upserting the instance's row here
// (gateway/audit/store-probe.ts); one row per audit stream, so the table stays tiny.
const auditHeartbeats: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('audit_heartbeats')
      .addColumn('stream', 'text', (c) => c.primaryKey())
      .addColumn('at_ms', 'bigint', (c) => c.notNull())
      .execute();
  },
};

// Decision-log shipping (gateway/decision-logs/): per audit stream, the seq of the last record
// whose decision the collector acknowledged, so shipping resumes there after a restart.
const decisionLogCursors: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('decision_log_cursors')
      .addColumn('stream', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
      .execute();
  },
};

export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_approvals_concurrency': approvalsConcurrency,
  '0003_shared_jobs': sharedJobs,
  '0004_audit_heartbeats': auditHeartbeats,
  '0005_decision_log_cursors': decisionLogCursors,
};
