// `sluice principals list` and `sluice principals show`: the principal inventory, read from the
// gateway's store (folded from its audit trail first, so it is current).
import type { Command } from 'commander';
import { getPrincipal, listPrincipals, type PrincipalSummary } from '../../gateway/principals/index.ts';
import { columns, storageOption, withStorage } from './audit.ts';
import { color, EXIT, UsageError } from '../output.ts';

export function registerInventoryCommands(group: Command): void {
  group
    .command('list')
    .description('Every identity the gateway has served, from its audit trail: kind, groups last presented, first and last seen, calls by outcome, disabled state.')
    .addOption(storageOption())
    .option('--limit <n>', 'at most this many principals (default: all)', (v) => positive(v, '--limit'))
    .option('--json', 'print the principals as a JSON array')
    .addHelpText('after', '\nExit codes:\n  0  listed (possibly none)\n  1  the store could not be read\n  2  bad usage, or no store')
    .action(async (opts: { storage: string; limit?: number; json?: boolean }) => {
      const principals = await withStorage(opts.storage, async (database) => {
        const all: PrincipalSummary[] = [];
        let pageToken: string | undefined;
        do {
          const page = await listPrincipals(database.db, { limit: 500, ...(pageToken && { pageToken }) });
          all.push(...page.principals);
          pageToken = page.nextPageToken;
        } while (pageToken && (opts.limit === undefined || all.length < opts.limit));
        return opts.limit === undefined ? all : all.slice(0, opts.limit);
      });
      if (opts.json) {
        process.stdout.write(JSON.stringify(principals, null, 2) + '\n');
        return;
      }
      if (!principals.length) {
        process.stdout.write('no principals in the audit trail\n');
        return;
      }
      const header = ['ISSUER', 'SUBJECT', 'KIND', 'GROUPS', 'FIRST SEEN', 'LAST SEEN', 'ALLOW', 'MASK', 'APPROVE', 'DENY', 'REFUSED', 'OTHER', 'STATUS'];
      const rows = principals.map((p) => [
        p.issuer,
        p.subject,
        p.kind ?? '-',
        p.groups.join(',') || '-',
        p.firstSeen,
        p.lastSeen,
        ...(['allow', 'mask', 'approve', 'deny', 'refused', 'other'] as const).map((o) => String(p.requests[o])),
        p.status.disabled ? color.red('disabled') : 'enabled',
      ]);
      process.stdout.write(columns([header, ...rows]) + '\n');
    });

  group
    .command('show')
    .description('One principal: what `list` shows, plus the datasets its allowed and masked queries read and its active grants.')
    .argument('<issuer>', 'the token issuer (iss)')
    .argument('<subject>', 'the token subject (sub)')
    .addOption(storageOption())
    .option('--json', 'print the principal as JSON')
    .addHelpText('after', '\nExit codes:\n  0  shown\n  1  the audit trail has seen no such principal, or the store could not be read\n  2  bad usage, or no store')
    .action(async (issuer: string, subject: string, opts: { storage: string; json?: boolean }) => {
      const principal = await withStorage(opts.storage, (database) => getPrincipal(database.db, issuer, subject));
      if (!principal) {
        process.stderr.write(`sluice: the audit trail has seen no principal ${subject} of ${issuer}\n`);
        process.exitCode = EXIT.error;
        return;
      }
      if (opts.json) {
        process.stdout.write(JSON.stringify(principal, null, 2) + '\n');
        return;
      }
      const p = principal;
      const r = p.requests;
      const lines = [
        `${color.bold(p.subject)}  ${p.status.disabled ? color.red('disabled') : color.green('enabled')}${p.status.disabled && p.status.reason ? ` (${p.status.reason}, by ${p.status.signal ?? '-'} at ${p.status.changedAt ?? '-'})` : ''}`,
        `issuer      ${p.issuer}`,
        `kind        ${p.kind ?? '-'}`,
        `groups      ${p.groups.join(', ') || 'none'}`,
        `first seen  ${p.firstSeen}`,
        `last seen   ${p.lastSeen}`,
        `requests    ${r.total}: ${r.allow} allow, ${r.mask} mask, ${r.approve} approve, ${r.deny} deny, ${r.refused} refused, ${r.other} other`,
        '',
        'datasets read:',
        ...(p.datasets.length ? p.datasets.map((d) => `  ${d.dataset}  ${d.requests} request(s), last ${d.lastSeen}`) : ['  none']),
        '',
        'active grants:',
        ...(p.activeGrants.length
          ? p.activeGrants.map((g) => `  ${g.id}  ${g.scope.kind} ${[...(g.scope.datasets ?? []), ...(g.scope.tables ?? []), g.scope.statement_hash ?? ''].filter(Boolean).join(', ')}${g.oneTime ? ' (one-time)' : ''}, until ${g.expiresAt}`)
          : ['  none']),
      ];
      process.stdout.write(lines.join('\n') + '\n');
    });
}

function positive(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} must be a positive integer, got ${value}`);
  return n;
}
