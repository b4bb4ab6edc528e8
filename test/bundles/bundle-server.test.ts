// A gateway that takes its policy from a bundle server: starts with none (fail closed, not ready),
// activates each signed revision the server publishes within its poll interval, refuses what it
// must (server down, garbage, too large, wrong key, tampered, no entrypoint) keeping the active
// policy, and restarts on the persisted bundle when the server is gone. Real parts throughout:
// opa signs, the emulator answers, the audit trail records.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listRecords } from '../../gateway/audit/index.ts';
import { writePolicy } from '../support/policy.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';
import { BundleServer } from './server.ts';
import { fileNamed, keyPair, opaSignedBundle, repack, text, type KeyPair } from './support.ts';

const SQL = 'SELECT COUNT(*) AS n FROM sales.orders';
const CLAIMS = { keyid: 'release', scope: 'prod' };

let stack: Stack;
let server: BundleServer;
let release: KeyPair;
let other: KeyPair;
let revA: Uint8Array;
let revB: Uint8Array;
let persistDir: string;

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const status = async () => (await stack.fetch('/status')).body.policy as Record<string, any>;
const query = (requestId: string) =>
  stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
    method: 'POST',
    agent: 'reporting-agent',
    headers: { 'x-request-id': requestId },
    body: JSON.stringify({ query: SQL, useLegacySql: false }),
  });
const forwardRevision = async (requestId: string) =>
  ((await listRecords(stack.gateway.database.db, { requestId, kinds: ['forward'] }))[0]?.record as { data: { revision: string } } | undefined)?.data.revision;
const reloads = async () =>
  (await listRecords(stack.gateway.database.db, { kinds: ['config_reload'], order: 'oldest', limit: 500 })).map((r) => (r.record as { data: Record<string, any> }).data);
async function metric(name: string, labels: string): Promise<number> {
  const text = (await stack.fetch('/metrics')).body as string;
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (labels === '' && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : 0;
}
const refusedCount = (reason: string) => metric('sluice_bundle_activations_total', `outcome="refused",reason="${reason}"`);

/** Serves `mode`/`bytes` until the gateway refused it once more (reason), then checks nothing changed. */
async function expectRefused(reason: RegExp | string, publish: () => void, errorPattern: RegExp) {
  const before = await status();
  const recordsBefore = (await reloads()).length;
  publish();
  const refusal = await until(`a refusal (${String(reason)})`, async () => {
    const s = await status();
    return s.last_failure && s.last_failure.at !== before.last_failure?.at && (typeof reason === 'string' ? s.last_failure.reason === reason : reason.test(s.last_failure.reason)) && s.last_failure;
  });
  expect(refusal.error).toMatch(errorPattern);
  expect((await status()).active_revision).toBe('rev-b');
  expect(await refusedCount(refusal.reason)).toBeGreaterThan(0);
  const record = await until('the refusal audit record', async () =>
    (await reloads()).slice(recordsBefore).find((r) => !r.ok && String(r.error).startsWith(`${refusal.reason}: `)),
  );
  expect(record).toMatchObject({ component: 'policy', ok: false, source: server.url, revision: 'rev-b', previous_revision: 'rev-b' });
  expect(record.error).toMatch(errorPattern);
  // Queries still decide on the active policy.
  const id = `still-b-${Math.random().toString(36).slice(2)}`;
  expect((await query(id)).status).toBe(200);
  expect(await forwardRevision(id)).toBe('rev-b');
}

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-bundle-server-'));
  persistDir = join(dir, 'persist');
  [release, other] = await Promise.all([keyPair(dir, 'release', 'rsa'), keyPair(dir, 'other', 'rsa')]);
  // rev-a signed two minutes ago, rev-b one: rev-a is the older bundle.
  const now = Math.floor(Date.now() / 1000);
  [revA, revB] = await Promise.all([
    opaSignedBundle({ revision: 'rev-a', key: release, claims: { ...CLAIMS, iat: now - 120 } }),
    opaSignedBundle({ revision: 'rev-b', key: release, claims: { ...CLAIMS, iat: now - 60 } }),
  ]);
  server = await new BundleServer().start();
  stack = await startStack({
    config: {
      bundle: {
        url: server.url,
        persist_dir: persistDir,
        poll: { min_delay_seconds: 0.2, max_delay_seconds: 0.4 },
        credentials: { bearer: { token: 'bundle-token' } },
        max_size_bytes: 4 * 1024 * 1024,
        verification: { keys: { release: { key: release.publicPath, algorithm: 'RS256' } }, scope: 'prod' },
      },
    },
    // Each gateway instance makes its own engine (empty until a bundle activates).
    gateway: { engine: undefined },
  });
}, 120_000);

afterAll(async () => {
  await stack?.close();
  await server?.stop();
});

describe('a gateway polling a bundle server', () => {
  it('has no policy before the server has a bundle: not ready, every query refused', async () => {
    await until('a first poll', async () => server.requests.length > 0);
    const ready = await stack.fetch('/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.policy_revision).toBeNull();
    const refused = await query('no-policy-1');
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(await forwardRevision('no-policy-1')).toBeUndefined();
    const s = await status();
    expect(s).toMatchObject({ active_revision: null, verification: true, last_success: null });
    expect(s.last_failure).toMatchObject({ reason: 'http_404', source: server.url });
    expect(server.requests[0]!.authorization).toBe('Bearer bundle-token');
  });

  it('activates the first signed revision within the poll interval: ready, queries decided by it, recorded', async () => {
    server.publish(revA);
    await until('rev-a active', async () => (await status()).active_revision === 'rev-a');
    expect((await stack.fetch('/readyz')).status).toBe(200);
    expect((await query('rev-a-1')).status).toBe(200);
    expect(await forwardRevision('rev-a-1')).toBe('rev-a');
    const record = await until('the activation record', async () => (await reloads()).find((r) => r.ok && r.revision === 'rev-a'));
    expect(record).toMatchObject({ component: 'policy', source: server.url, previous_revision: null, error: null });
    expect(await metric('sluice_bundle_activations_total', 'outcome="activated",reason=""')).toBe(1);
    expect(await metric('sluice_bundle_active_revision_info', `revision="rev-a",source="${server.url}"`)).toBe(1);
    expect(await metric('sluice_bundle_last_success_timestamp_seconds', '')).toBeGreaterThan(0);
  });

  it('asks with If-None-Match and is answered 304 while nothing changed', async () => {
    const seen = server.requests.length;
    await until('two more polls', async () => server.requests.length >= seen + 2);
    const recent = server.requests.slice(seen);
    expect(recent.every((r) => r.status === 304 && r.ifNoneMatch)).toBe(true);
    expect(await metric('sluice_bundle_activations_total', 'outcome="activated",reason=""')).toBe(1);
  });

  it('switches to a newly published revision', async () => {
    server.publish(revB);
    await until('rev-b active', async () => (await status()).active_revision === 'rev-b');
    expect((await query('rev-b-1')).status).toBe(200);
    expect(await forwardRevision('rev-b-1')).toBe('rev-b');
    const record = await until('the activation record', async () => (await reloads()).find((r) => r.ok && r.revision === 'rev-b'));
    expect(record).toMatchObject({ previous_revision: 'rev-a' });
    expect(await metric('sluice_bundle_active_revision_info', `revision="rev-b",source="${server.url}"`)).toBe(1);
    expect(await metric('sluice_bundle_active_revision_info', `revision="rev-a",source="${server.url}"`)).toBe(0);
  });

  it('keeps the active policy when the server is down, errs, or sends garbage or too much', async () => {
    try {
      await expectRefused('download', () => (server.mode = 'drop'), /cannot be reached|download failed/);
      await expectRefused('http_503', () => (server.mode = 'error'), /HTTP 503/);
      await expectRefused('not_a_bundle', () => (server.mode = 'garbage'), /not gzip|not a tarball/);
      await expectRefused('too_large', () => (server.mode = 'huge'), /limit/);
    } finally {
      server.mode = 'ok';
    }
  });

  it('refuses a bundle signed with another key, a tampered one, an unsigned one and one without the entrypoint', async () => {
    const wrongKey = await opaSignedBundle({ revision: 'rev-evil', key: other, claims: CLAIMS });
    await expectRefused('signature', () => server.publish(wrongKey), /does not verify with key release/);
    const tampered = await repack(await opaSignedBundle({ revision: 'rev-t', key: release, claims: CLAIMS }), (files) => {
      const f = fileNamed(files, 'data.json');
      f.data = text('{"injected": true}');
    });
    await expectRefused('signature', () => server.publish(tampered), /data\.json: digest mismatch/);
    const unsigned = await opaSignedBundle({ revision: 'rev-u' });
    await expectRefused('signature', () => server.publish(unsigned), /not signed/);
    const regoDir = await writePolicy({ 'other/policy.rego': 'package other\nallow := true\n' });
    const noEntrypoint = await opaSignedBundle({ revision: 'rev-x', key: release, claims: CLAIMS, regoDir, entrypoint: 'other/allow' });
    await expectRefused('load', () => server.publish(noEntrypoint), /no entrypoint sluice\/decision/);
    // Whoever stands between the gateway and its server replays rev-a, validly signed but older.
    await expectRefused('downgrade', () => server.publish(revA), /signed at .* before the active one/);
    const undated = await opaSignedBundle({ revision: 'rev-n', key: release, claims: { ...CLAIMS, iat: undefined } });
    await expectRefused('signature', () => server.publish(undated), /no `iat` claim/);
    const future = await opaSignedBundle({ revision: 'rev-f', key: release, claims: { ...CLAIMS, iat: Math.floor(Date.now() / 1000) + 86_400 } });
    await expectRefused('signature', () => server.publish(future), /`iat` .* lies in the future/);
    expect(await metric('sluice_bundle_last_failure_timestamp_seconds', '')).toBeGreaterThan(0);
  });

  it('restarts on the persisted bundle when the server is gone', async () => {
    server.publish(revB);
    await server.stop();
    await stack.restartGateway();
    // Restored before the gateway answers: ready, rev-b, with no server at all.
    const s = await status();
    expect(s).toMatchObject({ active_revision: 'rev-b' });
    expect(s.source).toMatch(/persist\/bundle\.tar\.gz$/);
    expect((await stack.fetch('/readyz')).status).toBe(200);
    expect((await query('after-restart')).status).toBe(200);
    expect(await forwardRevision('after-restart')).toBe('rev-b');
    await until('a failed poll of the absent server', async () => (await status()).last_failure?.reason === 'download');
    expect((await status()).active_revision).toBe('rev-b');
  });

  it('skips the download (304) after a restart when the server still has the persisted revision', async () => {
    const port = server.port;
    server = new BundleServer();
    server.publish(revB);
    await server.start(port);
    await until('a poll', async () => server.requests.length > 0);
    expect(server.requests[0]).toMatchObject({ status: 304 });
  });

  it('after a restart on the persisted bundle, still refuses an older signed one', async () => {
    await expectRefused('downgrade', () => server.publish(revA), /signed at .* before the active one/);
    server.publish(revB);
  });

  it('starts with no policy when the persisted bundle was tampered with, until the server delivers one', async () => {
    await server.stop();
    const persisted = join(persistDir, 'bundle.tar.gz');
    await writeFile(persisted, await repack(await readFile(persisted), (files) => {
      const f = fileNamed(files, 'decision.rego');
      f.data = text(`${new TextDecoder().decode(f.data)}\n# changed on disk\n`);
    }));
    await stack.restartGateway();
    const s = await status();
    expect(s.active_revision).toBeNull();
    expect(s.last_failure).not.toBeNull(); // the persisted bundle's refusal, or already a failed poll of the absent server
    const record = (await reloads()).reverse().find((r) => r.source === persisted);
    expect(record).toMatchObject({ ok: false, revision: null, previous_revision: null });
    expect(record!.error).toMatch(/^signature: file .*decision\.rego: digest mismatch/);
    expect((await stack.fetch('/readyz')).status).toBe(503);
    const refused = await query('tampered-on-disk');
    expect(refused.status).toBeGreaterThanOrEqual(400);
    expect(await forwardRevision('tampered-on-disk')).toBeUndefined();

    await server.start(server.port);
    await until('rev-b from the server', async () => (await status()).active_revision === 'rev-b');
    expect((await stack.fetch('/readyz')).status).toBe(200);
  });
});
