// The discovery document the bq CLI (and other discovery-based clients) fetch before calling the
// API: BigQuery's own, trimmed to the methods the gateway serves, with every URL pointing at the
// gateway so requests built from it come back here.
import { readFileSync } from 'node:fs';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const DOCUMENT = JSON.parse(readFileSync(new URL('./discovery.json', import.meta.url), 'utf8')) as Record<string, unknown>;

export function discoveryDocument(rootUrl: string): Record<string, unknown> {
  const root = rootUrl.endsWith('/') ? rootUrl : `${rootUrl}/`;
  return { ...DOCUMENT, rootUrl: root, mtlsRootUrl: root, baseUrl: `${root}bigquery/v2/`, batchPath: 'batch/bigquery/v2' };
}

/**
 * `publicUrl` when configured; otherwise the URL the client used to reach us, which the request's
 * Host header decides: such an answer says it varies with it and may not be kept by a shared cache,
 * so a request with a forged Host cannot leave a document pointing elsewhere for other clients.
 */
export function registerDiscovery(app: FastifyInstance, publicUrl: string | undefined): void {
  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    if (publicUrl !== undefined) return discoveryDocument(publicUrl);
    reply.header('vary', 'Host, X-Forwarded-Host, X-Forwarded-Proto').header('cache-control', 'private, no-store');
    return discoveryDocument(`${req.protocol}://${req.host}`);
  };
  const config = { config: { apiMethod: 'discovery' } };
  app.get('/$discovery/rest', config, handler);
  app.get('/discovery/v1/apis/bigquery/v2/rest', config, handler);
}
