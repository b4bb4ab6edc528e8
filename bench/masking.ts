// Masking throughput on generated result pages: `node bench/masking.ts`.
// Cells/s counts every leaf value in the page (masked or not), the rate the gateway can forward.
// The gateway's own strategies (redact, hash, last-4, ...) and BigQuery's rules (SHA256,
// LAST_FOUR_CHARACTERS, DEFAULT_MASKING_VALUE, ...) are measured side by side on the same pages.
import { compileMasker, compileRowsCheck, type MaskerOptions, type TableRow, type TableSchema } from '../gateway/masking/index.ts';

const ROWS = Number(process.env.ROWS ?? 100_000);
const RUNS = Number(process.env.RUNS ?? 7);
const HASH_KEY = 'bench-hash-key-0123456789abcdef';

let seed = 42;
const rand = (n: number): number => {
  seed = (Math.imul(seed, 1_103_515_245) + 12_345) & 0x7fffffff;
  return (seed >>> 8) % n;
};
const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)]!;
const digits = (n: number): string => Array.from({ length: n }, () => rand(10)).join('');

const CITIES = ['Lisbon', 'Austin', 'Osaka', 'Nairobi', 'Leeds', 'Quito', 'Perth', 'Oslo'];
const STATUS = ['active', 'churned', 'trial', 'suspended'];
const WORDS = 'the customer asked about renewal pricing and wanted a callback next week regarding invoice'.split(' ');

function note(): string {
  const words = Array.from({ length: 8 + rand(12) }, () => pick(WORDS));
  // ~5% of notes carry something the content scan must catch, ~20% carry harmless numbers.
  const roll = rand(100);
  if (roll < 2) words.splice(rand(words.length), 0, `reach me at ${200 + rand(700)}-555-${digits(4)}`);
  else if (roll < 4) words.splice(rand(words.length), 0, `mail user${rand(9999)}@example.com`);
  else if (roll < 5) words.splice(rand(words.length), 0, 'card 4111 1111 1111 1111');
  else if (roll < 25) words.splice(rand(words.length), 0, `order ${digits(8)} on 2024-0${1 + rand(9)}-1${rand(10)}`);
  return words.join(' ');
}

const s = (v: string | null) => ({ v });

function flatPage(distinctEmails: number): { schema: TableSchema; rows: TableRow[] } {
  const schema: TableSchema = {
    fields: [
      { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
      { name: 'name', type: 'STRING' },
      { name: 'email', type: 'STRING' },
      { name: 'ssn', type: 'STRING' },
      { name: 'phone', type: 'STRING' },
      { name: 'city', type: 'STRING' },
      { name: 'amount', type: 'NUMERIC' },
      { name: 'created', type: 'TIMESTAMP' },
      { name: 'notes', type: 'STRING' },
      { name: 'status', type: 'STRING' },
    ],
  };
  const rows: TableRow[] = [];
  for (let i = 0; i < ROWS; i++) {
    rows.push({
      f: [
        s(String(1_000_000 + i)),
        s(`Customer ${rand(50_000)}`),
        s(`user${rand(distinctEmails)}@example.com`),
        s(`${100 + rand(500)}-${10 + rand(89)}-${1000 + rand(8999)}`),
        s(rand(10) === 0 ? null : `+1 ${200 + rand(700)} 555 ${digits(4)}`),
        s(pick(CITIES)),
        s(`${rand(10_000)}.${digits(2)}`),
        s(String(1_700_000_000_000_000 + rand(1e9))),
        s(note()),
        s(pick(STATUS)),
      ],
    });
  }
  return { schema, rows };
}

function nestedPage(): { schema: TableSchema; rows: TableRow[]; cells: number } {
  const schema: TableSchema = {
    fields: [
      { name: 'id', type: 'INTEGER' },
      {
        name: 'address',
        type: 'RECORD',
        fields: [
          { name: 'street', type: 'STRING' },
          { name: 'city', type: 'STRING' },
          { name: 'zip', type: 'STRING' },
        ],
      },
      {
        name: 'orders',
        type: 'RECORD',
        mode: 'REPEATED',
        fields: [
          { name: 'card', type: 'STRING' },
          { name: 'amount', type: 'NUMERIC' },
          { name: 'sku', type: 'STRING' },
        ],
      },
      { name: 'tags', type: 'STRING', mode: 'REPEATED' },
    ],
  };
  const rows: TableRow[] = [];
  let cells = 0;
  for (let i = 0; i < ROWS; i++) {
    const orders = Array.from({ length: 3 }, () => ({
      v: { f: [s(`4${digits(15)}`), s(`${rand(500)}.00`), s(`SKU-${rand(900)}`)] },
    }));
    const tags = Array.from({ length: 2 }, () => s(pick(STATUS)));
    rows.push({
      f: [
        s(String(i)),
        { v: { f: [s(`${rand(999)} Main St`), s(pick(CITIES)), s(digits(5))] } },
        { v: orders },
        { v: tags },
      ],
    });
    cells += 1 + 3 + 9 + 2;
  }
  return { schema, rows, cells };
}

function bench(label: string, options: MaskerOptions, rows: TableRow[], cellsPerPage: number): void {
  // A fresh masker per run, as per query; the hash memo is shared across queries like in the gateway.
  measure(label, rows, cellsPerPage, () => compileMasker(options).maskRows(rows).stats.cellsMasked);
}

/** Runs `work` on the page RUNS times (plus one to warm the JIT); `work` returns the values it masked. */
function measure(label: string, rows: TableRow[], cellsPerPage: number, work: () => number): void {
  const rates: number[] = [];
  let masked = 0;
  for (let run = 0; run < RUNS + 1; run++) {
    const started = process.hrtime.bigint();
    masked = work();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (run > 0) rates.push(cellsPerPage / seconds); // run 0 warms the JIT
  }
  rates.sort((a, b) => a - b);
  const median = rates[rates.length >> 1]!;
  const fmt = (x: number) => `${(x / 1e6).toFixed(2)} M cells/s`;
  console.log(
    `${label.padEnd(58)} median ${fmt(median).padStart(15)}  best ${fmt(rates[rates.length - 1]!).padStart(15)}  (${masked} masked of ${cellsPerPage})`,
  );
}

console.log(`node ${process.version}, ${ROWS} rows per page, ${RUNS} runs`);
const flat = flatPage(5_000);
const flatCells = ROWS * 10;
const threeMasks: MaskerOptions = {
  schema: flat.schema,
  masks: [
    { output: 'email', strategy: 'hash' },
    { output: 'ssn', strategy: 'last-4' },
    { output: 'phone', strategy: 'redact' },
  ],
  hashKey: HASH_KEY,
};
bench('10 cols, 3 masked (hash 5k distinct, last-4, redact)', threeMasks, flat.rows, flatCells);
// The same columns under the closest BigQuery rules.
const threeRules: MaskerOptions = {
  schema: flat.schema,
  masks: [
    { output: 'email', strategy: 'SHA256' },
    { output: 'ssn', strategy: 'LAST_FOUR_CHARACTERS' },
    { output: 'phone', strategy: 'DEFAULT_MASKING_VALUE' },
  ],
  hashKey: HASH_KEY,
};
bench('10 cols, 3 masked (SHA256 5k distinct, LAST_FOUR, DEFAULT)', threeRules, flat.rows, flatCells);
bench(
  '10 cols, 3 masked (RANDOM_HASH 5k distinct, FIRST_FOUR, ALWAYS_NULL)',
  {
    ...threeRules,
    masks: [
      { output: 'email', strategy: 'RANDOM_HASH' },
      { output: 'ssn', strategy: 'FIRST_FOUR_CHARACTERS' },
      { output: 'phone', strategy: 'ALWAYS_NULL' },
    ],
    job: 'job bench:1',
  },
  flat.rows,
  flatCells,
);
bench(
  '10 cols, 3 masked (email-domain, redact on NUMERIC, redact on TIMESTAMP)',
  { ...threeMasks, masks: [{ output: 'email', strategy: 'email-domain' }, { output: 'amount', strategy: 'redact' }, { output: 'created', strategy: 'redact' }] },
  flat.rows,
  flatCells,
);
bench(
  '10 cols, 3 masked (EMAIL_MASK, DEFAULT on NUMERIC, DATE_YEAR_MASK)',
  { ...threeRules, masks: [{ output: 'email', strategy: 'EMAIL_MASK' }, { output: 'amount', strategy: 'DEFAULT_MASKING_VALUE' }, { output: 'created', strategy: 'DATE_YEAR_MASK' }] },
  flat.rows,
  flatCells,
);
bench(
  '10 cols, 3 masked + content scan (4 detectors, redact)',
  {
    ...threeMasks,
    contentScan: { detectors: ['ssn', 'card', 'email', 'phone'], strategy: 'redact' },
  },
  flat.rows,
  flatCells,
);
// What every answer now pays before masking, masked or not: its rows checked against their schema.
measure('10 cols, rows checked against their schema (every answer)', flat.rows, flatCells, () => {
  if (compileRowsCheck(flat.schema)(flat.rows)) throw new Error('the generated page does not match its schema');
  return 0;
});
// The content scan alone, over every leaf whatever its type (what an unexpected answer gets).
const scanAll: MaskerOptions = { schema: flat.schema, masks: [], contentScan: { detectors: ['ssn', 'card', 'email', 'phone'], strategy: 'redact' }, hashKey: HASH_KEY };
bench('10 cols, content scan alone (every leaf)', scanAll, flat.rows, flatCells);
const distinct = flatPage(ROWS * 10);
bench(
  '10 cols, 3 masked, hash on all-distinct values (cold memo)',
  { ...threeMasks, schema: distinct.schema },
  distinct.rows,
  flatCells,
);
bench(
  '10 cols, 3 masked, SHA256 on all-distinct values (cold memo)',
  { ...threeRules, schema: distinct.schema },
  distinct.rows,
  flatCells,
);
bench(
  '10 cols, 3 masked, RANDOM_HASH on all-distinct values (cold memo)',
  { ...threeRules, schema: distinct.schema, masks: [{ output: 'email', strategy: 'RANDOM_HASH' }, ...threeRules.masks.slice(1)], job: 'job bench:2' },
  distinct.rows,
  flatCells,
);
const nested = nestedPage();
bench(
  'nested: RECORD path, REPEATED RECORD path, REPEATED',
  {
    schema: nested.schema,
    masks: [
      { output: 'address', path: ['street'], strategy: 'redact' },
      { output: 'orders', path: ['card'], strategy: 'last-4' },
      { output: 'tags', strategy: 'hash' },
    ],
    hashKey: HASH_KEY,
  },
  nested.rows,
  nested.cells,
);
bench(
  'nested: the same under BigQuery rules (DEFAULT, LAST_FOUR, SHA256)',
  {
    schema: nested.schema,
    masks: [
      { output: 'address', path: ['street'], strategy: 'DEFAULT_MASKING_VALUE' },
      { output: 'orders', path: ['card'], strategy: 'LAST_FOUR_CHARACTERS' },
      { output: 'tags', strategy: 'SHA256' },
    ],
    hashKey: HASH_KEY,
  },
  nested.rows,
  nested.cells,
);
bench(
  'nested + content scan',
  {
    schema: nested.schema,
    masks: [{ output: 'orders', path: ['card'], strategy: 'last-4' }],
    contentScan: { detectors: ['ssn', 'card', 'email', 'phone'], strategy: 'redact' },
    hashKey: HASH_KEY,
  },
  nested.rows,
  nested.cells,
);
bench(
  '10 cols, 3 masked + content scan (4 detectors, EMAIL_MASK)',
  { ...threeRules, contentScan: { detectors: ['ssn', 'card', 'email', 'phone'], strategy: 'EMAIL_MASK' } },
  flat.rows,
  flatCells,
);
