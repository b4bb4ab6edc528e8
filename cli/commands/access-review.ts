import { Option, type Command } from 'commander';
import { buildBundle, Engine, type Grant, type TableSchemas } from '../../engine/index.ts';
import type { GrantView } from '../../gateway/approvals/types.ts';
import { getPrincipal, listPrincipals, type PrincipalSummary } from '../../gateway/principals/index.ts';
import type { Database } from '../../gateway/store/database.ts';
import { groupSubjects, identitiesFrom, readPolicyData, renderCsv, renderTable, review, tablesOf, type ReviewSubject } from '../access-review.ts';
import { readDocument, toDate, toIdentity, toSchemas } from '../inputs.ts';
import { EXIT, UsageError } from '../output.ts';
import { withStorage } from './audit.ts';

interface ReviewOptions {
  table?: string;
  dataset?: string;
  principal?: string[];
  storage?: string;
  identities?: string;
  schemas?: string;
  bundle?: string;
  now?: string;
  format: 'table' | 'json' | 'csv';
}

export function registerAccessReview(program: Command): void {
  program
    .command('access-review')
    .description(
      'Who can read a table, from the compiled policy: reads every column of each table (as `sluice eval` decides one query) for every known ' +
        'principal and every combination of the groups the policy data names, and prints who reads it raw, masked (which columns, which ' +
        'strategy), only with approval, or not at all, with the policy revision that answered.',
    )
    .option('--table <project.dataset.table>', 'review this table')
    .option('--dataset <project.dataset>', 'review every table of this dataset the policy data lists')
    .option('--principal <issuer-and-subject...>', 'review every table the policy data lists for this one principal of the inventory: --principal <issuer> <subject>')
    .option('--storage <url>', "the gateway's store, whose principal inventory is reviewed too: sqlite:<file> or postgres://… (env SLUICE_STORAGE)", process.env.SLUICE_STORAGE)
    .option('--identities <file|json>', 'more identities to review: a fixture suite (its identities), a map of name to identity, or a list')
    .option('--schemas <file|json>', 'table schemas keyed by project.dataset.table, whose columns are read (without one a table is read with SELECT *)')
    .option('--bundle <file>', 'use this bundle instead of building rego/')
    .option('--now <time>', 'evaluation time (RFC 3339), default: now')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json', 'csv']).default('table'))
    .addHelpText(
      'after',
      `
Exactly one of --table, --dataset, --principal.

Exit codes:
  0  reviewed
  1  runtime error; --principal names no principal of the inventory
  2  bad usage, an unreadable file, or a dataset the policy data does not list`,
    )
    .action(async (opts: ReviewOptions) => {
      const scopes = [opts.table, opts.dataset, opts.principal].filter((s) => s !== undefined);
      if (scopes.length !== 1) throw new UsageError('give exactly one of --table, --dataset, --principal');
      if (opts.principal && opts.principal.length !== 2) throw new UsageError('--principal takes two values: <issuer> <subject>');
      if (opts.principal && !opts.storage) throw new UsageError('--principal reads the principal inventory: give --storage or set SLUICE_STORAGE');
      if (opts.table && opts.table.split('.').length !== 3) throw new UsageError(`--table must be project.dataset.table, got ${opts.table}`);
      const schemas: TableSchemas | undefined = opts.schemas ? toSchemas(readDocument(opts.schemas, 'schemas')) : undefined;
      const now = opts.now ? toDate(opts.now) : undefined;
      const bundle = opts.bundle ?? (await buildBundle()).path;
      const [engine, data] = await Promise.all([Engine.load(bundle), readPolicyData(bundle)]);

      let tables: string[];
      let subjects: ReviewSubject[];
      if (opts.principal) {
        const [issuer, subject] = opts.principal as [string, string];
        const principal = await withStorage(opts.storage!, (database) => getPrincipal(database.db, issuer, subject));
        if (!principal) {
          process.stderr.write(`sluice: the principal inventory has no ${subject} of ${issuer}\n`);
          process.exitCode = EXIT.error;
          return;
        }
        tables = tablesOf(data);
        subjects = [principalSubject(principal, principal.activeGrants)];
      } else {
        tables = opts.table ? [opts.table.toLowerCase()] : tablesOf(data, opts.dataset);
        if (!tables.length) throw new UsageError(`the policy data lists no table in ${opts.dataset}`);
        subjects = [
          ...(opts.storage ? await withStorage(opts.storage, knownPrincipals) : []),
          ...(opts.identities ? identitiesFrom(readDocument(opts.identities, 'identities'), toIdentity) : []),
          ...groupSubjects(data.groups),
        ];
      }
      const rows = review(engine, tables, subjects, { ...(schemas && { schemas }), ...(now && { now }) });
      if (opts.format === 'json') process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
      else if (opts.format === 'csv') process.stdout.write(renderCsv(rows));
      else process.stdout.write(renderTable(rows));
    });
}

/** Every principal of the inventory, as it last presented itself, with its active grants. */
async function knownPrincipals(database: Database): Promise<ReviewSubject[]> {
  const summaries: PrincipalSummary[] = [];
  let pageToken: string | undefined;
  do {
    const page = await listPrincipals(database.db, { limit: 500, ...(pageToken && { pageToken }) });
    summaries.push(...page.principals);
    pageToken = page.nextPageToken;
  } while (pageToken);
  const subjects: ReviewSubject[] = [];
  for (const s of summaries) {
    const detail = await getPrincipal(database.db, s.issuer, s.subject, { fold: false });
    subjects.push(principalSubject(s, detail?.activeGrants ?? []));
  }
  return subjects;
}

function principalSubject(p: PrincipalSummary, grants: readonly GrantView[]): ReviewSubject {
  return {
    source: 'principal',
    name: `${p.subject} (${p.issuer})`,
    identity: { subject: p.subject, issuer: p.issuer, kind: p.kind ?? 'agent', groups: p.groups, claims: {} },
    grants: grants.map(
      (g): Grant => ({ id: g.id, subject: g.subject, scope: g.scope, expires_at: Math.floor(Date.parse(g.expiresAt) / 1000), ...(g.oneTime && { one_time: true }) }),
    ),
  };
}

