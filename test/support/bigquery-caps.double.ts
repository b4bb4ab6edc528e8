// TEST DOUBLE of BigQuery's byte accounting: a proxy in front of the emulator that passes every
// call through, but answers for bytes and tables as BigQuery documents it, which the emulator does
// not: the emulator enforces no `maximumBytesBilled`, names no `referencedTables` (neither in a
// dry run nor in a finished job's statistics), and its byte figures are a few hundred bytes. The
// test says how many bytes each query processes (`bytesFor`) and which tables BigQuery reports it
// read (`referencedTablesFor`); the double then
//   - answers a dry run with that figure (and those tables);
//   - refuses a real jobs.query / jobs.insert whose maximumBytesBilled is below that figure as
//     BigQuery does, HTTP 400 `bytesBilledLimitExceeded`, before the emulator sees it (nothing
//     runs, nothing is billed);
//   - answers jobs.get of a job it saw pass with that figure and those tables in its statistics;
//   - optionally answers a job as still running for its first polls (`runningPolls`), as BigQuery
//     does when the job outlasts the call's timeoutMs; a job sent with `writeIncrementalResults`
//     answers those polls with the rows it has written so far, as BigQuery does for incremental
//     results;
//   - answers a jobs.query sent with `jobCreationMode: JOB_CREATION_OPTIONAL` as a query run
//     without a job (a `queryId`, no `jobReference`), as BigQuery may for short queries.
// It counts real runs (reached the emulator), cap refusals and dry runs, and records the
// maximumBytesBilled of every real run.
// https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobConfigurationQuery.FIELDS.maximum_bytes_billed
// https://cloud.google.com/bigquery/docs/reference/rest/v2/Job#JobStatistics2.FIELDS.referenced_tables
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TableReference {
  projectId: string;
  datasetId: string;
  tableId: string;
}

export interface BigQueryCapsBehaviour {
  /** Bytes the query processes (and would bill); undefined: the emulator's own figure, and no cap is enforced. */
  bytesFor: (sql: string) => number | undefined;
  /** The tables BigQuery names for the query (dry run and job statistics); undefined: none named. */
  referencedTablesFor: (sql: string) => TableReference[] | undefined;
  /** How many answers on the job (its jobs.query first, then jobs.getQueryResults) say it is still running. */
  runningPolls: (sql: string) => number;
}

/** A real run that reached the emulator. */
export interface RealRun {
  route: 'jobs.query' | 'jobs.insert';
  sql: string;
  jobId: string | undefined;
  /** As the caller sent it (a string), undefined when not set. */
  maximumBytesBilled: string | undefined;
}

/** A real run refused for its cap: the emulator never saw it. */
export interface CapRefusal {
  route: 'jobs.query' | 'jobs.insert';
  sql: string;
  maximumBytesBilled: string;
  needed: number;
}

export interface BigQueryCaps extends BigQueryCapsBehaviour {
  readonly url: string;
  /** Real runs that reached the emulator, in order. */
  readonly runs: RealRun[];
  /** Real runs refused for their cap, in order. */
  readonly refusals: CapRefusal[];
  /** SQL of every dry run (jobs.insert with configuration.dryRun, or jobs.query with dryRun), in order. */
  readonly dryRuns: string[];
  /** Job ids jobs.get was asked about, in order. */
  readonly jobGets: string[];
  /** Job ids jobs.getQueryResults was asked about, in order, with whether the answer said the job was done. */
  readonly resultPolls: { jobId: string; complete: boolean }[];
  /**
   * Every call above as it was answered, in order, for ordering checks: `dry run <sql>`,
   * `refused <sql>`, `run <jobId>`, `jobs.get <jobId>`, `poll <jobId> running|done`.
   */
  readonly events: string[];
  /** Clears the records and restores the default behaviour (emulator figures, no tables, never running). */
  reset(): void;
  close(): Promise<void>;
}

type Route = 'jobs.query' | 'jobs.insert' | 'jobs.get' | 'jobs.getQueryResults';

const ROUTES: [Route, string, RegExp][] = [
  ['jobs.query', 'POST', /\/projects\/[^/]+\/queries$/],
  ['jobs.getQueryResults', 'GET', /\/projects\/[^/]+\/queries\/[^/]+$/],
  ['jobs.insert', 'POST', /\/projects\/[^/]+\/jobs$/],
  ['jobs.get', 'GET', /\/projects\/[^/]+\/jobs\/[^/]+$/],
];

const DEFAULTS: BigQueryCapsBehaviour = {
  bytesFor: () => undefined,
  referencedTablesFor: () => undefined,
  runningPolls: () => 0,
};

/** BigQuery's answer to a job that would bill more than its maximumBytesBilled. */
export function bytesBilledLimitExceeded(cap: string, needed: number): { error: Record<string, unknown> } {
  const message = `Query exceeded limit for bytes billed: ${cap}. ${needed} or higher required.`;
  return { error: { code: 400, message, errors: [{ message, domain: 'global', reason: 'bytesBilledLimitExceeded' }], status: 'INVALID_ARGUMENT' } };
}

export async function bigQueryCaps(emulatorUrl: string, behaviour: Partial<BigQueryCapsBehaviour> = {}): Promise<BigQueryCaps> {
  const emulator = new URL(emulatorUrl);
  const agent = new http.Agent({ keepAlive: true });
  /** The SQL of every job that passed, by job id. */
  const sqlOf = new Map<string, string>();
  /** Answers on each job so far that said it was still running. */
  const runningAnswers = new Map<string, number>();
  /** Jobs sent with writeIncrementalResults: their running answers carry the rows written so far. */
  const incremental = new Set<string>();

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      // Uncompressed, so answers can be rewritten.
      const { 'accept-encoding': _, ...headers } = { ...req.headers, host: emulator.host };
      const out = http.request(new URL(req.url!, emulator), { method: req.method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });

  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(JSON.stringify(body));
  };

  const parse = (text: Buffer): Record<string, any> | undefined => {
    try {
      const value = JSON.parse(text.toString('utf8')) as unknown;
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, any>) : undefined;
    } catch {
      return undefined;
    }
  };

  /** Sets BigQuery's figures in a job resource's statistics (a dry run's, or a job's jobs.get). */
  const withStatistics = (job: Record<string, any>, sql: string) => {
    const bytes = double.bytesFor(sql);
    const tables = double.referencedTablesFor(sql);
    job.statistics ??= {};
    job.statistics.query ??= {};
    if (bytes !== undefined) {
      job.statistics.totalBytesProcessed = String(bytes);
      job.statistics.query.totalBytesProcessed = String(bytes);
    }
    if (tables) job.statistics.query.referencedTables = tables.map((t) => ({ ...t }));
    else delete job.statistics.query.referencedTables;
    return job;
  };

  /** A jobs.query / getQueryResults answer turned into "still running", while the job has polls left to be so. */
  const maybeRunning = (jobId: string | undefined, answer: Record<string, any>) => {
    const sql = jobId === undefined ? undefined : sqlOf.get(jobId);
    if (jobId === undefined || sql === undefined) return answer;
    const seen = runningAnswers.get(jobId) ?? 0;
    if (seen >= double.runningPolls(sql)) return answer;
    runningAnswers.set(jobId, seen + 1);
    if (incremental.has(jobId)) return { ...answer, jobComplete: false };
    const { rows: _r, schema: _s, totalRows: _t, pageToken: _p, totalBytesProcessed: _b, ...rest } = answer;
    return { ...rest, jobComplete: false };
  };

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = new URL(req.url!, 'http://x').pathname;
    const route = ROUTES.find(([, m, pattern]) => m === req.method && pattern.test(path))?.[0];
    try {
      if (route === 'jobs.query' || route === 'jobs.insert') {
        const request = parse(body);
        const query = route === 'jobs.query' ? request : request?.configuration?.query;
        const sql = typeof query?.query === 'string' ? query.query : undefined;
        const dryRun = route === 'jobs.query' ? request?.dryRun === true : request?.configuration?.dryRun === true;
        if (sql !== undefined && dryRun) {
          double.dryRuns.push(sql);
          double.events.push(`dry run ${sql}`);
          const answer = await forward(req, body);
          const out = parse(answer.body);
          if (answer.status !== 200 || !out) return json(res, answer.status, out ?? answer.body.toString('utf8'));
          if (route === 'jobs.insert') return json(res, 200, withStatistics(out, sql));
          const bytes = double.bytesFor(sql);
          return json(res, 200, bytes === undefined ? out : { ...out, totalBytesProcessed: String(bytes) });
        }
        if (sql !== undefined) {
          const bytes = double.bytesFor(sql);
          const cap = query?.maximumBytesBilled === undefined || query.maximumBytesBilled === null ? undefined : String(query.maximumBytesBilled);
          if (bytes !== undefined && cap !== undefined && Number(cap) < bytes) {
            double.refusals.push({ route, sql, maximumBytesBilled: cap, needed: bytes });
            double.events.push(`refused ${sql}`);
            return json(res, 400, bytesBilledLimitExceeded(cap, bytes));
          }
          const askedId = route === 'jobs.insert' && typeof request?.jobReference?.jobId === 'string' ? (request.jobReference.jobId as string) : undefined;
          if (askedId) sqlOf.set(askedId, sql);
          const answer = await forward(req, body);
          const out = parse(answer.body);
          const jobId = (out?.jobReference?.jobId as string | undefined) ?? askedId;
          double.runs.push({ route, sql, jobId, maximumBytesBilled: cap });
          double.events.push(`run ${jobId}`);
          if (jobId) sqlOf.set(jobId, sql);
          if (jobId && query?.writeIncrementalResults === true) incremental.add(jobId);
          if (answer.status !== 200 || !out) return json(res, answer.status, out ?? answer.body.toString('utf8'));
          if (route === 'jobs.insert') return json(res, 200, out);
          // jobs.query answers say how many bytes the job processed.
          const answered = bytes === undefined ? out : { ...out, totalBytesProcessed: String(bytes) };
          if (request?.jobCreationMode === 'JOB_CREATION_OPTIONAL') {
            // BigQuery may then run a short query without a job: the answer names a query id, no job.
            const { jobReference: _, ...stateless } = answered;
            return json(res, 200, { ...stateless, queryId: `query_${jobId ?? 'unknown'}` });
          }
          return json(res, 200, maybeRunning(jobId, answered));
        }
      }
      if (route === 'jobs.get' || route === 'jobs.getQueryResults') {
        const jobId = decodeURIComponent(path.split('/').at(-1)!);
        const answer = await forward(req, body);
        const out = parse(answer.body);
        if (answer.status !== 200 || !out) return json(res, answer.status, out ?? answer.body.toString('utf8'));
        if (route === 'jobs.get') {
          double.jobGets.push(jobId);
          double.events.push(`jobs.get ${jobId}`);
          const sql = sqlOf.get(jobId) ?? out.configuration?.query?.query;
          return json(res, 200, typeof sql === 'string' ? withStatistics(out, sql) : out);
        }
        const polled = maybeRunning(jobId, out);
        double.resultPolls.push({ jobId, complete: polled.jobComplete !== false });
        double.events.push(`poll ${jobId} ${polled.jobComplete === false ? 'running' : 'done'}`);
        return json(res, 200, polled);
      }
      const answer = await forward(req, body);
      res.writeHead(answer.status, { 'content-type': String(answer.headers['content-type'] ?? 'application/json') }).end(answer.body);
    } catch (error) {
      res.writeHead(599).end(String(error));
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;

  const double: BigQueryCaps = {
    url: `http://127.0.0.1:${port}`,
    ...DEFAULTS,
    ...behaviour,
    runs: [],
    refusals: [],
    dryRuns: [],
    jobGets: [],
    resultPolls: [],
    events: [],
    reset() {
      Object.assign(double, DEFAULTS, behaviour);
      double.runs.length = 0;
      double.refusals.length = 0;
      double.dryRuns.length = 0;
      double.jobGets.length = 0;
      double.resultPolls.length = 0;
      double.events.length = 0;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
        agent.destroy();
      }),
  };
  return double;
}
