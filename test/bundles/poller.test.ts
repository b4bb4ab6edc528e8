// The poller on its own, with a scripted fetch: concurrent polls share one download, closing
// aborts a download under way without recording a refusal, and an activation persists.
import { mkdtemp, readFile, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../engine/index.ts';
import { BundlePoller, type ActivationEvent, type BundleServerConfig } from '../../gateway/bundles/index.ts';
import { opaSignedBundle } from './support.ts';

let bundle: Uint8Array;
beforeAll(async () => {
  bundle = await opaSignedBundle({ revision: 'plain-1' });
}, 60_000);

async function config(): Promise<BundleServerConfig> {
  return {
    url: 'http://bundles.invalid/b.tar.gz',
    minDelayMs: 60_000,
    maxDelayMs: 60_000,
    bearerToken: undefined,
    persistDir: await mkdtemp(join(tmpdir(), 'sluice-poller-')),
    maxSizeBytes: 16 << 20,
    timeoutMs: 30_000,
    verification: undefined,
  };
}

describe('BundlePoller', () => {
  it('joins concurrent polls into one download, activates and persists with the ETag', async () => {
    let calls = 0;
    const events: ActivationEvent[] = [];
    const engine = Engine.empty();
    const cfg = await config();
    const poller = new BundlePoller({
      config: cfg,
      engine,
      report: (e) => void events.push(e),
      fetch: (async () => {
        calls++;
        await new Promise((r) => setTimeout(r, 20));
        return new Response(bundle, { status: 200, headers: { etag: '"v1"' } });
      }) as typeof fetch,
    });
    const [a, b] = await Promise.all([poller.poll(), poller.poll()]);
    expect([a, b]).toEqual([true, true]);
    expect(calls).toBe(1);
    expect(engine.revision).toBe('plain-1');
    expect(events).toEqual([expect.objectContaining({ ok: true, revision: 'plain-1', previousRevision: '' })]);
    expect(JSON.parse(await readFile(join(cfg.persistDir, 'bundle.json'), 'utf8'))).toMatchObject({ etag: '"v1"', revision: 'plain-1' });
    expect(poller.status()).toMatchObject({ active_revision: 'plain-1', etag: '"v1"', verification: false });
    await poller.close();
  });

  it('at start, asks with the persisted ETag only when the persisted bundle is the one saved with it', async () => {
    const cfg = await config();
    const served = (seen: (string | null)[]) =>
      (async (_url: string, init: RequestInit) => {
        const asked = new Headers(init.headers).get('if-none-match');
        seen.push(asked);
        return asked === '"v2"' ? new Response(null, { status: 304 }) : new Response(current, { status: 200, headers: { etag: '"v2"' } });
      }) as typeof fetch;
    const current = await opaSignedBundle({ revision: 'plain-2' });
    const first = new BundlePoller({ config: cfg, engine: Engine.empty(), report: () => {}, fetch: served([]) });
    expect(await first.poll()).toBe(true);
    await first.close();

    // Untouched: restored, and the first poll is a 304.
    const seen: (string | null)[] = [];
    const engine = Engine.empty();
    const again = new BundlePoller({ config: cfg, engine, report: () => {}, fetch: served(seen) });
    expect(await again.restore()).toBe(true);
    expect(await again.poll()).toBe(false);
    expect([seen, engine.revision]).toEqual([['"v2"'], 'plain-2']);
    await again.close();

    // An older bundle put in the persisted one's place, its metadata kept: restored, then replaced by the server's.
    await writeFile(join(cfg.persistDir, 'bundle.tar.gz'), bundle);
    const seenOld: (string | null)[] = [];
    const rolledBack = Engine.empty();
    const third = new BundlePoller({ config: cfg, engine: rolledBack, report: () => {}, fetch: served(seenOld) });
    expect(await third.restore()).toBe(true);
    expect(rolledBack.revision).toBe('plain-1');
    expect(await third.poll()).toBe(true);
    expect([seenOld, rolledBack.revision]).toEqual([[null], 'plain-2']);
    await third.close();
  });

  it('at start, refuses a persisted bundle that is no regular file or is over the size limit, without reading it all', async () => {
    const restored = async (place: (path: string) => Promise<void>, maxSizeBytes = 16 << 20) => {
      const cfg = { ...(await config()), maxSizeBytes };
      await place(join(cfg.persistDir, 'bundle.tar.gz'));
      const events: ActivationEvent[] = [];
      const engine = Engine.empty();
      const poller = new BundlePoller({ config: cfg, engine, report: (e) => void events.push(e), fetch: (async () => new Response(null, { status: 503 })) as typeof fetch });
      const ok = await poller.restore();
      await poller.close();
      return { ok, active: engine.active, events };
    };
    const started = Date.now();
    expect(await restored((path) => symlink('/dev/zero', path))).toEqual({ ok: false, active: false, events: [expect.objectContaining({ ok: false, reason: 'not_a_bundle' })] });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await restored((path) => writeFile(path, bundle), bundle.byteLength - 1)).toEqual({ ok: false, active: false, events: [expect.objectContaining({ ok: false, reason: 'too_large' })] });
    expect(await restored((path) => writeFile(path, bundle))).toMatchObject({ ok: true, active: true });
  });

  it('aborts a download under way when closed, without recording a refusal', async () => {
    const events: ActivationEvent[] = [];
    const poller = new BundlePoller({
      config: await config(),
      engine: Engine.empty(),
      report: (e) => void events.push(e),
      fetch: ((_url: string, init: RequestInit) =>
        new Promise((_, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as typeof fetch,
    });
    const polled = poller.poll();
    const started = Date.now();
    await poller.close();
    expect(await polled).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(events).toEqual([]);
  });
});
