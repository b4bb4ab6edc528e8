// Table or path into a range variable, and path parts GoogleSQL tokenizes its own way (a leading
// digit, an unquoted `*`, a dash): the normalizer reads every name form as BigQuery does
// (test/support/name-forms.ts; the emulator check of the same table is test/gateway/name-forms.test.ts).
import { describe, expect, it } from 'vitest';
import { lex, unescapeQuoted } from '../../engine/sql/lexer.ts';
import { DIGIT_FORMS, NAME_FORMS, PATH_FORMS, REFUSED_FORMS, TABLE_FORMS } from '../support/name-forms.ts';
import { CUSTOMERS, ORDERS, output, predicates, readTables, run, schemas, sources, statement } from './support.ts';

describe('FROM names that look like an alias path', () => {
  it.each(TABLE_FORMS.map((f) => [f.label, f] as const))('%s: the back-quoted name is a table', (_label, form) => {
    const input = run(form.sql);
    expect(input.sql.parsed, input.sql.statements[0]?.error).toBe(true);
    expect(readTables(form.sql)).toEqual([...(form.reads as string[])].sort());
  });

  it.each(PATH_FORMS.map((f) => [f.label, f] as const))('%s: a path, no table of its own', (_label, form) => {
    // BigQuery refuses these (sales.orders has no such field); whatever the normalizer makes of
    // them, it must not invent a table the text does not name.
    expect(readTables(form.sql)).toEqual([...form.names!].sort());
  });

  it('every form is listed once', () => {
    expect(new Set(NAME_FORMS.map((f) => f.sql)).size).toBe(NAME_FORMS.length);
  });
});

describe('FROM names as GoogleSQL tokenizes them', () => {
  it.each(DIGIT_FORMS.map((f) => [f.label, f] as const))('%s: the part after the dot is a name, digits and all', (_label, form) => {
    const input = run(form.sql);
    expect(input.sql.parsed, input.sql.statements[0]?.error).toBe(true);
    expect(readTables(form.sql)).toEqual([...(form.reads as string[])].sort());
  });

  it.each(REFUSED_FORMS.map((f) => [f.label, f] as const))('%s: refused, and no table named for it', (_label, form) => {
    const input = run(form.sql);
    expect(input.sql.parsed).toBe(false);
    expect(readTables(form.sql)).toEqual([...form.names!].sort());
  });
});

describe('the token scan reads names the same way', () => {
  it('names the back-quoted table of a statement the parser does not read', () => {
    const [s] = run('CREATE TEMP VIEW t AS SELECT x.ssn FROM sales.orders AS crm, `crm.customers` AS x').sql.statements;
    expect(s!.parsed).toBe(false);
    expect(s!.tables.map((t) => `${t.id}:${t.mode}`)).toContain('acme-analytics.crm.customers:read');
  });

  it('still leaves an array path through an alias out', () => {
    const [s] = run('CREATE TEMP VIEW t AS SELECT x FROM sales.orders AS crm, crm.customers AS x').sql.statements;
    expect(s!.tables.map((t) => t.id)).not.toContain('acme-analytics.crm.customers');
  });
});

describe('column references through a back-quoted range variable', () => {
  it('`crm.customers`.ssn is the ssn of crm.customers, not a field of the alias crm', () => {
    const s = statement('SELECT `crm.customers`.ssn FROM sales.orders AS crm, `crm.customers`');
    expect(sources(output(s, 'ssn'))).toEqual([`${CUSTOMERS}:ssn`]);
  });

  it('`crm.customers`.* expands to the columns of crm.customers', () => {
    const s = statement('SELECT `crm.customers`.* FROM sales.orders AS crm, `crm.customers`', { schemas });
    expect(sources(output(s, 'ssn'))).toEqual([`${CUSTOMERS}:ssn`]);
    expect(s.outputs.every((o) => o.sources.every((src) => src.table === CUSTOMERS))).toBe(true);
  });

  it('a WITH name holding dots is not guessed between the WITH query and the table', () => {
    const [s] = run('WITH `crm.customers` AS (SELECT 1 AS ssn) SELECT ssn FROM `crm.customers`').sql.statements;
    expect(s!.parsed).toBe(false);
    expect(s!.tables.map((t) => t.id)).toContain(CUSTOMERS);
  });
});

/** A back-quoted name around `body`, written as it is (escapes and all). */
const bq = (body: string) => `\`${body}\``;

describe('escapes in a back-quoted name, as GoogleSQL decodes them', () => {
  it.each([
    ['octal', String.raw`s\163n`],
    ['hex', String.raw`s\x73n`],
    ['hex, capital X', String.raw`s\X73n`],
    ['\\u', String.raw`s\u0073n`],
    ['\\U', String.raw`s\U00000073n`],
    ['every character escaped', String.raw`\163\x73\u006e`],
  ])('%s: the name is ssn, for the lexer and for the tree alike', (_label, body) => {
    expect(unescapeQuoted(body).value).toBe('ssn');
    expect(lex(`SELECT ${bq(body)}`).tokens[1]).toMatchObject({ kind: 'quoted', text: 'ssn' });
    for (const sql of [`SELECT c.${bq(body)} FROM crm.customers c`, `SELECT ${bq(body)} FROM crm.customers c`]) {
      const s = statement(sql, { schemas });
      expect(s.parsed, s.error).toBe(true);
      expect(sources(output(s, 'ssn'))).toEqual([`${CUSTOMERS}:ssn`]);
    }
  });

  it('decodes each escape GoogleSQL lists, and a line break to LF', () => {
    const decoded = unescapeQuoted(String.raw`\a\b\f\n\r\t\v\\\?\"\'` + '\\`' + String.raw`\101\x41\X41\u0041\U0001F600\377` + '\r\n.\r.');
    expect(decoded.value).toBe('\x07\b\f\n\r\t\v\\?"\'`AAAA\u{1F600}\u00ff\n.\n.');
  });

  it.each([
    [String.raw`s\sn`, 'no escape'],
    [String.raw`s\16n`, 'two octal digits'],
    [String.raw`s\400n`, 'past \\377'],
    [String.raw`s\x7`, 'one hex digit'],
    [String.raw`s\u073n`, 'three hex digits'],
    [String.raw`s\uD800`, 'a surrogate'],
    [String.raw`s\U00110000`, 'past U+10FFFF'],
    ['s\\\n', 'an escaped line break'],
  ])('%s (%s) is no name BigQuery reads, and the statement is refused', (body) => {
    expect(unescapeQuoted(body).error).toBeDefined();
    const s = statement(`SELECT c.${bq(body)} FROM crm.customers c`, { schemas });
    expect(s.parsed).toBe(false);
  });

  it('a trailing backslash is an error', () => {
    expect(unescapeQuoted('s\\').error).toBeDefined();
  });

  it('a table name with escapes is that table, for the token scan and the tree alike', () => {
    for (const sql of [`SELECT c.ssn FROM crm.${bq(String.raw`cust\157mers`)} c`, `SELECT c.ssn FROM ${bq(String.raw`crm.cust\x6fmers`)} c`]) {
      const s = statement(sql, { schemas });
      expect(s.parsed, s.error).toBe(true);
      expect(s.tables.map((t) => t.id)).toEqual([CUSTOMERS]);
      expect(sources(output(s, 'ssn'))).toEqual([`${CUSTOMERS}:ssn`]);
    }
  });

  it('in a predicate, a computation and JOIN … USING the escaped name reads ssn', () => {
    const ssn = bq(String.raw`s\163n`);
    const where = statement(`SELECT id FROM crm.customers c WHERE c.${ssn} LIKE '123-45-%'`, { schemas });
    expect(predicates(where)).toEqual([`${CUSTOMERS}:ssn`]);
    const computed = statement(`SELECT REPLACE(c.${ssn}, '-', '') AS d FROM crm.customers c`, { schemas });
    expect(sources(output(computed, 'd'))).toEqual([`${CUSTOMERS}:ssn`]);
    const using = statement(`SELECT COUNT(*) AS n FROM crm.customers a JOIN crm.customers b USING (${ssn})`, { schemas });
    expect(predicates(using)).toEqual([`${CUSTOMERS}:ssn`]);
  });

  it('an escaped backslash or backquote stays one character of the name', () => {
    const s = statement(`SELECT id AS ${bq(String.raw`a\\163`)}, id AS ${bq('b\\`c')}, total AS ${bq(String.raw`\x5c\x60`)} FROM sales.orders`, { schemas });
    expect(s.outputs.map((o) => o.name)).toEqual(['a\\163', 'b`c', '\\`']);
    expect(sources(output(s, '\\`'))).toEqual([`${ORDERS}:total`]);
  });
});
