// The retry delay shared by the bundle poller and the decision-log shipper: exponential from
// min, capped at max, with jitter (half to all of it).

/** The delay after `failures` (1 or more) consecutive failures. */
export function backoffDelay(failures: number, minMs: number, maxMs: number, random: () => number): number {
  const base = Math.min(maxMs, minMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(base / 2 + (random() * base) / 2);
}
