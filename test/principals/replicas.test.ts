// Two gateway replicas on one PostgreSQL database, each writing its own audit stream, serving the
// same agent (one identity provider trusted by both) while both fold the trail into the inventory
// concurrently, again and again: every call is counted exactly once.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DEFAULT_AUDIENCE, REFERENCE_CLIENTS } from '../../demo/idp.ts';
import { countRecords } from '../../gateway/audit/index.ts';
import { sluice } from '../support/cli.ts';
import { freshPostgresDatabase } from '../support/databases.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const postgresUrl = process.env.SLUICE_TEST_POSTGRES_URL ?? inject('postgresUrl');

const SALES = 'SELECT order_id FROM sales.orders ORDER BY order_id LIMIT 1';
const CRM = 'SELECT name FROM crm.customers ORDER BY customer_id LIMIT 1';

describe.runIf(postgresUrl)('the inventory with two replicas on PostgreSQL', () => {
  let one: Stack;
  let two: Stack;
  let storageUrl: string;

  beforeAll(async () => {
    storageUrl = await freshPostgresDatabase(postgresUrl!);
    const config = { principals: { reviewer_groups: ['security-team'] } };
    one = await startStack({
      storageUrl,
      config,
      idp: { clients: [...REFERENCE_CLIENTS, { name: 'sec-officer', groups: ['security-team'], kind: 'human' }] },
      gateway: { audit: { stream: 'replica-one' } },
    });
    // The second replica trusts the first one's provider: the same principals reach both.
    two = await startStack({
      storageUrl,
      config: { ...config, issuers: [{ issuer: one.idp.issuer, audience: DEFAULT_AUDIENCE }] },
      gateway: { audit: { stream: 'replica-two' } },
    });
  }, 180_000);

  afterAll(async () => {
    await Promise.allSettled([one?.close(), two?.close()]);
  });

  it('counts every call once however many folds race', async () => {
    const sent = { allow: 0, mask: 0 };
    const call = async (replica: Stack, sql: string) => {
      const res = await fetch(`${replica.gatewayUrl}/bigquery/v2/projects/${PROJECT}/queries`, {
        method: 'POST',
        headers: { authorization: `Bearer ${await one.token('reporting-agent')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: sql, useLegacySql: false }),
      });
      expect(res.status).toBe(200);
      sent[sql === SALES ? 'allow' : 'mask']++;
    };
    const reviewer = await one.token('sec-officer');
    const list = async (replica: Stack) => {
      const res = await fetch(`${replica.gatewayUrl}/principals`, { headers: { authorization: `Bearer ${reviewer}` } });
      expect(res.status).toBe(200);
      return ((await res.json()) as { principals: any[] }).principals;
    };

    let done = false;
    const traffic = [one, two].flatMap((replica) => [0, 1].map(async (w) => {
      for (let i = 0; i < 12; i++) await call(replica, (i + w) % 3 === 0 ? CRM : SALES);
    }));
    // Folds from both replicas (and the CLI) while the calls come in.
    const folds = [one, two, one, two].map(async (replica) => {
      while (!done) await list(replica);
    });
    const cli = (async () => {
      while (!done) expect((await sluice(['principals', 'list', '--storage', storageUrl, '--json'])).code).toBe(0);
    })();
    await Promise.all(traffic);
    done = true;
    await Promise.all([...folds, cli]);

    const [fromOne, fromTwo] = await Promise.all([list(one), list(two)]);
    expect(fromTwo).toEqual(fromOne);
    expect(fromOne).toHaveLength(1);
    expect(fromOne[0]).toMatchObject({ subject: 'reporting-agent', issuer: one.idp.issuer });
    expect(fromOne[0].requests).toEqual({ allow: sent.allow, mask: sent.mask, approve: 0, deny: 0, refused: 0, other: 0, total: 48 });
    // As many as the two streams recorded.
    expect(await countRecords(one.gateway.database.db, { kinds: ['request'], subject: 'reporting-agent' })).toBe(48);
    const cursors = await one.gateway.database.db.selectFrom('principal_cursors').selectAll().orderBy('stream').execute();
    expect(cursors.map((c) => c.stream)).toEqual(['replica-one', 'replica-two']);
  }, 120_000);
});
