// The official Python BigQuery client as an agent runs it (test/support/python_agent.py), in the
// virtual environment scripts/toolchain.sh provisions (SLUICE_PYTHON, or .tools/python).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PROJECT } from './stack.ts';

const root = resolve(import.meta.dirname, '../..');
const AGENT_SCRIPT = join(root, 'test', 'support', 'python_agent.py');

export interface PythonQuery {
  sql: string;
  /** `query` (jobs.insert, then jobs.get and getQueryResults) or `query_and_wait` (jobs.query). */
  method?: 'query' | 'query_and_wait';
}

/** A catalog call made with the client's own methods (list_datasets, list_tables, get_dataset, get_table). */
export type PythonCatalogCall = { op: 'list_datasets' } | { op: 'list_tables' | 'get_dataset'; dataset: string } | { op: 'get_table'; dataset: string; table: string };

/** One of `items` (list_*), `resource` (get_*) or `error`. */
export interface PythonCatalogResult {
  items?: string[];
  resource?: Record<string, any>;
  /** get_table: each schema field as the client's SchemaField keeps it. */
  schema?: Record<string, any>[];
  error?: { type: string; code: number | null; reason: string | null; message: string };
  seconds: number;
  ended: number;
}

export type PythonResult = (
  | { rows: Record<string, unknown>[]; error?: undefined }
  | { rows?: undefined; error: { type: string; code: number | null; reason: string | null; message: string } }
) & { seconds: number; /** Epoch seconds when the call returned or was given up. */ ended: number };

export interface PythonOptions {
  /** Seconds before a call is given up (its HTTP connection closed); default 60. */
  timeoutSeconds?: number;
  /** How long the client retries retryable errors (its default is 10 minutes). */
  retryDeadlineSeconds?: number;
}

export function pythonInterpreter(): string {
  const python = process.env.SLUICE_PYTHON ?? join(root, '.tools', 'python', 'bin', 'python');
  if (!existsSync(python)) throw new Error(`the Python BigQuery client is not installed (${python}): run scripts/toolchain.sh`);
  return python;
}

/** Runs the queries in order with one Python client holding `token`; one result per query. */
export async function pythonQueries(endpoint: string, token: string, queries: PythonQuery[], options: PythonOptions = {}): Promise<PythonResult[]> {
  return runAgent(endpoint, token, queries, options) as Promise<PythonResult[]>;
}

/** Runs catalog calls in order with one Python client holding `token`; one result per call. */
export async function pythonCatalog(endpoint: string, token: string, calls: PythonCatalogCall[], options: PythonOptions = {}): Promise<PythonCatalogResult[]> {
  return runAgent(endpoint, token, calls, options) as Promise<PythonCatalogResult[]>;
}

async function runAgent(endpoint: string, token: string, queries: (PythonQuery | PythonCatalogCall)[], options: PythonOptions): Promise<unknown[]> {
  const child = spawn(pythonInterpreter(), [AGENT_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.stdin.end(JSON.stringify({ endpoint, project: PROJECT, token, timeout: options.timeoutSeconds ?? 60, retry_deadline: options.retryDeadlineSeconds, queries }));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`the Python agent exited with ${code}: ${stderr.slice(-2000)}`);
  return (JSON.parse(stdout) as { results: unknown[] }).results;
}

/** Starts `query` in a Python client and kills the process after `killAfterMs`: an agent that dies mid-query. Resolves to when it was killed. */
export async function pythonKilledMidQuery(endpoint: string, token: string, query: PythonQuery, killAfterMs: number): Promise<number> {
  const child = spawn(pythonInterpreter(), [AGENT_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.end(JSON.stringify({ endpoint, project: PROJECT, token, timeout: 600, queries: [query] }));
  await new Promise((r) => setTimeout(r, killAfterMs));
  const killedAt = Date.now();
  child.kill('SIGKILL');
  await new Promise((done) => child.on('close', done));
  return killedAt;
}
