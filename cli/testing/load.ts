// Loads fixture suites (`*_test.yaml`): finds the files, parses them keeping positions, checks
// them against fixture.schema.json, and resolves each into cases (resolve.ts). Shared table
// schemas are loaded and checked once however many suites use them.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { dirname, extname, join, relative, resolve } from 'node:path';
import type { TableSchemas } from '../../engine/schema-types.ts';
import { UsageError } from '../output.ts';
import { SuiteResolver, type Suite, type SuiteContext } from './resolve.ts';
import { YamlSource, type FixtureProblem } from './source.ts';
import { validateSuite, validateTableSchemas } from './validate.ts';

export type { FixtureProblem } from './source.ts';
export { parseBytes, type Expected, type Suite, type TestCase } from './resolve.ts';

export const SUITE_PATTERN = /_test\.ya?ml$/;

export interface Loaded {
  suites: Suite[];
  problems: FixtureProblem[];
  /** Every file read (suites and shared schemas), for --watch. */
  files: string[];
}

/** Fixture files under the given paths: directories are searched for `*_test.yaml`, files taken as given. */
export async function discover(paths: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    if (!existsSync(path)) throw new UsageError(`no such file or directory: ${path}`);
    if (statSync(path).isDirectory()) {
      const entries = await readdir(path, { recursive: true, withFileTypes: true });
      files.push(
        ...entries
          .filter((e) => e.isFile() && SUITE_PATTERN.test(e.name))
          .map((e) => join(e.parentPath, e.name))
          .filter(
            (f) =>
              !relative(path, f)
                .split('/')
                .some((part) => part.startsWith('.') || part === 'node_modules'),
          )
          .sort(),
      );
    } else {
      files.push(path);
    }
  }
  return [...new Set(files.map((f) => resolve(f)))];
}

/** Loads every suite; a file with any problem contributes problems and no cases. */
export async function loadSuites(paths: string[], options: { clock?: () => Date } = {}): Promise<Loaded> {
  const files = await discover(paths);
  const loader = new Loader(options.clock ?? (() => new Date()));
  const suites: Suite[] = [];
  for (const file of files) {
    const suite = loader.suite(file);
    if (suite) suites.push(suite);
  }
  return { suites, problems: loader.problems, files: [...files, ...loader.schemaFiles.keys()] };
}

/** Paths under the working directory are shown relative to it, others in full. */
const display = (file: string) => {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
};

class Loader implements SuiteContext {
  readonly problems: FixtureProblem[] = [];
  /** Shared schema files by absolute path; undefined when the file had problems. */
  readonly schemaFiles = new Map<string, TableSchemas | undefined>();
  readonly clock: () => Date;
  readonly display = display;

  constructor(clock: () => Date) {
    this.clock = clock;
  }

  suite(file: string): Suite | undefined {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (thrown) {
      this.problems.push({ file: display(file), message: `cannot read: ${(thrown as NodeJS.ErrnoException).code ?? String(thrown)}` });
      return undefined;
    }
    const src = new YamlSource(display(file), text);
    let suite: Suite | undefined;
    if (src.problems.length === 0) {
      const doc = src.value();
      if (validateSuite(doc)) suite = new SuiteResolver(this, src, file, doc).resolve();
      else src.reportSchemaErrors(validateSuite.errors);
    }
    this.problems.push(...src.problems);
    return src.problems.length === 0 ? suite : undefined;
  }

  /** Shared schemas by name or path, loaded and checked once. */
  sharedSchemas(ref: string, suiteFile: string): { file: string; schemas?: TableSchemas } | { missing: string } {
    const file = locateSchemas(ref, suiteFile);
    if (!file) return { missing: `shared schemas "${ref}" not found (looked for schemas/${ref}.yaml beside the suite and in the folders above)` };
    if (!this.schemaFiles.has(file)) {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch {
        return { missing: `cannot read shared schemas ${display(file)}` };
      }
      const src = new YamlSource(display(file), text);
      const doc = src.problems.length === 0 ? src.value() : undefined;
      if (src.problems.length === 0 && !validateTableSchemas(doc)) src.reportSchemaErrors(validateTableSchemas.errors);
      this.problems.push(...src.problems);
      this.schemaFiles.set(file, src.problems.length === 0 ? (doc as TableSchemas) : undefined);
    }
    return { file, schemas: this.schemaFiles.get(file) };
  }
}

function locateSchemas(ref: string, suiteFile: string): string | undefined {
  if (ref.includes('/') || extname(ref)) {
    const file = resolve(dirname(suiteFile), ref);
    return existsSync(file) ? file : undefined;
  }
  for (let dir = dirname(suiteFile); ; dir = dirname(dir)) {
    for (const ext of ['.yaml', '.yml', '.json']) {
      const file = join(dir, 'schemas', ref + ext);
      if (existsSync(file)) return file;
    }
    if (dirname(dir) === dir) return undefined;
  }
}
