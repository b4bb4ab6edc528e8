// Compares a decision with what a case expects. Each mismatch carries both sides as short text,
// so every reporter shows the same diff.
import type { Decision, Mask } from '../../engine/schema-types.ts';
import type { Expected } from './load.ts';

export interface Mismatch {
  field: 'outcome' | 'reasons' | 'any_reasons' | 'exact_reasons' | 'absent_reasons' | 'masks' | 'approval' | 'limits';
  expected: string;
  actual: string;
}

export function compare(expected: Expected, decision: Decision): Mismatch[] {
  const out: Mismatch[] = [];
  const codes = [...new Set(decision.reasons.map((r) => r.code))].sort();
  const list = (items: string[]) => `[${items.join(', ')}]`;

  if (decision.outcome !== expected.outcome) out.push({ field: 'outcome', expected: expected.outcome, actual: decision.outcome });

  const missing = (expected.reasons ?? []).filter((c) => !codes.includes(c));
  if (missing.length)
    out.push({ field: 'reasons', expected: `include ${list(expected.reasons!)}`, actual: `${list(codes)}, missing ${list(missing)}` });

  if (expected.any_reasons && !expected.any_reasons.some((c) => codes.includes(c))) {
    out.push({ field: 'any_reasons', expected: `one of ${list(expected.any_reasons)}`, actual: list(codes) });
  }

  if (expected.exact_reasons && !sameSet(expected.exact_reasons, codes)) {
    out.push({ field: 'exact_reasons', expected: list([...new Set(expected.exact_reasons)].sort()), actual: list(codes) });
  }

  const present = (expected.absent_reasons ?? []).filter((c) => codes.includes(c));
  if (present.length)
    out.push({ field: 'absent_reasons', expected: `none of ${list(expected.absent_reasons!)}`, actual: `${list(codes)}, has ${list(present)}` });

  if (expected.masks) {
    const want = expected.masks.map(maskKey).sort();
    const got = decision.masks.map(maskKey).sort();
    if (!sameSet(want, got)) out.push({ field: 'masks', expected: list([...new Set(want)]), actual: list([...new Set(got)]) });
  }

  if (expected.approval) {
    const actual = decision.approval;
    const diffs = actual ? subsetDiff(expected.approval, actual) : [];
    if (!actual) out.push({ field: 'approval', expected: describeObject(expected.approval), actual: 'no approval' });
    else if (diffs.length)
      out.push({
        field: 'approval',
        expected: diffs.map((d) => `${d.key}: ${d.expected}`).join(', '),
        actual: diffs.map((d) => `${d.key}: ${d.actual}`).join(', '),
      });
  }

  const wantLimit = expected.limits?.maximum_bytes_billed;
  const gotLimit = decision.limits?.maximum_bytes_billed;
  if (wantLimit !== undefined && wantLimit !== gotLimit) {
    out.push({
      field: 'limits',
      expected: `maximum_bytes_billed: ${wantLimit}`,
      actual: gotLimit === undefined ? 'no maximum_bytes_billed' : `maximum_bytes_billed: ${gotLimit}`,
    });
  }
  return out;
}

/** `output:strategy` or `output.path:strategy`, the form masks are written and diffed in. */
export function maskKey(m: Pick<Mask, 'output' | 'strategy' | 'path'>): string {
  return `${[m.output, ...(m.path ?? [])].join('.')}:${m.strategy}`;
}

function sameSet(a: string[], b: string[]): boolean {
  const x = new Set(a);
  const y = new Set(b);
  return x.size === y.size && [...x].every((v) => y.has(v));
}

interface FieldDiff {
  key: string;
  expected: string;
  actual: string;
}

/** Fields of `want` that `got` does not match; arrays compare as sets, objects recursively. */
function subsetDiff(want: object, got: object, prefix = ''): FieldDiff[] {
  const diffs: FieldDiff[] = [];
  for (const [key, value] of Object.entries(want)) {
    const actual = (got as Record<string, unknown>)[key];
    const name = prefix + key;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      if (actual && typeof actual === 'object' && !Array.isArray(actual)) diffs.push(...subsetDiff(value as object, actual, `${name}.`));
      else diffs.push({ key: name, expected: describeObject(value as object), actual: show(actual) });
    } else if (Array.isArray(value)) {
      if (!Array.isArray(actual) || !sameSet(value.map(String), actual.map(String)))
        diffs.push({ key: name, expected: show(value), actual: show(actual) });
    } else if (value !== actual) {
      diffs.push({ key: name, expected: show(value), actual: show(actual) });
    }
  }
  return diffs;
}

function show(value: unknown): string {
  if (value === undefined) return '(absent)';
  if (Array.isArray(value)) return `[${value.map(show).join(', ')}]`;
  if (value && typeof value === 'object') return describeObject(value);
  return String(value);
}

function describeObject(value: object): string {
  return `{${Object.entries(value)
    .map(([k, v]) => `${k}: ${show(v)}`)
    .join(', ')}}`;
}
