// The `sql` part of the policy input: split, classify and scan every statement (split.ts,
// classify.ts, scan.ts), parse it (parser/) and analyse its syntax tree (gsql/statement.ts). The
// statements of one text run as
// a script: variables and temporary functions carry over. Anything that goes wrong for one
// statement (a refusal of the parser, syntax the analysis does not follow, a table the parser
// missed) makes that statement `parsed: false` with an error, its category kept and its tables
// named by the token scan. The analysis is shared by literal shape (literals.ts) when every
// statement was parsed and its expression analysis read as many literal nodes as the statement has
// literal tokens: literals carry no position in the tree, so the count is the check. Nothing here
// throws.
import type { Output, Sql, Statement, TableRef } from '../schema-types.ts';
import { Unsupported } from './ast.ts';
import type { SchemaCatalog } from './catalog.ts';
import { classify, type Classification } from './classify.ts';
import { StatementContext } from './context.ts';
import { crossCheck, scannedTables, unparsed, type StatementHead } from './fallback.ts';
import { lex, type LexResult, type Token } from './lexer.ts';
import { RESERVED } from './keywords.ts';
import { scanTables } from './scan.ts';
import { splitStatements, type StatementSpan } from './split.ts';
import { deepFreeze, sqlHash, type SqlAnalysis } from './analysis.ts';
import { literalTokens } from './literals.ts';
import type { NameContext, TableName } from './tables.ts';
import { describeParseError, lineColumn, placeRefusal, type ParseResult } from './gsql/parse.ts';
import { pipeQuery, scanTokens } from './gsql/pipe.ts';
import { createProcedureStatement } from './gsql/routines.ts';
import { SCHEMA_TYPES, schemaStatement } from './gsql/schema-ddl.ts';
import { tempTableSpellings, variableScope } from './gsql/script.ts';
import { bindFacts, callNames, newScript, type ScriptState } from './gsql/statement-facts.ts';
import { GSQL_TYPES, analyzeStatement } from './gsql/statement.ts';
import { unknownLineage } from './lineage.ts';
import { parseStatement } from './parser/index.ts';

/** The statement's table refs with the policy tags their known schemas carry (as ../analyze.ts does). */
function withPolicyTags(statement: Statement, catalog: SchemaCatalog): Statement {
  let changed = false;
  const tables = statement.tables.map((ref) => {
    const tags = catalog.policyTags(ref.id);
    if (tags === undefined) return ref;
    changed = true;
    return { ...ref, policy_tags: tags as NonNullable<TableRef['policy_tags']> };
  });
  return changed ? { ...statement, tables } : statement;
}

function notParsedReason(c: Classification): string {
  if (c.type === 'EXECUTE_IMMEDIATE') return 'EXECUTE IMMEDIATE runs SQL text that is only known when the script runs';
  if (c.type === 'UNKNOWN') return 'not a statement the normalizer recognises';
  return `${c.type} statements are not parsed`;
}

function failure(e: unknown): string {
  return e instanceof Unsupported ? e.message : `analysis failed: ${e instanceof Error ? e.message : String(e)}`;
}

function parsedStatement(head: StatementHead, ctx: StatementContext, outputs: Output[]): Statement {
  const tableIds = [...new Set([...ctx.tables.values()].map((t) => t.id))];
  // Unknown lineage naming no table would read as "nothing sensitive can flow here".
  for (const output of outputs) if (output.lineage === 'unknown' && (output.tables?.length ?? 0) === 0) output.tables = tableIds;
  return {
    ...head,
    parsed: true,
    tables: [...ctx.tables.values()],
    columns: [...ctx.columns.values()],
    predicate_columns: ctx.predicateColumns(),
    functions: [...ctx.functions],
    outputs,
  };
}

/**
 * Tables a script variable's or temporary function's value came from (read by an earlier
 * statement) are read here too: the policy finds a source column's policy tags on the table refs.
 */
function addSourceTables(ctx: StatementContext, outputs: readonly Output[], script: ScriptState): void {
  const ids = new Set([...ctx.tables.values()].map((t) => t.id));
  const refs = [...ctx.columns.values(), ...ctx.predicates.values(), ...outputs.flatMap((o) => o.sources)];
  // Unknown lineage names the tables it may come from, a temporary table's defining query's among them.
  const named = [...refs.map((r) => r.table), ...outputs.flatMap((o) => o.tables ?? [])];
  for (const id of named) {
    if (ids.has(id)) continue;
    const table = script.tables.get(id);
    if (table === undefined) throw new Unsupported(`source table ${id} is named by no earlier statement of the script`);
    ids.add(id);
    ctx.addTable(table, 'read');
  }
}

interface SpanAnalysis {
  statement: Statement;
  /** Parsed, and every literal token reached the expression analysis as a value (../literals.ts). */
  byShape: boolean;
}

/** The statement parsed; a query in pipe syntax is first rewritten into standard syntax (gsql/pipe.ts). */
function parseSpan(text: string, span: StatementSpan, type: string): ParseResult {
  const pipe = type === 'SELECT' ? pipeQuery(text, span) : undefined;
  if (pipe === undefined) return parseStatement(type, text, span);
  if ('error' in pipe) return { error: pipe.error };
  return restored(pipe, parseStatement(type, pipe.sql, pipe.span));
}

/** The pipe query's parse with its positions as written; a tree too deep to walk is a refusal, never an exception. */
function restored(pipe: { restore: (parsed: ParseResult) => ParseResult }, parsed: ParseResult): ParseResult {
  try {
    return pipe.restore(parsed);
  } catch (e) {
    return { error: `the standard form of the pipe query could not be placed back (${e instanceof Error ? e.message : String(e)})` };
  }
}

function analyzeSpan(
  text: string,
  span: StatementSpan,
  index: number,
  names: NameContext,
  catalog: SchemaCatalog,
  lexError: string | undefined,
  script: ScriptState,
): SpanAnalysis {
  const ctx = new StatementContext(names, catalog);
  for (const name of script.tempTables.keys()) ctx.tempTables.add(name);
  const statement = withPolicyTags(analyzeStatementSpan(text, span, index, ctx, lexError, script), catalog);
  if (!statement.parsed) {
    // A statement the analysis did not follow may have changed any temporary table's rows, and
    // assigned any variable a value from the tables it names: what each holds is unknown since.
    for (const [name, temp] of script.tempTables) script.tempTables.set(name, { spelled: temp.spelled, relation: undefined });
    const named = statement.tables.map((t) => t.id);
    for (const [name, lineage] of script.variables) script.variables.set(name, unknownLineage(`variable ${name} may have been set by statement ${index}, which is not analysed`, named, [lineage]));
  }
  return { statement, byShape: statement.parsed && ctx.literals.size === literalTokens(span.tokens) };
}

/** `ctx` is the statement's, filled as the analysis reads it. */
function analyzeStatementSpan(
  text: string,
  span: StatementSpan,
  index: number,
  ctx: StatementContext,
  lexError: string | undefined,
  script: ScriptState,
): Statement {
  const names = ctx.names;
  const classification = classify(span.tokens);
  const head: StatementHead = { index, ...classification };
  const scan = scanTables(scanTokens(span.tokens));
  if (span.tokens.some((t) => t.kind === 'error')) return unparsed(head, lexError ?? 'malformed SQL text', scan, names);
  if (span.unterminatedBlock) return unparsed(head, 'a procedural block (BEGIN, IF, LOOP, …) is not closed with END', scan, names);
  if (scan.refs.length > MAX_TABLE_REFERENCES) {
    return unparsed(head, `the statement references tables ${scan.refs.length} times, more than BigQuery's limit of ${MAX_TABLE_REFERENCES} per query`, scan, names);
  }
  if (SCHEMA_TYPES.has(classification.type)) {
    try {
      schemaStatement(text, span.tokens, classification.type);
      return parsedStatement(head, ctx, []);
    } catch (e) {
      return unparsed(head, failure(e), scan, names);
    }
  }
  if (classification.type === 'CREATE_PROCEDURE') {
    // Read from its tokens; its body does not run at creation (gsql/routines.ts).
    try {
      return parsedStatement(head, ctx, createProcedureStatement({ text, span }, ctx));
    } catch (e) {
      return unparsed(head, placeRefusal(failure(e), text, span), scan, names, ctx);
    }
  }
  if (!GSQL_TYPES.has(classification.type)) return unparsed(head, notParsedReason(classification), scan, names);
  const plus = unaryPlus(span.tokens);
  if (plus !== undefined) {
    return unparsed(head, `unary \`+\` before a value other than a number is not analysed at ${lineColumn(text, plus.start)}`, scan, names);
  }

  const parsed = parseSpan(text, span, classification.type);
  if (parsed.error !== undefined) return unparsed(head, describeParseError(parsed.error, text, span), scan, names);
  const variables = variableScope(script);
  bindFacts(ctx, { calls: callNames(span.tokens), script, variables });
  try {
    tempTableSpellings(span.tokens, script);
    const outputs = analyzeStatement(parsed.ast, classification, variables, ctx, script, { text, span });
    if (script.variables.size > 0 || script.functions.size > 0 || script.tempTables.size > 0) addSourceTables(ctx, outputs, script);
    crossCheck(scan, ctx);
    for (const { mode: _mode, ...table } of ctx.tables.values()) script.tables.set(table.id, table);
    return parsedStatement(head, ctx, outputs);
  } catch (e) {
    return unparsed(head, placeRefusal(failure(e), text, span), scan, names, ctx);
  }
}

/** Words after which a `+` is binary although they are reserved: they end a value. */
const VALUE_KEYWORDS = new Set(['TRUE', 'FALSE', 'NULL', 'END']);
/** Unreserved words a select item or an expression list follows (`SELECT AS VALUE`, pipe `|> EXTEND`). */
const LIST_WORDS = new Set(['VALUE', 'EXTEND', 'AGGREGATE']);

/**
 * A unary `+` before anything but a number (through signs and parentheses). The parser drops it and reads `+x` as `x`, where
 * BigQuery keeps an expression: one without the implicit name `x` (a subquery's `+customer_id`
 * has no column customer_id, so the name is read from an enclosing query), and no select-list
 * alias in GROUP BY (`GROUP BY +salary` groups by the column salary, not by an alias salary).
 */
function unaryPlus(tokens: readonly Token[]): Token | undefined {
  for (let i = 0; i + 1 < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind !== 'punct' || t.text !== '+') continue;
    const before = tokens[i - 1];
    const binary =
      before !== undefined &&
      (before.kind === 'number' || before.kind === 'string' || before.kind === 'quoted' || before.kind === 'param' ||
        (before.kind === 'punct' && (before.text === ')' || before.text === ']')) ||
        (before.kind === 'word' && (!RESERVED.has(before.upper) || VALUE_KEYWORDS.has(before.upper)) && !LIST_WORDS.has(before.upper)));
    if (binary) continue;
    // `+1`, `++1`, `+(1)`: a number, which has no name either way.
    let next = i + 1;
    while (next < tokens.length && tokens[next]!.kind === 'punct' && ['+', '-', '('].includes(tokens[next]!.text)) next++;
    if (tokens[next]?.kind !== 'number') return t;
  }
  return undefined;
}

/**
 * Bounds on what one text may ask of the analysis, which runs on the gateway's one event loop:
 * BigQuery's own limits on a query's length (1 MB) and on the tables one query references
 * (1,000), and a bound on a script's statements, whose analysis grows faster than their number
 * (each sees every variable set before it). Past any of them the text is refused, unread.
 */
const MAX_TEXT_BYTES = 1024 * 1024;
const MAX_TABLE_REFERENCES = 1000;
const MAX_STATEMENTS = 1000;

/** The whole text refused unread, as one statement of unknown type. */
function refusedText(error: string): SpanAnalysis[] {
  return [{ statement: { index: 0, type: 'UNKNOWN', category: 'unknown', parsed: false, error, tables: [], columns: [], predicate_columns: [], functions: [], outputs: [] }, byShape: false }];
}

function textBeyondBounds(text: string, spans: readonly StatementSpan[]): string | undefined {
  // A UTF-8 character takes at most three bytes per UTF-16 unit: most texts need no count.
  const bytes = text.length * 3 > MAX_TEXT_BYTES ? Buffer.byteLength(text) : text.length;
  if (bytes > MAX_TEXT_BYTES) return `the SQL text is ${bytes} bytes, more than BigQuery's limit of 1 MB (${MAX_TEXT_BYTES} bytes) on a query`;
  if (spans.length > MAX_STATEMENTS) return `the SQL text holds ${spans.length} statements, more than the ${MAX_STATEMENTS} the gateway analyses in one text`;
  return undefined;
}

/** Analyses a SQL text; `lexed` is `lex(text)` when the caller has it already. */
export function analyzeSql(text: string, names: NameContext, catalog: SchemaCatalog, lexed: LexResult = lex(text)): SqlAnalysis {
  const spans = splitStatements(lexed.tokens);
  const script = newScript();
  const beyond = textBeyondBounds(text, spans);
  const analysed: SpanAnalysis[] =
    beyond !== undefined
      ? refusedText(beyond)
      : spans.length === 0
        ? refusedText('the SQL text holds no statement')
        : spans.map((span, index) => analyzeSpan(text, span, index, names, catalog, lexed.error, script));
  const statements = analysed.map((a) => a.statement);
  const tables = new Map<string, TableName>();
  for (const s of statements) for (const t of s.tables) tables.set(t.id, t);
  const sql: Sql = { text, hash: sqlHash(text, names, lexed), parsed: statements.every((s) => s.parsed), statements };
  return deepFreeze({ sql, tables: [...tables.values()], byShape: analysed.every((a) => a.byShape) });
}

/**
 * The ids of the tables a text names, as the token scan reads them: no parse, a few microseconds.
 * The analysis accounts for every table the scan sees (fallback.ts crossCheck) and may read more.
 */
export function namedTableIds(text: string, names: NameContext, lexed: LexResult = lex(text)): string[] {
  const ids = new Set<string>();
  for (const span of splitStatements(lexed.tokens)) {
    for (const table of scannedTables(scanTables(scanTokens(span.tokens)), names).tables.values()) ids.add(table.id);
  }
  return [...ids];
}
