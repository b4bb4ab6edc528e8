import { Option, type Command } from 'commander';
import type { TestOptions } from '../testing/command.ts';

export function registerTest(program: Command): void {
  program
    .command('test')
    .description('Run fixture suites (*_test.yaml) through the normalizer and the compiled policy, and compare decisions.')
    .argument('[paths...]', 'fixture files or directories to search for *_test.yaml', ['fixtures'])
    .option('--bundle <file>', 'test this compiled bundle instead of building --rego')
    .option('--rego <dir>', 'policy directory: built when its sources changed; its README lists the reason codes', 'rego')
    .option(
      '--filter <pattern>',
      'only cases whose suite, case, identity or request name contains this (or matches it as a glob with * and ?); repeatable',
      collect,
    )
    .addOption(new Option('--reporter <name>', 'report format').choices(['pretty', 'json', 'junit']).default('pretty'))
    .option('-o, --output <file>', 'write the report to this file (the terminal still gets the readable one)')
    .option('--bail', 'stop at the first failing case')
    .option('--watch', 'run again when the policy, its data or the fixtures change')
    .option('--coverage', 'also run `opa test --coverage` and list the policy lines its Rego tests never execute')
    .option('-q, --quiet', 'list only failing cases')
    .addHelpText(
      'after',
      `
Exit codes:
  0  every case passed
  5  some case failed
  6  some fixture file does not load or fails fixture.schema.json (file:line:column: what is wrong)`,
    )
    .action(async (paths: string[], opts: TestOptions) => {
      // Loaded on use: the other commands do not pay for the fixture runner.
      const { testCommand } = await import('../testing/command.ts');
      await testCommand(paths, opts);
    });
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
