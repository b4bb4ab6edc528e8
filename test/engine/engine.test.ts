import { readFile, writeFile } from 'node:fs/promises';
import { createTarGzip } from 'nanotar';
import { describe, expect, it } from 'vitest';
import { buildBundle, Engine, EngineError, normalize } from '../../engine/index.ts';
import { normalizeCacheStats } from '../../engine/normalize.ts';
import type { PolicyInput } from '../../engine/schema-types.ts';
import { deepFreeze } from '../../engine/sql/analysis.ts';
import { compilePolicy, compileRaw, decisionRego, minimalInput, writePolicy } from '../support/policy.ts';

const allowWhenA = decisionRego(`
decision := {"outcome": "allow", "reasons": [], "masks": []} if input.identity.subject == "reporting-agent"

decision := {"outcome": "deny", "reasons": [{"code": "not_agent", "message": "no"}], "masks": []} if input.identity.subject != "reporting-agent"
`);

async function expectEngineError(promise: Promise<unknown>, code: string): Promise<EngineError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EngineError);
  expect((error as EngineError).code).toBe(code);
  return error as EngineError;
}

describe('build', () => {
  it('compiles, names the revision after the sources, and rebuilds only on change', async () => {
    const regoDir = await writePolicy({ 'sluice/decision.rego': allowWhenA, 'org/data.yaml': 'a: 1\n' });
    const out = `${regoDir}.tar.gz`;
    const first = await buildBundle({ regoDir, out });
    expect(first.built).toBe(true);
    expect(first.revision).toMatch(/^[0-9a-f]{16}$/);
    const again = await buildBundle({ regoDir, out });
    expect(again).toEqual({ ...first, built: false });

    await writePolicy({ 'org/data.yaml': 'a: 2\n' }, regoDir);
    const changed = await buildBundle({ regoDir, out });
    expect(changed.built).toBe(true);
    expect(changed.revision).not.toBe(first.revision);
    expect((await Engine.load(out)).revision).toBe(changed.revision);
  });

  it('refuses built-ins the WASM target cannot evaluate at build time', async () => {
    const error = await expectEngineError(
      compilePolicy({ 'sluice/d.rego': decisionRego('decision := {"outcome": "allow", "reasons": [], "masks": [], "t": time.now_ns()}') }),
      'policy_invalid',
    );
    expect(error.message).toMatch(/time\.now_ns/);
  });

  it('refuses a policy that fails opa check --strict', async () => {
    await expectEngineError(
      compilePolicy({ 'sluice/d.rego': decisionRego('import data.unused\n\ndecision := {"outcome": "allow", "reasons": [], "masks": []} if { x := 1 }') }),
      'policy_invalid',
    );
  });
});

describe('engine fails closed', () => {
  it('evaluates a valid decision', async () => {
    const engine = await Engine.load((await compilePolicy({ 'sluice/d.rego': allowWhenA })).path);
    const result = engine.evaluate(minimalInput());
    expect(result.decision.outcome).toBe('allow');
    expect(result.error).toBeUndefined();
    expect(result.evalNs).toBeGreaterThan(0);
  });

  it('rejects a corrupt policy.wasm at load', async () => {
    const bundle = await createTarGzip([{ name: 'policy.wasm', data: new Uint8Array([0, 97, 115, 109, 9, 9, 9]) }, { name: 'data.json', data: '{}' }]);
    await expectEngineError(Engine.fromBytes(bundle), 'bundle_invalid');
  });

  it('rejects a file that is not a bundle and a missing bundle', async () => {
    await expectEngineError(Engine.fromBytes(new TextEncoder().encode('not a tarball')), 'bundle_invalid');
    const error = await expectEngineError(Engine.load('/nonexistent/bundle.tar.gz'), 'bundle_invalid');
    expect(error.message).toMatch(/sluice build/);
  });

  it('rejects a bundle without the sluice/decision entrypoint', async () => {
    const bundle = await compileRaw({ 'other/p.rego': 'package other\n\nallow := true\n' }, 'other/allow');
    const error = await expectEngineError(Engine.fromBytes(bundle), 'entrypoint_missing');
    expect(error.message).toMatch(/other\/allow/);
  });

  it('denies when the decision fails its schema', async () => {
    const engine = await Engine.load((await compilePolicy({ 'sluice/d.rego': decisionRego('decision := {"outcome": "yes", "reasons": []}') })).path);
    const result = engine.evaluate(minimalInput());
    expect(result.decision).toMatchObject({ outcome: 'deny', reasons: [{ code: 'decision_invalid' }] });
    expect(result.decision.reasons[0]?.message).toMatch(/outcome|masks/);
  });

  it('denies a decision that relies on a grant without naming it (one-time grants would not be spent)', async () => {
    const unnamed = decisionRego('decision := {"outcome": "allow", "reasons": [{"code": "grant_used", "message": "grant g1 allows it"}], "masks": []}');
    const engine = await Engine.load((await compilePolicy({ 'sluice/d.rego': unnamed })).path);
    const result = engine.evaluate(minimalInput());
    expect(result.decision).toMatchObject({ outcome: 'deny', reasons: [{ code: 'decision_invalid' }] });
    expect(result.decision.reasons[0]?.message).toMatch(/grant/);
  });

  it('denies when evaluation throws', async () => {
    const conflicting = decisionRego(`
decision := {"outcome": "allow", "reasons": [], "masks": []} if input.identity.kind == "agent"

decision := {"outcome": "mask", "reasons": [], "masks": []} if input.identity.subject == "reporting-agent"
`);
    const engine = await Engine.load((await compilePolicy({ 'sluice/d.rego': conflicting })).path);
    const result = engine.evaluate(minimalInput());
    expect(result.decision).toMatchObject({ outcome: 'deny', reasons: [{ code: 'evaluation_failed' }] });
    expect(result.error?.message).toMatch(/conflict|multiple/i);
  });

  it('denies when the policy defines no decision, or the input fails its schema', async () => {
    const engine = await Engine.load((await compilePolicy({ 'sluice/d.rego': allowWhenA.replace(/decision := \{"outcome": "deny".*\n/, '') })).path);
    expect(engine.evaluate(minimalInput({ identity: { ...minimalInput().identity, subject: 'someone-else' } })).decision.reasons[0]?.code).toBe('decision_undefined');
    const bad = { ...minimalInput(), extra: true } as never;
    expect(engine.evaluate(bad).decision).toMatchObject({ outcome: 'deny', reasons: [{ code: 'input_invalid' }] });
  });

  it('checks a cached analysis once, and the rest of every input every time', async () => {
    const engine = await Engine.load((await buildBundle()).path);
    const request = { identity: minimalInput().identity, sql: 'SELECT order_id FROM sales.orders', project: 'acme-analytics', estimate: { bytes: 10, source: 'dry_run' as const } };
    const good = normalize(request);
    expect(engine.evaluate(good).error).toBeUndefined();
    // Same (already checked) statements, a bad envelope: refused, and the problem named.
    const bad = engine.evaluate({ ...good, now: { unix: 'soon' } } as never);
    expect(bad.decision.reasons[0]?.code).toBe('input_invalid');
    expect(bad.error?.message).toMatch(/\/now\/unix/);
    expect(engine.evaluate(normalize(request)).error).toBeUndefined();
    // Frozen statements that fail their schema are refused every time, never remembered as checked.
    const broken = deepFreeze([{ ...good.sql.statements[0]!, category: 'nonsense' }]) as unknown as PolicyInput['sql']['statements'];
    for (let i = 0; i < 2; i++) {
      const result = engine.evaluate({ ...good, sql: { ...good.sql, statements: broken } });
      expect(result.error?.message).toMatch(/\/sql\/statements\/0\/category/);
    }
  });

  it('decides one request under several estimates as decide does, normalizing it once', async () => {
    const engine = await Engine.load((await buildBundle()).path);
    const request = { identity: minimalInput().identity, sql: `SELECT order_id FROM sales.orders WHERE order_id > ${Date.now()}`, project: 'acme-analytics' };
    const estimates = [
      { bytes: 0, source: 'dry_run' as const },
      { bytes: 20_000_000_000, source: 'dry_run' as const, referenced_tables: ['acme-analytics.sales.orders', 'acme-analytics.crm.customers'] },
      { source: 'cap' as const },
    ];
    const before = normalizeCacheStats();
    const decide = engine.decider(request);
    const each = estimates.map((estimate) => decide(estimate));
    expect(normalizeCacheStats().analysed - before.analysed).toBe(1);
    expect(each).toEqual(estimates.map((estimate) => ({ ...engine.decide({ ...request, estimate }), evalNs: expect.any(Number) })));
    expect(each.map((e) => e.decision.outcome)).toEqual(['allow', 'deny', 'allow']);
    // A request that does not normalize is refused under every estimate.
    const broken = engine.decider({ ...request, now: new Date(Number.NaN) });
    expect(broken({ bytes: 0, source: 'dry_run' }).error?.code).toBe('normalize_failed');
  });
});

describe('hot reload', () => {
  it('swaps bundles atomically while evaluations keep running, and keeps the old policy when the new one is bad', async () => {
    const v1 = await compilePolicy({ 'sluice/d.rego': allowWhenA });
    const v2 = await compilePolicy({ 'sluice/d.rego': decisionRego('decision := {"outcome": "deny", "reasons": [{"code": "v2", "message": "v2"}], "masks": []}') });
    const bundle = `${v1.path}.live.tar.gz`;
    await writeFile(bundle, await readFile(v1.path));
    const engine = await Engine.load(bundle);

    const seen: string[] = [];
    let running = true;
    const loop = (async () => {
      while (running) {
        const r = engine.evaluate(minimalInput());
        expect(r.error).toBeUndefined();
        seen.push(`${r.revision}:${r.decision.outcome}`);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writeFile(bundle, await readFile(v2.path));
    expect(await engine.reload(bundle)).toBe(v2.revision);
    await new Promise((resolve) => setTimeout(resolve, 20));
    running = false;
    await loop;

    expect(new Set(seen)).toEqual(new Set([`${v1.revision}:allow`, `${v2.revision}:deny`]));
    const firstV2 = seen.indexOf(`${v2.revision}:deny`);
    expect(seen.slice(firstV2).every((s) => s.startsWith(v2.revision))).toBe(true);

    await writeFile(bundle, 'garbage');
    await expectEngineError(engine.reload(bundle), 'bundle_invalid');
    expect(engine.revision).toBe(v2.revision);
    expect(engine.evaluate(minimalInput()).decision.reasons[0]?.code).toBe('v2');
  });
});
