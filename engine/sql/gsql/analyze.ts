// The `sql` part of the policy input through the polyglot-sql front end: split, classify and scan
// with the current modules (../split.ts, ../classify.ts, ../scan.ts), parse with polyglot-sql and
// analyse read queries into the same Statement objects as ../analyze.ts. Statements of other
// kinds are reported unparsed (with the token scan's tables) until this front end reads them.
// Nothing here throws.
import type { Output, Sql, Statement, TableRef } from '../../schema-types.ts';
import { Unsupported } from '../ast.ts';
import type { SchemaCatalog } from '../catalog.ts';
import { classify } from '../classify.ts';
import { StatementContext } from '../context.ts';
import { crossCheck, unparsed, type StatementHead } from '../fallback.ts';
import { lex, type LexResult } from '../lexer.ts';
import { scanTables } from '../scan.ts';
import { splitStatements, type StatementSpan } from '../split.ts';
import { queryOutputs } from '../statement.ts';
import { sqlHash } from '../analyze.ts';
import type { NameContext } from '../tables.ts';
import { parseStatement } from './parse.ts';
import { analyzeQuery, isQuery } from './query.ts';
import { variant } from './tree.ts';

/** Statement types this front end analyses so far. */
export const GSQL_TYPES = new Set(['SELECT']);

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

function failure(e: unknown): string {
  return e instanceof Unsupported ? e.message : `analysis failed: ${e instanceof Error ? e.message : String(e)}`;
}

function analyzeSpan(text: string, span: StatementSpan, index: number, names: NameContext, catalog: SchemaCatalog, lexError: string | undefined): Statement {
  const classification = classify(span.tokens);
  const head: StatementHead = { index, ...classification };
  const scan = scanTables(span.tokens);
  if (span.tokens.some((t) => t.kind === 'error')) return unparsed(head, lexError ?? 'malformed SQL text', scan, names);
  if (span.unterminatedBlock) return unparsed(head, 'a procedural block (BEGIN, IF, LOOP, …) is not closed with END', scan, names);
  if (!GSQL_TYPES.has(classification.type)) return unparsed(head, `${classification.type} statements are not read by the polyglot front end yet`, scan, names);

  const parsed = parseStatement(text.slice(span.start, span.end));
  if (parsed.error !== undefined) return unparsed(head, parsed.error, scan, names);
  const ctx = new StatementContext(names, catalog);
  try {
    const v = variant(parsed.ast, 'statement');
    if (!isQuery(v) && v.kind !== 'subquery') throw new Unsupported(`the parser read a ${v.kind} statement where ${classification.type} was expected`);
    const outputs: Output[] = queryOutputs(analyzeQuery(parsed.ast, undefined, undefined, ctx));
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
    return unparsed(head, failure(e), scan, names, ctx);
  }
}

/** Analyses a SQL text with the polyglot-sql front end; `lexed` is `lex(text)` when the caller has it. */
export function analyzeSqlGsql(text: string, names: NameContext, catalog: SchemaCatalog, lexed: LexResult = lex(text)): Sql {
  const spans = splitStatements(lexed.tokens);
  const statements: Statement[] =
    spans.length === 0
      ? [{ index: 0, type: 'UNKNOWN', category: 'unknown', parsed: false, error: 'the SQL text holds no statement', tables: [], columns: [], predicate_columns: [], functions: [], outputs: [] }]
      : spans.map((span, index) => withPolicyTags(analyzeSpan(text, span, index, names, catalog, lexed.error), catalog));
  return { text, hash: sqlHash(text), parsed: statements.every((s) => s.parsed), statements };
}
