import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { beforeAll, describe, expect, it } from 'vitest';
import { header, sluice, tempTree, toyPolicy } from './toy.ts';

let bundle: string;
let regoDir: string;

beforeAll(async () => {
  ({ bundle, regoDir } = await toyPolicy());
});

const run = (dir: string, ...args: string[]) => sluice(['test', dir, '--bundle', bundle, '--rego', regoDir, ...args]);
const lastLine = (text: string) => text.trimEnd().split('\n').at(-1);

const passing = `${header('toy passing')}
requests:
  orders: { sql: "SELECT order_id FROM sales.orders" }
  emails: { sql: "SELECT email FROM crm.customers" }
cases:
  - name: readers read orders
    identity: reader
    request: orders
    expect: { outcome: allow, exact_reasons: [], masks: [] }
  - name: readers see emails masked
    identity: reader
    request: emails
    expect: { outcome: mask, reasons: [pii_masked], masks: [{ output: email, strategy: email-domain }] }
  - name: strangers are turned away
    identity: stranger
    request: orders
    expect: { outcome: deny, exact_reasons: [not_reader] }
`;

const failing = `${header('toy failing')}
requests:
  orders: { sql: "SELECT order_id FROM sales.orders" }
cases:
  - name: first passes
    identity: reader
    request: orders
    expect: allow
  - name: strangers wrongly expected to read
    identity: stranger
    request: orders
    expect: { outcome: allow, reasons: [granted] }
  - name: third fails too
    identity: stranger
    request: orders
    expect: mask
`;

describe('sluice test', () => {
  it('passes a suite whose decisions match, ending with the summary line', async () => {
    const dir = await tempTree({ 'toy_test.yaml': passing });
    const { code, stdout } = await run(dir);
    expect(code).toBe(0);
    expect(stdout).toMatch(/✓ readers read orders/);
    expect(stdout).toMatch(/✓ readers see emails masked/);
    expect(lastLine(stdout)).toBe('3 passed, 0 failed');
  });

  it('shows a diff of expected against actual with the reasons the policy gave, and exits 5', async () => {
    const dir = await tempTree({ 'toy_test.yaml': failing });
    const { code, stdout } = await run(dir);
    expect(code).toBe(5);
    expect(stdout).toMatch(/✗ strangers wrongly expected to read/);
    expect(stdout).toMatch(/at .*toy_test\.yaml:\d+/);
    expect(stdout).toMatch(/outcome: +- allow\n +\+ deny/);
    expect(stdout).toMatch(/reasons: +- include \[granted\]\n +\+ \[not_reader\], missing \[granted\]/);
    expect(stdout).toMatch(/policy decided deny:\n +not_reader: the caller is not a reader/);
    expect(lastLine(stdout)).toBe('1 passed, 2 failed');
  });

  it('stops at the first failure with --bail', async () => {
    const dir = await tempTree({ 'toy_test.yaml': failing });
    const { code, stdout } = await run(dir, '--bail');
    expect(code).toBe(5);
    expect(stdout).not.toMatch(/third fails too/);
    expect(stdout).toMatch(/--bail/);
    expect(lastLine(stdout)).toBe('1 passed, 1 failed');
  });

  it('expands a matrix per identity × request, and a pair left out must be denied', async () => {
    const dir = await tempTree({
      'matrix_test.yaml': `${header('toy matrix')}
  auditor: { subject: alex@example.test, kind: human, groups: [readers] }
requests:
  orders: { sql: "SELECT order_id FROM sales.orders" }
  emails: { sql: "SELECT email FROM crm.customers" }
cases:
  - name: grid
    identities: [reader, stranger, auditor]
    requests: [orders, emails]
    expect:
      reader: { orders: allow, emails: mask }
      auditor: { orders: allow }
`,
    });
    const { code, stdout } = await run(dir);
    expect(code).toBe(5);
    for (const cell of ['reader × orders', 'reader × emails', 'stranger × orders', 'stranger × emails', 'auditor × orders']) {
      expect(stdout).toContain(`✓ grid [${cell}]`);
    }
    // auditor × emails is left out, so it must be denied; the policy masks it.
    expect(stdout).toContain('✗ grid [auditor × emails]');
    expect(stdout).toMatch(/left out of the matrix expectations, so it must be denied/);
    expect(lastLine(stdout)).toBe('5 passed, 1 failed');
  });

  it('filters by suite, case, identity or request name, as substring or glob', async () => {
    const dir = await tempTree({ 'a_test.yaml': passing, 'b_test.yaml': failing });
    expect(lastLine((await run(dir, '--filter', 'emails')).stdout)).toBe('1 passed, 0 failed');
    expect(lastLine((await run(dir, '--filter', 'stranger')).stdout)).toBe('1 passed, 2 failed');
    expect(lastLine((await run(dir, '--filter', 'toy pass*')).stdout)).toBe('3 passed, 0 failed');
    expect(lastLine((await run(dir, '--filter', 'readers *', '--filter', 'first*')).stdout)).toBe('3 passed, 0 failed');
    const none = await run(dir, '--filter', 'no-such-case');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no case matches --filter no-such-case/);
  });

  it('writes JUnit XML that parses, one testcase per case, failures with the diff, names escaped', async () => {
    const tricky = failing.replace('name: strangers wrongly expected to read', `name: "<strangers> & 'quotes' \\"read\\""`);
    const dir = await tempTree({ 'toy_test.yaml': tricky, 'ok_test.yaml': passing });
    const out = join(dir, 'report.xml');
    const { code, stdout } = await run(dir, '--reporter', 'junit', '--output', out);
    expect(code).toBe(5);
    expect(lastLine(stdout)).toBe('4 passed, 2 failed');
    const xml = await readFile(out, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const doc = new XMLParser({
      ignoreAttributes: false,
      attributeNamePrefix: '',
      isArray: (name) => ['testsuite', 'testcase'].includes(name),
    }).parse(xml) as {
      testsuites: {
        tests: string;
        failures: string;
        testsuite: { name: string; testcase: { name: string; failure?: { message: string; '#text': string } }[] }[];
      };
    };
    expect(doc.testsuites.tests).toBe('6');
    expect(doc.testsuites.failures).toBe('2');
    const cases = doc.testsuites.testsuite.flatMap((s) => s.testcase);
    expect(cases).toHaveLength(6);
    const tricked = cases.find((c) => c.name === `<strangers> & 'quotes' "read"`);
    expect(tricked?.failure?.message).toMatch(/outcome: expected allow, got deny/);
    expect(tricked?.failure?.['#text']).toMatch(/not_reader: the caller is not a reader/);
  });

  it('runs the valid suites but exits 6 when a fixture file is invalid, naming file, line and field', async () => {
    const dir = await tempTree({ 'bad_test.yaml': passing.replace('outcome: deny', 'outcome: denied'), 'good_test.yaml': failing });
    const { code, stdout } = await run(dir);
    expect(code).toBe(6);
    expect(stdout).toMatch(
      /1 fixture file did not load:\n +.*bad_test\.yaml:23:24: cases\[2\]\.expect\.outcome: must be one of: allow, deny, approve, mask/,
    );
    expect(stdout).toMatch(/toy failing/);
    expect(lastLine(stdout)).toBe('1 passed, 2 failed');
  });

  it('reports invalid fixture files as JUnit errors', async () => {
    const dir = await tempTree({ 'bad_test.yaml': 'name: bad\ncases: []\n' });
    const { code, stdout, stderr } = await run(dir, '--reporter', 'junit');
    expect(code).toBe(6);
    expect(XMLValidator.validate(stdout)).toBe(true);
    expect(stdout).toMatch(/<error message="[^"]*bad_test\.yaml:2:8: cases: must NOT have fewer than 1 items"/);
    expect(lastLine(stderr)).toBe('0 passed, 0 failed');
  });

  it('prints a JSON report with every decision', async () => {
    const dir = await tempTree({ 'toy_test.yaml': failing });
    const { code, stdout, stderr } = await run(dir, '--reporter', 'json');
    expect(code).toBe(5);
    const report = JSON.parse(stdout) as {
      summary: { passed: number; failed: number };
      suites: { cases: { status: string; decision: { outcome: string }; mismatches: unknown[] }[] }[];
    };
    expect(report.summary).toMatchObject({ passed: 1, failed: 2 });
    expect(report.suites[0]!.cases.map((c) => [c.status, c.decision.outcome])).toEqual([
      ['passed', 'allow'],
      ['failed', 'deny'],
      ['failed', 'deny'],
    ]);
    expect(lastLine(stderr)).toBe('1 passed, 2 failed');
  });

  it('reports which documented reason codes fired and which never did', async () => {
    const dir = await tempTree({ 'toy_test.yaml': passing });
    const { stdout } = await run(dir);
    expect(stdout).toMatch(/reason codes: 2 of 3 documented codes fired/);
    expect(stdout).toMatch(/ +never fired \(deny\): never_given\n/);
    expect((await run(dir, '--filter', 'emails')).stdout).not.toMatch(/reason codes/);
  });

  it('exits 6 when there is nothing to run', async () => {
    const dir = await tempTree({ 'notes.yaml': 'name: not a suite\n' });
    const { code, stderr } = await run(dir);
    expect(code).toBe(6);
    expect(stderr).toMatch(/no fixture suites/);
  });
});
