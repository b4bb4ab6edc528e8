// Table schemas the normalizer needs to expand `SELECT *`, fetched upstream with tables.get and
// kept briefly. Missing or invisible tables are simply absent: the policy judges unknown tables.
// What tables.get shows depends on who asks (under workload identity each caller reaches BigQuery
// as itself), so a schema is kept for the credential that read it and served to that one only.
import { createHash } from 'node:crypto';
import type { TableSchemas } from '../../engine/schema-types.ts';
import type { BigQueryUpstream, Headers } from './bigquery.ts';
import { TtlCache } from './ttl-cache.ts';

type Fields = TableSchemas[string];

export class SchemaCache {
  readonly #cache: TtlCache<Fields | null>;
  /**
   * The same tables with the same cached schemas give the very same object: the normalizer caches
   * its SQL analysis by the identity of the schemas it was given.
   */
  readonly #sets = new Map<string, TableSchemas>();
  readonly #ids = new WeakMap<Fields, number>();
  #nextId = 1;

  constructor(ttlSeconds: number) {
    this.#cache = new TtlCache(ttlSeconds);
  }

  /** Schemas of `tableIds` (`project.dataset.table`, as the normalizer names them: the project lower-cased). */
  async fetch(connection: string, upstream: BigQueryUpstream, tableIds: Iterable<string>, headers: Headers): Promise<TableSchemas> {
    const ids = [...new Set(tableIds)].filter((id) => id.split('.').length === 3 && !id.endsWith('*'));
    const reader = credentialKey(headers);
    const found = await Promise.all(
      ids.map(async (id) => {
        const [project, dataset, table] = id.split('.') as [string, string, string];
        const { value } = await this.#cache.get(`${connection}\u0000${reader}\u0000${id}`, async () => {
          const meta = await upstream.tableSchema(project, dataset, table, headers);
          return meta ? meta.schema.fields : null;
        });
        return [id, value] as const;
      }),
    );
    const present = found.filter((entry): entry is readonly [string, Fields] => entry[1] !== null).sort(([a], [b]) => (a < b ? -1 : 1));
    const key = present.map(([id, fields]) => `${id}#${this.#idOf(fields)}`).join('|');
    let schemas = this.#sets.get(key);
    if (!schemas) {
      schemas = Object.freeze(Object.fromEntries(present)) as TableSchemas;
      if (this.#sets.size >= 1024) this.#sets.delete(this.#sets.keys().next().value!);
      this.#sets.set(key, schemas);
    }
    return schemas;
  }

  #idOf(fields: Fields): number {
    let id = this.#ids.get(fields);
    if (id === undefined) this.#ids.set(fields, (id = this.#nextId++));
    return id;
  }
}

/** Who reads upstream: a digest of the credential headers (callers sharing one credential share it). */
function credentialKey(headers: Headers): string {
  const entries = Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]).sort(([a], [b]) => (a! < b! ? -1 : 1));
  return createHash('sha256').update(JSON.stringify(entries)).digest('base64url');
}
