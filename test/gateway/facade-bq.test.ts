// The bq CLI against the gateway: it reads the discovery document first, then runs jobs.insert,
// jobs.get and jobs.getQueryResults (or tables.get + tabledata.list for `bq head`). Skipped where
// the Google Cloud SDK is not installed.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const run = promisify(execFile);
const hasBq = await run('bq', ['version'], { timeout: 30_000 }).then(
  () => true,
  () => false,
);

describe.skipIf(!hasBq)('the bq CLI through the gateway', { timeout: 120_000 }, () => {
  let stack: Stack;
  let home: string;

  beforeAll(async () => {
    stack = await startStack();
    home = await mkdtemp(join(tmpdir(), 'sluice-bq-home-'));
  });
  afterAll(async () => {
    await stack?.close();
    if (home) await rm(home, { recursive: true, force: true });
  });

  /** Runs bq as the agent; resolves to its output whatever the exit code. */
  async function bq(...args: string[]): Promise<{ code: number; output: string }> {
    const token = await stack.token('reporting-agent');
    const argv = [`--api=${stack.gatewayUrl}`, `--oauth_access_token=${token}`, `--project_id=${PROJECT}`, '--format=json', ...args];
    try {
      const { stdout, stderr } = await run('bq', argv, { env: { ...process.env, HOME: home }, timeout: 60_000 });
      return { code: 0, output: stdout + stderr };
    } catch (error) {
      const e = error as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  }

  it('runs an allowed query', async () => {
    const { code, output } = await bq('query', '--use_legacy_sql=false', 'SELECT product, SUM(units) AS units FROM sales.orders GROUP BY product ORDER BY product');
    expect(code).toBe(0);
    expect(JSON.parse(output.trim())).toEqual([
      { product: 'doohickey', units: '57' },
      { product: 'gadget', units: '63' },
      { product: 'gizmo', units: '66' },
      { product: 'sprocket', units: '60' },
      { product: 'widget', units: '60' },
    ]);
  });

  it('gets masked rows from a query and from bq head', async () => {
    const query = await bq('query', '--use_legacy_sql=false', "SELECT ssn, email FROM crm.customers WHERE customer_id = 'C001'");
    expect(JSON.parse(query.output.trim())).toEqual([{ ssn: '***-**-6701', email: '***@example.com' }]);
    const head = await bq('head', '-n', '1', 'crm.customers');
    expect(head.code).toBe(0);
    expect(head.output).toContain('***-**-6701');
    expect(head.output).not.toContain('123-45-6701');
  });

  it('shows the policy refusal for a DROP and the legacy-SQL refusal', async () => {
    const drop = await bq('query', '--use_legacy_sql=false', 'DROP TABLE sales.orders');
    expect(drop.code).not.toBe(0);
    expect(drop.output).toContain('Access Denied: the sluice policy refused this');
    const legacy = await bq('query', 'SELECT 1');
    expect(legacy.code).not.toBe(0);
    expect(legacy.output).toContain('--use_legacy_sql=false');
  });
});
