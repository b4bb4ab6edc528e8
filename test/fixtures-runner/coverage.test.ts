import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentedReasons, reasonCoverage, summarizeCoverage } from '../../cli/testing/coverage.ts';
import { compare } from '../../cli/testing/expect.ts';
import { root, tempTree } from './toy.ts';

describe('decision coverage', () => {
  it('reads every reason code from the policy README tables', async () => {
    const codes = documentedReasons(await readFile(join(root, 'rego', 'README.md'), 'utf8'));
    const byCode = new Map(codes.map((c) => [c.code, c]));
    expect(byCode.get('approval_required')).toMatchObject({ kind: 'approve', rule: 'sluice.access.approve_dataset' });
    expect(byCode.get('pii_masked')).toMatchObject({ kind: 'informative' });
    expect(byCode.get('bytes_limit_exceeded')?.kind).toBe('deny');
    expect(codes.length).toBeGreaterThanOrEqual(20);
  });

  it('splits documented codes into fired and never fired, and lists undocumented ones', () => {
    const documented = documentedReasons(
      '## Reason codes\n\n### deny\n\n| code | rule | meaning |\n| --- | --- | --- |\n| `a` | `r.a` | x |\n| `b` | `r.b` | y |\n\n## Other\n\n| `c` | `r.c` | z |\n',
    );
    expect(documented.map((c) => c.code)).toEqual(['a', 'b']);
    const coverage = reasonCoverage(
      documented,
      new Map([
        ['a', 3],
        ['normalize_failed', 1],
      ]),
    );
    expect(coverage.exercised).toEqual(['a']);
    expect(coverage.neverFired.map((c) => c.code)).toEqual(['b']);
    expect(coverage.undocumented).toEqual(['normalize_failed']);
  });

  it('groups the lines opa test leaves unexecuted under their rules, policy files only', async () => {
    const dir = await tempTree({
      'p/x.rego': 'package x\n\nallow if {\n\tinput.a\n\tinput.b\n}\n\ndeny contains msg if {\n\tmsg := "no"\n}\n',
    });
    const file = join(dir, 'p/x.rego');
    const summary = summarizeCoverage(
      {
        files: {
          [file]: {
            coverage: 50,
            covered_lines: 3,
            not_covered_lines: 3,
            not_covered: [
              { start: { row: 4 }, end: { row: 5 } },
              { start: { row: 9 }, end: { row: 9 } },
            ],
          },
          [join(dir, 'p/x_test.rego')]: { coverage: 10, covered_lines: 1, not_covered_lines: 9 },
        },
      },
      true,
    );
    expect(summary.coverage).toBe(50);
    expect(summary.files).toEqual([
      {
        file,
        coverage: 50,
        uncovered: [
          { rule: 'allow', lines: [[4, 5]] },
          { rule: 'deny', lines: [[9, 9]] },
        ],
      },
    ]);
  });
});

describe('comparing decisions', () => {
  const decision = {
    outcome: 'approve' as const,
    reasons: [{ code: 'approval_required', message: 'm' }],
    masks: [],
    approval: {
      approver_groups: ['data-owners', 'security'] as [string, ...string[]],
      min_approvals: 1,
      grant_ttl_seconds: 3600,
      scope: { kind: 'dataset' as const, datasets: ['p.finance'] },
    },
  };

  it('matches approvals as a subset, arrays as sets', () => {
    expect(
      compare({ outcome: 'approve', approval: { approver_groups: ['security', 'data-owners'], scope: { datasets: ['p.finance'] } } }, decision),
    ).toEqual([]);
    expect(compare({ outcome: 'approve', approval: { grant_ttl_seconds: 600, scope: { kind: 'statement' } } }, decision)).toEqual([
      { field: 'approval', expected: 'grant_ttl_seconds: 600, scope.kind: statement', actual: 'grant_ttl_seconds: 3600, scope.kind: dataset' },
    ]);
  });

  it('checks reasons by inclusion, any-of, exact set and absence; masks as an exact set', () => {
    expect(
      compare(
        {
          outcome: 'approve',
          reasons: ['approval_required'],
          any_reasons: ['x', 'approval_required'],
          exact_reasons: ['approval_required'],
          absent_reasons: ['grant_used'],
          masks: [],
        },
        decision,
      ),
    ).toEqual([]);
    expect(
      compare(
        { outcome: 'deny', any_reasons: ['x', 'y'], absent_reasons: ['approval_required'], masks: [{ output: 'a', strategy: 'hash', path: ['b'] }] },
        decision,
      ).map((m) => [m.field, m.expected, m.actual]),
    ).toEqual([
      ['outcome', 'deny', 'approve'],
      ['any_reasons', 'one of [x, y]', '[approval_required]'],
      ['absent_reasons', 'none of [approval_required]', '[approval_required], has [approval_required]'],
      ['masks', '[a.b:hash]', '[]'],
    ]);
  });
});
