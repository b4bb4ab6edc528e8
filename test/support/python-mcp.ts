// The official Python MCP SDK as an agent runs it (test/support/python_mcp_agent.py), in the
// virtual environment scripts/toolchain.sh provisions: one Streamable HTTP connection per call.
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { pythonInterpreter } from './python-client.ts';

const AGENT_SCRIPT = join(resolve(import.meta.dirname, '../..'), 'test', 'support', 'python_mcp_agent.py');

export type PythonMcpStep = { op: 'list_tools' } | { op: 'call_tool'; name: string; arguments?: Record<string, unknown> };

export interface PythonMcpError {
  type: string;
  code: number | null;
  message: string;
}

export interface PythonToolListing {
  tools: { name: string; input_schema: Record<string, any>; output_schema: Record<string, any> | null }[];
}

export interface PythonToolResult {
  /** The text content blocks, joined. */
  text: string;
  structured_content: any;
  is_error: boolean;
  meta: Record<string, any> | null;
  /** Progress messages the server sent while the call ran. */
  progress: string[];
}

export type PythonMcpStepResult = PythonToolListing | PythonToolResult | { error: PythonMcpError };

export type PythonMcpAnswer = { /** The status of every HTTP response the client got. */ http_statuses: number[] } & (
  | { protocol_version: string; server_name: string | null; results: PythonMcpStepResult[]; error?: undefined }
  | { error: PythonMcpError; /** The last WWW-Authenticate header the server sent. */ challenge: string | null; results?: undefined }
);

export interface PythonMcpOptions {
  /** `auto` (server/discover, falling back to initialize; the default) or `legacy` (the 2025 initialize handshake). */
  mode?: 'auto' | 'legacy';
  /** Seconds before a request is given up; default 60. */
  timeoutSeconds?: number;
}

/** Connects with the Python SDK to `url` holding `token` and runs the steps in order. */
export async function pythonMcp(url: string, token: string, steps: PythonMcpStep[], options: PythonMcpOptions = {}): Promise<PythonMcpAnswer> {
  const child = spawn(pythonInterpreter(), [AGENT_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d));
  child.stderr.on('data', (d: Buffer) => (stderr += d));
  child.stdin.end(JSON.stringify({ url, token, mode: options.mode ?? 'auto', timeout: options.timeoutSeconds ?? 60, steps }));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  if (code !== 0) throw new Error(`the Python MCP agent exited with ${code}: ${stderr.slice(-2000)}`);
  return JSON.parse(stdout) as PythonMcpAnswer;
}

/** The step results of a connection that succeeded (throws with the connection's error otherwise). */
export function stepsOf(answer: PythonMcpAnswer): PythonMcpStepResult[] {
  if (answer.error) throw new Error(`the Python MCP client could not connect: ${answer.error.type}: ${answer.error.message}`);
  return answer.results;
}

/** One step's tool result (throws when the step raised, or was a listing). */
export function toolResult(step: PythonMcpStepResult | undefined): PythonToolResult {
  if (!step || 'error' in step) throw new Error(`the tool call raised: ${JSON.stringify(step?.error)}`);
  if ('tools' in step) throw new Error('expected a tool result, got a listing');
  return step;
}
