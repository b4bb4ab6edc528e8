// Runs goccy's bigquery-emulator as a child process on free loopback ports, seeded with the
// reference organisation's data (demo/seed/acme.yaml, and the policy tags of its columns in
// demo/seed/acme.policy-tags.yaml). The demo, the tests and the benchmark use it as the "real
// BigQuery" the gateway forwards to.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';
import { parse } from 'yaml';

const projectRoot = resolve(import.meta.dirname, '..');

export const ACME_PROJECT = 'acme-analytics';
export const ACME_SEED = join(projectRoot, 'demo', 'seed', 'acme.yaml');
/** Policy tags on the seed's columns (the YAML seed cannot carry them; see applyPolicyTags). */
export const ACME_POLICY_TAGS = join(projectRoot, 'demo', 'seed', 'acme.policy-tags.yaml');

export interface EmulatorOptions {
  /** Default `acme-analytics`. */
  project?: string;
  /** YAML seed (projects → datasets → tables → columns + data). Default: the reference organisation's. */
  seed?: string | null;
  /**
   * YAML of policy tags to set on seeded columns (`project.dataset.table` → column → tag names).
   * Default: the reference organisation's with its seed, none with another.
   */
  policyTags?: string | null;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** SQLite file to persist into; default in memory. */
  database?: string;
  /** Path of the binary; default `$SLUICE_BIGQUERY_EMULATOR`, `.tools/bin/bigquery-emulator`, then PATH. */
  binary?: string;
  startTimeoutMs?: number;
  /** Emulator log level (it writes to stderr). Default `error`. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Receives the emulator's stderr lines (default: kept for the error message if startup fails). */
  onLog?: (line: string) => void;
}

export interface Emulator {
  /** REST root, e.g. `http://127.0.0.1:41234`; the BigQuery API lives under `/bigquery/v2`. */
  readonly url: string;
  readonly project: string;
  readonly port: number;
  readonly grpcPort: number;
  readonly pid: number;
  stop(): Promise<void>;
}

/** Emulators still running; killed when this process exits so none outlives a crashed test or demo. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class EmulatorError extends Error {
  override name = 'EmulatorError';
}

export function findEmulatorBinary(explicit?: string): string {
  const candidates = [explicit, process.env.SLUICE_BIGQUERY_EMULATOR, join(projectRoot, '.tools', 'bin', 'bigquery-emulator')];
  for (const c of candidates) if (c && existsSync(c)) return c;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const c = join(dir, 'bigquery-emulator');
    if (dir && existsSync(c)) return c;
  }
  throw new EmulatorError(
    'bigquery-emulator not found: run `npm test` once (scripts/toolchain.sh builds it into .tools/bin) or set SLUICE_BIGQUERY_EMULATOR',
  );
}

/** A port the OS considers free right now (there is a small window before the child binds it). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  // A port grabbed by someone else between `freePort` and the child's bind fails fast; retry then.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(options);
    } catch (error) {
      lastError = error;
      if (!(error instanceof EmulatorError) || !/address already in use/i.test(error.message) || options.port) throw error;
    }
  }
  throw lastError;
}

async function startOnce(options: EmulatorOptions): Promise<Emulator> {
  const binary = findEmulatorBinary(options.binary);
  const project = options.project ?? ACME_PROJECT;
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  let grpcPort = await freePort(host);
  while (grpcPort === port) grpcPort = await freePort(host);
  const seed = options.seed === undefined ? ACME_SEED : options.seed;
  const args = [`--project=${project}`, `--host=${host}`, `--port=${port}`, `--grpc-port=${grpcPort}`, `--log-level=${options.logLevel ?? 'error'}`];
  if (seed) args.push(`--data-from-yaml=${seed}`);
  if (options.database) args.push(`--database=${options.database}`);

  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  watchParent(child);
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      if (options.onLog) options.onLog(line);
      output.push(line);
      if (output.length > 50) output.shift();
    }
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const policyTags = options.policyTags === undefined ? (seed === ACME_SEED ? ACME_POLICY_TAGS : null) : options.policyTags;
  try {
    await waitReady(url, project, child, exited, options.startTimeoutMs ?? 60_000, output);
    if (policyTags) await applyPolicyTags(url, policyTags);
  } catch (error) {
    await terminate(child, exited);
    throw error;
  }
  return {
    url,
    project,
    port,
    grpcPort,
    pid: child.pid!,
    stop: () => terminate(child, exited),
  };
}

/** Ready once the REST API answers for the project (loading the seed happens before it listens). */
async function waitReady(
  url: string,
  project: string,
  child: ChildProcess,
  exited: Promise<number | null>,
  timeoutMs: number,
  output: string[],
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let gone: number | null | undefined;
  void exited.then((code) => (gone = code));
  while (Date.now() < deadline) {
    if (gone !== undefined || child.exitCode !== null) {
      throw new EmulatorError(`bigquery-emulator exited with code ${gone ?? child.exitCode}: ${output.join('\n') || '(no output)'}`);
    }
    try {
      const res = await fetch(`${url}/bigquery/v2/projects/${project}/datasets`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new EmulatorError(`bigquery-emulator did not become ready within ${timeoutMs} ms: ${output.join('\n') || '(no output)'}`);
}

interface Field {
  name: string;
  fields?: Field[];
  policyTags?: { names: string[] };
}

/**
 * Sets policy tags on seeded columns. The emulator's YAML loader refuses `policyTags` on a column,
 * but tables.patch keeps a schema's policyTags and tables.get then reports them as BigQuery does
 * (the stored rows are untouched). A column the file names that the table lacks is an error.
 */
export async function applyPolicyTags(url: string, file: string): Promise<void> {
  const tags = parse(await readFile(file, 'utf8')) as Record<string, Record<string, string[]>> | null;
  for (const [id, columns] of Object.entries(tags ?? {})) {
    const [project, dataset, table] = id.split('.');
    const tableUrl = `${url}/bigquery/v2/projects/${project}/datasets/${dataset}/tables/${table}`;
    const got = await fetch(tableUrl);
    if (!got.ok) throw new EmulatorError(`policy tags: tables.get of ${id} answered ${got.status}`);
    const fields = ((await got.json()) as { schema?: { fields?: Field[] } }).schema?.fields ?? [];
    for (const [path, names] of Object.entries(columns)) {
      let list: Field[] | undefined = fields;
      let field: Field | undefined;
      for (const part of path.split('.')) {
        field = list?.find((f) => f.name.toLowerCase() === part.toLowerCase());
        list = field?.fields;
      }
      if (!field) throw new EmulatorError(`policy tags: ${id} has no column ${path}`);
      field.policyTags = { names };
    }
    const patched = await fetch(tableUrl, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ schema: { fields } }) });
    if (!patched.ok) throw new EmulatorError(`policy tags: tables.patch of ${id} answered ${patched.status}: ${await patched.text()}`);
  }
}

/**
 * A parent killed by a signal runs no exit handler: a tiny watchdog stops the emulator once this
 * process is gone, so a killed test run or demo leaves nothing listening.
 */
function watchParent(child: ChildProcess): void {
  if (process.platform === 'win32' || !child.pid) return;
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${child.pid} 2>/dev/null; do sleep 1; done; kill ${child.pid} 2>/dev/null`;
  const watchdog = spawn('/bin/sh', ['-c', script], { stdio: 'ignore', detached: true });
  watchdog.on('error', () => undefined);
  watchdog.unref();
}

async function terminate(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}
