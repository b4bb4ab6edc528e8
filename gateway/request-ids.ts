// A caller may name its request (X-Request-Id) to find the request's audit records by it. An id
// already recorded, or held by a request in flight on this replica, does not name a second
// request: that one gets an id of the gateway's (answered in X-Request-Id). Records of two
// requests under one id would read as one request: an upstream call left unanswered would look
// answered by the other's record, and one caller could write records among another's.
import type { Kysely } from 'kysely';
import type { Tables } from './store/tables.ts';

export class RequestIds {
  readonly #db: Kysely<Tables>;
  readonly #inFlight = new Set<string>();

  constructor(db: Kysely<Tables>) {
    this.#db = db;
  }

  /**
   * Whether `id` may name a new request: held by none in flight here and recorded by none. It is
   * then held until `release`. When the audit store cannot tell, it may not.
   */
  async claim(id: string): Promise<boolean> {
    if (this.#inFlight.has(id)) return false;
    this.#inFlight.add(id);
    try {
      const recorded = await this.#db.selectFrom('audit_records').select('request_id').where('request_id', '=', id).limit(1).executeTakeFirst();
      if (recorded === undefined) return true;
    } catch {
      /* unknown: not taken */
    }
    this.#inFlight.delete(id);
    return false;
  }

  release(id: string): void {
    this.#inFlight.delete(id);
  }
}
