// TEST DOUBLE of one BigQuery behaviour the emulator lacks: jobs.query is idempotent by
// `requestId`, so a repeated request gets the first answer back, same job id included. Everything
// else passes through to the emulator unchanged.
import Fastify from 'fastify';
import { HttpUpstream } from '../../gateway/upstream/http.ts';

export async function requestIdIdempotency(emulatorUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const emulator = new HttpUpstream(emulatorUrl);
  const answers = new Map<string, { status: number; body: unknown }>();
  const server = Fastify();
  server.all('/*', async (req, reply) => {
    const call = () => emulator.call({ method: req.method as 'GET' | 'POST', path: req.url, body: req.body ?? undefined });
    const requestId = req.method === 'POST' && /\/queries$/.test(req.url) ? (req.body as { requestId?: unknown })?.requestId : undefined;
    let answer: { status: number; body: unknown };
    if (typeof requestId === 'string') {
      answer = answers.get(requestId) ?? (await call());
      if (answer.status === 200) answers.set(requestId, answer);
    } else {
      answer = await call();
    }
    return reply.code(answer.status).send(answer.body);
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => server.close() };
}
