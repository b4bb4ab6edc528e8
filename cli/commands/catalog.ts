import type { Command } from 'commander';
import { color, EXIT, UsageError } from '../output.ts';

/** BigQuery itself (any other root is an emulator or a proxy). */
const BIGQUERY = 'https://bigquery.googleapis.com';

interface DiffFlags {
  project: string;
  dataset?: string;
  upstream: string;
  credentials?: string;
  data: string;
  sample: string;
  json?: boolean;
}

const KINDS = {
  tagged_unmapped: 'tagged, but the data maps the tag to no rule (masked ALWAYS_NULL for everyone)',
  listed_untagged: 'listed in sensitive_columns, but not tagged in BigQuery',
  listed_missing: 'listed in sensitive_columns, but the table has no such column',
  unruled_sensitive: 'looks sensitive, but no tag or listing covers it',
} as const;

export function registerCatalog(program: Command): void {
  const catalog = program.command('catalog').description('Compare the policy data with the warehouse it governs.');
  catalog
    .command('diff')
    .description(
      "Compare the data file's sensitive columns and policy-tag rules with the policy tags BigQuery reports, for a project or one dataset: " +
        'columns tagged with a tag the data does not map, columns listed in sensitive_columns but not tagged (or missing), and columns ' +
        'neither covers whose name or sampled values look sensitive.',
    )
    .option('--project <id>', 'project to compare (env SLUICE_PROJECT)', process.env.SLUICE_PROJECT ?? 'acme-analytics')
    .option('--dataset <name>', 'only this dataset of the project')
    .option('--upstream <url>', 'BigQuery REST root', process.env.SLUICE_UPSTREAM ?? BIGQUERY)
    .option(
      '--credentials <mode>',
      'none, adc (Application Default Credentials), or a service account e-mail to impersonate with them, as a gateway connection ' +
        "does (default: adc for BigQuery itself, none for any other upstream, such as an emulator); needs bigquery.datasets.get, " +
        'bigquery.tables.list, bigquery.tables.get and, to sample, bigquery.tables.getData',
    )
    .option('--data <file>', 'the policy data file', 'rego/org/data.yaml')
    .option('--sample <rows>', 'rows per table read with tabledata.list and run through the content detectors (0: none); values are never printed', '20')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
Exit codes:
  0  nothing to report
  1  an error (the upstream refused or could not be reached)
  2  bad usage, or an unreadable data file
  3  findings`,
    )
    .action(async (flags: DiffFlags) => {
      const sample = Number(flags.sample);
      if (!Number.isSafeInteger(sample) || sample < 0 || sample > 10_000) throw new UsageError(`--sample must be an integer from 0 to 10000, got ${flags.sample}`);
      let upstream: URL;
      try {
        upstream = new URL(flags.upstream);
      } catch {
        throw new UsageError(`--upstream ${flags.upstream} is not a URL`);
      }
      if (!flags.project.trim()) throw new UsageError('--project is empty');
      const credentials = flags.credentials ?? (upstream.origin === BIGQUERY ? 'adc' : 'none');
      const { catalogDiff } = await import('../catalog.ts');
      const progress = progressLine();
      let report;
      try {
        report = await catalogDiff({
          project: flags.project,
          dataset: flags.dataset,
          upstream: flags.upstream.replace(/\/+$/, ''),
          credentials,
          dataFile: flags.data,
          sample,
          progress: progress.update,
          warn: (message) => {
            progress.done();
            process.stderr.write(`sluice: ${message}\n`);
          },
        });
      } catch (error) {
        progress.done();
        if (error instanceof UsageError) throw error;
        // The upstream's refusal or absence: one line, exit 1.
        process.stderr.write(`sluice: ${describe(error)}\n`);
        process.exitCode = EXIT.error;
        return;
      }
      progress.done();
      if (flags.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      else process.stdout.write(render(report));
      process.exitCode = report.findings.length > 0 ? EXIT.deny : EXIT.ok;
    });
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
  return `${error.message}${cause}${typeof code === 'number' ? ` (HTTP ${code})` : ''}`;
}

function render(report: import('../catalog.ts').DiffReport): string {
  const scope = report.dataset ? `${report.project}.${report.dataset}` : report.project;
  const lines = [
    `${color.bold('catalog diff')} ${scope}  ${color.dim(`${report.tables} table(s) at ${report.upstream}, against ${report.data}`)}`,
  ];
  for (const [kind, title] of Object.entries(KINDS)) {
    const found = report.findings.filter((f) => f.kind === kind);
    if (found.length === 0) continue;
    lines.push('', color.yellow(title));
    for (const f of found) {
      const where = `  ${f.table}.${f.column}`;
      if (f.kind === 'tagged_unmapped') lines.push(`${where}  ${color.dim(f.tags.join(', '))}`);
      else if (f.kind === 'listed_untagged' || f.kind === 'listed_missing') lines.push(`${where}  ${color.dim(f.strategy)}`);
      else {
        const why = [
          ...(f.names.length ? [`name (${f.names.join(', ')})`] : []),
          ...Object.entries(f.detectors).map(([d, n]) => `${d} in ${n} of ${f.sampled} sampled row(s)`),
        ];
        lines.push(`${where}  ${color.dim(why.join('; '))}`);
      }
    }
  }
  const n = report.findings.length;
  lines.push('', n === 0 ? color.green('nothing to report') : `${n} finding(s)`);
  return lines.join('\n') + '\n';
}

/** `reading p.d.t…` on stderr while it works, only on a terminal. */
function progressLine(): { update: (message: string) => void; done: () => void } {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  let shown = false;
  return {
    update: (message) => {
      shown = true;
      process.stderr.write(`\r\x1b[K${message}…`);
    },
    done: () => {
      if (shown) process.stderr.write('\r\x1b[K');
    },
  };
}
