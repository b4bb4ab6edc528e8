// Regenerates fixtures/sql-corpus/*.jsonl from snapshots of public repositories (bare git
// directories, one per source: MIRROR/<owner>+<name>/repo). Statements come from .sql files,
// `%%bigquery` notebook cells, SQL string literals in Python and JavaScript samples, and the
// ZetaSQL analyzer's test cases that it accepts. Anything templated (Jinja, format placeholders)
// or in legacy SQL is left out; texts are split with the normalizer's own splitter and
// de-duplicated across sources, the first source in SOURCES keeping a statement.
// Run: node scripts/corpus/gather.ts [MIRROR] (default /work/.mirror)
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lex } from '../../engine/sql/lexer.ts';
import { splitStatements, type StatementSpan } from '../../engine/sql/split.ts';
import type { Token } from '../../engine/sql/lexer.ts';
import { CATEGORIES, type CorpusItem, categoryOf } from './corpus.ts';

const mirror = process.argv[2] ?? '/work/.mirror';
const out = join(import.meta.dirname, '../../fixtures/sql-corpus');

/** A piece of SQL text found in a file, and the file line it starts on. */
interface Found {
  text: string;
  line: number;
  /** Only texts that lead with a statement keyword are SQL (string literals, notebook code). */
  mustLead: boolean;
}

interface Source {
  repo: string;
  license: string;
  /** Which files to read. */
  include: RegExp;
  extract: (path: string, content: string) => Found[];
}

const lineAt = (text: string, offset: number) => text.slice(0, offset).split('\n').length;

const sqlFile = (_path: string, content: string): Found[] => [{ text: content, line: 1, mustLead: false }];

/** Triple-quoted Python strings (not f-strings) and JavaScript template literals without `${`. */
function stringLiterals(path: string, content: string): Found[] {
  const found: Found[] = [];
  const pattern = path.endsWith('.js') || path.endsWith('.ts') ? /`((?:[^`\\]|\\.)*)`/gs : /(?<![fF])(?:[rRbB]?)("""|''')(.*?)\1/gs;
  for (const m of content.matchAll(pattern)) {
    const body = m[2] ?? m[1]!;
    const text = pattern.source.startsWith('`') ? body.replace(/\\`/g, '`') : body;
    found.push({ text, line: lineAt(content, m.index + m[0].indexOf(body)), mustLead: true });
  }
  return found;
}

/** Notebook cells: `%%bigquery` cells whole, code cells' string literals. */
function notebook(path: string, content: string): Found[] {
  let cells: { cell_type?: string; source?: string | string[] }[];
  try {
    cells = (JSON.parse(content) as { cells?: typeof cells }).cells ?? [];
  } catch {
    return [];
  }
  const found: Found[] = [];
  const strings = aboutBigQuery(path, content);
  let searchFrom = 0;
  for (const cell of cells) {
    if (cell.cell_type !== 'code') continue;
    const lines = Array.isArray(cell.source) ? cell.source : (cell.source ?? '').split(/(?<=\n)/);
    const source = lines.join('');
    // The cell's first line in the .ipynb file (JSON keeps one source line per file line).
    const first = JSON.stringify(lines[0] ?? '');
    const at = content.indexOf(first, searchFrom);
    const line = at < 0 ? 0 : lineAt(content, at);
    if (at >= 0) searchFrom = at + first.length;
    if (/^%%bigquery\b/.test(source)) {
      found.push({ text: source.slice(source.indexOf('\n') + 1), line: line + 1, mustLead: false });
    } else if (!source.startsWith('%%') && strings) {
      for (const f of stringLiterals(path, source)) found.push({ ...f, line: line + f.line - 1 });
    }
  }
  return found;
}

/** Engines whose SQL shares files and folders with BigQuery's in these repositories. */
const OTHER_ENGINES = /spanner|postgres|psycopg|pg8000|alloydb|mysql|sqlite|spark|teradata|hive|databricks|duckdb|snowflake|redshift|sqlalchemy|cloud ?sql|oracle|migrations?\//i;

/** String literals count only in a file about BigQuery and no other engine (and not in vendored libraries). */
function aboutBigQuery(path: string, content: string): boolean {
  return /bigquery/i.test(content) && !OTHER_ENGINES.test(content) && !OTHER_ENGINES.test(path) && !/(^|\/)(lib|site-packages|vendor)\//.test(path);
}

function sqlNotebookOrPython(path: string, content: string): Found[] {
  // Its %%bigquery cells show other engines' syntax failing as well.
  if (/teradata/i.test(path)) return [];
  if (path.endsWith('.ipynb')) return notebook(path, content);
  if (path.endsWith('.py')) return aboutBigQuery(path, content) ? stringLiterals(path, content) : [];
  return OTHER_ENGINES.test(path) ? [] : sqlFile(path, content);
}

/** ZetaSQL analyzer files whose features BigQuery has (no protos, graphs, anonymization, modules, …). */
const ZETASQL_FILES = new Set(
  (
    'aggregation analytic_functions analytic_function_named_window analytic_function_partitionby_orderby analytic_function_window_frame ' +
    'approx_aggregate_functions array_aggregate array_concat_aggregate array_construction array_element array_functions array_path ' +
    'between casts coercion correlated_aggr_subquery correlated_expr_subquery create_table create_table_as_select create_view ' +
    'create_materialized_view create_sql_function create_table_function dml_delete dml_insert drop expr_subquery export_data ' +
    'geography group_by_all group_by_order_by having in interval join join_parenthesized join_using json like_any_some_all limit ' +
    'literals orderby pivot qualify query_params rollup safe_function select_as_struct select_as_value select_dotstar select_star ' +
    'set_operation string_aggregate struct_construction table_subquery tablesample time_travel unnest unpivot with with_recursive ' +
    'pipe_aggregate pipe_where pipe_select pipe_join pipe_order_by pipe_extend'
  ).split(' '),
);

/** What ZetaSQL's test catalog has and BigQuery does not: protos, enums, 32-bit and unsigned integers, `@{…}` hints. */
const NOT_BIGQUERY = /\b(?:u?int32|uint64|float32|double|proto|enum|KitchenSink|TestEnum|TestExtraPB|new\s+\w+\s*\()|@\{/i;

/** ZetaSQL test cases (`==`-separated; the SQL, then `--` and the expected output) that analyze without an error. */
function zetasqlCases(_path: string, content: string): Found[] {
  const found: Found[] = [];
  let offset = 0;
  for (const chunk of content.split(/^==$/m)) {
    const start = offset;
    offset += chunk.length + 2;
    const [head, ...results] = chunk.split(/^--$/m);
    if (head === undefined || results.length === 0) continue;
    if (results.some((r) => /^\s*(ERROR|ALTERNATION GROUP)/m.test(r))) continue;
    // Option lines ([language_features=…], [parse_location_record_type=…]) configure the test harness.
    const lines = head.split('\n');
    let first = 0;
    while (first < lines.length && (/^\s*\[.*\]\s*$/.test(lines[first]!) || lines[first]!.trim() === '' || lines[first]!.startsWith('#'))) first++;
    const options = lines.slice(0, first).join('\n');
    if (/\b(?:no_|disabled_|allow_undeclared|product_mode=external|parameter_mode=positional|supported_statement_kinds)/.test(options)) continue;
    // `\--` is how a test file writes a `--` comment line inside a case.
    const text = lines.slice(first).join('\n').replace(/^\\--/gm, '--');
    if (text.includes('{{') || text.trim() === '' || NOT_BIGQUERY.test(text)) continue;
    found.push({ text, line: lineAt(content, start) + first, mustLead: false });
  }
  return found;
}

const APACHE = 'Apache-2.0';
const SOURCES: Source[] = [
  { repo: 'GoogleCloudPlatform/training-data-analyst', license: APACHE, include: /\.(sql|ipynb|py)$/, extract: sqlNotebookOrPython },
  { repo: 'GoogleCloudPlatform/bigquery-oreilly-book', license: APACHE, include: /\.(sql|ipynb|py)$/, extract: sqlNotebookOrPython },
  { repo: 'GoogleCloudPlatform/data-science-on-gcp', license: APACHE, include: /\.(sql|ipynb|py)$/, extract: sqlNotebookOrPython },
  { repo: 'GoogleCloudPlatform/asl-ml-immersion', license: APACHE, include: /\.(sql|ipynb|py)$/, extract: sqlNotebookOrPython },
  { repo: 'GoogleCloudPlatform/professional-services', license: APACHE, include: /\.(sql|ipynb)$/, extract: sqlNotebookOrPython },
  // Its .sqlx files are Dataform templates (`${self()}`): only plain .sql.
  { repo: 'GoogleCloudPlatform/bigquery-utils', license: APACHE, include: /\.sql$/, extract: sqlFile },
  { repo: 'googleapis/python-bigquery', license: APACHE, include: /^(samples|docs)\/.*\.py$/, extract: sqlNotebookOrPython },
  { repo: 'GoogleCloudPlatform/python-docs-samples', license: APACHE, include: /^(bigquery|bigquery_storage|bigquery-datatransfer)\/.*\.(py|sql)$/, extract: sqlNotebookOrPython },
  { repo: 'googleapis/nodejs-bigquery', license: APACHE, include: /^samples\/.*\.js$/, extract: stringLiterals },
  {
    repo: 'google/zetasql',
    license: APACHE,
    include: /^zetasql\/analyzer\/testdata\/.*\.test$/,
    extract: (p, c) => (ZETASQL_FILES.has(p.replace(/^.*\/|\.test$/g, '')) ? zetasqlCases(p, c) : []),
  },
];

/** Templating the text would have to go through before BigQuery sees it. */
const TEMPLATED = /\{\{|\{%|\{[A-Za-z_][\w.]*\}|\{\}|%\(\w+\)s|%s\b|\$\{|\$[A-Z_]{3,}\b/;
/** Legacy SQL: `[project:dataset.table]` names, its table functions, or the prefix that selects it. */
const LEGACY = /#legacySQL|\b(?:FROM|JOIN)\s*\(?\s*\[[^\]\s]+\]|TABLE_DATE_RANGE|TABLE_QUERY\s*\(/i;
/** Other engines' SQL in files that otherwise hold BigQuery's: types and statements BigQuery does not have. */
const OTHER_DIALECT = /\bvarchar\b|\bauto_increment\b|\bcreate\s+database\b|^\s*use\s+\w+\s*;?\s*$|"\w+"\s+TEXT\b/im;
/** Lab exercises leave blanks for the student to fill in. */
const UNFINISHED = /\bTODO\b/;
const LEADS = new Set(['SELECT', 'WITH', 'CREATE', 'INSERT', 'UPDATE', 'DELETE', 'MERGE', 'DECLARE', 'ALTER', 'DROP', 'EXPORT', 'TRUNCATE', 'BEGIN']);

const BLOCK_ENDS = new Set(['IF', 'LOOP', 'WHILE', 'REPEAT', 'FOR']);

/** BEGIN and CASE open what END closes (END IF, END LOOP, … close statements that open with no count). */
function blockDepth(tokens: Token[]): number {
  let depth = 0;
  for (const [i, t] of tokens.entries()) {
    const next = tokens[i + 1];
    if (t.kind !== 'word') continue;
    if ((t.upper === 'BEGIN' && next?.upper !== 'TRANSACTION') || t.upper === 'CASE') depth++;
    else if (t.upper === 'END' && !(next !== undefined && BLOCK_ENDS.has(next.upper))) depth--;
  }
  return depth;
}

/**
 * The splitter keeps blocks whole only where a statement starts with them, so it ends
 * `CREATE PROCEDURE p() BEGIN …; …; END` at the body's first `;`: join the pieces again.
 */
function wholeProcedures(spans: StatementSpan[]): StatementSpan[] {
  const out: StatementSpan[] = [];
  let open: StatementSpan | undefined;
  let depth = 0;
  for (const span of spans) {
    if (open !== undefined) {
      open = { ...open, tokens: [...open.tokens, ...span.tokens], end: span.end };
      depth += blockDepth(span.tokens);
    } else if (span.tokens[0]?.upper === 'CREATE' && span.tokens.slice(1, 6).some((t) => t.upper === 'PROCEDURE') && blockDepth(span.tokens) > 0) {
      open = span;
      depth = blockDepth(span.tokens);
    } else {
      out.push(span);
      continue;
    }
    if (depth <= 0) {
      out.push(open);
      open = undefined;
    }
  }
  if (open !== undefined) out.push(open);
  return out;
}

function git(repoDir: string, ...args: string[]): string {
  return execFileSync('git', ['--git-dir', repoDir, ...args], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, stdio: ['ignore', 'pipe', 'ignore'] });
}

const seen = new Set<string>();
const counts: Record<string, Record<string, number>> = {};
mkdirSync(out, { recursive: true });
for (const source of SOURCES) {
  const dir = join(mirror, source.repo.replace('/', '+'), 'repo');
  const commit = git(dir, 'rev-parse', 'HEAD').trim();
  const paths = git(dir, 'ls-tree', '-r', '--name-only', 'HEAD').split('\n').filter((p) => source.include.test(p)).sort();
  const items: CorpusItem[] = [];
  for (const path of paths) {
    let content: string;
    try {
      content = git(dir, 'show', `${commit}:${path}`);
    } catch {
      continue; // absent from the snapshot (too large)
    }
    for (const found of source.extract(path, content)) {
      if (TEMPLATED.test(found.text) || LEGACY.test(found.text) || UNFINISHED.test(found.text) || OTHER_DIALECT.test(found.text)) continue;
      const lexed = lex(found.text);
      if (lexed.error !== undefined) continue;
      for (const span of wholeProcedures(splitStatements(lexed.tokens))) {
        if (span.tokens.length < 2) continue;
        const lead = span.tokens[0]!.upper;
        if (found.mustLead && !LEADS.has(lead)) continue;
        const sql = found.text.slice(span.start, span.end);
        const key = sql.replace(/\s+/g, ' ').trim();
        if (seen.has(key)) continue;
        seen.add(key);
        const id = `${source.repo.split('/')[1]}:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
        const category = categoryOf(span.tokens.map((t) => t.upper));
        items.push({ id, sql, category, source: { repo: source.repo, path, commit, line: found.line + lineAt(found.text, span.start) - 1, license: source.license } });
      }
    }
  }
  const file = join(out, `${source.repo.replace('/', '__')}.jsonl`);
  writeFileSync(file, items.map((item) => JSON.stringify(item)).join('\n') + '\n');
  counts[source.repo] = Object.fromEntries(CATEGORIES.map((c) => [c, items.filter((i) => i.category === c).length]));
  process.stderr.write(`${source.repo}: ${items.length} statements from ${paths.length} files\n`);
}
console.log(JSON.stringify(counts, null, 2));
