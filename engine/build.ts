// Compiles rego/ to a WebAssembly bundle with the opa CLI. The bundle's revision is a digest of
// the policy sources, so an unchanged policy is never rebuilt and every decision names exactly
// which policy made it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { readBundle } from './bundle.ts';
import { EngineError } from './errors.ts';

const run = promisify(execFile);
const projectRoot = resolve(import.meta.dirname, '..');

export const ENTRYPOINT = 'sluice/decision';
export const DEFAULT_BUNDLE = join(projectRoot, 'build', 'bundle.tar.gz');
export const DEFAULT_REGO_DIR = join(projectRoot, 'rego');

/** Built-ins that compile but are not implemented by the WASM target or the JS SDK: refused at build time. */
const NOT_IN_WASM = new Set(['time.diff', 'rand.intn']);

export interface BuildOptions {
  regoDir?: string;
  out?: string;
  force?: boolean;
  /** Sign the bundle as `opa build --signing-key` does (.signatures.json); signing always rebuilds. */
  signing?: SigningOptions;
}

export interface SigningOptions {
  /** PEM file of the private key (RSA, ECDSA), or an HMAC secret. */
  key: string;
  /** JWS algorithm; default RS256 (opa's default). */
  algorithm?: string;
  /** The `keyid` claim: the name of the verification key the gateway must use. */
  keyId?: string;
  /** The `scope` claim. */
  scope?: string;
}

export interface BuildResult {
  path: string;
  revision: string;
  built: boolean;
}

export async function buildBundle(options: BuildOptions = {}): Promise<BuildResult> {
  const regoDir = resolve(options.regoDir ?? DEFAULT_REGO_DIR);
  const out = resolve(options.out ?? DEFAULT_BUNDLE);
  const opa = await findOpa();
  const version = (await run(opa, ['version'])).stdout.split('\n')[0] ?? '';
  const revision = await sourceRevision(regoDir, version);

  const signing = options.signing;
  if (!options.force && !signing && (await currentRevision(out)) === revision) return { path: out, revision, built: false };

  await mkdir(join(out, '..'), { recursive: true });
  const capabilities = `${out}.capabilities.json`;
  await writeFile(capabilities, JSON.stringify(await wasmCapabilities(opa)));
  const common = ['--capabilities', capabilities, '--ignore', '*_test.rego', '--ignore', '.*'];
  await opaStep(opa, ['check', '--strict', ...common, regoDir], 'policy_invalid');
  const tmp = `${out}.${process.pid}.tmp`;
  const signArgs: string[] = [];
  const claims = `${out}.claims.json`;
  if (signing) {
    // Bundle mode (-b) is what lets opa sign; the rego/ layout (data.json / data.yaml by directory) loads the same.
    // `iat` orders signed bundles: a gateway never activates one signed before its active one.
    const iat = Math.floor(Date.now() / 1000);
    await writeFile(claims, JSON.stringify({ iat, ...(signing.keyId && { keyid: signing.keyId }), ...(signing.scope && { scope: signing.scope }) }));
    signArgs.push('-b', '--signing-key', signing.key, '--signing-alg', signing.algorithm ?? 'RS256', '--claims-file', claims);
  }
  try {
    await opaStep(opa, ['build', '-t', 'wasm', ...signArgs, '-e', ENTRYPOINT, '-r', revision, ...common, '-o', tmp, regoDir], 'policy_invalid');
  } finally {
    if (signing) await rm(claims, { force: true });
  }
  await rename(tmp, out); // atomic: a running engine reading the old file never sees half a bundle
  return { path: out, revision, built: true };
}

/** Locates the opa CLI: the project's provisioned one first, then PATH. */
export async function findOpa(): Promise<string> {
  const candidates = [process.env.SLUICE_OPA, join(projectRoot, '.tools', 'bin', 'opa'), 'opa'].filter(Boolean) as string[];
  for (const candidate of candidates) {
    if (candidate !== 'opa' && !existsSync(candidate)) continue;
    try {
      await run(candidate, ['version']);
      return candidate;
    } catch {
      /* try the next one */
    }
  }
  throw new EngineError(
    'opa_unavailable',
    'the opa CLI was not found. Run `bash scripts/toolchain.sh` (builds the pinned opa with `go install`), or put opa 1.x on PATH, or set SLUICE_OPA.',
  );
}

async function opaStep(opa: string, args: string[], code: 'policy_invalid'): Promise<void> {
  try {
    await run(opa, args, { maxBuffer: 16 * 1024 * 1024 });
  } catch (thrown) {
    const { stderr, stdout } = thrown as { stderr?: string; stdout?: string };
    throw new EngineError(code, `opa ${args[0]} failed:\n${(stderr || stdout || String(thrown)).trim()}`);
  }
}

/** OPA's current capabilities restricted to the built-ins the WASM target (with the JS SDK) evaluates. */
async function wasmCapabilities(opa: string): Promise<object> {
  const current = JSON.parse((await run(opa, ['capabilities', '--current'], { maxBuffer: 16 * 1024 * 1024 })).stdout) as {
    builtins: { name: string }[];
  };
  const sdk = JSON.parse(
    await readFile(join(projectRoot, 'node_modules', '@open-policy-agent', 'opa-wasm', 'capabilities.json'), 'utf8'),
  ) as { builtins: { name: string }[] };
  const supported = new Set(sdk.builtins.map((b) => b.name).filter((name) => !NOT_IN_WASM.has(name)));
  return { ...current, builtins: current.builtins.filter((b) => supported.has(b.name)) };
}

/** Digest of every policy source (path and bytes) and the compiler version. */
async function sourceRevision(regoDir: string, opaVersion: string): Promise<string> {
  const hash = createHash('sha256').update(opaVersion);
  for (const file of await sourceFiles(regoDir)) {
    hash.update(relative(regoDir, file)).update('\0').update(await readFile(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

export async function sourceFiles(regoDir: string): Promise<string[]> {
  const entries = await readdir(regoDir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && /\.(rego|json|ya?ml)$/.test(e.name) && !e.name.endsWith('_test.rego'))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !relative(regoDir, file).split('/').some((part) => part.startsWith('.')))
    .sort();
}

async function currentRevision(bundlePath: string): Promise<string | undefined> {
  if (!existsSync(bundlePath)) return undefined;
  try {
    return (await readBundle(await readFile(bundlePath))).revision;
  } catch {
    return undefined;
  }
}
