// Masks BigQuery result pages in flight. A masker is compiled once per query (names resolved to
// cell indexes, strategies to functions) and then applied to every page of that query's rows:
// jobs.query, jobs.getQueryResults and tabledata.list all carry the same `rows` shape.
import type { ContentScan, Mask, Strategy } from '../../engine/schema-types.ts';
import { compileContentScanner, emptyDetectionCounts, type ContentScanner, type DetectionCounts } from './detectors.ts';
import { MaskingError } from './errors.ts';
import type { RuleDigesters } from './bigquery-rules.ts';
import { createHasher, createSaltedDigester, sha256Digester, type Digester, type HashKey } from './hasher.ts';
import { Action, resolveMasks, type FieldPlan } from './plan.ts';
import { bytesText, decodedJsonString, JSON_STRING, plainDecimal } from './readings.ts';
import type { CellValue, TableCell, TableRow, TableSchema } from './rows.ts';
import { valueMasker, type ValueMasker } from './strategies.ts';

export interface MaskerOptions {
  /** The result schema exactly as BigQuery sent it (for tabledata.list: projected to the selected fields). */
  schema: TableSchema;
  /** The decision's masks. */
  masks: readonly Mask[];
  /** The decision's content scan, if any. */
  contentScan?: ContentScan | undefined;
  /** Secret for the `hash` strategy and RANDOM_HASH's salts (at least 16 bytes). */
  hashKey: HashKey;
  /**
   * The query job the rows belong to (any stable name; the facade uses `job <project>:<job id>`,
   * gateway/bigquery/results.ts jobKey): RANDOM_HASH digests agree across
   * every page of one job and differ between jobs. Absent (tabledata.list, a query without a job):
   * a random salt, so they agree within this masker's answer only.
   */
  job?: string | undefined;
}

export interface MaskStats {
  /** Values rewritten, by a mask or by the content scan. Each element of an array counts. */
  cellsMasked: number;
  /** Of `cellsMasked`, the values the content scan rewrote. */
  contentScanCells: number;
  /** Content scan matches per detector (one value can hold several). */
  detections: DetectionCounts;
}

export interface MaskedPage {
  rows: TableRow[];
  stats: MaskStats;
}

export interface Masker {
  /**
   * The schema to send the client in place of BigQuery's: leaves masked by BigQuery's rules keep
   * their type, leaves masked by the gateway's own strategies (redact, hash, last-4,
   * email-domain) are declared STRING, and REQUIRED fields that can now be NULL are NULLABLE, so
   * every masked value parses.
   */
  readonly schema: TableSchema;
  /** False when the decision touches nothing in this result: rows pass through as they are. */
  readonly active: boolean;
  /**
   * Masked copies of `rows` (the input is never modified; unchanged cells are shared). A page
   * without rows (BigQuery omits `rows` when there are none) gives an empty list. Throws
   * `MaskingError` (`row_shape`) when a row does not fit the schema.
   */
  maskRows(rows: readonly TableRow[] | undefined): MaskedPage;
  /** Running totals over every page this masker has handled. */
  readonly totals: Readonly<MaskStats>;
}

/** Throws `MaskingError` when the masks cannot be applied to this schema; refuse the response then. */
export function compileMasker(options: MaskerOptions): Masker {
  const hash = hasherFor(options.hashKey);
  let random: Digester | undefined;
  const digesters: RuleDigesters = {
    sha256: sha256Digester,
    random: () => (random ??= createSaltedDigester(options.hashKey, options.job)),
  };
  const maskers = new Map<string, ValueMasker>();
  const maskerFor = (strategy: Strategy, type: string): ValueMasker => {
    const id = `${strategy} ${type}`;
    let masker = maskers.get(id);
    if (!masker) maskers.set(id, (masker = valueMasker(strategy, type, hash, digesters)));
    return masker;
  };
  const { plans, schema, width } = resolveMasks(options.schema, options.masks, options.contentScan, maskerFor);
  const scanner = options.contentScan ? compileContentScanner(options.contentScan, hash, digesters) : undefined;
  return new CompiledMasker(plans, schema, width, scanner, scanner && maskerFor(scanner.strategy, 'STRING'));
}

class CompiledMasker implements Masker {
  readonly schema: TableSchema;
  readonly active: boolean;
  readonly totals: MaskStats = { cellsMasked: 0, contentScanCells: 0, detections: emptyDetectionCounts() };
  readonly #plans: FieldPlan[];
  readonly #width: number;
  readonly #scanner: ContentScanner | undefined;
  /** The content scan's strategy applied to a whole value (for JSON that a substring mask broke). */
  readonly #scanWhole: ValueMasker | undefined;
  // Per-page counters, bumped by the walker instead of returned through every call.
  #cells = 0;
  #scanCells = 0;

  constructor(
    plans: FieldPlan[],
    schema: TableSchema,
    width: number,
    scanner: ContentScanner | undefined,
    scanWhole: ValueMasker | undefined,
  ) {
    this.#plans = plans;
    this.schema = schema;
    this.#width = width;
    this.#scanner = scanner;
    this.#scanWhole = scanWhole;
    this.active = plans.length > 0;
  }

  maskRows(rows: readonly TableRow[] | undefined): MaskedPage {
    rows ??= [];
    if (!Array.isArray(rows)) throw new MaskingError('row_shape', 'rows is not an array');
    const detectionsBefore = { ...(this.#scanner?.counts ?? emptyDetectionCounts()) };
    this.#cells = 0;
    this.#scanCells = 0;
    const out: TableRow[] = new Array(rows.length);
    const plans = this.#plans;
    for (let r = 0; r < rows.length; r++) {
      const row = rows[r]!;
      const cells = row?.f;
      if (!Array.isArray(cells) || cells.length !== this.#width) {
        throw new MaskingError('row_shape', `row ${r} does not have the schema's ${this.#width} cells`);
      }
      let copy: TableCell[] | undefined;
      for (let p = 0; p < plans.length; p++) {
        const plan = plans[p]!;
        const cell = cells[plan.index]!;
        const masked = this.#cell(plan, cell);
        if (masked !== cell) (copy ??= cells.slice())[plan.index] = masked;
      }
      out[r] = copy ? { ...row, f: copy } : row;
    }
    const detections = emptyDetectionCounts();
    if (this.#scanner) {
      for (const d of Object.keys(detections) as (keyof DetectionCounts)[]) {
        detections[d] = this.#scanner.counts[d] - detectionsBefore[d];
        this.totals.detections[d] += detections[d];
      }
    }
    const stats = { cellsMasked: this.#cells, contentScanCells: this.#scanCells, detections };
    this.totals.cellsMasked += stats.cellsMasked;
    this.totals.contentScanCells += stats.contentScanCells;
    return { rows: out, stats };
  }

  /** Returns `cell` itself when nothing changed, so untouched cells cost no allocation. */
  #cell(plan: FieldPlan, cell: TableCell): TableCell {
    if (cell === null || typeof cell !== 'object') {
      throw new MaskingError('row_shape', `field ${plan.name}: cell is not an object`);
    }
    const v = cell.v;
    if (v === null || v === undefined) return cell;
    const masked = plan.repeated ? this.#repeated(plan, v) : this.#value(plan, v);
    return masked === v ? cell : { v: masked };
  }

  #repeated(plan: FieldPlan, v: CellValue): CellValue {
    if (!Array.isArray(v)) throw new MaskingError('row_shape', `field ${plan.name}: REPEATED value is not a list`);
    if (plan.action === Action.nullify) {
      if (v.length === 0) return v;
      this.#cells += v.length;
      return [];
    }
    let copy: TableCell[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const element = v[i]!;
      if (element === null || typeof element !== 'object') {
        throw new MaskingError('row_shape', `field ${plan.name}: list element is not a cell`);
      }
      const x = element.v;
      if (x === null || x === undefined) continue;
      const masked = this.#value(plan, x);
      if (masked !== x) (copy ??= v.slice())[i] = { v: masked };
    }
    return copy ?? v;
  }

  /** One non-null value of the field (one element, when the field is REPEATED). */
  #value(plan: FieldPlan, v: CellValue): CellValue {
    switch (plan.action) {
      case Action.mask:
        this.#cells++;
        return plan.mask!(scalar(plan, v));
      case Action.nullify:
        this.#cells++;
        return null;
      case Action.scan:
        return this.#scan(plan, v, false);
      case Action.scanJson:
        return this.#scan(plan, v, true);
      case Action.scanOther:
        return this.#scanOther(plan, v);
      case Action.scanBytes:
        return this.#scanOther(plan, v, bytesText);
      case Action.scanNumber:
        return this.#scanOther(plan, v, plainDecimal);
      case Action.record:
        return this.#record(plan, v);
      default:
        throw new MaskingError('row_shape', `field ${plan.name}: no action`);
    }
  }

  #scan(plan: FieldPlan, v: CellValue, json: boolean): CellValue {
    const text = scalar(plan, v);
    // A STRING often holds JSON text too (an event payload, an API response), which its reader
    // decodes: its quoted literals are read as JSON strings as well.
    let masked = this.#scanJsonStrings(text);
    if (masked !== null) masked = this.#scanner!.scan(masked);
    if (masked === text) return v;
    // A replacement that landed outside a JSON string literal (a card number stored as a JSON
    // number) would make the document unparseable: mask the whole document as one JSON string.
    if (json && masked !== null && !isJson(masked)) {
      const whole = this.#scanWhole!(text);
      masked = whole === null ? null : JSON.stringify(whole);
    }
    this.#cells++;
    this.#scanCells++;
    return masked;
  }

  /**
   * A JSON text's string literals scanned as the strings they hold: an escape (`\n`, `\t`,
   * `\u002d`) would otherwise stand in the detectors' way though the client decodes it. A literal
   * with a match is written back masked; null when the strategy nulls the whole value.
   */
  #scanJsonStrings(text: string): string | null {
    if (!text.includes('\\')) return text;
    let nulled = false;
    const out = text.replace(JSON_STRING, (literal) => {
      if (nulled || !literal.includes('\\')) return literal;
      const decoded = decodedJsonString(literal);
      if (decoded === undefined) return literal;
      const masked = this.#scanner!.scan(decoded);
      if (masked === decoded) return literal;
      if (masked === null) nulled = true;
      return JSON.stringify(masked ?? '');
    });
    return nulled ? null : out;
  }

  /**
   * A leaf of another type than STRING or JSON: its text as sent and, where its reader reads it
   * otherwise (`read`: BYTES decoded, a number in plain digits), that reading too. A match in
   * either makes the value NULL, since a replacement would not parse as its type.
   */
  #scanOther(plan: FieldPlan, v: CellValue, read?: (text: string) => string | undefined): CellValue {
    const text = scalar(plan, v);
    const reading = read?.(text);
    const scanner = this.#scanner!;
    if (scanner.scan(text) === text && (reading === undefined || reading === text || scanner.scan(reading) === reading)) return v;
    this.#cells++;
    this.#scanCells++;
    return null;
  }

  #record(plan: FieldPlan, v: CellValue): CellValue {
    const cells = (v as TableRow | null)?.f;
    if (!Array.isArray(cells)) throw new MaskingError('row_shape', `field ${plan.name}: RECORD value has no fields`);
    let copy: TableCell[] | undefined;
    const children = plan.children;
    for (let c = 0; c < children.length; c++) {
      const child = children[c]!;
      const cell = cells[child.index];
      if (cell === undefined) {
        throw new MaskingError('row_shape', `field ${plan.name}.${child.name}: missing from the RECORD value`);
      }
      const masked = this.#cell(child, cell);
      if (masked !== cell) (copy ??= cells.slice())[child.index] = masked;
    }
    return copy ? { f: copy } : v;
  }
}

/** REST scalars are strings; tolerate numbers and booleans, refuse anything structured. */
function scalar(plan: FieldPlan, v: CellValue): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new MaskingError('row_shape', `field ${plan.name}: expected a scalar value`);
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// Hashers are shared by every query under the same key so their memo keeps paying off.
const hashers = new Map<string, (value: string) => string>();
const MAX_HASHERS = 4;

function hasherFor(key: HashKey): (value: string) => string {
  const id = typeof key === 'string' ? 's:' + key : 'b:' + Buffer.from(key).toString('hex');
  let hasher = hashers.get(id);
  if (!hasher) {
    hasher = createHasher(key);
    if (hashers.size >= MAX_HASHERS) hashers.clear();
    hashers.set(id, hasher);
  }
  return hasher;
}
