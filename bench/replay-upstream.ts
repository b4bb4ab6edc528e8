// An upstream that answers instantly, for measuring the gateway's own work: each distinct request
// (ids aside) goes to the real upstream once, then its recorded answer is replayed with a fresh
// job id. Dry runs are replayed too, so the gateway still makes every upstream call it makes in
// front of BigQuery.
import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import { HttpUpstream } from '../gateway/upstream/http.ts';

/** Starts the replay in front of `target`; resolves with its URL. */
export async function replayOf(target: string): Promise<string> {
  const upstream = new HttpUpstream(target);
  const recorded = new Map<string, { status: number; body: unknown }>();
  const server = Fastify();
  server.all('/*', async (req, reply) => {
    const { jobReference, requestId, ...rest } = (req.body ?? {}) as Record<string, unknown>;
    const key = `${req.method} ${req.url} ${JSON.stringify(rest)}`;
    let answer = recorded.get(key);
    if (!answer) {
      answer = await upstream.call({ method: req.method as 'GET' | 'POST', path: req.url, body: req.body ?? undefined });
      recorded.set(key, answer);
    }
    const body = answer.body as { jobReference?: Record<string, unknown> } | undefined;
    const fresh = body?.jobReference ? { ...body, jobReference: { ...body.jobReference, ...(jobReference as object), jobId: randomBytes(12).toString('hex') } } : body;
    return reply.code(answer.status).send(fresh);
  });
  return server.listen({ host: '127.0.0.1', port: 0 });
}
