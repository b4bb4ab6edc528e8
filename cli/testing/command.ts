// The `sluice test` command: load fixture suites, build or load the policy, run, report, and with
// --watch do it again on every change.
import { createHash } from 'node:crypto';
import { statSync, watch, type FSWatcher } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { DEFAULT_REGO_DIR } from '../../engine/build.ts';
import { buildBundle, DEFAULT_BUNDLE, Engine } from '../../engine/index.ts';
import { color, EXIT, fail, UsageError } from '../output.ts';
import { policyCoverage, readDocumentedReasons, reasonCoverage, type PolicyCoverage } from './coverage.ts';
import { renderJson } from './json.ts';
import { renderJunit } from './junit.ts';
import { loadSuites } from './load.ts';
import { formatProblem, plain, renderPretty, summaryLine } from './pretty.ts';
import { runSuites, selectCases } from './run.ts';

export interface TestOptions {
  bundle?: string;
  rego: string;
  filter?: string[];
  reporter: 'pretty' | 'json' | 'junit';
  output?: string;
  bail?: boolean;
  watch?: boolean;
  coverage?: boolean;
  quiet?: boolean;
}

/** Suites larger than this get a progress line on a terminal. */
const PROGRESS_ABOVE = 300;

/** `sluice test`: one run, or runs on every change with --watch. */
export async function testCommand(paths: string[], opts: TestOptions): Promise<void> {
  if (opts.watch) await watchAndRun(paths, opts);
  else process.exitCode = await runOnce(paths, opts, new EngineCache());
}

/** The project's bundle for rego/; any other policy directory gets its own cached one outside the tree. */
function bundleFor(regoDir: string): string {
  const dir = resolve(regoDir);
  if (dir === DEFAULT_REGO_DIR) return DEFAULT_BUNDLE;
  return join(tmpdir(), 'sluice-test-bundles', `${createHash('sha256').update(dir).digest('hex').slice(0, 16)}.tar.gz`);
}

/** Keeps one engine across --watch runs; rebuilds and reloads only when the policy changed. */
class EngineCache {
  engine?: Engine;

  async get(opts: TestOptions): Promise<{ engine: Engine; path: string; note: string }> {
    let path: string;
    let note: string;
    if (opts.bundle) {
      path = resolve(opts.bundle);
      note = `bundle ${opts.bundle}`;
      // The file may have been rebuilt in place: always read it again.
      if (this.engine) await this.engine.reload(path);
      else this.engine = await Engine.load(path);
    } else {
      const built = await buildBundle({ regoDir: opts.rego, out: bundleFor(opts.rego) });
      path = built.path;
      note = built.built ? `built from ${opts.rego}/` : `${opts.rego}/ unchanged since the last build`;
      if (!this.engine) this.engine = await Engine.load(path);
      else if (this.engine.revision !== built.revision) await this.engine.reload(path);
    }
    return { engine: this.engine, path, note };
  }
}

async function runOnce(paths: string[], opts: TestOptions, engines: EngineCache, onFiles?: (files: string[]) => void): Promise<number> {
  const loaded = await loadSuites(paths);
  onFiles?.(loaded.files);
  if (loaded.suites.length === 0 && loaded.problems.length === 0) {
    process.stderr.write(`sluice: no fixture suites (*_test.yaml) under ${paths.join(', ')}\n`);
    return EXIT.fixturesInvalid;
  }
  if (opts.filter?.length && selectCases(loaded.suites, opts.filter).length === 0 && loaded.problems.length === 0) {
    throw new UsageError(`no case matches --filter ${opts.filter.join(', ')}`);
  }
  const { engine, path, note } = await engines.get(opts);

  const progress = process.stderr.isTTY && opts.reporter === 'pretty';
  let lastDraw = 0;
  const result = runSuites(engine, path, loaded.suites, loaded.problems, {
    filter: opts.filter,
    bail: opts.bail,
    onProgress: (done, total) => {
      if (!progress || total <= PROGRESS_ABOVE) return;
      const now = performance.now();
      if (done < total && now - lastDraw < 80) return;
      lastDraw = now;
      process.stderr.write(done < total ? `\r\x1b[K${color.dim(`running ${done}/${total} cases`)}` : '\r\x1b[K');
    },
  });

  // Which codes never fire says something only about a whole run.
  const reasons = opts.filter?.length || result.bailed ? undefined : reasonCoverage(readDocumentedReasons(opts.rego), result.reasonCounts);
  let policy: PolicyCoverage | undefined;
  if (opts.coverage) policy = await policyCoverage(opts.rego);

  const pretty = (paint = plain) => renderPretty(result, { paint, quiet: opts.quiet, reasons, policy, bundleNote: note });
  const report = opts.reporter === 'json' ? renderJson(result, { reasons, policy }) : opts.reporter === 'junit' ? renderJunit(result) : pretty();
  const terminal = process.stdout.isTTY && !process.env.NO_COLOR ? color : plain;
  if (opts.output) {
    await writeFile(opts.output, report);
    process.stdout.write(pretty(terminal));
  } else if (opts.reporter === 'pretty') {
    process.stdout.write(pretty(terminal));
  } else {
    // The report owns stdout; what a person needs goes to stderr.
    process.stdout.write(report);
    for (const p of result.problems) process.stderr.write(`sluice: ${formatProblem(p)}\n`);
    process.stderr.write(summaryLine(result) + '\n');
  }
  return result.problems.length ? EXIT.fixturesInvalid : result.failed ? EXIT.testsFailed : EXIT.ok;
}

/** Runs, then runs again (debounced) whenever the policy, its data, a bundle or a fixture changes. */
async function watchAndRun(paths: string[], opts: TestOptions): Promise<void> {
  const engines = new EngineCache();
  let running = false;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  const tty = process.stdout.isTTY;
  const watchers = new Map<string, { watcher: FSWatcher; only?: Set<string> }>();

  const changed = (dir: string, name: string | null) => {
    const entry = watchers.get(dir);
    if (name && entry?.only && !entry.only.has(basename(name))) return;
    if (name && /(^|\/)\.|~$|\.swp$|\.tmp$/.test(name)) return; // editor and build temp files
    clearTimeout(timer);
    timer = setTimeout(() => void run(name ? join(dir, name) : dir), 150);
  };

  /** Watches a directory (recursively), or a file through its directory; each directory once. */
  const follow = (path: string) => {
    const target = resolve(path);
    let isDir = false;
    try {
      isDir = statSync(target).isDirectory();
    } catch {
      return;
    }
    const dir = isDir ? target : dirname(target);
    const existing = watchers.get(dir);
    if (existing) {
      if (isDir) existing.only = undefined;
      else existing.only?.add(basename(target));
      return;
    }
    if ([...watchers.entries()].some(([d, w]) => !w.only && (dir + sep).startsWith(d + sep))) return; // inside a recursive watch
    try {
      const watcher = watch(dir, { recursive: isDir }, (_event, name) => changed(dir, name === null ? null : String(name)));
      watchers.set(dir, { watcher, ...(!isDir && { only: new Set([basename(target)]) }) });
    } catch (thrown) {
      process.stderr.write(`sluice: cannot watch ${dir}: ${(thrown as Error).message}\n`);
    }
  };

  const run = async (trigger?: string) => {
    if (running) {
      again = true;
      return;
    }
    running = true;
    if (tty) process.stdout.write('\x1b[2J\x1b[H');
    if (trigger) process.stdout.write(color.dim(`changed: ${trigger}\n`));
    try {
      // Suites may start using shared schemas elsewhere: follow every file a run read.
      process.exitCode = await runOnce(paths, opts, engines, (files) => files.forEach(follow));
    } catch (thrown) {
      fail(thrown);
    }
    process.stdout.write(color.dim('\nwatching for changes (Ctrl-C to stop)\n'));
    running = false;
    if (again) {
      again = false;
      await run('(changes during the run)');
    }
  };

  follow(opts.bundle ?? opts.rego);
  for (const p of paths) follow(p);
  process.once('SIGINT', () => {
    for (const { watcher } of watchers.values()) watcher.close();
    clearTimeout(timer);
  });
  await run();
}
