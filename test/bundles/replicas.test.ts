// Two gateway replicas on one PostgreSQL database, polling one bundle server, switch from rev-a to
// rev-b under load: every decision names one of the two revisions, each replica's callers see the
// switch once (never back), and both replicas end on rev-b.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { listRecords } from '../../gateway/audit/index.ts';
import { freshPostgresDatabase } from '../support/databases.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';
import { BundleServer } from './server.ts';
import { keyPair, opaSignedBundle } from './support.ts';

const postgresUrl = process.env.SLUICE_TEST_POSTGRES_URL ?? inject('postgresUrl');
const CLAIMS = { keyid: 'release', scope: 'prod' };

describe.runIf(postgresUrl)('two replicas on PostgreSQL switching revisions under load', () => {
  let server: BundleServer;
  let replicas: Stack[] = [];
  let revB: Uint8Array;

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sluice-replicas-'));
    const release = await keyPair(dir, 'release', 'rsa');
    const revA = await opaSignedBundle({ revision: 'rev-a', key: release, claims: CLAIMS });
    revB = await opaSignedBundle({ revision: 'rev-b', key: release, claims: CLAIMS });
    server = await new BundleServer().start();
    server.publish(revA);
    const storageUrl = await freshPostgresDatabase(postgresUrl!);
    const replica = (name: string) =>
      startStack({
        storageUrl,
        config: {
          bundle: {
            url: server.url,
            persist_dir: join(dir, name),
            poll: { min_delay_seconds: 0.2, max_delay_seconds: 0.5 },
            verification: { keys: { release: { key: release.publicPath, algorithm: 'RS256' } }, scope: 'prod' },
          },
        },
        // Own engine per replica; own audit chain, as separate hosts have (one process here).
        gateway: { engine: undefined, audit: { stream: `replica-${name}` } },
      });
    replicas = [await replica('one'), await replica('two')];
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled(replicas.map((r) => r.close()));
    await server?.stop();
  });

  it('every decision names rev-a or rev-b, each caller sees the switch once, and both replicas end on rev-b', async () => {
    for (const r of replicas) {
      await waitFor(async () => (await r.fetch('/status')).body.policy.active_revision === 'rev-a');
    }
    const ids: { replica: number; worker: number; id: string; status: number }[] = [];
    let stop = false;
    const worker = async (replica: number, n: number) => {
      const stack = replicas[replica]!;
      for (let i = 0; !stop; i++) {
        const id = `load-${replica}-${n}-${i}`;
        const res = await stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, {
          method: 'POST',
          agent: 'reporting-agent',
          headers: { 'x-request-id': id },
          body: JSON.stringify({ query: 'SELECT COUNT(*) AS n FROM sales.orders', useLegacySql: false }),
        });
        ids.push({ replica, worker: n, id, status: res.status });
        if (res.status !== 200) console.error(id, res.status, JSON.stringify(res.body).slice(0, 400));
      }
    };
    const load = [0, 1].flatMap((replica) => [0, 1, 2, 3].map((n) => worker(replica, n)));
    await new Promise((r) => setTimeout(r, 1000));
    server.publish(revB);
    for (const r of replicas) {
      await waitFor(async () => (await r.fetch('/status')).body.policy.active_revision === 'rev-b');
    }
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    await Promise.all(load);

    expect(ids.length).toBeGreaterThan(40);
    expect(ids.filter((r) => r.status !== 200)).toEqual([]);
    const db = replicas[0]!.gateway.database.db;
    const forwards = await listRecords(db, { kinds: ['forward'], limit: 100_000 });
    const revisionOf = new Map(forwards.map((f) => [(f.record as { data: { request_id: string } }).data.request_id, (f.record as { data: { revision: string } }).data.revision]));
    const seen = new Set<string>();
    for (const replica of [0, 1]) {
      for (const n of [0, 1, 2, 3]) {
        const sequence = ids.filter((r) => r.replica === replica && r.worker === n).map((r) => revisionOf.get(r.id));
        for (const revision of sequence) {
          expect(['rev-a', 'rev-b']).toContain(revision);
          seen.add(revision!);
        }
        // Once rev-b decided for this caller, rev-a never decides again.
        const firstB = sequence.indexOf('rev-b');
        expect(firstB).toBeGreaterThanOrEqual(0);
        expect(sequence.slice(firstB).every((r) => r === 'rev-b')).toBe(true);
      }
    }
    expect([...seen].sort()).toEqual(['rev-a', 'rev-b']);
    // Both replicas recorded their activations in the shared trail.
    const reloads = (await listRecords(db, { kinds: ['config_reload'], limit: 100 })).map((r) => (r.record as unknown as { data: Record<string, unknown> }).data);
    expect(reloads.filter((r) => r.ok && r.revision === 'rev-b' && r.previous_revision === 'rev-a')).toHaveLength(2);
  }, 120_000);
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
