// sluice principals: the kill switch. `disable` cuts a principal off at once on every replica (each
// keeps the disabled set in memory and sees the shared change counter move within
// revocation.poll_interval_ms): its calls are refused, its pending approval requests withdrawn and
// its grants revoked, all recorded in the audit trail. `enable` lets it back in.
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { approvalAuditListener, AuditLog, defaultStreamId } from '../../gateway/audit/index.ts';
import { createApprovalStore } from '../../gateway/approvals/index.ts';
import { ConfigError, loadConfigFile } from '../../gateway/config/load.ts';
import { PrincipalControl, PrincipalStatusStore, type ChangeResult } from '../../gateway/identity/index.ts';
import { color, EXIT, UsageError } from '../output.ts';
import { openStorage } from './audit.ts';
import { registerInventoryCommands } from './principals-inventory.ts';

interface ChangeOptions {
  config?: string;
  storage?: string;
  reason?: string;
  json?: boolean;
}

export function registerPrincipals(program: Command): void {
  const group = program.command('principals').description('Identities the gateway serves: disable or enable one at once on every replica (list and show the inventory).');

  withStoreOptions(group.command('disable').description('Disable a principal now: every call refused (401 principal_disabled), pending approval requests withdrawn, grants revoked.'))
    .argument('<issuer>', 'the token issuer (iss), as configured')
    .argument('<subject>', 'the token subject (sub)')
    .requiredOption('-r, --reason <text>', 'why (shown to the caller and recorded)')
    .action((issuer: string, subject: string, opts: ChangeOptions) => change('disable', issuer, subject, opts));

  withStoreOptions(group.command('enable').description('Enable a disabled principal again (tokens revoked by a session revocation stay refused).'))
    .argument('<issuer>', 'the token issuer (iss), as configured')
    .argument('<subject>', 'the token subject (sub)')
    .option('-r, --reason <text>', 'why (recorded)')
    .action((issuer: string, subject: string, opts: ChangeOptions) => change('enable', issuer, subject, opts));

  registerInventoryCommands(group);
}

function withStoreOptions(command: Command): Command {
  return command
    .option('-c, --config <file>', 'the gateway configuration, for its storage URL and trusted issuers (env SLUICE_CONFIG)', process.env.SLUICE_CONFIG)
    .option('--storage <url>', 'the gateway\'s database instead: sqlite:<file> or postgres://…')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
Every replica on the same database refuses the principal within its poll interval (default 200 ms).

Exit codes:
  0  changed and recorded
  1  the database could not be reached, or the change is committed but was not recorded
  2  bad usage: no configuration or storage, an issuer the configuration does not trust`,
    );
}

async function change(action: 'disable' | 'enable', issuer: string, subject: string, opts: ChangeOptions): Promise<void> {
  if (!subject.trim()) throw new UsageError('a subject is required');
  const storage = await storageOf(opts, issuer);
  const database = await openStorage(storage);
  const audit = await AuditLog.open(database, { stream: `sluice-cli@${defaultStreamId()}` });
  const approvals = createApprovalStore({ database, publicUrl: 'http://localhost', sweepIntervalMs: 0, onEvent: approvalAuditListener(audit) });
  const failures: string[] = [];
  const control = new PrincipalControl({
    store: new PrincipalStatusStore(database.db),
    audit,
    approvals,
    onError: (error, what) => failures.push(`${what}: ${error.message}`),
  });
  let result: ChangeResult;
  try {
    const request = { issuer, subject, reason: opts.reason ?? null, signal: 'cli', actor: operator() };
    result = action === 'disable' ? await control.disable(request) : await control.enable(request);
    await audit.flush();
  } finally {
    await approvals.close();
    await audit.close();
    await database.close();
  }
  if (!result.applied) throw new Error('the change was not applied');
  if (opts.json) {
    process.stdout.write(JSON.stringify({ action, issuer, subject, status: result.status, withdrawn: result.withdrawn, revoked: result.revoked, recorded: result.recorded }, null, 2) + '\n');
  } else {
    const what = action === 'disable' ? color.red('disabled') : color.green('enabled');
    const cut = action === 'disable' ? ` (withdrew ${result.withdrawn.length} approval request(s), revoked ${result.revoked.length} grant(s))` : '';
    process.stdout.write(`${what} ${subject} of ${issuer}${cut}\n`);
  }
  for (const failure of failures) process.stderr.write(`sluice: ${failure}\n`);
  if (failures.length) process.exitCode = EXIT.error;
}

/** The storage URL: --storage, or the configuration's (whose issuers the principal must belong to). */
async function storageOf(opts: ChangeOptions, issuer: string): Promise<string> {
  if (opts.storage) return opts.storage;
  if (!opts.config) throw new UsageError('no database: pass --config <gateway.yaml> (or set SLUICE_CONFIG), or --storage <url>');
  let config;
  try {
    config = await loadConfigFile(opts.config);
  } catch (error) {
    throw error instanceof ConfigError ? new UsageError(error.message) : error;
  }
  if (!config.issuers.some((i) => i.issuer === issuer)) {
    throw new UsageError(`${issuer} is not a trusted issuer of ${opts.config} (trusted: ${config.issuers.map((i) => i.issuer).join(', ')})`);
  }
  if (!config.storageUrl) throw new UsageError(`${opts.config} names no storage.url: the gateway keeps no shared state to change`);
  return config.storageUrl;
}

function operator(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
