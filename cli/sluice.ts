#!/usr/bin/env node
// sluice: build, evaluate and test BigQuery access policies; run the gateway.
import { Command, CommanderError } from 'commander';
import { registerApprovals } from './commands/approvals.ts';
import { registerBuild } from './commands/build.ts';
import { registerEval } from './commands/eval.ts';
import { registerGrants } from './commands/grants.ts';
import { registerTest } from './commands/test.ts';
import { registerAudit } from './commands/audit.ts';
import { registerReplay } from './commands/replay.ts';
import { registerShadow } from './commands/shadow.ts';
import { EXIT, fail } from './output.ts';

const program = new Command('sluice')
  .description('Policy-as-code access gateway for AI agents that query Google BigQuery.')
  .version(process.env.npm_package_version ?? '0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .configureOutput({ outputError: (text, write) => write(text) })
  .exitOverride();

registerBuild(program);
registerEval(program);
registerApprovals(program);
registerGrants(program);
registerTest(program);
registerAudit(program);
registerReplay(program);
registerShadow(program);

program.addHelpText(
  'after',
  `
Exit codes:
  0  success (eval: allow or mask)      3  eval: deny
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
