// What an approver is shown must be what runs. A statement grant is bound to the query
// parameters sent with the text (they are part of `sql.hash`), so the values are part of what
// the approver approves: a `WHERE account LIKE @pattern` reads one account or every one of them
// by the value alone. The request shows them with the SQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_CLIENT_ID, CLI_REDIRECT_URI, humanAccessToken } from '../approvals/support/human-login.ts';
import { PROJECT, startStack, type Stack } from '../support/stack.ts';

const AGENT = 'reporting-agent';
const JOBS = `/bigquery/v2/projects/${PROJECT}`;

describe('the query parameters of a request needing approval', () => {
  let stack: Stack;
  let alice: string;

  beforeAll(async () => {
    stack = await startStack({ idp: { webClients: [{ clientId: CLI_CLIENT_ID, redirectUris: [CLI_REDIRECT_URI] }] } });
    alice = await humanAccessToken(stack.idp, 'alice');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('are shown to the approver with the statement they are bound to', async () => {
    const queryParameters = [{ name: 'pattern', parameterType: { type: 'STRING' }, parameterValue: { value: '%' } }];
    const held = await stack.fetch(`${JOBS}/jobs`, {
      method: 'POST',
      agent: AGENT,
      body: JSON.stringify({
        configuration: { query: { query: 'SELECT account, entry_id FROM finance.ledger WHERE account LIKE @pattern', useLegacySql: false, parameterMode: 'NAMED', queryParameters } },
      }),
    });
    expect(held.status).toBe(200);
    const requestId = held.body.status.approval.requestId as string;
    const res = await fetch(`${stack.gatewayUrl}/approvals/${requestId}`, { headers: { authorization: `Bearer ${alice}` } });
    const { request } = (await res.json()) as { request: { sql: { parameters?: unknown } } };
    expect(request.sql.parameters).toEqual(queryParameters);
  });
});
