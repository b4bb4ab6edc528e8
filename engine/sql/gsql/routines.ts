// Routines created in a dataset: CREATE FUNCTION, CREATE TABLE FUNCTION and CREATE PROCEDURE. The
// routine is recorded as a table ref (`routine: true`, mode ddl, as CREATE TABLE and CREATE VIEW
// record what they define), so the policy judges creating it as DDL in its dataset. Its body is
// not run at creation, but what it names is recorded, so that creating a routine over tables the
// creator may not read can be judged:
// - a SQL function's expression and a table function's query are analysed where parameters are
//   values (constant lineage: each call adds its arguments'), and the tables they read are
//   recorded as read; a table function's outputs are its query's columns, what flows to its
//   callers. A JavaScript (or other language) body sees only its arguments. A table parameter
//   (`t TABLE<a INT64, …>`, read from the tokens) is a relation of the body whose columns are values.
// - a procedure's body (BEGIN … END) is read from the statement's tokens, as CREATE MODEL is
//   (ml.ts), for the parser does not read it: the tables its statements name, by the token scan
//   (../scan.ts), are recorded as read; it has no outputs. What the body cannot show (SQL text
//   run by EXECUTE IMMEDIATE, the body of a procedure it CALLs, a table-valued function's) makes
//   the statement unparsed.
// Temporary functions are script state (script.ts), not routines of a dataset. BigQuery has no
// temporary table function, so CREATE TEMP TABLE FUNCTION stays unparsed (statement.ts).
import type { Output } from '../../schema-types.ts';
import { unsupported } from '../ast.ts';
import type { StatementContext } from '../context.ts';
import type { Token } from '../lexer.ts';
import { CONSTANT, type Lineage } from '../lineage.ts';
import { queryOutputs } from '../relation.ts';
import { readPath, scanTables } from '../scan.ts';
import { CteEnv, Scope } from '../scope.ts';
import { qualify, type TableName } from '../tables.ts';
import { evalExpr } from './expr.ts';
import { StatementReader, type StatementSource } from './statement-reader.ts';
import { analyzeQuery, isQuery } from './query.ts';
import { tablePath } from './target.ts';
import { expectFields, ident, isNode, items, refuse, variant, type Variant } from './tree.ts';

/** Qualifies and records the routine `path` names (mode ddl); an unqualifiable name makes the statement unparsed. */
export function recordRoutine(path: readonly string[], ctx: StatementContext): TableName {
  const q = qualify(path, ctx.names);
  if (q.error !== undefined) unsupported(q.error.replace(/^table/, 'routine'));
  const name: TableName = { ...q.name, routine: true };
  ctx.addTable(name, 'ddl');
  return name;
}

/** The lower-case names of a function's parameters; a parameter mode (IN, OUT) or default is refused. */
export function parameterNames(v: Variant): string[] {
  return items(v.body.parameters).map((p) => {
    if (!isNode(p)) return refuse('function parameter of an unexpected shape', p);
    expectFields(variant({ parameter: p }, 'function parameter'), new Set(['name', 'data_type']), 'function parameter');
    return ident(p.name, 'function parameter').name.toLowerCase();
  });
}

/** A scope whose one relation without a name holds the parameters, as values of constant lineage. */
function parameterScope(parameters: readonly string[]): Scope {
  const scope = new Scope(undefined, undefined);
  scope.relations.push({ kind: 'derived', alias: undefined, columns: parameters.map((name) => ({ name, lineage: CONSTANT })), tables: new Set() });
  return scope;
}

/**
 * A scalar function's body: `AS (expr)` evaluated with the parameters as values (the lineage each
 * call adds to its arguments'), or a string in another language, which sees only its arguments.
 */
export function functionBodyLineage(v: Variant, parameters: readonly string[], ctx: StatementContext): Lineage {
  const body = v.body.body;
  if (v.body.language != null) {
    if (isNode(body) && typeof body.StringLiteral === 'string') return CONSTANT; // it sees only its arguments
    return refuse(`function body in LANGUAGE ${String(v.body.language)} that is not a string`, v.node);
  }
  if (isNode(body) && isNode(body.Expression)) return evalExpr(body.Expression, { scope: parameterScope(parameters), ctx });
  return refuse('function body of an unexpected kind', v.node);
}

/**
 * `OPTIONS(key = value, …)` of a routine: each value is evaluated (a query among them is analysed,
 * as CREATE VIEW's are); a bare word (`a = b`) names no column here. The key names an option.
 */
export function routineOptions(list: unknown, ctx: StatementContext): void {
  for (const entry of items(list)) {
    const eq = variant(entry, 'OPTIONS entry');
    if (eq.kind !== 'eq' || variant(eq.body.left, 'OPTIONS key').kind !== 'column') refuse('OPTIONS entry of an unexpected shape', eq.node);
    const value = variant(eq.body.right, 'OPTIONS value');
    if (value.kind === 'column' && value.body.table == null) continue;
    evalExpr(eq.body.right, { scope: new Scope(undefined, undefined), ctx });
  }
}

/**
 * `RETURNS TABLE<a INT64, b STRING>`'s column names, in order, read from the statement's tokens
 * (the tree gives it a placeholder type: ../parser/script.ts); undefined without RETURNS. A
 * value table (`TABLE<INT64>`) or a list of another form is refused.
 */
function returnedColumns(source: StatementSource, node: unknown): string[] | undefined {
  const tokens = source.span.tokens;
  const returns = tokens.findIndex((t) => t.kind === 'word' && t.upper === 'RETURNS');
  if (returns < 0) return undefined;
  const word = (i: number, upper: string) => tokens[i]?.kind === 'word' && tokens[i]!.upper === upper;
  const punct = (i: number, text: string) => tokens[i]?.kind === 'punct' && tokens[i]!.text === text;
  if (!word(returns + 1, 'TABLE') || !punct(returns + 2, '<')) return refuse('RETURNS of a table function that is not TABLE<…>', node);
  const columns: string[] = [];
  let item = returns + 3;
  for (let depth = 1, i = returns + 3; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct' && (t.text === '<' || t.text === '(')) depth++;
    else if (t.kind === 'punct' && (t.text === '>' || t.text === ')')) depth--;
    const ends = depth === 0 || (depth === 1 && t.kind === 'punct' && t.text === ',');
    if (!ends) continue;
    const name = tokens[item];
    // `name type`: a name, then at least one token of its type.
    if (name === undefined || (name.kind !== 'word' && name.kind !== 'quoted') || i - item < 2) return refuse('RETURNS TABLE column without a name', node);
    // `STRUCT<…>`, `ARRAY<…>`: a value table's type, not a column's name.
    if (tokens[item + 1]?.kind === 'punct') return refuse('RETURNS TABLE column without a name', node);
    columns.push(name.text.toLowerCase());
    item = i + 1;
    if (depth === 0) return columns;
  }
  return refuse('RETURNS TABLE<…> that is not closed', node);
}

/** A table parameter `t TABLE<a INT64, b STRING>`: its name, its columns' names, and where `TABLE<…>` is written. */
export interface TableParameter {
  readonly name: string;
  readonly columns: readonly string[];
  readonly start: number;
  readonly end: number;
}

/**
 * The table parameters of `CREATE TABLE FUNCTION f(t TABLE<a INT64, …>, …)`, read from the
 * statement's tokens (the tree gives each a placeholder type). Each column is `name type`; a
 * value table (`TABLE<INT64>`, `TABLE<STRUCT<…>>`) and ANY TABLE are ZetaSQL's, not BigQuery's,
 * and the parser refuses them.
 */
export function tableParameters(tokens: readonly Token[]): TableParameter[] {
  const isWord = (i: number, upper: string) => tokens[i]?.kind === 'word' && tokens[i]!.upper === upper;
  const isPunct = (i: number, text: string) => tokens[i]?.kind === 'punct' && tokens[i]!.text === text;
  const fn = tokens.findIndex((t) => t.kind === 'word' && t.upper === 'FUNCTION');
  const open = tokens.findIndex((t, i) => i > fn && t.kind === 'punct' && t.text === '(');
  if (fn < 0 || open < 0) return [];
  const found: TableParameter[] = [];
  for (let item = open + 1, depth = 1, i = open + 1; i < tokens.length && depth > 0; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct' && (t.text === '<' || t.text === '(')) depth++;
    else if (t.kind === 'punct' && (t.text === '>' || t.text === ')')) depth--;
    if (!(depth === 0 || (depth === 1 && isPunct(i, ',')))) continue;
    const name = tokens[item];
    if (name !== undefined && (name.kind === 'word' || name.kind === 'quoted') && isWord(item + 1, 'TABLE') && isPunct(item + 2, '<')) {
      const columns = typeColumns(tokens, item + 2, i - 1);
      if (columns !== undefined) found.push({ name: name.text.toLowerCase(), columns, start: tokens[item + 1]!.start, end: tokens[i - 1]!.end });
    }
    item = i + 1;
  }
  return found;
}

/** `<a INT64, b STRUCT<…>>` from `open` to `close` (its `<` and `>`): the names, or none unless every column is `name type`. */
function typeColumns(tokens: readonly Token[], open: number, close: number): string[] | undefined {
  if (tokens[close]?.kind !== 'punct' || tokens[close]!.text !== '>') return undefined;
  const columns: string[] = [];
  let item = open + 1;
  for (let depth = 1, i = open + 1; i <= close; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct' && (t.text === '<' || t.text === '(')) depth++;
    else if (t.kind === 'punct' && (t.text === '>' || t.text === ')')) depth--;
    const ends = (i === close && depth === 0) || (depth === 1 && t.kind === 'punct' && t.text === ',');
    if (!ends) continue;
    const name = tokens[item];
    const next = tokens[item + 1];
    // `name type`: a name, then a type (a type word followed by `<` is a value table's type, not a name).
    if (name === undefined || (name.kind !== 'word' && name.kind !== 'quoted') || i - item < 2) return undefined;
    if (next !== undefined && next.kind === 'punct') return undefined;
    columns.push(name.text.toLowerCase());
    item = i + 1;
  }
  return columns.length > 0 && new Set(columns).size === columns.length ? columns : undefined;
}

/** A table function's query, its outputs what flows to its callers; RETURNS TABLE must name its columns as they are. */
function tableFunctionOutputs(v: Variant, parameters: readonly string[], ctx: StatementContext, source: StatementSource | undefined): Output[] {
  if (v.body.language != null) refuse(`table function in LANGUAGE ${String(v.body.language)}`, v.node);
  const body = v.body.body;
  if (!isNode(body) || !isNode(body.Expression)) return refuse('table function body of an unexpected kind', v.node);
  const query = variant(body.Expression, 'table function query');
  if (!isQuery(query) && query.kind !== 'subquery') refuse(`table function body ${query.kind}`, query.node);
  if (source === undefined) return refuse('table function whose statement text the analysis was not given', v.node);
  // A table parameter is a relation of the body (as a WITH query is), its columns values of constant lineage.
  const tables = tableParameters(source.span.tokens);
  const env = new CteEnv(undefined);
  for (const t of tables) env.define(t.name, { kind: 'derived', alias: t.name, columns: t.columns.map((name) => ({ name, lineage: CONSTANT })), tables: new Set() });
  const scalars = parameters.filter((p) => !tables.some((t) => t.name === p));
  const outputs = queryOutputs(analyzeQuery(body.Expression, parameterScope(scalars), env, ctx));
  const declared = returnedColumns(source, v.node);
  if (declared !== undefined) {
    // BigQuery matches the declared columns to the query's; where they differ, the reading would be a guess.
    const names = outputs.map((o) => o.name);
    if (declared.length !== names.length || declared.some((n, i) => n !== names[i])) {
      refuse(`RETURNS TABLE<${declared.join(', ')}> over a query whose columns are ${names.join(', ')}`, v.node);
    }
  }
  return outputs;
}

/**
 * `CREATE [OR REPLACE] [TABLE] FUNCTION [IF NOT EXISTS] ds.f(…) [RETURNS …] [OPTIONS(…)] AS …`:
 * the routine is defined (ddl) and its body analysed (see above). `v` is the statement's
 * create_function, its fields checked by the caller (script.ts); `source` is the statement's text,
 * where RETURNS TABLE is read.
 */
export function createRoutineFunction(v: Variant, ctx: StatementContext, source: StatementSource | undefined): Output[] {
  recordRoutine(tablePath(v.body.name, 'function name').path, ctx);
  const parameters = parameterNames(v);
  routineOptions(v.body.options, ctx);
  if (v.body.is_table_function === true) return tableFunctionOutputs(v, parameters, ctx, source);
  functionBodyLineage(v, parameters, ctx);
  return [];
}

// CREATE [OR REPLACE] PROCEDURE [IF NOT EXISTS] name([IN | OUT | INOUT] p type, …) [OPTIONS(…)]
// BEGIN … END, read from its tokens.

/** Calls an OPTIONS value may hold: constant arrays and STRUCTs. */
const OPTION_CALLS = new Set(['ARRAY', 'STRUCT']);

class ProcedureReader extends StatementReader {
  /**
   * The tables the body (tokens `first`..`last`) names, by the token scan, recorded as read. The
   * names of temporary tables the body creates, its WITH names and array paths are no tables of
   * a dataset; a name in a table position followed by `(` (a table-valued function), EXECUTE
   * IMMEDIATE and CALL leave what the body reads untold, and are refused.
   */
  body(first: number, last: number, ctx: StatementContext): void {
    const tokens = this.tokens.slice(first, last + 1) as Token[];
    const temporary = new Set<string>();
    for (let i = 0; i < tokens.length; i++) {
      const at = first + i;
      if (this.word(at, 'EXECUTE') && this.word(at + 1, 'IMMEDIATE')) this.fail('EXECUTE IMMEDIATE in a procedure body (the SQL it runs is only known when it runs)', at);
      if (this.word(at, 'CALL') && (at === first || this.punct(at - 1, ';') || this.word(at - 1, 'THEN') || this.word(at - 1, 'ELSE') || this.word(at - 1, 'BEGIN') || this.word(at - 1, 'DO') || this.word(at - 1, 'LOOP'))) {
        this.fail('CALL in a procedure body (what the called procedure reads is not in the text)', at);
      }
      if (!this.word(at, 'CREATE')) continue;
      let j = at + 1;
      if (this.word(j, 'OR') && this.word(j + 1, 'REPLACE')) j += 2;
      if (!this.word(j, 'TEMP') && !this.word(j, 'TEMPORARY')) continue;
      if (!this.word(j + 1, 'TABLE')) continue;
      j += 2;
      if (this.word(j, 'IF') && this.word(j + 1, 'NOT') && this.word(j + 2, 'EXISTS')) j += 3;
      const name = readPath(this.tokens as Token[], j);
      if (name === undefined || name.malformed !== undefined || name.path.length !== 1) this.fail('temporary table name of an unexpected form', j);
      temporary.add(name.path[0]!.toLowerCase());
    }
    const scan = scanTables(tokens);
    for (const ref of scan.refs) {
      if (ref.malformed !== undefined) unsupported(ref.malformed);
      if (ref.arrayPath) continue;
      const single = ref.path.length === 1 && !ref.path[0]!.includes('.') ? ref.path[0]!.toLowerCase() : undefined;
      if (single !== undefined && (temporary.has(single) || scan.ctes.has(single))) continue;
      if (ref.call) unsupported(`${ref.path.join('.')}(…) in a table position of a procedure body is not analysed`);
      ctx.table(ref.path, 'read');
    }
  }
}

/** The CREATE PROCEDURE statement of `source`: the procedure defined (ddl), the tables its body names read (see above). */
export function createProcedureStatement(source: StatementSource, ctx: StatementContext): Output[] {
  const r = new ProcedureReader(source);
  const n = r.tokens.length;
  const name = r.createdName('PROCEDURE', 'procedure');
  recordRoutine(name.path, ctx);
  let i = name.next;
  const close = r.closing(i, 'CREATE PROCEDURE parameter');
  r.nameList(i + 1, close - 1, 'procedure parameter list');
  i = close + 1;
  if (r.word(i, 'OPTIONS')) {
    const end = r.closing(i + 1, 'OPTIONS');
    r.constantOptions(i + 2, end - 1, ctx, 'CREATE PROCEDURE', OPTION_CALLS);
    i = end + 1;
  }
  // A procedure in another language (WITH CONNECTION … LANGUAGE PYTHON) runs code the text does not show.
  if (!r.word(i, 'BEGIN')) r.fail(`CREATE PROCEDURE ${r.tokens[i]?.text ?? ''} where BEGIN was expected`, i);
  if (!r.word(n - 1, 'END') || n - 1 <= i) r.fail('CREATE PROCEDURE body that does not end with END', n - 1);
  r.body(i + 1, n - 2, ctx);
  return [];
}
