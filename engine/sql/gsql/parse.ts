// polyglot-sql (Rust compiled to WebAssembly), BigQuery dialect, for one statement at a time. The
// module initialises its WebAssembly on import. Any refusal or crash becomes an error string.
import { Dialect, parse } from '@polyglot-sql/sdk';

export type ParseResult = { ast: unknown; error?: undefined } | { ast?: undefined; error: string };

export function parseStatement(sql: string): ParseResult {
  let result: ReturnType<typeof parse>;
  try {
    result = parse(sql, Dialect.BigQuery);
  } catch (e) {
    return { error: `parser crashed: ${e instanceof Error ? e.message : String(e)}` };
  }
  if (!result.success) {
    // polyglot's message already names the line and column.
    return { error: `parser: ${(result.error ?? 'syntax error').split('\n', 1)[0]}` };
  }
  // The splitter found one statement; the parser reading several means they disagree.
  if (result.ast.length !== 1) return { error: `parser read ${result.ast.length} statements where the splitter found one` };
  return { ast: result.ast[0] };
}
