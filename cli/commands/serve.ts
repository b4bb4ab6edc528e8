// sluice serve: runs the gateway from its configuration file until SIGINT/SIGTERM.
// SIGHUP reloads the policy bundle (recorded in the audit trail); SIGINT/SIGTERM drain in-flight
// requests and stop. `node gateway/main.ts --config …` runs the same function.
import type { Command } from 'commander';
import { ConfigError, loadConfigFile, type ResolvedConfig } from '../../gateway/config/load.ts';
import { createGateway, type Gateway } from '../../gateway/server.ts';
import { MCP_PATH } from '../../gateway/mcp/server.ts';
import { EXIT } from '../output.ts';

interface ServeOptions {
  config?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('Run the gateway from its configuration file (listen, enforce the policy, serve the REST and MCP doors).')
    .option('-c, --config <file>', 'the gateway configuration (YAML, schemas/gateway-config.schema.json) (env SLUICE_CONFIG)', process.env.SLUICE_CONFIG)
    .addHelpText(
      'after',
      `
Signals: SIGHUP reloads the policy bundle file, or polls the bundle server at once (the previous
policy stays active if the new one fails to load; either way an audit record says so).
SIGINT/SIGTERM stop accepting connections, drain in-flight requests and exit; a second one exits
at once.

Exit codes: 0 after a clean shutdown, 1 when the gateway cannot start (port in use, database
unreachable, bundle missing), 2 for bad usage or an invalid configuration.

Probes: GET /healthz (liveness), GET /readyz (readiness: policy loaded, upstreams reachable, audit
store writable), GET /metrics (Prometheus).`,
    )
    .action(async (opts: ServeOptions) => {
      process.exit(await serveGateway(opts.config, 'sluice serve'));
    });
}

/**
 * Runs the gateway configured by the file at `path` until it is told to stop; resolves with the
 * process's exit code (0 after a clean shutdown, 1 when it cannot start or stop, 2 for a missing
 * or invalid configuration). Problems are written to stderr prefixed with `label`.
 */
export async function serveGateway(path: string | undefined, label = 'sluice serve'): Promise<number> {
  const say = (line: string) => void process.stderr.write(`${label}: ${line}\n`);
  if (!path) {
    say('no configuration: pass --config <gateway.yaml> or set SLUICE_CONFIG');
    return EXIT.usage;
  }

  let config: ResolvedConfig;
  try {
    config = await loadConfigFile(path);
    checkHashKey(config, path);
  } catch (error) {
    say((error as Error).message);
    return error instanceof ConfigError ? EXIT.usage : EXIT.error;
  }

  let gateway: Gateway;
  try {
    gateway = await createGateway({ config });
  } catch (error) {
    say(`cannot start: ${(error as Error).message}`);
    return EXIT.error;
  }
  // A SIGHUP during start-up must not kill the process (its default action).
  process.on('SIGHUP', () => reloadPolicy(gateway, config));

  let url: string;
  try {
    url = await gateway.listen();
  } catch (error) {
    say(`cannot listen on ${config.listen.host}:${config.listen.port}: ${(error as Error).message}`);
    await gateway.close().catch(() => undefined);
    return EXIT.error;
  }
  const mcp = config.mcp ? `${config.publicUrl ?? url}${MCP_PATH}` : undefined;
  const revision = gateway.engine.active ? gateway.engine.revision : null;
  gateway.app.log.info({ url, public_url: config.publicUrl, mcp, policy_revision: revision }, 'sluice gateway listening');
  const policy = revision ? `policy ${revision}` : 'no policy active yet (not ready until the bundle server delivers one)';
  say(`listening on ${url}${config.publicUrl ? ` (public URL ${config.publicUrl})` : ''}, ${policy}${mcp ? `; MCP endpoint ${mcp}` : ''}`);

  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      // A second signal while draining ends the process at once.
      process.once('SIGINT', () => process.exit(EXIT.error));
      process.once('SIGTERM', () => process.exit(EXIT.error));
      say(`${signal}: draining and stopping`);
      gateway.close().then(
        () => {
          say('stopped');
          resolve(EXIT.ok);
        },
        (error: Error) => {
          say(`stopped with an error: ${error.message}`);
          resolve(EXIT.error);
        },
      );
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/** The `hash` strategy's key must be there at start; a missing one is a configuration problem. */
function checkHashKey(config: ResolvedConfig, path: string): void {
  const name = config.hashKeyEnv;
  if (!name) throw new ConfigError(`${path}: masking.hash_key_env is not set (the environment variable holding the hash strategy's secret)`);
  const value = process.env[name];
  if (!value) throw new ConfigError(`${path}: masking.hash_key_env names ${name}, which is not set`);
  if (Buffer.byteLength(value) < 16) throw new ConfigError(`${path}: ${name} (masking.hash_key_env) must hold at least 16 bytes`);
}

/**
 * Loads the bundle file again; the previous policy stays active if it fails. Either way the audit
 * trail says so. With a bundle server, polls it now instead: the poller verifies, activates and
 * records what it gets, as on its own schedule.
 */
function reloadPolicy(gateway: Gateway, config: ResolvedConfig): void {
  if (gateway.bundles) {
    gateway.bundles.poll().then(
      (activated) => {
        if (!activated) gateway.app.log.info({ policy_revision: gateway.engine.active ? gateway.engine.revision : null }, 'SIGHUP: the bundle server has no new bundle');
      },
      (error: Error) => gateway.app.log.error({ err: { message: error.message } }, 'SIGHUP: polling the bundle server failed'),
    );
    return;
  }
  const previous = gateway.engine.revision;
  const audited = (event: { ok: boolean; revision?: string; error?: string }) =>
    gateway.audit
      .record({ kind: 'config_reload', component: 'policy', source: config.bundle, previous_revision: previous, ...event })
      .catch((error: Error) => gateway.app.log.error({ err: { message: error.message } }, 'policy reload not recorded in the audit trail'));
  gateway.engine.reload(config.bundle).then(
    (revision) => {
      gateway.app.log.info({ policy_revision: revision, previous_revision: previous }, 'policy reloaded');
      return audited({ ok: true, revision });
    },
    (error: Error) => {
      gateway.app.log.error({ err: { message: error.message } }, 'policy reload failed; the previous policy stays active');
      return audited({ ok: false, revision: previous, error: error.message });
    },
  );
}
