// The validators fixture files are checked with, compiled once.
import type { ValidateFunction } from 'ajv';
import { ajv, loadSchema } from '../../engine/schemas.ts';
import type { FixtureSuite, TableSchemas } from '../../engine/schema-types.ts';

const compileOnce = <T>(schema: object): ValidateFunction<T> =>
  (ajv.getSchema<T>((schema as { $id: string }).$id) ?? ajv.compile<T>(schema)) as ValidateFunction<T>;

type SchemaNode = Record<string, unknown> & { anyOf?: SchemaNode[] };

/**
 * fixture.schema.json reworded for error messages; it accepts exactly the same documents. The
 * contract states expectations with anyOf (which the generated types follow), and ajv reports a
 * failed anyOf with every branch's complaint. Here each anyOf over expectations becomes
 * if/then/else on the value's shape, so only the branch the value was written for speaks; the
 * case-level anyOf on `expect` goes, as the case's then/else check it by the case's shape.
 */
function suiteSchema(): object {
  const schema = structuredClone(loadSchema('fixture.schema.json')) as { $id: string; $defs: Record<string, SchemaNode> };
  const defs = schema.$defs;
  schema.$id = schema.$id.replace(/\.schema\.json$/, '.loader.schema.json');
  (defs.FixtureCase!.properties as Record<string, unknown>).expect = true;
  const [outcome, object] = defs.FixtureExpectation!.anyOf!;
  defs.FixtureExpectation = { title: 'FixtureExpectation', if: { not: { type: 'object' } }, then: outcome, else: object };
  const matrix = defs.FixtureMatrixExpectation!;
  const [, perRequest] = (matrix.additionalProperties as SchemaNode).anyOf!;
  const { not: _, ...perRequestMap } = perRequest!;
  matrix.additionalProperties = {
    if: { anyOf: [{ type: 'string' }, { type: 'object', properties: { outcome: true }, required: ['outcome'] }] },
    then: { $ref: '#/$defs/FixtureExpectation' },
    else: perRequestMap,
  };
  return schema;
}

export const validateSuite = compileOnce<FixtureSuite>(suiteSchema());
export const validateTableSchemas = compileOnce<TableSchemas>(loadSchema('table-schemas.schema.json'));
