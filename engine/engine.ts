// Evaluates the compiled policy in-process. Concurrency model: `evaluate` is synchronous and one
// WASM instance has one heap, so an Engine belongs to one thread (the gateway's event loop, or
// one per worker thread). An evaluation always runs to completion on the policy that was active
// when it started; `reload` prepares the new policy off to the side and swaps a single reference,
// so no evaluation is dropped or sees half a bundle. Every failure is a deny (fail closed).
import { readFile } from 'node:fs/promises';
import { loadPolicy } from '@open-policy-agent/opa-wasm';
import { readBundle } from './bundle.ts';
import { DEFAULT_BUNDLE, ENTRYPOINT } from './build.ts';
import { inOpaOrder } from './decision-order.ts';
import { EngineError, describeThrown, type EngineErrorCode } from './errors.ts';
import { normalize, withEstimate, type NormalizeRequest } from './normalize.ts';
import { inputDocument } from './input-json.ts';
import { formatErrors, inputErrors, validateDecision } from './schemas.ts';
import { isDeepFrozen } from './sql/analysis.ts';
import { evaluator, type Evaluator } from './wasm.ts';
import type { Decision, Estimate, PolicyInput } from './schema-types.ts';

type LoadedPolicy = Awaited<ReturnType<typeof loadPolicy>>;

export interface Evaluation {
  decision: Decision;
  revision: string;
  /** Wall time of validation + WASM evaluation, in nanoseconds. */
  evalNs: number;
  error?: { code: EngineErrorCode; message: string };
}

interface Active {
  policy: LoadedPolicy;
  entrypoint: number;
  /** The entrypoint's evaluation from the input's JSON text. */
  evaluate: Evaluator;
  revision: string;
}

/** Decisions that passed their schema check; the evaluator shares frozen ones between requests. */
const validDecisions = new WeakSet<object>();

/** validateDecision, done once for a decision the evaluator shares (deep-frozen, so it cannot change). */
function checkedDecision(decision: unknown): decision is Decision {
  if (typeof decision === 'object' && decision !== null && validDecisions.has(decision)) return true;
  if (!validateDecision(decision)) return false;
  if (isDeepFrozen(decision)) validDecisions.add(decision);
  return true;
}

/** WASM memory ceiling (64 KiB pages): a runaway policy fails the request instead of the process. */
const MAX_MEMORY_PAGES = 4096;

export class Engine {
  #active: Active | undefined;

  private constructor(active: Active | undefined) {
    this.#active = active;
  }

  /** An engine with no policy yet: every decision is a deny until `activate` or `reload` succeeds. */
  static empty(): Engine {
    return new Engine(undefined);
  }

  static async load(bundlePath: string = DEFAULT_BUNDLE): Promise<Engine> {
    return new Engine(await prepare(bundlePath));
  }

  static async fromBytes(bundle: Uint8Array): Promise<Engine> {
    return new Engine(await prepareBytes(bundle));
  }

  /** The active policy's revision; '' while no policy is active. */
  get revision(): string {
    return this.#active?.revision ?? '';
  }

  get active(): boolean {
    return this.#active !== undefined;
  }

  /** Prepares a bundle's policy off to the side (validated, entrypoint present), without swapping it in. */
  static async prepare(bundle: Uint8Array): Promise<PreparedPolicy> {
    return new PreparedPolicy(await prepareBytes(bundle));
  }

  /** Swaps a prepared policy in: a single reference assignment, so an evaluation sees one policy or the other. */
  activate(prepared: PreparedPolicy): string {
    this.#active = prepared.active;
    return prepared.active.revision;
  }

  /** Loads a new bundle and swaps it in; on any failure the current policy stays active. */
  async reload(bundlePath: string = DEFAULT_BUNDLE): Promise<string> {
    this.#active = await prepare(bundlePath);
    return this.#active.revision;
  }

  evaluate(input: PolicyInput): Evaluation {
    const started = process.hrtime.bigint();
    const active = this.#active;
    if (!active) {
      const message = 'no policy is active (no bundle was loaded yet): every request is refused';
      return {
        decision: { outcome: 'deny', reasons: [{ code: 'bundle_invalid', message, rule: 'engine' }], masks: [] },
        revision: '',
        evalNs: 0,
        error: { code: 'bundle_invalid', message },
      };
    }
    const finish = (decision: Decision, error?: Evaluation['error']): Evaluation => ({
      decision,
      revision: active.revision,
      evalNs: Number(process.hrtime.bigint() - started),
      ...(error && { error }),
    });
    const refuse = (code: EngineErrorCode, message: string) =>
      finish({ outcome: 'deny', reasons: [{ code, message, rule: 'engine' }], masks: [] }, { code, message });

    const invalid = inputErrors(input);
    if (invalid) return refuse('input_invalid', `policy input fails its schema: ${formatErrors(invalid)}`);
    let result: unknown;
    try {
      result = active.evaluate(inputDocument(input));
    } catch (thrown) {
      return refuse('evaluation_failed', `policy evaluation failed: ${describeThrown(thrown)}`);
    }
    const decision = inOpaOrder(Array.isArray(result) && result.length === 1 ? (result[0] as { result?: unknown }).result : undefined);
    if (decision === undefined) return refuse('decision_undefined', `the policy produced no decision at ${ENTRYPOINT}`);
    if (!checkedDecision(decision)) {
      return refuse('decision_invalid', `the policy's decision fails its schema: ${formatErrors(validateDecision.errors)}`);
    }
    return finish(decision);
  }

  /** Normalizes and evaluates; the input is returned for the audit trail (absent if normalizing failed). */
  decide(request: NormalizeRequest): Evaluation & { input?: PolicyInput } {
    const input = this.#normalized(request);
    return 'decision' in input ? input : { ...this.evaluate(input), input };
  }

  /**
   * Decides on one request under one estimate after another (the gateway's pre-check, then its
   * dry run's figures), normalizing it once, at the first decision: as `decide` with each estimate.
   */
  decider(request: NormalizeRequest): (estimate: Estimate) => Evaluation & { input?: PolicyInput } {
    let normalized: PolicyInput | Evaluation | undefined;
    return (estimate) => {
      normalized ??= this.#normalized({ ...request, estimate: undefined });
      if ('decision' in normalized) return normalized;
      const input = withEstimate(normalized, estimate);
      return { ...this.evaluate(input), input };
    };
  }

  #normalized(request: NormalizeRequest): PolicyInput | Evaluation {
    try {
      return normalize(request);
    } catch (thrown) {
      const message = `the request could not be normalized: ${describeThrown(thrown)}`;
      return {
        decision: { outcome: 'deny', reasons: [{ code: 'normalize_failed', message, rule: 'engine' }], masks: [] },
        revision: this.revision,
        evalNs: 0,
        error: { code: 'normalize_failed', message },
      };
    }
  }
}

/** A loaded, checked policy not yet active (see `Engine.prepare`). */
export class PreparedPolicy {
  /** @internal */
  readonly active: Active;
  constructor(active: Active) {
    this.active = active;
  }
  get revision(): string {
    return this.active.revision;
  }
}

async function prepare(bundlePath: string): Promise<Active> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(bundlePath);
  } catch (thrown) {
    throw new EngineError('bundle_invalid', `cannot read bundle ${bundlePath}: ${describeThrown(thrown)}. Run \`sluice build\` first.`);
  }
  return prepareBytes(bytes);
}

async function prepareBytes(bytes: Uint8Array): Promise<Active> {
  const bundle = await readBundle(bytes);
  let policy: LoadedPolicy;
  try {
    policy = await loadPolicy(bundle.wasm, { initial: 5, maximum: MAX_MEMORY_PAGES });
    // An ArrayBuffer of JSON is handed to the policy as is, skipping a parse + stringify.
    policy.setData(bundle.data.slice().buffer);
  } catch (thrown) {
    throw new EngineError('bundle_invalid', `policy.wasm does not load: ${describeThrown(thrown)}`);
  }
  const entrypoint = (policy.entrypoints as Record<string, number>)[ENTRYPOINT];
  if (entrypoint === undefined) {
    throw new EngineError('entrypoint_missing', `bundle has no entrypoint ${ENTRYPOINT} (has: ${Object.keys(policy.entrypoints).join(', ') || 'none'})`);
  }
  return { policy, entrypoint, evaluate: evaluator(policy, entrypoint), revision: bundle.revision };
}
