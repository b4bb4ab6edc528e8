// DECLARE, SET and CREATE FUNCTION statements, into the tree ../gsql/ reads.
// BigQuery's spellings only: one DECLARE item (names, an optional type, an optional DEFAULT), one
// SET assignment (a name or a parenthesised list of names), and CREATE [TEMP] [TABLE] FUNCTION
// with its clauses in ZetaSQL's order. A table function's `TABLE<…>` parameters and RETURNS
// TABLE<…> are read here, and given a placeholder scalar type in the tree (../gsql/routines.ts
// reads their columns from the tokens, and refuses what it cannot name).
import { tableParameters } from '../gsql/routines.ts';
import type { Cursor } from './cursor.ts';
import { dataType, list, parseExpression } from './expression.ts';
import type { StatementParser } from './index.ts';
import { ident, type Tree } from './nodes.ts';
import { isQueryStart, mayBeQuery, parseQuery, tableName } from './query.ts';

/** The type a `TABLE<…>` parameter or RETURNS TABLE<…> is given in the tree: ../gsql/routines.ts reads their columns from the tokens. */
const BLANKED_TYPE: Tree = { data_type: 'custom', name: 'INT64' };

// DECLARE

/** `DECLARE a[, b …] [type] [DEFAULT value]`: BigQuery declares one list of names per statement. */
function declareStatement(c: Cursor): Tree {
  c.expectWord('DECLARE');
  const names = list(c, (c) => ({ identifier: ident(c, c.takeName('a variable name')) }));
  const item: Record<string, unknown> = { this: names[0], has_as: false };
  if (names.length > 1) item.additional_names = names.slice(1);
  if (!c.done && !c.isWord('DEFAULT')) {
    // `DECLARE a AS INT64` is no BigQuery spelling; the type is kept as written (the analysis reads none).
    if (c.isWord('AS')) c.fail('Unsupported AS in DECLARE');
    item.kind = dataType(c).name;
  }
  if (c.takeWord('DEFAULT')) item.default = parseExpression(c);
  return { declare: { expressions: [{ declare_item: item }] } };
}

// SET

/** `SET x = value`, `SET (a, b) = value`, `SET @@system_variable = value` (which the analysis refuses). */
function setStatement(c: Cursor): Tree {
  c.expectWord('SET');
  const target = setTarget(c);
  if (!c.takeOperator('=')) c.fail('Expected `=`');
  return { set_statement: { items: [{ name: target, value: parseExpression(c) }] } };
}

function setTarget(c: Cursor): Tree {
  const t = c.peek();
  if (t?.kind === 'param' && t.text.startsWith('@@') && t.text.length > 2 && c.isPunct('=', 1)) {
    c.i++;
    return { identifier: { name: t.text, quoted: false, span: c.span(t) } };
  }
  if (c.takePunct('(')) {
    const names = list(c, (c) => {
      const n = c.takeName('a variable name');
      return { column: { name: ident(c, n), span: c.span(n) } };
    });
    c.expectPunct(')');
    return { tuple: { expressions: names } };
  }
  const n = c.takeName('a variable name');
  // A field of a variable (`SET a.b = …`) is not assigned by SET.
  if (c.isPunct('.')) c.fail('Unsupported SET of a path');
  return { identifier: ident(c, n) };
}

// CREATE FUNCTION

/**
 * `CREATE [OR REPLACE] [TEMP|TEMPORARY] [TABLE] FUNCTION [IF NOT EXISTS] name(params)` and its
 * clauses: a scalar function's `[RETURNS type] [[NOT] DETERMINISTIC] [LANGUAGE l]` then
 * `[OPTIONS(…)] AS body` or `AS body OPTIONS(…)`; a table function's `[RETURNS TABLE<…>]
 * [OPTIONS(…)] [LANGUAGE l] AS query|string`. Whether the statement's kind agrees with its classification
 * (temporary, table function) the analysis checks (../gsql/statement.ts).
 */
function createFunctionStatement(c: Cursor): Tree {
  c.expectWord('CREATE');
  const body: Record<string, unknown> = {};
  if (c.takeWord('OR')) {
    c.expectWord('REPLACE');
    body.or_replace = true;
  }
  if (c.takeWord('TEMP') || c.takeWord('TEMPORARY')) body.temporary = true;
  const tableFunction = c.takeWord('TABLE');
  if (tableFunction) {
    if (body.temporary === true) c.fail('Unsupported CREATE TEMP TABLE FUNCTION (BigQuery creates table functions only in a dataset)');
    body.is_table_function = true;
  }
  c.expectWord('FUNCTION');
  if (c.isWord('IF') && c.isWord('NOT', 1) && c.isWord('EXISTS', 2)) {
    c.i += 3;
    body.if_not_exists = true;
  }
  body.name = tableName(c);
  const parameters = parameterList(c, tableFunction);
  if (parameters.length > 0) body.parameters = parameters;
  if (tableFunction) tableFunctionClauses(c, body);
  else scalarFunctionClauses(c, body);
  return { create_function: body };
}

/** `(p type, …)`, possibly empty; a table function's parameter may be `t TABLE<a type, …>`. */
function parameterList(c: Cursor, tableFunction: boolean): Tree[] {
  c.expectPunct('(');
  if (c.takePunct(')')) return [];
  const parameters = list(c, (c) => parameter(c, tableFunction));
  c.expectPunct(')');
  return parameters;
}

function parameter(c: Cursor, tableFunction: boolean): Tree {
  const n = c.takeName('a parameter name');
  const body: Record<string, unknown> = { name: ident(c, n) };
  if (c.isWord('ANY')) {
    c.i++;
    if (!c.takeWord('TYPE')) c.fail('Unsupported ANY parameter other than ANY TYPE');
    body.data_type = { data_type: 'custom', name: 'ANY TYPE' };
  } else if (c.isWord('TABLE')) {
    if (!tableFunction) c.fail('Unsupported TABLE parameter of a scalar function');
    body.data_type = tableParameterType(c);
  } else {
    body.data_type = dataType(c);
  }
  // Modes, defaults, NOT AGGREGATE: no parameter of a BigQuery function has them.
  if (!c.isPunct(',') && !c.isPunct(')')) c.fail('Unsupported parameter clause');
  return body;
}

/**
 * `TABLE<a INT64, b STRING>`: a relation of the body whose columns the analysis reads from the
 * tokens (../gsql/routines.ts tableParameters). It is read only where that reading finds it too,
 * so the parameter the analysis makes a relation is the one read here; a value table
 * (`TABLE<INT64>`, `TABLE<STRUCT<…>>`) is refused.
 */
function tableParameterType(c: Cursor): Tree {
  const first = c.peek()!;
  tableColumns(c);
  const last = c.peek(-1)!;
  const found = tableParameters(c.tokens).some((p) => p.start === first.start && p.end === last.end);
  if (!found) c.failAt(last, 'Unsupported TABLE parameter');
  return BLANKED_TYPE;
}

/** `TABLE<name type, …>`: at least one column, each a name and a type, the names distinct (case aside). */
function tableColumns(c: Cursor): void {
  c.expectWord('TABLE');
  c.expectPunct('<');
  const names = list(c, (c) => {
    // `TABLE<INT64>`, `TABLE<STRUCT<…>>`: a value table, no named column.
    if (!c.isName() || c.peek(1)?.kind !== 'word') c.fail('Unsupported TABLE parameter without column names');
    const column = c.next();
    dataType(c);
    return column.text.toLowerCase();
  });
  // `>>` is two tokens: the last closes this list.
  c.expectPunct('>');
  if (new Set(names).size !== names.length) c.fail('Unsupported TABLE parameter naming a column twice');
}

/** A scalar function's clauses after its parameters. */
function scalarFunctionClauses(c: Cursor, body: Record<string, unknown>): void {
  if (c.takeWord('RETURNS')) {
    if (c.isWord('TABLE')) c.fail('Unsupported RETURNS TABLE of a scalar function');
    body.return_type = dataType(c);
  }
  if (c.takeWord('DETERMINISTIC')) body.deterministic = true;
  else if (c.isWord('NOT') && c.isWord('DETERMINISTIC', 1)) {
    c.i += 2;
    body.deterministic = false;
  }
  if (c.takeWord('LANGUAGE')) {
    // BigQuery requires the return type of a function in another language.
    if (body.return_type === undefined) c.fail('Unsupported LANGUAGE without RETURNS');
    const language = c.takeName('a language');
    // A Python function's connection (`WITH CONNECTION`) is not read.
    body.language = language.text;
  }
  if (c.isWord('OPTIONS')) body.options = options(c);
  c.expectWord('AS');
  body.body = body.language === undefined ? sqlBody(c) : stringBody(c);
  if (body.options === undefined && c.isWord('OPTIONS')) body.options = options(c);
}

/** `(expression)`: a query there must be parenthesised again (`((SELECT …))`), as BigQuery requires. */
function sqlBody(c: Cursor): Tree {
  c.expectPunct('(');
  if (isQueryStart(c)) c.fail('Unsupported query as a function body (BigQuery takes an expression: ((SELECT …)))');
  const expression = parseExpression(c);
  c.expectPunct(')');
  return { Expression: { paren: { this: expression } } };
}

/** The code of a function in another language: a string, whose text the analysis does not read. */
function stringBody(c: Cursor): Tree {
  const t = c.next();
  const m = t.kind === 'string' ? /^([rR]?)('''|"""|'|")([\s\S]*)\2$/.exec(t.text) : null;
  if (m === null) return c.failAt(t, 'Expected a string as the function body');
  return { StringLiteral: m[3]! };
}

/**
 * A table function's clauses after its parameters: `[RETURNS TABLE<…>] [OPTIONS(…)] [LANGUAGE l]
 * AS query|string`. The analysis refuses a table function in another language, whose code the
 * text does not show, and a RETURNS TABLE whose columns have no names (../gsql/routines.ts).
 */
function tableFunctionClauses(c: Cursor, body: Record<string, unknown>): void {
  if (c.takeWord('RETURNS')) {
    returnedTableType(c);
    body.return_type = BLANKED_TYPE;
  }
  if (c.isWord('OPTIONS')) body.options = options(c);
  if (c.takeWord('LANGUAGE')) body.language = c.takeName('a language').text;
  c.expectWord('AS');
  if (body.language !== undefined) {
    body.body = stringBody(c);
    return;
  }
  if (!isQueryStart(c) && !mayBeQuery(c)) c.fail('Expected a query');
  body.body = { Expression: parseQuery(c) };
}

/** `TABLE<[name] type, …>` after RETURNS: whether each column has a name the analysis checks, from the tokens. */
function returnedTableType(c: Cursor): void {
  c.expectWord('TABLE');
  c.expectPunct('<');
  list(c, (c) => {
    const t = c.peek();
    if ((t?.kind === 'word' || t?.kind === 'quoted') && c.peek(1)?.kind === 'word') c.i++;
    return dataType(c);
  });
  // `>>` is two tokens: the last closes this list.
  c.expectPunct('>');
}

/** `OPTIONS(key = value, …)`: each entry an `eq` (../gsql/routines.ts routineOptions). */
function options(c: Cursor): Tree[] {
  c.expectWord('OPTIONS');
  c.expectPunct('(');
  if (c.takePunct(')')) return [];
  const entries = list(c, (c) => {
    const key = c.takeName('an option name');
    if (!c.takeOperator('=')) c.fail('Expected `=`');
    return { eq: { left: { column: { name: ident(c, key), span: c.span(key) } }, right: parseExpression(c) } };
  });
  c.expectPunct(')');
  return entries;
}

export const SCRIPT_STATEMENTS: Readonly<Record<string, StatementParser>> = {
  DECLARE: declareStatement,
  SET: setStatement,
  CREATE_TEMP_FUNCTION: createFunctionStatement,
  CREATE_FUNCTION: createFunctionStatement,
  CREATE_TABLE_FUNCTION: createFunctionStatement,
};
