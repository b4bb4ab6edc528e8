// A small policy and helpers for runner tests: the decision depends only on the caller's
// groups and the SQL text, so the tests exercise the runner, not the default policy.
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { compilePolicy } from '../support/policy.ts';

export const root = resolve(import.meta.dirname, '../..');

export const toyRego = `package sluice

default decision := {"outcome": "deny", "reasons": [{"code": "not_reader", "message": "the caller is not a reader"}], "masks": []}

decision := {"outcome": "allow", "reasons": [], "masks": []} if {
	"readers" in input.identity.groups
	not contains(lower(input.sql.text), "email")
}

decision := {
	"outcome": "mask",
	"reasons": [{"code": "pii_masked", "message": "email is masked", "rule": "sluice.decision"}],
	"masks": [{"output": "email", "strategy": "email-domain"}],
} if {
	"readers" in input.identity.groups
	contains(lower(input.sql.text), "email")
}
`;

export const toyReadme = `# Toy policy

## Reason codes

### deny

| code | rule | meaning |
| --- | --- | --- |
| \`not_reader\` | \`sluice.decision\` | the caller is not a reader |
| \`never_given\` | \`sluice.other\` | documented but never produced |

### informative

| code | rule | meaning |
| --- | --- | --- |
| \`pii_masked\` | \`sluice.decision\` | a mask |
`;

let toy: Promise<{ bundle: string; regoDir: string }> | undefined;

/** The toy policy, compiled once per test file. */
export function toyPolicy(): Promise<{ bundle: string; regoDir: string }> {
  toy ??= (async () => {
    const { path, regoDir } = await compilePolicy({ 'sluice/decision.rego': toyRego });
    await writeFile(join(regoDir, 'README.md'), toyReadme);
    return { bundle: path, regoDir };
  })();
  return toy;
}

/** Writes files (path → text) into a fresh temp directory. */
export async function tempTree(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-fixtures-'));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), text);
  }
  return dir;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `sluice …` as a user would, without a terminal (no colors, no progress line). */
export async function sluice(args: string[], cwd = root): Promise<CliRun> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, 'cli/sluice.ts'), ...args], {
      cwd,
      env: { ...process.env, NO_COLOR: '1' },
      maxBuffer: 64 * 1024 * 1024,
    });
    return { code: 0, stdout, stderr };
  } catch (thrown) {
    const e = thrown as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw thrown;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export const identities = `identities:
  reader: { subject: rita@example.test, kind: human, groups: [readers] }
  stranger: { subject: sam@example.test, kind: human, groups: [] }
`;

export const header = (name: string) => `name: ${name}
now: 2027-01-15T08:00:00Z
defaults: { project: acme-analytics, estimate_bytes: 1 MiB }
${identities}`;
