import type { Command } from 'commander';
import { describeScope } from '../../gateway/webhook/payload.ts';
import { visibleName } from '../../gateway/approvals/display.ts';
import { color, UsageError } from '../output.ts';
import { clientFor, listingFooter, listingQuery, table, talk, withGatewayOptions, withListingOptions, type GatewayOptions, type ListingOptions } from './approvals.ts';

export function registerGrants(program: Command): void {
  const grants = program.command('grants').description('Just-in-time grants on a running gateway.');

  withListingOptions(withGatewayOptions(grants.command('list').description('List grants you hold or may revoke.')), 'holder')
    .option('--all', 'also grants that expired, were revoked or were used up')
    .action(async (opts: GatewayOptions & ListingOptions & { all?: boolean }) => {
      const query = listingQuery(opts);
      const client = clientFor(opts);
      await talk(async () => {
        const page = await client.grantsPage({ status: opts.all ? 'all' : 'active', ...query });
        const list = page.grants;
        if (opts.json) return void process.stdout.write(JSON.stringify(list, null, 2) + '\n');
        if (list.length === 0) {
          process.stdout.write(color.dim(`no ${opts.all ? '' : 'active '}grants\n`));
        } else {
          const rows = [['ID', 'STATUS', 'HOLDER', 'ACCESS', 'EXPIRES', 'REQUEST']];
          for (const g of list) rows.push([g.id, g.status, visibleName(g.subject), describeScope(g), g.expiresAt, g.approvalId ?? '-']);
          process.stdout.write(table(rows) + listingFooter(page.counts, page.nextPageToken));
        }
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
        process.stdout.write(`${color.red('revoked')} ${grant.id} (held by ${visibleName(grant.subject)})\n`);
      });
    });
}
