// Attack on revocation racing a query: an agent starts a jobs.query on a just-in-time grant, and
// the grant is revoked while BigQuery is still running it. The job's later pages are refused once
// the grant is revoked; the rows jobs.query itself answers with must be refused the same way, or a
// long query outlives the revocation of the grant it ran on.
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpUpstream } from '../../gateway/upstream/http.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';
const FINANCE_SQL = 'SELECT account, SUM(amount) AS total FROM finance.ledger GROUP BY account ORDER BY account';

/** Passes everything through to the emulator, but holds each jobs.query until the test lets it go. */
async function gatedQueries(emulatorUrl: string) {
  const emulator = new HttpUpstream(emulatorUrl);
  let arrived!: () => void;
  let release!: () => void;
  const state = { arrived: new Promise<void>((r) => (arrived = r)), release: new Promise<void>((r) => (release = r)) };
  const server = Fastify();
  server.all('/*', async (req, reply) => {
    if (req.method === 'POST' && /\/queries$/.test(req.url.split('?')[0]!)) {
      arrived();
      await state.release;
    }
    const answer = await emulator.call({ method: req.method as 'GET' | 'POST', path: req.url, body: req.body ?? undefined });
    return reply.code(answer.status).send(answer.body);
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url, state, release: () => release(), close: () => server.close() };
}

describe('a grant revoked while its query runs', () => {
  let stack: Stack;
  let gate: Awaited<ReturnType<typeof gatedQueries>>;

  beforeAll(async () => {
    stack = await startStack({
      connection: { approval_hold: 'refuse' },
      upstream: async (emulatorUrl) => {
        gate = await gatedQueries(emulatorUrl);
        return gate.url;
      },
    });
  });
  afterAll(async () => {
    gate?.release();
    await stack?.close();
    await gate?.close();
  });

  it('answers the query with no rows once the grant it ran on is revoked', async () => {
    const query = () => stack.fetch(`/bigquery/v2/projects/${PROJECT}/queries`, { method: 'POST', agent: AGENT, body: JSON.stringify({ query: FINANCE_SQL, useLegacySql: false }) });
    const refused = await query();
    expect(refused.status).toBe(403);
    const requestId = refused.body.error.details[0].metadata.approval_request_id as string;
    const store = stack.gateway.approvalStore;
    const alice = { subject: 'alice', issuer: stack.idp.issuer, kind: 'human' as const, groups: ['data-owners'], claims: {} };
    const voted = await store.vote({ requestId, approver: alice, vote: 'approve', comment: 'quarter end' });
    const grantId = voted.grant!.id;

    // The query is decided on the grant and sent; while BigQuery runs it, the grant is revoked.
    const running = query();
    await gate.state.arrived;
    await store.revoke(grantId, alice, 'revoked while the query ran');
    gate.release();
    const answer = await running;

    expect(answer.status).toBe(403);
    expect(answer.body.rows).toBeUndefined();
    expect(JSON.stringify(answer.body)).toContain('GRANT_REVOKED');
  });
});
