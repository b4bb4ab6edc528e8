// One evaluation of a compiled policy through the ABI 1.2 one-call `opa_eval` export, without
// the SDK's per-call allocations: the input's JSON text is encoded straight into the WASM heap
// (no intermediate buffer), and the result's end is found with a native `indexOf` instead of a
// byte-by-byte loop. Policies built for an older ABI fall back to the SDK's `evaluate`.
import type { loadPolicy } from '@open-policy-agent/opa-wasm';

type LoadedPolicy = Awaited<ReturnType<typeof loadPolicy>>;

interface Exports {
  opa_eval?(reserved: number, entrypoint: number, data: number, input: number, inputLength: number, heap: number, format: number): number;
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
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type Evaluator = (inputJson: string) => unknown;

export function evaluator(policy: LoadedPolicy, entrypoint: number): Evaluator {
  const state = policy as unknown as PolicyState;
  const instance = 'instance' in state.wasmInstance ? state.wasmInstance.instance : state.wasmInstance;
  const opaEval = (instance.exports as Exports).opa_eval;
  if (!(Number(state.minorVersion) >= 2) || typeof opaEval !== 'function') {
    return (inputJson) => policy.evaluate(encoder.encode(inputJson).buffer, entrypoint);
  }
  const memory = state.mem;
  return (inputJson) => {
    // The input goes where the data ends; opa_eval allocates after it and the next call
    // starts over from the same place (the SDK's own fast path does the same). setData moves
    // both, so they are read on every call.
    const base = state.dataHeapPtr;
    const dataAddr = state.dataAddr;
    let { read, written } = encoder.encodeInto(inputJson, new Uint8Array(memory.buffer, base));
    if (read < inputJson.length) {
      // Out of room: grow for the worst case (3 UTF-8 bytes per UTF-16 code unit), write again.
      memory.grow(Math.ceil((inputJson.length * 3 - (memory.buffer.byteLength - base)) / PAGE));
      ({ read, written } = encoder.encodeInto(inputJson, new Uint8Array(memory.buffer, base)));
    }
    const result = opaEval(0, entrypoint, dataAddr, base, written, base + written, 0);
    const heap = new Uint8Array(memory.buffer);
    const end = heap.indexOf(0, result);
    if (result === 0 || end < 0) throw new Error('opa_eval returned no result');
    return JSON.parse(decoder.decode(heap.subarray(result, end)));
  };
}
