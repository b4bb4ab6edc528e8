// Slack-compatible messages (`text` + Block Kit `blocks`) for approval events: an incoming-webhook
// URL of Slack, Mattermost or a chat bridge can be the target as is. `text` is the fallback for
// notifications; every string stays within Block Kit's limits. A chat channel is a recording
// outside the gateway, so the statement goes there with its literal values and comments replaced
// by `?`, as in the audit trail; the approver page shows it whole, to approvers only.
import type { ApprovalEvent, ApprovalSummary } from '../approvals/types.ts';
import { visibleName, visibleText } from '../approvals/display.ts';
import { redactSqlLiterals } from '../audit/sql-literals.ts';

export interface SlackMessage {
  text: string;
  blocks: Block[];
}

type Text = { type: 'mrkdwn' | 'plain_text'; text: string };
type Block =
  | { type: 'header'; text: Text }
  | { type: 'section'; text?: Text; fields?: Text[] }
  | { type: 'context'; elements: Text[] }
  | { type: 'actions'; elements: { type: 'button'; text: Text; url: string; action_id: string; style?: 'primary' }[] };

/** Events worth a message: new requests and their outcomes. */
export const NOTIFIED_ACTIONS = new Set<ApprovalEvent['action']>(['requested', 'approved', 'rejected', 'expired']);

/** Slack's mrkdwn needs only these three escaped. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function mrkdwn(text: string, max = 3000): Text {
  return { type: 'mrkdwn', text: clip(text, max) };
}

function plain(text: string, max = 150): Text {
  return { type: 'plain_text', text: clip(text, max) };
}

export function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'unknown';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`;
}

/**
 * The scope in words. `hash: false` leaves out a statement scope's hash prefix: where the statement
 * is shown with its literals withheld (the webhook), the hash of the whole text would let a reader
 * test guesses of them.
 */
export function describeScope(request: Pick<ApprovalSummary, 'scope' | 'oneTime'>, { hash = true }: { hash?: boolean } = {}): string {
  const { scope } = request;
  const bytes = scope.max_bytes === undefined ? '' : `, scanning at most ${formatBytes(scope.max_bytes)} (and the billing headroom)`;
  const statement = `${hash ? `this statement only (${(scope.statement_hash ?? '').slice(0, 12)}…)` : 'this statement only'}${bytes}`;
  const what =
    scope.kind === 'dataset'
      ? `dataset ${(scope.datasets ?? []).join(', ')}`
      : scope.kind === 'tables'
        ? `tables ${(scope.tables ?? []).join(', ')}`
        : scope.datasets?.length
          ? `${statement}, reading dataset ${scope.datasets.join(', ')}`
          : statement;
  return request.oneTime ? `${what}, one run` : what;
}

function duration(seconds: number): string {
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

function who(event: ApprovalEvent): string {
  return event.actor ? visibleName(event.actor.subject) : 'the gateway';
}

export function messageFor(event: ApprovalEvent): SlackMessage | undefined {
  const request = event.request;
  if (!request || !NOTIFIED_ACTIONS.has(event.action)) return undefined;
  const subject = visibleName(request.requester.subject);
  const requester = escapeMrkdwn(subject);
  const tables = request.tables.length ? request.tables.join(', ') : 'no table';
  const review = {
    type: 'actions' as const,
    elements: [{ type: 'button' as const, text: plain('Review request', 75), url: request.approveUrl, action_id: 'review', style: 'primary' as const }],
  };

  if (event.action === 'requested') {
    const approvers = `${request.minApprovals} of ${request.approverGroups.join(', ')}`;
    // The notification text is read as mrkdwn too: `<!channel>` or `<url|label>` in a name would be markup.
    const text = escapeMrkdwn(`Approval needed: ${subject} (${request.requester.kind}) wants to query ${tables}. Approvers: ${approvers}.`);
    const sql = visibleText(redactSqlLiterals(request.sqlText).text).replace(/```/g, '`\u200b``');
    return {
      text: clip(text, 3000),
      blocks: [
        { type: 'header', text: plain(`Approval needed: ${subject}`) },
        {
          type: 'section',
          fields: [
            mrkdwn(`*Requested by*\n${requester} (${request.requester.kind})`, 2000),
            mrkdwn(`*Tables*\n${escapeMrkdwn(tables)}`, 2000),
            mrkdwn(`*Estimated bytes*\n${formatBytes(request.estimatedBytes)}`, 2000),
            mrkdwn(`*Access asked for*\n${escapeMrkdwn(describeScope(request, { hash: false }))} for ${duration(request.grantTtlSeconds)}`, 2000),
            mrkdwn(`*Approvers*\n${escapeMrkdwn(approvers)}`, 2000),
            mrkdwn(`*Decide by*\n${request.expiresAt}`, 2000),
          ],
        },
        { type: 'section', text: mrkdwn(`\`\`\`${escapeMrkdwn(clip(sql, 2500))}\`\`\``) },
        { type: 'context', elements: [mrkdwn('Literal values are shown as `?`; the request page shows the statement in full.')] },
        ...(request.reasons.length ? [{ type: 'context' as const, elements: request.reasons.slice(0, 10).map((r) => mrkdwn(escapeMrkdwn(r), 2000)) }] : []),
        review,
      ],
    };
  }

  const outcome =
    event.action === 'approved'
      ? `Approved by ${who(event)}: ${subject} may query ${tables} (${describeScope(request, { hash: false })}, ${duration(request.grantTtlSeconds)}).`
      : event.action === 'rejected'
        ? `Rejected by ${who(event)}: ${subject}'s request to query ${tables}.`
        : `Expired undecided: ${subject}'s request to query ${tables}.`;
  const details = [
    event.comment ? `> ${escapeMrkdwn(event.comment)}` : undefined,
    event.grantId ? `Grant \`${event.grantId}\`` : undefined,
  ].filter((line): line is string => line !== undefined);
  return {
    text: clip(escapeMrkdwn(outcome), 3000),
    blocks: [
      { type: 'section', text: mrkdwn(escapeMrkdwn(outcome)) },
      ...(details.length ? [{ type: 'context' as const, elements: [mrkdwn(details.join('\n'), 2000)] }] : []),
      review,
    ],
  };
}
