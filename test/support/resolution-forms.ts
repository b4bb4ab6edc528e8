// Name classes name-forms.ts does not cover: the request's default dataset, INFORMATION_SCHEMA
// views, wildcard tables, and paths into a row (struct fields, correlated array paths) next to
// tables and WITH names spelled like them. Each form says what BigQuery reads. Where the emulator
// (goccy's bigquery-emulator, which embeds ZetaSQL's analyzer) answers as BigQuery does, that is
// checked against it (test/gateway/name-resolution.test.ts); where it cannot, `emulator` says why
// and which BigQuery documentation `reads` rests on. The normalizer is checked against `names`
// (default: `reads`) for every form.
import { CUSTOMERS, LEDGER, ORDERS, TABLE_MARKERS } from './name-forms.ts';

export { CUSTOMERS, LEDGER, ORDERS };

/** Tables the forms read besides the seed's; RESOLUTION_TABLES_DDL creates them, each with values of its own. */
export const CRM_ORDERS = 'acme-analytics.crm.orders';
export const ORDERS_2024 = 'acme-analytics.sales.orders_2024';
export const ORDERS_2025 = 'acme-analytics.sales.orders_2025';
/** customer_id, tags ARRAY<STRING>, address STRUCT (copied from crm.customers, no SSN), items ARRAY<STRUCT<sku, qty>>. */
export const PROFILES = 'acme-analytics.crm.profiles';
/** customer_id, a column `sales` STRUCT<orders ARRAY<STRING>, region STRING> and a column `crm`: columns named like datasets. */
export const ACCOUNTS = 'acme-analytics.crm.accounts';
/** A table in a project the emulator does not hold (the default dataset in another project). */
export const OTHER_CRM_ORDERS = 'other-proj.crm.orders';

export const ORDERS_WILDCARD = 'acme-analytics.sales.orders_*';
export const CUST_WILDCARD = 'acme-analytics.crm.cust*';

export const RESOLUTION_TABLES_DDL: readonly string[] = [
  "CREATE TABLE crm.orders AS SELECT CONCAT('R', order_id) AS order_id FROM sales.orders",
  "CREATE TABLE sales.orders_2024 AS SELECT CONCAT('W', order_id) AS order_id FROM sales.orders",
  "CREATE TABLE sales.orders_2025 AS SELECT CONCAT('V', order_id) AS order_id FROM sales.orders",
  "CREATE TABLE crm.profiles AS SELECT customer_id, ['tag-' || customer_id, 'vip'] AS tags, address, [STRUCT(CONCAT('K', customer_id) AS sku, 1 AS qty)] AS items FROM crm.customers",
  "CREATE TABLE crm.accounts AS SELECT customer_id, STRUCT([CONCAT('A', customer_id)] AS orders, CONCAT('A', customer_id) AS region) AS sales, CONCAT('A', customer_id) AS crm FROM crm.customers",
];

/** Values that show which table a result came from (the seed's, and those RESOLUTION_TABLES_DDL writes). */
export const RESOLUTION_MARKERS: Record<string, RegExp> = {
  ...TABLE_MARKERS,
  [CRM_ORDERS]: /\bRO00\d\d\b/,
  [ORDERS_2024]: /\bWO00\d\d\b/,
  [ORDERS_2025]: /\bVO00\d\d\b/,
  [PROFILES]: /\b(KC0\d\d|tag-C0\d\d)\b/,
  [ACCOUNTS]: /\bAC0\d\d\b/,
};

/** Why the emulator cannot answer a form as BigQuery does, and the documentation `reads` rests on instead. */
export interface NotEmulated {
  why: string;
  docs: string;
}

export interface ResolutionForm {
  label: string;
  sql: string;
  /** The request's default dataset (`dataset` or `project.dataset`), as jobs.query's `defaultDataset` carries it. */
  defaultDataset?: string;
  /** The concrete tables BigQuery reads, or 'invalid' when it refuses the text (nothing is read). */
  reads: readonly string[] | 'invalid';
  /**
   * The ids the normalizer must name, when they are not `reads`: a wildcard (which covers the
   * tables read), or for an invalid text the tables written as tables (never one made up from a path).
   */
  names?: readonly string[];
  /** A valid form's rows in the emulator match this (INFORMATION_SCHEMA: the scope's table names). */
  shows?: RegExp;
  /** The emulator refuses it in its parser (a spelling, not a missing table). */
  syntax?: true;
  /** Set when the emulator cannot answer this form as BigQuery does: not sent to it. */
  emulator?: NotEmulated;
}

const DOCS = {
  defaultDataset:
    'https://pub.dev/documentation/googleapis/12.0.0/bigquery_v2/JobConfigurationQuery/defaultDataset.html ("Specifies the default dataset to use for unqualified table names in the query. Note that this does not alter behavior of unqualified dataset names."); https://hexdocs.pm/google_api_big_query/0.0.1/GoogleApi.BigQuery.V2.Model.QueryRequest.html (QueryRequest.defaultDataset: "If not set, all table names in the query string must be qualified in the format \'datasetId.tableId\'")',
  informationSchema:
    'https://cloud.google.com/bigquery/docs/information-schema-intro ("An INFORMATION_SCHEMA view needs to be qualified with a dataset or region"; region qualifier `region-REGION`, e.g. `region-us.INFORMATION_SCHEMA.SCHEMATA`; project qualifier `myProject.`region-us`.INFORMATION_SCHEMA.TABLES`; "For *BY_PROJECT views, the BY_PROJECT suffix is optional")',
  jobs: 'https://docs.cloud.google.com/bigquery/docs/information-schema-jobs ("The view names INFORMATION_SCHEMA.JOBS and INFORMATION_SCHEMA.JOBS_BY_PROJECT are synonymous and can be used interchangeably")',
  wildcard:
    'https://cloud.google.com/bigquery/docs/wildcard-tables ("the wildcard expression gsod* to match all tables in the noaa_gsod dataset that begin with the string gsod", written `bigquery-public-data.noaa_gsod.gsod*` in one pair of backquotes)',
};

/** goccy's emulator takes no notice of defaultDataset: a bare name is looked up by table name in every dataset. */
const IGNORES_DEFAULT_DATASET: NotEmulated = {
  why: 'the emulator ignores the request\'s defaultDataset and resolves a bare table name to any dataset holding that name (checked in name-resolution.test.ts: with defaultDataset crm it reads sales.orders for `orders`); it also holds no project but acme-analytics',
  docs: DOCS.defaultDataset,
};

/**
 * The request's default dataset (jobs.query `defaultDataset`, the clients' `defaultDataset` option).
 * The emulator ignores it (IGNORES_DEFAULT_DATASET) but finds a bare name in whichever dataset
 * holds it: `customers`, held by crm alone, lands where BigQuery's default dataset crm puts it, so
 * the forms on `customers` are checked against the emulator (which of a WITH name and a table a
 * bare name is, its analyzer decides as BigQuery's does). `orders` is in sales and crm: those forms
 * rest on the documentation.
 */
export const DEFAULT_DATASET_FORMS: readonly ResolutionForm[] = [
  { label: 'a bare name is the default dataset\'s table', sql: 'SELECT order_id FROM orders LIMIT 2', defaultDataset: 'crm', reads: [CRM_ORDERS], emulator: IGNORES_DEFAULT_DATASET },
  { label: 'a bare back-quoted name too', sql: 'SELECT order_id FROM `orders` LIMIT 2', defaultDataset: 'crm', reads: [CRM_ORDERS], emulator: IGNORES_DEFAULT_DATASET },
  { label: 'the same bare name under another default dataset', sql: 'SELECT order_id FROM orders LIMIT 2', defaultDataset: 'sales', reads: [ORDERS], emulator: IGNORES_DEFAULT_DATASET },
  { label: 'a bare name held by one dataset', sql: 'SELECT ssn FROM customers LIMIT 2', defaultDataset: 'crm', reads: [CUSTOMERS] },
  {
    label: 'dataset.table is the job project\'s dataset whatever the default dataset',
    sql: 'SELECT order_id FROM sales.orders LIMIT 2',
    defaultDataset: 'crm',
    reads: [ORDERS],
  },
  { label: 'a default dataset in another project: a bare name is that project\'s', sql: 'SELECT order_id FROM orders LIMIT 2', defaultDataset: 'other-proj.crm', reads: [OTHER_CRM_ORDERS], emulator: IGNORES_DEFAULT_DATASET },
  {
    label: 'a default dataset in another project: dataset.table stays in the job\'s project',
    sql: 'SELECT order_id FROM sales.orders LIMIT 2',
    defaultDataset: 'other-proj.crm',
    reads: [ORDERS],
  },
  {
    label: 'a bare name next to a qualified one',
    sql: 'SELECT c.ssn, o.order_id FROM customers AS c JOIN sales.orders AS o ON c.customer_id = o.customer_id',
    defaultDataset: 'crm',
    reads: [CUSTOMERS, ORDERS],
  },
  {
    label: 'a range variable named like a default-dataset table: the bare name in FROM is the table',
    sql: 'SELECT customers.order_id, o.ssn FROM sales.orders AS customers, customers AS o LIMIT 2',
    defaultDataset: 'crm',
    reads: [ORDERS, CUSTOMERS],
  },
  { label: 'a bare wildcard in the default dataset', sql: 'SELECT order_id FROM `orders_*`', defaultDataset: 'sales', reads: [ORDERS_2024, ORDERS_2025], names: [ORDERS_WILDCARD], emulator: IGNORES_DEFAULT_DATASET },
  {
    label: 'a WITH name like a default-dataset table is the WITH query',
    sql: "WITH customers AS (SELECT 'none' AS ssn) SELECT ssn FROM customers",
    defaultDataset: 'crm',
    reads: [],
    shows: /"none"/,
  },
  {
    label: 'the table behind a WITH name of its own name, qualified',
    sql: "WITH orders AS (SELECT 'cte' AS order_id) SELECT order_id FROM crm.orders LIMIT 2",
    defaultDataset: 'crm',
    reads: [CRM_ORDERS],
  },
  {
    label: 'a WITH query reading the table it is named like',
    sql: 'WITH customers AS (SELECT ssn FROM customers) SELECT ssn FROM customers LIMIT 2',
    defaultDataset: 'crm',
    reads: [CUSTOMERS],
  },
  {
    label: 'an earlier WITH query naming a later WITH name reads the table',
    sql: "WITH a AS (SELECT ssn FROM customers), customers AS (SELECT 'none' AS ssn) SELECT ssn FROM a LIMIT 2",
    defaultDataset: 'crm',
    reads: [CUSTOMERS],
  },
  {
    // WITH RECURSIVE puts every WITH name in scope of every WITH query: BigQuery reads no table.
    label: 'WITH RECURSIVE: an earlier WITH query naming a later WITH name reads that WITH query',
    sql: "WITH RECURSIVE a AS (SELECT ssn FROM customers), customers AS (SELECT 'none' AS ssn) SELECT ssn FROM a LIMIT 2",
    defaultDataset: 'crm',
    reads: [],
    shows: /"none"/,
  },
  {
    label: 'WITH RECURSIVE: a WITH name like a table, read by itself',
    sql: "WITH RECURSIVE customers AS (SELECT 'none' AS ssn UNION ALL SELECT ssn FROM customers WHERE FALSE) SELECT ssn FROM customers",
    defaultDataset: 'crm',
    reads: [],
    shows: /"none"/,
  },
  {
    label: 'a WITH name in one scalar subquery, the bare name in the next',
    sql: "SELECT (WITH customers AS (SELECT 'none' AS ssn) SELECT ssn FROM customers) AS a, (SELECT ssn FROM customers LIMIT 1) AS b",
    defaultDataset: 'crm',
    reads: [CUSTOMERS],
  },
  {
    label: 'a WITH name inside a WITH query, the bare name outside it',
    sql: "WITH a AS (WITH customers AS (SELECT 'none' AS ssn) SELECT ssn FROM customers) SELECT a.ssn, c.ssn AS c FROM a, customers AS c LIMIT 2",
    defaultDataset: 'crm',
    reads: [CUSTOMERS],
  },
  {
    label: 'a WITH name for the whole query reaches a scalar subquery',
    sql: "WITH customers AS (SELECT 'none' AS ssn) SELECT (SELECT ssn FROM customers) AS a",
    defaultDataset: 'crm',
    reads: [],
    shows: /"none"/,
  },
  {
    // Refused: a non-recursive term is required. The normalizer refuses it too (its base term names
    // the query being read), and its token scan reads the name as the WITH query's.
    label: 'WITH RECURSIVE: a WITH query that only reads its own name',
    sql: 'WITH RECURSIVE customers AS (SELECT ssn FROM customers) SELECT ssn FROM customers LIMIT 2',
    defaultDataset: 'crm',
    reads: 'invalid',
    names: [],
  },
  { label: 'a bare name with no default dataset', sql: 'SELECT order_id FROM orders LIMIT 2', reads: 'invalid', names: [], emulator: IGNORES_DEFAULT_DATASET },
  { label: 'a bare name with no default dataset, next to a qualified one', sql: 'SELECT o.order_id FROM sales.orders AS o, customers AS c', reads: 'invalid', names: [ORDERS], emulator: IGNORES_DEFAULT_DATASET },
];

const IS_SALES_TABLES = 'acme-analytics.sales.information_schema.tables';
const IS_CRM_COLUMNS = 'acme-analytics.crm.information_schema.columns';
const IS_CRM_TABLES = 'acme-analytics.crm.information_schema.tables';
const IS_JOBS_US = 'acme-analytics.region-us.information_schema.jobs';
const IS_JOBS_BY_PROJECT_US = 'acme-analytics.region-us.information_schema.jobs'; // JOBS_BY_PROJECT is JOBS

/** The emulator serves dataset-qualified TABLES and COLUMNS, but no region-qualified view (JOBS, …). */
const NO_REGION_VIEWS: NotEmulated = { why: 'the emulator has no region-qualified INFORMATION_SCHEMA views: "Table not found: `region-us`.INFORMATION_SCHEMA.JOBS"', docs: DOCS.informationSchema };

/**
 * INFORMATION_SCHEMA views. The normalizer gives a view the id
 * `<project>.<scope>.information_schema.<view>` (engine/sql/tables.ts): the scope is a dataset or
 * a `region-…` qualifier, the project the job's unless written.
 */
export const INFORMATION_SCHEMA_FORMS: readonly ResolutionForm[] = [
  { label: 'dataset-qualified TABLES', sql: 'SELECT table_name FROM sales.INFORMATION_SCHEMA.TABLES', reads: [IS_SALES_TABLES], shows: /"orders_2024"/ },
  { label: 'dataset-qualified, lower case', sql: 'SELECT table_name FROM sales.information_schema.tables', reads: [IS_SALES_TABLES], shows: /"orders_2024"/ },
  { label: 'dataset-qualified, mixed case', sql: 'SELECT table_name FROM sales.Information_Schema.Tables', reads: [IS_SALES_TABLES], shows: /"orders_2024"/ },
  { label: 'dataset-qualified, one back-quoted name', sql: 'SELECT table_name FROM `sales.INFORMATION_SCHEMA.TABLES`', reads: [IS_SALES_TABLES], shows: /"orders_2024"/ },
  { label: 'project-qualified, back-quoted project', sql: 'SELECT table_name FROM `acme-analytics`.sales.INFORMATION_SCHEMA.TABLES', reads: [IS_SALES_TABLES], shows: /"orders_2024"/ },
  { label: 'project-qualified, every part back-quoted', sql: 'SELECT table_name FROM `acme-analytics`.`sales`.INFORMATION_SCHEMA.`TABLES`', reads: [IS_SALES_TABLES], shows: /"orders_2024"/ },
  { label: 'project-qualified, one back-quoted name', sql: 'SELECT table_name FROM `acme-analytics.sales.INFORMATION_SCHEMA.TABLES`', reads: [IS_SALES_TABLES], shows: /"orders_2024"/ },
  { label: 'dataset-qualified COLUMNS', sql: 'SELECT table_name, column_name FROM crm.INFORMATION_SCHEMA.COLUMNS', reads: [IS_CRM_COLUMNS], shows: /"customers"/ },
  {
    label: 'back-quoted project.dataset, then COLUMNS',
    sql: 'SELECT table_name, column_name FROM `acme-analytics.crm`.INFORMATION_SCHEMA.COLUMNS',
    reads: [IS_CRM_COLUMNS],
    emulator: { why: 'the emulator matches INFORMATION_SCHEMA paths by shape and refuses this one ("Table not found: `acme-analytics.crm`.INFORMATION_SCHEMA.COLUMNS"), where BigQuery reads a back-quoted `project.dataset` as the two parts it holds', docs: DOCS.informationSchema },
  },
  {
    label: 'a dataset default: unqualified TABLES',
    sql: 'SELECT table_name FROM INFORMATION_SCHEMA.TABLES',
    defaultDataset: 'crm',
    reads: [IS_CRM_TABLES],
    emulator: { why: 'the emulator ignores defaultDataset (see DEFAULT_DATASET_FORMS); BigQuery documents only dataset- or region-qualified views, so it may refuse this text: either way the normalizer names no other view', docs: DOCS.informationSchema },
  },
  { label: 'region-qualified JOBS, back-quoted region', sql: 'SELECT job_id FROM `region-us`.INFORMATION_SCHEMA.JOBS', reads: [IS_JOBS_US], emulator: NO_REGION_VIEWS },
  { label: 'region-qualified JOBS, unquoted region', sql: 'SELECT job_id FROM region-us.INFORMATION_SCHEMA.JOBS', reads: [IS_JOBS_US], emulator: NO_REGION_VIEWS },
  { label: 'region-qualified JOBS, lower case', sql: 'SELECT job_id FROM `region-us`.information_schema.jobs', reads: [IS_JOBS_US], emulator: NO_REGION_VIEWS },
  { label: 'project- and region-qualified JOBS', sql: 'SELECT job_id FROM `acme-analytics`.`region-us`.INFORMATION_SCHEMA.JOBS', reads: [IS_JOBS_US], emulator: NO_REGION_VIEWS },
  { label: 'project.region back-quoted together', sql: 'SELECT job_id FROM `acme-analytics.region-us`.INFORMATION_SCHEMA.JOBS', reads: [IS_JOBS_US], emulator: NO_REGION_VIEWS },
  {
    label: 'project- and region-qualified JOBS_BY_PROJECT',
    sql: 'SELECT job_id FROM `acme-analytics`.`region-us`.INFORMATION_SCHEMA.JOBS_BY_PROJECT',
    reads: [IS_JOBS_BY_PROJECT_US],
    emulator: NO_REGION_VIEWS,
  },
  { label: 'another project\'s JOBS', sql: 'SELECT job_id FROM `other-proj`.`region-us`.INFORMATION_SCHEMA.JOBS', reads: ['other-proj.region-us.information_schema.jobs'], emulator: NO_REGION_VIEWS },
  // A dash after the first part must be back-quoted (name-forms.ts REFUSED_FORMS): refused by the parser.
  { label: 'an unquoted dashed region after a project', sql: 'SELECT job_id FROM acme-analytics.region-us.INFORMATION_SCHEMA.JOBS', reads: 'invalid', names: [], syntax: true },
  { label: 'INFORMATION_SCHEMA without a view', sql: 'SELECT * FROM sales.INFORMATION_SCHEMA', reads: 'invalid', names: [] },
];

/**
 * Spellings of one view, each group one view: the normalizer gives every spelling of a group one
 * id, and different groups different ids. JOBS and JOBS_BY_PROJECT are one view (DOCS.jobs), and
 * get one id too: INFORMATION_SCHEMA_SYNONYMS.
 */
export const VIEW_SPELLINGS: readonly { view: string; spellings: readonly { sql: string; defaultDataset?: string }[] }[] = [
  {
    view: IS_SALES_TABLES,
    spellings: [
      { sql: 'SELECT * FROM sales.INFORMATION_SCHEMA.TABLES' },
      { sql: 'SELECT * FROM sales.information_schema.tables' },
      { sql: 'SELECT * FROM `sales`.INFORMATION_SCHEMA.`TABLES`' },
      { sql: 'SELECT * FROM `sales.INFORMATION_SCHEMA`.TABLES' },
      { sql: 'SELECT * FROM acme-analytics.sales.INFORMATION_SCHEMA.TABLES' },
      { sql: 'SELECT * FROM `acme-analytics.sales`.INFORMATION_SCHEMA.TABLES' },
      { sql: 'SELECT * FROM INFORMATION_SCHEMA.TABLES', defaultDataset: 'sales' },
    ],
  },
  { view: 'acme-analytics.sales.information_schema.columns', spellings: [{ sql: 'SELECT * FROM sales.INFORMATION_SCHEMA.COLUMNS' }, { sql: 'SELECT * FROM `sales.information_schema.columns`' }] },
  { view: IS_CRM_TABLES, spellings: [{ sql: 'SELECT * FROM crm.INFORMATION_SCHEMA.TABLES' }, { sql: 'SELECT * FROM INFORMATION_SCHEMA.TABLES', defaultDataset: 'acme-analytics.crm' }] },
  {
    view: IS_JOBS_US,
    spellings: [
      { sql: 'SELECT * FROM `region-us`.INFORMATION_SCHEMA.JOBS' },
      { sql: 'SELECT * FROM region-us.INFORMATION_SCHEMA.JOBS' },
      { sql: 'SELECT * FROM `region-us.INFORMATION_SCHEMA.JOBS`' },
      { sql: 'SELECT * FROM `acme-analytics`.`region-us`.INFORMATION_SCHEMA.jobs' },
      { sql: 'SELECT * FROM `acme-analytics.region-us.INFORMATION_SCHEMA.JOBS`' },
    ],
  },
  { view: 'acme-analytics.region-eu.information_schema.jobs', spellings: [{ sql: 'SELECT * FROM `region-eu`.INFORMATION_SCHEMA.JOBS' }] },
  { view: 'other-proj.region-us.information_schema.jobs', spellings: [{ sql: 'SELECT * FROM `other-proj`.`region-us`.INFORMATION_SCHEMA.JOBS' }] },
];

/** One view written with and without its optional BY_PROJECT suffix (DOCS.jobs): a known divergence. */
export const INFORMATION_SCHEMA_SYNONYMS: readonly (readonly string[])[] = [
  ['SELECT * FROM `region-us`.INFORMATION_SCHEMA.JOBS', 'SELECT * FROM `region-us`.INFORMATION_SCHEMA.JOBS_BY_PROJECT'],
  ['SELECT * FROM `region-us`.INFORMATION_SCHEMA.JOBS_TIMELINE', 'SELECT * FROM `region-us`.INFORMATION_SCHEMA.JOBS_TIMELINE_BY_PROJECT'],
];

/** The emulator's query formatter cannot run a wildcard whose parts are back-quoted apart, nor one matching a table with an empty suffix. */
const WILDCARD_FORMATTER: NotEmulated = {
  why: 'the emulator\'s analyzer accepts it, then its query formatter fails ("failed to find table suffix from acme-analytics.sales.orders_2025"): it only runs a wildcard written in one pair of backquotes (or `p.ds`.`t*`), with a non-empty suffix',
  docs: DOCS.wildcard,
};

/**
 * Wildcard tables. BigQuery reads every table the prefix matches (filtered by _TABLE_SUFFIX at
 * run time); the normalizer names the wildcard, which must cover every table read
 * (coversTable, engine/sql/tables.ts). The policy denies a wildcard that data does not list by
 * its own name (`unknown_table`, rego/README.md), so one that also matches a sensitive table is refused.
 */
export const WILDCARD_FORMS: readonly ResolutionForm[] = [
  { label: 'dataset-qualified wildcard', sql: 'SELECT order_id FROM `sales.orders_*`', reads: [ORDERS_2024, ORDERS_2025], names: [ORDERS_WILDCARD] },
  {
    label: 'a _TABLE_SUFFIX filter reads one of them, the wildcard still names both',
    sql: "SELECT order_id, _TABLE_SUFFIX AS suffix FROM `sales.orders_*` WHERE _TABLE_SUFFIX = '2025'",
    reads: [ORDERS_2025],
    names: [ORDERS_WILDCARD],
  },
  {
    label: 'a _TABLE_SUFFIX filter through an alias',
    sql: "SELECT o.order_id FROM `sales.orders_*` AS o WHERE o._TABLE_SUFFIX > '2024'",
    reads: [ORDERS_2025],
    names: [ORDERS_WILDCARD],
  },
  { label: 'project-qualified, one pair of backquotes', sql: 'SELECT order_id FROM `acme-analytics.sales.orders_*`', reads: [ORDERS_2024, ORDERS_2025], names: [ORDERS_WILDCARD] },
  { label: 'back-quoted project.dataset, then a back-quoted wildcard', sql: 'SELECT order_id FROM `acme-analytics.sales`.`orders_*`', reads: [ORDERS_2024, ORDERS_2025], names: [ORDERS_WILDCARD] },
  {
    label: 'each part back-quoted apart',
    sql: 'SELECT order_id FROM `acme-analytics`.sales.`orders_*`',
    reads: [ORDERS_2024, ORDERS_2025],
    names: [ORDERS_WILDCARD],
    emulator: WILDCARD_FORMATTER,
  },
  { label: 'unquoted dataset, back-quoted wildcard', sql: 'SELECT order_id FROM sales.`orders_*`', reads: [ORDERS_2024, ORDERS_2025], names: [ORDERS_WILDCARD], emulator: WILDCARD_FORMATTER },
  { label: 'a wildcard that matches crm.customers', sql: 'SELECT ssn FROM `crm.cust*` LIMIT 2', reads: [CUSTOMERS], names: [CUST_WILDCARD] },
  {
    label: 'a one-letter prefix, filtered to crm.customers',
    sql: "SELECT ssn, _TABLE_SUFFIX AS suffix FROM `acme-analytics.crm.c*` WHERE _TABLE_SUFFIX = 'ustomers' LIMIT 2",
    reads: [CUSTOMERS],
    names: ['acme-analytics.crm.c*'],
  },
  {
    label: 'a wildcard over crm.customers, parts back-quoted apart',
    sql: 'SELECT ssn FROM `acme-analytics`.crm.`cust*` LIMIT 2',
    reads: [CUSTOMERS],
    names: [CUST_WILDCARD],
    emulator: WILDCARD_FORMATTER,
  },
  {
    // Whether `customers*` matches `customers` itself (an empty suffix) the documentation does not
    // say; the wildcard the normalizer names covers it either way.
    label: 'the whole table name, then a star',
    sql: 'SELECT ssn FROM `crm.customers*` LIMIT 2',
    reads: [CUSTOMERS],
    names: ['acme-analytics.crm.customers*'],
    emulator: WILDCARD_FORMATTER,
  },
  { label: 'a wildcard with an array path through its alias', sql: 'SELECT t FROM `crm.prof*` AS p, p.tags AS t LIMIT 3', reads: [PROFILES], names: ['acme-analytics.crm.prof*'] },
  { label: 'a star in the dataset', sql: 'SELECT ssn FROM `crm*.customers`', reads: 'invalid', names: [] },
  { label: 'a wildcard row with a struct as a FROM path', sql: 'SELECT a FROM `crm.cust*` AS c, c.address AS a', reads: 'invalid', names: [CUST_WILDCARD] },
];

/** Paths into a row (struct fields, correlated arrays) next to tables, columns and WITH names spelled alike. */
export const PATH_RESOLUTION_FORMS: readonly ResolutionForm[] = [
  { label: 'a struct column as a FROM path', sql: 'SELECT a FROM crm.customers AS c, c.address AS a', reads: 'invalid', names: [CUSTOMERS] },
  { label: 'a correlated array path', sql: 'SELECT t FROM crm.profiles AS p, p.tags AS t LIMIT 3', reads: [PROFILES] },
  { label: 'UNNEST of a correlated array', sql: 'SELECT t FROM crm.profiles AS p, UNNEST(p.tags) AS t LIMIT 3', reads: [PROFILES] },
  { label: 'UNNEST of an uncorrelated column', sql: 'SELECT t FROM crm.profiles, UNNEST(tags) AS t LIMIT 3', reads: [PROFILES] },
  { label: 'an array of structs through the alias t', sql: 'SELECT i.sku FROM crm.profiles AS t, t.items AS i LIMIT 3', reads: [PROFILES] },
  { label: 'the implicit alias as a path head', sql: 'SELECT t FROM crm.profiles, profiles.tags AS t LIMIT 3', reads: [PROFILES] },
  { label: 'an alias named like its own array column', sql: 'SELECT x.sku FROM crm.profiles AS items, items.items AS x LIMIT 3', reads: [PROFILES] },
  // `crm` is no range variable here: crm.profiles.tags is the table tags of dataset profiles in project crm.
  { label: 'dataset.table.column in FROM is a three-part table name', sql: 'SELECT t FROM crm.profiles, crm.profiles.tags AS t', reads: 'invalid', names: [PROFILES, 'crm.profiles.tags'] },
  { label: 'a path through an alias named like the dataset', sql: 'SELECT x FROM crm.profiles AS crm, crm.profiles AS x', reads: 'invalid', names: [PROFILES] },
  { label: 'an alias alone in FROM', sql: 'SELECT * FROM sales.orders AS t, t', reads: 'invalid', names: [ORDERS] },
  { label: 'a path to a field the table lacks', sql: 'SELECT i FROM sales.orders AS t, t.items AS i', reads: 'invalid', names: [ORDERS] },
  { label: 'a field of a struct column', sql: 'SELECT address.city FROM crm.customers LIMIT 2', reads: [CUSTOMERS], shows: /Shelbyville/ },
  { label: 'table.column.field', sql: 'SELECT customers.address.city FROM crm.customers LIMIT 2', reads: [CUSTOMERS], shows: /Shelbyville/ },
  { label: 'dataset.table.column.field in the select list', sql: 'SELECT crm.customers.address.city FROM crm.customers', reads: 'invalid', names: [CUSTOMERS] },
  { label: 'a column named like a dataset', sql: 'SELECT sales.region FROM crm.accounts LIMIT 2', reads: [ACCOUNTS] },
  { label: 'a column named like the dataset it is in', sql: 'SELECT crm FROM crm.accounts LIMIT 2', reads: [ACCOUNTS] },
  { label: 'UNNEST of a column path named like a table', sql: 'SELECT o FROM crm.accounts, UNNEST(sales.orders) AS o LIMIT 2', reads: [ACCOUNTS] },
  { label: 'a column path named like a table, through the alias', sql: 'SELECT o FROM crm.accounts AS a, a.sales.orders AS o LIMIT 2', reads: [ACCOUNTS] },
  // BigQuery: "Aliases referenced in the from clause must refer to preceding scans, and cannot refer
  // to columns on those scans". The normalizer names sales.orders, as written: the conservative side.
  { label: 'a column named like a dataset as a FROM path head', sql: 'SELECT * FROM crm.accounts, sales.orders', reads: 'invalid', names: [ACCOUNTS, ORDERS] },
  // (TO_JSON_STRING: the Node client cannot decode the emulator's TIMESTAMP inside a STRUCT.)
  { label: 'an alias equal to a column name is the whole row', sql: 'SELECT TO_JSON_STRING(customer_id) AS r FROM crm.customers AS customer_id LIMIT 1', reads: [CUSTOMERS] },
  { label: 'a field path through an alias equal to a column name', sql: 'SELECT customer_id.ssn FROM crm.customers AS customer_id LIMIT 2', reads: [CUSTOMERS] },
  { label: 'an alias equal to a struct column hides the column', sql: 'SELECT address.city FROM crm.customers AS address', reads: 'invalid', names: [CUSTOMERS] },
  { label: 'an alias named like the dataset and a column', sql: 'SELECT crm FROM crm.accounts AS crm LIMIT 1', reads: [ACCOUNTS] },
  {
    label: 'a WITH name like a dataset: dataset.table is the table',
    sql: "WITH sales AS (SELECT ['cte1', 'cte2'] AS orders) SELECT order_id FROM sales.orders LIMIT 2",
    reads: [ORDERS],
  },
  {
    label: 'a WITH name like a dataset in scope: the same path is an array path',
    sql: "WITH sales AS (SELECT ['cte1', 'cte2'] AS orders) SELECT o FROM sales, sales.orders AS o",
    reads: [],
    shows: /"cte1"/,
  },
  {
    label: 'a WITH name like a dataset in scope, UNNEST of the path',
    sql: "WITH sales AS (SELECT ['cte1', 'cte2'] AS orders) SELECT o FROM sales, UNNEST(sales.orders) AS o",
    reads: [],
    shows: /"cte1"/,
  },
  {
    label: 'a WITH name spelled like a table, named before it is defined: the table',
    sql: "WITH a AS (SELECT ssn FROM `crm.customers`), `crm.customers` AS (SELECT 'none' AS ssn) SELECT ssn FROM a LIMIT 2",
    reads: [CUSTOMERS],
  },
  {
    label: 'WITH RECURSIVE: a WITH name spelled like a table, named before it is defined: the WITH query',
    sql: "WITH RECURSIVE a AS (SELECT ssn FROM `crm.customers`), `crm.customers` AS (SELECT 'none' AS ssn) SELECT ssn FROM a LIMIT 2",
    reads: [],
    shows: /"none"/,
  },
  {
    label: 'a WITH name spelled like a table does not hide the two-part path',
    sql: "WITH `crm.customers` AS (SELECT 'none' AS ssn) SELECT ssn FROM crm.customers LIMIT 2",
    reads: [CUSTOMERS],
  },
  {
    label: 'a WITH name like a dataset, then a table of that dataset',
    sql: "WITH crm AS (SELECT 'cte' AS ssn) SELECT c.ssn FROM crm, crm.customers AS c",
    reads: 'invalid',
    names: [],
  },
];

/**
 * Where a range variable is in scope, for a path spelled like `dataset.table`: only FROM items to its
 * left (and an enclosing query's, for a correlated subquery), never those of a FROM subquery or
 * of a later item. Out of scope, `crm.customers` is the table.
 */
export const SCOPE_FORMS: readonly ResolutionForm[] = [
  { label: 'an alias defined later in the FROM clause', sql: 'SELECT x.ssn, crm.order_id FROM crm.customers AS x, sales.orders AS crm LIMIT 2', reads: [CUSTOMERS, ORDERS] },
  { label: 'an alias defined later, JOIN … USING', sql: 'SELECT x.ssn, crm.order_id FROM crm.customers AS x JOIN sales.orders AS crm USING (customer_id) LIMIT 2', reads: [CUSTOMERS, ORDERS] },
  { label: 'an alias defined later, no alias on the table', sql: 'SELECT ssn, crm.order_id FROM crm.customers, sales.orders AS crm LIMIT 2', reads: [CUSTOMERS, ORDERS] },
  {
    label: 'an alias inside a FROM subquery is not in scope after it',
    sql: 'SELECT x.ssn, t.order_id FROM (SELECT * FROM sales.orders AS crm) AS t, crm.customers AS x LIMIT 2',
    reads: [ORDERS, CUSTOMERS],
  },
  { label: 'a FROM subquery does not see the items to its left', sql: 'SELECT x.ssn, crm.order_id FROM sales.orders AS crm, (SELECT ssn FROM crm.customers) AS x LIMIT 2', reads: [ORDERS, CUSTOMERS] },
  {
    label: 'an alias named like the dataset inside an ON subquery',
    sql: 'SELECT x.ssn, o.order_id FROM crm.customers AS x JOIN sales.orders AS o ON x.customer_id IN (SELECT crm.customer_id FROM sales.orders AS crm) LIMIT 2',
    reads: [CUSTOMERS, ORDERS],
  },
  { label: 'a scalar subquery sees the enclosing alias', sql: 'SELECT (SELECT ssn FROM crm.customers LIMIT 1) AS s, crm.order_id FROM sales.orders AS crm LIMIT 2', reads: 'invalid', names: [ORDERS] },
  { label: 'an EXISTS subquery sees the enclosing alias', sql: 'SELECT crm.order_id FROM sales.orders AS crm WHERE EXISTS (SELECT 1 FROM crm.customers)', reads: 'invalid', names: [ORDERS] },
  { label: 'a correlated array path in a scalar subquery', sql: 'SELECT (SELECT STRING_AGG(t) FROM crm.tags AS t) AS tags FROM crm.profiles AS crm LIMIT 2', reads: [PROFILES] },
  {
    label: 'an alias inside a parenthesized join is in scope after it',
    sql: 'SELECT x.ssn FROM (sales.orders AS crm CROSS JOIN sales.orders AS o2), crm.customers AS x LIMIT 2',
    reads: 'invalid',
    names: [ORDERS],
  },
  {
    label: 'an alias of a parenthesized join\'s left side, path on its right',
    sql: 'SELECT o.order_id, x.ssn FROM sales.orders AS o LEFT JOIN (sales.orders AS crm CROSS JOIN crm.customers AS x) ON TRUE LIMIT 2',
    reads: 'invalid',
    names: [ORDERS],
  },
  { label: 'a path after FULL JOIN', sql: 'SELECT x.ssn FROM sales.orders AS crm FULL JOIN crm.customers AS x ON TRUE', reads: 'invalid', names: [ORDERS] },
];

const CASE_SENSITIVE_NAMES: NotEmulated = {
  why: 'the emulator folds the case of dataset and table names (`CRM.Customers` reads crm.customers there, checked in name-resolution.test.ts)',
  docs: 'https://pub.dev/documentation/googleapis/latest/bigquery_v2/Dataset/isCaseInsensitive.html (Dataset.isCaseInsensitive: "By default, this is FALSE, which means the dataset and its table names are case-sensitive"); https://docs.sqlfluff.com/en/stable/reference/dialects/bigquery ("BigQuery resolves unquoted column identifiers case insensitively, and table/dataset identifiers case sensitively (by default, unless is_case_insensitive is set for the latter)")',
};

/**
 * The case of dataset and table names. BigQuery keeps it (a dataset is case-sensitive unless
 * created with is_case_insensitive): `CRM.Customers` is not crm.customers, and the normalizer
 * names it as written (engine/sql/tables.ts). INFORMATION_SCHEMA and view names are
 * case-insensitive (INFORMATION_SCHEMA_FORMS).
 */
export const CASE_FORMS: readonly ResolutionForm[] = [
  { label: 'an upper-case dataset and a mixed-case table', sql: 'SELECT ssn FROM CRM.Customers', reads: ['acme-analytics.CRM.Customers'], emulator: CASE_SENSITIVE_NAMES },
  {
    label: 'an upper-case dataset qualifying INFORMATION_SCHEMA',
    sql: 'SELECT table_name FROM SALES.INFORMATION_SCHEMA.TABLES',
    reads: ['acme-analytics.SALES.information_schema.tables'],
    emulator: CASE_SENSITIVE_NAMES,
  },
  { label: 'a mixed-case default dataset', sql: 'SELECT ssn FROM customers', defaultDataset: 'CRM', reads: ['acme-analytics.CRM.customers'], emulator: CASE_SENSITIVE_NAMES },
];

export const RESOLUTION_FORMS: readonly ResolutionForm[] = [...DEFAULT_DATASET_FORMS, ...INFORMATION_SCHEMA_FORMS, ...WILDCARD_FORMS, ...PATH_RESOLUTION_FORMS, ...SCOPE_FORMS, ...CASE_FORMS];
