// Runs the gateway from a configuration file: `node gateway/main.ts --config gateway.yaml`, the
// same as `sluice serve --config gateway.yaml` (cli/commands/serve.ts holds the one implementation).
// SIGHUP reloads the policy bundle; SIGINT/SIGTERM drain and stop.
import { parseArgs } from 'node:util';
import { serveGateway } from '../cli/commands/serve.ts';

let config: string | undefined;
try {
  ({ values: { config } } = parseArgs({ options: { config: { type: 'string', short: 'c' } } }));
} catch (error) {
  console.error(`sluice gateway: ${(error as Error).message}\nusage: node gateway/main.ts --config <gateway.yaml>   (or SLUICE_CONFIG)`);
  process.exit(2);
}
process.exit(await serveGateway(config ?? process.env.SLUICE_CONFIG, 'sluice gateway'));
