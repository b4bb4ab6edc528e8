// A YAML file kept with its positions, so every problem found in it (syntax, schema, references)
// is reported as file:line:column with the path of the offending field.
import type { ErrorObject } from 'ajv';
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';

export type PathSegment = string | number;

export interface FixtureProblem {
  file: string;
  line?: number;
  column?: number;
  /** Field path in the document, `cases[3].expect.outcome`. */
  path?: string;
  message: string;
}

export class YamlSource {
  readonly file: string;
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;
  readonly problems: FixtureProblem[] = [];

  constructor(file: string, text: string) {
    this.file = file;
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false, merge: true });
    for (const error of this.doc.errors) {
      const { line, col } = this.lines.linePos(error.pos[0]);
      this.problems.push({ file, line, column: col, message: `invalid YAML: ${error.message.split('\n')[0]}` });
    }
  }

  /** The document as plain data (only meaningful when it parsed). */
  value(): unknown {
    return this.doc.toJS({ maxAliasCount: 1000 });
  }

  /** Records a problem at `path`; `at: 'key'` points at the field's name rather than its value. */
  report(path: PathSegment[], message: string, at: 'value' | 'key' = 'value'): void {
    this.problems.push({ file: this.file, ...this.position(path, at), ...(path.length > 0 && { path: formatPath(path) }), message });
  }

  /** Line and column of the node at `path`, or of its nearest existing ancestor. */
  position(path: PathSegment[], at: 'value' | 'key' = 'value'): { line?: number; column?: number } {
    for (let depth = path.length; depth >= 0; depth--) {
      const offset = depth === path.length && at === 'key' ? this.keyOffset(path) : this.nodeOffset(path.slice(0, depth));
      if (offset !== undefined) {
        const { line, col } = this.lines.linePos(offset);
        return { line, column: col };
      }
    }
    return {};
  }

  private nodeOffset(path: PathSegment[]): number | undefined {
    const node = path.length === 0 ? this.doc.contents : this.doc.getIn(path, true);
    return isNodeWithRange(node) ? node.range[0] : undefined;
  }

  private keyOffset(path: PathSegment[]): number | undefined {
    const parent = path.length === 1 ? this.doc.contents : this.doc.getIn(path.slice(0, -1), true);
    if (!isMap(parent)) return this.nodeOffset(path);
    const pair = parent.items.find((item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(path.at(-1)));
    return pair && isNodeWithRange(pair.key) ? pair.key.range[0] : undefined;
  }

  /** Adds ajv's errors, pruned to the ones a person should read, each at its line. */
  reportSchemaErrors(errors: ErrorObject[] | null | undefined, prefix: PathSegment[] = []): void {
    // One problem per field: alternatives that all failed (`5` for an outcome) read as one line.
    const byField = new Map<string, { path: PathSegment[]; at: 'value' | 'key'; messages: string[]; alternatives: boolean }>();
    for (const error of relevantErrors(errors ?? [])) {
      const { message, at, extra } = describe(error);
      const path = [...prefix, ...pointerSegments(error.instancePath), ...(extra === undefined ? [] : [extra])];
      const key = `${formatPath(path)}\0${at}`;
      const entry = byField.get(key) ?? { path, at, messages: [], alternatives: true };
      entry.messages.push(message);
      entry.alternatives &&= error.keyword === 'type' || error.keyword === 'enum';
      byField.set(key, entry);
    }
    for (const { path, at, messages, alternatives } of byField.values()) this.report(path, messages.join(alternatives ? ', or ' : '; '), at);
  }
}

function isNodeWithRange(node: unknown): node is Node & { range: [number, number, number] } {
  return !!node && typeof node === 'object' && Array.isArray((node as { range?: unknown }).range);
}

export function formatPath(path: PathSegment[]): string {
  return path.reduce<string>((out, seg) => (typeof seg === 'number' ? `${out}[${seg}]` : out ? `${out}.${seg}` : seg), '');
}

function pointerSegments(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^(0|[1-9]\d*)$/.test(s) ? Number(s) : s));
}

const KIND_KEYWORDS = new Set(['type', 'enum', 'const']);

/**
 * ajv with allErrors reports every branch of a failed anyOf (`"10 GiB"` is not an integer, and
 * does not match the size pattern). Where a value drew complaints about its kind and also about
 * its content (or about fields below it), the kind was right for the other branch: keep the
 * content. Combinator summaries go; what is left is deduplicated.
 */
export function relevantErrors(errors: ErrorObject[]): ErrorObject[] {
  const contentAt = new Set<string>();
  for (const e of errors) {
    if (KIND_KEYWORDS.has(e.keyword) || e.keyword === 'anyOf' || e.keyword === 'if') continue;
    for (let p = e.instancePath; ; p = p.slice(0, p.lastIndexOf('/'))) {
      contentAt.add(p);
      if (!p) break;
    }
  }
  const kept = errors.filter((e) => e.keyword !== 'anyOf' && e.keyword !== 'if' && !(KIND_KEYWORDS.has(e.keyword) && contentAt.has(e.instancePath)));
  const seen = new Set<string>();
  return kept.filter((e) => {
    const key = `${e.instancePath}\0${describe(e).message}\0${describe(e).extra ?? ''}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** A readable message for one ajv error; `extra` names a child field the message is about. */
function describe(e: ErrorObject): { message: string; at: 'value' | 'key'; extra?: string } {
  const p = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { message: `unknown field "${String(p.additionalProperty)}"`, at: 'key', extra: String(p.additionalProperty) };
    case 'required':
      return { message: `missing required field "${String(p.missingProperty)}"`, at: 'value' };
    case 'false schema':
      return { message: 'is not allowed here', at: 'key' };
    case 'enum':
      return { message: `must be one of: ${(p.allowedValues as unknown[]).join(', ')}`, at: 'value' };
    case 'type':
      return { message: `must be ${article(String(p.type))}`, at: 'value' };
    case 'format':
      return {
        message: p.format === 'date-time' ? 'must be an RFC 3339 time, like 2027-01-15T08:00:00Z' : `must be a ${String(p.format)}`,
        at: 'value',
      };
    case 'pattern':
      if (e.schemaPath.includes('FixtureName')) return { message: 'must be a name of letters, digits, "_", "." and "-"', at: 'value' };
      if (e.schemaPath.includes('FixtureBytes')) return { message: 'must be a byte count: an integer or a size like "10 GiB"', at: 'value' };
      return { message: `must match ${String(p.pattern)}`, at: 'value' };
    case 'propertyNames':
      return { message: `has an invalid name "${String(p.propertyName)}"`, at: 'value' };
    case 'not':
      return { message: 'is not allowed in this form', at: 'value' };
    default:
      return { message: e.message ?? 'is invalid', at: 'value' };
  }
}

function article(type: string): string {
  return type
    .split(',')
    .map((t) => (/^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`))
    .join(' or ');
}
