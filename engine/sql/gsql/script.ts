// Scripts: DECLARE and SET give variables the lineage of what is assigned to them, and later
// statements read a variable with that lineage; CREATE TEMP FUNCTION records what its body reads,
// which flows into every call. Each statement still reports only what it reads itself, plus the
// tables its variables' values came from (so their policy tags reach the policy).
import type { Output } from '../../schema-types.ts';
import type { StatementContext } from '../context.ts';
import { CONSTANT, lineageTables, type Lineage } from '../lineage.ts';
import { Scope, type DerivedRelation } from '../scope.ts';
import { evalExpr } from './expr.ts';
import type { ScriptState } from './statement-facts.ts';
import type { StatementSource } from './ml.ts';
import { createRoutineFunction, functionBodyLineage, parameterNames, routineOptions } from './routines.ts';
import { tablePath } from './target.ts';
import { expectFields, ident, isNode, items, refuse, variant, type Variant } from './tree.ts';

/** DETERMINISTIC and RETURNS describe the result; OPTIONS are evaluated; a table function's RETURNS TABLE is checked (routines.ts). */
const FUNCTION_FIELDS = new Set(['name', 'parameters', 'return_type', 'body', 'temporary', 'or_replace', 'if_not_exists', 'language', 'has_parens', 'property_order', 'deterministic', 'options', 'is_table_function', 'returns_table_body']);

/**
 * The scope script variables are read in: one relation without a name whose columns are the
 * variables. It encloses every query of the statement, so a column of a table in scope wins
 * over a variable, and a name a table of unknown schema might also hold is ambiguous.
 */
export function variableScope(script: ScriptState): Scope | undefined {
  if (script.variables.size === 0) return undefined;
  const scope = new Scope(undefined, undefined);
  const tables = new Set<string>();
  for (const lineage of script.variables.values()) for (const t of lineageTables(lineage)) tables.add(t);
  const relation: DerivedRelation = { kind: 'derived', alias: undefined, columns: [...script.variables].map(([name, lineage]) => ({ name, lineage })), tables };
  scope.relations.push(relation);
  return scope;
}

function variableName(node: unknown, what: string): string {
  const v = variant(node, what);
  const name = v.kind === 'identifier' ? ident(v.body, what) : v.kind === 'column' && v.body.table == null ? ident(v.body.name, what) : refuse(`${what} of an unexpected shape`, v.node);
  if (name.name.startsWith('@')) refuse(`system variable ${name.name}`, v.node);
  return name.name.toLowerCase();
}

/** `DECLARE a, b [type] [DEFAULT value]`: every name declared gets the default's lineage. */
export function declareStatement(v: Variant, outer: Scope | undefined, ctx: StatementContext, script: ScriptState): Output[] {
  expectFields(v, new Set(['expressions']), 'DECLARE');
  const assigned: [string, Lineage][] = [];
  for (const item of items(v.body.expressions)) {
    const d = variant(item, 'DECLARE item');
    if (d.kind !== 'declare_item') refuse(`DECLARE item ${d.kind}`, d.node);
    expectFields(d, new Set(['this', 'kind', 'default', 'has_as', 'additional_names']), 'DECLARE item');
    const lineage = d.body.default == null ? CONSTANT : evalExpr(d.body.default, { scope: new Scope(outer, undefined), ctx });
    for (const name of [d.body.this, ...items(d.body.additional_names)]) assigned.push([variableName(name, 'DECLARE name'), lineage]);
  }
  // Assigned once the statement is read through: its default cannot see the names it declares.
  for (const [name, lineage] of assigned) script.variables.set(name, lineage);
  return [];
}

/** `SET x = value`, `SET (a, b) = (SELECT AS STRUCT …)`: each name gets the whole value's lineage. */
export function setStatement(v: Variant, outer: Scope | undefined, ctx: StatementContext, script: ScriptState): Output[] {
  expectFields(v, new Set(['items']), 'SET');
  const assigned: [string, Lineage][] = [];
  for (const item of items(v.body.items)) {
    if (!isNode(item) || item.kind != null) refuse('SET item of an unexpected shape', item);
    const lineage = evalExpr(item.value, { scope: new Scope(outer, undefined), ctx });
    const target = variant(item.name, 'SET name');
    const names = target.kind === 'tuple' ? items(target.body.expressions) : [item.name];
    for (const name of names) {
      const key = variableName(name, 'SET name');
      if (!script.variables.has(key)) refuse(`SET of ${key}, which no earlier DECLARE of this text declares`, target.node);
      assigned.push([key, lineage]);
    }
  }
  for (const [name, lineage] of assigned) script.variables.set(name, lineage);
  return [];
}

/**
 * `CREATE TEMP FUNCTION f(x …) AS (expr)` or `LANGUAGE js AS '…'`: the body's reads, for its calls.
 * A function or table function created in a dataset is a routine (routines.ts).
 */
export function createFunctionStatement(v: Variant, ctx: StatementContext, script: ScriptState, source?: StatementSource): Output[] {
  expectFields(v, FUNCTION_FIELDS, 'CREATE FUNCTION');
  if (v.body.temporary !== true) return createRoutineFunction(v, ctx, source);
  if (v.body.is_table_function === true) refuse('CREATE TEMP TABLE FUNCTION (BigQuery creates table functions only in a dataset)', v.node);
  const path = tablePath(v.body.name, 'function name').path;
  if (path.length !== 1) refuse('temporary function with a qualified name', v.node);
  routineOptions(v.body.options, ctx);
  // Parameters stand for the arguments, whose lineage each call adds.
  const lineage = functionBodyLineage(v, parameterNames(v), ctx);
  script.functions.set(path[0]!.toUpperCase(), lineage);
  return [];
}
