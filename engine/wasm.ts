// One evaluation of a compiled policy, without the SDK's per-call allocations. Two paths:
//   - one call to the ABI 1.2 `opa_eval`: the input's JSON text is encoded straight into the WASM
//     heap and parsed there;
//   - for an input whose statements are a frozen analysis (input-json.ts), the statements are
//     parsed into the policy's memory once, below the evaluation heap, and each evaluation parses
//     only the rest and links the two with `opa_value_add_path` (OPA's documented way to keep
//     values across evaluations; evaluation never writes to its input). Parsing the statements
//     is a fifth of a decision's policy time. A repeated text shares its whole sql member (its
//     text and hash too), which is then kept parsed instead of the statements alone. The other
//     members are kept the same way, by their JSON text, once it repeats (a caller's identity,
//     its request, its grants): parsing them cost a tenth of a repeated decision.
// Policies built for an older ABI fall back to the SDK's `evaluate`.
import type { loadPolicy } from '@open-policy-agent/opa-wasm';
import { documentJson, type InputDocument, sqlMemberJson } from './input-json.ts';
import { deepFreeze } from './sql/analysis.ts';
import { Doorkeeper } from './sql/cache.ts';

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
  const arena = new Arena(exports, write, arenaBytes);
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
    arena.begin(state.dataHeapPtr);
    const { sql, statements } = document;
    // Kept values as path and value addresses; the rest goes into the object parsed now.
    const kept: number[] = [];
    let fresh: string[];
    if (sql.value !== undefined && arena.wanted(sql.value)) {
      kept.push(arena.path('["sql"]'), arena.persist(sql.value, () => sqlMemberJson(document)));
      fresh = [];
    } else {
      kept.push(arena.path('["sql","statements"]'), arena.persist(statements.value, () => statements.json));
      fresh = [`"sql":${sql.json}`];
    }
    for (const [key, json] of document.members) {
      const value = arena.member(key, json);
      if (value === undefined) fresh.push(`${key}:${json}`);
      else kept.push(arena.path(`[${key}]`), value);
    }
    const base = arena.top;
    const written = write(`{${fresh.join(',')}}`, base);
    exports.opa_heap_ptr_set(base + written);
    const input = exports.opa_json_parse(base, written);
    if (input === 0) throw new Error('the input document does not parse');
    for (let i = 0; i < kept.length; i += 2) {
      if (exports.opa_value_add_path(input, kept[i]!, kept[i + 1]!) !== 0) throw new Error('a kept value could not be placed in the input');
    }
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
 * Values of one input member seen once, remembered at most (by a 32-bit hash: a flood of distinct
 * identities pins 4,096 numbers, not their texts).
 */
const SEEN_MEMBERS = 4096;

/**
 * Parsed values, in the policy's memory between the data and the evaluation heap: analyses by
 * the frozen value they were parsed from, other input members by their key and JSON text, paths
 * by their JSON text. Every evaluation resets the heap to `top`, so what lies below survives;
 * nothing below is ever freed one by one, so when full the arena starts over, between two
 * evaluations.
 */
class Arena {
  #exports: Exports;
  /** Writes text into the policy's memory (the evaluator's, which grows it). */
  #write: (text: string, at: number) => number;
  #limit: number;
  #base = -1;
  #top = 0;
  #values = new WeakMap<object, number>();
  #seen = new WeakSet<object>();
  #paths = new Map<string, number>();
  #members = new Map<string, Map<string, number>>();
  #seenMembers = new Map<string, Doorkeeper>();

  constructor(exports: Exports, write: (text: string, at: number) => number, limit: number) {
    this.#exports = exports;
    this.#write = write;
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

  /**
   * Called before an evaluation takes values from the arena, with where the data ends: starts
   * over when the data moved or the arena is full. Never during an evaluation, so the values it
   * hands out stay valid until the next call.
   */
  begin(base: number): void {
    if (base === this.#base && this.#top - base <= this.#limit) return;
    this.#top = base;
    this.#base = base;
    this.#values = new WeakMap();
    this.#paths = new Map();
    this.#members = new Map();
  }

  /** A frozen analysis part parsed (from `json()` the first time). */
  persist(value: object, json: () => string): number {
    let address = this.#values.get(value);
    if (address === undefined) {
      address = this.#parse(json());
      this.#values.set(value, address);
    }
    return address;
  }

  /** A path's JSON (`["sql"]`) parsed, once. */
  path(json: string): number {
    let address = this.#paths.get(json);
    if (address === undefined) {
      address = this.#parse(json);
      this.#paths.set(json, address);
    }
    return address;
  }

  /** An input member's value, by its key's JSON and its own: kept parsed once it repeats, undefined the first time. */
  member(key: string, json: string): number | undefined {
    let values = this.#members.get(key);
    const address = values?.get(json);
    if (address !== undefined) return address;
    let seen = this.#seenMembers.get(key);
    if (seen === undefined) this.#seenMembers.set(key, (seen = new Doorkeeper(SEEN_MEMBERS)));
    if (!seen.admit(json)) return undefined;
    if (values === undefined) this.#members.set(key, (values = new Map()));
    const value = this.#parse(json);
    values.set(json, value);
    return value;
  }

  /** Whether to keep this analysis part: not the first time it is seen (most shapes and texts come once). */
  wanted(value: object): boolean {
    if (this.#values.has(value) || this.#seen.has(value)) return true;
    this.#seen.add(value);
    return false;
  }

  #parse(json: string): number {
    const exports = this.#exports;
    const written = this.#write(json, this.#top);
    exports.opa_heap_ptr_set(this.#top + written);
    const value = exports.opa_json_parse(this.#top, written);
    if (value === 0) throw new Error('a kept value does not parse');
    this.#top = exports.opa_heap_ptr_get();
    return value;
  }
}
