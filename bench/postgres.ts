// The PostgreSQL a benchmark runs against: SLUICE_BENCH_POSTGRES_URL when set, else a throwaway
// local cluster (fsync on) when the server binaries are installed, else none.
import pg from 'pg';
import { postgresAvailable, removeCluster, startPostgres } from '../test/support/postgres.ts';

export interface BenchPostgres {
  url: string;
  cleanup(): void;
}

export async function benchPostgres(database = 'sluice_bench'): Promise<BenchPostgres | undefined> {
  if (process.env.SLUICE_BENCH_POSTGRES_URL) return { url: process.env.SLUICE_BENCH_POSTGRES_URL, cleanup: () => {} };
  if (!postgresAvailable()) {
    console.error('PostgreSQL skipped: set SLUICE_BENCH_POSTGRES_URL or install the server binaries');
    return undefined;
  }
  const cluster = await startPostgres();
  const client = new pg.Client({ connectionString: cluster.url });
  await client.connect();
  await client.query(`CREATE DATABASE ${database}`);
  await client.end();
  return { url: cluster.url.replace(/\/postgres$/, `/${database}`), cleanup: () => removeCluster(cluster) };
}
