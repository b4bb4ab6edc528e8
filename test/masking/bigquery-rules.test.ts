// BigQuery's data masking rules, rule by rule and type by type, with the values BigQuery's
// documentation gives (column-data-masking-intro#masking_options and the Data Policy API's
// PredefinedExpression reference): the default masking values, XXXXX@gmail.com for
// cloudysanfrancisco@gmail.com, the year 2076 truncated to 2076-01-01, and so on. Values go in and
// out in BigQuery's REST form and are read back with the official Node client's parser.
import { createHash, createHmac } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import { describe, expect, it } from 'vitest';
import type { ContentScan, Mask, Strategy } from '../../engine/schema-types.ts';
import {
  BIGQUERY_RULES,
  compileMasker,
  isStrategy,
  MaskingError,
  REDACTED,
  ruleAllows,
  STRICTEST_STRATEGY,
  stricter,
  type SchemaField,
  type TableCell,
  type TableRow,
  type TableSchema,
} from '../../gateway/masking/index.ts';
import { KEY } from './support.ts';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64');
const sha256Bytes = (base64: string) => createHash('sha256').update(Buffer.from(base64, 'base64')).digest('base64');
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** One column of each type BigQuery masks, with a value in REST form. */
const COLUMNS: { field: SchemaField; value: string }[] = [
  { field: { name: 's', type: 'STRING' }, value: 'jane.doe@example.com' },
  { field: { name: 'b', type: 'BYTES' }, value: b64('hello world') },
  { field: { name: 'i', type: 'INTEGER' }, value: '42' },
  { field: { name: 'n', type: 'NUMERIC', precision: '10', scale: '2' } as SchemaField, value: '12.50' },
  { field: { name: 'bn', type: 'BIGNUMERIC' }, value: '123456789.123456789' },
  { field: { name: 'f', type: 'FLOAT' }, value: '3.25' },
  { field: { name: 'bo', type: 'BOOLEAN' }, value: 'true' },
  { field: { name: 'd', type: 'DATE' }, value: '2076-05-17' },
  { field: { name: 'dt', type: 'DATETIME' }, value: '2076-05-17T13:14:15.123456' },
  { field: { name: 't', type: 'TIME' }, value: '13:14:15' },
  { field: { name: 'ts', type: 'TIMESTAMP' }, value: '3356946855123456' },
  { field: { name: 'j', type: 'JSON' }, value: '{"a":1}' },
  { field: { name: 'g', type: 'GEOGRAPHY' }, value: 'POINT(1 2)' },
];
const TYPES = COLUMNS.map((c) => c.field.type);

const one = (field: SchemaField, v: TableCell['v']): { schema: TableSchema; rows: TableRow[] } => ({
  schema: { fields: [field] },
  rows: [{ f: [{ v }] }],
});

/** Masks one value of `field` under `strategy`: the REST value, the field sent, the Node client's value. */
function maskOne(field: SchemaField, value: TableCell['v'], strategy: Strategy, extra: Partial<Parameters<typeof compileMasker>[0]> = {}) {
  const { schema, rows } = one(field, value);
  const masker = compileMasker({ schema, masks: [{ output: field.name.toLowerCase(), strategy }], hashKey: KEY, ...extra });
  const out = masker.maskRows(rows).rows;
  // The client reads TIMESTAMPs as microseconds, or as seconds when it asked for those.
  const v0 = out[0]!.f[0]!.v;
  const micros = typeof v0 !== 'string' || /^-?\d+$/.test(v0);
  const parsed = BigQuery.mergeSchemaWithRows_(masker.schema as never, out as never, {
    wrapIntegers: false,
    parseJSON: true,
    listParams: { 'formatOptions.useInt64Timestamp': micros } as never,
  })[0] as Record<string, unknown>;
  return { rest: out[0]!.f[0]!.v, field: masker.schema.fields[0]!, parsed: parsed[field.name] };
}

function refusal(field: SchemaField, strategy: Strategy): MaskingError {
  try {
    maskOne(field, 'x', strategy);
  } catch (error) {
    expect(error).toBeInstanceOf(MaskingError);
    return error as MaskingError;
  }
  throw new Error(`${strategy} on ${field.type} was not refused`);
}

describe('the rules, by BigQuery name', () => {
  it('are all accepted strategies, next to the gateway\'s own names', () => {
    for (const rule of BIGQUERY_RULES) expect(isStrategy(rule)).toBe(true);
    for (const name of ['redact', 'hash', 'last-4', 'email-domain', 'null']) expect(isStrategy(name)).toBe(true);
    expect(isStrategy('sha256')).toBe(false);
  });

  it('allow exactly the types BigQuery allows them on', () => {
    const table = Object.fromEntries(BIGQUERY_RULES.map((rule) => [rule, TYPES.filter((t) => ruleAllows(rule, t))]));
    expect(table).toEqual({
      SHA256: ['STRING', 'BYTES'],
      ALWAYS_NULL: TYPES,
      DEFAULT_MASKING_VALUE: TYPES,
      LAST_FOUR_CHARACTERS: ['STRING'],
      FIRST_FOUR_CHARACTERS: ['STRING'],
      EMAIL_MASK: ['STRING'],
      DATE_YEAR_MASK: ['DATE', 'DATETIME', 'TIMESTAMP'],
      RANDOM_HASH: ['STRING', 'BYTES'],
    });
    // Standard SQL spellings count as their REST names.
    expect(ruleAllows('DEFAULT_MASKING_VALUE', 'INT64')).toBe(true);
    expect(ruleAllows('SHA256', 'INT64')).toBe(false);
    // BigQuery lists no default for these.
    expect(ruleAllows('DEFAULT_MASKING_VALUE', 'INTERVAL')).toBe(false);
    expect(ruleAllows('DEFAULT_MASKING_VALUE', 'RANGE')).toBe(false);
  });

  it('refuse a rule on a type BigQuery does not allow it on, naming the column and its type', () => {
    for (const rule of BIGQUERY_RULES) {
      for (const { field } of COLUMNS) {
        if (ruleAllows(rule, field.type)) continue;
        const error = refusal(field, rule);
        expect(error.code).toBe('unsupported_type');
        expect(error.message).toContain(`column ${field.name}, of type ${field.type}`);
        expect(error.message).toContain(rule);
      }
    }
    // Inside a RECORD the path names the field.
    const record: SchemaField = { name: 'person', type: 'RECORD', fields: [{ name: 'born', type: 'DATE' }] };
    const error = refusal(record, 'SHA256');
    expect(error.message).toBe('the mask SHA256 cannot apply to column person.born, of type DATE: BigQuery defines SHA256 for STRING and BYTES only');
  });
});

describe('SHA256', () => {
  it('hashes STRING as BigQuery\'s SHA256 does, returning the digest as base64 text (type kept)', () => {
    // BigQuery: SELECT SHA256("def@gmail.com") -> w5LlDr7Ke+pEBenFRQI0UaxWYgAx+BJj9oEmm94UIYs=
    const out = maskOne({ name: 's', type: 'STRING' }, 'def@gmail.com', 'SHA256');
    expect(out.rest).toBe('w5LlDr7Ke+pEBenFRQI0UaxWYgAx+BJj9oEmm94UIYs=');
    expect(out.field).toEqual({ name: 's', type: 'STRING' });
    // FIPS 180-2's "abc" vector, and text beyond ASCII hashed as UTF-8.
    expect(maskOne({ name: 's', type: 'STRING' }, 'abc', 'SHA256').rest).toBe('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
    expect(maskOne({ name: 's', type: 'STRING' }, 'Zoë ✓ 😀', 'SHA256').rest).toBe(sha256('Zoë ✓ 😀'));
    expect(maskOne({ name: 's', type: 'STRING' }, '', 'SHA256').rest).toBe('47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=');
  });

  it('hashes BYTES to the digest bytes (base64 in REST, as BigQuery sends BYTES)', () => {
    const out = maskOne({ name: 'b', type: 'BYTES' }, b64('abc'), 'SHA256');
    expect(out.rest).toBe('ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=');
    expect(out.field).toEqual({ name: 'b', type: 'BYTES' });
    expect(Buffer.from(out.parsed as Uint8Array).toString('hex')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    // URL-safe base64 (some servers) is the same bytes.
    expect(maskOne({ name: 'b', type: 'BYTES' }, '-_-_', 'SHA256').rest).toBe(sha256Bytes('+/+/'));
  });

  it('keeps nulls null, and hashes each element of an ARRAY and each STRING leaf of a STRUCT', () => {
    expect(maskOne({ name: 's', type: 'STRING' }, null, 'SHA256').rest).toBeNull();
    const array = maskOne({ name: 'a', type: 'STRING', mode: 'REPEATED' }, [{ v: 'x' }, { v: null }, { v: 'x' }], 'SHA256');
    expect(array.rest).toEqual([{ v: sha256('x') }, { v: null }, { v: sha256('x') }]);
    expect(array.field.mode).toBe('REPEATED');
    const struct: SchemaField = { name: 'st', type: 'RECORD', fields: [{ name: 'x', type: 'STRING' }, { name: 'y', type: 'BYTES' }] };
    expect(maskOne(struct, { f: [{ v: 'hi' }, { v: b64('hi') }] }, 'SHA256').rest).toEqual({ f: [{ v: sha256('hi') }, { v: sha256('hi') }] });
  });
});

describe('ALWAYS_NULL', () => {
  it('nulls every type, frees REQUIRED columns, empties arrays and nulls whole STRUCTs', () => {
    for (const { field, value } of COLUMNS) {
      const out = maskOne({ ...field, mode: 'REQUIRED' }, value, 'ALWAYS_NULL');
      expect(out.rest, field.type).toBeNull();
      expect(out.parsed, field.type).toBeNull();
      expect(out.field).toEqual({ ...field, mode: 'NULLABLE' });
    }
    expect(maskOne({ name: 'a', type: 'INTEGER', mode: 'REPEATED' }, [{ v: '1' }], 'ALWAYS_NULL').rest).toEqual([]);
    const struct: SchemaField = { name: 'st', type: 'RECORD', fields: [{ name: 'x', type: 'STRING' }] };
    expect(maskOne(struct, { f: [{ v: 'hi' }] }, 'ALWAYS_NULL').rest).toBeNull();
  });

  it('is the strictest strategy', () => {
    expect(STRICTEST_STRATEGY).toBe('ALWAYS_NULL');
    for (const s of [...BIGQUERY_RULES, 'redact', 'hash', 'last-4', 'email-domain', 'null'] as Strategy[]) {
      expect(stricter(s, STRICTEST_STRATEGY)).toBe('ALWAYS_NULL');
      expect(stricter(STRICTEST_STRATEGY, s)).toBe('ALWAYS_NULL');
    }
  });
});

describe('DEFAULT_MASKING_VALUE', () => {
  // BigQuery's list: STRING "", BYTES b'', INTEGER 0, FLOAT 0.0, NUMERIC 0, BOOLEAN FALSE,
  // TIMESTAMP 1970-01-01 00:00:00 UTC, DATE 1970-01-01, TIME 00:00:00, DATETIME 1970-01-01T00:00:00,
  // GEOGRAPHY POINT(0 0), BIGNUMERIC 0, ARRAY [], STRUCT NOT_APPLICABLE (its leaves), JSON NULL.
  const expected: Record<string, { rest: string | null; parsed: unknown }> = {
    STRING: { rest: '', parsed: '' },
    BYTES: { rest: '', parsed: Buffer.alloc(0) },
    INTEGER: { rest: '0', parsed: 0 },
    NUMERIC: { rest: '0', parsed: '0' }, // the client's Big, compared as text
    BIGNUMERIC: { rest: '0', parsed: '0' },
    FLOAT: { rest: '0.0', parsed: 0 },
    BOOLEAN: { rest: 'false', parsed: false },
    DATE: { rest: '1970-01-01', parsed: { value: '1970-01-01' } },
    DATETIME: { rest: '1970-01-01T00:00:00', parsed: { value: '1970-01-01T00:00:00' } },
    TIME: { rest: '00:00:00', parsed: { value: '00:00:00' } },
    TIMESTAMP: { rest: '0', parsed: { value: '1970-01-01T00:00:00.000Z' } },
    JSON: { rest: null, parsed: null },
    GEOGRAPHY: { rest: 'POINT(0 0)', parsed: { value: 'POINT(0 0)' } },
  };

  it('gives each type its default, in that type, which the official client parses as such', () => {
    for (const { field, value } of COLUMNS) {
      const out = maskOne(field, value, 'DEFAULT_MASKING_VALUE');
      expect(out.rest, field.type).toBe(expected[field.type]!.rest);
      const parsed = field.type.endsWith('NUMERIC') ? String(out.parsed) : out.parsed;
      expect(parsed, field.type).toEqual(expected[field.type]!.parsed);
      // The column keeps its type and its parameters.
      expect(out.field, field.type).toEqual(field);
    }
    // JSON's default is NULL: a REQUIRED JSON column may be NULL now. Elsewhere REQUIRED stays.
    expect(maskOne({ name: 'j', type: 'JSON', mode: 'REQUIRED' }, '{}', 'DEFAULT_MASKING_VALUE').field).toEqual({ name: 'j', type: 'JSON', mode: 'NULLABLE' });
    // Standard SQL spellings.
    expect(maskOne({ name: 'i', type: 'INT64', mode: 'REQUIRED' }, '7', 'DEFAULT_MASKING_VALUE')).toMatchObject({ rest: '0', field: { type: 'INT64', mode: 'REQUIRED' } });
    expect(maskOne({ name: 'x', type: 'BOOL' }, 'true', 'DEFAULT_MASKING_VALUE').parsed).toBe(false);
  });

  it('writes 1970-01-01 00:00:00 UTC in the form the TIMESTAMP came in', () => {
    const ts: SchemaField = { name: 'ts', type: 'TIMESTAMP' };
    expect(maskOne(ts, '3356946855123456', 'DEFAULT_MASKING_VALUE').rest).toBe('0'); // useInt64Timestamp
    expect(maskOne(ts, '3356946855.000000', 'DEFAULT_MASKING_VALUE')).toMatchObject({ rest: '0.000000', parsed: { value: '1970-01-01T00:00:00.000Z' } }); // seconds
    expect(maskOne(ts, '3.356946855E9', 'DEFAULT_MASKING_VALUE').rest).toBe('0.0'); // BigQuery's float form
    expect(maskOne(ts, '2076-05-17 13:14:15 UTC', 'DEFAULT_MASKING_VALUE').rest).toBe('1970-01-01 00:00:00 UTC');
    expect(maskOne(ts, '2076-05-17T13:14:15Z', 'DEFAULT_MASKING_VALUE').rest).toBe('1970-01-01T00:00:00Z');
  });

  it('empties an ARRAY ([]) and gives each leaf of a STRUCT its own default', () => {
    const array = maskOne({ name: 'a', type: 'DATE', mode: 'REPEATED' }, [{ v: '2024-01-01' }], 'DEFAULT_MASKING_VALUE');
    expect(array.rest).toEqual([]);
    expect(array.field).toEqual({ name: 'a', type: 'DATE', mode: 'REPEATED' });
    const struct: SchemaField = {
      name: 'st',
      type: 'RECORD',
      fields: [
        { name: 'x', type: 'STRING' },
        { name: 'y', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'tags', type: 'STRING', mode: 'REPEATED' },
        { name: 'inner', type: 'RECORD', fields: [{ name: 'ok', type: 'BOOLEAN' }] },
      ],
    };
    const out = maskOne(struct, { f: [{ v: 'hi' }, { v: '7' }, { v: [{ v: 'a' }] }, { v: { f: [{ v: 'true' }] } }] }, 'DEFAULT_MASKING_VALUE');
    expect(out.rest).toEqual({ f: [{ v: '' }, { v: '0' }, { v: [] }, { v: { f: [{ v: 'false' }] } }] });
    expect(out.field).toEqual(struct);
    expect(out.parsed).toEqual({ x: '', y: 0, tags: [], inner: { ok: false } });
    // An array of STRUCTs is an ARRAY: [].
    expect(maskOne({ ...struct, mode: 'REPEATED' }, [{ v: { f: [{ v: 'hi' }, { v: '7' }, { v: [] }, { v: null }] } }], 'DEFAULT_MASKING_VALUE').rest).toEqual([]);
  });

  it('keeps nulls null', () => {
    for (const { field } of COLUMNS) expect(maskOne(field, null, 'DEFAULT_MASKING_VALUE').rest).toBeNull();
  });
});

describe('LAST_FOUR_CHARACTERS and FIRST_FOUR_CHARACTERS', () => {
  const s: SchemaField = { name: 's', type: 'STRING' };

  it('show XXXXX and the last four, or the first four and XXXXX, whatever the length', () => {
    expect(maskOne(s, '123-45-6789', 'LAST_FOUR_CHARACTERS').rest).toBe('XXXXX6789');
    expect(maskOne(s, '4111 1111 1111 1111', 'FIRST_FOUR_CHARACTERS').rest).toBe('4111XXXXX');
    expect(maskOne(s, '12345', 'LAST_FOUR_CHARACTERS').rest).toBe('XXXXX2345');
    expect(maskOne(s, '12345', 'FIRST_FOUR_CHARACTERS').rest).toBe('1234XXXXX');
    expect(maskOne(s, 'a long free-text value', 'LAST_FOUR_CHARACTERS').rest).toBe('XXXXXalue');
  });

  it('count characters, not UTF-16 units or bytes', () => {
    expect(maskOne(s, 'naïve😀café', 'LAST_FOUR_CHARACTERS').rest).toBe('XXXXXcafé');
    expect(maskOne(s, 'naïve😀café', 'FIRST_FOUR_CHARACTERS').rest).toBe('naïvXXXXX');
    expect(maskOne(s, 'ab😀😀😀', 'LAST_FOUR_CHARACTERS').rest).toBe('XXXXXb😀😀😀');
    // Four characters, though 8 UTF-16 units: short, so hashed.
    expect(maskOne(s, '😀😀😀😀', 'LAST_FOUR_CHARACTERS').rest).toBe(sha256('😀😀😀😀'));
  });

  it('hash a value of four characters or fewer (SHA256) instead of showing it whole', () => {
    for (const rule of ['LAST_FOUR_CHARACTERS', 'FIRST_FOUR_CHARACTERS'] as const) {
      expect(maskOne(s, '1234', rule).rest).toBe(sha256('1234'));
      expect(maskOne(s, 'ab', rule).rest).toBe(sha256('ab'));
      expect(maskOne(s, '', rule).rest).toBe(sha256(''));
    }
  });

  it('keep the column STRING, and apply to each element of a STRING ARRAY', () => {
    const out = maskOne({ name: 'a', type: 'STRING', mode: 'REPEATED' }, [{ v: '202-555-0147' }, { v: '42' }], 'LAST_FOUR_CHARACTERS');
    expect(out.rest).toEqual([{ v: 'XXXXX0147' }, { v: sha256('42') }]);
    expect(out.field).toEqual({ name: 'a', type: 'STRING', mode: 'REPEATED' });
  });
});

describe('EMAIL_MASK', () => {
  const s: SchemaField = { name: 's', type: 'STRING' };
  const run = (v: string) => maskOne(s, v, 'EMAIL_MASK').rest;

  it('replaces the username of a syntax-valid address with XXXXX', () => {
    expect(run('cloudysanfrancisco@gmail.com')).toBe('XXXXX@gmail.com'); // BigQuery's own example
    expect(run('a.b+tag@mail.example.org')).toBe('XXXXX@mail.example.org');
    expect(run('"john@doe"@example.com')).toBe('XXXXX@example.com');
    expect(run('user@[192.168.0.1]')).toBe('XXXXX@[192.168.0.1]');
    expect(run('root@localhost')).toBe('XXXXX@localhost');
  });

  it('hashes (SHA256) anything that is not a syntax-valid address', () => {
    for (const v of ['not an address', 'trailing@', '@leading.com', 'a@b@c.com', 'two..dots@example.com', 'space in@example.com', 'x@-bad-.com', 'josé@example.com', '']) {
      expect(run(v), v).toBe(sha256(v));
    }
  });
});

describe('DATE_YEAR_MASK', () => {
  // BigQuery: with the year 2076, DATE 2076-01-01, DATETIME 2076-01-01T00:00:00, TIMESTAMP
  // 2076-01-01 00:00:00 UTC; truncation in UTC.
  it('truncates DATE, DATETIME and TIMESTAMP to 1 January of the year, in their own type', () => {
    const d = maskOne({ name: 'd', type: 'DATE' }, '2076-05-17', 'DATE_YEAR_MASK');
    expect(d).toMatchObject({ rest: '2076-01-01', field: { type: 'DATE' }, parsed: { value: '2076-01-01' } });
    const dt = maskOne({ name: 'dt', type: 'DATETIME' }, '2076-05-17T13:14:15.123456', 'DATE_YEAR_MASK');
    expect(dt).toMatchObject({ rest: '2076-01-01T00:00:00', field: { type: 'DATETIME' }, parsed: { value: '2076-01-01T00:00:00' } });
    const ts = maskOne({ name: 'ts', type: 'TIMESTAMP' }, '3356946855123456', 'DATE_YEAR_MASK');
    expect(ts).toMatchObject({ rest: '3345062400000000', field: { type: 'TIMESTAMP' }, parsed: { value: '2076-01-01T00:00:00.000Z' } });
  });

  it('reads and writes every TIMESTAMP form, exactly at the year\'s edges and before 1970', () => {
    const ts: SchemaField = { name: 'ts', type: 'TIMESTAMP' };
    const run = (v: string) => maskOne(ts, v, 'DATE_YEAR_MASK').rest;
    expect(run('3356946855.000000')).toBe('3345062400.000000'); // the emulator's seconds
    expect(run('3.356946855E9')).toBe('3.3450624E9'); // BigQuery's default float form
    expect(run('3376684799999999')).toBe('3345062400000000'); // 2076-12-31 23:59:59.999999
    expect(run('3.3766847999999990E9')).toBe('3.3450624E9');
    expect(run('3345062400000000')).toBe('3345062400000000'); // already 1 January
    expect(run('-1')).toBe('-31536000000000'); // 1969-12-31 23:59:59.999999 -> 1969-01-01
    expect(run('-0.5')).toBe('-31536000.0');
    expect(run('-5.0E-1')).toBe('-3.1536E7');
    expect(run('-62135596800000000')).toBe('-62135596800000000'); // 0001-01-01, BigQuery's minimum
    expect(run('2076-05-17 13:14:15.123456 UTC')).toBe('2076-01-01 00:00:00 UTC');
    expect(run('2076-05-17T13:14:15Z')).toBe('2076-01-01T00:00:00Z');
    // Truncated in UTC: 00:30 on 1 January 2077 at +01:00 is still 2076 in UTC.
    expect(run('2077-01-01T00:30:00+01:00')).toBe('2076-01-01T00:00:00+00:00');
    expect(run('0001-03-01 00:00:00 UTC')).toBe('0001-01-01 00:00:00 UTC');
  });

  it('keeps DATETIME\'s separator and treats each element of an ARRAY', () => {
    expect(maskOne({ name: 'dt', type: 'DATETIME' }, '2076-05-17 13:14:15', 'DATE_YEAR_MASK').rest).toBe('2076-01-01 00:00:00');
    const out = maskOne({ name: 'a', type: 'DATE', mode: 'REPEATED' }, [{ v: '2024-02-29' }, { v: '1999-12-31' }], 'DATE_YEAR_MASK');
    expect(out.rest).toEqual([{ v: '2024-01-01' }, { v: '1999-01-01' }]);
  });
});

describe('RANDOM_HASH', () => {
  const s: SchemaField = { name: 's', type: 'STRING' };
  const schema: TableSchema = { fields: [s] };
  const rows = ['a', 'b', 'a'].map((v) => ({ f: [{ v }] }));
  const hashed = (job: string | undefined, key = KEY) =>
    compileMasker({ schema, masks: [{ output: 's', strategy: 'RANDOM_HASH' }], hashKey: key, job })
      .maskRows(rows)
      .rows.map((r) => r.f[0]!.v as string);

  it('hashes equal values equally within one query job, on every page', () => {
    const page1 = hashed('job acme-analytics:job_1');
    expect(page1[0]).toBe(page1[2]);
    expect(page1[0]).not.toBe(page1[1]);
    expect(page1[0]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    // Another page of the same job: another masker, the same digests.
    expect(hashed('job acme-analytics:job_1')).toEqual(page1);
  });

  it('hashes differently in another job, under another key, and without a job in each answer', () => {
    const page1 = hashed('job acme-analytics:job_1');
    expect(hashed('job acme-analytics:job_2')[0]).not.toBe(page1[0]);
    expect(hashed('job acme-analytics:job_1', 'another-key-0123456789abcdef')[0]).not.toBe(page1[0]);
    expect(hashed(undefined)[0]).not.toBe(hashed(undefined)[0]);
    expect(page1[0]).not.toBe(sha256('a'));
  });

  it('is HMAC-SHA256 of the value under a salt derived from the key and the job', () => {
    const salt = createHmac('sha256', KEY).update('sluice RANDOM_HASH salt\0job p:j').digest();
    expect(hashed('job p:j')[0]).toBe(createHmac('sha256', salt).update('a').digest('base64'));
    // BYTES: of the decoded bytes, as bytes.
    const out = maskOne({ name: 'b', type: 'BYTES' }, b64('a'), 'RANDOM_HASH', { job: 'job p:j' });
    expect(out.rest).toBe(createHmac('sha256', salt).update('a').digest('base64'));
    expect(out.field).toEqual({ name: 'b', type: 'BYTES' });
  });
});

describe('several masks on one value', () => {
  const order: Strategy[] = [
    'ALWAYS_NULL',
    'null',
    'redact',
    'DEFAULT_MASKING_VALUE',
    'DATE_YEAR_MASK',
    'RANDOM_HASH',
    'hash',
    'email-domain',
    'EMAIL_MASK',
    'FIRST_FOUR_CHARACTERS',
    'last-4',
    'LAST_FOUR_CHARACTERS',
    'SHA256',
  ];

  it('the strictest wins, in this order, whatever order they come in', () => {
    for (let i = 0; i < order.length; i++) {
      for (let j = i + 1; j < order.length; j++) {
        expect(stricter(order[i], order[j])).toBe(order[i]);
        expect(stricter(order[j], order[i])).toBe(order[i]);
      }
    }
  });

  it('applies the winner, which must itself fit the type', () => {
    const schema: TableSchema = { fields: [{ name: 'email', type: 'STRING' }, { name: 'born', type: 'DATE' }] };
    const rows: TableRow[] = [{ f: [{ v: 'jane@example.com' }, { v: '1990-06-01' }] }];
    const masks: Mask[] = [
      { output: 'email', strategy: 'SHA256' },
      { output: '*', strategy: 'EMAIL_MASK' },
    ];
    // EMAIL_MASK wins on email, but cannot apply to the DATE column `*` also covers.
    expect(() => compileMasker({ schema, masks, hashKey: KEY })).toThrow(/EMAIL_MASK cannot apply to column born, of type DATE/);
    const ok = compileMasker({ schema, masks: [...masks.slice(0, 1), { output: 'email', strategy: 'EMAIL_MASK' }, { output: 'born', strategy: 'SHA256' }, { output: 'born', strategy: 'DATE_YEAR_MASK' }], hashKey: KEY });
    expect(ok.maskRows(rows).rows[0]!.f.map((c) => c.v)).toEqual(['XXXXX@example.com', '1990-01-01']);
  });
});

describe('next to the gateway\'s own names', () => {
  it('BigQuery\'s rules keep the column\'s type where the old names turn it into STRING', () => {
    const i: SchemaField = { name: 'i', type: 'INTEGER', mode: 'REQUIRED' };
    expect(maskOne(i, '42', 'redact')).toMatchObject({ rest: REDACTED, field: { type: 'STRING', mode: 'REQUIRED' } });
    expect(maskOne(i, '42', 'DEFAULT_MASKING_VALUE')).toMatchObject({ rest: '0', field: { type: 'INTEGER', mode: 'REQUIRED' }, parsed: 0 });
    expect(maskOne(i, '42', 'null')).toMatchObject({ rest: null, field: { type: 'INTEGER', mode: 'NULLABLE' } });
    expect(maskOne({ name: 'd', type: 'DATE' }, '2076-05-17', 'hash').field.type).toBe('STRING');
    expect(maskOne({ name: 'd', type: 'DATE' }, '2076-05-17', 'DATE_YEAR_MASK').field.type).toBe('DATE');
  });
});

describe('as the content scan strategy', () => {
  const schema: TableSchema = { fields: [{ name: 'note', type: 'STRING' }, { name: 'doc', type: 'JSON' }] };
  const note = 'call 202-555-0147 or mail jane.doe@example.com, ssn 123-45-6789';
  const scan = (strategy: Strategy, v = note, doc: string | null = null) => {
    const contentScan: ContentScan = { detectors: ['ssn', 'email', 'phone'], strategy };
    const masker = compileMasker({ schema, masks: [], contentScan, hashKey: KEY, job: 'job p:j' });
    return masker.maskRows([{ f: [{ v }, { v: doc }] }]).rows[0]!.f.map((c) => c.v);
  };

  it('applies each rule to the matched text', () => {
    expect(scan('EMAIL_MASK')[0]).toBe(`call ${sha256('202-555-0147')} or mail XXXXX@example.com, ssn ${sha256('123-45-6789')}`);
    expect(scan('LAST_FOUR_CHARACTERS')[0]).toBe('call XXXXX0147 or mail XXXXX.com, ssn XXXXX6789');
    expect(scan('FIRST_FOUR_CHARACTERS')[0]).toBe('call 202-XXXXX or mail janeXXXXX, ssn 123-XXXXX');
    expect(scan('SHA256')[0]).toBe(`call ${sha256('202-555-0147')} or mail ${sha256('jane.doe@example.com')}, ssn ${sha256('123-45-6789')}`);
    expect(scan('DEFAULT_MASKING_VALUE')[0]).toBe('call  or mail , ssn ');
    expect(scan('ALWAYS_NULL')[0]).toBeNull();
    expect(scan('RANDOM_HASH')[0]).toMatch(/^call [A-Za-z0-9+/]{43}= or mail [A-Za-z0-9+/]{43}=, ssn [A-Za-z0-9+/]{43}=$/);
  });

  it('keeps JSON valid, and refuses DATE_YEAR_MASK, which masks no text', () => {
    const [, doc] = scan('SHA256', 'nothing', '{"ssn":"123-45-6789","n":1}');
    expect(JSON.parse(doc as string)).toEqual({ ssn: sha256('123-45-6789'), n: 1 });
    expect(() => scan('DATE_YEAR_MASK')).toThrow(MaskingError);
  });
});
