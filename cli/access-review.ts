// `sluice access-review`: who can read a table, from the compiled policy itself. For each table
// the review reads every column (`SELECT c1, c2, … FROM table`, columns from the table schemas the
// engine expands queries with) and asks the engine, as `sluice eval` does, for every subject: known
// principals (groups last presented, active grants) and every combination of the groups the
// policy data names. Each answer becomes raw, masked (which columns, which strategy), approval
// (who approves) or none (why), with the policy revision that gave it.
import { readFile } from 'node:fs/promises';
import type { Engine, Grant, Identity, TableField, TableSchemas } from '../engine/index.ts';
import { readBundle } from '../engine/bundle.ts';
import { UsageError } from './output.ts';

export type Access = 'raw' | 'masked' | 'approval' | 'none';

export interface ReviewSubject {
  /** `principal`: an identity (the inventory, or one given); `groups`: a group combination the data names. */
  source: 'principal' | 'groups';
  /** How the subject is shown: `subject (issuer)`, or the groups joined with `+` (`(no group)`). */
  name: string;
  identity: Identity;
  grants: Grant[];
}

export interface ReviewRow {
  table: string;
  source: ReviewSubject['source'];
  name: string;
  issuer: string;
  subject: string;
  kind: Identity['kind'];
  groups: string[];
  access: Access;
  /** With `masked`: each masked output column (a RECORD field as `column.field`) and its strategy. */
  masked: { column: string; strategy: string; source: string | null }[];
  /** With `approval`: who decides. */
  approverGroups: string[];
  /** The decision's reason codes. */
  reasons: string[];
  revision: string;
  /** The statement evaluated (what `sluice eval --sql` reproduces). */
  sql: string;
}

/** What the review needs of the policy data (data.org): its tables, and the groups it names. */
interface OrgData {
  projects?: Record<string, { datasets?: Record<string, { tables?: Record<string, unknown> } | null> } | null>;
}

/** Keys of the data file whose values list groups (rego/README.md, "Data file"). */
const GROUP_KEYS = new Set(['agent_groups', 'exempt_groups', 'raw_readers', 'readers', 'writers', 'unmasked_groups', 'approver_groups']);

/** Every subset of up to this many groups is reviewed; with more, each group alone. */
const MAX_COMBINED_GROUPS = 10;

export interface PolicyData {
  org: OrgData;
  /** Named groups, sorted ("*", everyone, is not a group). */
  groups: string[];
}

export async function readPolicyData(bundlePath: string): Promise<PolicyData> {
  const bundle = await readBundle(await readFile(bundlePath));
  const data = JSON.parse(new TextDecoder().decode(bundle.data)) as { org?: OrgData };
  const org = data.org ?? {};
  const groups = new Set<string>();
  const walk = (value: unknown, key: string | undefined) => {
    if (Array.isArray(value)) {
      if (key && GROUP_KEYS.has(key)) for (const g of value) if (typeof g === 'string' && g !== '*') groups.add(g);
      return;
    }
    if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, k);
  };
  walk(org, undefined);
  return { org, groups: [...groups].sort() };
}

/** `project.dataset.table` of every table the data lists, optionally of one dataset. */
export function tablesOf(data: PolicyData, dataset?: string): string[] {
  const out: string[] = [];
  for (const [project, p] of Object.entries(data.org.projects ?? {})) {
    for (const [name, d] of Object.entries(p?.datasets ?? {})) {
      if (dataset && `${project}.${name}` !== dataset.toLowerCase()) continue;
      for (const table of Object.keys(d?.tables ?? {})) out.push(`${project}.${name}.${table}`);
    }
  }
  return out.sort();
}

/** Subjects for every combination of the named groups (kind human: membership alone decides). */
export function groupSubjects(groups: readonly string[]): ReviewSubject[] {
  const sets: string[][] = [];
  if (groups.length <= MAX_COMBINED_GROUPS) {
    for (let mask = 0; mask < 1 << groups.length; mask++) sets.push(groups.filter((_, i) => mask & (1 << i)));
  } else {
    sets.push([], ...groups.map((g) => [g]));
  }
  return sets.map((set) => ({
    source: 'groups',
    name: set.length ? set.join('+') : '(no group)',
    identity: { subject: `groups:${set.join('+')}`, issuer: 'access-review', kind: 'human', groups: set, claims: {} },
    grants: [],
  }));
}

/** `SELECT` of every top-level column, as an agent would ask for the whole table. */
export function readEverything(table: string, schemas: TableSchemas | undefined): string {
  const key = Object.keys(schemas ?? {}).find((k) => k.toLowerCase() === table);
  const fields = key === undefined ? undefined : (schemas![key] as TableField[]);
  const list = fields?.length ? fields.map((f) => `\`${f.name}\``).join(', ') : '*';
  return `SELECT ${list} FROM \`${table}\``;
}

export function review(engine: Engine, tables: readonly string[], subjects: readonly ReviewSubject[], options: { schemas?: TableSchemas; now?: Date } = {}): ReviewRow[] {
  const rows: ReviewRow[] = [];
  for (const table of tables) {
    const sql = readEverything(table, options.schemas);
    const project = table.split('.')[0]!;
    for (const s of subjects) {
      const { decision, revision } = engine.decide({
        identity: s.identity,
        sql,
        project,
        route: 'cli',
        grants: s.grants,
        ...(options.schemas && { schemas: options.schemas }),
        ...(options.now && { now: options.now }),
      });
      const access: Access = { allow: 'raw', mask: 'masked', approve: 'approval', deny: 'none' }[decision.outcome] as Access;
      rows.push({
        table,
        source: s.source,
        name: s.name,
        issuer: s.identity.issuer,
        subject: s.identity.subject,
        kind: s.identity.kind,
        groups: s.identity.groups,
        access,
        masked: decision.masks.map((m) => ({
          column: [m.output, ...(m.path ?? [])].join('.'),
          strategy: m.strategy,
          source: m.source ? `${m.source.table}.${m.source.column}` : null,
        })),
        approverGroups: decision.approval?.approver_groups ?? [],
        reasons: [...new Set(decision.reasons.map((r) => r.code))],
        revision,
        sql,
      });
    }
  }
  return rows;
}

/** Rows the table view shows: a group combination is left out when a smaller one it contains got the same answer. */
export function essentialRows(rows: readonly ReviewRow[]): ReviewRow[] {
  const verdict = (r: ReviewRow) => JSON.stringify([r.table, r.access, r.masked, r.approverGroups]);
  const groupRows = rows.filter((r) => r.source === 'groups');
  return rows.filter(
    (r) =>
      r.source !== 'groups' ||
      !groupRows.some((o) => o !== r && o.groups.length < r.groups.length && o.groups.every((g) => r.groups.includes(g)) && verdict(o) === verdict(r)),
  );
}

export function renderTable(rows: readonly ReviewRow[]): string {
  const lines: string[] = [];
  for (const table of [...new Set(rows.map((r) => r.table))]) {
    const own = essentialRows(rows.filter((r) => r.table === table));
    const revisions = [...new Set(own.map((r) => r.revision))];
    lines.push(`${table}  (policy revision ${revisions.join(', ')}; ${own[0]?.sql ?? ''})`);
    for (const access of ['raw', 'masked', 'approval', 'none'] as const) {
      const these = own.filter((r) => r.access === access);
      if (!these.length) {
        lines.push(`  ${access.padEnd(9)}-`);
        continue;
      }
      // One line per distinct answer: who, then what they get.
      const byAnswer = new Map<string, ReviewRow[]>();
      for (const r of these) {
        const key = JSON.stringify([r.masked, r.approverGroups, access === 'none' ? r.reasons : []]);
        byAnswer.set(key, [...(byAnswer.get(key) ?? []), r]);
      }
      let first = true;
      for (const group of byAnswer.values()) {
        const r = group[0]!;
        const detail =
          access === 'masked'
            ? `  masked: ${r.masked.map((m) => `${m.column} (${m.strategy})`).join(', ')}`
            : access === 'approval'
              ? `  approved by ${r.approverGroups.join(', ')}`
              : access === 'none'
                ? `  ${r.reasons.join(', ')}`
                : '';
        lines.push(`  ${(first ? access : '').padEnd(9)}${group.map((g) => g.name).join('; ')}${detail}`);
        first = false;
      }
    }
    lines.push('');
  }
  return lines.join('\n');
}

const CSV_HEADER = ['table', 'source', 'name', 'issuer', 'subject', 'kind', 'groups', 'access', 'masked_columns', 'approver_groups', 'reasons', 'revision', 'sql'];

export function renderCsv(rows: readonly ReviewRow[]): string {
  const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const lines = [CSV_HEADER.join(',')];
  for (const r of rows) {
    lines.push(
      [r.table, r.source, r.name, r.issuer, r.subject, r.kind, r.groups.join(' '), r.access, r.masked.map((m) => `${m.column}:${m.strategy}`).join(' '), r.approverGroups.join(' '), r.reasons.join(' '), r.revision, r.sql]
        .map(cell)
        .join(','),
    );
  }
  return lines.join('\r\n') + '\r\n';
}

/** Identities given as a fixture suite (its `identities`), a map of name → identity, or a list. */
export function identitiesFrom(doc: unknown, toIdentity: (doc: unknown, what: string) => Identity): ReviewSubject[] {
  const source = doc && typeof doc === 'object' && !Array.isArray(doc) && 'identities' in doc ? (doc as { identities: unknown }).identities : doc;
  const entries: [string | undefined, unknown][] = Array.isArray(source)
    ? source.map((v) => [undefined, v])
    : source && typeof source === 'object'
      ? Object.entries(source)
      : [];
  if (!entries.length) throw new UsageError('--identities holds no identities (a fixture suite, a map of name to identity, or a list)');
  return entries.map(([name, value], i) => {
    // A fixture suite's identity without a subject is named by its key.
    const written = name && value && typeof value === 'object' && !('subject' in value) ? { subject: name, ...value } : value;
    const identity = toIdentity(written, name ? `identity ${name}` : `identity ${i}`);
    return { source: 'principal', name: `${identity.subject} (${identity.issuer})`, identity, grants: [] };
  });
}
