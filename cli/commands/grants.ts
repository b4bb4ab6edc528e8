import type { Command } from 'commander';
import { describeScope } from '../../gateway/webhook/payload.ts';
import { color, UsageError } from '../output.ts';
import { clientFor, table, talk, withGatewayOptions, type GatewayOptions } from './approvals.ts';

export function registerGrants(program: Command): void {
  const grants = program.command('grants').description('Just-in-time grants on a running gateway.');

  withGatewayOptions(grants.command('list').description('List grants you hold or may revoke.'))
    .option('--all', 'also grants that expired, were revoked or were used up')
    .action(async (opts: GatewayOptions & { all?: boolean }) => {
      const client = clientFor(opts);
      await talk(async () => {
        const list = await client.grants(opts.all ? 'all' : 'active');
        if (opts.json) return void process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        if (list.length === 0) return void process.stdout.write(color.dim(`no ${opts.all ? '' : 'active '}grants\n`));
        const rows = [['ID', 'STATUS', 'HOLDER', 'ACCESS', 'EXPIRES', 'REQUEST']];
        for (const g of list) rows.push([g.id, g.status, g.subject, describeScope(g), g.expiresAt, g.approvalId ?? '-']);
        process.stdout.write(table(rows));
      });
    });

  withGatewayOptions(grants.command('revoke').description('Revoke a grant; it stops working at once.').argument('<id>'))
    .option('-m, --comment <text>', 'why (recorded with the revocation)', '')
    .action(async (id: string, opts: GatewayOptions & { comment: string }) => {
      if (!id.trim()) throw new UsageError('a grant id is required');
      const client = clientFor(opts);
      await talk(async () => {
        const grant = await client.revoke(id, opts.comment);
        if (opts.json) return void process.stdout.write(JSON.stringify(grant, null, 2) + '\n');
        process.stdout.write(`${color.red('revoked')} ${grant.id} (held by ${grant.subject})\n`);
      });
    });
}
