// A decision's reasons and masks, listed in OPA's order of values: the order `opa eval` prints a
// set in and Rego's `sort` gives. The policy returns them as sets, which its WASM prints in hash
// order; sorting them there costs the square of their number (2,000 masked columns took seconds),
// here n log n. The order is OPA's (ast.Compare): by type (null, boolean, number, string, array,
// object), strings by code point (UTF-8 byte order), arrays element by element then by length,
// objects by their sorted keys, each key then its value, then by size.
import { deepFreeze } from './sql/analysis.ts';

const RANK: Record<string, number> = { boolean: 1, number: 2, string: 3 };

function rank(v: unknown): number {
  if (v === null) return 0;
  if (Array.isArray(v)) return 6;
  return RANK[typeof v] ?? 7;
}

/** Strings by code point: UTF-16 order differs only where a surrogate meets U+E000–U+FFFF. */
function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (0xD800–0xDFFF) stands for a code point above 0xFFFF: it sorts after every BMP unit.
    const sx = x >= 0xd800 && x <= 0xdfff;
    const sy = y >= 0xd800 && y <= 0xdfff;
    if (sx !== sy) return sx ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 0:
      return 0;
    case 1:
      return Number(a) - Number(b);
    case 2:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return compareStrings(a as string, b as string);
    case 6: {
      const x = a as unknown[];
      const y = b as unknown[];
      for (let i = 0; i < x.length && i < y.length; i++) {
        const c = compareValues(x[i], y[i]);
        if (c !== 0) return c;
      }
      return x.length - y.length;
    }
    default: {
      const x = a as Record<string, unknown>;
      const y = b as Record<string, unknown>;
      const kx = Object.keys(x).sort(compareStrings);
      const ky = Object.keys(y).sort(compareStrings);
      for (let i = 0; i < kx.length && i < ky.length; i++) {
        const c = compareStrings(kx[i]!, ky[i]!) || compareValues(x[kx[i]!], y[ky[i]!]);
        if (c !== 0) return c;
      }
      return kx.length - ky.length;
    }
  }
}

function inOrder(list: readonly unknown[]): boolean {
  for (let i = 1; i < list.length; i++) if (compareValues(list[i - 1], list[i]) > 0) return false;
  return true;
}

const LISTS = ['reasons', 'masks'] as const;
/**
 * Frozen decisions the evaluator shares, each with its ordered form (a frozen copy, or itself when
 * in order already): each is ordered, or found in order, once.
 */
const orderedForms = new WeakMap<object, object>();

/**
 * The decision with `reasons` and `masks` in OPA's order (the decision itself when they are in
 * order already). A frozen decision's ordered form is frozen too, and remembered.
 */
export function inOpaOrder<T>(decision: T): T {
  if (typeof decision !== 'object' || decision === null || Array.isArray(decision)) return decision;
  const remembered = orderedForms.get(decision);
  if (remembered !== undefined) return remembered as T;
  const fields = decision as Record<string, unknown>;
  let ordered: Record<string, unknown> | undefined;
  for (const name of LISTS) {
    const list = fields[name];
    if (!Array.isArray(list) || inOrder(list)) continue;
    ordered ??= { ...fields };
    ordered[name] = [...list].sort(compareValues);
  }
  if (Object.isFrozen(decision)) orderedForms.set(decision, ordered === undefined ? decision : deepFreeze(ordered));
  return (ordered ?? decision) as T;
}
