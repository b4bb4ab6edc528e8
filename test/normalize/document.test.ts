// The rest of the policy input: clock, request context, estimate, grants, statement hash, and
// the cache that makes repeated SQL cheap.
import { describe, expect, it } from 'vitest';
import { clearNormalizeCache, normalize } from '../../engine/normalize.ts';
import { Doorkeeper, LruCache } from '../../engine/sql/cache.ts';
import type { Grant, TableSchemas } from '../../engine/schema-types.ts';
import { CUSTOMERS, ORDERS, PROJECT, identity, run, schemas, statement } from './support.ts';

describe('document', () => {
  it('carries identity, grants, the request context and the clock', () => {
    const grants: Grant[] = [{ id: 'g1', subject: identity.subject, scope: { kind: 'dataset', datasets: ['acme-analytics.crm'] }, expires_at: 1_900_000_000 }];
    const input = run('SELECT 1', {
      project: 'ACME-Analytics',
      defaultDataset: 'sales',
      route: 'jobs.query',
      connection: 'conn-1',
      dryRun: true,
      grants,
      now: new Date('2026-01-01T00:00:00.750Z'),
    });
    expect(input.identity).toBe(identity);
    expect(input.grants).toBe(grants);
    expect(input.request).toEqual({ project: 'acme-analytics', default_dataset: 'acme-analytics.sales', route: 'jobs.query', connection: 'conn-1', dry_run: true });
    expect(input.now).toEqual({ unix: 1767225600, rfc3339: '2026-01-01T00:00:00Z' });
    expect(input.estimate).toBeUndefined();
  });

  it('defaults: route cli, no grants, the current time', () => {
    const before = Math.floor(Date.now() / 1000);
    const input = run('SELECT 1');
    expect(input.request).toEqual({ project: PROJECT, route: 'cli' });
    expect(input.grants).toEqual([]);
    expect(input.now.unix).toBeGreaterThanOrEqual(before);
    expect(input.now.unix).toBeLessThanOrEqual(before + 5);
    expect(new Date(input.now.rfc3339).getTime() / 1000).toBe(input.now.unix);
  });

  it('hashes the statement as BigQuery reads it: layout between tokens folded', () => {
    const a = run('SELECT * FROM `acme-analytics.sales.INFORMATION_SCHEMA.COLUMNS`');
    // The same value the policy tests use for this text.
    expect(a.sql.hash).toBe('61f53f3eae6ca3fe7a09a77357c2ccde2cf9ecbe11b3a831ce9384d5974a55ab');
    const b = run('  SELECT *\n\tFROM   `acme-analytics.sales.INFORMATION_SCHEMA.COLUMNS`  \n');
    expect(b.sql.hash).toBe(a.sql.hash);
    expect(b.sql.text).toBe('  SELECT *\n\tFROM   `acme-analytics.sales.INFORMATION_SCHEMA.COLUMNS`  \n');
  });

  it('estimate: referenced tables no statement names are unparsed; wildcards cover their shards', () => {
    const input = run('SELECT o.total FROM sales.orders o JOIN `acme-analytics.web.events_*` e ON e.order_id = o.id', {
      estimate: {
        bytes: 1024,
        source: 'dry_run',
        referenced_tables: ['ACME-ANALYTICS.sales.orders', 'acme-analytics.web.events_20250101', 'acme-analytics.web.events_x.y', 'acme-analytics.crm.customers', 'acme-analytics.Sales.orders'],
      },
    });
    expect(input.estimate).toEqual({
      bytes: 1024,
      source: 'dry_run',
      // A project id ignores case; a dataset or table name does not (Sales.orders is another table).
      referenced_tables: [ORDERS, 'acme-analytics.web.events_20250101', 'acme-analytics.web.events_x.y', CUSTOMERS, 'acme-analytics.Sales.orders'],
      unparsed_tables: ['acme-analytics.web.events_x.y', CUSTOMERS, 'acme-analytics.Sales.orders'],
    });
  });

  it('estimate: tables named by unparsed statements count as seen', () => {
    const input = run('DECLARE x INT64 DEFAULT (SELECT COUNT(*) FROM sales.orders o JOIN crm.customers c ON c.id = o.customer_id)', {
      estimate: { bytes: 0, source: 'dry_run', referenced_tables: [ORDERS, CUSTOMERS] },
    });
    expect(input.estimate?.unparsed_tables).toEqual([]);
  });

  it('estimate without referenced tables is passed through', () => {
    const input = run('SELECT 1', { estimate: { bytes: 5, source: 'caller' } });
    expect(input.estimate).toEqual({ bytes: 5, source: 'caller' });
  });
});

describe('cache', () => {
  it('repeated SQL shares one frozen analysis', () => {
    clearNormalizeCache();
    const sql = 'SELECT email FROM crm.customers WHERE id = 1';
    run(sql); // a first sight is noted, not cached
    const first = run(sql);
    const second = run(sql, { now: new Date('2030-01-01T00:00:00Z') });
    expect(second.sql).toBe(first.sql);
    expect(second.now.unix).toBe(1893456000);
    expect(Object.isFrozen(first.sql.statements[0]!.outputs[0]!.sources)).toBe(true);
    expect(() => {
      (first.sql.statements[0]!.tables as unknown[]).push({});
    }).toThrow(TypeError);
  });

  it('the naming context and the schemas object are part of the key', () => {
    const sql = 'SELECT * FROM customers';
    const crm = statement(sql, { defaultDataset: 'crm' });
    const sales = statement(sql, { defaultDataset: 'sales' });
    expect(crm.tables[0]!.id).toBe(CUSTOMERS);
    expect(sales.tables[0]!.id).toBe('acme-analytics.sales.customers');

    const withSchemas = statement(sql, { defaultDataset: 'crm', schemas });
    expect(withSchemas.outputs).toHaveLength(6);
    const other: TableSchemas = { [CUSTOMERS]: [{ name: 'only', type: 'STRING' }] };
    expect(statement(sql, { defaultDataset: 'crm', schemas: other }).outputs.map((o) => o.name)).toEqual(['only']);
  });

  it('a cache hit builds a fresh document around the shared analysis', () => {
    const request = { identity, project: PROJECT, sql: 'SELECT 1' };
    normalize(request);
    const a = normalize(request);
    const b = normalize(request);
    expect(b).not.toBe(a);
    expect(b.request).not.toBe(a.request);
    expect(b.sql).toBe(a.sql);
  });
});

describe('Doorkeeper', () => {
  it('admits a key the second time it comes, and starts over when full', () => {
    const seen = new Doorkeeper(2);
    expect(seen.admit('a')).toBe(false);
    expect(seen.admit('a')).toBe(true);
    expect(seen.admit('a')).toBe(false); // admitted once; noted again
    expect(seen.admit('b')).toBe(false);
    expect(seen.admit('c')).toBe(false); // full: starts over, a and b forgotten
    expect(seen.admit('a')).toBe(false);
    expect(seen.admit('c')).toBe(true);
  });
});

describe('LruCache', () => {
  it('evicts the least recently used entry beyond its entry count', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBe(1);
    expect(cache.get('c')).toBe(3);
    expect(cache.size).toBe(2);
  });

  it('keeps an entry that is read between insertions, however many come', () => {
    const cache = new LruCache<string, number>(8);
    cache.set('hot', 0);
    for (let i = 0; i < 100; i++) {
      cache.set(`cold${i}`, i);
      expect(cache.get('hot')).toBe(0);
    }
    expect(cache.size).toBe(8);
    expect(cache.get('cold91')).toBeUndefined();
    expect(cache.get('cold99')).toBe(99);
  });

  it('evicts by weight and refuses entries heavier than the budget', () => {
    const cache = new LruCache<string, string>(100, 10);
    cache.set('a', 'x', 6);
    cache.set('b', 'y', 3);
    cache.set('c', 'z', 4); // 13 > 10: a goes
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([undefined, 'y', 'z']);
    cache.set('huge', 'w', 11);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.size).toBe(2);
    cache.set('b', 'y2', 1); // replacing an entry releases its old weight
    cache.set('d', 'v', 5);
    expect([cache.get('b'), cache.get('c'), cache.get('d')]).toEqual(['y2', 'z', 'v']);
  });
});
