// Exit codes and terminal output shared by the commands.
import { EngineError } from '../engine/index.ts';
import { visibleText } from '../gateway/approvals/display.ts';

export const EXIT = { ok: 0, error: 1, usage: 2, deny: 3, approve: 4, testsFailed: 5, fixturesInvalid: 6 } as const;

/** A problem with what the user gave us: printed without a stack, exit 2. */
export class UsageError extends Error {}

const tty = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number) => (text: string) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
export const color = { red: paint(31), green: paint(32), yellow: paint(33), cyan: paint(36), dim: paint(2), bold: paint(1) };

export function fail(thrown: unknown): void {
  if (thrown instanceof UsageError) {
    process.stderr.write(`sluice: ${thrown.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (thrown instanceof EngineError) {
    process.stderr.write(`sluice: ${thrown.message}\n`);
    process.exitCode = EXIT.error;
  } else {
    process.stderr.write(`sluice: ${thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown)}\n`);
    process.exitCode = EXIT.error;
  }
}

/**
 * A recorded value as a terminal shows it: every string in it as `visibleText` draws it (control,
 * bidi and invisible characters as visible escapes). What an agent wrote (its SQL, a quoted
 * identifier, a value in its result) and what its token says (its subject) reach the record as
 * sent; printed raw, an escape sequence would erase or conceal lines of the operator's screen, or a
 * bidi control reorder them, and show another statement than the one recorded.
 */
export function visibleRecord<T>(value: T): T {
  if (typeof value === 'string') return visibleText(value) as T;
  if (Array.isArray(value)) return value.map((v) => visibleRecord(v)) as T;
  if (typeof value === 'object' && value !== null && !(value instanceof Date)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [visibleText(k), visibleRecord(v)])) as T;
  }
  return value;
}
