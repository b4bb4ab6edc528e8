// What the analysis of one statement needs beyond ../context.ts: the names its text calls
// (spellings.ts) and the script it runs in (variables and temporary functions defined by earlier
// statements), kept beside the context rather than in it.
import type { StatementContext } from '../context.ts';
import type { Token } from '../lexer.ts';
import type { Lineage } from '../lineage.ts';
import type { DerivedRelation, Scope } from '../scope.ts';
import type { TableName } from '../tables.ts';

export interface ScriptState {
  /** Script variables (lower-case) and the lineage of the value last assigned to them. */
  readonly variables: Map<string, Lineage>;
  /** Temporary functions (upper-case) and the lineage of what their bodies read. */
  readonly functions: Map<string, Lineage>;
  /** Every table the script's statements named so far, by id: where a variable's sources live. */
  readonly tables: Map<string, TableName>;
  /**
   * Temporary tables (CREATE TEMP TABLE) by lower-case name: the name as created, and the rows as
   * a relation (the lineage of its defining query), or none once a statement the analysis did not
   * follow may have changed them (later reads are then refused).
   */
  readonly tempTables: Map<string, TempTable>;
  /** Select-list columns the text's statements built so far (select-list.ts bounds them). */
  columns: number;
}

export interface TempTable {
  readonly spelled: string;
  readonly relation: DerivedRelation | undefined;
}

export interface StatementFacts {
  /** Upper-case words written just before `(`: the names of the calls in the text. */
  readonly calls: ReadonlySet<string>;
  readonly script: ScriptState;
  /** The scope the script's variables are read in (script.ts), enclosing every query; none without variables. */
  readonly variables: Scope | undefined;
}

const facts = new WeakMap<StatementContext, StatementFacts>();

export function newScript(): ScriptState {
  return { variables: new Map(), functions: new Map(), tables: new Map(), tempTables: new Map(), columns: 0 };
}

/** Call names of a statement's tokens: `SUBSTR (` and `safe.substr(` both count (the last word). */
export function callNames(tokens: readonly Token[]): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i + 1 < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1]!;
    if (t.kind === 'word' && next.kind === 'punct' && next.text === '(') out.add(t.upper);
  }
  return out;
}

export function bindFacts(ctx: StatementContext, value: StatementFacts): void {
  facts.set(ctx, value);
}

export function factsOf(ctx: StatementContext): StatementFacts | undefined {
  return facts.get(ctx);
}

/** The outermost scope of a query that no enclosing query correlates with (a WITH body): the variables'. */
export function variablesOf(ctx: StatementContext): Scope | undefined {
  return facts.get(ctx)?.variables;
}
