// Once per vitest run: a real PostgreSQL for the storage, approval and audit tests, shared by
// every test file through SLUICE_TEST_POSTGRES_URL (each file creates its own database).
import type { TestProject } from 'vitest/node';
import { postgresAvailable, removeCluster, startPostgres, type PostgresCluster } from './postgres.ts';

let cluster: PostgresCluster | undefined;

export async function setup(project: TestProject): Promise<void> {
  if (process.env.SLUICE_TEST_POSTGRES_URL) return;
  if (!postgresAvailable()) {
    if (process.env.CI) throw new Error('PostgreSQL is required in CI: scripts/toolchain.sh installs it');
    return;
  }
  cluster = await startPostgres();
  project.provide('postgresUrl', cluster.url);
  project.provide('postgresDataDir', cluster.dataDir);
}

export async function teardown(): Promise<void> {
  if (cluster) removeCluster(cluster);
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    postgresDataDir: string;
  }
}
