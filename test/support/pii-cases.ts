// Ways an agent may try to get raw PII of crm.customers out through a query, and what each must
// get: masked rows, or a refusal with this reason code. One list, run through every door (the
// REST API with the official client, and MCP).
export interface PiiCase {
  sql: string;
  /** `masked`: rows come back, none holding a seeded PII value. Otherwise: refused with this code in the message. */
  expect: 'masked' | { refused: string };
}

const guess = '123-45-6703';

export const PII_CASES: PiiCase[] = [
  { sql: 'SELECT customer_id, name, ssn, email, phone, card_number, address, notes FROM crm.customers ORDER BY customer_id', expect: 'masked' },
  { sql: 'SELECT ssn AS x, email AS contact FROM crm.customers ORDER BY customer_id', expect: 'masked' },
  { sql: 'WITH c AS (SELECT * FROM crm.customers) SELECT ssn AS x, email AS contact FROM c ORDER BY customer_id', expect: 'masked' },
  { sql: 'SELECT x, contact FROM (SELECT customer_id, ssn AS x, email AS contact FROM crm.customers) ORDER BY customer_id', expect: 'masked' },
  { sql: 'SELECT c.ssn AS x, c.email AS contact FROM crm.customers AS c JOIN sales.orders o USING (customer_id) ORDER BY c.customer_id', expect: 'masked' },
  { sql: 'SELECT * FROM crm.customers ORDER BY customer_id', expect: 'masked' },
  { sql: 'SELECT c.* FROM crm.customers c ORDER BY customer_id', expect: 'masked' },
  { sql: 'SELECT address.street AS s, address.city AS city FROM crm.customers ORDER BY customer_id', expect: 'masked' },
  { sql: 'SELECT (SELECT ssn), customer_id FROM crm.customers ORDER BY customer_id', expect: 'masked' },
  { sql: 'SELECT 1 AS one; SELECT ssn FROM crm.customers ORDER BY customer_id', expect: 'masked' },
  { sql: "SELECT customer_id, notes FROM crm.customers WHERE customer_id IN ('C004', 'C005') ORDER BY customer_id", expect: 'masked' },
  { sql: `SELECT customer_id FROM crm.customers WHERE ssn = '${guess}'`, expect: { refused: 'sensitive_predicate' } },
  { sql: `SELECT COUNT(*) AS n FROM crm.customers WHERE ssn = '${guess}'`, expect: { refused: 'sensitive_predicate' } },
  { sql: "SELECT o.order_id FROM sales.orders o JOIN crm.customers c ON o.customer_id = c.customer_id AND c.email LIKE 'a%'", expect: { refused: 'sensitive_predicate' } },
  { sql: 'SELECT customer_id FROM crm.customers ORDER BY card_number', expect: { refused: 'sensitive_predicate' } },
  // Steering without a WHERE: the row order, a count over a guessed value, or NULL-ness answering a condition.
  { sql: 'SELECT ssn, customer_id FROM crm.customers ORDER BY 1', expect: { refused: 'sensitive_predicate' } },
  { sql: `SELECT COUNT(*) AS n FROM (SELECT ssn FROM crm.customers INTERSECT DISTINCT SELECT '${guess}')`, expect: { refused: 'sensitive_predicate' } },
  { sql: `SELECT COUNT(*) AS n FROM (SELECT ssn FROM crm.customers UNION ALL SELECT '${guess}') GROUP BY ssn HAVING COUNT(*) > 1`, expect: { refused: 'sensitive_predicate' } },
  { sql: `SELECT customer_id, IF(ssn = '${guess}', 1, NULL) AS hit FROM crm.customers`, expect: { refused: 'sensitive_predicate' } },
  // A value computed from a masked column answers a guess whatever its mask: by being NULL, or by failing.
  { sql: "SELECT UPPER(ssn) AS u, CONCAT(name, ' <', email, '>') AS who FROM crm.customers ORDER BY customer_id", expect: { refused: 'sensitive_computation' } },
  { sql: "SELECT customer_id, SAFE_DIVIDE(1, CAST(SUBSTR(ssn, 11, 1) AS INT64) - 1) AS d FROM crm.customers", expect: { refused: 'sensitive_computation' } },
  { sql: "SELECT customer_id, 1 / (CAST(SUBSTR(ssn, 11, 1) AS INT64) - 1) AS d FROM crm.customers WHERE customer_id = 'C001'", expect: { refused: 'sensitive_computation' } },
  { sql: 'SELECT customer_id, (SELECT COUNT(*) FROM UNNEST(GENERATE_ARRAY(1, CAST(SUBSTR(ssn, 11, 1) AS INT64)))) AS n FROM crm.customers', expect: { refused: 'sensitive_predicate' } },
];
