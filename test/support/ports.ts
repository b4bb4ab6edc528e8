// Ports for servers a test starts after naming their address (a gateway whose public URL is
// configured first, a PostgreSQL cluster). A port the kernel picks with listen(0) and gives back
// can be picked again by a parallel test file before the server binds it; these ports come from
// below the kernel's ephemeral range (32768+), in a block of 1,000 per vitest worker, so nothing
// else hands them out. Each is still probed free before use.
import { createServer } from 'node:net';

const worker = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? 0) % 20;
const base = 12_000 + worker * 1_000;
// A random start keeps two test runs on one machine (worker 1 of each) from walking the block in step.
let next = Math.floor(Math.random() * 1_000);

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port nothing listens on, reserved to this worker. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 1_000; tries++) {
    const port = base + (next++ % 1_000);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${base}–${base + 999}`);
}
