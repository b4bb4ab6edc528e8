// Table or path into a range variable, and path parts GoogleSQL tokenizes its own way (a leading
// digit, an unquoted `*`, a dash): the normalizer reads every name form as BigQuery does
// (test/support/name-forms.ts; the emulator check of the same table is test/gateway/name-forms.test.ts).
import { describe, expect, it } from 'vitest';
import { DIGIT_FORMS, NAME_FORMS, PATH_FORMS, REFUSED_FORMS, TABLE_FORMS } from '../support/name-forms.ts';
import { CUSTOMERS, output, readTables, run, schemas, sources, statement } from './support.ts';

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
