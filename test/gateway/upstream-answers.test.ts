// The pieces behind "a bad answer is a 502, never a leak": what counts as a usable upstream
// answer, rows against their schema in BigQuery's REST text forms, and the per-caller backoff.
import { describe, expect, it } from 'vitest';
import { BigQueryError } from '../../gateway/bigquery/errors.ts';
import { compileRowsCheck, type TableSchema } from '../../gateway/masking/index.ts';
import { UpstreamFault, expectAnswer } from '../../gateway/upstream/answers.ts';
import { BigQueryUpstream } from '../../gateway/upstream/bigquery.ts';
import { FaultBackoff } from '../../gateway/upstream/fault-backoff.ts';

function thrown(fn: () => unknown): BigQueryError {
  try {
    fn();
  } catch (error) {
    return error as BigQueryError;
  }
  throw new Error('did not throw');
}

describe('upstream answers', () => {
  const ok = (body: unknown) => ({ status: 200, body });

  it('passes a well-formed answer through as it is', () => {
    const body = { jobReference: { jobId: 'j' }, jobComplete: true, schema: { fields: [] }, rows: [], totalRows: '0' };
    expect(expectAnswer('jobs.query', ok(body), 'query results')).toBe(body);
    expect(expectAnswer('jobs.query', ok({ queryId: 'q', jobComplete: false }), 'query results')).toBeDefined();
    expect(expectAnswer('the dry run', ok({ statistics: { totalBytesProcessed: '10' } }), 'dry run')).toBeDefined();
  });

  it.each([
    ['an unparsed body', { status: 200, body: undefined, problem: 'a body that is not JSON (5 bytes of text/html)' }, 'a body that is not JSON'],
    ['rows without a schema', ok({ jobReference: { jobId: 'j' }, rows: [{ f: [] }] }), 'has rows without a schema'],
    ['rows that are not a list', ok({ jobReference: { jobId: 'j' }, schema: { fields: [] }, rows: {} }), 'has a rows that is not a list'],
    ['no job named', ok({ jobComplete: true }), 'names no job'],
    ['a row count that is not one', ok({ jobReference: { jobId: 'j' }, totalRows: 'many' }), 'totalRows that is not a row count'],
    ['a list where an object belongs', ok([]), 'is not an object'],
  ])('refuses %s with a 502 naming the problem', (_, res, says) => {
    const error = thrown(() => expectAnswer('jobs.query', res, 'query results'));
    expect(error).toBeInstanceOf(UpstreamFault);
    expect([error.code, error.reason]).toEqual([502, 'backendError']);
    expect(error.message).toContain(says);
  });

  it("keeps the upstream's own error, and turns any other failure status into a 502", () => {
    const own = thrown(() => expectAnswer('jobs.get', { status: 404, body: { error: { code: 404, message: 'Not found: Job p:j', errors: [{ reason: 'notFound' }] } } }, 'job'));
    expect([own.code, own.reason, own.message]).toEqual([404, 'notFound', 'Not found: Job p:j']);
    const proxy = thrown(() => expectAnswer('jobs.get', { status: 407, body: undefined, problem: 'a body that is not JSON (12 bytes of text/html)' }, 'job'));
    expect([proxy.code, proxy.reason]).toEqual([502, 'backendError']);
    expect(proxy.message).toContain('HTTP 407');
  });
});

describe('rows against their schema', () => {
  const schema: TableSchema = {
    fields: [
      { name: 'i', type: 'INTEGER' },
      { name: 'f', type: 'FLOAT' },
      { name: 'n', type: 'NUMERIC' },
      { name: 'b', type: 'BOOLEAN' },
      { name: 't', type: 'TIMESTAMP' },
      { name: 'd', type: 'DATE' },
      { name: 'tm', type: 'TIME' },
      { name: 'dt', type: 'DATETIME' },
      { name: 'y', type: 'BYTES' },
      { name: 'iv', type: 'INTERVAL' },
      { name: 'r', type: 'RANGE' },
      { name: 's', type: 'STRING' },
      { name: 'rec', type: 'RECORD', fields: [{ name: 'x', type: 'INT64' }], mode: 'REPEATED' },
    ],
  };
  const row = (over: Record<number, unknown> = {}) => ({
    f: ['-42', '1.5E-7', '123.456', 'true', '1.700000000123456E9', '2025-02-02', '10:30:45.123456', '2025-02-02T10:30:45', 'AAEC/w==', '1-2 3 4:5:6.789', '[2024-01-01, UNBOUNDED)', 'any text', [{ v: { f: [{ v: '7' }] } }]].map((v, i) => ({
      v: i in over ? over[i] : v,
    })),
  });
  const check = compileRowsCheck(schema);

  it('accepts the REST text form of every type, NULLs and the other forms BigQuery uses', () => {
    expect(check([row(), row({ 1: 'NaN', 4: '1700000000123456', 0: null, 12: [] }), row({ 1: '-Infinity', 4: '2025-02-02T10:30:45.123456Z', 9: 'P1Y2M3DT4H5M6.5S' })])).toBeUndefined();
  });

  it.each([
    ['an SSN in an INTEGER column', { 0: '123-45-6701' }, 'row 0 field i holds a value that is not of its declared type'],
    ['an e-mail in a DATE column', { 5: 'jane@example.com' }, 'field d holds a value'],
    ['text in a BOOLEAN column', { 3: 'yes' }, 'field b holds a value'],
    ['a record where a scalar belongs', { 11: { f: [] } }, 'field s holds a structured value'],
    ['a scalar where a list belongs', { 12: '7' }, 'field rec is not a list'],
    ['a nested value of the wrong type', { 12: [{ v: { f: [{ v: '4111-1111' }] } }] }, 'field rec.x holds a value'],
  ])('refuses %s, naming the field, never the value', (_, over, says) => {
    const problem = check([row(), row(over)]);
    expect(problem).toContain(says.replace('row 0', 'row 1'));
    for (const v of Object.values(over)) if (typeof v === 'string') expect(problem).not.toContain(v);
  });

  it('refuses rows of the wrong width', () => {
    expect(check([{ f: [{ v: '1' }] }])).toBe('row 0 has 1 cells where the schema has 13');
    expect(check([{}])).toBe('row 0 is not a row');
  });
});

describe('fault backoff', () => {
  it('holds back the failing caller only, doubling per fault, and clears on a usable answer', () => {
    let now = 0;
    const backoff = new FaultBackoff('acme', 5, () => now);
    backoff.failed('a', 'not JSON');
    const refusal = thrown(() => backoff.check('a'));
    expect([refusal.code, refusal.reason, refusal.headers]).toEqual([503, 'backendError', { 'retry-after': '5' }]);
    expect(refusal.message).toContain('not JSON');
    expect(() => backoff.check('b')).not.toThrow();
    expect(() => new FaultBackoff('other', 5, () => now).check('a')).not.toThrow(); // another connection's callers
    now = 5_000;
    expect(() => backoff.check('a')).not.toThrow();
    backoff.failed('a', 'again');
    now = 14_000;
    expect(thrown(() => backoff.check('a')).headers).toEqual({ 'retry-after': '1' });
    backoff.succeeded('a');
    expect(() => backoff.check('a')).not.toThrow();
  });

  it('stops doubling at 64 times the first wait, and is off at 0', () => {
    let now = 0;
    const backoff = new FaultBackoff('acme', 1, () => now);
    for (let i = 0; i < 20; i++) backoff.failed('a', 'x');
    expect(thrown(() => backoff.check('a')).headers).toEqual({ 'retry-after': '64' });
    const off = new FaultBackoff('acme', 0, () => now);
    off.failed('a', 'x');
    expect(() => off.check('a')).not.toThrow();
  });

  it('tracks a bounded number of callers under a flood of faults', () => {
    const backoff = new FaultBackoff('acme', 60, () => 0);
    for (let i = 0; i < 25_000; i++) backoff.failed(`caller-${i}`, 'x');
    // The oldest were let go; the newest are still held back.
    expect(() => backoff.check('caller-0')).not.toThrow();
    expect(() => backoff.check('caller-24999')).toThrow();
  });
});

describe('long polls', () => {
  const upstream = new BigQueryUpstream('http://127.0.0.1:9', { timeoutMs: 60_000 });
  const short = new BigQueryUpstream('http://127.0.0.1:9', { timeoutMs: 3_000 });

  it.each([
    ['unset', {}, undefined, 1500],
    ['within the ceiling', { timeoutMs: 10_000 }, 10_000, 1500],
    ['above it', { timeoutMs: 600_000 }, 55_000, 1500],
    ['as a query string', { timeoutMs: '600000' }, 55_000, 1500],
    ['in exponent form', { timeoutMs: '1e9' }, 55_000, 1500],
    ['negative', { timeoutMs: -5 }, 0, 0],
    ['not a number', { timeoutMs: 'soon' }, undefined, 1500],
  ])('bounds a timeoutMs %s to end before the connection timeout', (_, fields, onLong, onShort) => {
    expect(upstream.boundLongPoll({ ...fields, query: 'x' } as { timeoutMs?: unknown; query: string })).toEqual({ query: 'x', ...(onLong !== undefined && { timeoutMs: onLong }) });
    expect(short.boundLongPoll(fields as { timeoutMs?: unknown }).timeoutMs).toBe(onShort);
  });
});
