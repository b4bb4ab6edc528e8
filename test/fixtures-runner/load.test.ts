import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSuites, parseBytes } from '../../cli/testing/load.ts';
import { formatProblem } from '../../cli/testing/pretty.ts';
import { header, tempTree } from './toy.ts';

/** Loads one suite text and returns its problems as the CLI prints them, file names shortened. */
async function problemsOf(text: string, extra: Record<string, string> = {}): Promise<string[]> {
  const dir = await tempTree({ 'suite_test.yaml': text, ...extra });
  const { problems } = await loadSuites([dir]);
  return problems.map((p) => formatProblem({ ...p, file: p.file.split('/').at(-1)! }));
}

const ok = `${header('ok')}
requests:
  orders: { sql: "SELECT 1" }
cases:
  - name: one
    identity: reader
    request: orders
    expect: allow
`;

describe('fixture loading', () => {
  it('loads a valid suite into one request per case', async () => {
    const dir = await tempTree({ 'suite_test.yaml': ok, 'ignored.yaml': 'not: a suite' });
    const { suites, problems } = await loadSuites([dir]);
    expect(problems).toEqual([]);
    expect(suites).toHaveLength(1);
    const [c] = suites[0]!.cases;
    expect(c).toMatchObject({
      suite: 'ok',
      name: 'one',
      identity: 'reader',
      request: 'orders',
      line: 11,
      implicit: false,
      expected: { outcome: 'allow' },
    });
    expect(c!.input).toMatchObject({
      sql: 'SELECT 1',
      project: 'acme-analytics',
      route: 'jobs.query',
      estimate: { bytes: 1048576, source: 'caller' },
      grants: [],
      identity: { subject: 'rita@example.test', issuer: 'local', kind: 'human', groups: ['readers'], claims: {} },
    });
    expect(c!.input.now?.toISOString()).toBe('2027-01-15T08:00:00.000Z');
  });

  it('names file, line, column and field for a schema violation', async () => {
    expect(await problemsOf(ok.replace('expect: allow', 'expect: { outcome: alow }'))).toEqual([
      'suite_test.yaml:14:24: cases[0].expect.outcome: must be one of: allow, deny, approve, mask',
    ]);
    expect(await problemsOf(ok.replace('expect: allow', 'expect: { outcome: allow, reason: [x] }'))).toEqual([
      'suite_test.yaml:14:31: cases[0].expect.reason: unknown field "reason"',
    ]);
    expect(await problemsOf(ok.replace('expect: allow', 'expect: 5'))).toEqual([
      'suite_test.yaml:14:13: cases[0].expect: must be one of: allow, deny, approve, mask',
    ]);
    expect(await problemsOf(ok.replace('    request: orders\n', ''))).toEqual(['suite_test.yaml:11:5: cases[0]: missing required field "request"']);
    expect(await problemsOf(ok.replace('now: 2027-01-15T08:00:00Z', 'now: yesterday'))).toEqual([
      'suite_test.yaml:2:6: now: must be an RFC 3339 time, like 2027-01-15T08:00:00Z',
    ]);
    expect(await problemsOf(ok.replace('estimate_bytes: 1 MiB', 'estimate_bytes: lots'))).toEqual([
      'suite_test.yaml:3:54: defaults.estimate_bytes: must be a byte count: an integer or a size like "10 GiB"',
    ]);
  });

  it('reports YAML syntax errors and duplicate keys at their line', async () => {
    const [syntax] = await problemsOf(ok.replace('    expect: allow', '    expect: [allow'));
    expect(syntax).toMatch(/^suite_test\.yaml:\d+:\d+: invalid YAML: /);
    const [duplicate] = await problemsOf(ok.replace('    request: orders', '    request: orders\n    request: orders'));
    expect(duplicate).toMatch(/^suite_test\.yaml:14:5: invalid YAML: Map keys must be unique/);
  });

  it('reports references to what the suite does not define', async () => {
    expect(await problemsOf(ok.replace('identity: reader', 'identity: nobody'))).toEqual([
      'suite_test.yaml:12:15: cases[0].identity: unknown identity "nobody" (known: reader, stranger)',
    ]);
    expect(await problemsOf(ok.replace('request: orders', 'request: refunds'))).toEqual([
      'suite_test.yaml:13:14: cases[0].request: unknown request "refunds" (known: orders)',
    ]);
  });

  it('checks matrix expectations name identities and requests of the case', async () => {
    const matrix = `${header('m')}
requests:
  orders: { sql: "SELECT 1" }
cases:
  - name: grid
    identities: [reader, stranger]
    requests: [orders]
    expect:
      readers: allow
      stranger: { refunds: deny }
`;
    expect(await problemsOf(matrix)).toEqual([
      'suite_test.yaml:15:7: cases[0].expect.readers: expects identity "readers", which is not among this case\'s identities',
      'suite_test.yaml:16:19: cases[0].expect.stranger.refunds: expects request "refunds", which is not among this case\'s requests',
    ]);
    expect(await problemsOf(matrix.replace('    requests: [orders]\n', '    request: orders\n'))).toEqual([
      'suite_test.yaml:11:5: cases[0]: missing required field "requests"',
      'suite_test.yaml:13:5: cases[0].request: is not allowed here',
    ]);
  });

  it('checks grants, extends and byte counts', async () => {
    const text = `${header('g')}
requests:
  base: { sql: "SELECT 1" }
  a: { extends: b }
  b: { extends: a }
  c: { extends: missing }
  d:
    extends: base
    grants: [{ scope: { kind: dataset, datasets: [acme-analytics.finance] } }]
  e: { sql: "SELECT 1", estimate_bytes: 1.5 B }
cases:
  - name: one
    identity: reader
    request: base
    expect: allow
`;
    expect(await problemsOf(text)).toEqual([
      'suite_test.yaml:11:17: requests.b.extends: extends forms a cycle: a → b → a',
      'suite_test.yaml:12:17: requests.c.extends: extends unknown request "missing" (known: base, a, b, c, d, e)',
      'suite_test.yaml:15:14: requests.d.grants[0]: a grant needs exactly one of "expires_in" (seconds after now) or "expires_at"',
      'suite_test.yaml:16:41: requests.e.estimate_bytes: not a whole number of bytes: 1.5 B',
    ]);
  });

  it('finds shared schemas by name and reports problems inside them at their own line', async () => {
    const suite = ok.replace('estimate_bytes: 1 MiB }', 'estimate_bytes: 1 MiB, schemas: shop }');
    const good = await tempTree({ 'suites/suite_test.yaml': suite, 'schemas/shop.yaml': 'p.d.t:\n  - { name: a, type: STRING }\n' });
    const loaded = await loadSuites([join(good, 'suites')]);
    expect(loaded.problems).toEqual([]);
    expect(loaded.suites[0]!.cases[0]!.input.schemas).toEqual({ 'p.d.t': [{ name: 'a', type: 'STRING' }] });
    expect(loaded.files.some((f) => f.endsWith('schemas/shop.yaml'))).toBe(true);

    expect(await problemsOf(suite, { 'schemas/shop.yaml': 'p.d.t:\n  - { name: a, typ: STRING }\n' })).toEqual([
      'shop.yaml:2:5: p.d.t[0]: missing required field "type"',
      expect.stringMatching(/^suite_test\.yaml:3:\d+: defaults\.schemas: shared schemas .*shop\.yaml do not load/),
    ]);
    expect(await problemsOf(suite)).toEqual([expect.stringMatching(/^suite_test\.yaml:3:\d+: defaults\.schemas: shared schemas "shop" not found/)]);
  });

  it('parses byte counts with binary and decimal units', () => {
    expect(parseBytes(42)).toBe(42);
    expect(parseBytes('10 GiB')).toBe(10737418240);
    expect(parseBytes('1TiB')).toBe(1099511627776);
    expect(parseBytes('500 MB')).toBe(500_000_000);
    expect(parseBytes('1.5 KiB')).toBe(1536);
    expect(parseBytes('1.5 B')).toBeNaN();
    expect(parseBytes('lots')).toBeNaN();
  });
});
