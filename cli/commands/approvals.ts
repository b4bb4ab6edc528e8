import type { Command } from 'commander';
import { ApprovalsClient, ApprovalsClientError, type ApprovalRequestView, type VoteChoice } from '../../gateway/approvals/index.ts';
import { visibleName, visibleParameters, visibleText } from '../../gateway/approvals/display.ts';
import { describeScope, formatBytes } from '../../gateway/webhook/payload.ts';
import { color, EXIT, UsageError } from '../output.ts';

export interface GatewayOptions {
  gateway?: string;
  token?: string;
  json?: boolean;
}

/** Options every command talking to the gateway's approvals API takes. */
export function withGatewayOptions(command: Command): Command {
  return command
    .option('--gateway <url>', 'gateway base URL (env SLUICE_GATEWAY)', process.env.SLUICE_GATEWAY)
    .option('--token <token>', 'bearer OIDC access token (env SLUICE_TOKEN)')
    .option('--json', 'print JSON');
}

export function clientFor(options: GatewayOptions): ApprovalsClient {
  const gateway = options.gateway ?? process.env.SLUICE_GATEWAY;
  const token = options.token ?? process.env.SLUICE_TOKEN;
  if (!gateway) throw new UsageError('no gateway: pass --gateway URL or set SLUICE_GATEWAY');
  if (!token) throw new UsageError('no token: pass --token or set SLUICE_TOKEN to an access token of your identity provider');
  try {
    new URL(gateway);
  } catch {
    throw new UsageError(`--gateway ${gateway} is not a URL`);
  }
  return new ApprovalsClient({ gateway, token });
}

/** Runs a call, turning the gateway's refusals into a one-line message and exit 1. */
export async function talk(action: () => Promise<void>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof ApprovalsClientError) {
      process.stderr.write(`sluice: ${error.message} (HTTP ${error.status}, ${error.code})\n`);
      process.exitCode = EXIT.error;
      return;
    }
    if (error instanceof TypeError && error.message === 'fetch failed') {
      process.stderr.write(`sluice: the gateway could not be reached${error.cause instanceof Error ? `: ${error.cause.message}` : ''}\n`);
      process.exitCode = EXIT.error;
      return;
    }
    throw error;
  }
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

function statusColor(status: string): string {
  return status === 'approved' || status === 'active' ? color.green(status) : status === 'pending' ? color.yellow(status) : color.red(status);
}

function renderRequest(r: ApprovalRequestView): string {
  const lines = [
    `${color.bold(r.id)}  ${statusColor(r.status)}`,
    `requested by  ${visibleName(r.requester.subject)} (${r.requester.kind}, groups: ${r.requester.groups.map(visibleName).join(', ') || 'none'})`,
    `tables        ${r.tables.join(', ') || '-'}`,
    `estimate      ${formatBytes(r.estimatedBytes)}`,
    `access        ${describeScope(r)} for ${r.grantTtlSeconds} s`,
    `approvers     ${r.minApprovals} of ${r.approverGroups.join(', ')}`,
    `created       ${r.createdAt}`,
    `decide by     ${r.expiresAt}`,
    ...(r.grantId ? [`grant         ${r.grantId}`] : []),
    `page          ${r.approveUrl}`,
    '',
    'reasons:',
    ...r.reasons.filter((x) => x.code !== 'grant_used').map((x) => `  - ${x.code}: ${x.message}`),
    '',
    'sql:',
    ...visibleText(r.sql.text).split('\n').map((l) => `  ${l}`),
    ...(r.sql.parameters !== undefined ? ['', 'query parameters (bound to the statement):', ...visibleParameters(r.sql.parameters).split('\n').map((l) => `  ${l}`)] : []),
  ];
  if (r.votes.length) {
    lines.push('', 'votes:', ...r.votes.map((v) => `  ${v.at}  ${visibleName(v.approver.subject)}  ${v.vote}  ${visibleName(v.comment)}`));
  }
  return lines.join('\n') + '\n';
}

const STATUSES = ['pending', 'approved', 'rejected', 'expired', 'withdrawn', 'all'];

export interface ListingOptions {
  dataset?: string;
  requester?: string;
  pageToken?: string;
  maxResults?: string;
}

/** Filters and paging every listing command takes. */
export function withListingOptions(command: Command, who: string): Command {
  return command
    .option('--dataset <project.dataset>', 'only those about this dataset')
    .option('--requester <subject>', `only those of this ${who}`)
    .option('--page-token <token>', 'continue a listing (the token a previous page printed)')
    .option('--max-results <n>', 'page size (1-500, default 50)');
}

export function listingQuery(opts: ListingOptions): { dataset?: string; requester?: string; pageToken?: string; maxResults?: number } {
  const maxResults = opts.maxResults === undefined ? undefined : Number(opts.maxResults);
  if (maxResults !== undefined && (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 500)) throw new UsageError('--max-results must be a whole number from 1 to 500');
  return { ...(opts.dataset && { dataset: opts.dataset }), ...(opts.requester && { requester: opts.requester }), ...(opts.pageToken && { pageToken: opts.pageToken }), ...(maxResults && { maxResults }) };
}

/** The counts per status and, when there is more, how to get it. */
export function listingFooter(counts: Record<string, number>, nextPageToken: string | undefined): string {
  const summary = Object.entries(counts).map(([status, n]) => `${status} ${n}`).join(', ');
  return color.dim(`${summary}${nextPageToken ? `\nmore: --page-token ${nextPageToken}` : ''}\n`);
}

export function registerApprovals(program: Command): void {
  const approvals = program.command('approvals').description('Just-in-time approval requests on a running gateway.');

  withListingOptions(withGatewayOptions(approvals.command('list').description('List approval requests you raised or may decide on.')), 'requester')
    .option('--status <status>', `${STATUSES.join(' | ')}`, 'pending')
    .action(async (opts: GatewayOptions & ListingOptions & { status: string }) => {
      if (!STATUSES.includes(opts.status)) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
      const query = listingQuery(opts);
      const client = clientFor(opts);
      await talk(async () => {
        const page = await client.listPage({ status: opts.status as 'pending', ...query });
        const requests = page.requests;
        if (opts.json) return void process.stdout.write(JSON.stringify(requests, null, 2) + '\n');
        if (requests.length === 0) {
          process.stdout.write(color.dim(`no ${opts.status === 'all' ? '' : `${opts.status} `}approval requests\n`));
        } else {
          const rows = [['ID', 'STATUS', 'REQUESTER', 'TABLES', 'ESTIMATE', 'DECIDE BY']];
          for (const r of requests) rows.push([r.id, r.status, visibleName(r.requester.subject), r.tables.join(',') || '-', formatBytes(r.estimatedBytes), r.expiresAt]);
          process.stdout.write(table(rows) + listingFooter(page.counts, page.nextPageToken));
        }
      });
    });

  withGatewayOptions(approvals.command('show').description('Show one approval request.').argument('<id>'))
    .action(async (id: string, opts: GatewayOptions) => {
      const client = clientFor(opts);
      await talk(async () => {
        const detail = await client.show(id);
        if (opts.json) return void process.stdout.write(JSON.stringify(detail, null, 2) + '\n');
        process.stdout.write(renderRequest(detail.request));
        if (detail.preview) process.stdout.write(`\nif approved, the policy would answer: ${detail.preview.outcome}\n`);
      });
    });

  for (const vote of ['approve', 'reject'] as const satisfies VoteChoice[]) {
    withGatewayOptions(approvals.command(vote).description(`${vote === 'approve' ? 'Approve' : 'Reject'} an approval request.`).argument('<id>'))
      .requiredOption('-m, --comment <text>', 'why (recorded with your vote)')
      .action(async (id: string, opts: GatewayOptions & { comment: string }) => {
        const client = clientFor(opts);
        await talk(async () => {
          const result = await client.vote(id, vote, opts.comment);
          if (opts.json) return void process.stdout.write(JSON.stringify(result, null, 2) + '\n');
          const r = result.request;
          if (result.grant) {
            process.stdout.write(`${color.green('approved')} ${r.id}: grant ${result.grant.id} for ${visibleName(result.grant.subject)} until ${result.grant.expiresAt}\n`);
          } else if (r.status === 'rejected') {
            process.stdout.write(`${color.red('rejected')} ${r.id}\n`);
          } else {
            const approvals = r.votes.filter((v) => v.vote === 'approve').length;
            process.stdout.write(`${color.yellow('recorded')} ${r.id}: ${approvals} of ${r.minApprovals} approvals\n`);
          }
        });
      });
  }
}
