import type { Command } from 'commander';
import { buildBundle, DEFAULT_BUNDLE } from '../../engine/index.ts';
import { color } from '../output.ts';

export function registerBuild(program: Command): void {
  program
    .command('build')
    .description('Type-check rego/ (opa check --strict) and compile it to a WebAssembly bundle, when its sources changed.')
    .option('--rego <dir>', 'policy directory', 'rego')
    .option('-o, --out <file>', 'bundle to write', DEFAULT_BUNDLE)
    .option('-f, --force', 'build even when the sources did not change')
    .action(async (opts: { rego: string; out: string; force?: boolean }) => {
      const result = await buildBundle({ regoDir: opts.rego, out: opts.out, force: opts.force });
      const verb = result.built ? color.green('built') : color.dim('up to date');
      process.stdout.write(`${verb} ${result.path} (revision ${result.revision})\n`);
    });
}
