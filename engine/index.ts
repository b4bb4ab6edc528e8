// The engine's public surface: what the CLI, the fixture runner and the gateway use.
export { namedTables, normalize, withEstimate, type NormalizeRequest } from './normalize.ts';
export { sqlShapeHash } from './sql/analysis.ts';
export { Engine, PreparedPolicy, type Evaluation } from './engine.ts';
export { buildBundle, DEFAULT_BUNDLE, type BuildResult } from './build.ts';
export { EngineError, type EngineErrorCode } from './errors.ts';
export type * from './schema-types.ts';
