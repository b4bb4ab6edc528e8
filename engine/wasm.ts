// One evaluation of a compiled policy, without the SDK's per-call allocations. Two paths:
//   - one call to the ABI 1.2 `opa_eval`: the input's JSON text is encoded straight into the WASM
//     heap and parsed there;
//   - for an input whose statements are a frozen analysis (input-json.ts), the statements are
//     parsed into the policy's memory once, below the evaluation heap, and each evaluation parses
//     only the rest and links the two with `opa_value_add_path` (OPA's documented way to keep
//     values across evaluations; evaluation never writes to its input). Parsing the statements
//     is a fifth of a decision's policy time. A repeated text shares its whole sql member (its
//     text and hash too), which is then kept parsed instead of the statements alone.
// Policies built for an older ABI fall back to the SDK's `evaluate`.
import type { loadPolicy } from '@open-policy-agent/opa-wasm';
import { documentJson, frozenSqlJson, type InputDocument } from './input-json.ts';
import { deepFreeze } from './sql/analysis.ts';

type LoadedPolicy = Awaited<ReturnType<typeof loadPolicy>>;

interface Exports {
  opa_eval?(reserved: number, entrypoint: number, data: number, input: number, inputLength: number, heap: number, format: number): number;
  opa_heap_ptr_get(): number;
  opa_heap_ptr_set(address: number): void;
  opa_json_parse(address: number, length: number): number;
  opa_json_dump(value: number): number;
  opa_value_add_path(base: number, path: number, value: number): number;
  opa_eval_ctx_new(): number;
  opa_eval_ctx_set_input(ctx: number, value: number): void;
  opa_eval_ctx_set_data(ctx: number, value: number): void;
  opa_eval_ctx_set_entrypoint(ctx: number, entrypoint: number): void;
  opa_eval_ctx_get_result(ctx: number): number;
  eval(ctx: number): number;
}

interface Memory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}

/** The LoadedPolicy fields this uses (public, but typed loosely by the SDK). */
interface PolicyState {
  minorVersion: unknown;
  wasmInstance: { exports: unknown } | { instance: { exports: unknown } };
  mem: Memory;
  dataAddr: number;
  dataHeapPtr: number;
}

const PAGE = 64 * 1024;
/** Parsed statements kept at most, in bytes; past it the arena starts over (a parsed value takes several times its JSON). */
const ARENA_BYTES = 32 * 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type Evaluator = (document: InputDocument) => unknown;

/** Results this short are remembered by their text, decoded and deep-frozen. */
const MEMO_TEXT = 4096;
const MEMO_ENTRIES = 1024;
const decoded = new Map<string, unknown>();

/**
 * A result's value. Decisions repeat (most requests get one of a few), and JSON.parse of one
 * costs as much as a tenth of the policy's evaluation, so a short result is decoded once per
 * text and shared, frozen so that no caller can change what the next one gets.
 */
function decodedResult(text: string): unknown {
  if (text.length > MEMO_TEXT) return JSON.parse(text);
  let value = decoded.get(text);
  if (value === undefined) {
    value = deepFreeze(JSON.parse(text));
    if (decoded.size >= MEMO_ENTRIES) decoded.clear();
    decoded.set(text, value);
  }
  return value;
}

export function evaluator(policy: LoadedPolicy, entrypoint: number, arenaBytes = ARENA_BYTES): Evaluator {
  const state = policy as unknown as PolicyState;
  const instance = 'instance' in state.wasmInstance ? state.wasmInstance.instance : state.wasmInstance;
  const exports = instance.exports as Exports;
  const opaEval = exports.opa_eval;
  if (!(Number(state.minorVersion) >= 2) || typeof opaEval !== 'function') {
    return (document) => policy.evaluate(encoder.encode(documentJson(document)).buffer, entrypoint);
  }
  const memory = state.mem;
  const arena = new StatementArena(exports, arenaBytes);

  /** The text's UTF-8 at `at`, growing the memory when it does not fit; its length in bytes. */
  const write = (text: string, at: number): number => {
    let { read, written } = encoder.encodeInto(text, new Uint8Array(memory.buffer, at));
    if (read < text.length) {
      // Out of room: grow for the worst case (3 UTF-8 bytes per UTF-16 code unit), write again.
      memory.grow(Math.ceil((text.length * 3 - (memory.buffer.byteLength - at)) / PAGE));
      ({ read, written } = encoder.encodeInto(text, new Uint8Array(memory.buffer, at)));
    }
    return written;
  };
  const resultJson = (address: number): unknown => {
    const heap = new Uint8Array(memory.buffer);
    const end = heap.indexOf(0, address);
    if (address === 0 || end < 0) throw new Error('opa_eval returned no result');
    return decodedResult(decoder.decode(heap.subarray(address, end)));
  };

  return (document) => {
    // setData moves the data and the heap start, so both are read on every call.
    const dataAddr = state.dataAddr;
    if (!document.statements || !arena.wanted(document.statements.value)) {
      // The input goes where the data (and the arena) ends; opa_eval allocates after it and the
      // next call starts over from the same place (the SDK's own fast path does the same).
      const base = arena.heapStart(state.dataHeapPtr);
      const written = write(documentJson(document), base);
      return resultJson(opaEval(0, entrypoint, dataAddr, base, written, base + written, 0));
    }
    const sql = document.sql !== undefined && arena.wanted(document.sql.value) ? document.sql : undefined;
    const statements = document.statements;
    const kept =
      sql === undefined
        ? arena.persist(statements.value, () => statements.json, 'statements', state.dataHeapPtr, write)
        : arena.persist(sql.value, () => frozenSqlJson(sql.value, statements.json), 'sql', state.dataHeapPtr, write);
    const base = arena.top;
    const written = write(sql === undefined ? document.json : sql.rest, base);
    exports.opa_heap_ptr_set(base + written);
    const input = exports.opa_json_parse(base, written);
    if (input === 0) throw new Error('the input document does not parse');
    if (exports.opa_value_add_path(input, kept.path, kept.value) !== 0) throw new Error('the analysis could not be placed in the input');
    const ctx = exports.opa_eval_ctx_new();
    exports.opa_eval_ctx_set_input(ctx, input);
    exports.opa_eval_ctx_set_data(ctx, dataAddr);
    exports.opa_eval_ctx_set_entrypoint(ctx, entrypoint);
    const code = exports.eval(ctx);
    if (code !== 0) throw new Error(`policy evaluation failed with code ${code}`);
    return resultJson(exports.opa_json_dump(exports.opa_eval_ctx_get_result(ctx)));
  };
}

/**
 * Parsed statements, in the policy's memory between the data and the evaluation heap, by the
 * frozen analysis they were parsed from. Every evaluation resets the heap to `top`, so what lies
 * below survives; nothing below is ever freed one by one, so when full the arena starts over.
 */
class StatementArena {
  #exports: Exports;
  #limit: number;
  #base = -1;
  #top = 0;
  #paths = { statements: 0, sql: 0 };
  #values = new WeakMap<object, number>();
  #seen = new WeakSet<object>();

  constructor(exports: Exports, limit: number) {
    this.#exports = exports;
    this.#limit = limit;
  }

  /** Where evaluations start their heap. */
  get top(): number {
    return this.#top;
  }

  /** Where an evaluation starts its heap when the data ends at `base`. */
  heapStart(base: number): number {
    return base === this.#base ? this.#top : base;
  }

  /** `value` parsed (from `json()` the first time), to be placed at sql.statements or sql of the input. */
  persist(
    value: object,
    json: () => string,
    at: 'statements' | 'sql',
    base: number,
    write: (text: string, at: number) => number,
  ): { value: number; path: number } {
    if (base !== this.#base || this.#top - base > this.#limit) {
      this.#base = -1;
      this.#top = base;
      this.#values = new WeakMap();
      this.#paths = { statements: this.#parse('["sql","statements"]', write), sql: this.#parse('["sql"]', write) };
      this.#base = base;
    }
    let address = this.#values.get(value);
    if (address === undefined) {
      address = this.#parse(json(), write);
      this.#values.set(value, address);
    }
    return { value: address, path: this.#paths[at] };
  }

  /** Whether to keep this analysis part: not the first time it is seen (most shapes and texts come once). */
  wanted(value: object): boolean {
    if (this.#values.has(value) || this.#seen.has(value)) return true;
    this.#seen.add(value);
    return false;
  }

  #parse(json: string, write: (text: string, at: number) => number): number {
    const exports = this.#exports;
    const written = write(json, this.#top);
    exports.opa_heap_ptr_set(this.#top + written);
    const value = exports.opa_json_parse(this.#top, written);
    if (value === 0) throw new Error('the statements do not parse');
    this.#top = exports.opa_heap_ptr_get();
    return value;
  }
}
