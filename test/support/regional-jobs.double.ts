// TEST DOUBLE of one BigQuery behaviour the emulator lacks: a job is named by its project, its
// location and its id, so one id can name a job in each location, and jobs.get,
// jobs.getQueryResults and jobs.cancel read the job of the location their `location` parameter
// names. The emulator keeps one job per id: here a job in a location other than US is the
// emulator's job `<LOCATION>__<id>`. An insert under an id already used in its location is refused
// with 409 `duplicate`. Everything else passes through to the emulator unchanged.
import Fastify from 'fastify';
import { HttpUpstream } from '../../gateway/upstream/http.ts';

/** The emulator's id of BigQuery's job `jobId` in `location`. */
export function regionalJobId(jobId: string, location: string | undefined): string {
  return location === undefined || location.toUpperCase() === 'US' ? jobId : `${location.toUpperCase()}__${jobId}`;
}

export async function regionalJobs(emulatorUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const emulator = new HttpUpstream(emulatorUrl);
  const server = Fastify();
  server.all('/*', async (req, reply) => {
    const [path = '', search = ''] = req.url.split('?');
    const params = new URLSearchParams(search);
    const location = params.get('location') ?? undefined;
    params.delete('location');
    const rest = params.toString();
    const insert = req.method === 'POST' && /^\/bigquery\/v2\/projects\/([^/]+)\/jobs$/.exec(path);
    const onJob = /^(\/bigquery\/v2\/projects\/[^/]+\/(?:jobs|queries)\/)([^/]+)(\/cancel)?$/.exec(path);
    let answer;
    if (insert) {
      const job = (req.body ?? {}) as { jobReference?: { jobId?: string; location?: string } };
      const ref = job.jobReference;
      if (ref?.jobId === undefined) {
        answer = await emulator.call({ method: 'POST', path: req.url, body: req.body });
      } else {
        const id = regionalJobId(ref.jobId, ref.location);
        const existing = await emulator.call({ method: 'GET', path: `/bigquery/v2/projects/${insert[1]}/jobs/${encodeURIComponent(id)}` });
        if (existing.status === 200) {
          const message = `Already Exists: Job ${insert[1]}:${ref.location ?? 'US'}.${ref.jobId}`;
          return reply.code(409).send({ error: { code: 409, message, errors: [{ reason: 'duplicate', message, domain: 'global' }], status: 'ALREADY_EXISTS' } });
        }
        const { location: _location, ...reference } = ref;
        answer = await emulator.call({ method: 'POST', path: req.url, body: { ...job, jobReference: { ...reference, jobId: id } } });
        answer = { ...answer, body: named(answer.body, ref.jobId, ref.location) };
      }
    } else if (onJob) {
      const jobId = decodeURIComponent(onJob[2]!);
      const target = `${onJob[1]}${encodeURIComponent(regionalJobId(jobId, location))}${onJob[3] ?? ''}${rest ? `?${rest}` : ''}`;
      answer = await emulator.call({ method: req.method as 'GET' | 'POST', path: target, body: req.body ?? undefined });
      answer = { ...answer, body: named(answer.body, jobId, location) };
    } else {
      answer = await emulator.call({ method: req.method as 'GET' | 'POST', path: req.url, body: req.body ?? undefined });
    }
    return reply.code(answer.status).send(answer.body);
  });
  const url = await server.listen({ host: '127.0.0.1', port: 0 });
  return { url, close: () => server.close() };
}

/** An answer naming the job as BigQuery would: its own id, in its location. */
function named(body: unknown, jobId: string, location: string | undefined): unknown {
  const rename = (ref: unknown) => (ref && typeof ref === 'object' ? { ...ref, jobId, location: location ?? 'US' } : ref);
  if (!body || typeof body !== 'object') return body;
  const b = body as Record<string, unknown>;
  const out: Record<string, unknown> = { ...b };
  if (b.jobReference) out.jobReference = rename(b.jobReference);
  if (b.job && typeof b.job === 'object') out.job = { ...(b.job as object), jobReference: rename((b.job as { jobReference?: unknown }).jobReference) };
  return out;
}
