// TEST DOUBLE of one BigQuery behaviour the emulator lacks: jobs.insert under the id of a job that
// already exists is refused with 409 `duplicate` (the emulator fails it otherwise). Everything
// else passes through to the emulator unchanged. Counts the inserts it is sent, by job id; with
// `insertDelayMs`, answers each insert only after that long, as BigQuery takes its time.
import Fastify from 'fastify';
import { HttpUpstream } from '../../gateway/upstream/http.ts';

export async function duplicateJobIds(emulatorUrl: string, options: { insertDelayMs?: number } = {}): Promise<{ url: string; inserts: Map<string, number>; close(): Promise<void> }> {
  const emulator = new HttpUpstream(emulatorUrl);
  const inserts = new Map<string, number>();
  const server = Fastify();
  server.all('/*', async (req, reply) => {
    const insert = req.method === 'POST' && /\/projects\/([^/]+)\/jobs$/.exec(req.url.split('?')[0]!);
    const jobId = insert ? (req.body as { jobReference?: { jobId?: unknown } })?.jobReference?.jobId : undefined;
    if (insert && typeof jobId === 'string') {
      inserts.set(jobId, (inserts.get(jobId) ?? 0) + 1);
      if (options.insertDelayMs) await new Promise((r) => setTimeout(r, options.insertDelayMs));
      const existing = await emulator.call({ method: 'GET', path: `/bigquery/v2/projects/${insert[1]}/jobs/${encodeURIComponent(jobId)}` });
      if (existing.status === 200) {
        const message = `Already Exists: Job ${insert[1]}:${jobId}`;
        return reply.code(409).send({ error: { code: 409, message, errors: [{ reason: 'duplicate', message, domain: 'global' }], status: 'ALREADY_EXISTS' } });
      }
    }
    const answer = await emulator.call({ method: req.method as 'GET' | 'POST', path: req.url, body: req.body ?? undefined });
    return reply.code(answer.status).send(answer.body);
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url, inserts, close: () => server.close() };
}
