// Schema migrations, in code so one set serves SQLite and PostgreSQL. Append; never edit one
// that has shipped.
import { sql, type Kysely } from 'kysely';
import type { Migration } from 'kysely/migration';
import { indexForListing } from '../approvals/listing.ts';
import type { Tables } from './tables.ts';

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

// Principals disabled at once (gateway/identity/): one status row per (issuer, subject), written by
// the CLI's kill switch, the Shared Signals receiver and introspection; a single-row change counter
// every such write bumps in the same transaction, which each replica polls to know when to reload
// its in-memory disabled set; and the SET jtis seen, against replays across replicas.
const principalStatus: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('principal_status')
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('disabled', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('reason', 'text')
      .addColumn('signal', 'text', (c) => c.notNull())
      .addColumn('changed_at_ms', 'bigint', (c) => c.notNull())
      .addColumn('not_before_ms', 'bigint')
      .addPrimaryKeyConstraint('principal_status_pk', ['issuer', 'subject'])
      .execute();
    await db.schema
      .createTable('principal_status_version')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .execute();
    await db.insertInto('principal_status_version' as never).values({ id: 1, version: 0 } as never).execute();
    await db.schema
      .createTable('ssf_seen_jtis')
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('jti', 'text', (c) => c.notNull())
      .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('ssf_seen_jtis_pk', ['issuer', 'jti'])
      .execute();
    await db.schema.createIndex('ssf_seen_jtis_expiry').on('ssf_seen_jtis').column('expires_at_ms').execute();
  },
};

// The principal inventory (gateway/principals/): a projection of the audit trail's request
// records folded in per stream past a stored cursor, so each record counts once however many
// replicas fold. Counts and dataset use are added to with atomic upserts, never read-modify-write.
const principals: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('principals')
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('kind', 'text')
      .addColumn('groups', 'text', (c) => c.notNull())
      .addColumn('first_seen_ms', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_ms', 'bigint', (c) => c.notNull())
      .addColumn('allow_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('mask_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('approve_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('deny_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('refused_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('other_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addPrimaryKeyConstraint('principals_pk', ['issuer', 'subject'])
      .execute();
    await db.schema
      .createTable('principal_datasets')
      .addColumn('issuer', 'text', (c) => c.notNull())
      .addColumn('subject', 'text', (c) => c.notNull())
      .addColumn('dataset', 'text', (c) => c.notNull())
      .addColumn('requests', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_ms', 'bigint', (c) => c.notNull())
      .addPrimaryKeyConstraint('principal_datasets_pk', ['issuer', 'subject', 'dataset'])
      .execute();
    await db.schema
      .createTable('principal_cursors')
      .addColumn('stream', 'text', (c) => c.primaryKey())
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('updated_at_ms', 'bigint', (c) => c.notNull())
      .execute();
  },
};

// Approval listings filtered in SQL (gateway/approvals/listing.ts): each request's approver groups
// and the datasets it is about, one row each, so "requests I asked for or may decide on" is an
// indexed query however many requests others filed. Rows of earlier requests are backfilled.
const approvalListing: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('approval_request_groups')
      .addColumn('approval_id', 'text', (c) => c.notNull())
      .addColumn('group_name', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('approval_request_groups_pk', ['approval_id', 'group_name'])
      .execute();
    await db.schema.createIndex('approval_request_groups_group').on('approval_request_groups').columns(['group_name', 'approval_id']).execute();
    await db.schema
      .createTable('approval_request_datasets')
      .addColumn('approval_id', 'text', (c) => c.notNull())
      .addColumn('dataset', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('approval_request_datasets_pk', ['approval_id', 'dataset'])
      .execute();
    await db.schema.createIndex('approval_request_datasets_dataset').on('approval_request_datasets').columns(['dataset', 'approval_id']).execute();
    await db.schema.createIndex('approval_requests_listing').on('approval_requests').columns(['created_at_ms', 'id']).execute();
    await db.schema.createIndex('approval_requests_requester').on('approval_requests').columns(['issuer', 'subject', 'created_at_ms']).execute();
    await db.schema.createIndex('grants_listing').on('grants').columns(['created_at_ms', 'id']).execute();
    const typed = db as unknown as Kysely<Tables>;
    for (let after = ''; ; ) {
      const rows = await typed
        .selectFrom('approval_requests')
        .select(['id', 'approver_groups', 'input', 'scope'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(500)
        .execute();
      if (rows.length === 0) break;
      for (const row of rows) await indexForListing(typed, row);
      after = rows.at(-1)!.id;
    }
  },
};

// The query parameters a request was asked with: a statement grant is bound to their values, so
// the approver is shown them with the SQL.
const approvalParameters: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable('approval_requests').addColumn('sql_parameters', 'text').execute();
  },
};

// Approver page sessions signed out before they expire: the sealed cookie alone would stay valid
// (a copy taken before sign-out, another replica), so every replica looks the session's id up here.
const pageSignOuts: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('page_sessions_ended')
      .addColumn('session_id', 'text', (c) => c.primaryKey())
      .addColumn('expires_at_ms', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('page_sessions_ended_expiry').on('page_sessions_ended').column('expires_at_ms').execute();
  },
};

export const migrations: Record<string, Migration> = {
  '0001_initial': initial,
  '0002_approvals_concurrency': approvalsConcurrency,
  '0003_shared_jobs': sharedJobs,
  '0004_audit_heartbeats': auditHeartbeats,
  '0005_decision_log_cursors': decisionLogCursors,
  '0006_principal_status': principalStatus,
  '0007_principals': principals,
  '0008_approval_listing': approvalListing,
  '0009_approval_parameters': approvalParameters,
  '0010_page_sign_outs': pageSignOuts,
};
