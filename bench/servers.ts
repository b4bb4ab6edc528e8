// The servers a gateway benchmark measures run in a child process, so the load generator does
// not share their event loop. The benchmark file forks itself with `--serve <json>`; the child
// starts its servers, hands their URLs back and exits with its parent.
import { fork, type ChildProcess } from 'node:child_process';

/** Parent: forks `file --serve <args>` and resolves with what the child announces. */
export async function startChild<T>(file: string, args: unknown): Promise<{ servers: T; child: ChildProcess }> {
  const child = fork(file, ['--serve', JSON.stringify(args)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const servers = await new Promise<T>((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  return { servers, child };
}

/** Child: the arguments it was forked with, or undefined in the parent. */
export function serveArgs<T>(): T | undefined {
  const at = process.argv.indexOf('--serve');
  return at < 0 ? undefined : (JSON.parse(process.argv[at + 1]!) as T);
}

/** Child: announces its servers to the parent, and goes when the parent does. */
export function announce(servers: unknown): void {
  process.send!(servers);
  process.once('disconnect', () => process.exit(0));
}
