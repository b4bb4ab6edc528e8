// Scripts: DECLARE and SET give variables the lineage of what is assigned to them, and later
// statements read a variable with that lineage; CREATE TEMP FUNCTION records what its body reads,
// which flows into every call. CREATE TEMP TABLE (ddl.ts) defines a relation later statements read
// by its bare name, as a WITH query enclosing them, with the lineage of the rows put in it. Each
// statement still reports only what it reads itself, plus the tables its variables' (and temporary
// tables') values came from (so their policy tags reach the policy).
import type { Output } from '../../schema-types.ts';
import { Unsupported } from '../ast.ts';
import type { Token } from '../lexer.ts';
import type { StatementContext } from '../context.ts';
import { CONSTANT, lineageTables, passedThrough, type Lineage } from '../lineage.ts';
import { queryOutputs } from '../relation.ts';
import { writtenKey } from '../tables.ts';
import { analyzeQuery } from './query.ts';
import { CteEnv, Scope, type DerivedRelation } from '../scope.ts';
import { evalExpr } from './expr.ts';
import type { ScriptState } from './statement-facts.ts';
import type { StatementSource } from './statement-reader.ts';
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
  const temp = tempTableEnv(script);
  if (script.variables.size === 0) return temp === undefined ? undefined : new Scope(undefined, temp);
  const scope = new Scope(undefined, temp);
  const tables = new Set<string>();
  for (const lineage of script.variables.values()) for (const t of lineageTables(lineage)) tables.add(t);
  const relation: DerivedRelation = { kind: 'derived', alias: undefined, columns: [...script.variables].map(([name, lineage]) => ({ name, lineage })), tables };
  scope.relations.push(relation);
  return scope;
}

/**
 * The script's temporary tables, as WITH names enclosing every query of the statement: a bare
 * name resolves to a temporary table before the default dataset, and a WITH name of the query to
 * its WITH query first. A temporary table whose rows the analysis lost track of is left out, so
 * its name reaches the table lookup, which refuses it (../context.ts).
 */
function tempTableEnv(script: ScriptState): CteEnv | undefined {
  if (script.tempTables.size === 0) return undefined;
  const env = new CteEnv(undefined);
  for (const [name, temp] of script.tempTables) if (temp.relation !== undefined) env.define(name, temp.relation);
  return env;
}

/**
 * A temporary table is named as it was created: a name that differs from it only in case may
 * name another table (BigQuery's table names are case-sensitive), so the statement is refused.
 */
export function tempTableSpellings(tokens: readonly Token[], script: ScriptState): void {
  if (script.tempTables.size === 0) return;
  for (const t of tokens) {
    if (t.kind !== 'word' && t.kind !== 'quoted') continue;
    const temp = script.tempTables.get(t.text.toLowerCase());
    if (temp !== undefined && temp.spelled !== t.text) throw new Unsupported(`${t.text}, spelled otherwise than the temporary table ${temp.spelled}`);
  }
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

/** The temporary table a single written name names, if any (its spelling is checked for the whole statement: tempTableSpellings). */
export function tempTableNamed(node: unknown, script: ScriptState): string | undefined {
  if (script.tempTables.size === 0) return undefined;
  const path = tablePath(node, 'table name').path;
  if (path.length !== 1) return undefined;
  const key = path[0]!.toLowerCase();
  return script.tempTables.get(key)?.relation === undefined ? undefined : key;
}

/**
 * `INSERT INTO t [(columns)] query|VALUES …` of a temporary table: no table is written that a
 * table ref can name; each column of `t` now holds its earlier rows or the inserted ones, so later
 * statements read it with both lineages. A column left out of the list receives NULL.
 */
export function insertIntoTempTable(v: Variant, key: string, outer: Scope | undefined, ctx: StatementContext, script: ScriptState): Output[] {
  expectFields(v, new Set(['table', 'columns', 'values', 'query']), 'INSERT');
  const temp = script.tempTables.get(key)!.relation!;
  if (temp.columns.some((c) => c.lookup !== undefined)) refuse('INSERT into a temporary table whose columns are not known', v.node);
  const listed = items(v.body.columns).map((c) => ident(c, 'INSERT column').name.toLowerCase());
  const targets = listed.length > 0 ? listed : temp.columns.map((c) => c.name.toLowerCase());
  if (new Set(targets).size !== targets.length || targets.some((n) => !temp.columns.some((c) => c.name.toLowerCase() === n))) refuse('INSERT column list that does not name columns of the temporary table once each', v.node);
  const inserted: Lineage[][] = [];
  let outputs: Output[] = [];
  let tables = new Set(temp.tables);
  if (v.body.query != null) {
    if (items(v.body.values).length > 0) refuse('INSERT with both VALUES and a query', v.node);
    const result = analyzeQuery(v.body.query, outer, outer?.ctes, ctx);
    if (result.valueTable !== undefined || result.columns.some((c) => c.lookup !== undefined)) refuse('INSERT into a temporary table of a query whose columns are not known', v.node);
    inserted.push(result.columns.map((c) => c.lineage));
    outputs = queryOutputs(result, listed.length > 0 ? listed : undefined);
    tables = new Set([...tables, ...result.tables]);
  } else {
    const env = { scope: new Scope(outer, undefined), ctx };
    for (const row of items(v.body.values)) {
      if (!Array.isArray(row)) refuse('INSERT VALUES row of an unexpected shape', v.node);
      const values = row.map((value) => evalExpr(value, env));
      for (const value of values) for (const t of lineageTables(value)) tables.add(t);
      inserted.push(values);
    }
  }
  if (inserted.some((row) => row.length !== targets.length)) refuse('INSERT whose values do not match the columns of the temporary table', v.node);
  const columns = temp.columns.map((c) => {
    const at = targets.indexOf(c.name.toLowerCase());
    return at < 0 ? c : { name: c.name, lineage: passedThrough([c.lineage, ...inserted.map((row) => row[at]!)]) };
  });
  ctx.explained.add(writtenKey([script.tempTables.get(key)!.spelled]));
  script.tempTables.set(key, { spelled: script.tempTables.get(key)!.spelled, relation: { ...temp, columns, tables } });
  return outputs;
}

/** `DROP TABLE t` of temporary tables only: they are gone, and the names again name tables of the default dataset. */
export function dropTempTables(v: Variant, ctx: StatementContext, script: ScriptState): Output[] | undefined {
  const names = items(v.body.names);
  const keys = names.map((n) => tempTableNamed(n, script));
  if (keys.length === 0 || keys.some((k) => k === undefined)) return undefined;
  expectFields(v, new Set(['names', 'if_exists']), 'DROP TABLE');
  for (const key of keys) {
    ctx.explained.add(writtenKey([script.tempTables.get(key!)!.spelled]));
    script.tempTables.delete(key!);
  }
  return [];
}
