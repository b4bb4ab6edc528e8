// Policy tags: a known schema's `policyTags` reach the policy on the statement's table refs
// (`policy_tags`: column path → tag names), for every tagged column of the table, so the policy
// can follow any lineage source to its tags.
import { describe, expect, it } from 'vitest';
import { normalize } from '../../engine/normalize.ts';
import type { TableSchemas } from '../../engine/schema-types.ts';
import { CUSTOMERS, ORDERS, identity, PROJECT, schemas as plainSchemas, statement } from './support.ts';

const TAG = (id: number) => `projects/${PROJECT}/locations/us/taxonomies/4011/policyTags/${id}`;

const tagged: TableSchemas = {
  ...plainSchemas,
  [CUSTOMERS]: [
    { name: 'id', type: 'INT64', mode: 'REQUIRED' },
    { name: 'Email', type: 'STRING', policyTags: { names: [TAG(1), TAG(1)] } },
    { name: 'ssn', type: 'STRING', policyTags: { names: [] } },
    {
      name: 'Address',
      type: 'RECORD',
      fields: [
        { name: 'Street', type: 'STRING', policyTags: { names: [TAG(2)] } },
        { name: 'city', type: 'STRING' },
      ],
    },
  ],
};

describe('policy tags on table refs', () => {
  it('every tagged column of a table the statement reads, by lower-cased dotted path, without duplicates', () => {
    const s = statement('SELECT c.id FROM crm.customers AS c', { schemas: tagged });
    expect(s.tables).toEqual([
      { id: CUSTOMERS, project: PROJECT, dataset: 'crm', table: 'customers', mode: 'read', policy_tags: { email: [TAG(1)], 'address.street': [TAG(2)] } },
    ]);
  });

  it('a table with a known schema and no tagged column carries none; one whose schema is unknown carries no policy_tags at all', () => {
    const s = statement('SELECT o.id, c.email FROM sales.orders AS o JOIN crm.customers AS c ON c.id = o.customer_id', { schemas: tagged });
    expect(s.tables.find((t) => t.id === ORDERS)?.policy_tags).toEqual({});
    expect(s.tables.find((t) => t.id === CUSTOMERS)?.policy_tags).toEqual({ email: [TAG(1)], 'address.street': [TAG(2)] });
    expect(statement('SELECT email FROM crm.customers').tables[0]).not.toHaveProperty('policy_tags');
  });

  it('lineage names the source column the tags are listed under (alias, CTE, TO_JSON_STRING)', () => {
    const s = statement('WITH x AS (SELECT email AS e FROM crm.customers) SELECT e AS contact FROM x', { schemas: tagged });
    expect(s.outputs[0]!.sources).toEqual([{ table: CUSTOMERS, column: 'email' }]);
    expect(s.tables[0]!.policy_tags).toHaveProperty('email');
    const row = statement('SELECT TO_JSON_STRING(c) AS j FROM crm.customers AS c', { schemas: tagged });
    expect(row.outputs[0]!.sources.map((c) => c.column).sort()).toEqual(['address', 'email', 'id', 'ssn']);
  });

  it('written and read refs of one table, and unparsed statements, carry the tags too', () => {
    const s = statement('INSERT INTO crm.customers (id) SELECT id FROM crm.customers', { schemas: tagged });
    expect(s.tables.map((t) => [t.mode, Object.keys(t.policy_tags ?? {})])).toEqual([
      ['write', ['email', 'address.street']],
      ['read', ['email', 'address.street']],
    ]);
    const unparsed = statement('SELECT FROM crm.customers WHERE', { schemas: tagged });
    expect(unparsed.parsed).toBe(false);
    expect(unparsed.tables[0]?.policy_tags).toEqual({ email: [TAG(1)], 'address.street': [TAG(2)] });
  });

  it('other schemas with other tags are another analysis (the cache keys on the schemas object)', () => {
    const sql = 'SELECT email FROM crm.customers';
    const first = normalize({ identity, project: PROJECT, sql, schemas: tagged });
    const retagged: TableSchemas = { ...tagged, [CUSTOMERS]: [{ name: 'email', type: 'STRING', policyTags: { names: [TAG(9)] } }] };
    const second = normalize({ identity, project: PROJECT, sql, schemas: retagged });
    expect(first.sql.statements[0]!.tables[0]!.policy_tags).toEqual({ email: [TAG(1)], 'address.street': [TAG(2)] });
    expect(second.sql.statements[0]!.tables[0]!.policy_tags).toEqual({ email: [TAG(9)] });
  });
});
