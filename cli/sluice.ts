#!/usr/bin/env node
// sluice: build, evaluate and test BigQuery access policies; run the gateway.
import { Command, CommanderError } from 'commander';
import { EXIT, fail } from './output.ts';

const program = new Command('sluice')
  .description('Policy-as-code access gateway for AI agents that query Google BigQuery.')
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text) })
  .exitOverride();

// Each command module pulls in its own dependencies (the engine, the gateway libraries), so only
// the one being run is loaded; help and unknown commands load them all.
type Register = (program: Command) => void;
const commands: Record<string, () => Promise<Register>> = {
  build: async () => (await import('./commands/build.ts')).registerBuild,
  eval: async () => (await import('./commands/eval.ts')).registerEval,
  test: async () => (await import('./commands/test.ts')).registerTest,
  approvals: async () => (await import('./commands/approvals.ts')).registerApprovals,
  grants: async () => (await import('./commands/grants.ts')).registerGrants,
  audit: async () => (await import('./commands/audit.ts')).registerAudit,
  replay: async () => (await import('./commands/replay.ts')).registerReplay,
  shadow: async () => (await import('./commands/shadow.ts')).registerShadow,
  mcp: async () => (await import('./commands/mcp.ts')).registerMcp,
  catalog: async () => (await import('./commands/catalog.ts')).registerCatalog,
  principals: async () => (await import('./commands/principals.ts')).registerPrincipals,
  'access-review': async () => (await import('./commands/access-review.ts')).registerAccessReview,
  serve: async () => (await import('./commands/serve.ts')).registerServe,
  sql: async () => (await import('./commands/sql-corpus.ts')).registerSql,
};
const requested = process.argv.slice(2).find((arg) => !arg.startsWith('-'));
const load = requested && Object.hasOwn(commands, requested) ? [requested] : Object.keys(commands);
for (const register of await Promise.all(load.map((name) => commands[name]!()))) register(program);

program.addHelpText(
  'after',
  `
Exit codes:
  0  success (eval: allow or mask)      3  eval: deny; catalog diff: findings
  1  runtime error                      4  eval: approval required
  2  bad usage or unreadable input      5  test: a case failed
                                        6  test: a fixture file is invalid`,
);

try {
  await program.parseAsync();
} catch (thrown) {
  if (thrown instanceof CommanderError) {
    process.exitCode = thrown.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else {
    fail(thrown);
  }
}
