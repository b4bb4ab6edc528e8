// Attack on a held job whose approval gives a one-time grant: racing polls of the approved job. The
// grant is spent once, by the poll that launches the job; no other poll may end the job with
// "already spent", nor spend the grant without launching.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, Engine } from '../../engine/index.ts';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { storageTargets } from '../support/databases.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';
const JOBS = `/bigquery/v2/projects/${PROJECT}`;

describe.each(storageTargets())('held jobs on one-time grants ($engine)', (target) => {
  let stack: Stack;
  let alice: string;
  let dir: string;

  beforeAll(async () => {
    // The reference policy, with the finance dataset's approvals one-time.
    dir = await mkdtemp(join(tmpdir(), 'sluice-one-time-'));
    await cp(join(import.meta.dirname, '..', '..', 'rego'), join(dir, 'rego'), { recursive: true });
    const data = join(dir, 'rego', 'org', 'data.yaml');
    const text = await readFile(data, 'utf8');
    const edited = text.replace(/(      finance:\n(?:.*\n)*?        approval:\n)/, '$1          one_time: true\n');
    expect(edited).not.toBe(text);
    await writeFile(data, edited);
    const bundle = await buildBundle({ regoDir: join(dir, 'rego'), out: join(dir, 'bundle.tar.gz') });
    stack = await startStack({
      idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] },
      storageUrl: await target.url(),
      gateway: { engine: await Engine.load(bundle.path) },
    });
    alice = await humanAccessToken(stack.idp, 'alice');
  }, 120_000);
  afterAll(async () => {
    await stack?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('racing polls launch the job once and none of them ends it for a grant another one spent', async () => {
    for (let round = 0; round < 6; round++) {
      const inserted = await stack.fetch(`${JOBS}/jobs`, {
        method: 'POST',
        agent: AGENT,
        body: JSON.stringify({ configuration: { query: { query: `SELECT account, entry_id FROM finance.ledger ORDER BY entry_id LIMIT ${round + 1}`, useLegacySql: false } } }),
      });
      expect(inserted.body.status.state).toBe('PENDING');
      const jobId = inserted.body.jobReference.jobId as string;
      const vote = await fetch(`${stack.gatewayUrl}/approvals/${inserted.body.status.approval.requestId}/approve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${alice}`, 'content-type': 'application/json' },
        body: JSON.stringify({ comment: 'once' }),
      });
      expect(vote.status).toBe(200);
      await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? stack.fetch(`${JOBS}/jobs/${jobId}`, { agent: AGENT }) : stack.fetch(`${JOBS}/queries/${jobId}?timeoutMs=0`, { agent: AGENT }))));
      const done = await stack.fetch(`${JOBS}/queries/${jobId}?timeoutMs=5000`, { agent: AGENT });
      expect(done.body.error?.message ?? '').toBe('');
      expect(done.body.rows).toHaveLength(round + 1);
    }
    // The grants were one-time, and each was spent once.
    const grants = await fetch(`${stack.gatewayUrl}/grants?status=consumed`, { headers: { authorization: `Bearer ${alice}` } }).then((r) => r.json() as Promise<{ grants: unknown[] }>);
    expect(grants.grants).toHaveLength(6);
  });
});
