// A small bundle server for tests, as OPA's bundle service API has it: GET the bundle, ETag and
// If-None-Match (304). `mode` makes it misbehave: garbage, a huge body, errors, dropped connections.
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ServerMode = 'ok' | 'garbage' | 'huge' | 'error' | 'drop';

export class BundleServer {
  #server: Server | undefined;
  #bundle: Uint8Array | undefined;
  #etag: string | undefined;
  mode: ServerMode = 'ok';
  port = 0;
  readonly requests: { ifNoneMatch: string | undefined; authorization: string | undefined; status: number }[] = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}/bundles/sluice.tar.gz`;
  }

  publish(bytes: Uint8Array): void {
    this.#bundle = bytes;
    this.#etag = `"${createHash('sha256').update(bytes).digest('hex').slice(0, 20)}"`;
  }

  async start(port = 0): Promise<this> {
    this.#server = createServer((req, res) => {
      const ifNoneMatch = req.headers['if-none-match'];
      const answer = (status: number) => this.requests.push({ ifNoneMatch, authorization: req.headers.authorization, status });
      if (this.mode === 'drop') {
        answer(0);
        req.socket.destroy();
        return;
      }
      if (this.mode === 'error') {
        answer(503);
        res.writeHead(503).end('unavailable');
        return;
      }
      if (this.mode === 'garbage') {
        answer(200);
        res.writeHead(200, { 'content-type': 'application/gzip', etag: '"garbage"' }).end('this is not a tarball');
        return;
      }
      if (this.mode === 'huge') {
        answer(200);
        // No content-length: the gateway must stop reading at its limit.
        res.writeHead(200, { 'content-type': 'application/gzip', etag: '"huge"' });
        const chunk = Buffer.alloc(1 << 20, 7);
        let sent = 0;
        const more = () => {
          while (sent < 64 && !res.destroyed) {
            sent++;
            if (!res.write(chunk)) return void res.once('drain', more);
          }
          res.end();
        };
        res.on('error', () => undefined);
        more();
        return;
      }
      if (!this.#bundle) {
        answer(404);
        res.writeHead(404).end('no bundle yet');
        return;
      }
      if (ifNoneMatch === this.#etag) {
        answer(304);
        res.writeHead(304, { etag: this.#etag }).end();
        return;
      }
      answer(200);
      res.writeHead(200, { 'content-type': 'application/gzip', etag: this.#etag!, 'content-length': this.#bundle.byteLength }).end(this.#bundle);
    });
    await new Promise<void>((resolve) => this.#server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.#server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
