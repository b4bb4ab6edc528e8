// The whole data path for tests, all real parts on loopback: the BigQuery emulator seeded with the
// reference organisation, the local OIDC provider, the compiled policy and the gateway in between.
// Agents are the official @google-cloud/bigquery client holding a token from the provider.
import { randomBytes } from 'node:crypto';
import { freePort } from './ports.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BigQuery } from '@google-cloud/bigquery';
import { OAuth2Client } from 'google-auth-library';
import pino from 'pino';
import { startEmulator, type Emulator } from '../../demo/emulator.ts';
import { DEFAULT_AUDIENCE, startIdentityProvider, type IdentityProvider, type IdentityProviderOptions } from '../../demo/idp.ts';
import { buildBundle, Engine } from '../../engine/index.ts';
import { resolveConfig } from '../../gateway/config/load.ts';
import { createGateway, type Gateway, type GatewayOptions } from '../../gateway/server.ts';

export const PROJECT = 'acme-analytics';

export interface StackOptions {
  /** Extra gateway configuration (snake_case, as in the YAML file). */
  config?: Record<string, unknown>;
  gateway?: Partial<Omit<GatewayOptions, 'config'>>;
  /** Options of the local identity provider (e.g. web clients for people signing in). */
  idp?: IdentityProviderOptions;
  /** Storage URL of the gateway (default: a fresh SQLite file in the stack's state directory). */
  storageUrl?: string;
  /** Extra settings of the stack's one connection (snake_case, as in the YAML file). */
  connection?: Record<string, unknown>;
  /** What the gateway's connection calls instead of the emulator: a double wrapping its URL. */
  upstream?: (emulatorUrl: string) => Promise<string>;
  /** Serve the approver page at /approve, signing people in at the provider (client APPROVER_PAGE_CLIENT). */
  approverPage?: boolean;
}

export const APPROVER_PAGE_CLIENT = 'sluice-approver-page';

export interface Stack {
  readonly emulator: Emulator;
  readonly idp: IdentityProvider;
  /** The current gateway instance (a new one after `restartGateway`). */
  readonly gateway: Gateway;
  readonly gatewayUrl: string;
  /** The storage URL the gateway runs on. */
  readonly storageUrl: string;
  /** Closes the gateway and starts a new instance on the same storage, address and hash key. */
  restartGateway(): Promise<void>;
  /** The gateway's SQLite database file (approvals, grants, audit trail). */
  readonly databaseFile: string;
  /** Every line the gateway logged, as written (JSON). */
  readonly logs: string[];
  /** A fresh access token of one of the provider's clients (REFERENCE_CLIENTS). */
  token(agent: string): Promise<string>;
  /** The gateway's MCP endpoint, which is also the audience MCP tokens are issued for. */
  readonly mcpResource: string;
  /** A fresh access token of `agent` for the MCP door (audience: mcpResource). */
  mcpToken(agent: string): Promise<string>;
  /** The official client pointed at the gateway, authenticating as `agent`. */
  client(agent: string): BigQuery;
  /** The official client pointed straight at the emulator (no gateway, no credentials). */
  direct(): BigQuery;
  /** How many jobs (queries and dry runs) the emulator has been sent, from its own jobs.list. */
  upstreamJobs(): Promise<number>;
  /** A raw call to the gateway with `agent`'s token (or none). */
  fetch(path: string, init?: RequestInit & { agent?: string | null }): Promise<{ status: number; body: any; headers: Record<string, string> }>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const bundle = await buildBundle();
  // The gateway's address is known before it starts: its MCP resource (the audience MCP tokens
  // are issued for) and its public URL name it.
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const mcpResource = `${publicUrl}/mcp`;
  const pageClients = options.approverPage ? [{ clientId: APPROVER_PAGE_CLIENT, redirectUris: [`${publicUrl}/approve/callback`] }] : [];
  const idpOptions = {
    ...options.idp,
    audiences: [...(options.idp?.audiences ?? [DEFAULT_AUDIENCE]), mcpResource],
    webClients: [...(options.idp?.webClients ?? []), ...pageClients],
  };
  const [emulator, idp, engine] = await Promise.all([startEmulator(), startIdentityProvider(idpOptions), Engine.load(bundle.path)]);
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const state = await mkdtemp(join(tmpdir(), 'sluice-stack-'));
  const databaseFile = join(state, 'sluice.sqlite');
  const storageUrl = options.storageUrl ?? `sqlite:${databaseFile}`;
  const hashKey = randomBytes(32);
  const upstream = options.upstream ? await options.upstream(emulator.url) : emulator.url;
  const makeGateway = (port: number) => {
    const config = resolveConfig({
      listen: { host: '127.0.0.1', port },
      public_url: publicUrl,
      storage: { url: storageUrl },
      issuers: [{ issuer: idp.issuer, audience: DEFAULT_AUDIENCE }],
      connections: [{ name: 'acme', upstream, project: PROJECT, credentials: { mode: 'none' }, require_referenced_tables: false, ...options.connection }],
      approvals: options.approverPage
        ? { page: { issuer: idp.issuer, client_id: APPROVER_PAGE_CLIENT, resource: DEFAULT_AUDIENCE, session_secret: randomBytes(32).toString('base64url') } }
        : { url: 'http://127.0.0.1/approvals' },
      ...options.config,
    });
    return createGateway({
      config,
      engine,
      hashKey,
      logger,
      processMetrics: false,
      ...options.gateway,
      approvalStore: { sweepIntervalMs: 0, pollIntervalMs: 100, ...options.gateway?.approvalStore },
    });
  };
  let gateway: Gateway;
  try {
    gateway = await makeGateway(port);
  } catch (error) {
    await Promise.allSettled([emulator.stop(), idp.close(), rm(state, { recursive: true, force: true })]);
    throw error;
  }
  const gatewayUrl = await gateway.listen();

  const token = (agent: string) => idp.tokenFor(agent);
  return {
    emulator,
    idp,
    get gateway() {
      return gateway;
    },
    gatewayUrl,
    storageUrl,
    databaseFile,
    async restartGateway() {
      await gateway.close();
      gateway = await makeGateway(port);
      const url = await gateway.listen();
      if (url !== gatewayUrl) throw new Error(`the restarted gateway listens on ${url}, not ${gatewayUrl}`);
    },
    logs,
    token,
    mcpResource,
    mcpToken: (agent) => idp.tokenFor(agent, { audience: mcpResource }),
    client: (agent) => agentClient(gatewayUrl, () => token(agent)),
    direct: () => new BigQuery({ apiEndpoint: emulator.url, projectId: PROJECT, authClient: staticClient('emulator-needs-no-token') }),
    async upstreamJobs() {
      const res = await fetch(`${emulator.url}/bigquery/v2/projects/${PROJECT}/jobs?allUsers=true`);
      if (!res.ok) throw new Error(`the emulator's jobs.list answered ${res.status}`);
      return ((await res.json()) as { jobs?: unknown[] }).jobs?.length ?? 0;
    },
    async fetch(path, init = {}) {
      const { agent, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (agent) headers.set('authorization', `Bearer ${await token(agent)}`);
      if (rest.body && !headers.has('content-type')) headers.set('content-type', 'application/json');
      const res = await fetch(gatewayUrl + path, { ...rest, headers });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      return { status: res.status, body, headers: Object.fromEntries(res.headers) };
    },
    async close() {
      await gateway.close();
      await Promise.allSettled([emulator.stop(), idp.close()]);
      await rm(state, { recursive: true, force: true });
    },
  };
}

/**
 * The official client as an agent uses it: unchanged except for the endpoint, and an auth client
 * holding the agent's own OIDC access token (refreshed from the provider when it expires).
 */
export function agentClient(apiEndpoint: string, getToken: () => Promise<string>): BigQuery {
  const auth = new OAuth2Client();
  auth.refreshHandler = async () => {
    const accessToken = await getToken();
    return { access_token: accessToken, expiry_date: Date.now() + 60_000 };
  };
  return new BigQuery({ apiEndpoint, projectId: PROJECT, authClient: auth });
}

function staticClient(accessToken: string): OAuth2Client {
  const auth = new OAuth2Client();
  auth.setCredentials({ access_token: accessToken, expiry_date: Date.now() + 3_600_000 });
  return auth;
}
