// Runs goccy's bigquery-emulator as a child process on free loopback ports, seeded with the
// reference organisation's data (demo/seed/acme.yaml). The demo, the tests and the benchmark use
// it as the "real BigQuery" the gateway forwards to.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join, resolve } from 'node:path';

const projectRoot = resolve(import.meta.dirname, '..');

export const ACME_PROJECT = 'acme-analytics';
export const ACME_SEED = join(projectRoot, 'demo', 'seed', 'acme.yaml');

export interface EmulatorOptions {
  /** Default `acme-analytics`. */
  project?: string;
  /** YAML seed (projects → datasets → tables → columns + data). Default: the reference organisation's. */
  seed?: string | null;
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
  try {
    await waitReady(url, project, child, exited, options.startTimeoutMs ?? 60_000, output);
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
