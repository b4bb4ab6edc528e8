import { createHmac } from 'node:crypto';
import { BigQuery } from '@google-cloud/bigquery';
import { describe, expect, it } from 'vitest';
import {
  compileMasker,
  HASH_PREFIX,
  MaskingError,
  REDACTED,
  selectSchemaFields,
  type MaskerOptions,
  type SchemaField,
  type TableRow,
  type TableSchema,
} from '../../gateway/masking/index.ts';
import type { ContentScan, Mask } from '../../engine/schema-types.ts';

const KEY = 'test-hash-key-0123456789abcdef';

type Plain = string | null | Plain[] | { [name: string]: Plain };

/** Builds a REST row (`{ f: [{ v }] }`) from a plain object, following the schema. */
function restRow(fields: readonly SchemaField[], values: Record<string, Plain>): TableRow {
  return { f: fields.map((field) => ({ v: restValue(field, values[field.name] ?? null) })) };
}

function restValue(field: SchemaField, value: Plain): TableRow['f'][number]['v'] {
  if (value === null) return field.mode === 'REPEATED' ? [] : null;
  if (field.mode === 'REPEATED') {
    return (value as Plain[]).map((element) => ({ v: restValue({ ...field, mode: 'NULLABLE' }, element) }));
  }
  if (field.type === 'RECORD') return restRow(field.fields as SchemaField[], value as Record<string, Plain>);
  return value as string;
}

/** What the official Node client hands an application for these rows and this schema. */
function parse(schema: TableSchema, rows: TableRow[], listParams?: Record<string, unknown>): Record<string, unknown>[] {
  return BigQuery.mergeSchemaWithRows_(schema as never, rows as never, {
    wrapIntegers: false,
    parseJSON: true,
    ...(listParams ? { listParams: listParams as never } : {}),
  });
}

function mask(schema: TableSchema, masks: Mask[], rows: TableRow[], contentScan?: ContentScan) {
  const masker = compileMasker({ schema, masks, contentScan, hashKey: KEY });
  const page = masker.maskRows(rows);
  return { masker, ...page, parsed: parse(masker.schema, page.rows) };
}

function maskingError(options: MaskerOptions, rows: TableRow[] = []): MaskingError {
  try {
    compileMasker(options).maskRows(rows);
  } catch (error) {
    expect(error).toBeInstanceOf(MaskingError);
    return error as MaskingError;
  }
  throw new Error('expected a MaskingError');
}

const hmac = (value: string, key = KEY) =>
  HASH_PREFIX + createHmac('sha256', key).update(value).digest('hex').slice(0, 24);

const people: TableSchema = {
  fields: [
    { name: 'Name', type: 'STRING' },
    { name: 'SSN', type: 'STRING' },
    { name: 'Email', type: 'STRING' },
    { name: 'card', type: 'STRING' },
  ],
};
const jane = restRow(people.fields, {
  Name: 'Jane Doe',
  SSN: '123-45-6789',
  Email: 'jane.doe@example.com',
  card: '4111 1111 1111 1111',
});

describe('strategies', () => {
  it('redacts, hashes, keeps the last four, keeps the email domain, nulls', () => {
    const { parsed, stats } = mask(
      people,
      [
        { output: 'name', strategy: 'redact' },
        { output: 'ssn', strategy: 'last-4' },
        { output: 'email', strategy: 'email-domain' },
        { output: 'card', strategy: 'hash' },
      ],
      [jane],
    );
    expect(parsed).toEqual([
      { Name: REDACTED, SSN: '***-**-6789', Email: '***@example.com', card: hmac('4111 1111 1111 1111') },
    ]);
    expect(stats.cellsMasked).toBe(4);

    const nulled = mask(people, [{ output: 'email', strategy: 'null' }], [jane]);
    expect(nulled.parsed[0]!.Email).toBeNull();
  });

  it('last-4 keeps separators and never shows more than half of a short value', () => {
    const schema: TableSchema = { fields: [{ name: 'v', type: 'STRING' }] };
    const run = (v: string) =>
      mask(schema, [{ output: 'v', strategy: 'last-4' }], [restRow(schema.fields, { v })]).parsed[0]!.v;
    expect(run('4111-1111-1111-1234')).toBe('****-****-****-1234');
    expect(run('(212) 555-0147')).toBe('(***) ***-0147');
    expect(run('AB12CD34')).toBe('****CD34');
    expect(run('1234')).toBe('**34');
    expect(run('7')).toBe('*');
    expect(run('Zoë Ørsted 4455')).toBe('*** ****** 4455');
  });

  it('email-domain redacts anything that is not an address', () => {
    const schema: TableSchema = { fields: [{ name: 'v', type: 'STRING' }] };
    const run = (v: string) =>
      mask(schema, [{ output: 'v', strategy: 'email-domain' }], [restRow(schema.fields, { v })]).parsed[0]!.v;
    expect(run('a.b+tag@mail.example.org')).toBe('***@mail.example.org');
    expect(run('not an address')).toBe(REDACTED);
    expect(run('trailing@')).toBe(REDACTED);
    expect(run('@leading.com')).toBe(REDACTED);
  });

  it('hash is a truncated HMAC-SHA256: deterministic across queries, different under another key', () => {
    const schema: TableSchema = { fields: [{ name: 'id', type: 'STRING' }] };
    const rows = ['a', 'b', 'a', 'é✓'].map((id) => restRow(schema.fields, { id }));
    const hashOnce = (hashKey: string) =>
      compileMasker({ schema, masks: [{ output: 'id', strategy: 'hash' }], hashKey })
        .maskRows(rows)
        .rows.map((r) => r.f[0]!.v);
    const first = hashOnce(KEY);
    expect(first).toEqual([hmac('a'), hmac('b'), hmac('a'), hmac('é✓')]);
    expect(first[0]).toMatch(/^hash:[0-9a-f]{24}$/);
    expect(hashOnce(KEY)).toEqual(first);
    const otherKey = 'another-key-0123456789abcdef';
    expect(hashOnce(otherKey)).toEqual(['a', 'b', 'a', 'é✓'].map((v) => hmac(v, otherKey)));
    expect(hashOnce(otherKey)[0]).not.toBe(first[0]);
  });

  it('hash handles values longer than its working buffer', () => {
    const schema: TableSchema = { fields: [{ name: 'doc', type: 'STRING' }] };
    const long = 'ü'.repeat(5000);
    const { parsed } = mask(schema, [{ output: 'doc', strategy: 'hash' }], [restRow(schema.fields, { doc: long })]);
    expect(parsed[0]!.doc).toBe(hmac(long));
  });

  it('when masks overlap, the most restrictive strategy wins whatever their order', () => {
    const masks: Mask[] = [
      { output: 'ssn', strategy: 'last-4' },
      { output: '*', strategy: 'hash' },
      { output: 'email', strategy: 'redact' },
    ];
    for (const order of [masks, [...masks].reverse()]) {
      const { parsed } = mask(people, order, [jane]);
      expect(parsed[0]).toEqual({
        Name: hmac('Jane Doe'),
        SSN: hmac('123-45-6789'),
        Email: REDACTED,
        card: hmac('4111 1111 1111 1111'),
      });
    }
  });
});

describe('column resolution', () => {
  it('matches output names case-insensitively', () => {
    const { parsed } = mask(
      people,
      [
        { output: 'email', strategy: 'redact' },
        { output: 'ssn', strategy: 'redact' },
      ],
      [jane],
    );
    expect(parsed[0]).toMatchObject({ Email: REDACTED, SSN: REDACTED, Name: 'Jane Doe' });
  });

  it('`*` masks every column', () => {
    const { parsed, stats } = mask(people, [{ output: '*', strategy: 'redact' }], [jane, jane]);
    expect(parsed).toEqual(Array(2).fill({ Name: REDACTED, SSN: REDACTED, Email: REDACTED, card: REDACTED }));
    expect(stats.cellsMasked).toBe(8);
  });

  it('refuses a mask on an output column the result does not have', () => {
    const error = maskingError({ schema: people, masks: [{ output: 'phone', strategy: 'redact' }], hashKey: KEY });
    expect(error.code).toBe('unknown_output');
    expect(error.message).toContain('phone');
  });

  it('refuses a path that does not exist or descends into a scalar', () => {
    expect(
      maskingError({
        schema: nested,
        masks: [{ output: 'address', path: ['country'], strategy: 'redact' }],
        hashKey: KEY,
      }).code,
    ).toBe('unknown_path');
    expect(
      maskingError({ schema: nested, masks: [{ output: 'id', path: ['x'], strategy: 'redact' }], hashKey: KEY }).code,
    ).toBe('path_not_record');
    expect(
      maskingError({
        schema: nested,
        masks: [{ output: 'address', path: ['street', 'x'], strategy: 'redact' }],
        hashKey: KEY,
      }).code,
    ).toBe('path_not_record');
  });

  it('refuses malformed masks, weak keys and rows that do not fit the schema', () => {
    expect(
      maskingError({ schema: people, masks: [{ output: '*', path: ['a'], strategy: 'redact' }], hashKey: KEY }).code,
    ).toBe('invalid_mask');
    expect(
      maskingError({ schema: people, masks: [{ output: 'ssn', strategy: 'scramble' as never }], hashKey: KEY }).code,
    ).toBe('invalid_mask');
    expect(maskingError({ schema: people, masks: [], hashKey: 'short' }).code).toBe('invalid_key');
    const masks: Mask[] = [{ output: 'ssn', strategy: 'redact' }];
    expect(maskingError({ schema: people, masks, hashKey: KEY }, [{ f: [{ v: 'x' }] }]).code).toBe('row_shape');
    const badRecord = restRow(nested.fields, { id: '1' });
    badRecord.f[1] = { v: 'not a record' };
    expect(
      maskingError(
        { schema: nested, masks: [{ output: 'address', path: ['street'], strategy: 'redact' }], hashKey: KEY },
        [badRecord],
      ).code,
    ).toBe('row_shape');
  });

  it('passes rows through when the decision touches nothing', () => {
    const masker = compileMasker({ schema: people, masks: [], hashKey: KEY });
    expect(masker.active).toBe(false);
    const page = masker.maskRows([jane]);
    expect(page.rows).toEqual([jane]);
    expect(page.stats.cellsMasked).toBe(0);
  });
});

const nested: TableSchema = {
  fields: [
    { name: 'id', type: 'INTEGER', mode: 'REQUIRED' },
    {
      name: 'Address',
      type: 'RECORD',
      fields: [
        { name: 'Street', type: 'STRING' },
        { name: 'zip', type: 'STRING' },
      ],
    },
    { name: 'phones', type: 'STRING', mode: 'REPEATED' },
    {
      name: 'orders',
      type: 'RECORD',
      mode: 'REPEATED',
      fields: [
        { name: 'card', type: 'STRING' },
        { name: 'amount', type: 'NUMERIC' },
        {
          name: 'shipping',
          type: 'RECORD',
          fields: [
            { name: 'street', type: 'STRING' },
            { name: 'notes', type: 'STRING', mode: 'REPEATED' },
          ],
        },
      ],
    },
  ],
};

const customer = restRow(nested.fields, {
  id: '7',
  Address: { Street: '1 Main St', zip: '90210' },
  phones: ['212-555-0147', null, '646-555-0199'],
  orders: [
    {
      card: '4111111111111111',
      amount: '9.99',
      shipping: { street: '2 Side St', notes: ['leave at door', 'ring twice'] },
    },
    { card: null, amount: '1.50', shipping: null },
  ],
});

describe('nested fields', () => {
  it('masks a field inside a RECORD', () => {
    const { parsed } = mask(nested, [{ output: 'address', path: ['street'], strategy: 'redact' }], [customer]);
    expect(parsed[0]!.Address).toEqual({ Street: REDACTED, zip: '90210' });
  });

  it('masks every element of a REPEATED field, leaving null elements null', () => {
    const { parsed, stats } = mask(nested, [{ output: 'phones', strategy: 'last-4' }], [customer]);
    expect(parsed[0]!.phones).toEqual(['***-***-0147', null, '***-***-0199']);
    expect(stats.cellsMasked).toBe(2);
  });

  it('masks a field in each element of a REPEATED RECORD, and deeper inside a struct in the array', () => {
    const { parsed } = mask(
      nested,
      [
        { output: 'orders', path: ['card'], strategy: 'last-4' },
        { output: 'orders', path: ['shipping', 'notes'], strategy: 'redact' },
      ],
      [customer],
    );
    expect(parsed[0]!.orders).toEqual([
      {
        card: '************1111',
        amount: expect.anything(),
        shipping: { street: '2 Side St', notes: [REDACTED, REDACTED] },
      },
      { card: null, amount: expect.anything(), shipping: null },
    ]);
  });

  it('masking a whole RECORD masks all of its leaves; `null` nulls the record, or empties the array', () => {
    const leaves = mask(nested, [{ output: 'orders', strategy: 'hash' }], [customer]);
    expect(leaves.masker.schema.fields[3]!.fields![1]!.type).toBe('STRING');
    expect((leaves.parsed[0]!.orders as unknown[])[0]).toEqual({
      card: hmac('4111111111111111'),
      amount: hmac('9.99'),
      shipping: { street: hmac('2 Side St'), notes: [hmac('leave at door'), hmac('ring twice')] },
    });

    const nulled = mask(
      nested,
      [
        { output: 'address', strategy: 'null' },
        { output: 'orders', strategy: 'null' },
      ],
      [customer],
    );
    expect(nulled.parsed[0]).toMatchObject({ Address: null, orders: [] });
  });

  it('a stricter mask inside a masked RECORD wins for that field only', () => {
    const { parsed } = mask(
      nested,
      [
        { output: 'address', strategy: 'last-4' },
        { output: 'address', path: ['zip'], strategy: 'null' },
      ],
      [customer],
    );
    expect(parsed[0]!.Address).toEqual({ Street: '* ***n St', zip: null }); // 7 letters and digits: 3 shown
  });

  it('keeps nulls null at every level', () => {
    const empty = restRow(nested.fields, {
      id: '8',
      Address: null,
      phones: null,
      orders: [{ card: null, amount: null, shipping: null }],
    });
    const { parsed, stats } = mask(
      nested,
      [
        { output: 'address', path: ['street'], strategy: 'redact' },
        { output: 'phones', strategy: 'redact' },
        { output: 'orders', path: ['card'], strategy: 'redact' },
        { output: 'orders', path: ['shipping', 'street'], strategy: 'hash' },
      ],
      [empty],
    );
    expect(parsed[0]).toMatchObject({
      Address: null,
      phones: [],
      orders: [{ card: null, amount: null, shipping: null }],
    });
    expect(stats.cellsMasked).toBe(0);
  });
});

describe('content scan', () => {
  const text: TableSchema = {
    fields: [
      { name: 'note', type: 'STRING' },
      { name: 'n', type: 'INTEGER' },
    ],
  };
  const scanAll: ContentScan = { detectors: ['ssn', 'card', 'email', 'phone'], strategy: 'redact' };
  const scan = (note: string, contentScan: ContentScan = scanAll) =>
    mask(text, [], [restRow(text.fields, { note, n: '4111111111111112' })], contentScan);

  it.each([
    ['ssn 078-05-1120 on file', 'ssn [REDACTED] on file'],
    ['card 4111 1111 1111 1111.', 'card [REDACTED].'],
    ['card 5555-5555-5555-4444 exp 12/27', 'card [REDACTED] exp 12/27'],
    ['amex 378282246310005', 'amex [REDACTED]'],
    ['write to jane.doe+x@mail.example.co.uk!', 'write to [REDACTED]!'],
    ['call (212) 555-0147 today', 'call [REDACTED] today'],
    ['call 212.555.0147', 'call [REDACTED]'],
    ['call +1 212-555-0147', 'call [REDACTED]'],
    ['intl +44 20 7946 0958 or +4915123456789', 'intl [REDACTED] or [REDACTED]'],
  ])('masks what it detects: %s', (note, expected) => {
    const { parsed, stats } = scan(note);
    expect(parsed[0]!.note).toBe(expected);
    expect(stats.contentScanCells).toBe(1);
  });

  it.each([
    'area 000-12-3456, 666-12-3456 and 900-12-3456 are never issued',
    'group 123-00-4567 and serial 123-45-0000 neither',
    'luhn fails: 4111 1111 1111 1112 and 1234567890123456',
    'order 2024-01-15 at 2024-01-15T10:30:00Z, time 10:30:45, ts 1700000000123456',
    'plain integers 2125550147 and 12345678901, float 212.5550147',
    'version 1.2.3, ip 10.212.55.147, range 100-200-3000',
    'no at sign here, nor user@localhost',
  ])('leaves harmless text alone: %s', (note) => {
    const { parsed, stats } = scan(note);
    expect(parsed[0]!.note).toBe(note);
    expect(stats.cellsMasked).toBe(0);
  });

  it('reads every leaf (including nested ones) of columns no mask covers', () => {
    const { parsed, stats } = mask(nested, [{ output: 'orders', path: ['card'], strategy: 'last-4' }], [customer], {
      detectors: ['card', 'phone'],
      strategy: 'redact',
    });
    expect(parsed[0]!.phones).toEqual([REDACTED, null, REDACTED]);
    expect((parsed[0]!.orders as { card: string }[])[0]!.card).toBe('************1111');
    expect(stats).toMatchObject({ cellsMasked: 3, contentScanCells: 2, detections: { phone: 2, card: 0 } });
    expect(scan('x').parsed[0]!.n).toBe(4111111111111112); // not a card (Luhn)
  });

  it('nulls a leaf of another type that holds a detected value, and says the column may be NULL', () => {
    const schema: TableSchema = { fields: [{ name: 'n', type: 'INTEGER', mode: 'REQUIRED' }, { name: 'b', type: 'BYTES' }] };
    const masker = compileMasker({ schema, masks: [], contentScan: scanAll, hashKey: KEY });
    const page = masker.maskRows([{ f: [{ v: '4111111111111111' }, { v: '4111111111111111' }] }, { f: [{ v: '42' }, { v: 'AAAA' }] }]);
    expect(page.rows).toEqual([{ f: [{ v: null }, { v: null }] }, { f: [{ v: '42' }, { v: 'AAAA' }] }]);
    expect(page.stats).toMatchObject({ cellsMasked: 2, contentScanCells: 2 });
    expect(masker.schema.fields.map((f) => [f.type, f.mode])).toEqual([['INTEGER', 'NULLABLE'], ['BYTES', undefined]]);
  });

  it('applies its strategy to the matched substring, or nulls the whole value', () => {
    const note = 'ssn 078-05-1120, mail jane@example.com';
    expect(scan(note, { detectors: ['ssn', 'email'], strategy: 'hash' }).parsed[0]!.note).toBe(
      `ssn ${hmac('078-05-1120')}, mail ${hmac('jane@example.com')}`,
    );
    expect(scan(note, { detectors: ['ssn', 'email'], strategy: 'last-4' }).parsed[0]!.note).toBe(
      'ssn ***-**-1120, mail ****@******e.com',
    );
    expect(scan(note, { detectors: ['ssn', 'email'], strategy: 'email-domain' }).parsed[0]!.note).toBe(
      `ssn ${REDACTED}, mail ***@example.com`,
    );
    const nulled = scan(note, { detectors: ['email'], strategy: 'null' });
    expect(nulled.parsed[0]!.note).toBeNull();
    expect(nulled.stats.detections.email).toBe(1);
    expect(scan('only 078-05-1120', { detectors: ['email'], strategy: 'null' }).parsed[0]!.note).toBe(
      'only 078-05-1120',
    );
  });

  it('keeps JSON values valid JSON', () => {
    const schema: TableSchema = { fields: [{ name: 'doc', type: 'JSON' }] };
    const run = (doc: string) =>
      mask(schema, [], [restRow(schema.fields, { doc })], { detectors: ['card', 'email'], strategy: 'redact' })
        .parsed[0]!.doc;
    expect(run('{"email":"jane@example.com","n":1}')).toEqual({ email: REDACTED, n: 1 });
    expect(run('{"card":4111111111111111}')).toBe(REDACTED);
  });

  it('counts detections per page and in running totals', () => {
    const masker = compileMasker({ schema: text, masks: [], contentScan: scanAll, hashKey: KEY });
    const rows = ['078-05-1120 and 212-555-0147', 'nothing', 'a@b.io'].map((note) =>
      restRow(text.fields, { note, n: '1' }),
    );
    const first = masker.maskRows(rows);
    expect(first.stats).toEqual({
      cellsMasked: 2,
      contentScanCells: 2,
      detections: { ssn: 1, card: 0, email: 1, phone: 1 },
    });
    masker.maskRows(rows);
    expect(masker.totals).toEqual({
      cellsMasked: 4,
      contentScanCells: 4,
      detections: { ssn: 2, card: 0, email: 2, phone: 2 },
    });
  });
});

describe('output rows and schema', () => {
  it('never modifies the input rows', () => {
    const rows = [structuredClone(customer), structuredClone(customer)];
    const snapshot = structuredClone(rows);
    deepFreeze(rows);
    const { rows: out } = mask(
      nested,
      [
        { output: 'address', path: ['street'], strategy: 'redact' },
        { output: 'phones', strategy: 'hash' },
        { output: 'orders', path: ['shipping', 'notes'], strategy: 'null' },
        { output: 'id', strategy: 'last-4' },
      ],
      rows,
      { detectors: ['card'], strategy: 'redact' },
    );
    expect(rows).toEqual(snapshot);
    expect(out).not.toEqual(snapshot);
  });

  it('declares masked non-STRING leaves STRING so the official client parses every masked value', () => {
    const typed: TableSchema = {
      fields: [
        { name: 'i', type: 'INTEGER', mode: 'REQUIRED' },
        { name: 'n', type: 'NUMERIC', precision: '10', scale: '2' } as SchemaField,
        { name: 'f', type: 'FLOAT' },
        { name: 'b', type: 'BOOLEAN' },
        { name: 'd', type: 'DATE' },
        { name: 'dt', type: 'DATETIME' },
        { name: 't', type: 'TIME' },
        { name: 'ts', type: 'TIMESTAMP' },
        { name: 'by', type: 'BYTES' },
        { name: 'g', type: 'GEOGRAPHY' },
        { name: 'j', type: 'JSON' },
        { name: 'r', type: 'RANGE', rangeElementType: { type: 'DATE' } } as SchemaField,
        { name: 'ints', type: 'INTEGER', mode: 'REPEATED' },
        { name: 'rec', type: 'RECORD', fields: [{ name: 'when', type: 'TIMESTAMP', mode: 'REQUIRED' }] },
      ],
    };
    const row = restRow(typed.fields, {
      i: '42',
      n: '12.50',
      f: '1.5',
      b: 'true',
      d: '2024-01-15',
      dt: '2024-01-15T10:30:00',
      t: '10:30:00',
      ts: '1705314600000000',
      by: 'aGVsbG8=',
      g: 'POINT(1 2)',
      j: '{"a":1}',
      r: '[2024-01-01, 2024-02-01)',
      ints: ['1', '2'],
      rec: { when: '1705314600000000' },
    });
    const names = typed.fields.map((f) => f.name.toLowerCase());
    for (const strategy of ['redact', 'hash', 'last-4', 'email-domain'] as const) {
      const masker = compileMasker({ schema: typed, masks: [{ output: '*', strategy }], hashKey: KEY });
      const out = masker.maskRows([row]).rows;
      const fields = masker.schema.fields;
      expect(fields.filter((f) => f.name !== 'rec' && f.type !== 'STRING')).toEqual([]);
      expect(fields[0]!.mode).toBe('REQUIRED');
      expect(fields[1]).toEqual({ name: 'n', type: 'STRING' });
      expect(fields[11]).toEqual({ name: 'r', type: 'STRING' });
      expect(fields[13]!.fields![0]).toEqual({ name: 'when', type: 'STRING', mode: 'REQUIRED' });
      const parsed = parse(masker.schema, out, { 'formatOptions.useInt64Timestamp': true })[0]!;
      for (const name of names) {
        const value = parsed[name];
        const leaves =
          name === 'ints' ? (value as unknown[]) : name === 'rec' ? [(value as { when: unknown }).when] : [value];
        for (const leaf of leaves) expect(typeof leaf, `${strategy} ${name}`).toBe('string');
      }
      expect(parsed.i).not.toBe('42');
    }
    // The original types survive where nothing was masked, and `null` keeps the type but frees REQUIRED.
    const nulled = compileMasker({
      schema: typed,
      masks: [
        { output: 'i', strategy: 'null' },
        { output: 'rec', path: ['when'], strategy: 'null' },
      ],
      hashKey: KEY,
    });
    expect(nulled.schema.fields[0]).toEqual({ name: 'i', type: 'INTEGER', mode: 'NULLABLE' });
    expect(nulled.schema.fields[13]!.fields![0]).toEqual({ name: 'when', type: 'TIMESTAMP', mode: 'NULLABLE' });
    expect(nulled.schema.fields[4]).toEqual({ name: 'd', type: 'DATE' });
    const parsed = parse(nulled.schema, nulled.maskRows([row]).rows, { 'formatOptions.useInt64Timestamp': true })[0]!;
    expect(parsed).toMatchObject({ i: null, rec: { when: null }, f: 1.5, b: true });
    // The input schema is left as it was.
    expect(typed.fields[0]).toEqual({ name: 'i', type: 'INTEGER', mode: 'REQUIRED' });
  });
});

describe('selectSchemaFields', () => {
  it('projects a table schema onto tabledata.list selectedFields, in schema order', () => {
    const projected = selectSchemaFields(nested, 'orders.shipping.street, ID,orders.card');
    expect(projected.fields.map((f) => f.name)).toEqual(['id', 'orders']);
    expect(projected.fields[1]!.fields!.map((f) => f.name)).toEqual(['card', 'shipping']);
    expect(projected.fields[1]!.fields![1]!.fields!.map((f) => f.name)).toEqual(['street']);
    expect(selectSchemaFields(nested, undefined)).toBe(nested);
    expect(() => selectSchemaFields(nested, 'nope')).toThrow(MaskingError);
  });
});

function deepFreeze(value: unknown): void {
  if (value && typeof value === 'object') {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
}
