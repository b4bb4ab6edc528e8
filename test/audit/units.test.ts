// The pure parts: canonical JSON, SQL literal redaction, event preparation, times, the 503 body.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { auditUnavailableBody, canonicalJson, CanonicalJsonError, parseDuration, parseTimeOrAgo, redactSqlLiterals } from '../../gateway/audit/index.ts';
import { prepareEvent } from '../../gateway/audit/prepare.ts';
import type { AuditRequestData } from '../../gateway/audit/index.ts';
import { plainEvent } from './helpers.ts';

describe('canonicalJson', () => {
  it('sorts keys at every level and writes no whitespace, whatever the insertion order', () => {
    const a = { b: 1, a: { d: [3, { z: null, y: 'é' }], c: true } };
    const b = { a: { c: true, d: [3, { y: 'é', z: null }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"c":true,"d":[3,{"y":"é","z":null}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('orders keys by UTF-16 code units, like RFC 8785', () => {
    expect(canonicalJson({ é: 1, z: 2, Z: 3, '10': 4, '9': 5 })).toBe('{"10":4,"9":5,"Z":3,"z":2,"é":1}');
  });

  it('round-trips: parsing and re-encoding gives the same text', () => {
    const text = canonicalJson({ s: 'line\nbreak "quoted" \u0000 \ud800', n: -0, big: 1e21, f: 0.1 + 0.2 });
    expect(canonicalJson(JSON.parse(text))).toBe(text);
    expect(text).not.toMatch(/[\u0000]/); // control characters are escaped: storable in PostgreSQL TEXT
  });

  it('refuses what JSON cannot hold instead of changing it', () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ d: new Date() })).toThrow(CanonicalJsonError);
    expect(() => canonicalJson([1, undefined])).toThrow(CanonicalJsonError);
    expect(() => canonicalJson({ b: 1n })).toThrow(CanonicalJsonError);
    expect(canonicalJson({ absent: undefined, present: 1 })).toBe('{"present":1}');
    expect(() => canonicalJson({ a: [1, { 'b/c': Number.POSITIVE_INFINITY }] })).toThrow('/a/1/b~1c is Infinity, which JSON cannot hold');
  });
});

describe('redactSqlLiterals', () => {
  const cases: [string, string][] = [
    ["SELECT * FROM t WHERE ssn = '123-45-6789'", 'SELECT * FROM t WHERE ssn = ?'],
    ['SELECT * FROM t WHERE a = "x\\"y" AND b = r\'\\d+\' AND c = b"\\x00"', 'SELECT * FROM t WHERE a = ? AND b = ? AND c = ?'],
    ["SELECT '''multi\nline''', \"\"\"x\"\"\" FROM t", 'SELECT ?, ? FROM t'],
    ['SELECT x FROM `my-project.ds.t` WHERE id IN (1, 2.5, .5, 1e3, 0x1F) LIMIT 10', 'SELECT x FROM `my-project.ds.t` WHERE id IN (?, ?, ?, ?, ?) LIMIT ?'],
    ['SELECT a FROM acme-123.sales.orders_2024 t1 WHERE t1.c = 4111111111111111', 'SELECT a FROM acme-123.sales.orders_2024 t1 WHERE t1.c = ?'],
    ['SELECT 1 -- customer 123-45-6789\nFROM t # note\n/* jane@example.com */', 'SELECT ? -- ?\nFROM t # ?\n/* ? */'],
    ["SELECT DATE '2024-01-01', INTERVAL 7 DAY", 'SELECT DATE ?, INTERVAL ? DAY'],
    ['SELECT `a``b` FROM t WHERE x = @param', 'SELECT `a``b` FROM t WHERE x = @param'],
    // A literal written directly after a word is a word and then a literal, as BigQuery reads it.
    ["SELECT * FROM t WHERE TRUE OR'jane.doe@example.com'='x'", 'SELECT * FROM t WHERE TRUE OR?=?'],
    ["SELECT * FROM t WHERE TRUE AND'123-45-6789'=ssn", 'SELECT * FROM t WHERE TRUE AND?=ssn'],
    ["SELECT * FROM t WHERE name LIKE'jane%' AND id IN('a','b')", 'SELECT * FROM t WHERE name LIKE? AND id IN(?,?)'],
    ['SELECT * FROM t WHERE x = r"jane@example.com" OR y = B\'\\x00\' OR z = rb\'\\d\' OR w = BR"4111"', 'SELECT * FROM t WHERE x = ? OR y = ? OR z = ? OR w = ?'],
    ["SELECT * FROM t WHERE a = '''jane\n'doe'\n''' OR b = \"\"\"4111111111111111\"\"\"", 'SELECT * FROM t WHERE a = ? OR b = ?'],
    // Unquoted: every number is redacted, a dash between numbers included.
    ['SELECT * FROM t WHERE ssn = 123-45-6789', 'SELECT * FROM t WHERE ssn = ?-?-?'],
    ['SELECT * FROM t WHERE ssn=123-45-6789 OR a-123-45-6789 = 0', 'SELECT * FROM t WHERE ssn=?-?-? OR a-?-?-? = ?'],
    ['SELECT 0x1F, 0XABCDEF, 1e10, 1.5E-3, 2e+7, -5, .25, 1. FROM t', 'SELECT ?, ?, ?, ?, ?, -?, ?, ? FROM t'],
    ['SELECT a FROM my-project-123.sales.orders, acme-1-x.ds.t, ds.2024_sales WHERE a-1 = 2', 'SELECT a FROM my-project-123.sales.orders, acme-1-x.ds.t, ds.2024_sales WHERE a-? = ?'],
  ];
  it.each(cases)('%s', (sql, expected) => {
    expect(redactSqlLiterals(sql).text).toBe(expected);
  });

  it('returns what it took out, so messages quoting it can be scrubbed', () => {
    expect(redactSqlLiterals("WHERE ssn = '123-45-6789' -- why").removed).toEqual(['123-45-6789', ' why']);
  });

  it('copes with an unterminated literal by redacting to the end', () => {
    expect(redactSqlLiterals("SELECT 'abc").text).toBe('SELECT ?');
  });

  it('fails closed at a lexing error: everything from the error on is redacted', () => {
    expect(redactSqlLiterals("SELECT 1 FROM t WHERE a = 'x' OR b = 'jane@example.com AND ssn = 123-45-6789").text).toBe('SELECT ? FROM t WHERE a = ? OR b = ?');
    expect(redactSqlLiterals("SELECT 1 FROM t WHERE a = '''jane@example.com' OR 1=1").text).toBe('SELECT ? FROM t WHERE a = ?');
    expect(redactSqlLiterals('SELECT 1 FROM t WHERE a = `jane@example.com').text).toBe('SELECT ? FROM t WHERE a = ?');
    expect(redactSqlLiterals('SELECT 1 /* 123-45-6789').text).toBe('SELECT ? ?');
  });

  it('redacts what the engine lexer reads as a literal, and nothing it reads as a name', () => {
    const sql = "SELECT `x-1`, b'\\x01', 'a' 'b', @p, ? FROM `p-1.d.t` AS t WHERE t.c1 = 42 AND e = 1e3";
    const { text, removed } = redactSqlLiterals(sql);
    expect(text).toBe("SELECT `x-1`, ?, ? ?, @p, ? FROM `p-1.d.t` AS t WHERE t.c1 = ? AND e = ?");
    expect(removed).toEqual(['\\x01', 'a', 'b', '42', '1e3']);
  });
});

describe('prepareEvent', () => {
  const options = { sqlLiterals: 'redact' as const, maxResponseBytes: 2_000, scrubResponse: true };

  it('caps the recorded response and marks the truncation', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ f: [{ v: `row-${i}-${'x'.repeat(50)}` }] }));
    const { data } = prepareEvent(plainEvent(1, { response: { schema: { fields: [{ name: 'c', type: 'STRING' }] }, rows, total_rows: 1000 } }), options, 0);
    const response = (data as AuditRequestData).response!;
    expect(response.truncated).toBe(true);
    expect(response.rows_received).toBe(100);
    expect(response.rows_recorded).toBe(response.rows.length);
    expect(response.rows_recorded).toBeGreaterThan(10);
    expect(response.rows_recorded).toBeLessThan(100);
    expect(JSON.stringify(response.rows).length).toBeLessThanOrEqual(2_000);
    expect(response.total_rows).toBe('1000');
  });

  it('keeps the SQL as sent when told to, and still scrubs detected values from upstream messages', () => {
    const event = plainEvent(1, { sql: "SELECT 1 WHERE x = 'a'", error: { reason: 'invalidQuery', message: 'bad value jane@example.com' } });
    const data = prepareEvent(event, { ...options, sqlLiterals: 'keep' }, 0).data as AuditRequestData;
    expect(data.sql).toBe("SELECT 1 WHERE x = 'a'");
    expect(data.error!.message).toBe('bad value [REDACTED]');
    expect(data.redactions).toEqual(['/error/message']);
  });

  it('records a statement hash under a key of its own, which the hash masking strategy never uses', () => {
    const key = Buffer.alloc(32, 7);
    const hash = 'a'.repeat(64);
    const forward = { kind: 'forward' as const, request_id: 'f-1', identity: { subject: 'agent-1', issuer: 'https://idp.test', kind: 'agent' as const, groups: [] }, route: 'jobs.query', operation: 'jobs.query', sql_hash: hash };
    const recorded = (prepareEvent(forward, { ...options, statementKey: key }, 0).data as { sql_hash: string }).sql_hash;
    expect(recorded).toMatch(/^[0-9a-f]{64}$/);
    // Not the gateway key's HMAC of anything a masked value could spell out around the hash.
    for (const text of [hash, `sluice statement hash\0${hash}`]) expect(recorded).not.toBe(createHmac('sha256', key).update(text).digest('hex'));
    expect((prepareEvent(forward, { ...options, statementKey: key }, 0).data as { sql_hash: string }).sql_hash).toBe(recorded);
    expect((prepareEvent(forward, { ...options, statementKey: Buffer.alloc(32, 8) }, 0).data as { sql_hash: string }).sql_hash).not.toBe(recorded);
  });

  it("takes the redacted literals out of every decision reason, whichever rule wrote it", () => {
    // A deployment's own rule quoting the SQL, beside one that quotes nothing.
    const sql = "SELECT customer_id FROM crm.customers WHERE name = 'Evangeline Quarrington-Voss'";
    const reasons = [
      { code: 'org_refused', message: `refused: ${sql}`, rule: 'org.custom' },
      { code: 'plain', message: 'statement 0 reads crm.customers', rule: 'org.plain' },
    ];
    const evaluation = { decision: { outcome: 'deny' as const, reasons, masks: [] }, revision: 'r', evalNs: 0 };
    const data = prepareEvent(plainEvent(1, { sql, evaluation }), options, 0).data as AuditRequestData;
    expect(JSON.stringify(data)).not.toContain('Quarrington');
    expect(data.decision!.reasons.map((r) => r.message)).toEqual(["refused: SELECT customer_id FROM crm.customers WHERE name = '?'", reasons[1]!.message]);
    expect(data.redactions).toContain('/decision/reasons/0/message');
    expect(data.redactions).not.toContain('/decision/reasons/1/message');
  });

  it('fills every field, so records read the same on every engine', () => {
    const data = prepareEvent(plainEvent(1), options, 0).data as AuditRequestData;
    expect(Object.values(data).every((v) => v !== undefined)).toBe(true);
    expect(data.timings_ms).toEqual({ decision: null, dry_run: null, upstream: null, total: 2 });
  });
});

describe('times', () => {
  it('reads durations and times', () => {
    expect(parseDuration('90d')).toBe(90 * 86_400_000);
    expect(parseDuration('1d12h')).toBe(36 * 3_600_000);
    expect(parseDuration('soon')).toBeUndefined();
    expect(parseTimeOrAgo('24h', 100 * 86_400_000)!.getTime()).toBe(99 * 86_400_000);
    expect(parseTimeOrAgo('2026-01-15T08:00:00Z')!.toISOString()).toBe('2026-01-15T08:00:00.000Z');
    expect(parseTimeOrAgo('yesterday')).toBeUndefined();
  });
});

describe('auditUnavailableBody', () => {
  it('is BigQuery’s transient backend error, which clients retry', () => {
    expect(auditUnavailableBody()).toEqual({
      error: {
        code: 503,
        message: expect.stringContaining('audit'),
        errors: [{ message: expect.any(String), domain: 'global', reason: 'backendError' }],
        status: 'UNAVAILABLE',
      },
    });
  });
});
