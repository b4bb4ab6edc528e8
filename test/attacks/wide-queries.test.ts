// The gateway decides on its one event loop, so a decision that takes long holds every caller.
// Any caller may send a wide query: a select list of thousands of masked columns, or of columns
// computed from sensitive ones (each a deny reason). The policy once sorted its reasons and
// masks, and joined its deny reasons as a set of sets, which in WASM cost the square of their
// number: 4,000 masked columns took about half a minute, 10,000 more than a minute. Now the
// policy's time grows with the query's size. The bounds leave room for a loaded machine; the
// old cost was far beyond them.
import { beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, Engine } from '../../engine/index.ts';

const identity = { subject: 'reporting-agent', issuer: 'https://idp.local', kind: 'agent' as const, groups: ['agents'], claims: {} };
const columns = (n: number, column: (i: number) => string) => Array.from({ length: n }, (_, i) => column(i)).join(', ');

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load((await buildBundle()).path);
}, 120_000);

function decideTimed(sql: string) {
  const started = performance.now();
  const evaluation = engine.decide({ identity, sql, project: 'acme-analytics', estimate: { bytes: 5_000_000, source: 'dry_run' }, now: new Date() });
  return { ...evaluation, ms: performance.now() - started };
}

describe('a wide query', () => {
  it('of 4,000 masked columns is masked column by column within seconds', () => {
    const { decision, ms } = decideTimed(`SELECT ${columns(4000, (i) => `ssn AS s${i}`)} FROM crm.customers`);
    expect(decision.outcome).toBe('mask');
    expect(decision.masks).toHaveLength(4000);
    expect(ms).toBeLessThan(5000);
  }, 30_000);

  it('of 4,000 columns computed from sensitive ones is denied, each named, within seconds', () => {
    const { decision, ms } = decideTimed(`SELECT ${columns(4000, (i) => `CONCAT(ssn, email) AS s${i}`)} FROM crm.customers`);
    expect(decision.outcome).toBe('deny');
    // One reason per output and sensitive source column.
    expect(decision.reasons.filter((r) => r.code === 'sensitive_computation')).toHaveLength(8000);
    expect(ms).toBeLessThan(5000);
  }, 60_000);
});
