// Resolves a decision's masks against a result schema, once per query: which leaf gets which
// strategy, which leaves the content scan reads, and the schema the client will receive.
import type { ContentScan, Mask, Strategy } from '../../engine/schema-types.ts';
import { MaskingError } from './errors.ts';
import { isRecordType, type SchemaField, type TableSchema } from './rows.ts';
import { allowedTypes, isBigQueryRule, restType, ruleAllows } from './bigquery-rules.ts';
import { isStrategy, nullsValues, stricter, type ValueMasker } from './strategies.ts';

/** What happens to one field's values. Numeric so the row walker switches on a small int. */
export const Action = {
  /** A scalar leaf goes through the mask strategy (its function depends on the leaf's type). */
  mask: 0,
  /** A STRING leaf goes through the content scan. */
  scan: 1,
  /** A JSON leaf goes through the content scan and must stay valid JSON. */
  scanJson: 2,
  /** A RECORD some of whose fields have work to do. */
  record: 3,
  /**
   * The whole value becomes NULL (an empty array for REPEATED, BigQuery's NULL array): `null`,
   * ALWAYS_NULL, and DEFAULT_MASKING_VALUE where the default is NULL (JSON) or `[]` (an ARRAY).
   */
  nullify: 4,
  /**
   * Any other leaf (INTEGER, NUMERIC, BYTES, ...) goes through the content scan; a match makes it
   * NULL, since a replacement text would not parse as its type.
   */
  scanOther: 5,
  /**
   * A BYTES leaf goes through the content scan as its reader reads it: the bytes its base64 text
   * stands for, decoded as UTF-8 text (and its base64 text too). A match makes it NULL.
   */
  scanBytes: 6,
  /**
   * A FLOAT, NUMERIC or BIGNUMERIC leaf goes through the content scan as its reader reads it: the
   * number written out in plain digits (BigQuery writes a FLOAT64 such as 4111111111111111 as
   * `4.111111111111111E15`), and its text as sent. A match makes it NULL.
   */
  scanNumber: 7,
} as const;
export type Action = (typeof Action)[keyof typeof Action];

export interface FieldPlan {
  /** Position of the field's cell in its row (or in its parent record's row). */
  index: number;
  name: string;
  repeated: boolean;
  action: Action;
  /** For `mask`: the strategy's function. */
  mask: ValueMasker | undefined;
  /** For `record`: only the fields with work to do. */
  children: FieldPlan[];
}

/** The schema as a tree, each node carrying the strictest strategy any mask put on it. */
interface Node {
  field: SchemaField;
  strategy: Strategy | undefined;
  /** The sensitive column the mask that set `strategy` comes from. */
  source: Mask['source'];
  children: Node[];
}

export interface ResolvedMasks {
  /** Top-level fields with work to do; empty when rows can pass through untouched. */
  plans: FieldPlan[];
  /** The schema to return to the client, consistent with the masked values. */
  schema: TableSchema;
  /** Number of top-level fields every row must have. */
  width: number;
}

export function resolveMasks(
  schema: TableSchema,
  masks: readonly Mask[],
  contentScan: ContentScan | undefined,
  maskerFor: (strategy: Strategy, type: string) => ValueMasker,
): ResolvedMasks {
  if (!schema || !Array.isArray(schema.fields)) {
    throw new MaskingError('row_shape', 'result schema has no fields');
  }
  const roots = schema.fields.map(toNode);
  for (const mask of masks) applyMask(roots, mask);
  const scan = contentScan?.strategy;
  const plans: FieldPlan[] = [];
  const fields: SchemaField[] = [];
  roots.forEach((node, index) => {
    const { plan, field } = compileNode(node, index, node.field.name, undefined, scan, maskerFor);
    if (plan) plans.push(plan);
    fields.push(field);
  });
  return { plans, schema: { ...schema, fields }, width: roots.length };
}

export interface LeafStrategy {
  /** Field names from the top-level column down to the leaf. */
  path: string[];
  field: SchemaField;
  /** The strictest mask on the leaf or on a RECORD above it, and the sensitive column it comes from. */
  strategy: Strategy | undefined;
  source: Mask['source'];
}

/**
 * Every leaf of `schema` (a RECORD without fields counts as one) with the strategy `masks` put
 * on it, resolved as `resolveMasks` resolves them. Throws `MaskingError` as it does.
 */
export function leafStrategies(schema: TableSchema, masks: readonly Mask[]): LeafStrategy[] {
  if (!schema || !Array.isArray(schema.fields)) {
    throw new MaskingError('row_shape', 'result schema has no fields');
  }
  const roots = schema.fields.map(toNode);
  for (const mask of masks) applyMask(roots, mask);
  const out: LeafStrategy[] = [];
  const walk = (nodes: readonly Node[], prefix: string[], inherited: Pick<Node, 'strategy' | 'source'>) => {
    for (const node of nodes) {
      const path = [...prefix, node.field.name];
      const here = stricter(inherited.strategy, node.strategy) === inherited.strategy ? inherited : node;
      if (node.children.length > 0) walk(node.children, path, here);
      else out.push({ path, field: node.field, strategy: here.strategy, source: here.source });
    }
  };
  walk(roots, [], { strategy: undefined, source: undefined });
  return out;
}

function toNode(field: SchemaField): Node {
  if (!field || typeof field.name !== 'string' || typeof field.type !== 'string') {
    throw new MaskingError('row_shape', 'result schema has a field without a name or type');
  }
  const type = field.type.toUpperCase();
  const children = isRecordType(type) ? (field.fields ?? []).map((f) => toNode(f as SchemaField)) : [];
  return { field, strategy: undefined, source: undefined, children };
}

/** Raises `node` to `mask`'s strategy when it is stricter (the first mask wins a tie). */
function tighten(node: Node, mask: Mask): void {
  const strategy = stricter(node.strategy, mask.strategy);
  if (strategy === node.strategy) return;
  node.strategy = strategy;
  node.source = mask.source;
}

function applyMask(roots: Node[], mask: Mask): void {
  if (!mask || typeof mask.output !== 'string' || mask.output === '') {
    throw new MaskingError('invalid_mask', `mask without an output column: ${JSON.stringify(mask)}`);
  }
  if (!isStrategy(mask.strategy)) {
    throw new MaskingError(
      'invalid_mask',
      `mask on ${mask.output} has unknown strategy ${JSON.stringify(mask.strategy)}`,
    );
  }
  const path = mask.path ?? [];
  if (mask.output === '*') {
    if (path.length > 0) throw new MaskingError('invalid_mask', 'a mask on `*` cannot have a path');
    for (const node of roots) tighten(node, mask);
    return;
  }
  const columns = matching(roots, mask.output);
  if (columns.length === 0) {
    throw new MaskingError(
      'unknown_output',
      `mask names output column ${JSON.stringify(mask.output)}, which the result does not have`,
    );
  }
  for (const column of columns) {
    let targets = [column];
    let walked = column.field.name;
    for (const segment of path) {
      const next: Node[] = [];
      for (const node of targets) {
        if (!isRecordType(node.field.type.toUpperCase())) {
          throw new MaskingError(
            'path_not_record',
            `mask path ${describe(mask)}: ${walked} is ${node.field.type}, not a RECORD`,
          );
        }
        next.push(...matching(node.children, segment));
      }
      if (next.length === 0) {
        throw new MaskingError(
          'unknown_path',
          `mask path ${describe(mask)}: ${walked} has no field ${JSON.stringify(segment)}`,
        );
      }
      targets = next;
      walked += '.' + segment;
    }
    for (const node of targets) tighten(node, mask);
  }
}

/** BigQuery compares column names case-insensitively; decisions carry them lower-cased. */
function matching(nodes: Node[], name: string): Node[] {
  const wanted = name.toLowerCase();
  return nodes.filter((n) => n.field.name.toLowerCase() === wanted);
}

function describe(mask: Mask): string {
  return [mask.output, ...(mask.path ?? [])].join('.');
}

/**
 * Pushes strategies down to the leaves (a stricter mask further down still wins) and returns the
 * field's plan, if it has work to do, and its output schema. `path` names the field in refusals.
 */
function compileNode(
  node: Node,
  index: number,
  path: string,
  inherited: Strategy | undefined,
  scan: Strategy | undefined,
  maskerFor: (strategy: Strategy, type: string) => ValueMasker,
): { plan: FieldPlan | undefined; field: SchemaField } {
  const { field } = node;
  const strategy = stricter(inherited, node.strategy);
  const repeated = field.mode === 'REPEATED';
  const type = restType(field.type);
  const plan = (action: Action, children: FieldPlan[] = []): FieldPlan => ({
    index,
    name: field.name,
    repeated,
    action,
    mask: action === Action.mask ? maskerFor(strategy!, type) : undefined,
    children,
  });

  if (nullsValues(strategy)) {
    return { plan: plan(Action.nullify), field: nullable(field) };
  }
  // An ARRAY's default is [] (what nullify makes of a REPEATED value), whatever its elements.
  if (strategy === 'DEFAULT_MASKING_VALUE' && repeated) {
    return { plan: plan(Action.nullify), field: cloneField(field) };
  }
  if (isRecordType(type)) {
    // BigQuery masks a STRUCT leaf by leaf (a rule on the STRUCT itself is NOT_APPLICABLE).
    const children: FieldPlan[] = [];
    const fields: SchemaField[] = [];
    node.children.forEach((child, i) => {
      const compiled = compileNode(child, i, `${path}.${child.field.name}`, strategy, scan, maskerFor);
      if (compiled.plan) children.push(compiled.plan);
      fields.push(compiled.field);
    });
    return {
      plan: children.length > 0 ? plan(Action.record, children) : undefined,
      field: { ...field, fields },
    };
  }
  if (strategy !== undefined && isBigQueryRule(strategy)) {
    if (!ruleAllows(strategy, type)) {
      throw new MaskingError(
        'unsupported_type',
        `the mask ${strategy} cannot apply to column ${path}, of type ${field.type}: BigQuery defines ${strategy} for ${allowedTypes(strategy)} only`,
      );
    }
    // JSON's default is NULL.
    if (strategy === 'DEFAULT_MASKING_VALUE' && type === 'JSON') return { plan: plan(Action.nullify), field: nullable(field) };
    // The value keeps its type: the schema stays as BigQuery sent it.
    return { plan: plan(Action.mask), field: cloneField(field) };
  }
  if (strategy !== undefined) {
    return { plan: plan(Action.mask), field: asMaskedString(field) };
  }
  if (scan !== undefined) {
    const action = scanActionOf(type);
    const text = action === Action.scan || action === Action.scanJson;
    return { plan: plan(action), field: nullsValues(scan) || !text ? nullable(field) : { ...field } };
  }
  return { plan: undefined, field: cloneField(field) };
}

/** How the content scan reads a leaf of `type` (REST spelling). */
function scanActionOf(type: string): Action {
  switch (type) {
    case 'STRING':
      return Action.scan;
    case 'JSON':
      return Action.scanJson;
    case 'BYTES':
      return Action.scanBytes;
    case 'FLOAT':
    case 'NUMERIC':
    case 'BIGNUMERIC':
      return Action.scanNumber;
    default:
      return Action.scanOther;
  }
}

/** A REQUIRED field that may now be NULL must say so; REPEATED stays (a NULL array is empty). */
function nullable(field: SchemaField): SchemaField {
  const copy = cloneField(field);
  if (copy.mode === 'REQUIRED') copy.mode = 'NULLABLE';
  return copy;
}

/**
 * Under the gateway's own strategies (redact, hash, last-4, email-domain) a masked value is a
 * string token ("[REDACTED]", "hash:...", "***-**-6789") whatever the column held, and clients
 * parse cells by declared type, so a masked non-STRING leaf is declared STRING
 * (an INT64 or DATE column hashed for joining stays usable). Type parameters that only made sense
 * for the original type, or would bound the token, are dropped.
 */
function asMaskedString(field: SchemaField): SchemaField {
  const {
    precision: _precision,
    scale: _scale,
    roundingMode: _roundingMode,
    maxLength: _maxLength,
    rangeElementType: _rangeElementType,
    ...rest
  } = field;
  return { ...rest, type: 'STRING' } as SchemaField;
}

function cloneField(field: SchemaField): SchemaField {
  return field.fields ? { ...field, fields: field.fields.map((f) => cloneField(f as SchemaField)) } : { ...field };
}
