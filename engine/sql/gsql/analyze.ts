// The `sql` part of the policy input through the polyglot-sql front end: split, classify and scan
// with the current modules (../split.ts, ../classify.ts, ../scan.ts), parse with polyglot-sql and
// analyse each statement (statement.ts) into the same Statement objects as ../analyze.ts. The
// statements of one text run as a script: variables and temporary functions carry over.
// Statements of other kinds are reported unparsed (with the token scan's tables). Nothing here throws.
import type { Output, Sql, Statement, TableRef } from '../../schema-types.ts';
import { Unsupported } from '../ast.ts';
import type { SchemaCatalog } from '../catalog.ts';
import { classify } from '../classify.ts';
import { StatementContext } from '../context.ts';
import { crossCheck, unparsed, type StatementHead } from '../fallback.ts';
import { lex, type LexResult } from '../lexer.ts';
import { scanTables } from '../scan.ts';
import { splitStatements, type StatementSpan } from '../split.ts';
import { sqlHash } from '../analyze.ts';
import type { NameContext } from '../tables.ts';
import { parseStatement } from './parse.ts';
import { schemaStatement } from './schema-ddl.ts';
import { variableScope } from './script.ts';
import { bindFacts, callNames, newScript, type ScriptState } from './statement-facts.ts';
import { GSQL_TYPES, analyzeStatement } from './statement.ts';

export { GSQL_TYPES };

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

function parsedStatement(head: StatementHead, ctx: StatementContext, outputs: Output[]): Statement {
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
}

/**
 * Tables a script variable's or temporary function's value came from (read by an earlier
 * statement) are read here too: the policy finds a source column's policy tags on the table refs.
 */
function addSourceTables(ctx: StatementContext, outputs: readonly Output[], script: ScriptState): void {
  const ids = new Set([...ctx.tables.values()].map((t) => t.id));
  const refs = [...ctx.columns.values(), ...ctx.predicates.values(), ...outputs.flatMap((o) => o.sources)];
  for (const ref of refs) {
    if (ids.has(ref.table)) continue;
    const table = script.tables.get(ref.table);
    if (table === undefined) throw new Unsupported(`source table ${ref.table} is named by no earlier statement of the script`);
    ids.add(ref.table);
    ctx.addTable(table, 'read');
  }
}

/** `INSERT t …` without INTO: BigQuery reads it, polyglot-sql does not. */
function insertWithoutInto(span: StatementSpan): boolean {
  const [first, second] = span.tokens;
  return first?.kind === 'word' && first.upper === 'INSERT' && !(second?.kind === 'word' && second.upper === 'INTO');
}

function analyzeSpan(
  text: string,
  span: StatementSpan,
  index: number,
  names: NameContext,
  catalog: SchemaCatalog,
  lexError: string | undefined,
  script: ScriptState,
): Statement {
  const classification = classify(span.tokens);
  const head: StatementHead = { index, ...classification };
  const scan = scanTables(span.tokens);
  if (span.tokens.some((t) => t.kind === 'error')) return unparsed(head, lexError ?? 'malformed SQL text', scan, names);
  if (span.unterminatedBlock) return unparsed(head, 'a procedural block (BEGIN, IF, LOOP, …) is not closed with END', scan, names);
  if (classification.type === 'CREATE_SCHEMA' || classification.type === 'DROP_SCHEMA') {
    try {
      schemaStatement(text, span.tokens, classification.type);
      return parsedStatement(head, new StatementContext(names, catalog), []);
    } catch (e) {
      return unparsed(head, failure(e), scan, names);
    }
  }
  if (!GSQL_TYPES.has(classification.type)) return unparsed(head, `${classification.type} statements are not read by the polyglot front end`, scan, names);
  if (insertWithoutInto(span)) return unparsed(head, 'INSERT without INTO is not read by the polyglot-sql parser; write INSERT INTO', scan, names);

  const parsed = parseStatement(text.slice(span.start, span.end));
  if (parsed.error !== undefined) return unparsed(head, parsed.error, scan, names);
  const ctx = new StatementContext(names, catalog);
  const variables = variableScope(script);
  bindFacts(ctx, { calls: callNames(span.tokens), script, variables });
  try {
    const outputs = analyzeStatement(parsed.ast, classification, variables, ctx, script);
    if (script.variables.size > 0 || script.functions.size > 0) addSourceTables(ctx, outputs, script);
    crossCheck(scan, ctx);
    for (const { mode: _mode, ...table } of ctx.tables.values()) script.tables.set(table.id, table);
    return parsedStatement(head, ctx, outputs);
  } catch (e) {
    return unparsed(head, failure(e), scan, names, ctx);
  }
}

/** Analyses a SQL text with the polyglot-sql front end; `lexed` is `lex(text)` when the caller has it. */
export function analyzeSqlGsql(text: string, names: NameContext, catalog: SchemaCatalog, lexed: LexResult = lex(text)): Sql {
  const spans = splitStatements(lexed.tokens);
  const script = newScript();
  const statements: Statement[] =
    spans.length === 0
      ? [{ index: 0, type: 'UNKNOWN', category: 'unknown', parsed: false, error: 'the SQL text holds no statement', tables: [], columns: [], predicate_columns: [], functions: [], outputs: [] }]
      : spans.map((span, index) => withPolicyTags(analyzeSpan(text, span, index, names, catalog, lexed.error, script), catalog));
  return { text, hash: sqlHash(text), parsed: statements.every((s) => s.parsed), statements };
}
