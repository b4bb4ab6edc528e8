// Builds the policy input document (schemas/input.schema.json) from an identity and a SQL text.
import type { Estimate, Grant, Identity, PolicyInput, RequestContext, TableSchemas } from './schema-types.ts';

export interface NormalizeRequest {
  identity: Identity;
  sql: string;
  /** Project the job runs in; qualifies `dataset.table`. */
  project: string;
  /** `dataset` or `project.dataset`; qualifies bare `table`. */
  defaultDataset?: string;
  route?: RequestContext['route'];
  connection?: string;
  dryRun?: boolean;
  estimate?: Estimate;
  grants?: Grant[];
  /** Known table schemas, so `SELECT *` expands to real columns. */
  schemas?: TableSchemas;
  now?: Date;
}

export function normalize(req: NormalizeRequest): PolicyInput {
  throw new Error('not implemented');
}
