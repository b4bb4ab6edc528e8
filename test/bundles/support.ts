// Signed bundles for the bundle tests, made by the real opa CLI, and tarball surgery (tampering).
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createTarGzip, parseTarGzip } from 'nanotar';
import { ENTRYPOINT, findOpa } from '../../engine/build.ts';

const run = promisify(execFile);
export const REGO_DIR = resolve(import.meta.dirname, '..', '..', 'rego');

export interface KeyPair {
  privatePath: string;
  publicPath: string;
  publicPem: string;
}

export async function keyPair(dir: string, name: string, type: 'rsa' | 'ec'): Promise<KeyPair> {
  const { privateKey, publicKey } =
    type === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } })
      : generateKeyPairSync('ec', { namedCurve: 'P-256', privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const privatePath = join(dir, `${name}.pem`);
  const publicPath = join(dir, `${name}.pub.pem`);
  await writeFile(privatePath, privateKey);
  await writeFile(publicPath, publicKey);
  return { privatePath, publicPath, publicPem: publicKey };
}

export async function opa(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(await findOpa(), args, { maxBuffer: 64 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** `opa build -b -t wasm --signing-key …` of a policy directory (default: the project's rego/). */
export async function opaSignedBundle(options: {
  revision: string;
  key?: KeyPair;
  alg?: string;
  claims?: Record<string, unknown>;
  regoDir?: string;
  entrypoint?: string;
}): Promise<Uint8Array> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-signed-'));
  const out = join(dir, 'bundle.tar.gz');
  const args = ['build', '-b', '-t', 'wasm', '-e', options.entrypoint ?? ENTRYPOINT, '-r', options.revision, '--ignore', '*_test.rego', '--ignore', '.*', '-o', out];
  if (options.key) {
    const claims = join(dir, 'claims.json');
    // Signed now unless the claims say when (`iat` orders signed bundles).
    await writeFile(claims, JSON.stringify({ iat: Math.floor(Date.now() / 1000), ...options.claims }));
    args.push('--signing-key', options.key.privatePath, '--signing-alg', options.alg ?? 'RS256', '--claims-file', claims);
  }
  const result = await opa([...args, options.regoDir ?? REGO_DIR]);
  if (result.code !== 0) throw new Error(`opa build failed: ${result.stderr}`);
  return readFile(out);
}

export type TarFiles = { name: string; data: Uint8Array }[];

/** Unpacks, changes and repacks a bundle tarball. */
export async function repack(bytes: Uint8Array, change: (files: TarFiles) => TarFiles | void): Promise<Uint8Array> {
  const files = (await parseTarGzip(bytes)).filter((f) => f.type === 'file' || f.type === undefined).map((f) => ({ name: f.name, data: f.data ?? new Uint8Array() }));
  const changed = change(files) ?? files;
  return createTarGzip(changed.map((f) => ({ name: f.name, data: f.data })));
}

export const text = (s: string) => new TextEncoder().encode(s);
export const fileNamed = (files: TarFiles, name: string) => {
  const found = files.find((f) => f.name.replace(/^\/+/, '') === name || f.name.replace(/^\/+/, '').endsWith(`/${name}`));
  if (!found) throw new Error(`no ${name} in the bundle`);
  return found;
};
