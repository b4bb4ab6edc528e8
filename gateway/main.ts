// Runs the gateway from a configuration file: `node gateway/main.ts --config gateway.yaml`.
// SIGHUP reloads the policy bundle; SIGINT/SIGTERM drain and stop.
import { parseArgs } from 'node:util';
import { loadConfigFile } from './config/load.ts';
import { createGateway } from './server.ts';

const { values } = parseArgs({ options: { config: { type: 'string', short: 'c' } } });
const path = values.config ?? process.env.SLUICE_CONFIG;
if (!path) {
  console.error('usage: node gateway/main.ts --config <gateway.yaml>   (or SLUICE_CONFIG)');
  process.exit(2);
}

try {
  const config = await loadConfigFile(path);
  const gateway = await createGateway({ config });
  const url = await gateway.listen();
  gateway.app.log.info({ url, policy_revision: gateway.engine.revision }, 'sluice gateway listening');

  process.on('SIGHUP', () => {
    const previous = gateway.engine.revision;
    const audited = (event: { ok: boolean; revision?: string; error?: string }) =>
      gateway.audit
        .record({ kind: 'config_reload', component: 'policy', source: config.bundle, previous_revision: previous, ...event })
        .catch((error: Error) => gateway.app.log.error({ err: { message: error.message } }, 'policy reload not recorded in the audit trail'));
    gateway.engine.reload(config.bundle).then(
      (revision) => {
        gateway.app.log.info({ policy_revision: revision }, 'policy reloaded');
        return audited({ ok: true, revision });
      },
      (error: Error) => {
        gateway.app.log.error({ err: { message: error.message } }, 'policy reload failed; the previous policy stays active');
        return audited({ ok: false, revision: previous, error: error.message });
      },
    );
  });
  const stop = () => {
    gateway.close().then(() => process.exit(0), () => process.exit(1));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  console.error(`sluice gateway: ${(error as Error).message}`);
  process.exit(1);
}
