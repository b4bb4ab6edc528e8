// A throwaway PostgreSQL cluster for tests: Debian's server binaries, a data directory in /tmp,
// a free port on 127.0.0.1. Started once per test run (vitest globalSetup) and stopped after.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, chownSync, rmSync, readdirSync, readFileSync } from 'node:fs';
import { freePort } from './ports.ts';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

export interface PostgresCluster {
  url: string;
  dataDir: string;
  stop(): void;
  start(): void;
}

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const version = readdirSync(root).sort((a, b) => Number(b) - Number(a))[0];
  return version ? join(root, version, 'bin') : undefined;
}

export function postgresAvailable(): boolean {
  const bin = binDir();
  return !!bin && existsSync(join(bin, 'initdb'));
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = binDir();
  if (!bin) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)');
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-pg-'));
  // The server refuses to run as root: run it as the `postgres` system user then.
  const asRoot = userInfo().uid === 0;
  if (asRoot) chownSync(dataDir, Number(execFileSync('id', ['-u', 'postgres']).toString().trim()), Number(execFileSync('id', ['-g', 'postgres']).toString().trim()));
  const run = (cmd: string, args: string[]) => {
    const full = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args];
    const result = spawnSync(full[0] as string, full[1] as string[], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${cmd} failed: ${result.stderr || result.stdout}`);
  };
  run('initdb', ['-D', dataDir, '-U', 'sluice', '--auth=trust', '-E', 'UTF8', '--no-sync']);
  const options = `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${dataDir} -c fsync=on -c max_connections=200`;
  const cluster: PostgresCluster = {
    url: `postgres://sluice@127.0.0.1:${port}/postgres`,
    dataDir,
    start: () => run('pg_ctl', ['-D', dataDir, '-o', options, '-w', '-l', join(dataDir, 'server.log'), 'start']),
    stop: () => run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']),
  };
  cluster.start();
  return cluster;
}

export function removeCluster(cluster: PostgresCluster): void {
  try {
    cluster.stop();
  } catch {
    /* already stopped */
  }
  rmSync(cluster.dataDir, { recursive: true, force: true });
}

/** The postmaster and its children (this cluster's only): what SIGSTOP / SIGCONT freeze and resume. */
export function serverProcesses(dataDir: string): number[] {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}

export function signal(pids: number[], name: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, name);
    } catch {
      /* exited */
    }
  }
}
