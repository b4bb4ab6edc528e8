// The engine's direct opa_eval path and the input serialization it is fed: same results as the
// SDK's evaluate, whatever the input's size, and never a stale document.
import { readFile } from 'node:fs/promises';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { describe, expect, it } from 'vitest';
import { readBundle } from '../../engine/bundle.ts';
import { buildBundle } from '../../engine/build.ts';
import { inputDocument, inputJson } from '../../engine/input-json.ts';
import { normalize } from '../../engine/normalize.ts';
import type { PolicyInput } from '../../engine/schema-types.ts';
import { evaluator } from '../../engine/wasm.ts';
import { PII_CASES } from '../support/pii-cases.ts';
import { compileRaw, minimalInput } from '../support/policy.ts';

const echo = `package t

import rego.v1

# The input back, plus values computed from it inside the policy.
result := {"input": input, "text_length": count(input.sql.text), "tables": [t.id | some s in input.sql.statements; some t in s.tables]}
`;

/** The SDK's instance (`loaded`) and the evaluator's own: the evaluator keeps values in its instance's memory. */
async function load(bundleBytes: Uint8Array, name: string, arenaBytes?: number) {
  const bundle = await readBundle(bundleBytes);
  const instance = async () => {
    const policy = await loadPolicy(bundle.wasm, { initial: 5, maximum: 4096 });
    policy.setData(JSON.parse(new TextDecoder().decode(bundle.data)) as object);
    return policy;
  };
  const loaded = await instance();
  const entrypoint = (loaded.entrypoints as Record<string, number>)[name]!;
  return { loaded, entrypoint, evaluate: evaluator(await instance(), entrypoint, arenaBytes) };
}

const policy = async (arenaBytes?: number) => load(await compileRaw({ 't/p.rego': echo }, 't/result'), 't/result', arenaBytes);

const request = (sql: string) => ({
  identity: minimalInput().identity,
  project: 'acme-analytics',
  sql,
  now: new Date('2027-01-15T08:00:00Z'),
  estimate: { bytes: 10, source: 'dry_run' as const },
});

describe('inputJson', () => {
  it('is the same document as JSON.stringify, for normalized and hand-made inputs', () => {
    const normalized = normalize(request('SELECT o.id, c.email FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id WHERE o.total > 3'));
    expect(Object.isFrozen(normalized.sql.statements)).toBe(true);
    for (const input of [normalized, minimalInput(), { ...normalized, grants: [{ id: 'g', subject: 's', scope: { kind: 'statement' as const }, expires_at: 1 }] }]) {
      expect(JSON.parse(inputJson(input))).toEqual(JSON.parse(JSON.stringify(input)));
    }
    // Served from its cache the second time: still the same document.
    expect(JSON.parse(inputJson(normalized))).toEqual(JSON.parse(JSON.stringify(normalized)));
  });

  it('never reuses the text of statements that can still change', () => {
    const inner = { index: 0, type: 'SELECT', category: 'read' as const, parsed: true, tables: [], columns: [], functions: [] as string[], outputs: [] };
    const shallow = Object.freeze([inner]) as unknown as PolicyInput['sql']['statements'];
    const input = minimalInput({ sql: { text: 'x', hash: 'h', parsed: true, statements: shallow } });
    expect(JSON.parse(inputJson(input)).sql.statements[0].functions).toEqual([]);
    inner.functions.push('EXTERNAL_QUERY');
    expect(JSON.parse(inputJson(input)).sql.statements[0].functions).toEqual(['EXTERNAL_QUERY']);
  });
});

describe('evaluator', () => {
  it('returns what the SDK returns', async () => {
    const { loaded, entrypoint, evaluate } = await policy();
    for (const input of [minimalInput(), normalize(request('SELECT * FROM sales.orders WHERE id = 5; SELECT email FROM crm.customers'))]) {
      expect(evaluate(inputDocument(input))).toEqual(loaded.evaluate(input, entrypoint));
    }
  });

  it('parses an analysis once and keeps it intact across evaluations, arena resets and other inputs', async () => {
    // A 64 KiB arena holds a few analyses: rotating through many forces it to start over often.
    for (const arenaBytes of [undefined, 64 * 1024]) {
      const { loaded, entrypoint, evaluate } = await policy(arenaBytes);
      const inputs = [
        ...PII_CASES.map((c) => normalize(request(c.sql))),
        minimalInput(),
        normalize(request('SELECT * FROM sales.orders WHERE id = 5; SELECT email FROM crm.customers')),
      ];
      expect(inputs.filter((input) => inputDocument(input).statements).length).toBe(inputs.length - 1);
      for (let round = 0; round < 3; round++) {
        for (const input of inputs) expect(evaluate(inputDocument(input))).toEqual(loaded.evaluate(input, entrypoint));
      }
    }
  });

  it("keeps repeated members parsed, and never hands one input's member to another", async () => {
    // One analysis, with identities, clocks, estimates and grants that repeat and change; a small
    // arena starts over now and then.
    for (const arenaBytes of [undefined, 16 * 1024]) {
      const { loaded, entrypoint, evaluate } = await policy(arenaBytes);
      const sql = 'SELECT o.id, c.email FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id';
      const inputs = [0, 1, 2].flatMap((caller) =>
        [0, 1].map((second) => ({
          ...normalize({
            ...request(sql),
            identity: { ...minimalInput().identity, subject: `caller-${caller}`, groups: caller === 2 ? ['pii-readers'] : [] },
            now: new Date(Date.UTC(2027, 0, 15, 8, 0, second)),
            estimate: { bytes: 10 + caller, source: 'dry_run' as const },
          }),
          grants: caller === 1 ? [{ id: `g${second}`, subject: 'caller-1', scope: { kind: 'statement' as const }, expires_at: 2e9 }] : [],
        })),
      );
      for (let round = 0; round < 3; round++) {
        for (const input of inputs) expect(evaluate(inputDocument(input))).toEqual(loaded.evaluate(input, entrypoint));
      }
    }
  });

  it('stays correct under a flood of distinct callers, each seen twice', async () => {
    // Every identity is new: each is kept at its second sight, the small arena starts over again
    // and again, and no evaluation may see another caller's identity.
    const { loaded, entrypoint, evaluate } = await policy(16 * 1024);
    const base = normalize(request('SELECT o.id FROM sales.orders o'));
    for (let caller = 0; caller < 2_000; caller++) {
      const input = { ...base, identity: { ...base.identity, subject: `flood-${caller}`, claims: { n: caller } } };
      const first = evaluate(inputDocument(input));
      const second = evaluate(inputDocument(input)) as [{ result: { input: PolicyInput } }];
      expect(second).toEqual(first);
      expect(second[0].result.input.identity.subject).toBe(`flood-${caller}`);
      if (caller % 250 === 0) expect(second).toEqual(loaded.evaluate(input, entrypoint));
    }
  });

  it('decides as the SDK does with the project policy, input after input', async () => {
    const { loaded, entrypoint, evaluate } = await load(await readFile((await buildBundle()).path), 'sluice/decision', 256 * 1024);
    const reader = { ...minimalInput().identity, groups: ['pii-readers'] };
    const inputs = PII_CASES.flatMap((c) => [normalize(request(c.sql)), normalize({ ...request(c.sql), identity: reader })]);
    const outcomes = new Set<string>();
    for (let round = 0; round < 2; round++) {
      for (const input of inputs) {
        const expected = loaded.evaluate(input, entrypoint) as [{ result: { outcome: string } }];
        outcomes.add(expected[0].result.outcome);
        expect(evaluate(inputDocument(input))).toEqual(expected);
      }
    }
    expect([...outcomes].sort()).toEqual(['allow', 'deny', 'mask']);
  });

  it('grows the WASM memory for a large input and keeps working afterwards', async () => {
    const { loaded, entrypoint, evaluate } = await policy();
    // Far beyond the 5 initial pages, and with multi-byte characters.
    const big = minimalInput({ sql: { text: `SELECT '${'é☃x'.repeat(300_000)}'`, hash: 'h', parsed: true, statements: [] } });
    const result = evaluate(inputDocument(big)) as [{ result: { text_length: number; input: PolicyInput } }];
    expect(result[0].result.text_length).toBe(big.sql.text.length);
    expect(result[0].result.input).toEqual(big);
    expect(evaluate(inputDocument(minimalInput()))).toEqual(loaded.evaluate(minimalInput(), entrypoint));
  });
});
