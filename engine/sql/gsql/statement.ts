// One parsed statement by kind. The parser's statement kind must agree with the leading-keyword
// classification (../classify.ts), or the statement is reported unparsed.
import type { Output } from '../../schema-types.ts';
import type { Classification } from '../classify.ts';
import type { StatementContext } from '../context.ts';
import type { Scope } from '../scope.ts';
import { queryOutputs } from '../relation.ts';
import { alterTableStatement, createTableStatement, createViewStatement, dropTableStatement, dropViewStatement, exportStatement, truncateStatement } from './ddl.ts';
import { deleteStatement, insertStatement, updateStatement } from './dml.ts';
import { createModelStatement } from './ml.ts';
import type { StatementSource } from './statement-reader.ts';
import { mergeStatement } from './merge.ts';
import { analyzeQuery, isQuery } from './query.ts';
import { createFunctionStatement, declareStatement, dropTempTables, insertIntoTempTable, setStatement, tempTableNamed } from './script.ts';
import type { ScriptState } from './statement-facts.ts';
import { Unsupported } from '../ast.ts';
import { variant } from './tree.ts';

/** Classified types the analysis reads, and the parser's statement kinds each may be read as. */
const EXPECTED_KINDS: Record<string, readonly string[]> = {
  SELECT: ['select', 'union', 'intersect', 'except', 'subquery'],
  INSERT: ['insert'],
  UPDATE: ['update'],
  DELETE: ['delete'],
  MERGE: ['merge'],
  CREATE_TABLE: ['create_table'],
  CREATE_TEMP_TABLE: ['create_table'],
  CREATE_VIEW: ['create_view'],
  CREATE_MATERIALIZED_VIEW: ['create_view'],
  DROP_TABLE: ['drop_table'],
  // It drops its table as DROP TABLE does.
  DROP_EXTERNAL_TABLE: ['drop_table'],
  DROP_VIEW: ['drop_view'],
  DROP_MATERIALIZED_VIEW: ['drop_view'],
  ALTER_TABLE: ['alter_table'],
  TRUNCATE_TABLE: ['truncate'],
  EXPORT_DATA: ['export'],
  DECLARE: ['declare'],
  SET: ['set_statement'],
  CREATE_TEMP_FUNCTION: ['create_function'],
  CREATE_FUNCTION: ['create_function'],
  // A table function created in a dataset (routines.ts); BigQuery has no CREATE TEMP TABLE FUNCTION.
  CREATE_TABLE_FUNCTION: ['create_function'],
  // The parser leaves CREATE MODEL unread (`raw`); it is read from the statement's tokens (ml.ts).
  CREATE_MODEL: ['raw'],
};

export const GSQL_TYPES: ReadonlySet<string> = new Set(Object.keys(EXPECTED_KINDS));

/** `source`, the statement's text and tokens, is what the statements the tree leaves unread (CREATE MODEL) are read from. */
export function analyzeStatement(ast: unknown, classification: Classification, outer: Scope | undefined, ctx: StatementContext, script: ScriptState, source?: StatementSource): Output[] {
  const v = variant(ast, 'statement');
  const expected = EXPECTED_KINDS[classification.type] ?? [];
  if (!expected.includes(v.kind)) return refuseKind(v.kind, classification.type);
  const view = v.kind === 'create_view' && (v.body.materialized === true) !== (classification.type === 'CREATE_MATERIALIZED_VIEW');
  if (view) return refuseKind(v.kind, classification.type);
  // A function of a dataset is a routine (routines.ts), a temporary one script state: the reading must agree with the text.
  const routine = v.kind === 'create_function' && ((v.body.is_table_function === true) !== (classification.type === 'CREATE_TABLE_FUNCTION') || (v.body.temporary === true) !== (classification.type === 'CREATE_TEMP_FUNCTION'));
  if (routine) return refuseKind(v.kind, classification.type);
  switch (v.kind) {
    case 'insert': {
      const temp = tempTableNamed(v.body.table, script);
      return temp === undefined ? insertStatement(v, outer, ctx) : insertIntoTempTable(v, temp, outer, ctx, script);
    }
    case 'update':
      return updateStatement(v, outer, ctx);
    case 'delete':
      return deleteStatement(v, outer, ctx);
    case 'merge':
      return mergeStatement(v, outer, ctx);
    case 'create_table':
      return createTableStatement(v, outer, ctx, script);
    case 'create_view':
      return createViewStatement(v, outer, ctx);
    case 'drop_table':
      return dropTempTables(v, ctx, script) ?? dropTableStatement(v, ctx);
    case 'drop_view':
      return dropViewStatement(v, ctx);
    case 'alter_table':
      return alterTableStatement(v, ctx);
    case 'truncate':
      return truncateStatement(v, ctx);
    case 'export':
      return exportStatement(v, outer, ctx);
    case 'declare':
      return declareStatement(v, outer, ctx, script);
    case 'set_statement':
      return setStatement(v, outer, ctx, script);
    case 'create_function':
      return createFunctionStatement(v, ctx, script, source);
    case 'raw':
      // Only CREATE_MODEL expects `raw` (EXPECTED_KINDS).
      if (source === undefined) throw new Unsupported('CREATE MODEL is read from the statement text, which the analysis was not given');
      return createModelStatement(source, outer, ctx);
    default:
      if (!isQuery(v) && v.kind !== 'subquery') return refuseKind(v.kind, classification.type);
      return queryOutputs(analyzeQuery(ast, outer, outer?.ctes, ctx));
  }
}

function refuseKind(kind: string, type: string): never {
  throw new Unsupported(`the parser read a ${kind} statement where ${type} was expected`);
}
