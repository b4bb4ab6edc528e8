// Resolves one schema-valid suite: named identities, requests (with `extends`), shared table
// schemas and grants become one NormalizeRequest per case; a matrix case expands to one case
// per identity × request. Whatever does not resolve is reported at its line.
import { normalize, type NormalizeRequest } from '../../engine/index.ts';
import type {
  FixtureBytes,
  FixtureCase,
  FixtureExpectation,
  FixtureGrant,
  FixtureIdentity,
  FixtureRequest,
  FixtureSchemasRef,
  FixtureSuite,
  Grant,
  Identity,
  TableSchemas,
} from '../../engine/schema-types.ts';
import type { PathSegment, YamlSource } from './source.ts';
import { validateTableSchemas } from './validate.ts';

type ExpectationObject = Exclude<FixtureExpectation, string>;

/** What a case's decision must hold, byte counts resolved. */
export interface Expected extends Omit<ExpectationObject, 'limits'> {
  limits?: { maximum_bytes_billed?: number };
}

export interface TestCase {
  file: string;
  suite: string;
  /** Display name: the case's name, plus `[identity × request]` for a matrix cell. */
  name: string;
  caseName: string;
  identity: string;
  request: string;
  line?: number;
  input: NormalizeRequest;
  expected: Expected;
  /** A matrix cell the expectations leave out: it must be denied. */
  implicit: boolean;
}

export interface Suite {
  file: string;
  name: string;
  description?: string;
  cases: TestCase[];
}

/** What a suite needs from the loader around it. */
export interface SuiteContext {
  clock: () => Date;
  /** Shared schemas by name or path, relative to the suite file. */
  sharedSchemas(ref: string, suiteFile: string): { file: string; schemas?: TableSchemas } | { missing: string };
  /** How files are named in messages. */
  display(file: string): string;
}

/** `10 GiB`, `1TiB`, `500 MB` or an integer, to bytes. */
export function parseBytes(value: FixtureBytes): number {
  if (typeof value === 'number') return value;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([KMGTP]i?B|B)?\s*$/.exec(value);
  if (!match) return Number.NaN;
  const unit = match[2] ?? 'B';
  const power = 'BKMGTP'.indexOf(unit[0]!);
  const bytes = Number(match[1]) * (unit.includes('i') ? 1024 : 1000) ** power;
  return Number.isSafeInteger(bytes) ? bytes : Number.NaN;
}

interface ResolvedRequest {
  sql: string;
  project: string;
  dataset?: string;
  route: NonNullable<NormalizeRequest['route']>;
  estimate?: NormalizeRequest['estimate'];
  grants: { fixture: FixtureGrant; id: string; expiresAt: number; hash?: string }[];
  schemas?: TableSchemas;
}

export class SuiteResolver {
  readonly context: SuiteContext;
  readonly src: YamlSource;
  readonly file: string;
  readonly doc: FixtureSuite;
  readonly now: Date;
  readonly identities = new Map<string, Identity>();
  readonly requests = new Map<string, ResolvedRequest | undefined>();
  readonly cycles = new Set<string>();

  constructor(context: SuiteContext, src: YamlSource, file: string, doc: FixtureSuite) {
    this.context = context;
    this.src = src;
    this.file = file;
    this.doc = doc;
    this.now = doc.now ? new Date(doc.now) : context.clock();
  }

  resolve(): Suite {
    for (const [name, identity] of Object.entries(this.doc.identities ?? {})) this.identities.set(name, toIdentity(name, identity));
    for (const name of Object.keys(this.doc.requests ?? {})) this.namedRequest(name, []);
    const cases: TestCase[] = [];
    const names = new Map<string, number>();
    this.doc.cases.forEach((c, i) => {
      const previous = names.get(c.name);
      if (previous !== undefined) this.src.report(['cases', i, 'name'], `duplicate case name "${c.name}" (also cases[${previous}])`);
      names.set(c.name, i);
      cases.push(...this.expand(c, i));
    });
    return { file: this.context.display(this.file), name: this.doc.name, ...(this.doc.description && { description: this.doc.description }), cases };
  }

  /** Resolves a named request once, following `extends`; undefined when it has problems. */
  private namedRequest(name: string, chain: string[]): ResolvedRequest | undefined {
    if (this.requests.has(name)) return this.requests.get(name);
    const raw = this.doc.requests?.[name];
    if (!raw) return undefined;
    const flat = this.flatten(raw, ['requests', name], [...chain, name]);
    const resolved = flat && this.request(flat, ['requests', name], name);
    this.requests.set(name, resolved);
    return resolved;
  }

  /** Merges a request over the one it extends (its fields win). */
  private flatten(raw: FixtureRequest, path: PathSegment[], chain: string[]): FixtureRequest | undefined {
    if (!raw.extends) return raw;
    if (chain.includes(raw.extends)) {
      const cycle = chain.slice(chain.indexOf(raw.extends));
      const key = [...cycle].sort().join('\0');
      if (!this.cycles.has(key)) this.src.report([...path, 'extends'], `extends forms a cycle: ${[...cycle, raw.extends].join(' → ')}`);
      this.cycles.add(key);
      return undefined;
    }
    const base = this.doc.requests?.[raw.extends];
    if (!base) {
      this.src.report([...path, 'extends'], `extends unknown request "${raw.extends}"${this.known('requests')}`);
      return undefined;
    }
    const flatBase = this.flatten(base, ['requests', raw.extends], [...chain, raw.extends]);
    if (!flatBase) return undefined;
    const { extends: _, ...own } = raw;
    return { ...flatBase, ...own };
  }

  private request(raw: FixtureRequest, path: PathSegment[], name: string): ResolvedRequest | undefined {
    const before = this.src.problems.length;
    const defaults = this.doc.defaults ?? {};
    if (raw.sql === undefined) this.src.report(path, 'a request needs "sql" (or "extends" a request that has it)');
    const project = raw.project ?? defaults.project;
    if (!project) this.src.report(path, 'no project: set "project" here or in defaults');

    const estimate = this.estimate(raw, path);

    const schemasRef = raw.schemas ?? defaults.schemas;
    const schemas =
      schemasRef === undefined ? undefined : this.schemas(schemasRef, raw.schemas === undefined ? ['defaults', 'schemas'] : [...path, 'schemas']);

    const grants: ResolvedRequest['grants'] = [];
    (raw.grants ?? []).forEach((g, i) => {
      const at = [...path, 'grants', i];
      const expiresAt = this.expiry(g, at);
      let hash = g.scope.statement_hash;
      if (g.scope.kind === 'statement' && hash === undefined) hash = this.hashOf(g.scope.statement_sql ?? raw.sql ?? '', project ?? '', raw.dataset ?? defaults.dataset, at);
      else if (g.scope.kind !== 'statement' && (g.scope.statement_hash || g.scope.statement_sql)) {
        this.src.report([...at, 'scope'], `statement_hash and statement_sql belong to scope kind "statement", not "${g.scope.kind}"`);
      }
      grants.push({ fixture: g, id: g.id ?? `${name}-grant-${i + 1}`, expiresAt, ...(hash !== undefined && { hash }) });
    });

    if (this.src.problems.length > before) return undefined;
    return {
      sql: raw.sql!,
      project: project!,
      ...((raw.dataset ?? defaults.dataset) && { dataset: raw.dataset ?? defaults.dataset }),
      route: raw.route ?? defaults.route ?? 'jobs.query',
      ...(estimate && { estimate }),
      grants,
      ...(schemas && { schemas }),
    };
  }

  /**
   * The estimate a request carries. Without `estimate_source`: `caller` (or `dry_run` when the
   * dry run's tables are given) when there are bytes, else none. `cap` carries no bytes and
   * ignores the default ones; the other sources need them.
   */
  private estimate(raw: FixtureRequest, path: PathSegment[]): ResolvedRequest['estimate'] {
    const source = raw.estimate_source;
    if (source === 'cap') {
      if (raw.estimate_bytes !== undefined && raw.estimate_bytes !== null) {
        this.src.report([...path, 'estimate_bytes'], 'a cap estimate carries no bytes (set estimate_bytes: null over a request that has them)');
      }
      if (raw.referenced_tables !== undefined) {
        this.src.report([...path, 'referenced_tables'], 'a cap estimate names no tables: nothing has run yet');
      }
      return { source, ...(raw.referenced_tables_expected !== undefined && { referenced_tables_expected: raw.referenced_tables_expected }) };
    }

    const defaults = this.doc.defaults ?? {};
    const bytesValue = raw.estimate_bytes === undefined ? defaults.estimate_bytes : raw.estimate_bytes;
    if (bytesValue === undefined || bytesValue === null) {
      if (source !== undefined) this.src.report([...path, 'estimate_source'], `estimate_source ${source} needs estimate_bytes`);
      else {
        for (const field of ['referenced_tables', 'referenced_tables_expected'] as const) {
          if (raw[field] !== undefined) this.src.report([...path, field], `${field} comes from a dry run and needs estimate_bytes`);
        }
      }
      return undefined;
    }
    const bytes = parseBytes(bytesValue);
    if (Number.isNaN(bytes)) this.src.report([...path, 'estimate_bytes'], `not a whole number of bytes: ${String(bytesValue)}`);
    const dryRun = raw.referenced_tables !== undefined || raw.referenced_tables_expected !== undefined;
    return {
      bytes,
      source: source ?? (dryRun ? 'dry_run' : 'caller'),
      ...(raw.referenced_tables && { referenced_tables: raw.referenced_tables }),
      ...(raw.referenced_tables_expected !== undefined && { referenced_tables_expected: raw.referenced_tables_expected }),
    };
  }

  private schemas(ref: FixtureSchemasRef, path: PathSegment[]): TableSchemas | undefined {
    if (typeof ref !== 'string') {
      if (!validateTableSchemas(ref)) this.src.reportSchemaErrors(validateTableSchemas.errors, path);
      return ref as TableSchemas;
    }
    const found = this.context.sharedSchemas(ref, this.file);
    if ('missing' in found) this.src.report(path, found.missing);
    else if (!found.schemas)
      this.src.report(path, `shared schemas ${this.context.display(found.file)} do not load (see the problems reported for it)`);
    else return found.schemas;
    return undefined;
  }

  private expiry(g: FixtureGrant, at: PathSegment[]): number {
    const nowUnix = Math.floor(this.now.getTime() / 1000);
    if ((g.expires_in === undefined) === (g.expires_at === undefined)) {
      this.src.report(at, 'a grant needs exactly one of "expires_in" (seconds after now) or "expires_at"');
      return 0;
    }
    if (g.expires_in !== undefined) return nowUnix + g.expires_in;
    return typeof g.expires_at === 'number' ? g.expires_at : Math.floor(new Date(g.expires_at!).getTime() / 1000);
  }

  /** The statement hash exactly as the production normalizer computes it. */
  /** The statement hash of `sql` in the request's naming context (project, default dataset), as the gateway computes it. */
  private hashOf(sql: string, project: string, dataset: string | undefined, at: PathSegment[]): string | undefined {
    try {
      const identity: Identity = { subject: 'fixture', issuer: 'local', kind: 'human', groups: [], claims: {} };
      return normalize({ identity, sql, project, ...(dataset !== undefined && { defaultDataset: dataset }) }).sql.hash;
    } catch (thrown) {
      this.src.report(at, `cannot compute the statement hash: ${(thrown as Error).message}`);
      return undefined;
    }
  }

  private known(kind: 'identities' | 'requests'): string {
    const names = Object.keys(this.doc[kind] ?? {});
    return names.length ? ` (known: ${names.join(', ')})` : ` (the suite defines no ${kind})`;
  }

  private identityRef(ref: FixtureCase['identity'] | string, path: PathSegment[], caseName: string): [string, Identity] | undefined {
    if (typeof ref === 'object') return ['(inline)', toIdentity(caseName, ref)];
    const identity = this.identities.get(ref!);
    if (!identity) this.src.report(path, `unknown identity "${ref}"${this.known('identities')}`);
    return identity && [ref!, identity];
  }

  private requestRef(ref: FixtureCase['request'] | string, path: PathSegment[]): [string, ResolvedRequest] | undefined {
    if (typeof ref === 'object') {
      const flat = this.flatten(ref, path, []);
      const resolved = flat && this.request(flat, path, `cases-${String(path[1])}`);
      return resolved && ['(inline)', resolved];
    }
    if (!this.doc.requests?.[ref!]) {
      this.src.report(path, `unknown request "${ref}"${this.known('requests')}`);
      return undefined;
    }
    const resolved = this.namedRequest(ref!, []);
    return resolved && [ref!, resolved];
  }

  private expand(c: FixtureCase, i: number): TestCase[] {
    const at: PathSegment[] = ['cases', i];
    const caseLine = this.src.position(at).line;
    const make = (
      identity: [string, Identity],
      request: [string, ResolvedRequest],
      expected: Expected,
      implicit: boolean,
      matrix: boolean,
      expectPath?: PathSegment[],
    ): TestCase => {
      // A matrix cell points at its own expectation; an implicit deny at the case.
      const line = expectPath ? this.src.position(expectPath).line : caseLine;
      return {
        file: this.context.display(this.file),
        suite: this.doc.name,
        name: matrix ? `${c.name} [${identity[0]} × ${request[0]}]` : c.name,
        caseName: c.name,
        identity: identity[0],
        request: request[0],
        ...(line !== undefined && { line }),
        input: this.normalizeRequest(identity[1], request[1]),
        expected,
        implicit,
      };
    };

    if (!c.identities) {
      const identity = this.identityRef(c.identity, [...at, 'identity'], c.name);
      const request = this.requestRef(c.request, [...at, 'request']);
      const expected = this.expectation(c.expect as FixtureExpectation, [...at, 'expect']);
      return identity && request && expected ? [make(identity, request, expected, false, false)] : [];
    }

    const identities = c.identities.map((name, k) => this.identityRef(name, [...at, 'identities', k], c.name));
    const requests = (c.requests ?? []).map((name, k) => this.requestRef(name, [...at, 'requests', k]));
    const byIdentity = c.expect as Record<string, FixtureExpectation | Record<string, FixtureExpectation>>;
    for (const [who, value] of Object.entries(byIdentity)) {
      if (!c.identities.includes(who))
        this.src.report([...at, 'expect', who], `expects identity "${who}", which is not among this case's identities`, 'key');
      if (typeof value === 'object' && !('outcome' in value)) {
        for (const what of Object.keys(value)) {
          if (!c.requests?.includes(what))
            this.src.report([...at, 'expect', who, what], `expects request "${what}", which is not among this case's requests`, 'key');
        }
      }
    }
    const cases: TestCase[] = [];
    for (const identity of identities) {
      for (const request of requests) {
        if (!identity || !request) continue;
        const entry = byIdentity[identity[0]];
        const perRequest = entry !== undefined && typeof entry === 'object' && !('outcome' in entry);
        const given = perRequest ? (entry as Record<string, FixtureExpectation>)[request[0]] : (entry as FixtureExpectation | undefined);
        const path = [...at, 'expect', identity[0], ...(perRequest ? [request[0]] : [])];
        const expected = given === undefined ? { outcome: 'deny' as const } : this.expectation(given, path);
        if (expected) cases.push(make(identity, request, expected, given === undefined, true, given === undefined ? undefined : path));
      }
    }
    return cases;
  }

  private expectation(value: FixtureExpectation, path: PathSegment[]): Expected | undefined {
    if (typeof value === 'string') return { outcome: value };
    const { limits, ...rest } = value;
    if (limits?.maximum_bytes_billed === undefined) return { ...rest, ...(limits && { limits: {} }) };
    const bytes = parseBytes(limits.maximum_bytes_billed);
    if (Number.isNaN(bytes)) {
      this.src.report([...path, 'limits', 'maximum_bytes_billed'], `not a whole number of bytes: ${String(limits.maximum_bytes_billed)}`);
      return undefined;
    }
    return { ...rest, limits: { maximum_bytes_billed: bytes } };
  }

  private normalizeRequest(identity: Identity, r: ResolvedRequest): NormalizeRequest {
    const grants: Grant[] = r.grants.map(({ fixture: g, id, expiresAt, hash }) => ({
      id,
      subject: g.subject ?? identity.subject,
      scope: {
        kind: g.scope.kind,
        ...(g.scope.datasets && { datasets: g.scope.datasets }),
        ...(g.scope.tables && { tables: g.scope.tables }),
        ...(hash !== undefined && { statement_hash: hash }),
        ...(g.scope.max_bytes !== undefined && { max_bytes: parseBytes(g.scope.max_bytes) }),
      },
      expires_at: expiresAt,
      ...(g.one_time !== undefined && { one_time: g.one_time }),
    }));
    return {
      identity,
      sql: r.sql,
      project: r.project,
      ...(r.dataset && { defaultDataset: r.dataset }),
      route: r.route,
      ...(r.estimate && { estimate: r.estimate }),
      grants,
      ...(r.schemas && { schemas: r.schemas }),
      now: this.now,
    };
  }
}

function toIdentity(name: string, f: FixtureIdentity): Identity {
  return {
    subject: f.subject ?? name,
    issuer: f.issuer ?? 'local',
    kind: f.kind ?? 'agent',
    groups: [...new Set(f.groups)],
    claims: f.claims ?? {},
  };
}
