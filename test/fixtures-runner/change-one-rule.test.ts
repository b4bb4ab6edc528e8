// The reference suites pin the organisation's rules: change one line of policy data (analysts
// become readers of finance) and exactly the cases about analysts reading finance fail.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, Engine } from '../../engine/index.ts';
import { loadSuites } from '../../cli/testing/load.ts';
import { runSuites, type CaseResult } from '../../cli/testing/run.ts';
import { root, sluice } from './toy.ts';

const fixtures = join(root, 'fixtures');
let original: string;
let changed: string;

async function failures(bundle: string): Promise<Map<string, CaseResult>> {
  const { suites, problems } = await loadSuites([fixtures]);
  expect(problems).toEqual([]);
  const result = runSuites(await Engine.load(bundle), bundle, suites, problems);
  const failed = result.suites.flatMap((s) => s.results).filter((r) => !r.passed);
  return new Map(failed.map((r) => [`${r.case.suite} › ${r.case.name}`, r]));
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-change-'));
  const regoDir = join(dir, 'rego');
  await cp(join(root, 'rego'), regoDir, { recursive: true });
  original = (await buildBundle({ regoDir, out: join(dir, 'original.tar.gz') })).path;

  const dataFile = join(regoDir, 'org', 'data.yaml');
  const data = parseDocument(await readFile(dataFile, 'utf8'));
  data.setIn(['projects', 'acme-analytics', 'datasets', 'finance', 'readers'], ['analysts']);
  await writeFile(dataFile, data.toString());
  changed = (await buildBundle({ regoDir, out: join(dir, 'changed.tar.gz') })).path;
});

describe('changing one rule', () => {
  it('fails exactly the cases of analysts reading finance', async () => {
    const before = await failures(original);
    const after = await failures(changed);
    const introduced = [...after.entries()].filter(([name]) => !before.has(name));
    expect(introduced.length).toBeGreaterThanOrEqual(10);
    for (const [, r] of introduced) {
      // Every analyst (pii-readers are analysts too), and only about finance.
      expect(r.case.input.identity.groups).toContain('analysts');
      expect(r.case.input.sql).toMatch(/finance\./);
      // Read without a grant; what remains is at most the byte threshold's own approval.
      expect(r.decision.reasons.map((x) => x.code)).not.toContain('approval_required');
      if (r.decision.outcome !== 'allow') expect(r.decision.approval?.scope.kind).toBe('statement');
    }
    const names = introduced.map(([name]) => name);
    expect(names).toContain('dataset access by group › each group reads each dataset [analyst × finance]');
    expect(names).toContain('dataset access by group › finance asks data-owners for a one-hour dataset grant');
    expect(names).toContain('finance just-in-time grants › without a grant finance asks data-owners [analyst × ledger]');
    // The agent and the data-owner still have to ask.
    expect(names.some((n) => /\[(agent|data_owner) ×/.test(n))).toBe(false);
  });

  it('shows the diff and exits 5 from the CLI', async () => {
    const { code, stdout } = await sluice([
      'test',
      fixtures,
      '--bundle',
      changed,
      '--filter',
      'finance asks data-owners for a one-hour dataset grant',
    ]);
    expect(code).toBe(5);
    expect(stdout).toMatch(/✗ finance asks data-owners for a one-hour dataset grant/);
    expect(stdout).toMatch(/outcome: +- approve\n +\+ allow/);
    expect(stdout).toMatch(/exact_reasons: +- \[approval_required\]\n +\+ \[\]/);
    expect(stdout).toMatch(/approval: +- \{approver_groups: \[data-owners\], .*\}\n +\+ no approval/);
    expect(stdout.trimEnd().split('\n').at(-1)).toBe('0 passed, 1 failed');
  });
});
