// A statement the parser refuses is reported unparsed with the token it stopped at, as the user
// wrote it, at its line:column in the text, and the parser's reason in short:
//   syntax not understood near `MATCH_RECOGNIZE` at 3:14 (parser: expected `(`)
// Positions are those of the text as written, also where the statement was respelled before
// parsing (INSERT without INTO, a path part beginning with a digit). Nothing here throws.
import { describe, expect, it } from 'vitest';
import { normalize } from '../../engine/normalize.ts';
import { lex } from '../../engine/sql/lexer.ts';
import { splitStatements } from '../../engine/sql/split.ts';
import { describeParseError, lineColumn, shortReason } from '../../engine/sql/gsql/parse.ts';
import { parseStatement } from '../../engine/sql/parser/index.ts';
import { PROJECT, identity } from './support.ts';

const errors = (sql: string) => normalize({ identity, sql, project: PROJECT, defaultDataset: 'sales' }).sql.statements.map((s) => (s.parsed ? 'parsed' : s.error));
const error = (sql: string) => errors(sql)[0];

describe('a statement the parser refuses', () => {
  it('names the token it stopped at, its line:column and the reason', () => {
    expect(error('SELECT a\n  FROM orders WHERE x = = 1')).toBe('syntax not understood near `=` at 2:25 (parser: invalid expression)');
    expect(error('SELECT a FROM orders TABLESAMPLE RANDOM1 (100 ROWS)')).toBe('syntax not understood near `RANDOM1` at 1:34 (parser: expected SYSTEM)');
    expect(error('SELECT avg(key WHERE key < 10) FROM orders')).toBe('syntax not understood near `WHERE` at 1:16 (parser: expected `)`)');
  });

  it('writes the token as the user did, an operator whole', () => {
    expect(error('SELECT {0} FROM orders')).toBe('syntax not understood near `{` at 1:8 (parser: invalid expression)');
    // A query's pipe syntax is rewritten (gsql/pipe.ts); in a DELETE polyglot meets the `|>`.
    expect(error('DELETE FROM orders WHERE a IN (SELECT 1 |> LIMIT 5)')).toBe('syntax not understood near `|>` at 1:41 (parser: expected `)`)');
    expect(error('SELECT a FROM orders WHERE a <> <3')).toBe('syntax not understood near `<` at 1:33 (parser: invalid expression)');
  });

  it('says it once: no polyglot excerpt, no position repeated', () => {
    const e = error('SELECT a FROM orders TABLESAMPLE RANDOM1 (100 ROWS)')!;
    expect(e).not.toMatch(/near \[|line \d+, column|Parse error/);
    expect(e.match(/\d+:\d+/g)).toHaveLength(1);
  });

  it('counts lines and columns in the whole text, the second statement included', () => {
    expect(errors('SELECT 1;\n\n  SELECT a FROM orders WHERE x = = 1')).toEqual(['parsed', 'syntax not understood near `=` at 3:34 (parser: invalid expression)']);
  });

  it('counts columns in characters, as the user sees them', () => {
    expect(error("SELECT 'ü😀', x = = 1")).toBe('syntax not understood near `=` at 1:18 (parser: invalid expression)');
  });

  it('gives positions as written where the statement was respelled before parsing', () => {
    // INSERT without INTO is parsed as INSERT INTO: the `)` stays where the user put it.
    expect(error('INSERT sales.orders (id) VALUES (1 +)')).toBe('syntax not understood near `)` at 1:37 (parser: unexpected token)');
    expect(error('INSERT INTO sales.orders (id) VALUES (1 +)')).toBe('syntax not understood near `)` at 1:42 (parser: unexpected token)');
    expect(error('INSERT\nsales.orders (id) VALUES (1 +)')).toBe('syntax not understood near `)` at 2:30 (parser: unexpected token)');
    // A path part beginning with a digit is back-quoted for the parser; the text is not.
    expect(error('SELECT o.2024_total FROM sales.2024_orders AS o WHERE +')).toBe('syntax not understood near `+` at 1:55 (parser: unexpected end of statement)');
  });

  it('shortens a long token and keeps it on one line', () => {
    const e = error(`SELECT CAST(x AS 'b${'c'.repeat(60)}\nd')`)!;
    expect(e).toBe(`syntax not understood near \`'b${'c'.repeat(37)}…\` at 1:18 (parser: expected a type)`);
    expect(error("SELECT CAST(x AS '''ab\n  cd''')")).toBe("syntax not understood near `'''ab cd'''` at 1:18 (parser: expected a type)");
  });

  it('is a refusal, never an exception, however deep the nesting', () => {
    const sql = `SELECT ${'('.repeat(2000)}1${')'.repeat(2000)}`;
    expect(() => parseStatement('SELECT', sql, splitStatements(lex(sql).tokens)[0]!)).not.toThrow();
    expect(error(sql)).toMatch(/^syntax not understood near `\(` at 1:\d+ \(parser: nested too deeply\)$/);
  });
});

describe('describeParseError', () => {
  const span = (text: string) => splitStatements(lex(text).tokens)[0]!;

  it('leaves other errors as they are', () => {
    const text = 'SELECT 1';
    expect(describeParseError('parser read 2 statements where the splitter found one', text, span(text))).toBe('parser read 2 statements where the splitter found one');
    expect(describeParseError('parser crashed: unreachable', text, span(text))).toBe('parser crashed: unreachable');
  });

  it('leaves a position outside the statement as it is, and never throws', () => {
    const text = 'SELECT 1';
    const outside = 'parser: Parse error at line 9, column 1: Invalid expression / Unexpected token';
    expect(describeParseError(outside, text, span(text))).toBe(outside);
    expect(() => describeParseError('parser: Parse error at line 1, column 99999: x', text, span(text))).not.toThrow();
    expect(() => describeParseError('parser: Parse error at line 1, column 1: x', '', { tokens: [], start: 0, end: 0, unterminatedBlock: false })).not.toThrow();
  });

  it("shortens the parser's reasons", () => {
    expect(shortReason('Expected `(`')).toBe('expected `(`');
    expect(shortReason('Expected SYSTEM')).toBe('expected SYSTEM');
    expect(shortReason('Invalid expression')).toBe('invalid expression');
    expect(shortReason('Nested too deeply')).toBe('nested too deeply');
    expect(shortReason(`Unsupported ${'x'.repeat(80)}`)).toBe(`unsupported ${'x'.repeat(47)}…`);
  });

  it('writes line:column 1-based, columns in characters', () => {
    expect(lineColumn('SELECT\n  a', 9)).toBe('2:3');
    expect(lineColumn('😀 a', 3)).toBe('1:3');
  });
});

describe('a unary + before a value other than a number', () => {
  // The parser drops it and reads `+x` as `x`; to BigQuery `+x` is an expression, with no implicit
  // name (a subquery's `+customer_id` has no column customer_id, so the name is read from the
  // enclosing query: the ssn) and no select-list alias in GROUP BY (`GROUP BY +salary` groups by
  // the column salary).
  it('is refused, with its place', () => {
    expect(error('SELECT (SELECT customer_id FROM (SELECT +customer_id FROM orders) LIMIT 1) AS x FROM (SELECT ssn AS customer_id FROM crm.customers)')).toBe(
      'unary `+` before a value other than a number is not analysed at 1:41',
    );
    expect(error('SELECT ANY_VALUE(employee_id) AS salary, COUNT(*) AS n FROM workforce.employees GROUP BY +salary')).toMatch(/^unary `\+` before a value/);
    expect(error('SELECT AS VALUE +(units) FROM orders')).toMatch(/^unary `\+` before a value/);
    expect(error('FROM orders |> EXTEND +units AS u')).toMatch(/^unary `\+` before a value/);
  });

  it('leaves a + between values, and a signed number, as they are', () => {
    expect(error('SELECT +1 AS a, ++1 AS b, +(1) AS c, units + 1 AS d, (units)+1 AS e, [1][OFFSET(0)]+units AS f, NULL + 1 AS g, CASE WHEN TRUE THEN 1 END + units AS h FROM orders WHERE units > +2')).toBe('parsed');
  });
});
