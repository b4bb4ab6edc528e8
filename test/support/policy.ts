// Compiles small throwaway policies with the real opa CLI, for engine tests.
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { buildBundle, findOpa } from '../../engine/build.ts';
import type { PolicyInput } from '../../engine/index.ts';

export async function writePolicy(files: Record<string, string>, dir?: string): Promise<string> {
  const regoDir = dir ?? (await mkdtemp(join(tmpdir(), 'sluice-rego-')));
  for (const [name, text] of Object.entries(files)) {
    await mkdir(dirname(join(regoDir, name)), { recursive: true });
    await writeFile(join(regoDir, name), text);
  }
  return regoDir;
}

/** Builds rego files into a bundle with the production build path. */
export async function compilePolicy(files: Record<string, string>): Promise<{ path: string; revision: string; regoDir: string }> {
  const regoDir = await writePolicy(files);
  const result = await buildBundle({ regoDir, out: join(regoDir, '..', `${regoDir.split('/').pop()}.tar.gz`) });
  return { ...result, regoDir };
}

/** Builds with opa directly and a chosen entrypoint, bypassing the project's build rules. */
export async function compileRaw(files: Record<string, string>, entrypoint: string): Promise<Uint8Array> {
  const regoDir = await writePolicy(files);
  const out = `${regoDir}.tar.gz`;
  await promisify(execFile)(await findOpa(), ['build', '-t', 'wasm', '-e', entrypoint, '-o', out, regoDir]);
  return readFile(out);
}

export function minimalInput(overrides: Partial<PolicyInput> = {}): PolicyInput {
  return {
    now: { unix: 1_800_000_000, rfc3339: '2027-01-15T08:00:00Z' },
    identity: { subject: 'reporting-agent', issuer: 'https://idp.test', kind: 'agent', groups: ['agents'], claims: {} },
    request: { project: 'acme-analytics', route: 'cli' },
    sql: { text: 'SELECT 1', hash: 'x', parsed: true, statements: [] },
    grants: [],
    ...overrides,
  };
}

export const decisionRego = (body: string) => `package sluice\n\n${body}\n`;
