// TEST DOUBLE of an upstream gone bad: a proxy in front of the emulator that passes every call
// through unless a fault is set for its route, and then answers the way broken upstreams and
// the proxies in front of them do: not at all, HTML on a 200, JSON of the wrong shape, a body
// cut off with or without its length, a slow answer, or the emulator's answer with extra
// columns carrying sensitive values. It counts the calls of every route and records cancels.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Route = 'jobs.query' | 'jobs.insert' | 'dry run' | 'jobs.get' | 'jobs.getQueryResults' | 'jobs.cancel' | 'tabledata.list' | 'tables.get';

export type Fault =
  | { kind: 'hang' }
  | { kind: 'html' }
  | { kind: 'json-as-text' }
  | { kind: 'wrong-shape' }
  | { kind: 'cut-with-length' }
  | { kind: 'cut-chunked' }
  /** Answers after `ms`; a jobs.query answer then says the job is still running. */
  | { kind: 'slow'; ms: number; running?: boolean }
  /** Adds `errors` to a 200 answer, as BigQuery reports the errors or warnings met by a job that still answers. */
  | { kind: 'warnings'; errors: { reason: string; message: string }[] }
  /** Appends columns to every result schema (and their values to every row); `replace` overwrites cells of the columns asked for. */
  | { kind: 'extra-columns'; columns: ExtraColumn[]; replace?: Record<number, string> };

export interface ExtraColumn {
  name: string;
  type: string;
  /** The cell's `v`, as BigQuery would send it (a string, or `{f: [...]}` for a RECORD). */
  value: unknown;
  fields?: { name: string; type: string }[];
}

export interface FaultyUpstream {
  readonly url: string;
  /** Calls received per route (cancels included), counted as they arrive. */
  readonly calls: Record<Route, number>;
  /** jobs.cancel calls: job id and when they arrived (epoch ms). */
  readonly cancels: { jobId: string; at: number }[];
  /** When the last call of a route arrived (epoch ms). */
  readonly lastCallAt: Partial<Record<Route, number>>;
  /** The query string of the last call of a route. */
  readonly lastQuery: Partial<Record<Route, URLSearchParams>>;
  /**
   * Sets (or with `undefined`, clears) the fault of a route: for every call, or only for calls
   * whose URL or body contains `match` (so concurrent cases do not see each other's faults).
   */
  fault(route: Route, fault: Fault | undefined, match?: string): void;
  /** Calls a fault set with `match` applied to. */
  hits(match: string): number;
  reset(): void;
  close(): Promise<void>;
}

const ROUTES: [Route, string, RegExp][] = [
  ['jobs.query', 'POST', /\/projects\/[^/]+\/queries$/],
  ['jobs.getQueryResults', 'GET', /\/projects\/[^/]+\/queries\/[^/]+$/],
  ['jobs.cancel', 'POST', /\/projects\/[^/]+\/jobs\/[^/]+\/cancel$/],
  ['jobs.insert', 'POST', /\/projects\/[^/]+\/jobs$/],
  ['jobs.get', 'GET', /\/projects\/[^/]+\/jobs\/[^/]+$/],
  ['tabledata.list', 'GET', /\/tables\/[^/]+\/data$/],
  ['tables.get', 'GET', /\/datasets\/[^/]+\/tables\/[^/]+$/],
];

function routeOf(method: string, path: string): Route | undefined {
  return ROUTES.find(([, m, pattern]) => m === method && pattern.test(path))?.[0];
}

export async function faultyUpstream(emulatorUrl: string): Promise<FaultyUpstream> {
  const emulator = new URL(emulatorUrl);
  const faults = new Map<Route, Map<string, Fault>>();
  const hits = new Map<string, number>();
  const faultFor = (route: Route, url: string, body: string): Fault | undefined => {
    for (const [match, fault] of faults.get(route) ?? []) {
      if (match === '' || url.includes(match) || body.includes(match)) {
        hits.set(match, (hits.get(match) ?? 0) + 1);
        return fault;
      }
    }
    return undefined;
  };
  const calls = Object.fromEntries([...ROUTES.map(([r]) => r), 'dry run'].map((r) => [r, 0])) as Record<Route, number>;
  const cancels: { jobId: string; at: number }[] = [];
  const lastCallAt: Partial<Record<Route, number>> = {};
  const lastQuery: Partial<Record<Route, URLSearchParams>> = {};
  const agent = new http.Agent({ keepAlive: true });

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: emulator.host };
      const out = http.request(new URL(req.url!, emulator), { method: req.method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 502, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      out.on('error', reject);
      out.end(body);
    });

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const path = new URL(req.url!, 'http://x').pathname;
    let route = routeOf(req.method!, path);
    if (route === 'jobs.insert' && /"dryRun"\s*:\s*true/.test(body.toString('utf8'))) route = 'dry run';
    if (route) {
      calls[route]++;
      lastCallAt[route] = Date.now();
      lastQuery[route] = new URL(req.url!, 'http://x').searchParams;
    }
    if (route === 'jobs.cancel') cancels.push({ jobId: decodeURIComponent(path.split('/').at(-2)!), at: Date.now() });
    const fault = route ? faultFor(route, req.url!, body.toString('utf8')) : undefined;
    try {
      switch (fault?.kind) {
        case 'hang':
          return; // the socket stays open until the caller gives up
        case 'html':
          res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>Service temporarily unavailable</body></html>');
          return;
        case 'json-as-text':
          res.writeHead(200, { 'content-type': 'text/plain' }).end('{"kind":"bigquery#queryResponse"}');
          return;
        case 'wrong-shape':
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'bigquery#queryResponse', jobReference: 'job-1', rows: 'none', schema: { fields: 'id' } }));
          return;
        case 'cut-with-length': {
          const answer = await forward(req, body);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.body.length });
          res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        case 'cut-chunked': {
          const answer = await forward(req, body);
          res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
          res.write(answer.body.subarray(0, Math.floor(answer.body.length / 2)));
          setTimeout(() => res.socket?.destroy(), 20);
          return;
        }
        case 'slow': {
          await new Promise((r) => setTimeout(r, fault.ms));
          const answer = await forward(req, body);
          const json = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
          if (fault.running) {
            delete json.rows;
            delete json.schema;
            delete json.totalRows;
            json.jobComplete = false;
          }
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
          return;
        }
        case 'warnings': {
          const answer = await forward(req, body);
          const json = JSON.parse(answer.body.toString('utf8')) as Record<string, unknown>;
          if (answer.status === 200) json.errors = fault.errors.map((e) => ({ ...e, location: '', debugInfo: '' }));
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
          return;
        }
        case 'extra-columns': {
          const answer = await forward(req, body);
          const json = JSON.parse(answer.body.toString('utf8')) as { schema?: { fields: unknown[] }; rows?: { f: unknown[] }[] };
          if (json.schema) json.schema.fields.push(...fault.columns.map(({ name, type, fields }) => ({ name, type, mode: 'NULLABLE', ...(fields && { fields }) })));
          for (const row of json.rows ?? []) {
            for (const [index, value] of Object.entries(fault.replace ?? {})) row.f[Number(index)] = { v: value };
            row.f.push(...fault.columns.map(({ value }) => ({ v: value })));
          }
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
          return;
        }
        default: {
          const answer = await forward(req, body);
          const headers: Record<string, string> = { 'content-type': String(answer.headers['content-type'] ?? 'application/json') };
          res.writeHead(answer.status, headers).end(answer.body);
        }
      }
    } catch (error) {
      res.writeHead(599).end(String(error));
    }
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    cancels,
    lastCallAt,
    lastQuery,
    fault(route, fault, match = '') {
      const forRoute = faults.get(route) ?? new Map<string, Fault>();
      faults.set(route, forRoute);
      if (fault) forRoute.set(match, fault);
      else forRoute.delete(match);
    },
    hits: (match) => hits.get(match) ?? 0,
    reset() {
      faults.clear();
      hits.clear();
      for (const r of Object.keys(calls) as Route[]) calls[r] = 0;
      cancels.length = 0;
    },
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
        agent.destroy();
      }),
  };
}
