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
    .option('--signing-key <file>', 'sign the bundle (.signatures.json, as `opa build --signing-key`): PEM private key file, or an HMAC secret')
    .option('--signing-alg <alg>', 'JWS algorithm of the signature (RS256, ES256, PS256, HS256, ...)', 'RS256')
    .option('--signing-key-id <id>', 'the signature\'s keyid claim: the name of the verification key gateways check it with')
    .option('--scope <scope>', 'the signature\'s scope claim')
    .action(async (opts: { rego: string; out: string; force?: boolean; signingKey?: string; signingAlg: string; signingKeyId?: string; scope?: string }) => {
      if (!opts.signingKey && (opts.signingKeyId || opts.scope)) throw new Error('--signing-key-id and --scope need --signing-key');
      const result = await buildBundle({
        regoDir: opts.rego,
        out: opts.out,
        force: opts.force,
        ...(opts.signingKey && {
          signing: { key: opts.signingKey, algorithm: opts.signingAlg, ...(opts.signingKeyId && { keyId: opts.signingKeyId }), ...(opts.scope && { scope: opts.scope }) },
        }),
      });
      const verb = result.built ? color.green('built') : color.dim('up to date');
      const signed = opts.signingKey ? `, signed ${opts.signingAlg}${opts.signingKeyId ? ` key ${opts.signingKeyId}` : ''}` : '';
      process.stdout.write(`${verb} ${result.path} (revision ${result.revision}${signed})\n`);
    });
}
