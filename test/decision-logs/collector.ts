// A local decision-log collector in OPA's service format: POST /logs with a gzip-compressed JSON
// array of events. It records what it accepted, can be stopped and restarted on the same port, and
// made to fail (answer 500 without keeping anything), hang (never answer), trickle (accept with a
// 200 whose body never ends) or be slow (keep the events, answer 204 half a second later).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { DecisionLogEvent } from '../../gateway/audit/index.ts';

export type CollectorMode = 'ok' | 'fail' | 'hang' | 'trickle' | 'slow';

export interface Collector {
  readonly url: string;
  /** Every event accepted (answered 204), in arrival order. */
  readonly events: DecisionLogEvent[];
  /** Every upload that reached the collector, whatever it answered. */
  readonly uploads: { path: string; headers: IncomingMessage['headers']; events: number; mode: CollectorMode }[];
  mode: CollectorMode;
  /** Closes the port (connections refused) until start(). */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** decision_id → how many times it was accepted. */
  counts(): Map<string, number>;
  close(): Promise<void>;
}

export async function startCollector(): Promise<Collector> {
  let server: Server | undefined;
  let port = 0;
  const hanging = new Set<ServerResponse>();
  const collector: Collector = {
    url: '',
    events: [],
    uploads: [],
    mode: 'ok',
    async stop() {
      if (!server) return;
      const s = server;
      server = undefined;
      for (const res of hanging) res.destroy();
      hanging.clear();
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
    async start() {
      if (server) return;
      server = createServer((req, res) => void handle(req, res));
      server.keepAliveTimeout = 1000;
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', () => resolve()));
      port = (server.address() as AddressInfo).port;
    },
    counts() {
      const counts = new Map<string, number>();
      for (const e of collector.events) counts.set(e.decision_id, (counts.get(e.decision_id) ?? 0) + 1);
      return counts;
    },
    async close() {
      await collector.stop();
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const mode = collector.mode;
    let events: DecisionLogEvent[] = [];
    try {
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(Buffer.concat(chunks)) : Buffer.concat(chunks);
      events = JSON.parse(body.toString('utf8')) as DecisionLogEvent[];
    } catch {
      res.writeHead(400).end('not a gzip-compressed JSON array');
      return;
    }
    collector.uploads.push({ path: req.url ?? '', headers: req.headers, events: events.length, mode });
    if (req.method !== 'POST' || req.url !== '/logs') {
      res.writeHead(404).end();
      return;
    }
    if (mode === 'hang') {
      hanging.add(res);
      return;
    }
    if (mode === 'fail') {
      res.writeHead(500).end('collector failing');
      return;
    }
    collector.events.push(...events);
    if (mode === 'slow') {
      hanging.add(res);
      setTimeout(() => {
        hanging.delete(res);
        if (!res.destroyed) res.writeHead(204).end();
      }, 500);
      return;
    }
    if (mode === 'trickle') {
      hanging.add(res);
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    res.writeHead(204).end();
  }

  await collector.start();
  (collector as { url: string }).url = `http://127.0.0.1:${port}`;
  return collector;
}

/** Polls until `check` holds (or throws the last failure after `timeoutMs`). */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
