// Shadow evaluation: replays the policy inputs of recorded requests against a candidate bundle
// and reports every decision that would change (outcome, reason codes, masks), grouped by the kind
// of change. The recorded input holds the clock of the original request (input.now) and the
// grants active then, so the replay decides as the candidate would have decided at that moment.
// An allow-list of expected changes turns the report into a CI gate.
import type { Kysely } from 'kysely';
import type { Decision, Mask, PolicyInput } from '../../engine/schema-types.ts';
import type { Evaluation } from '../../engine/engine.ts';
import type { Tables } from '../store/tables.ts';
import { countRecords, scanRecords, type RecordFilter } from './records.ts';

/** Anything with Engine.evaluate's signature. */
export interface Evaluator {
  evaluate(input: PolicyInput): Evaluation;
  readonly revision: string;
}

export interface DecisionSummary {
  outcome: Decision['outcome'];
  reasons: string[];
  masks: string[];
}

export interface ShadowChange {
  requestId: string;
  recordId: string;
  at: string;
  subject: string;
  tables: string[];
  recordedRevision: string | null;
  from: DecisionSummary;
  to: DecisionSummary;
  reasonsAdded: string[];
  reasonsRemoved: string[];
  masksAdded: string[];
  masksRemoved: string[];
  /** The candidate engine refused to decide (input no longer valid, evaluation failed). */
  candidateError: string | null;
  /** Index of the allow rule that covers it, or null. */
  allowedBy: number | null;
}

export interface ShadowGroup {
  key: string;
  from: string;
  to: string;
  reasonsAdded: string[];
  reasonsRemoved: string[];
  masksAdded: string[];
  masksRemoved: string[];
  count: number;
  allowed: number;
  subjects: string[];
  tables: string[];
  /** Up to 10 request ids, for `sluice replay`. */
  examples: string[];
}

export interface AllowRule {
  description?: string;
  from?: Decision['outcome'] | Decision['outcome'][];
  to?: Decision['outcome'] | Decision['outcome'][];
  /** Glob patterns (`*`); some table of the request must match one. */
  tables?: string[];
  /** Glob patterns on the identity subject. */
  subjects?: string[];
  /** Reason codes the change may add / remove (anything else makes the rule not apply). */
  reasons_added?: string[];
  reasons_removed?: string[];
  /** Masks (`output[.path]:strategy`, globs) the change may add / remove. */
  masks_added?: string[];
  masks_removed?: string[];
  request_ids?: string[];
  /** At most this many changes may be covered by the rule. */
  max?: number;
}

export interface ShadowReport {
  candidateRevision: string;
  evaluated: number;
  /** Request records without a policy input (the SQL could not be normalized, or no decision). */
  skipped: number;
  changed: number;
  unallowed: number;
  groups: ShadowGroup[];
  changes: ShadowChange[];
  rules: { index: number; description: string | null; matched: number; max: number | null; exceeded: boolean }[];
  /** True when every change is covered by a rule and no rule exceeded its max. */
  passed: boolean;
}

export interface ShadowOptions {
  filter?: Pick<RecordFilter, 'since' | 'until' | 'subject' | 'table' | 'stream'>;
  allow?: readonly AllowRule[];
  /** Called with (records read, total, changes so far) at most every `progressEvery` records. */
  onProgress?: (done: number, total: number, changed: number) => void;
  progressEvery?: number;
}

export async function shadowEvaluate(db: Kysely<Tables>, candidate: Evaluator, options: ShadowOptions = {}): Promise<ShadowReport> {
  const filter: RecordFilter = { ...options.filter, kinds: ['request'] };
  const total = options.onProgress ? await countRecords(db, filter) : 0;
  const allow = options.allow ?? [];
  const matched = allow.map(() => 0);
  const changes: ShadowChange[] = [];
  let evaluated = 0;
  let skipped = 0;
  let done = 0;
  const every = options.progressEvery ?? 200;
  for await (const { record } of scanRecords(db, filter)) {
    done++;
    if (options.onProgress && done % every === 0) options.onProgress(done, total, changes.length);
    if (record.kind !== 'request' || !record.data.input || !record.data.decision) {
      skipped++;
      continue;
    }
    evaluated++;
    const result = candidate.evaluate(record.data.input);
    const from = summarize(record.data.decision);
    const to = summarize(result.decision);
    if (sameDecision(from, to)) continue;
    const change: ShadowChange = {
      requestId: record.data.request_id,
      recordId: record.id,
      at: record.at,
      subject: record.data.identity.subject,
      tables: tablesOf(record.data.input),
      recordedRevision: record.data.revision,
      from,
      to,
      reasonsAdded: difference(to.reasons, from.reasons),
      reasonsRemoved: difference(from.reasons, to.reasons),
      masksAdded: difference(to.masks, from.masks),
      masksRemoved: difference(from.masks, to.masks),
      candidateError: result.error ? `${result.error.code}: ${result.error.message}` : null,
      allowedBy: null,
    };
    const rule = allow.findIndex((r) => ruleCovers(r, change));
    if (rule >= 0) {
      change.allowedBy = rule;
      matched[rule]!++;
    }
    changes.push(change);
  }
  options.onProgress?.(done, Math.max(total, done), changes.length);

  const rules = allow.map((r, index) => ({
    index,
    description: r.description ?? null,
    matched: matched[index]!,
    max: r.max ?? null,
    exceeded: r.max !== undefined && matched[index]! > r.max,
  }));
  const unallowed = changes.filter((c) => c.allowedBy === null).length;
  return {
    candidateRevision: candidate.revision,
    evaluated,
    skipped,
    changed: changes.length,
    unallowed,
    groups: groupChanges(changes),
    changes,
    rules,
    passed: unallowed === 0 && rules.every((r) => !r.exceeded),
  };
}

export function summarize(decision: Decision): DecisionSummary {
  return {
    outcome: decision.outcome,
    reasons: [...new Set(decision.reasons.map((r) => r.code))].sort(),
    masks: [...new Set(decision.masks.map(maskKey))].sort(),
  };
}

/** `output[.path]:strategy`, prefixed by `#statement ` when the mask names one. */
export function maskKey(mask: Mask): string {
  const path = mask.path?.length ? `.${mask.path.join('.')}` : '';
  return `${mask.statement !== undefined ? `#${mask.statement} ` : ''}${mask.output}${path}:${mask.strategy}`;
}

function sameDecision(a: DecisionSummary, b: DecisionSummary): boolean {
  return a.outcome === b.outcome && a.reasons.join('\n') === b.reasons.join('\n') && a.masks.join('\n') === b.masks.join('\n');
}

function difference(a: readonly string[], b: readonly string[]): string[] {
  const other = new Set(b);
  return a.filter((x) => !other.has(x));
}

function tablesOf(input: PolicyInput): string[] {
  return [...new Set(input.sql.statements.flatMap((s) => s.tables.map((t) => t.id)))].sort();
}

function groupChanges(changes: readonly ShadowChange[]): ShadowGroup[] {
  const groups = new Map<string, ShadowGroup & { subjectSet: Set<string>; tableSet: Set<string> }>();
  for (const c of changes) {
    const parts = [`${c.from.outcome} → ${c.to.outcome}`];
    if (c.reasonsAdded.length) parts.push(`reasons +${c.reasonsAdded.join(' +')}`);
    if (c.reasonsRemoved.length) parts.push(`reasons −${c.reasonsRemoved.join(' −')}`);
    if (c.masksAdded.length) parts.push(`masks +${c.masksAdded.join(' +')}`);
    if (c.masksRemoved.length) parts.push(`masks −${c.masksRemoved.join(' −')}`);
    const key = parts.join('; ');
    let group = groups.get(key);
    if (!group) {
      group = {
        key,
        from: c.from.outcome,
        to: c.to.outcome,
        reasonsAdded: c.reasonsAdded,
        reasonsRemoved: c.reasonsRemoved,
        masksAdded: c.masksAdded,
        masksRemoved: c.masksRemoved,
        count: 0,
        allowed: 0,
        subjects: [],
        tables: [],
        examples: [],
        subjectSet: new Set(),
        tableSet: new Set(),
      };
      groups.set(key, group);
    }
    group.count++;
    if (c.allowedBy !== null) group.allowed++;
    group.subjectSet.add(c.subject);
    for (const t of c.tables) group.tableSet.add(t);
    if (group.examples.length < 10) group.examples.push(c.requestId);
  }
  return [...groups.values()]
    .map(({ subjectSet, tableSet, ...g }) => ({ ...g, subjects: [...subjectSet].sort(), tables: [...tableSet].sort() }))
    .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
}

function ruleCovers(rule: AllowRule, change: ShadowChange): boolean {
  const oneOf = <T>(allowed: T | T[] | undefined, value: T) => allowed === undefined || (Array.isArray(allowed) ? allowed : [allowed]).includes(value);
  const within = (allowed: string[] | undefined, values: string[]) => allowed === undefined || values.every((v) => allowed.some((p) => glob(p).test(v)));
  return (
    oneOf(rule.from, change.from.outcome) &&
    oneOf(rule.to, change.to.outcome) &&
    (rule.tables === undefined || change.tables.some((t) => rule.tables!.some((p) => glob(p).test(t)))) &&
    (rule.subjects === undefined || rule.subjects.some((p) => glob(p).test(change.subject))) &&
    (rule.request_ids === undefined || rule.request_ids.includes(change.requestId)) &&
    within(rule.reasons_added, change.reasonsAdded) &&
    within(rule.reasons_removed, change.reasonsRemoved) &&
    within(rule.masks_added, change.masksAdded) &&
    within(rule.masks_removed, change.masksRemoved)
  );
}

const globs = new Map<string, RegExp>();
function glob(pattern: string): RegExp {
  let re = globs.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');
    globs.set(pattern, re);
  }
  return re;
}

/** Validates an allow-list document: a list of rules, or `{allow: [...]}`. */
export function parseAllowList(doc: unknown): AllowRule[] {
  const list = Array.isArray(doc) ? doc : doc && typeof doc === 'object' && Array.isArray((doc as { allow?: unknown }).allow) ? (doc as { allow: unknown[] }).allow : undefined;
  if (!list) throw new TypeError('an allow-list is a list of rules, or an object with an `allow` list');
  const outcomes = ['allow', 'deny', 'approve', 'mask'];
  const known = new Set(['description', 'from', 'to', 'tables', 'subjects', 'reasons_added', 'reasons_removed', 'masks_added', 'masks_removed', 'request_ids', 'max']);
  return list.map((rule, i) => {
    if (!rule || typeof rule !== 'object' || Array.isArray(rule)) throw new TypeError(`allow rule ${i + 1} must be an object`);
    for (const key of Object.keys(rule)) if (!known.has(key)) throw new TypeError(`allow rule ${i + 1}: unknown field ${key} (known: ${[...known].join(', ')})`);
    const r = rule as Record<string, unknown>;
    for (const key of ['from', 'to']) {
      const v = r[key];
      if (v !== undefined && !(Array.isArray(v) ? v : [v]).every((o) => outcomes.includes(o as string))) {
        throw new TypeError(`allow rule ${i + 1}: ${key} must be one of ${outcomes.join(', ')} (or a list of them)`);
      }
    }
    for (const key of ['tables', 'subjects', 'reasons_added', 'reasons_removed', 'masks_added', 'masks_removed', 'request_ids']) {
      const v = r[key];
      if (v !== undefined && !(Array.isArray(v) && v.every((x) => typeof x === 'string'))) throw new TypeError(`allow rule ${i + 1}: ${key} must be a list of strings`);
    }
    if (r.max !== undefined && !(Number.isInteger(r.max) && (r.max as number) >= 0)) throw new TypeError(`allow rule ${i + 1}: max must be a non-negative integer`);
    return rule as AllowRule;
  });
}
