// The policy returns reasons and masks as sets (sorting them in WASM costs the square of their
// number); the engine lists them in OPA's order of values. Checked against what we did not
// write: `opa eval` on the same policy and input prints each set in OPA's order, and the
// engine's decision must be that document exactly, order included.
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { findOpa } from '../../engine/build.ts';
import { buildBundle, Engine, normalize } from '../../engine/index.ts';
import { inputJson } from '../../engine/input-json.ts';

const run = promisify(execFile);
const REGO = resolve(import.meta.dirname, '..', '..', 'rego');
const identity = { subject: 'reporting-agent', issuer: 'https://idp.local', kind: 'agent' as const, groups: ['agents'], claims: {} };

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load((await buildBundle()).path);
}, 120_000);

async function opaDecision(input: string): Promise<unknown> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-order-'));
  await writeFile(join(dir, 'input.json'), input);
  const { stdout } = await run(await findOpa(), ['eval', '-f', 'json', '-d', REGO, '--ignore', '*_test.rego', '-i', join(dir, 'input.json'), 'data.sluice.decision'], { maxBuffer: 64 << 20 });
  return (JSON.parse(stdout) as { result: { expressions: { value: unknown }[] }[] }).result[0]!.expressions[0]!.value;
}

const cases: [string, string][] = [
  // Masks on several outputs and paths, names ordered by code point: an astral letter sorts after
  // U+FF5A although its UTF-16 units sort before it.
  ['masks', 'SELECT ssn AS `\u{1D4B3}`, ssn AS `\uFF5A`, email AS b, ssn AS a, email AS `A`, address, ssn AS `a1` FROM crm.customers'],
  // Deny reasons of several rules and statements.
  ['deny', 'SELECT CONCAT(ssn, email) AS x, UPPER(ssn) AS y FROM crm.customers; SELECT * FROM nowhere.t; DROP TABLE sales.orders'],
  // Approval reasons.
  ['approve', 'SELECT amount FROM finance.ledger; SELECT amount AS b FROM finance.ledger'],
];

describe('decisions list reasons and masks in OPA order', () => {
  for (const [name, sql] of cases) {
    it(`as opa eval prints them: ${name}`, async () => {
      const input = normalize({ identity, sql, project: 'acme-analytics', estimate: { bytes: 5_000_000, source: 'dry_run' }, now: new Date('2027-01-15T08:00:00Z') });
      const { decision } = engine.evaluate(input);
      expect(decision.reasons.length + decision.masks.length).toBeGreaterThan(1);
      expect(decision).toEqual(await opaDecision(inputJson(input)));
    }, 30_000);
  }
});
