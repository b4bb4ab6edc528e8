// `sluice serve` as operators run it: a child process on the project's Node, configured by a YAML
// file, in front of the BigQuery emulator and the local OIDC provider. Ready only once it answers
// /readyz 200; answers the official Node client; SIGHUP reloads the policy and the audit trail says
// so; SIGTERM drains and exits 0. Bad usage and invalid configurations exit 2 naming the problem;
// a gateway that cannot start (its port taken, its database unreachable, its bundle missing) exits
// 1. `node gateway/main.ts` is the same function.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type Emulator } from '../../demo/emulator.ts';
import { freePort } from '../support/ports.ts';
import { DEFAULT_AUDIENCE, startIdentityProvider, type IdentityProvider } from '../../demo/idp.ts';
import { buildBundle } from '../../engine/index.ts';
import { sluice } from '../support/cli.ts';
import { agentClient, PROJECT } from '../support/stack.ts';

const CLI = fileURLToPath(new URL('../../cli/sluice.ts', import.meta.url));
const MAIN = fileURLToPath(new URL('../../gateway/main.ts', import.meta.url));
const HASH_KEY = 'serve-test-hash-key-0123456789';

let emulator: Emulator;
let idp: IdentityProvider;
let bundle: string;
let dir: string;

beforeAll(async () => {
  [emulator, idp, { path: bundle }] = await Promise.all([startEmulator(), startIdentityProvider(), buildBundle()]);
  dir = await mkdtemp(join(tmpdir(), 'sluice-serve-'));
});

afterAll(async () => {
  await Promise.allSettled([emulator?.stop(), idp?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A configuration file for the emulator and the local provider, listening on `port`. */
async function configFile(name: string, port: number, extra: string[] = [], bundlePath = bundle): Promise<string> {
  const path = join(dir, name);
  await writeFile(
    path,
    [
      `listen: { host: 127.0.0.1, port: ${port} }`,
      'log_level: info',
      `bundle: ${bundlePath}`,
      `storage: { url: "sqlite:${join(dir, `${name}.sqlite`)}" }`,
      'masking: { hash_key_env: SLUICE_HASH_KEY }',
      'issuers:',
      `  - { issuer: "\${IDP_URL}", audience: ${DEFAULT_AUDIENCE} }`,
      'connections:',
      `  - { name: acme, upstream: "${emulator.url}", project: ${PROJECT}, credentials: { mode: none }, require_referenced_tables: false }`,
      ...extra,
    ].join('\n'),
  );
  return path;
}

const childEnv = () => ({ ...process.env, NO_COLOR: '1', SLUICE_CONFIG: '', SLUICE_HASH_KEY: HASH_KEY, IDP_URL: idp.issuer });

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function start(args: string[], entry = CLI): Running {
  const child = spawn(process.execPath, [entry, ...args], { env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function until<T>(what: string, running: Running, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void running.exited.then(() => (exited = true));
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (exited || Date.now() > deadline) {
      throw new Error(`${exited ? 'the gateway exited' : 'timed out'} waiting for ${what}\nstderr:\n${running.stderr()}\nstdout:\n${running.stdout()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('sluice serve', () => {
  it('starts from its configuration, is ready, answers the official client, reloads on SIGHUP and exits 0 on SIGTERM', async () => {
    const port = await freePort();
    const config = await configFile('gateway.yaml', port);
    const url = `http://127.0.0.1:${port}`;
    const gateway = start(['serve', '--config', config]);
    try {
      const ready = await until('/readyz 200', gateway, async () => {
        const res = await fetch(`${url}/readyz`);
        return res.status === 200 ? ((await res.json()) as { status: string; policy_revision: string }) : undefined;
      });
      expect(ready.status).toBe('ready');
      expect(ready.policy_revision).toEqual(expect.any(String));
      expect(ready.policy_revision.length).toBeGreaterThan(0);
      // Where it listens, and its MCP endpoint, on stderr.
      expect(gateway.stderr()).toContain(`listening on ${url}`);
      expect(gateway.stderr()).toContain(`MCP endpoint ${url}/mcp`);
      expect((await fetch(`${url}/healthz`)).status).toBe(200);

      const client = agentClient(url, () => idp.tokenFor('reporting-agent'));
      const [rows] = await client.query("SELECT name FROM crm.customers WHERE customer_id = 'C001'");
      expect(rows).toHaveLength(1);
      expect((rows[0] as { name: unknown }).name).toEqual(expect.any(String));

      // SIGHUP: the policy is loaded again, and the audit trail records it.
      gateway.child.kill('SIGHUP');
      await until('the reload in the log', gateway, async () => (gateway.stdout().includes('policy reloaded') ? true : undefined));
      const reloads = await until('the config_reload audit record', gateway, async () => {
        const run = await sluice(['audit', 'list', '--storage', `sqlite:${join(dir, 'gateway.yaml.sqlite')}`, '--kind', 'config_reload', '--json']);
        if (run.code !== 0) return undefined;
        const records = JSON.parse(run.stdout) as unknown[];
        return records.length > 0 ? JSON.stringify(records) : undefined;
      });
      expect(reloads).toContain('config_reload');
      expect(reloads).toContain(ready.policy_revision);
      expect(reloads).toMatch(/"ok":\s*true/);
      // Still serving after the reload.
      expect((await fetch(`${url}/readyz`)).status).toBe(200);

      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
      expect(gateway.stderr()).toMatch(/SIGTERM: draining and stopping/);
    } finally {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
    }
  });

  it('is not ready until a policy is active: a bundle server that has none yet, then delivers one', async () => {
    let serving = false;
    const bundleServer = createHttpServer((req, res) => {
      if (!serving) return void res.writeHead(503).end('not yet');
      res.writeHead(200, { 'content-type': 'application/gzip', etag: '"one"' }).end(readFileSync(bundle));
    });
    await new Promise<void>((resolve) => bundleServer.listen(0, '127.0.0.1', resolve));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const server = `http://127.0.0.1:${(bundleServer.address() as { port: number }).port}/bundle.tar.gz`;
    const config = await configFile('bundle-server.yaml', port);
    const text = readFileSync(config, 'utf8').replace(
      /^bundle: .*$/m,
      `bundle: { url: "${server}", persist_dir: "${join(dir, 'bundles')}", poll: { min_delay_seconds: 0.2, max_delay_seconds: 0.5 } }`,
    );
    await writeFile(config, text);
    const gateway = start(['serve', '--config', config]);
    try {
      const notReady = await until('/readyz to answer', gateway, async () => {
        const res = await fetch(`${url}/readyz`);
        return { status: res.status, body: (await res.json()) as { status: string; policy_revision: string | null } };
      });
      expect(notReady).toEqual({ status: 503, body: expect.objectContaining({ status: 'not ready', policy_revision: null }) });
      expect(gateway.stderr()).toContain('no policy active yet');

      serving = true;
      const ready = await until('/readyz 200', gateway, async () => {
        const res = await fetch(`${url}/readyz`);
        return res.status === 200 ? ((await res.json()) as { policy_revision: string | null }) : undefined;
      });
      expect(ready.policy_revision).toEqual(expect.any(String));

      gateway.child.kill('SIGTERM');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
    } finally {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
      await new Promise<void>((resolve) => bundleServer.close(() => resolve()));
    }
  });

  it('node gateway/main.ts --config runs the same gateway', async () => {
    const port = await freePort();
    const config = await configFile('main.yaml', port);
    const gateway = start(['--config', config], MAIN);
    try {
      await until('/readyz 200', gateway, async () => ((await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200 ? true : undefined));
      expect(gateway.stderr()).toContain(`sluice gateway: listening on http://127.0.0.1:${port}`);
      gateway.child.kill('SIGINT');
      expect(await gateway.exited).toEqual({ code: 0, signal: null });
    } finally {
      if (gateway.child.exitCode === null && gateway.child.signalCode === null) gateway.child.kill('SIGKILL');
    }
  });

  it('--help describes the command and exits 0', async () => {
    const run = await sluice(['serve', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('--config <file>');
    expect(run.stdout).toContain('SIGHUP');
  });

  it('exits 2 without a configuration', async () => {
    const run = await sluice(['serve'], { SLUICE_CONFIG: '' });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/no configuration: pass --config/);
    const main = await runMain([]);
    expect(main.code).toBe(2);
    expect(main.stderr).toMatch(/no configuration/);
  });

  it('takes the configuration from SLUICE_CONFIG', async () => {
    const missing = join(dir, 'not-there.yaml');
    const run = await sluice(['serve'], { SLUICE_CONFIG: missing });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read gateway configuration ${missing}`);
  });

  it('exits 2 for an invalid configuration, naming the file and the problem', async () => {
    const port = await freePort();
    const invalid = await configFile('invalid.yaml', port, ['limits: { body_limit_bytes: 10 }']);
    const run = await sluice(['serve', '--config', invalid], { SLUICE_HASH_KEY: HASH_KEY, IDP_URL: idp.issuer });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`${invalid} is invalid`);
    expect(run.stderr).toContain('/limits/body_limit_bytes');

    const good = await configFile('unset-variable.yaml', port);
    const absent = await sluice(['serve', '--config', good], { SLUICE_HASH_KEY: HASH_KEY });
    expect(absent.code).toBe(2);
    expect(absent.stderr).toContain(`${good} refers to \${IDP_URL}, which is not set`);

    const noKey = await sluice(['serve', '--config', good], { SLUICE_HASH_KEY: 'short', IDP_URL: idp.issuer });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain(`${good}: SLUICE_HASH_KEY (masking.hash_key_env) must hold at least 16 bytes`);

    const yaml = join(dir, 'broken.yaml');
    await writeFile(yaml, 'issuers: [\n');
    const broken = await sluice(['serve', '--config', yaml]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain(`${yaml} is not valid YAML`);
  });

  it('exits 1 when its port is taken', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = (taken.address() as { port: number }).port;
      const config = await configFile('port-taken.yaml', port);
      const run = await sluice(['serve', '--config', config], { SLUICE_HASH_KEY: HASH_KEY, IDP_URL: idp.issuer });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
      expect(run.stderr).toMatch(/EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });

  it('exits 1 when its database is unreachable', async () => {
    const port = await freePort();
    const nobody = await freePort();
    const config = await configFile('no-database.yaml', port);
    const text = readFileSync(config, 'utf8').replace(/^storage: .*$/m, `storage: { url: "postgres://sluice@127.0.0.1:${nobody}/sluice" }`);
    await writeFile(config, text);
    const run = await sluice(['serve', '--config', config], { SLUICE_HASH_KEY: HASH_KEY, IDP_URL: idp.issuer });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot start');
    expect(run.stderr).toMatch(/ECONNREFUSED/);
  });

  it('exits 1 when the policy bundle is missing', async () => {
    const port = await freePort();
    const config = await configFile('no-bundle.yaml', port, [], join(dir, 'no-such-bundle.tar.gz'));
    const run = await sluice(['serve', '--config', config], { SLUICE_HASH_KEY: HASH_KEY, IDP_URL: idp.issuer });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('cannot start');
    expect(run.stderr).toContain('no-such-bundle.tar.gz');
  });
});

function runMain(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = start(args, MAIN);
  return child.exited.then(({ code }) => ({ code, stderr: child.stderr() }));
}
