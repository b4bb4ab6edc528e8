// Normalizer timings: the parser alone (engine/sql/parser/), a full analysis (cache miss), the same query with
// a new literal (literal-shape cache hit) and the same text (exact cache hit), for a two-table
// join. Run: node bench/normalize.ts [iterations]
import { clearNormalizeCache, normalize } from '../engine/normalize.ts';
import { parseStatement } from '../engine/sql/parser/index.ts';
import { classify } from '../engine/sql/classify.ts';
import { lex } from '../engine/sql/lexer.ts';
import { literalShape } from '../engine/sql/literals.ts';
import { scanTables } from '../engine/sql/scan.ts';
import { splitStatements } from '../engine/sql/split.ts';
import type { Identity, TableSchemas } from '../engine/schema-types.ts';

const iterations = Number(process.argv[2] ?? 5000);
const identity: Identity = { subject: 'bench@agents.example', issuer: 'https://idp.example', kind: 'agent', groups: ['agents'], claims: {} };
const schemas: TableSchemas = {
  'acme-analytics.crm.customers': [
    { name: 'id', type: 'INT64' },
    { name: 'name', type: 'STRING' },
    { name: 'email', type: 'STRING' },
    { name: 'address', type: 'RECORD', fields: [{ name: 'street', type: 'STRING' }, { name: 'city', type: 'STRING' }] },
  ],
  'acme-analytics.sales.orders': [
    { name: 'id', type: 'INT64' },
    { name: 'customer_id', type: 'INT64' },
    { name: 'total', type: 'NUMERIC' },
    { name: 'created_at', type: 'TIMESTAMP' },
  ],
};
const query = (limit: number) =>
  'SELECT c.id, c.name, SUM(o.total) AS revenue FROM `acme-analytics.crm.customers` AS c ' +
  'JOIN `acme-analytics.sales.orders` AS o ON o.customer_id = c.id ' +
  `WHERE o.created_at >= TIMESTAMP '2025-01-01' GROUP BY c.id, c.name ORDER BY revenue DESC LIMIT ${limit}`;
const sql = query(100);

function measure(label: string, run: (i: number) => void): void {
  for (let i = 0; i < Math.min(500, iterations); i++) run(i);
  const samples = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) {
    const start = performance.now();
    run(i);
    samples[i] = performance.now() - start;
  }
  samples.sort();
  const pct = (p: number) => samples[Math.min(iterations - 1, Math.floor(iterations * p))]! * 1000;
  console.log(`${label.padEnd(34)} p50 ${pct(0.5).toFixed(1).padStart(7)} µs   p90 ${pct(0.9).toFixed(1).padStart(7)} µs   p99 ${pct(0.99).toFixed(1).padStart(8)} µs`);
}

const request = { identity, sql, project: 'acme-analytics', schemas, route: 'jobs.query' as const };
const statement = splitStatements(lex(sql).tokens)[0]!;
measure('parse (tokens to tree)', () => parseStatement('SELECT', sql, statement));
// What every new text costs before and besides the parser: lexing, its literal shape, the split
// into statements, their classification and the token scan for tables.
measure('token front end (no parser)', () => {
  const { tokens } = lex(sql);
  literalShape(sql, tokens);
  for (const span of splitStatements(tokens)) {
    classify(span.tokens);
    scanTables(span.tokens);
  }
});
measure('normalize, cache miss', () => {
  clearNormalizeCache();
  normalize(request);
});
normalize(request);
let literal = 1_000_000;
measure('normalize, literal variant', () => normalize({ ...request, sql: query(literal++) }));
measure('normalize, cache hit', () => normalize(request));
