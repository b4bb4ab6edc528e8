// BigQuery ML's table-valued functions in FROM: `ML.PREDICT(MODEL m, TABLE t | (query) [, STRUCT(…)])`
// and its kin, read from one table of argument shapes. Each reads its MODEL, which is recorded as
// a table ref (`model: true`) the statement reads, so the policy judges it as it judges a table of
// that dataset: a model it does not list is unknown. What comes out of the model (predictions,
// metrics, weights, feature statistics, generated text) derives from its training data, which the
// text does not tell: those columns have unknown lineage naming the model and the input's tables.
// Some functions also pass the input's columns through as they were.
import type { Output } from '../../schema-types.ts';
import { unsupported } from '../ast.ts';
import type { StatementContext } from '../context.ts';
import { lex, type Token } from '../lexer.ts';
import { transformed, unknownLineage, type Lineage } from '../lineage.ts';
import { queryOutputs, relationColumns, type QueryResult } from '../relation.ts';
import { readPath } from '../scan.ts';
import { Scope, relationTables, type DerivedColumn, type DerivedRelation, type Relation } from '../scope.ts';
import type { StatementSpan } from '../split.ts';
import { qualify, writtenKey, type TableName } from '../tables.ts';
import { evalExpr } from './expr.ts';
import { describeParseError } from './parse.ts';
import { parseStatement } from '../parser/index.ts';
import { analyzeQuery } from './query.ts';
import { selectList } from './select-list.ts';
import { relationColumnsOf } from './star-columns.ts';
import { StatementReader, type StatementSource } from './statement-reader.ts';
import { expectFields, items, nameIdent, refuse, variant, written, type Variant } from './tree.ts';

type InputOf = (node: unknown) => Relation;

interface MlFunction {
  /** The data argument (`TABLE t` or `(query)`) after the model. */
  readonly input: 'required' | 'optional' | 'none';
  /** The input's columns reach the output unchanged beside the model's. */
  readonly passThrough: boolean;
  /** Most value arguments (a STRUCT of options, ML.ROC_CURVE's thresholds). */
  readonly values: 0 | 1;
  /** What the model adds to the output, as in "the <adds> ML.X returns". */
  readonly adds: string;
}

/**
 * The functions read, by the shapes BigQuery documents. ML.RECOMMEND passes input columns through
 * only when the input holds both the user and the item column, which the text does not tell, so
 * its output is read as the model's throughout; ML.FORECAST and ML.EXPLAIN_FORECAST return
 * forecast rows, not the input's.
 */
const ML_FUNCTIONS: Readonly<Record<string, MlFunction>> = {
  'ML.PREDICT': { input: 'required', passThrough: true, values: 1, adds: "prediction columns named after the model's label" },
  'ML.EXPLAIN_PREDICT': { input: 'required', passThrough: true, values: 1, adds: 'prediction and feature attribution columns' },
  'ML.GENERATE_TEXT': { input: 'required', passThrough: true, values: 1, adds: 'generated text and status columns' },
  'ML.GENERATE_EMBEDDING': { input: 'required', passThrough: true, values: 1, adds: 'embedding and status columns' },
  'ML.DETECT_ANOMALIES': { input: 'optional', passThrough: true, values: 1, adds: 'anomaly columns (over the training data when no input is given)' },
  'ML.EVALUATE': { input: 'optional', passThrough: false, values: 1, adds: 'evaluation metrics' },
  'ML.CONFUSION_MATRIX': { input: 'optional', passThrough: false, values: 1, adds: 'confusion matrix columns' },
  'ML.ROC_CURVE': { input: 'optional', passThrough: false, values: 1, adds: 'ROC curve points' },
  'ML.RECOMMEND': { input: 'optional', passThrough: false, values: 1, adds: 'user, item and predicted rating columns' },
  'ML.FORECAST': { input: 'optional', passThrough: false, values: 1, adds: 'forecast rows' },
  'ML.EXPLAIN_FORECAST': { input: 'optional', passThrough: false, values: 1, adds: 'forecast and time series component rows' },
  'ML.TRAINING_INFO': { input: 'none', passThrough: false, values: 1, adds: 'training iteration statistics' },
  'ML.TRIAL_INFO': { input: 'none', passThrough: false, values: 0, adds: 'hyperparameter tuning trials' },
  'ML.WEIGHTS': { input: 'none', passThrough: false, values: 1, adds: 'feature weights (categorical ones name training values)' },
  'ML.ADVANCED_WEIGHTS': { input: 'none', passThrough: false, values: 1, adds: 'feature weights with their statistics' },
  'ML.ARIMA_COEFFICIENTS': { input: 'none', passThrough: false, values: 0, adds: 'ARIMA coefficients' },
  'ML.ARIMA_EVALUATE': { input: 'none', passThrough: false, values: 1, adds: 'ARIMA evaluation metrics' },
  'ML.FEATURE_INFO': { input: 'none', passThrough: false, values: 0, adds: 'feature statistics of the training data (minimum, maximum, mean, …)' },
  'ML.GLOBAL_EXPLAIN': { input: 'none', passThrough: false, values: 1, adds: 'global feature attributions' },
  'ML.CENTROIDS': { input: 'none', passThrough: false, values: 1, adds: 'cluster centroids (categorical ones name training values)' },
  'ML.PRINCIPAL_COMPONENTS': { input: 'none', passThrough: false, values: 0, adds: 'principal components' },
  'ML.PRINCIPAL_COMPONENT_INFO': { input: 'none', passThrough: false, values: 0, adds: 'principal component statistics' },
};

const FUNCTION_FIELDS = new Set(['name', 'args', 'distinct', 'quoted', 'use_bracket_syntax', 'no_parens']);

/** Query variants a `(query)` argument holds. */
const QUERY_KINDS = new Set(['subquery']);

/** The model a `MODEL m` argument names, recorded as a table ref the statement reads. */
export function readModel(node: unknown, what: string, ctx: StatementContext): TableName {
  const m = variant(node, what);
  if (m.kind !== 'table_argument' || m.body.prefix !== 'MODEL') return refuse(`${what} that is not \`MODEL name\``, m.node);
  expectFields(m, new Set(['prefix', 'this']), what);
  const table = variant(m.body.this, 'model name');
  if (table.kind !== 'table') return refuse(`model name of kind ${table.kind}`, table.node);
  expectFields(table, new Set(['name', 'schema', 'catalog']), 'model name');
  const idents = [table.body.catalog, table.body.schema, table.body.name].filter((p) => p != null).map((p) => nameIdent(p, 'model name'));
  const path = written(idents);
  if (path.some((p) => p.includes('*'))) refuse('model name with a wildcard', table.node);
  return recordModel(path, 'read', ctx);
}

/** Qualifies and records a model with `mode`; an unqualifiable name makes the statement unparsed. */
export function recordModel(path: readonly string[], mode: 'read' | 'write', ctx: StatementContext): TableName {
  const q = qualify(path, ctx.names);
  if (q.error !== undefined) unsupported(q.error.replace(/^table/, 'model'));
  const name: TableName = { ...q.name, model: true };
  ctx.addTable(name, mode);
  return name;
}

/**
 * The lineage of what a model contributes (`what`, a phrase), computed also from `known` (the
 * input, option values): unknown, naming the model and `tables`, with the model's reason even
 * where a known part is itself unknown.
 */
export function modelLineage(what: string, model: TableName, tables: Iterable<string>, known: readonly Lineage[]): Lineage {
  const lineage = unknownLineage('', [model.id, ...tables], known);
  const reason = `${what} come from model ${model.id} and derive from its training data, which the text does not tell`;
  return { ...lineage, unknown: { reason, tables: lineage.unknown!.tables } };
}

/** A BigQuery ML table-valued function in FROM, read by its entry in ML_FUNCTIONS; any other function is refused. */
export function mlRelation(v: Variant, scope: Scope, inputOf: InputOf, ctx: StatementContext): DerivedRelation {
  expectFields(v, FUNCTION_FIELDS, 'table-valued function');
  const name = String(v.body.name).toUpperCase();
  const shape = ML_FUNCTIONS[name];
  if (shape === undefined || v.body.quoted === true) return refuse(`table-valued function ${name}`, v.node);
  if (v.body.distinct === true) refuse(`${name} with DISTINCT`, v.node);
  const [modelArg, ...rest] = items(v.body.args);
  if (modelArg === undefined) refuse(`${name} without a MODEL argument`, v.node);
  const model = readModel(modelArg, `${name} model`, ctx);
  // The token scan sees `ML.X(` in a table position: accounted for here.
  ctx.explained.add(writtenKey(String(v.body.name).split('.')));
  ctx.functions.add(name);

  // By kind: the data (`TABLE t`, `(query)`) and value arguments (a STRUCT of options, thresholds).
  let input: { columns: readonly DerivedColumn[]; tables: ReadonlySet<string> } | undefined;
  const values: Lineage[] = [];
  for (const arg of rest) {
    const a = variant(arg, `${name} argument`);
    const data = (a.kind === 'table_argument' && a.body.prefix === 'TABLE') || QUERY_KINDS.has(a.kind);
    if (data) {
      if (input !== undefined || shape.input === 'none') refuse(`${name} with ${input === undefined ? 'an input' : 'a second input'}`, a.node);
      input = dataArgument(a, scope, inputOf, ctx, name);
    } else {
      if (a.kind === 'table_argument') refuse(`${name} argument ${String(a.body.prefix)}`, a.node);
      values.push(evalExpr(arg, { scope, ctx }));
      // Where the value holds no position (literals carry none), the call's.
      if (values.length > shape.values) refuse(`${name} with unexpected arguments`, [a.node, v.node]);
    }
  }
  if (input === undefined && shape.input === 'required') refuse(`${name} without an input table or query`, v.node);

  const columns = input?.columns ?? [];
  const tables = input?.tables ?? new Set<string>();
  const fromModel = modelLineage(`the ${shape.adds} ${name} returns`, model, tables, [transformed(columns.map((c) => c.lineage)), ...values]);
  const out: DerivedColumn[] = shape.passThrough ? [...columns] : [];
  out.push({ name: '*', lineage: fromModel, lookup: () => fromModel });
  return { kind: 'derived', alias: undefined, columns: out, tables: new Set([model.id, ...tables]) };
}

function dataArgument(a: Variant, scope: Scope, inputOf: InputOf, ctx: StatementContext, name: string): { columns: readonly DerivedColumn[]; tables: ReadonlySet<string> } {
  if (a.kind === 'table_argument') {
    expectFields(a, new Set(['prefix', 'this']), `${name} TABLE argument`);
    const relation = inputOf(a.body.this);
    return { columns: relationColumnsOf(relation), tables: relationTables(relation) };
  }
  const result = analyzeQuery(a.node, scope.parent, scope.ctes, ctx);
  return { columns: relationColumns(result), tables: result.tables };
}

// CREATE [OR REPLACE] MODEL [IF NOT EXISTS] m [TRANSFORM(…)] [INPUT(…) OUTPUT(…)]
// [REMOTE WITH CONNECTION c] [OPTIONS(…)] [AS query | AS (TRAINING_DATA AS (query), CUSTOM_HOLIDAY AS (query))],
// read from its tokens (the parser reads only its queries). Each query (and the TRANSFORM list,
// as `SELECT <list>`) is parsed on its own, in the statement's text
// with everything else blanked to spaces (line breaks kept), so its positions are the statement's.
// The model is written; what the queries read flows into it: the statement's outputs are the
// training data's columns (the TRANSFORM's, when it has one), then the holidays'.

/** Calls OPTIONS values may hold: constant ranges, candidate lists and STRUCTs. */
const OPTION_CALLS = new Set(['HPARAM_RANGE', 'HPARAM_CANDIDATES', 'STRUCT', 'ARRAY']);
const QUERY_LABELS = new Set(['TRAINING_DATA', 'CUSTOM_HOLIDAY']);

interface Piece {
  readonly label: string;
  /** Token indexes of its first and last token. */
  readonly first: number;
  readonly last: number;
}

class ModelReader extends StatementReader {
  /** The queries after AS at `at`: one, or TRAINING_DATA and CUSTOM_HOLIDAY each AS (query). */
  queries(at: number): Piece[] {
    const n = this.tokens.length;
    if (at >= n) this.fail('CREATE MODEL AS without a query', at);
    const paired = this.punct(at, '(') && this.tokens[at + 1]?.kind === 'word' && this.word(at + 2, 'AS') && this.punct(at + 3, '(');
    if (!paired) return [{ label: 'TRAINING_DATA', first: at, last: n - 1 }];
    const close = this.closing(at, 'CREATE MODEL AS');
    if (close !== n - 1) this.fail('text after the CREATE MODEL queries', close + 1);
    const pieces: Piece[] = [];
    let i = at + 1;
    for (;;) {
      const label = this.tokens[i]!;
      if (label.kind !== 'word' || !QUERY_LABELS.has(label.upper) || pieces.some((p) => p.label === label.upper)) this.fail(`CREATE MODEL query ${label.text}`, i);
      if (!this.word(i + 1, 'AS')) this.fail(`${label.upper} without AS`, i + 1);
      const end = this.closing(i + 2, label.upper);
      if (end === i + 3) this.fail(`${label.upper} without a query`, end);
      pieces.push({ label: label.upper, first: i + 3, last: end - 1 });
      if (this.punct(end + 1, ',')) i = end + 2;
      else if (end + 1 === close) break;
      else this.fail('CREATE MODEL queries of an unexpected form', end + 1);
    }
    if (!pieces.some((p) => p.label === 'TRAINING_DATA')) this.fail('CREATE MODEL queries without TRAINING_DATA', at);
    return pieces;
  }

  /**
   * Tokens `first`..`last` parsed on their own, in the statement's text with the rest blanked
   * (line breaks kept); `head.text`, at the offset of token `head.at`, replaces text before them
   * (`SELECT` for TRANSFORM's list).
   */
  parse(first: number, last: number, head?: { at: number; text: string }): unknown {
    const statement = this.text.slice(this.span.start, this.span.end);
    const from = this.tokens[first]!.start - this.span.start;
    const to = this.tokens[last]!.end - this.span.start;
    const blank = (s: string) => s.replace(/[^\n\r]/g, ' ');
    let sql = blank(statement.slice(0, from)) + statement.slice(from, to) + blank(statement.slice(to));
    if (head !== undefined) {
      const at = this.tokens[head.at]!.start - this.span.start;
      sql = sql.slice(0, at) + head.text + sql.slice(at + head.text.length);
    }
    // The piece's tokens are those of the blanked text (`head` included), at the statement's offsets.
    const tokens = lex(sql).tokens.map((t) => ({ ...t, start: t.start + this.span.start, end: t.end + this.span.start }));
    const piece: StatementSpan = { ...this.span, tokens };
    const full = this.text.slice(0, this.span.start) + sql + this.text.slice(this.span.end);
    const parsed = parseStatement('SELECT', full, piece);
    if (parsed.error !== undefined) return unsupported(describeParseError(parsed.error, this.text, piece));
    return parsed.ast;
  }
}

/** The CREATE MODEL statement of `source`: the model written, its queries read (see above). */
export function createModelStatement(source: StatementSource, outer: Scope | undefined, ctx: StatementContext): Output[] {
  const r = new ModelReader(source);
  const n = r.tokens.length;
  const name = r.createdName('MODEL', 'model');
  recordModel(name.path, 'write', ctx);
  let i = name.next;

  let transform: { keyword: number; close: number } | undefined;
  let pieces: Piece[] = [];
  const seen = new Set<string>();
  while (i < n) {
    const clause = r.tokens[i]!.kind === 'word' ? r.tokens[i]!.upper : '';
    if (clause === '') r.fail(`CREATE MODEL clause \`${r.tokens[i]!.text}\``, i);
    if (seen.has(clause)) r.fail(`a second CREATE MODEL ${clause}`, i);
    seen.add(clause);
    switch (clause) {
      case 'TRANSFORM': {
        const close = r.closing(i + 1, 'TRANSFORM');
        if (close === i + 2) r.fail('empty TRANSFORM', i);
        transform = { keyword: i, close };
        i = close + 1;
        break;
      }
      case 'INPUT':
      case 'OUTPUT': {
        const close = r.closing(i + 1, clause);
        r.nameList(i + 2, close - 1, `${clause} column list`);
        i = close + 1;
        break;
      }
      case 'REMOTE': {
        // The connection reaches a remote service; it names no table.
        if (!r.word(i + 1, 'WITH') || !r.word(i + 2, 'CONNECTION')) r.fail('REMOTE without WITH CONNECTION', i);
        if (r.word(i + 3, 'DEFAULT')) {
          i += 4;
          break;
        }
        const connection = readPath(r.tokens as Token[], i + 3);
        if (connection === undefined || connection.malformed !== undefined) return r.fail('REMOTE WITH CONNECTION of an unexpected form', i + 3);
        i = connection.next;
        break;
      }
      case 'OPTIONS': {
        const close = r.closing(i + 1, 'OPTIONS');
        r.constantOptions(i + 2, close - 1, ctx, 'CREATE MODEL', OPTION_CALLS);
        i = close + 1;
        break;
      }
      case 'AS':
        pieces = r.queries(i + 1);
        i = n;
        break;
      default:
        r.fail(`CREATE MODEL clause ${clause}`, i);
    }
  }
  if (transform !== undefined && !pieces.some((p) => p.label === 'TRAINING_DATA')) r.fail('TRANSFORM without a training query', transform.keyword);

  const outputs: Output[] = [];
  for (const piece of pieces) {
    let result = analyzeQuery(r.parse(piece.first, piece.last), outer, undefined, ctx);
    if (piece.label === 'TRAINING_DATA' && transform !== undefined) result = transformResult(r, transform, result, outer, ctx);
    for (const o of queryOutputs(result)) outputs.push({ ...o, index: outputs.length });
  }
  return outputs;
}

/** `TRANSFORM(list)`: the list read as `SELECT list` over the training query's columns. */
function transformResult(r: ModelReader, transform: { keyword: number; close: number }, training: QueryResult, outer: Scope | undefined, ctx: StatementContext): QueryResult {
  const keyword = r.tokens[transform.keyword]!;
  const ast = r.parse(transform.keyword + 2, transform.close - 1, { at: transform.keyword, text: 'SELECT'.padEnd(keyword.end - keyword.start) });
  const select = variant(ast, 'TRANSFORM');
  if (select.kind !== 'select') refuse(`TRANSFORM read as ${select.kind}`, select.node);
  expectFields(select, new Set(['expressions']), 'TRANSFORM');
  const scope = new Scope(outer, undefined);
  scope.relations.push({ kind: 'derived', alias: undefined, columns: relationColumns(training), tables: training.tables });
  const { columns } = selectList(items(select.body.expressions), { scope, ctx });
  return { columns, valueTable: undefined, tables: training.tables };
}
