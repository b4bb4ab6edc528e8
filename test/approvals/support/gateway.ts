// A gateway carrying only the approvals plugin, wired the way the real server wires it: the real
// authenticator trusting the local identity provider, the store on a real database.
import { freePort } from '../../support/ports.ts';
import Fastify, { type FastifyInstance } from 'fastify';
import { createAuthenticator, type Authenticator } from '../../../gateway/auth/index.ts';
import { approvalsPlugin, createApprovalStore, type ApprovalStore, type ApprovalsPluginOptions, type ApprovalStoreOptions } from '../../../gateway/approvals/index.ts';
import { openDatabase, type Database } from '../../../gateway/store/database.ts';
import type { IdentityProvider } from '../../../demo/idp.ts';

export interface TestGateway {
  url: string;
  app: FastifyInstance;
  store: ApprovalStore;
  database: Database;
  authenticator: Authenticator;
  close(): Promise<void>;
}

export interface GatewayOptions {
  storageUrl: string;
  idp: IdentityProvider;
  port?: number;
  store?: Partial<ApprovalStoreOptions>;
  plugin?: Partial<ApprovalsPluginOptions>;
  /** Default: one trusting the identity provider. */
  authenticator?: Authenticator;
}

export async function startGateway(options: GatewayOptions): Promise<TestGateway> {
  const port = options.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const database = await openDatabase(options.storageUrl);
  const authenticator = options.authenticator ?? createAuthenticator({ issuers: [{ issuer: options.idp.issuer, audience: options.idp.audience }] });
  const store = createApprovalStore({ database, publicUrl: url, sweepIntervalMs: 0, ...options.store });
  const app = Fastify({ logger: false });
  await app.register(approvalsPlugin, { store, authenticate: authenticator.authenticate, publicUrl: url, ...options.plugin });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    url,
    app,
    store,
    database,
    authenticator,
    async close() {
      await app.close();
      await store.close();
      await database.close();
    },
  };
}
export { freePort };
