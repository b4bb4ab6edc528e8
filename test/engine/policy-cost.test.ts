// The policy's cost on the decision bench/decision.ts times, counted in WebAssembly instructions
// by bench/policy-cost.py: the count is the same on every machine and run, so a change to rego/
// that makes every decision dearer fails here instead of hiding in the benchmarks' noise. Raise
// the budget on purpose, saying why in the commit.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildBundle } from '../../engine/build.ts';
import { inputJson } from '../../engine/input-json.ts';
import { normalize } from '../../engine/normalize.ts';
import { pythonInterpreter } from '../support/python-client.ts';

const root = resolve(import.meta.dirname, '../..');
/** Instructions of one evaluation, input parsing included: 504,258 on 2026-12-07. */
const BUDGET = 520_000;

const joinSql =
  'SELECT o.product, c.customer_id, SUM(o.units) AS units FROM `acme-analytics.sales.orders` o ' +
  'JOIN `acme-analytics.crm.customers` c ON o.customer_id = c.customer_id WHERE o.units > 7 GROUP BY o.product, c.customer_id';

describe('bench/policy-cost.py', () => {
  it('counts the benchmark decision within its instruction budget', async () => {
    const bundle = (await buildBundle()).path;
    const input = normalize({
      identity: { subject: 'reporting-agent', issuer: 'https://idp.local', kind: 'agent', groups: ['agents'], claims: {} },
      sql: joinSql,
      project: 'acme-analytics',
      estimate: { bytes: 5_000_000, source: 'dry_run' },
      now: new Date('2027-01-15T08:00:00Z'),
    });
    const dir = await mkdtemp(join(tmpdir(), 'policy-cost-'));
    try {
      const file = join(dir, 'join.json');
      await writeFile(file, inputJson(input));
      const { stdout } = await promisify(execFile)(pythonInterpreter(), [join(root, 'bench', 'policy-cost.py'), '--bundle', bundle, file]);
      const row = stdout.split('\n').find((line) => line.startsWith(`| ${file} |`));
      const [, , , instructions, withoutParsing, outcome] = row!.split('|').map((cell) => cell.trim());
      const count = (text: string | undefined) => Number(text!.replaceAll(',', ''));
      expect(outcome).toBe('allow');
      expect(count(withoutParsing)).toBeGreaterThan(100_000);
      expect(count(instructions)).toBeGreaterThan(count(withoutParsing));
      expect(count(instructions)).toBeLessThanOrEqual(BUDGET);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a missing input, and a bundle that is not one, with exit status 2', async () => {
    const tool = join(root, 'bench', 'policy-cost.py');
    await expect(promisify(execFile)(pythonInterpreter(), [tool, join(tmpdir(), 'no-such-input.json')])).rejects.toMatchObject({ code: 2 });
    const notABundle = join(root, 'package.json');
    await expect(promisify(execFile)(pythonInterpreter(), [tool, '--bundle', notABundle, notABundle])).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('policy-cost:'),
    });
  });
});
