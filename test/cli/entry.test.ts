// `npm run sluice -- …`, README's way to run the CLI, goes through scripts/run.sh and the
// Justfile: every argument must reach the CLI as it was given, spaces and quotes included.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

describe('npm run sluice', () => {
  it("runs README's eval example as written", async () => {
    const args = ['run', '--silent', 'sluice', '--', 'eval', '--identity', '{"subject":"reporting-agent","groups":["agents"]}', '--sql', 'SELECT product, SUM(units) FROM sales.orders GROUP BY product'];
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((done) => {
      execFile('npm', args, { cwd: root, env: { ...process.env, NO_COLOR: '1' } }, (error, out) => done({ code: error ? Number(error.code) : 0, stdout: out }));
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/^allow /m);
  }, 60_000);
});
