// sluice sql corpus: run the normalizer over a corpus of real GoogleSQL (fixtures/sql-corpus)
// and report what it understands, what it refuses and why, whether it ever throws, and how
// long it takes.
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { Option, type Command } from 'commander';
import { summarize, table, type Summary } from '../../bench/stats.ts';
import { clearNormalizeCache, normalize } from '../../engine/normalize.ts';
import type { Identity } from '../../engine/schema-types.ts';
import { RESERVED } from '../../engine/sql/keywords.ts';
import { lex, type Token } from '../../engine/sql/lexer.ts';
import { RULES, bigQueryVerdict } from '../../scripts/corpus/bigquery-accepts.ts';
import { CATEGORIES, DEFAULT_CORPUS, loadCorpus, type CorpusItem } from '../../scripts/corpus/corpus.ts';
import { escapeXml } from '../testing/junit.ts';
import { EXIT, UsageError } from '../output.ts';

export interface Outcome {
  item: CorpusItem;
  /** Every statement parsed (its tables then accounted for by the parser's reading). */
  understood: boolean;
  /** Tables the normalizer names, parsed or not. */
  tables: number;
  /** The first unparsed statement's error, grouped (refusalClass). */
  refusal?: { class: string; error: string };
  /** What normalize threw: it must never throw. */
  crash?: string;
  coldNs: number;
  /** Whether BigQuery accepts the text, by the rules of scripts/corpus/bigquery-accepts.ts; else the rule that says not. */
  bigquery: { accepted: true } | { accepted: false; rule: string };
}

interface Tally {
  statements: number;
  understood: number;
  refused: number;
  crashed: number;
}

export interface CorpusReport {
  corpus: string;
  total: Tally;
  /** The statements BigQuery accepts (scripts/corpus/bigquery-accepts.ts): the coverage that counts. */
  accepted: Tally;
  /** Each rule that finds statements BigQuery refuses, with how many it excluded from `accepted`. */
  exclusions: { rule: string; refuses: string; evidence: string; count: number; example?: string }[];
  /** Understood statements that name at least one table. */
  understoodWithTables: number;
  byCategory: Record<string, Tally>;
  bySource: Record<string, Tally>;
  /** Refusal classes, most frequent first, each with how many of its statements BigQuery accepts and an example id. */
  refusals: { class: string; count: number; accepted: number; example: string }[];
  crashes: { id: string; error: string }[];
  latency: Summary[];
}

export interface MeasureOptions {
  project: string;
  dataset: string;
  /** Times each statement is normalized again with its analysis cached (the warm figure). */
  repeats?: number;
  progress?: (done: number, total: number) => void;
}

const identity: Identity = { subject: 'sql-corpus', issuer: 'https://sluice.local', kind: 'agent', groups: [], claims: {} };

/** A word that reads as a keyword: reserved, or written in capitals as keywords usually are. */
function keywordLike(t: Token): boolean {
  return t.kind === 'word' && (RESERVED.has(t.upper) || (t.text === t.upper && /^[A-Z][A-Z_]+$/.test(t.text)));
}

/** Operators the lexer reads as two punctuation tokens. */
const OPERATORS = new Set(['|>', '||', '=>', '->', '<=', '>=', '<>', '!=', '<<', '>>']);

/** The token at `i` as a construct: a keyword, an operator (`|>` is two tokens), or the kind of token ("a name"). */
function construct(tokens: Token[], i: number): string {
  const t = tokens[i];
  if (t === undefined) return 'end of statement';
  if (t.kind === 'word') return keywordLike(t) ? t.upper : 'a name';
  if (t.kind === 'quoted') return 'a back-quoted name';
  if (t.kind === 'punct') {
    const prev = tokens[i - 1];
    const next = tokens[i + 1];
    if (prev?.kind === 'punct' && prev.end === t.start && OPERATORS.has(prev.text + t.text)) return `"${prev.text + t.text}"`;
    if (next?.kind === 'punct' && next.start === t.end && OPERATORS.has(t.text + next.text)) return `"${t.text + next.text}"`;
    return `"${t.text}"`;
  }
  return `a ${t.kind}`;
}

/** A parser refusal as engine/sql/gsql/parse.ts words it: the token as written, its line:column, polyglot's reason. */
const PARSER_REFUSAL = /^syntax not understood (?:near .+? at|at the start of the statement,) (\d+):(\d+) \(parser: /s;

/** Positions as messages write them: `at line 4:30`, `at 4:30`, `at line 4, column 30`, `at line 4 column 30`. */
const POSITIONS = / ?\b(?:at )?(?:line \d+(?::\d+|,? column \d+)|\d+:\d+)\b/g;

/** Phrases followed by a name from the statement (a function, variable, WITH query, keyword). */
const NAME_SLOTS =
  /\b(table-valued function|SET of|reserved keyword|recursive WITH query|system variable|source table|WITH name) (?!<name>)[\w$@]+/g;

/**
 * A refusal's class: the statement kind or construct it names, without the positions, names,
 * strings and numbers that make each message unique. A parser refusal is classed by the token
 * the parser stopped at: a keyword, an operator, or the kind of token ("a name").
 */
export function refusalClass(sql: string, error: string): string {
  const at = PARSER_REFUSAL.exec(error);
  if (at !== null) {
    const line = Number(at[1]);
    const column = Number(at[2]);
    const lines = sql.split('\n');
    const before = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    const offset = before + [...(lines[line - 1] ?? '')].slice(0, column - 1).join('').length;
    const tokens = lex(sql).tokens;
    const i = tokens.findIndex((t) => t.end > offset);
    return `syntax not understood at ${construct(tokens, i < 0 ? tokens.length : i)}`;
  }
  return error
    .split('; ')[0]!
    .replace(POSITIONS, '')
    .replace(/`[^`]*`|\b[\w-]+(?:\.[\w*-]+)+/g, '<name>')
    .replace(NAME_SLOTS, '$1 <name>')
    .replace(/\b\w+(?=\(…\) in a table position| call whose written name)/g, '<name>')
    .replace(/"[^"]*"/g, '"…"')
    .replace(/'[^']*'/g, "'…'")
    .replace(/\b\d+\b/g, '<n>')
    .trim();
}

function normalizeOnce(item: CorpusItem, options: MeasureOptions) {
  return normalize({ identity, sql: item.sql, project: options.project, defaultDataset: options.dataset });
}

const tally = (): Tally => ({ statements: 0, understood: 0, refused: 0, crashed: 0 });

/** Runs every item through the normalizer: once with an empty cache (cold), then `repeats` times cached (warm). */
export function measureCorpus(items: CorpusItem[], options: MeasureOptions): { report: Omit<CorpusReport, 'corpus'>; outcomes: Outcome[] } {
  const outcomes: Outcome[] = [];
  for (const [n, item] of items.entries()) {
    options.progress?.(n, items.length);
    clearNormalizeCache();
    const start = process.hrtime.bigint();
    try {
      const input = normalizeOnce(item, options);
      const coldNs = Number(process.hrtime.bigint() - start);
      const failed = input.sql.statements.find((s) => !s.parsed);
      const tables = new Set(input.sql.statements.flatMap((s) => s.tables.map((t) => t.id))).size;
      const error = failed?.error ?? '';
      const bigquery = bigQueryVerdict(item);
      outcomes.push({ item, understood: failed === undefined, tables, coldNs, bigquery, ...(failed && { refusal: { class: refusalClass(item.sql, error), error } }) });
    } catch (thrown) {
      const coldNs = Number(process.hrtime.bigint() - start);
      outcomes.push({ item, understood: false, tables: 0, coldNs, bigquery: bigQueryVerdict(item), crash: thrown instanceof Error ? thrown.message : String(thrown) });
    }
  }
  options.progress?.(items.length, items.length);

  const repeats = options.repeats ?? 5;
  const warm = new Float64Array(outcomes.filter((o) => !o.crash).length * repeats);
  let w = 0;
  for (const o of outcomes) {
    if (o.crash) continue;
    normalizeOnce(o.item, options);
    for (let r = 0; r < repeats; r++) {
      const start = process.hrtime.bigint();
      normalizeOnce(o.item, options);
      warm[w++] = Number(process.hrtime.bigint() - start);
    }
  }

  const total = tally();
  const accepted = tally();
  const byCategory: Record<string, Tally> = Object.fromEntries(CATEGORIES.map((c) => [c, tally()]));
  const bySource: Record<string, Tally> = {};
  const classes = new Map<string, { count: number; accepted: number; example: string }>();
  for (const o of outcomes) {
    const tallies = [total, (byCategory[o.item.category] ??= tally()), (bySource[o.item.source.repo] ??= tally())];
    if (o.bigquery.accepted) tallies.push(accepted);
    for (const t of tallies) {
      t.statements++;
      if (o.crash) t.crashed++;
      else if (o.understood) t.understood++;
      else t.refused++;
    }
    if (o.refusal) {
      const c = classes.get(o.refusal.class) ?? { count: 0, accepted: 0, example: o.item.id };
      c.count++;
      if (o.bigquery.accepted) c.accepted++;
      classes.set(o.refusal.class, c);
    }
  }
  const exclusions = RULES.map((r) => {
    const excluded = outcomes.filter((o) => !o.bigquery.accepted && o.bigquery.rule === r.id);
    return { rule: r.id, refuses: r.refuses, evidence: r.evidence, count: excluded.length, ...(excluded[0] && { example: excluded[0].item.id }) };
  });
  const refusals = [...classes].map(([name, c]) => ({ class: name, ...c })).sort((a, b) => b.count - a.count || a.class.localeCompare(b.class));
  const crashes = outcomes.filter((o) => o.crash).map((o) => ({ id: o.item.id, error: o.crash! }));
  const latency = [
    summarize('cold: each statement once, empty cache', Float64Array.from(outcomes, (o) => o.coldNs)),
    summarize(`warm: the same text again, ×${repeats}`, warm),
  ];
  const understoodWithTables = outcomes.filter((o) => o.understood && o.tables > 0).length;
  return { report: { total, accepted, exclusions, understoodWithTables, byCategory, bySource, refusals, crashes, latency }, outcomes };
}

const pct = (part: number, whole: number) => (whole === 0 ? '–' : `${((100 * part) / whole).toFixed(1)} %`);

function tallyTable(title: string, rows: Record<string, Tally>): string {
  const lines = [`| ${title} | statements | understood | refused | crashed |`, '| --- | ---: | ---: | ---: | ---: |'];
  for (const [name, t] of Object.entries(rows)) {
    if (t.statements > 0) lines.push(`| ${name} | ${t.statements} | ${t.understood} (${pct(t.understood, t.statements)}) | ${t.refused} | ${t.crashed} |`);
  }
  return lines.join('\n');
}

export function renderReport(report: CorpusReport, top = 25): string {
  const { total, accepted } = report;
  const out = [
    `SQL corpus ${report.corpus}: ${total.statements} statements, ${total.understood} understood (${pct(total.understood, total.statements)}; ` +
      `${report.understoodWithTables} of them name a table), ${total.refused} refused, ${total.crashed} crashed`,
    `statements BigQuery accepts: ${accepted.statements}, ${accepted.understood} understood (${pct(accepted.understood, accepted.statements)}), ` +
      `${accepted.refused} refused, ${accepted.crashed} crashed`,
    '',
    `statements BigQuery refuses (${total.statements - accepted.statements}), by the first rule of scripts/corpus/bigquery-accepts.ts that finds them`,
    '| rule | statements | BigQuery refuses | e.g. |',
    '| --- | ---: | --- | --- |',
    ...report.exclusions.map((e) => `| ${e.rule} | ${e.count} | ${e.refuses.replaceAll('|', '\\|')} | ${e.example ?? ''} |`),
    '',
    tallyTable('category', report.byCategory),
    '',
    tallyTable('source', report.bySource),
    '',
    `refusal classes (${report.refusals.length}; the ${Math.min(top, report.refusals.length)} most frequent)`,
    '| class | statements | BigQuery accepts | e.g. |',
    '| --- | ---: | ---: | --- |',
    ...report.refusals.slice(0, top).map((r) => `| ${r.class.replaceAll('|', '\\|')} | ${r.count} | ${r.accepted} | ${r.example} |`),
    '',
    'normalize() latency',
    table(report.latency),
  ];
  if (report.crashes.length > 0) out.push('', 'crashes (normalize threw):', ...report.crashes.map((c) => `  ${c.id}: ${c.error}`));
  return out.join('\n') + '\n';
}

/** One test case per statement: a crash fails it, a refusal skips it (coverage is a figure, not a verdict). */
export function renderCorpusJunit(outcomes: Outcome[], timestamp = new Date()): string {
  const attr = (text: string | number) => escapeXml(String(text)).replace(/\n/g, '&#10;');
  const bySource = Map.groupBy(outcomes, (o) => o.item.source.repo);
  const crashed = outcomes.filter((o) => o.crash).length;
  const skipped = outcomes.filter((o) => o.refusal).length;
  const seconds = (ns: number) => (ns / 1e9).toFixed(6);
  const out = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="sluice sql corpus" tests="${outcomes.length}" failures="0" errors="${crashed}" skipped="${skipped}" time="${seconds(outcomes.reduce((s, o) => s + o.coldNs, 0))}">`,
  ];
  for (const [repo, cases] of bySource) {
    out.push(
      `  <testsuite name="${attr(repo)}" tests="${cases.length}" failures="0" errors="${cases.filter((o) => o.crash).length}" skipped="${cases.filter((o) => o.refusal).length}" ` +
        `time="${seconds(cases.reduce((s, o) => s + o.coldNs, 0))}" timestamp="${timestamp.toISOString().slice(0, 19)}">`,
    );
    for (const o of cases) {
      const { path, line } = o.item.source;
      const open = `    <testcase name="${attr(o.item.id)}" classname="${attr(`${repo}/${o.item.category}`)}" file="${attr(path)}" line="${line}" time="${seconds(o.coldNs)}"`;
      // A statement BigQuery refuses says so (and by which rule) in a property; the verdicts stay as they were.
      const property = o.bigquery.accepted ? [] : [`      <properties><property name="bigquery-accepts" value="false: ${attr(o.bigquery.rule)}"/></properties>`];
      if (o.crash) out.push(`${open}>`, ...property, `      <error message="${attr(o.crash)}" type="NormalizerThrew">${escapeXml(o.item.sql)}</error>`, '    </testcase>');
      else if (o.refusal) out.push(`${open}>`, ...property, `      <skipped message="${attr(`${o.refusal.class}: ${o.refusal.error}`)}"/>`, '    </testcase>');
      else if (property.length > 0) out.push(`${open}>`, ...property, '    </testcase>');
      else out.push(`${open}/>`);
    }
    out.push('  </testsuite>');
  }
  out.push('</testsuites>');
  return out.join('\n') + '\n';
}

/** A counter on stderr: rewritten in place on a terminal, a line every quarter otherwise. */
function progressOnStderr(): (done: number, total: number) => void {
  let last = -1;
  return (done, total) => {
    if (process.stderr.isTTY) {
      if (done === total) process.stderr.write('\r\x1b[K');
      else if (done % 50 === 0) process.stderr.write(`\r\x1b[Knormalizing ${done}/${total}…`);
      return;
    }
    const quarter = Math.floor((4 * done) / Math.max(total, 1));
    if (quarter !== last && done < total) process.stderr.write(`normalizing ${done}/${total}\n`);
    last = quarter;
  };
}

interface CorpusFlags {
  corpus: string;
  format: 'table' | 'json';
  junit?: string;
  project: string;
  dataset: string;
  top: string;
}

export function registerSql(program: Command): void {
  const sql = program.command('sql').description('Measure the SQL normalizer.');
  sql
    .command('corpus')
    .description(
      'Run the normalizer over a corpus of real GoogleSQL statements (JSON lines: {id, sql, category, source}) and report how many it ' +
        'understands (every statement parsed), over all statements and over those BigQuery accepts (scripts/corpus/bigquery-accepts.ts: ' +
        'each rule that excludes a statement is listed with its count), what it refuses grouped into classes, per category and per ' +
        'source, any exception it throws (a crash), and its latency cold (empty cache) and warm (the same text again).',
    )
    .option('--corpus <dir>', 'folder of .jsonl corpus files', DEFAULT_CORPUS)
    .addOption(new Option('--format <format>', 'report format').choices(['table', 'json']).default('table'))
    .option('--junit <file>', 'also write JUnit XML: one test case per statement, an error for a crash, skipped for a refusal, a bigquery-accepts property on a statement BigQuery refuses')
    .option('--project <id>', 'project the statements run in (qualifies dataset.table)', 'corpus-project')
    .option('--dataset <name>', 'default dataset (qualifies a bare table name)', 'corpus_dataset')
    .option('--top <n>', 'refusal classes listed in the table format', '25')
    .addHelpText(
      'after',
      `
Exit codes:
  0  the normalizer threw on no statement (refusals do not fail)
  1  it threw on at least one statement
  2  bad usage, or an unreadable corpus`,
    )
    .action((flags: CorpusFlags) => {
      const top = Number(flags.top);
      if (!Number.isSafeInteger(top) || top < 0) throw new UsageError(`--top must be a whole number, got ${flags.top}`);
      let items: CorpusItem[];
      try {
        items = loadCorpus(flags.corpus);
      } catch (thrown) {
        throw new UsageError(`--corpus ${flags.corpus}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
      }
      if (items.length === 0) throw new UsageError(`--corpus ${flags.corpus}: no statements in its .jsonl files`);
      const { report: measured, outcomes } = measureCorpus(items, { project: flags.project, dataset: flags.dataset, progress: progressOnStderr() });
      const report: CorpusReport = { corpus: relative(process.cwd(), flags.corpus) || '.', ...measured };
      process.stdout.write(flags.format === 'json' ? JSON.stringify(report, null, 2) + '\n' : renderReport(report, top));
      if (flags.junit !== undefined) writeFileSync(flags.junit, renderCorpusJunit(outcomes));
      if (report.total.crashed > 0) process.exitCode = EXIT.error;
    });
}
