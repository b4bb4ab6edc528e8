// The `sql` part of the policy input: split, classify, parse and analyse every statement.
// Anything that goes wrong for one statement (parser error, parser crash, syntax the analysis
// does not follow, a table the parser missed) makes that statement `parsed: false` with an
// error, its category kept and its tables named by the token scan. Nothing here throws.
import type { Output, Sql, Statement, TableRef } from '../schema-types.ts';
import { deepFreeze, sqlHash, type SqlAnalysis } from './analysis.ts';
import type { SchemaCatalog } from './catalog.ts';
import { classify, type Classification } from './classify.ts';
import { StatementContext } from './context.ts';
import { lex, type LexResult, type Token } from './lexer.ts';
import { literalTokens } from './literals.ts';
import { parseStatement } from './parse.ts';
import { scanTables } from './scan.ts';
import { splitStatements, type StatementSpan } from './split.ts';
import { PARSED_TYPES, analyzeStatement, mergeStatement } from './statement.ts';
import { mergeQuery } from './merge.ts';
import { parserText } from './rewrite.ts';
import type { NameContext, TableName } from './tables.ts';
import { crossCheck, unparsed, type StatementHead } from './fallback.ts';
import { Unsupported, type Node } from './ast.ts';

export { boundHash, sqlHash, sqlShapeHash, withText, type SqlAnalysis } from './analysis.ts';

interface SpanAnalysis {
  statement: Statement;
  /** Parsed, and every literal token reached the expression analysis as a value. */
  byShape: boolean;
}

function isTripleQuoted(t: Token): boolean {
  return t.kind === 'string' && /^[rRbB]{0,2}('''|""")/.test(t.text);
}

function notParsedReason(c: Classification): string {
  if (c.type === 'EXECUTE_IMMEDIATE') return 'EXECUTE IMMEDIATE runs SQL text that is only known when the script runs';
  if (c.type === 'UNKNOWN') return 'not a statement the normalizer recognises';
  return `${c.type} statements are not parsed`;
}

/** EXPORT DATA … AS <query>: the query is what reads; the header only names a destination. */
function exportQuery(span: StatementSpan): Token | undefined {
  let depth = 0;
  const tokens = span.tokens;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.kind === 'punct' && t.text === '(') depth++;
    else if (t.kind === 'punct' && t.text === ')') depth--;
    else if (depth === 0 && t.kind === 'word' && t.upper === 'AS') {
      const next = tokens[i + 1];
      if (next !== undefined && ((next.kind === 'word' && (next.upper === 'SELECT' || next.upper === 'WITH')) || next.text === '(')) return next;
    }
  }
  return undefined;
}

/** The statement's table refs with the policy tags their known schemas carry (TableRef.policy_tags). */
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

function analyzeSpan(text: string, span: StatementSpan, index: number, names: NameContext, catalog: SchemaCatalog, lexError: string | undefined): SpanAnalysis {
  const asWritten: { ctx?: StatementContext } = {};
  const statement = withPolicyTags(analyzeStatementSpan(text, span, index, names, catalog, lexError, asWritten), catalog);
  // Shared by shape only when the parser read the statement as written and the analysis read
  // every literal token as a value (literals.ts).
  const byShape = statement.parsed && asWritten.ctx !== undefined && asWritten.ctx.literals.size === literalTokens(span.tokens);
  return { statement, byShape };
}

/** `asWritten.ctx` is set when the statement text went to the parser unchanged in its literals. */
function analyzeStatementSpan(
  text: string,
  span: StatementSpan,
  index: number,
  names: NameContext,
  catalog: SchemaCatalog,
  lexError: string | undefined,
  asWritten: { ctx?: StatementContext },
): Statement {
  const classification = classify(span.tokens);
  const head: StatementHead = { index, ...classification };
  const scan = scanTables(span.tokens);
  if (span.tokens.some((t) => t.kind === 'error')) return unparsed(head, lexError ?? 'malformed SQL text', scan, names);
  if (span.unterminatedBlock) return unparsed(head, 'a procedural block (BEGIN, IF, LOOP, …) is not closed with END', scan, names);

  let parserInput: string;
  let rewritten = true;
  let analyse = (ast: Node, ctx: StatementContext): Output[] => analyzeStatement(ast, classification, ctx);
  try {
    if (classification.type === 'EXPORT_DATA') {
      const query = exportQuery(span);
      if (query === undefined) return unparsed(head, 'EXPORT DATA without an AS query', scan, names);
      parserInput = text.slice(query.start, span.end);
      analyse = (ast, ctx) => analyzeStatement(ast, { type: 'SELECT', category: 'read' }, ctx);
    } else if (classification.type === 'MERGE') {
      const merge = mergeQuery(text, span.tokens);
      parserInput = merge.sql;
      analyse = (ast, ctx) => mergeStatement(ast, merge, ctx);
    } else if (PARSED_TYPES.has(classification.type)) {
      parserInput = parserText(text, span.tokens, span.start, span.end);
      rewritten = false;
    } else {
      return unparsed(head, notParsedReason(classification), scan, names);
    }
  } catch (e) {
    return unparsed(head, e instanceof Unsupported ? e.message : `analysis failed: ${e instanceof Error ? e.message : String(e)}`, scan, names);
  }
  if (span.tokens.some(isTripleQuoted)) return unparsed(head, 'triple-quoted string literals are not read reliably by the parser', scan, names);

  const parsed = parseStatement(parserInput);
  if (parsed.error !== undefined) return unparsed(head, parsed.error, scan, names);
  const ctx = new StatementContext(names, catalog);
  if (!rewritten) asWritten.ctx = ctx;
  try {
    const outputs = analyse(parsed.ast, ctx);
    crossCheck(scan, ctx);
    const tableIds = [...new Set([...ctx.tables.values()].map((t) => t.id))];
    // Unknown lineage naming no table would read as "nothing sensitive can flow here".
    for (const output of outputs) if (output.lineage === 'unknown' && (output.tables?.length ?? 0) === 0) output.tables = tableIds;
    return {
      ...head,
      parsed: true,
      tables: [...ctx.tables.values()],
      columns: [...ctx.columns.values()],
      predicate_columns: [...ctx.predicates.values()],
      functions: [...ctx.functions],
      outputs,
    };
  } catch (e) {
    const message = e instanceof Unsupported ? e.message : `analysis failed: ${e instanceof Error ? e.message : String(e)}`;
    return unparsed(head, message, scan, names, ctx);
  }
}

/** Analyses a SQL text; `lexed` is `lex(text)` when the caller has it already. */
export function analyzeSql(text: string, names: NameContext, catalog: SchemaCatalog, lexed: LexResult = lex(text)): SqlAnalysis {
  const spans = splitStatements(lexed.tokens);
  const analysed: SpanAnalysis[] =
    spans.length === 0
      ? [{ statement: { index: 0, type: 'UNKNOWN', category: 'unknown', parsed: false, error: 'the SQL text holds no statement', tables: [], columns: [], predicate_columns: [], functions: [], outputs: [] }, byShape: false }]
      : spans.map((span, index) => analyzeSpan(text, span, index, names, catalog, lexed.error));
  const statements = analysed.map((a) => a.statement);
  const tables = new Map<string, TableName>();
  for (const s of statements) for (const t of s.tables) tables.set(t.id, t);
  const sql: Sql = { text, hash: sqlHash(text), parsed: statements.every((s) => s.parsed), statements };
  return deepFreeze({ sql, tables: [...tables.values()], byShape: analysed.every((a) => a.byShape) });
}
