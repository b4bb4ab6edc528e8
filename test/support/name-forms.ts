// Every way of writing a name in a FROM position where BigQuery's analyzer decides between "a
// table" and "a path into a range variable in scope", and the spellings its tokenizer reads
// otherwise than other dialects (a path part that begins with a digit, an unquoted wildcard, a
// dash after the first part), with what BigQuery reads for each. The
// emulator embeds BigQuery's analyzer, so `reads` is checked against it (name-forms.test.ts), the
// normalizer is checked against `reads`, and the gateway tests send each form through the official
// clients. The agent is reporting-agent: it reads sales, sees crm.customers masked, and needs an
// approval for finance.
export const ORDERS = 'acme-analytics.sales.orders';
export const CUSTOMERS = 'acme-analytics.crm.customers';
export const LEDGER = 'acme-analytics.finance.ledger';
/**
 * A table whose name begins with a digit, as public datasets have them
 * (`bigquery-public-data.austin_311.311_service_requests`). It is not in the seed:
 * DIGIT_TABLE_DDL creates it before the forms run, with values of its own (QO0001, …).
 */
export const DIGIT_TABLE = 'acme-analytics.sales.2024_orders';
export const DIGIT_TABLE_DDL = "CREATE TABLE sales.`2024_orders` AS SELECT CONCAT('Q', order_id) AS order_id FROM sales.orders";

export interface NameForm {
  label: string;
  sql: string;
  /** The tables BigQuery reads, or 'invalid' when its analyzer refuses the text (nothing is read). */
  reads: readonly string[] | 'invalid';
  /** For an invalid text: the tables the normalizer names (those written as tables, never one invented from a path). */
  names?: readonly string[];
}

/** The tables whose `markers` (seeded values) show in a result, sorted. */
export function tablesSeenIn(rows: unknown, markers: Record<string, RegExp> = TABLE_MARKERS): string[] {
  const text = JSON.stringify(rows);
  return Object.entries(markers)
    .filter(([, marker]) => marker.test(text))
    .map(([table]) => table)
    .sort();
}

/** Seeded values (and DIGIT_TABLE's) that show which table a result came from. */
export const TABLE_MARKERS: Record<string, RegExp> = {
  [ORDERS]: /\bO00\d\d\b/,
  [CUSTOMERS]: /\b123-45-67\d\d\b/,
  [LEDGER]: /\b(payroll|rent|travel|software) posting \d+\b/,
  [DIGIT_TABLE]: /\bQO\d{4}\b/,
};

/** A back-quoted `dataset.table` (or `project.dataset.table`) is a table whatever aliases are in scope. */
export const TABLE_FORMS: readonly NameForm[] = [
  { label: 'JOIN `crm.customers` under an alias crm', sql: 'SELECT crm.order_id, x.ssn FROM sales.orders AS crm JOIN `crm.customers` AS x ON TRUE LIMIT 2', reads: [ORDERS, CUSTOMERS] },
  { label: 'comma join, the whole row as a value', sql: 'SELECT crm.order_id, TO_JSON_STRING(x) AS x FROM sales.orders AS crm, `crm.customers` AS x', reads: [ORDERS, CUSTOMERS] },
  { label: 'LEFT JOIN', sql: 'SELECT crm.order_id, x.ssn FROM sales.orders AS crm LEFT JOIN `crm.customers` AS x ON TRUE', reads: [ORDERS, CUSTOMERS] },
  { label: 'CROSS JOIN, x.*', sql: 'SELECT crm.order_id, x.* FROM sales.orders AS crm CROSS JOIN `crm.customers` AS x', reads: [ORDERS, CUSTOMERS] },
  {
    label: 'inside a CTE',
    sql: 'WITH leak AS (SELECT crm.order_id, x.ssn FROM sales.orders AS crm, `crm.customers` AS x) SELECT order_id, ssn FROM leak',
    reads: [ORDERS, CUSTOMERS],
  },
  { label: 'inside a FROM subquery', sql: 'SELECT order_id, ssn FROM (SELECT crm.order_id, x.ssn FROM sales.orders AS crm, `crm.customers` AS x)', reads: [ORDERS, CUSTOMERS] },
  {
    label: 'correlated scalar subquery',
    sql: 'SELECT crm.order_id, (SELECT x.ssn FROM `crm.customers` AS x ORDER BY x.customer_id LIMIT 1) AS ssn FROM sales.orders AS crm',
    reads: [ORDERS, CUSTOMERS],
  },
  { label: 'ARRAY subquery', sql: 'SELECT crm.order_id, ARRAY(SELECT ssn FROM `crm.customers`) AS ssns FROM sales.orders AS crm', reads: [ORDERS, CUSTOMERS] },
  { label: 'IN subquery in the select list', sql: "SELECT crm.order_id, '123-45-6701' IN (SELECT ssn FROM `crm.customers`) AS hit FROM sales.orders AS crm", reads: [ORDERS, CUSTOMERS] },
  { label: 'three-part back-quoted name', sql: 'SELECT crm.order_id, x.ssn FROM sales.orders AS crm, `acme-analytics.crm.customers` AS x', reads: [ORDERS, CUSTOMERS] },
  {
    label: 'alias named like the project',
    sql: 'SELECT p.order_id, x.ssn FROM sales.orders AS `acme-analytics`, sales.orders AS p, `acme-analytics.crm.customers` AS x',
    reads: [ORDERS, CUSTOMERS],
  },
  {
    label: 'no alias: the back-quoted name is its own range variable',
    sql: 'SELECT crm.order_id, `crm.customers`.ssn FROM sales.orders AS crm, `crm.customers`',
    reads: [ORDERS, CUSTOMERS],
  },
  { label: 'no alias, the range variable with .*', sql: 'SELECT crm.order_id, `crm.customers`.* FROM sales.orders AS crm, `crm.customers`', reads: [ORDERS, CUSTOMERS] },
  { label: 'upper-case alias (aliases ignore case; table names do not)', sql: 'SELECT CRM.order_id, x.ssn FROM sales.orders AS CRM, `crm.customers` AS x', reads: [ORDERS, CUSTOMERS] },
  { label: 'the table aliased as its dataset', sql: 'SELECT crm.ssn FROM `crm.customers` AS crm', reads: [CUSTOMERS] },
  { label: 'back-quoted project, then a back-quoted dataset.table', sql: 'SELECT x.ssn FROM `acme-analytics`.`crm.customers` AS x', reads: [CUSTOMERS] },
  { label: 'SELECT * of the join, read through a subquery', sql: 'SELECT t.order_id, t.ssn FROM (SELECT * FROM sales.orders AS crm, `crm.customers`) AS t', reads: [ORDERS, CUSTOMERS] },
  { label: 'finance under an alias finance', sql: 'SELECT finance.order_id, x.* FROM sales.orders AS finance, `finance.ledger` AS x', reads: [ORDERS, LEDGER] },
  { label: 'finance, correlated', sql: 'SELECT finance.order_id, (SELECT memo FROM `finance.ledger` LIMIT 1) AS memo FROM sales.orders AS finance', reads: [ORDERS, LEDGER] },
];

/** Identifiers written apart (`crm.customers`, `` `crm`.customers ``): a path into the range variable crm. */
export const PATH_FORMS: readonly NameForm[] = [
  { label: 'unquoted crm.customers under an alias crm', sql: 'SELECT x FROM sales.orders AS crm, crm.customers AS x', reads: 'invalid', names: [ORDERS] },
  { label: 'each part back-quoted', sql: 'SELECT x FROM sales.orders AS crm, `crm`.`customers` AS x', reads: 'invalid', names: [ORDERS] },
  { label: 'back-quoted alias, unquoted table', sql: 'SELECT x FROM sales.orders AS crm, `crm`.customers AS x', reads: 'invalid', names: [ORDERS] },
  { label: 'JOIN on a path', sql: 'SELECT x FROM sales.orders AS crm JOIN crm.customers AS x ON TRUE', reads: 'invalid', names: [ORDERS] },
  { label: 'alias named like the project, parts apart', sql: 'SELECT x FROM sales.orders AS `acme-analytics`, `acme-analytics`.crm.customers AS x', reads: 'invalid', names: [ORDERS] },
  {
    label: 'alias named like the project, then a back-quoted dataset.table',
    sql: 'SELECT x.ssn FROM sales.orders AS `acme-analytics`, `acme-analytics`.`crm.customers` AS x',
    reads: 'invalid',
    names: [ORDERS],
  },
  { label: 'a path through a WITH query used as a range variable', sql: 'WITH crm AS (SELECT 1 AS a) SELECT x FROM crm, crm.customers AS x', reads: 'invalid', names: [] },
  { label: 'UNNEST of a back-quoted dotted name', sql: 'SELECT c FROM sales.orders AS crm, UNNEST(`crm.customers`) AS c', reads: 'invalid', names: [ORDERS] },
  { label: 'UNNEST of a path', sql: 'SELECT c FROM sales.orders AS crm, UNNEST(crm.customers) AS c', reads: 'invalid', names: [ORDERS] },
  // Without AS, `crm.customers` defines the range variable `crm.customers`, not `customers`.
  { label: 'the last part of a back-quoted name is no range variable', sql: 'SELECT customers.ssn FROM `crm.customers`', reads: 'invalid', names: [CUSTOMERS] },
  { label: 'a column path through the alias crm', sql: 'SELECT crm.customers.ssn FROM sales.orders AS crm, `crm.customers`', reads: 'invalid', names: [ORDERS, CUSTOMERS] },
];

/** After a dot, an unquoted path part may begin with a digit: `sales.2024_orders` is that table. */
export const DIGIT_FORMS: readonly NameForm[] = [
  { label: 'a table name that begins with a digit', sql: 'SELECT order_id FROM sales.2024_orders LIMIT 2', reads: [DIGIT_TABLE] },
  { label: 'the same under a dashed project', sql: 'SELECT order_id FROM acme-analytics.sales.2024_orders LIMIT 2', reads: [DIGIT_TABLE] },
  { label: 'a space before the dot', sql: 'SELECT order_id FROM sales .2024_orders LIMIT 2', reads: [DIGIT_TABLE] },
  { label: 'after a back-quoted dataset', sql: 'SELECT order_id FROM `sales`.2024_orders LIMIT 2', reads: [DIGIT_TABLE] },
  {
    label: 'next to the table it was copied from',
    sql: 'SELECT q.order_id, o.order_id AS o_id FROM sales.2024_orders AS q, sales.orders AS o LIMIT 2',
    reads: [DIGIT_TABLE, ORDERS],
  },
];

/**
 * Spellings BigQuery's parser refuses, so that no table is read: an unquoted wildcard (it must be
 * back-quoted), a dash after the first part of a path, a path ending in a dot. The normalizer
 * names none of them, not even the nearest valid name.
 */
export const REFUSED_FORMS: readonly NameForm[] = [
  { label: 'an unquoted wildcard', sql: 'SELECT order_id FROM sales.orders*', reads: 'invalid', names: [] },
  { label: 'an unquoted wildcard, a space before the star', sql: 'SELECT order_id FROM sales.orders *', reads: 'invalid', names: [] },
  { label: 'an unquoted wildcard next to a table', sql: 'SELECT c.ssn FROM crm.customers AS c, sales.orders* LIMIT 1', reads: 'invalid', names: [CUSTOMERS] },
  { label: 'a dataset and a star', sql: 'SELECT order_id FROM sales.*', reads: 'invalid', names: [] },
  { label: 'a dash after the dataset', sql: 'SELECT order_id FROM sales.orders-2024', reads: 'invalid', names: [] },
  { label: 'a dashed project part that is no number', sql: 'SELECT order_id FROM acme-analytics-1x.sales.orders', reads: 'invalid', names: [] },
];

export const NAME_FORMS: readonly NameForm[] = [...TABLE_FORMS, ...PATH_FORMS, ...DIGIT_FORMS, ...REFUSED_FORMS];

/**
 * Forms the emulator does not serve as BigQuery does (time travel, a back-quoted project.dataset
 * prefix), a wildcard over the table, and a WITH name spelled like the table: not checked against
 * the emulator, but through the gateway they are masked or refused all the same.
 */
export const GATEWAY_FORMS: readonly NameForm[] = [
  {
    label: 'FOR SYSTEM_TIME AS OF',
    sql: 'SELECT crm.order_id, x.ssn FROM sales.orders AS crm, `crm.customers` AS x FOR SYSTEM_TIME AS OF CURRENT_TIMESTAMP()',
    reads: [ORDERS, CUSTOMERS],
  },
  { label: 'back-quoted project.dataset, then the table', sql: 'SELECT crm.order_id, x.ssn FROM sales.orders AS crm, `acme-analytics.crm`.customers AS x', reads: [ORDERS, CUSTOMERS] },
  { label: 'a wildcard over crm', sql: 'SELECT crm.order_id, x.ssn FROM sales.orders AS crm, `crm.custom*` AS x', reads: [ORDERS, CUSTOMERS] },
  { label: 'a WITH name spelled like the table', sql: "WITH `crm.customers` AS (SELECT 'none' AS ssn) SELECT crm.order_id, c.ssn FROM sales.orders AS crm, `crm.customers` AS c", reads: [ORDERS] },
];
