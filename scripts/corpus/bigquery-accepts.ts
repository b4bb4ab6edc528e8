// Which corpus items BigQuery would accept. The corpus holds some it would refuse: templates the
// source fills in before sending (`{0}`, `<project_id>`), prose gathered as SQL, legacy SQL, and
// ZetaSQL test cases that use its test catalog or features BigQuery does not have. Each rule
// below names its evidence (a BigQuery documentation page, or the ZetaSQL source that shows the
// construct is the test harness's own) and is deliberately narrow: an item no rule matches counts
// as accepted. `sluice sql corpus` reports coverage over all items and over the accepted ones,
// and how many items each rule excluded, for a reader to audit. The rules read the tokens of the
// text (engine/sql/lexer.ts), so nothing inside a string literal or a comment matches.
import { classify } from '../../engine/sql/classify.ts';
import { lex, type Token } from '../../engine/sql/lexer.ts';
import type { CorpusItem } from './corpus.ts';

export interface AcceptanceRule {
  id: string;
  /** What BigQuery refuses, in a phrase. */
  refuses: string;
  /** Where that is documented. */
  evidence: string;
  /** Whether the item's tokens hold the construct. */
  matches(tokens: readonly Token[], item: CorpusItem): boolean;
}

const word = (t: Token | undefined, ...upper: string[]) => t !== undefined && t.kind === 'word' && (upper.length === 0 || upper.includes(t.upper));
const punct = (t: Token | undefined, text: string) => t !== undefined && t.kind === 'punct' && t.text === text;
const glued = (a: Token | undefined, b: Token | undefined) => a !== undefined && b !== undefined && a.end === b.start;

/** Commas at the top level of the parenthesis opened at `open`. */
function topLevelCommas(tokens: readonly Token[], open: number): number {
  let depth = 0;
  let commas = 0;
  for (let j = open; j < tokens.length; j++) {
    const t = tokens[j]!;
    if (punct(t, '(') || punct(t, '[')) depth++;
    else if (punct(t, ')') || punct(t, ']')) {
      if (--depth === 0) return commas;
    } else if (depth === 1 && punct(t, ',')) commas++;
  }
  return commas;
}

/** Tokens after `CREATE`, `CREATE OR REPLACE` and TEMP/TEMPORARY: the object kind's index. */
function afterCreate(tokens: readonly Token[], i: number, temp: 'skip' | 'keep' = 'skip'): number {
  let j = i + 1;
  if (word(tokens[j], 'OR') && word(tokens[j + 1], 'REPLACE')) j += 2;
  if (temp === 'skip' && word(tokens[j], 'TEMP', 'TEMPORARY')) j++;
  return j;
}

/** Words BigQuery's DDL reference has after CREATE (generously: any doubt keeps the item). */
const CREATE_KINDS = new Set([
  'OR', 'TEMP', 'TEMPORARY', 'TABLE', 'VIEW', 'MATERIALIZED', 'EXTERNAL', 'SNAPSHOT', 'FUNCTION', 'AGGREGATE', 'PROCEDURE', 'MODEL',
  'SCHEMA', 'ROW', 'SEARCH', 'VECTOR', 'INDEX', 'CAPACITY', 'RESERVATION', 'ASSIGNMENT', 'PROPERTY', 'CONNECTION', 'DATA', 'IF',
]);

/** Functions of ZetaSQL's test catalog (zetasql/testdata/sample_catalog_impl.cc), none of them BigQuery's. */
const TEST_CATALOG_FUNCTION = /^(?:afn_|fn_on_|fn_overloaded_|tvf_)\w+$|^(?:sort_count|deprecation_warning2?)$/i;

const DDL = 'https://cloud.google.com/bigquery/docs/reference/standard-sql/data-definition-language';

/** The index of the `)` closing the parenthesis opened at `open`, or -1. */
function closing(tokens: readonly Token[], open: number): number {
  let depth = 0;
  for (let j = open; j < tokens.length; j++) {
    if (punct(tokens[j], '(')) depth++;
    else if (punct(tokens[j], ')') && --depth === 0) return j;
  }
  return -1;
}

/** The index of FUNCTION in `CREATE [OR REPLACE] TABLE FUNCTION`, or -1 (TEMP forms have their own rule). */
function tableFunction(tokens: readonly Token[]): number {
  const at = afterCreate(tokens, 0, 'keep');
  return word(tokens[0], 'CREATE') && word(tokens[at], 'TABLE') && word(tokens[at + 1], 'FUNCTION') ? at + 1 : -1;
}

/** Functions that take a lambda (`e -> e > 0`) in other GoogleSQL dialects; BigQuery has none of them. */
const LAMBDA_FUNCTIONS = new Set([
  'ARRAY_FILTER', 'ARRAY_TRANSFORM', 'ARRAY_FIND', 'ARRAY_FIND_ALL', 'ARRAY_OFFSET', 'ARRAY_OFFSETS', 'ARRAY_INCLUDES', 'ARRAY_INCLUDES_ALL', 'ARRAY_INCLUDES_ANY', 'ARRAY_ZIP',
]);

/** Statement keywords a CREATE may follow inside a procedural block. */
const BLOCK_KEYWORDS = ['BEGIN', 'THEN', 'ELSE', 'DO', 'LOOP', 'REPEAT'];

export const RULES: readonly AcceptanceRule[] = [
  {
    id: 'format-placeholder',
    refuses: 'a Python str.format placeholder (`{0}`, `{dataset}`) outside a string literal, or in a back-quoted name',
    evidence:
      'https://cloud.google.com/bigquery/docs/reference/standard-sql/lexical (GoogleSQL has no `{name}` token; the source fills it in with .format() before sending); ' +
      'https://cloud.google.com/bigquery/docs/datasets#dataset-naming (a dataset name holds letters, digits and underscores only)',
    matches: (tokens) =>
      tokens.some(
        (t, i) =>
          (punct(t, '{') && (punct(tokens[i + 1], '}') || ((tokens[i + 1]?.kind === 'word' || tokens[i + 1]?.kind === 'number') && punct(tokens[i + 2], '}')))) ||
          (t.kind === 'quoted' && /\{\w*\}/.test(t.text)),
      ),
  },
  {
    id: 'angle-placeholder',
    refuses: 'an angle-bracket placeholder (`<project_id>`, `<input_table>`) where a name belongs',
    evidence:
      'https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types (`<…>` follows only ARRAY, STRUCT, RANGE and TABLE); ' +
      'https://cloud.google.com/resource-manager/docs/creating-managing-projects (a project ID is lowercase letters, digits and hyphens, starting with a letter)',
    matches: (tokens) =>
      tokens.some((t, i) => {
        if (t.kind === 'quoted') return /<[\w-]+>/.test(t.text);
        // TABLE< is a type only where a type belongs, not after ALTER TABLE or DROP TABLE.
        const type = word(tokens[i - 1], 'ARRAY', 'STRUCT', 'RANGE') || (word(tokens[i - 1], 'TABLE') && !word(tokens[i - 2], 'ALTER', 'DROP', 'TRUNCATE', 'EXISTS'));
        if (!punct(t, '<') || type) return false;
        // `<` glued to a name (with dashes) glued to `>`: `<dataset-name>`.
        let j = i + 1;
        if (!word(tokens[j]) || !glued(t, tokens[j])) return false;
        while (glued(tokens[j], tokens[j + 1]) && (word(tokens[j + 1]) || punct(tokens[j + 1], '-'))) j++;
        return punct(tokens[j + 1], '>') && glued(tokens[j], tokens[j + 1]);
      }),
  },
  {
    id: 'macro-placeholder',
    refuses: 'a `_MACRO_` placeholder as a project (`_PROJECT_.ds.t`) or as an INTERVAL amount or unit',
    evidence:
      'https://cloud.google.com/resource-manager/docs/creating-managing-projects (a project ID starts with a lowercase letter); ' +
      'https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types#interval_type (the unit of INTERVAL n unit is a date or time part)',
    matches: (tokens) => {
      const macro = (t: Token | undefined) => t !== undefined && (t.kind === 'word' || t.kind === 'quoted') && /^_[A-Z][A-Z0-9_]*_(?:\.|$)/.test(t.text);
      return tokens.some((t, i) => (t.kind === 'quoted' && macro(t) && t.text.includes('.')) || (word(t, 'INTERVAL') && (macro(tokens[i + 1]) || macro(tokens[i + 2]))));
    },
  },
  {
    id: 'prose',
    refuses: 'English prose gathered as a statement ("Create our MQTT client. …")',
    evidence: `${DDL} (every CREATE statement names an object kind: TABLE, VIEW, FUNCTION, …; "Create a …" names none)`,
    matches: (tokens) => tokens[0]?.kind === 'word' && tokens[0].text === 'Create' && word(tokens[1]) && !CREATE_KINDS.has(tokens[1]!.upper),
  },
  {
    id: 'legacy-sql',
    refuses: 'legacy SQL: a `[project:dataset.table]` name, FLATTEN of a table, TABLE_DATE_RANGE or TABLE_QUERY',
    evidence:
      'https://cloud.google.com/bigquery/docs/reference/legacy-sql (bracketed table names, TABLE_DATE_RANGE, TABLE_QUERY); ' +
      'https://cloud.google.com/bigquery/docs/data (FLATTEN(table, field) is legacy SQL)',
    matches: (tokens) =>
      tokens.some(
        (t, i) =>
          (word(t, 'FROM', 'JOIN') && punct(tokens[i + 1], '[')) ||
          (word(t, 'TABLE_DATE_RANGE', 'TABLE_QUERY') && punct(tokens[i + 1], '(')) ||
          // Legacy FLATTEN(table, field) has two arguments; ZetaSQL's FLATTEN(array path) one.
          (word(t, 'FLATTEN') && punct(tokens[i + 1], '(') && topLevelCommas(tokens, i + 1) > 0),
      ),
  },
  {
    id: 'zetasql-test-proto',
    refuses: "a protocol buffer type of ZetaSQL's test catalog (`NEW zetasql_test__.KitchenSinkPB(…)`, `SELECT AS zetasql_test__.…`)",
    evidence:
      'google/zetasql zetasql/testdata/test_schema.proto (package zetasql_test__, loaded by zetasql/testdata/sample_catalog_impl.cc); ' +
      'https://cloud.google.com/bigquery/docs/reference/standard-sql/data-types (BigQuery has no PROTO type)',
    matches: (tokens) => tokens.some((t) => (t.kind === 'word' || t.kind === 'quoted') && /^zetasql_test__/i.test(t.text)),
  },
  {
    id: 'test-catalog-function',
    refuses: "a function of ZetaSQL's test catalog (`afn_agg`, `sort_count`, `tvf_one_relation_arg_…`) that the text does not create",
    evidence:
      'google/zetasql zetasql/testdata/sample_catalog_impl.cc (defines them for the analyzer tests); ' +
      'https://cloud.google.com/bigquery/docs/user-defined-functions (a name without a dataset calls a built-in or a temporary function of the same query)',
    matches: (tokens) => {
      const created = new Set(tokens.flatMap((t, i) => (word(t, 'FUNCTION') && tokens[i + 1] !== undefined ? [tokens[i + 1]!.text.toLowerCase()] : [])));
      return tokens.some(
        (t, i) => word(t) && punct(tokens[i + 1], '(') && !punct(tokens[i - 1], '.') && TEST_CATALOG_FUNCTION.test(t.text) && !created.has(t.text.toLowerCase()),
      );
    },
  },
  {
    id: 'tablesample-method',
    refuses: 'a TABLESAMPLE method other than SYSTEM (RESERVOIR, BERNOULLI, …)',
    evidence: 'https://cloud.google.com/bigquery/docs/table-sampling (TABLESAMPLE SYSTEM (n PERCENT) is the one form)',
    matches: (tokens) => tokens.some((t, i) => word(t, 'TABLESAMPLE') && tokens[i + 1] !== undefined && !word(tokens[i + 1], 'SYSTEM')),
  },
  {
    id: 'routine-language',
    refuses: "a function body in a language BigQuery does not run (ZetaSQL's `LANGUAGE testlang`)",
    evidence:
      `${DDL}#create_function_statement (LANGUAGE js or python; a remote function is written REMOTE WITH CONNECTION, never LANGUAGE REMOTE, ` +
      'and https://cloud.google.com/bigquery/docs/remote-functions: no table-valued remote functions)',
    matches: (tokens) => {
      // Only in CREATE … FUNCTION, where LANGUAGE is the clause (elsewhere it may be a column).
      const fn = tokens.findIndex((t) => word(t, 'FUNCTION'));
      if (!word(tokens[0], 'CREATE') || fn < 0) return false;
      return tokens.some((t, i) => i > fn && word(t, 'LANGUAGE') && word(tokens[i + 1]) && !['SQL', 'JS', 'JAVASCRIPT', 'PYTHON'].includes(tokens[i + 1]!.upper));
    },
  },
  {
    id: 'temp-view',
    refuses: 'CREATE TEMP VIEW',
    evidence: `${DDL}#create_view_statement (CREATE [OR REPLACE] VIEW [IF NOT EXISTS]: no TEMP; TEMP is for tables and functions)`,
    matches: (tokens) => word(tokens[0], 'CREATE') && word(tokens[afterCreate(tokens, 0, 'keep')], 'TEMP', 'TEMPORARY') && word(tokens[afterCreate(tokens, 0)], 'VIEW'),
  },
  {
    id: 'temp-table-function',
    refuses: 'CREATE TEMP TABLE FUNCTION (a table function is a dataset routine)',
    evidence:
      `${DDL}#create_table_function_statement and https://cloud.google.com/bigquery/docs/table-functions (CREATE [OR REPLACE] TABLE FUNCTION ` +
      '[IF NOT EXISTS] dataset.name: no TEMP; the TEMP form is GoogleSQL for SecOps\'s, https://docs.cloud.google.com/chronicle/docs/reference/standard-sql/table-functions)',
    matches: (tokens) =>
      word(tokens[0], 'CREATE') && word(tokens[afterCreate(tokens, 0, 'keep')], 'TEMP', 'TEMPORARY') && word(tokens[afterCreate(tokens, 0)], 'TABLE') && word(tokens[afterCreate(tokens, 0) + 1], 'FUNCTION'),
  },
  {
    id: 'table-function-form',
    refuses: 'a CREATE TABLE FUNCTION without its query, with an ANY TABLE parameter, or with a TABLE<…> column that has no name (a value table)',
    evidence:
      `${DDL}#create_table_function_statement (… function_name ([parameter_name {data_type | ANY TYPE}, …]) [RETURNS TABLE<column_name column_type, …>] AS sql_query) and ` +
      'https://cloud.google.com/bigquery/docs/table-functions#table_parameters (a table parameter names its columns explicitly); ' +
      "google/zetasql docs/data-definition-language.md (ANY TABLE, value tables and bodiless table functions are ZetaSQL's)",
    matches: (tokens) => {
      const fn = tableFunction(tokens);
      if (fn < 0) return false;
      const open = tokens.findIndex((t, i) => i > fn && punct(t, '('));
      const close = closing(tokens, open);
      if (open < 0 || close < 0) return false;
      // No query: nothing but an optional RETURNS TABLE<…> after the parameters.
      if (!tokens.some((t, i) => i > close && word(t, 'AS'))) return true;
      return tokens.some(
        (t, i) =>
          (word(t, 'ANY') && word(tokens[i + 1], 'TABLE') && i > open && i < close) ||
          // TABLE<type…> rather than TABLE<name type, …>: the first member is a bare type.
          (word(t, 'TABLE') && punct(tokens[i + 1], '<') && word(tokens[i + 2]) && (punct(tokens[i + 3], '<') || punct(tokens[i + 3], '>') || punct(tokens[i + 3], ','))),
      );
    },
  },
  {
    id: 'lambda-function',
    refuses: 'an array function that takes a lambda (`ARRAY_FILTER(a, e -> e > 0)`, ARRAY_TRANSFORM, ARRAY_FIND, ARRAY_OFFSET, ARRAY_INCLUDES, …)',
    evidence:
      'https://cloud.google.com/bigquery/docs/reference/standard-sql/array_functions (none of them is among BigQuery\'s array functions); ' +
      "https://cloud.google.com/spanner/docs/reference/standard-sql/array_functions (they are GoogleSQL for Spanner's)",
    matches: (tokens) => tokens.some((t, i) => word(t) && LAMBDA_FUNCTIONS.has(t.upper) && punct(tokens[i + 1], '(') && (!punct(tokens[i - 1], '.') || word(tokens[i - 2], 'SAFE'))),
  },
  {
    id: 'statements-without-separator',
    refuses: 'a second statement that begins (CREATE …) where the first has not ended with a semicolon',
    evidence:
      'https://cloud.google.com/bigquery/docs/reference/standard-sql/procedural-language (the statements of a script are separated by semicolons); ' +
      'https://cloud.google.com/bigquery/docs/reference/standard-sql/lexical#reserved_keywords (CREATE is reserved: it can only begin a statement)',
    matches: (tokens) => tokens.some((t, i) => i > 0 && word(t, 'CREATE') && !punct(tokens[i - 1], ';') && !word(tokens[i - 1], ...BLOCK_KEYWORDS)),
  },
  {
    id: 'sequence',
    refuses: 'a SEQUENCE object (CREATE, ALTER or DROP SEQUENCE)',
    evidence: `${DDL} (no SEQUENCE statements; BigQuery has no sequences)`,
    matches: (tokens) => word(tokens[0], 'CREATE', 'ALTER', 'DROP') && word(tokens[word(tokens[0], 'CREATE') ? afterCreate(tokens, 0) : 1], 'SEQUENCE'),
  },
  {
    id: 'create-constant',
    refuses: "CREATE CONSTANT (ZetaSQL's named constants)",
    evidence: `${DDL} (no CONSTANT objects); google/zetasql docs/data-definition-language.md (CREATE CONSTANT is ZetaSQL's)`,
    matches: (tokens) => word(tokens[0], 'CREATE') && word(tokens[afterCreate(tokens, 0)], 'CONSTANT'),
  },
  {
    id: 'expression-not-statement',
    refuses: "an expression where a statement belongs (ZetaSQL's `[mode=expression]` cases: `FLATTEN(…)`, `ARRAY(…)`)",
    evidence:
      'google/zetasql zetasql/analyzer/testdata/*.test ([mode=expression] analyzes the text as an expression); ' +
      'https://cloud.google.com/bigquery/docs/reference/standard-sql/query-syntax (a query begins with SELECT, WITH, FROM or a parenthesis)',
    // A word and a parenthesis that the classifier reads as no statement, and no word a statement
    // or a query may begin with (FROM starts a pipe query, which the classifier does not know).
    matches: (tokens) =>
      word(tokens[0]) &&
      !word(tokens[0], 'FROM', 'SELECT', 'WITH', 'VALUES', 'TABLE', 'ASSERT', 'IF', 'CALL', 'RETURN', 'RAISE', 'EXECUTE', 'EXPORT', 'LOAD', 'GRANT', 'REVOKE', 'BEGIN', 'DECLARE', 'SET') &&
      punct(tokens[1], '(') &&
      classify(tokens as Token[]).type === 'UNKNOWN',
  },
  {
    id: 'assert-rows-modified',
    refuses: "ZetaSQL's ASSERT_ROWS_MODIFIED clause of DML",
    evidence: 'https://cloud.google.com/bigquery/docs/reference/standard-sql/dml-syntax (INSERT, UPDATE, DELETE and MERGE have no ASSERT_ROWS_MODIFIED)',
    matches: (tokens) => tokens.some((t) => word(t, 'ASSERT_ROWS_MODIFIED')),
  },
];

export type Verdict = { accepted: true; rule?: undefined } | { accepted: false; rule: string };

/** Whether BigQuery accepts the item: refused when a rule matches (the first that does), accepted otherwise. */
export function bigQueryVerdict(item: CorpusItem, rules: readonly AcceptanceRule[] = RULES): Verdict {
  if (typeof item.sql !== 'string') return { accepted: true };
  const tokens = lex(item.sql).tokens;
  const rule = rules.find((r) => r.matches(tokens, item));
  return rule === undefined ? { accepted: true } : { accepted: false, rule: rule.id };
}
