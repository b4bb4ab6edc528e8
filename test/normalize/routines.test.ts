// Routines in the SQL front end (engine/sql/gsql/routines.ts): a function, table function or
// procedure created in a dataset is a table ref of that dataset (`routine: true`, mode ddl), so the
// policy judges creating it as DDL there; its body's reads are recorded as read refs, and a table
// function's outputs are its query's columns with their lineage.
import { describe, expect, it } from 'vitest';
import type { Statement, TableRef } from '../../engine/schema-types.ts';
import { schemaCatalog } from '../../engine/sql/catalog.ts';
import { StatementContext } from '../../engine/sql/context.ts';
import { createProcedureStatement } from '../../engine/sql/gsql/routines.ts';
import { lex } from '../../engine/sql/lexer.ts';
import { CUSTOMERS, ORDERS, PROJECT, columns, predicates, run, schemas, statement, summary } from './support.ts';

const refs = (s: Statement) => s.tables.map((t) => `${t.id}:${t.mode}${t.routine === true ? ':routine' : ''}`);
const routineRef = (id: string): TableRef => {
  const [project, dataset, table] = id.split('.');
  return { id, project: project!, dataset: dataset!, table: table!, routine: true, mode: 'ddl' };
};

describe('CREATE TABLE FUNCTION', () => {
  it('defines a routine of its dataset (ddl) and reads what its query reads', () => {
    const s = statement('CREATE OR REPLACE TABLE FUNCTION sales.big(n INT64) AS (SELECT id, email FROM crm.customers WHERE id > n)', { schemas });
    expect(s.parsed, s.error).toBe(true);
    expect(s).toMatchObject({ type: 'CREATE_TABLE_FUNCTION', category: 'ddl' });
    expect(s.tables[0]).toEqual(routineRef(`${PROJECT}.sales.big`));
    expect(refs(s)).toEqual([`${PROJECT}.sales.big:ddl:routine`, `${CUSTOMERS}:read`]);
    expect(columns(s)).toEqual([`${CUSTOMERS}:email`, `${CUSTOMERS}:id`]);
    expect(predicates(s)).toEqual([`${CUSTOMERS}:id`]);
  });

  it("reports its query's columns, with their lineage, as what flows to its callers", () => {
    const s = statement('CREATE TABLE FUNCTION sales.f(n INT64) AS SELECT email, n AS threshold, UPPER(email) AS shout FROM crm.customers', { schemas });
    expect(s.parsed, s.error).toBe(true);
    expect(s.outputs.map(summary)).toEqual([
      { name: 'email', lineage: 'known', direct: true, sources: [`${CUSTOMERS}:email`] },
      { name: 'threshold', lineage: 'known', direct: false, sources: [] },
      { name: 'shout', lineage: 'known', direct: false, sources: [`${CUSTOMERS}:email`] },
    ]);
  });

  it('reads a parameter as a value; a column of a table in scope wins over it, as BigQuery reads it', () => {
    const s = statement('CREATE TABLE FUNCTION sales.f(id INT64) AS SELECT id FROM crm.customers', { schemas });
    expect(s.parsed, s.error).toBe(true);
    expect(s.outputs.map(summary)).toEqual([{ name: 'id', lineage: 'known', direct: true, sources: [`${CUSTOMERS}:id`] }]);
    const p = statement('CREATE TABLE FUNCTION sales.f(x ANY TYPE, y INT64) AS SELECT x, y', { schemas });
    expect(p.parsed, p.error).toBe(true);
    expect(p.outputs.map((o) => o.sources)).toEqual([[], []]);
  });

  it('accepts RETURNS TABLE naming the query columns in order, and OPTIONS', () => {
    const s = statement(
      "CREATE TABLE FUNCTION sales.f(n INT64) RETURNS TABLE<`id` INT64, tags ARRAY<STRUCT<a INT64, b STRING>>> OPTIONS (description = 'd') AS SELECT id, [STRUCT(1 AS a, 'x' AS b)] AS tags FROM sales.orders WHERE total > n",
      { schemas },
    );
    expect(s.parsed, s.error).toBe(true);
    expect(refs(s)).toEqual([`${PROJECT}.sales.f:ddl:routine`, `${ORDERS}:read`]);
    expect(s.outputs.map((o) => o.name)).toEqual(['id', 'tags']);
  });

  it('refuses a RETURNS TABLE that differs from the query, or a value table: the reading would be a guess', () => {
    const renamed = statement('CREATE TABLE FUNCTION sales.f() RETURNS TABLE<x INT64> AS SELECT id FROM sales.orders');
    expect(renamed.parsed).toBe(false);
    expect(renamed.error).toMatch(/^RETURNS TABLE<x> over a query whose columns are id is not analysed at 1:\d+$/);
    const value = statement('CREATE TABLE FUNCTION sales.f() RETURNS TABLE<INT64> AS SELECT AS VALUE 1');
    expect(value.parsed).toBe(false);
    expect(value.error).toMatch(/^RETURNS TABLE column without a name is not analysed/);
  });

  it('records the tables of the query of a routine the statement leaves unparsed, for the policy', () => {
    const s = statement('CREATE TABLE FUNCTION sales.f() RETURNS TABLE<x INT64> AS SELECT id FROM sales.orders');
    expect(refs(s)).toEqual([`${PROJECT}.sales.f:ddl:routine`, `${ORDERS}:read`]);
  });

  it('refuses a value-table parameter (ZetaSQL, not BigQuery) and a body in another language', () => {
    // A TABLE<name type, …> parameter is read (coverage-scripts.test.ts); TABLE<type> is not BigQuery's.
    expect(statement('CREATE TABLE FUNCTION sales.f(t TABLE<INT64>) AS SELECT 1 AS x FROM t').parsed).toBe(false);
    const js = statement("CREATE TABLE FUNCTION sales.f() RETURNS TABLE<x STRING> LANGUAGE js AS 'return 1'");
    expect(js.parsed).toBe(false);
    expect(js.error).toMatch(/LANGUAGE js is not analysed/);
  });

  it('leaves CREATE TEMP TABLE FUNCTION unparsed: BigQuery creates table functions only in a dataset', () => {
    const s = statement('CREATE TEMP TABLE FUNCTION f() AS SELECT id FROM sales.orders');
    expect(s).toMatchObject({ parsed: false, error: 'CREATE_TEMP_TABLE_FUNCTION statements are not parsed' });
  });

  it('leaves a call of a table function of a dataset refused: its body is not in the text', () => {
    const text = 'CREATE TABLE FUNCTION sales.f() AS SELECT id FROM sales.orders; SELECT * FROM sales.f()';
    const [create, call] = run(text).sql.statements;
    expect(create!.parsed, create!.error).toBe(true);
    expect(call!.parsed).toBe(false);
  });
});

describe('CREATE FUNCTION of a dataset', () => {
  it('leaves a call of a function of a dataset refused: its body, which may read any table, is not in the text', () => {
    // crm.email_of's body reads crm.customers.email; its call named no table and no column, and
    // was allowed with the email unmasked.
    for (const call of ['SELECT crm.email_of(1) AS e', 'SELECT SAFE.crm.email_of(1)', 'SELECT `acme-analytics`.crm.email_of(1)', 'SELECT `acme-analytics.crm.email_of`(1)', 'SELECT id, ds.sum(email) AS s FROM crm.customers GROUP BY ALL']) {
      const s = statement(call, { schemas });
      expect(s.parsed, call).toBe(false);
      expect(s.error, call).toMatch(/^call of the dataset's function [\w.`-]+ is not analysed/i);
    }
    // BigQuery's own namespaces are functions, not routines.
    expect(statement("SELECT NET.HOST('https://a.example'), SAFE.NET.HOST('x'), HLL_COUNT.EXTRACT(NULL), KEYS.NEW_KEYSET('AEAD_AES_GCM_256')").parsed).toBe(true);
  });

  it('defines a routine (ddl) and reads what its expression reads', () => {
    const s = statement('CREATE OR REPLACE FUNCTION crm.email_of(i INT64) AS ((SELECT email FROM crm.customers WHERE id = i))', { schemas });
    expect(s.parsed, s.error).toBe(true);
    expect(s).toMatchObject({ type: 'CREATE_FUNCTION', category: 'ddl', outputs: [] });
    expect(refs(s)).toEqual([`${PROJECT}.crm.email_of:ddl:routine`, `${CUSTOMERS}:read`]);
    expect(columns(s)).toEqual([`${CUSTOMERS}:email`, `${CUSTOMERS}:id`]);
  });

  it('reads its parameters as values; RETURNS, DETERMINISTIC and OPTIONS only describe', () => {
    const s = statement("CREATE FUNCTION `acme-analytics.sales.tax`(x NUMERIC) RETURNS NUMERIC NOT DETERMINISTIC AS (x * 1.2) OPTIONS (description = 'gross', a = b)");
    expect(s.parsed, s.error).toBe(true);
    expect(refs(s)).toEqual([`${PROJECT}.sales.tax:ddl:routine`]);
  });

  it('evaluates an OPTIONS value that reads a table', () => {
    const s = statement('CREATE FUNCTION sales.f() AS (1) OPTIONS (description = (SELECT MAX(email) FROM crm.customers))');
    expect(s.parsed, s.error).toBe(true);
    expect(refs(s)).toEqual([`${PROJECT}.sales.f:ddl:routine`, `${CUSTOMERS}:read`]);
  });

  it('gives a JavaScript body only its arguments', () => {
    const s = statement("CREATE FUNCTION sales.shout(s STRING) RETURNS STRING LANGUAGE js OPTIONS (library = ['gs://b/lib.js']) AS r'''return s.toUpperCase();'''");
    expect(s.parsed, s.error).toBe(true);
    expect(refs(s)).toEqual([`${PROJECT}.sales.shout:ddl:routine`]);
  });

  it('names the routine in its default dataset, or refuses it without one', () => {
    const s = statement('CREATE FUNCTION f() AS (1)', { defaultDataset: `${PROJECT}.sales` });
    expect(s.parsed, s.error).toBe(true);
    expect(refs(s)).toEqual([`${PROJECT}.sales.f:ddl:routine`]);
    const none = statement('CREATE FUNCTION f() AS (1)');
    expect(none).toMatchObject({ parsed: false, error: 'routine f has no dataset and no default dataset is set' });
  });

  it('keeps a temporary function script state, not a routine', () => {
    const [create, select] = run('CREATE TEMP FUNCTION f(x INT64) AS (x + 1); SELECT f(id) AS g FROM crm.customers', { schemas }).sql.statements;
    expect(create).toMatchObject({ parsed: true, tables: [] });
    expect(select!.parsed, select!.error).toBe(true);
    expect(select!.outputs.map(summary)).toEqual([{ name: 'g', lineage: 'known', direct: false, sources: [`${CUSTOMERS}:id`] }]);
    expect(statement('CREATE TEMP FUNCTION sales.f() AS (1)').parsed).toBe(false);
  });
});

describe('CREATE PROCEDURE', () => {
  /** The reader on its own. */
  const procedure = (text: string) => {
    const tokens = lex(text).tokens;
    const ctx = new StatementContext({ project: PROJECT, defaultDataset: undefined }, schemaCatalog(undefined));
    createProcedureStatement({ text, span: { tokens, start: tokens[0]!.start, end: tokens.at(-1)!.end, unterminatedBlock: false } }, ctx);
    return [...ctx.tables.values()].map((t) => `${t.id}:${t.mode}${t.routine === true ? ':routine' : ''}`);
  };

  it('defines the routine (ddl) and reads the tables its body names; temporary tables and WITH names are none', () => {
    const text = `CREATE OR REPLACE PROCEDURE sales.refresh(IN since DATE, OUT n INT64) OPTIONS (strict_mode = FALSE)
BEGIN
  DECLARE x INT64 DEFAULT (SELECT COUNT(*) FROM crm.customers);
  CREATE TEMP TABLE recent AS SELECT * FROM sales.orders;
  INSERT INTO sales.summary SELECT * FROM recent;
  WITH w AS (SELECT 1 AS a) SELECT * FROM w, UNNEST([1]) AS u;
  IF x > 0 THEN SET n = x; END IF;
END`;
    expect(procedure(text)).toEqual([`${PROJECT}.sales.refresh:ddl:routine`, `${CUSTOMERS}:read`, `${ORDERS}:read`, `${PROJECT}.sales.summary:read`]);
  });

  it('refuses what leaves the body\'s reads untold: EXECUTE IMMEDIATE, CALL, a table-valued function', () => {
    expect(() => procedure("CREATE PROCEDURE sales.p() BEGIN EXECUTE IMMEDIATE 'SELECT 1'; END")).toThrow(/^EXECUTE IMMEDIATE in a procedure body .* at line 1:34$/);
    expect(() => procedure('CREATE PROCEDURE sales.p() BEGIN CALL sales.q(); END')).toThrow(/^CALL in a procedure body/);
    expect(() => procedure('CREATE PROCEDURE sales.p() BEGIN SELECT * FROM sales.tvf(1); END')).toThrow(/sales\.tvf\(…\) in a table position/);
  });

  it('refuses a procedure in another language and an unqualified name without a default dataset', () => {
    expect(() => procedure("CREATE PROCEDURE sales.p() WITH CONNECTION `acme-analytics.us.spark` OPTIONS (engine = 'SPARK') LANGUAGE PYTHON AS r'''print(1)'''")).toThrow(/where BEGIN was expected/);
    expect(() => procedure('CREATE PROCEDURE p() BEGIN SELECT 1; END')).toThrow('routine p has no dataset and no default dataset is set');
  });

  it('is one statement, its body kept whole by the splitter, read through the normalizer; CALL stays unparsed', () => {
    const text = `CREATE PROCEDURE sales.p(IN x INT64)
BEGIN
  DECLARE n INT64;
  SET n = (SELECT COUNT(*) FROM crm.customers);
  IF n > x THEN
    SELECT memo FROM finance.ledger;
  END IF;
END;
SELECT 1 AS one`;
    const [create, after] = run(text).sql.statements;
    expect(create).toMatchObject({ type: 'CREATE_PROCEDURE', category: 'ddl', parsed: true, outputs: [] });
    expect(refs(create!)).toEqual([`${PROJECT}.sales.p:ddl:routine`, `${CUSTOMERS}:read`, `${PROJECT}.finance.ledger:read`]);
    expect(after).toMatchObject({ type: 'SELECT', parsed: true });
    expect(statement("CREATE PROCEDURE sales.p() BEGIN EXECUTE IMMEDIATE 'SELECT 1'; END")).toMatchObject({ parsed: false, error: expect.stringMatching(/^EXECUTE IMMEDIATE in a procedure body .* at 1:34$/) });
    expect(statement('CALL sales.p()')).toMatchObject({ parsed: false, error: 'CALL statements are not parsed' });
  });
});
