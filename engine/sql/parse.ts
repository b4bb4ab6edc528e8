// node-sql-parser, BigQuery dialect, for one statement at a time. Only the BigQuery build is
// loaded (the package's main entry loads every dialect). Any exception it throws, including
// the crashes it has on some inputs, becomes an error string: never an exception upstream.
import { createRequire } from 'node:module';
import type { Node } from './ast.ts';

interface BigQueryParser {
  astify(sql: string, options: { database: string }): unknown;
}

let parser: BigQueryParser | undefined;

function load(): BigQueryParser {
  if (parser === undefined) {
    const require = createRequire(import.meta.url);
    const module = require('node-sql-parser/build/bigquery.js') as { Parser: new () => BigQueryParser };
    parser = new module.Parser();
  }
  return parser;
}

export type ParseResult = { ast: Node; error?: undefined } | { ast?: undefined; error: string };

interface PegError {
  found?: unknown;
  location?: { start?: { line?: number; column?: number } };
}

/** A short message: the parser's own "Expected …" lists run to kilobytes. */
function shortMessage(e: unknown): string {
  const { found, location } = (e ?? {}) as PegError;
  if (location?.start?.line !== undefined) {
    const near = typeof found === 'string' ? `"${found}"` : 'end of statement';
    return `syntax error at line ${location.start.line} column ${location.start.column ?? 0} near ${near}`;
  }
  const message = e instanceof Error ? e.message : String(e);
  const line = message.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

export function parseStatement(sql: string): ParseResult {
  let result: unknown;
  try {
    result = load().astify(sql, { database: 'bigquery' });
  } catch (e) {
    return { error: `parser: ${shortMessage(e)}` };
  }
  if (Array.isArray(result)) {
    // The splitter found one statement; the parser reading several means they disagree.
    if (result.length !== 1) return { error: 'parser read a different number of statements' };
    result = result[0];
  }
  if (result === null || typeof result !== 'object') return { error: 'parser returned no syntax tree' };
  return { ast: result as Node };
}
