// The upstream connections of a gateway: one per served project, each with its pooled BigQuery
// client and its credential provider.
import type { ConnectionConfig } from './config/load.ts';
import { accessDenied } from './bigquery/errors.ts';
import { BigQueryUpstream } from './upstream/bigquery.ts';
import { FaultBackoff } from './upstream/fault-backoff.ts';
import type { CredentialProviderFactory, UpstreamCredentials } from './upstream/credentials.ts';

export interface Connection {
  readonly name: string;
  readonly project: string;
  readonly upstream: BigQueryUpstream;
  readonly credentials: UpstreamCredentials;
  /** The upstream names the tables of every dry run; one that names none is refused (config `require_referenced_tables`). */
  readonly requireReferencedTables: boolean;
  /** How jobs.query is held to the byte thresholds: under a cap BigQuery enforces, or by a dry run first (config `estimate_mode`). */
  readonly estimateMode: 'cap' | 'dry_run';
  /** How a query needing approval waits when the policy does not say (config `approval_hold`). */
  readonly approvalHold: 'job' | 'refuse';
  /** Callers whose last upstream answer could not be used wait a while before the next call. */
  readonly faults: FaultBackoff;
}

export class Connections {
  readonly #byProject = new Map<string, Connection>();

  constructor(configs: ConnectionConfig[], credentials: CredentialProviderFactory, options: { timeoutMs?: number } = {}) {
    for (const config of configs) {
      this.#byProject.set(config.project.toLowerCase(), {
        name: config.name,
        project: config.project,
        upstream: new BigQueryUpstream(config.upstream, { timeoutMs: config.timeout_ms ?? options.timeoutMs }),
        credentials: credentials(config),
        requireReferencedTables: config.require_referenced_tables !== false,
        estimateMode: config.estimate_mode ?? 'dry_run',
        approvalHold: config.approval_hold ?? 'job',
        faults: new FaultBackoff(config.name, config.fault_backoff_seconds ?? 5),
      });
    }
  }

  /** The connection running jobs of `project`; refused when the gateway serves no such project. */
  forProject(project: string): Connection {
    const connection = this.#byProject.get(project.toLowerCase());
    if (!connection) throw accessDenied(`Access Denied: Project ${project}: this gateway does not serve this project.`);
    return connection;
  }

  all(): Connection[] {
    return [...this.#byProject.values()];
  }

  close(): void {
    for (const c of this.#byProject.values()) c.upstream.close();
  }
}
