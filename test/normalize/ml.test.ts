// BigQuery ML in the SQL front end (engine/sql/gsql/ml.ts): the ML table-valued functions read
// their MODEL, named as a table ref (`model: true`) so the policy judges it as a table of its
// dataset; what comes out of a model has unknown lineage naming it; CREATE MODEL writes the model
// and reads its queries. A model in a dataset the caller may not read is denied by the compiled
// policy, as a table there would be.
import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { buildBundle, Engine } from '../../engine/index.ts';
import { normalize } from '../../engine/normalize.ts';
import type { Identity, Output, Statement, TableRef } from '../../engine/schema-types.ts';
import { analyzeSql } from '../../engine/sql/analyze.ts';
import { schemaCatalog } from '../../engine/sql/catalog.ts';
import { CUSTOMERS, ORDERS, PROJECT, schemas, statement } from './support.ts';

const MODEL = `${PROJECT}.sales.churn`;
const modelRef = (id: string, mode: TableRef['mode'] = 'read') => {
  const [project, dataset, table] = id.split('.');
  return { id, project, dataset, table, model: true, mode };
};
const tableIds = (s: Statement) => s.tables.map((t) => `${t.id}:${t.mode}${t.model === true ? ':model' : ''}`);
const brief = (o: Output) => ({ name: o.name, lineage: o.lineage, sources: o.sources.map((r) => `${r.table}:${r.column}`), tables: o.tables });

describe('ML.PREDICT', () => {
  it('reads its model as a table ref of its dataset, marked a model', () => {
    const s = statement('SELECT * FROM ML.PREDICT(MODEL sales.churn, (SELECT id, email FROM crm.customers))');
    expect(s.parsed, s.error).toBe(true);
    expect(s.tables[0]).toEqual(modelRef(MODEL));
    expect(tableIds(s)).toEqual([`${MODEL}:read:model`, `${CUSTOMERS}:read`]);
    expect(s.functions).toEqual(['ML.PREDICT']);
  });

  it('passes the input columns through; the prediction columns are unknown and name the model', () => {
    const s = statement('SELECT email, predicted_churn, predicted_churn_probs FROM ML.PREDICT(MODEL sales.churn, TABLE crm.customers)', { schemas });
    expect(s.parsed, s.error).toBe(true);
    expect(brief(s.outputs[0]!)).toEqual({ name: 'email', lineage: 'known', sources: [`${CUSTOMERS}:email`], tables: undefined });
    for (const o of s.outputs.slice(1)) {
      expect(o).toMatchObject({ lineage: 'unknown', direct: false, tables: [MODEL, CUSTOMERS] });
      expect(o.reason).toContain(`model ${MODEL}`);
    }
  });

  it('names the model in every spelling a table has', () => {
    const forms: [string, string][] = [
      ['MODEL `acme-analytics.sales.churn`', MODEL],
      ['MODEL `acme-analytics`.sales.churn', MODEL],
      ['MODEL `other-project.ml.m`', 'other-project.ml.m'],
      ['MODEL churn', MODEL],
    ];
    for (const [model, id] of forms) {
      const s = statement(`SELECT * FROM ML.PREDICT(${model}, (SELECT 1 AS x))`, { defaultDataset: 'sales' });
      expect(s.parsed, `${model}: ${s.error}`).toBe(true);
      expect(s.tables, model).toEqual([modelRef(id)]);
    }
  });

  it('a bare model name without a default dataset is not guessed', () => {
    const s = statement('SELECT * FROM ML.PREDICT(MODEL churn, (SELECT 1 AS x))');
    expect(s.parsed).toBe(false);
    expect(s.error).toBe('model churn has no dataset and no default dataset is set');
  });

  it('an option value is read like any value; what it reads joins the prediction lineage', () => {
    const s = statement('SELECT * FROM ML.PREDICT(MODEL sales.churn, TABLE sales.orders, STRUCT((SELECT MAX(total) FROM sales.orders) AS threshold))', { schemas });
    expect(s.parsed, s.error).toBe(true);
    expect(s.outputs.at(-1)).toMatchObject({ name: '*', lineage: 'unknown', tables: [MODEL, ORDERS] });
    expect(s.outputs.at(-1)!.sources.map((r) => r.column)).toContain('total');
  });
});

/** One statement per function, with the arguments BigQuery documents. */
const CALLS: [string, string][] = [
  ['ML.EVALUATE', 'ML.EVALUATE(MODEL sales.churn)'],
  ['ML.EVALUATE', 'ML.EVALUATE(MODEL sales.churn, TABLE crm.customers, STRUCT(0.55 AS threshold))'],
  ['ML.TRAINING_INFO', 'ML.TRAINING_INFO(MODEL sales.churn)'],
  ['ML.WEIGHTS', 'ML.WEIGHTS(MODEL sales.churn, STRUCT(true AS standardize))'],
  ['ML.ADVANCED_WEIGHTS', 'ML.ADVANCED_WEIGHTS(MODEL sales.churn)'],
  ['ML.RECOMMEND', 'ML.RECOMMEND(MODEL sales.churn, (SELECT id AS user FROM crm.customers))'],
  ['ML.FORECAST', 'ML.FORECAST(MODEL sales.churn, STRUCT(30 AS horizon, 0.9 AS confidence_level))'],
  ['ML.EXPLAIN_FORECAST', 'ML.EXPLAIN_FORECAST(MODEL sales.churn, STRUCT(30 AS horizon))'],
  ['ML.TRIAL_INFO', 'ML.TRIAL_INFO(MODEL sales.churn)'],
  ['ML.ROC_CURVE', 'ML.ROC_CURVE(MODEL sales.churn, TABLE crm.customers, GENERATE_ARRAY(0.4, 0.6, 0.01))'],
  ['ML.ARIMA_COEFFICIENTS', 'ML.ARIMA_COEFFICIENTS(MODEL sales.churn)'],
  ['ML.FEATURE_INFO', 'ML.FEATURE_INFO(MODEL sales.churn)'],
  ['ML.GENERATE_TEXT', "ML.GENERATE_TEXT(MODEL sales.churn, (SELECT email AS prompt FROM crm.customers), STRUCT(0.2 AS temperature))"],
  ['ML.GENERATE_EMBEDDING', 'ML.GENERATE_EMBEDDING(MODEL sales.churn, TABLE crm.customers)'],
  ['ML.EXPLAIN_PREDICT', 'ML.EXPLAIN_PREDICT(MODEL sales.churn, TABLE crm.customers, STRUCT(3 AS top_k_features))'],
  ['ML.DETECT_ANOMALIES', 'ML.DETECT_ANOMALIES(MODEL sales.churn, STRUCT(0.9 AS anomaly_prob_threshold))'],
  ['ML.DETECT_ANOMALIES', 'ML.DETECT_ANOMALIES(MODEL sales.churn, STRUCT(0.02 AS contamination), TABLE crm.customers)'],
  ['ML.CONFUSION_MATRIX', 'ML.CONFUSION_MATRIX(MODEL sales.churn, (SELECT * FROM crm.customers))'],
  ['ML.GLOBAL_EXPLAIN', 'ML.GLOBAL_EXPLAIN(MODEL sales.churn, STRUCT(true AS class_level_explain))'],
  ['ML.CENTROIDS', 'ML.CENTROIDS(MODEL sales.churn)'],
  ['ML.PRINCIPAL_COMPONENTS', 'ML.PRINCIPAL_COMPONENTS(MODEL sales.churn)'],
];
/** Those that return their input's columns beside the model's. */
const PASS_THROUGH = new Set(['ML.PREDICT', 'ML.EXPLAIN_PREDICT', 'ML.GENERATE_TEXT', 'ML.GENERATE_EMBEDDING', 'ML.DETECT_ANOMALIES']);

describe('the other ML table-valued functions', () => {
  it.each(CALLS)('%s reads its model; what it returns of the model is unknown and names it: %s', (name, call) => {
    const s = statement(`SELECT * FROM ${call}`, { schemas });
    expect(s.parsed, s.error).toBe(true);
    expect(s.functions).toContain(name);
    expect(s.tables[0]).toEqual(modelRef(MODEL));
    const input = s.tables.some((t) => t.id === CUSTOMERS);
    const fromModel = s.outputs.at(-1)!;
    expect(fromModel).toMatchObject({ name: '*', lineage: 'unknown', direct: false });
    expect(fromModel.tables).toEqual(input ? [MODEL, CUSTOMERS] : [MODEL]);
    expect(fromModel.reason).toMatch(new RegExp(`${name.replace('.', '\\.')} returns come from model ${MODEL}`));
    // The input's columns come through only where BigQuery passes them.
    const passed = s.outputs.slice(0, -1);
    if (!PASS_THROUGH.has(name) || !input) expect(passed).toEqual([]);
    else expect(passed.map((o) => o.name)).toEqual(call.includes('TABLE crm.customers') ? ['id', 'name', 'email', 'ssn', 'address', 'tags'] : ['prompt']);
  });

  it('ML.WEIGHTS and ML.FEATURE_INFO can show training values: never known, never constant', () => {
    for (const call of ['ML.WEIGHTS(MODEL sales.churn)', 'ML.FEATURE_INFO(MODEL sales.churn)']) {
      const s = statement(`SELECT input, min, max, weight, category_weights FROM ${call}`);
      expect(s.parsed, s.error).toBe(true);
      for (const o of s.outputs) expect(brief(o)).toEqual({ name: o.name, lineage: 'unknown', sources: [], tables: [MODEL] });
    }
  });

  it('metrics over an input are unknown and name the model and the input tables, with what the input reads', () => {
    const s = statement('SELECT precision, recall FROM ML.EVALUATE(MODEL sales.churn, (SELECT ssn, total FROM crm.customers JOIN sales.orders ON TRUE))', { schemas });
    expect(s.parsed, s.error).toBe(true);
    for (const o of s.outputs) {
      expect(o).toMatchObject({ lineage: 'unknown', tables: [MODEL, CUSTOMERS, ORDERS] });
      expect(o.sources.map((r) => `${r.table}:${r.column}`).sort()).toEqual([`${CUSTOMERS}:ssn`, `${ORDERS}:total`]);
    }
  });

  it('an ML function in a join, aliased, and read through a WITH query', () => {
    const s = statement(
      'WITH w AS (SELECT * FROM ML.WEIGHTS(MODEL sales.churn)) SELECT e.roc_auc, w.weight FROM ML.EVALUATE(MODEL sales.churn) AS e CROSS JOIN w',
    );
    expect(s.parsed, s.error).toBe(true);
    expect(tableIds(s)).toEqual([`${MODEL}:read:model`]);
    expect(s.outputs.map((o) => [o.name, o.lineage, o.tables])).toEqual([
      ['roc_auc', 'unknown', [MODEL]],
      ['weight', 'unknown', [MODEL]],
    ]);
  });

  it('refuses what it does not know, naming the construct and where it is', () => {
    const refusals: [string, string][] = [
      ['SELECT * FROM ML.NOT_A_FUNCTION(MODEL sales.churn)', 'table-valued function ML.NOT_A_FUNCTION is not analysed at 1:'],
      ['SELECT * FROM ML.PREDICT(MODEL sales.churn)', 'ML.PREDICT without an input table or query is not analysed at 1:'],
      ['SELECT * FROM ML.WEIGHTS(MODEL sales.churn, TABLE sales.orders)', 'ML.WEIGHTS with an input is not analysed at 1:'],
      ['SELECT * FROM ML.EVALUATE(MODEL sales.churn, TABLE sales.orders, TABLE crm.customers)', 'ML.EVALUATE with a second input is not analysed at 1:'],
      ['SELECT * FROM ML.TRIAL_INFO(MODEL sales.churn, STRUCT(1 AS trial_id))', 'ML.TRIAL_INFO with unexpected arguments is not analysed at 1:'],
      ['SELECT * FROM ML.PREDICT(STRUCT(1 AS a), TABLE sales.orders)', 'ML.PREDICT model that is not `MODEL name` is not analysed'],
      ['SELECT * FROM ML.EVALUATE(MODEL `sales.churn*`)', 'model name with a wildcard is not analysed at 1:'],
      ['SELECT * FROM ML.PREDICT(MODEL sales.churn, TABLE sales.orders, STRUCT(0.5 AS threshold), STRUCT(1 AS x))', 'ML.PREDICT with unexpected arguments is not analysed at 1:'],
    ];
    for (const [sql, error] of refusals) {
      const s = statement(sql);
      expect(s.parsed, sql).toBe(false);
      expect(s.error, sql).toContain(error);
    }
  });
});

/** Policy data as rego/org/data.yaml has it, with a model in the security dataset (read by security-team only). */
async function policyWithSecurityModel(): Promise<Engine> {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-ml-'));
  const regoDir = join(dir, 'rego');
  await cp(new URL('../../rego/', import.meta.url), regoDir, { recursive: true });
  const dataPath = join(regoDir, 'org', 'data.yaml');
  const data = parseYaml(await readFile(dataPath, 'utf8')) as { projects: Record<string, { datasets: Record<string, { tables: Record<string, unknown> }> }> };
  data.projects[PROJECT]!.datasets.security!.tables.triage_model = {};
  await writeFile(dataPath, stringify(data));
  const bundle = await buildBundle({ regoDir, out: join(dir, 'bundle.tar.gz') });
  return Engine.load(bundle.path);
}

const who = (subject: string, kind: Identity['kind'], groups: string[]): Identity => ({ subject, issuer: 'https://idp.acme.example', kind, groups, claims: {} });
const AGENT = who('report-bot@agents.acme.example', 'agent', ['agents']);
const RESPONDER = who('sec@acme.example', 'human', ['security-team']);

describe('the compiled policy judges a model as a table of its dataset', () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await policyWithSecurityModel();
  }, 120_000);

  const decide = (identity: Identity, sql: string) => {
    const input = normalize({ identity, project: PROJECT, sql });
    return engine.evaluate(input).decision;
  };
  const codes = (d: { reasons: { code: string }[] }) => d.reasons.map((r) => r.code);

  it('a model in a dataset the caller may not read is denied, whatever the data it is applied to', () => {
    for (const sql of [
      'SELECT * FROM ML.WEIGHTS(MODEL security.triage_model)',
      'SELECT order_id, predicted_label FROM ML.PREDICT(MODEL security.triage_model, (SELECT order_id, amount FROM sales.orders))',
      'SELECT * FROM ML.FEATURE_INFO(MODEL `acme-analytics.security.triage_model`)',
    ]) {
      const denied = decide(AGENT, sql);
      expect(denied.outcome, sql).toBe('deny');
      expect(codes(denied), sql).toContain('dataset_access_denied');
      expect(JSON.stringify(denied.reasons)).toContain('acme-analytics.security.triage_model');
      // The dataset's readers may read it.
      expect(decide(RESPONDER, sql).outcome, sql).toBe('allow');
    }
  });

  it('a model the data does not list is unknown, like a table', () => {
    const denied = decide(AGENT, 'SELECT * FROM ML.PREDICT(MODEL sales.secret_model, (SELECT order_id FROM sales.orders))');
    expect(denied.outcome).toBe('deny');
    expect(codes(denied)).toContain('unknown_table');
  });
});

/** A CREATE MODEL statement through the normalizer's SQL analysis. */
function createModel(sql: string, defaultDataset = true): { statement?: Statement; error?: string } {
  const names = { project: PROJECT, defaultDataset: defaultDataset ? { project: PROJECT, dataset: 'sales' } : undefined };
  const [statement] = analyzeSql(sql, names, schemaCatalog(schemas)).sql.statements;
  return statement!.parsed ? { statement } : { error: statement!.error };
}

function created(sql: string): Statement {
  const { statement, error } = createModel(sql);
  expect(error).toBeUndefined();
  return statement!;
}

describe('CREATE MODEL', () => {
  it('is DDL that writes the model and reads its query; the query\'s columns are what flows into the model', () => {
    const s = created(
      "CREATE OR REPLACE MODEL sales.churn OPTIONS (model_type = 'logistic_reg', input_label_cols = ['churned']) AS SELECT total, customer_id > 10 AS churned FROM sales.orders",
    );
    expect(s).toMatchObject({ type: 'CREATE_MODEL', category: 'ddl', parsed: true });
    expect(s.tables).toEqual([modelRef(MODEL, 'write'), { id: ORDERS, project: PROJECT, dataset: 'sales', table: 'orders', mode: 'read', policy_tags: {} }]);
    expect(s.outputs.map(brief)).toEqual([
      { name: 'total', lineage: 'known', sources: [`${ORDERS}:total`], tables: undefined },
      { name: 'churned', lineage: 'known', sources: [`${ORDERS}:customer_id`], tables: undefined },
    ]);
  });

  it('IF NOT EXISTS, a parenthesised query, comments and line breaks', () => {
    const s = created('CREATE MODEL IF NOT EXISTS `acme-analytics.sales.churn`\n  -- a comment\n  OPTIONS (model_type = "kmeans", num_clusters = 4)\nAS (\n  SELECT id, email FROM crm.customers /* end */\n)');
    expect(tableIds(s)).toEqual([`${MODEL}:write:model`, `${CUSTOMERS}:read`]);
    expect(s.outputs.map((o) => o.name)).toEqual(['id', 'email']);
  });

  it('TRANSFORM reads the query\'s columns: its columns are what the model is trained on', () => {
    const s = created(
      "CREATE MODEL sales.churn TRANSFORM (ML.FEATURE_CROSS(STRUCT(customer_id, id)) AS crossed, total * 2 AS doubled, * EXCEPT (customer_id, id, total)) OPTIONS (model_type = 'linear_reg', learn_rate = HPARAM_RANGE(0.01, 0.1)) AS SELECT id, customer_id, total, items FROM sales.orders",
    );
    expect(s.outputs.map(brief)).toEqual([
      { name: 'crossed', lineage: 'known', sources: [`${ORDERS}:customer_id`, `${ORDERS}:id`], tables: undefined },
      { name: 'doubled', lineage: 'known', sources: [`${ORDERS}:total`], tables: undefined },
      { name: 'items', lineage: 'known', sources: [`${ORDERS}:items`], tables: undefined },
    ]);
    expect(s.functions).toEqual(expect.arrayContaining(['HPARAM_RANGE', 'ML.FEATURE_CROSS']));
  });

  it('a TRANSFORM column the query lacks is unknown, never guessed', () => {
    const s = created("CREATE MODEL sales.churn TRANSFORM (nothing_here) OPTIONS (model_type = 'linear_reg') AS SELECT total FROM sales.orders");
    expect(s.outputs[0]).toMatchObject({ name: 'nothing_here', lineage: 'unknown', tables: [ORDERS] });
  });

  it('TRAINING_DATA and CUSTOM_HOLIDAY: both queries flow into the model', () => {
    const s = created(
      "CREATE MODEL sales.forecast OPTIONS (model_type = 'ARIMA_PLUS', holiday_region = 'US') AS (\n  TRAINING_DATA AS (SELECT id, total FROM sales.orders),\n  CUSTOM_HOLIDAY AS (SELECT email AS holiday_name FROM crm.customers)\n)",
    );
    expect(tableIds(s)).toEqual([`${PROJECT}.sales.forecast:write:model`, `${ORDERS}:read`, `${CUSTOMERS}:read`]);
    expect(s.outputs.map((o) => [o.index, o.name, o.sources.map((r) => r.column)])).toEqual([
      [0, 'id', ['id']],
      [1, 'total', ['total']],
      [2, 'holiday_name', ['email']],
    ]);
  });

  it('a remote model, or one without a query, writes the model and reads nothing', () => {
    for (const sql of [
      "CREATE OR REPLACE MODEL sales.gemini REMOTE WITH CONNECTION `acme-analytics.us.vertex` OPTIONS (endpoint = 'gemini-pro')",
      "CREATE MODEL sales.gemini REMOTE WITH CONNECTION DEFAULT OPTIONS (endpoint = 'gemini-pro')",
      "CREATE MODEL sales.gemini INPUT (prompt STRING) OUTPUT (content ARRAY<STRING>, score NUMERIC(10, 2)) REMOTE WITH CONNECTION us.vertex OPTIONS (endpoint = 'https://x.example/predict')",
      "CREATE MODEL sales.gemini OPTIONS (model_type = 'tensorflow', model_path = 'gs://bucket/model/*')",
    ]) {
      const s = created(sql);
      expect(tableIds(s), sql).toEqual([`${PROJECT}.sales.gemini:write:model`]);
      expect(s.outputs, sql).toEqual([]);
    }
  });

  it('a FOR SYSTEM_TIME expression in the query is read as written', () => {
    const s = created("CREATE MODEL sales.churn OPTIONS (model_type = 'linear_reg') AS SELECT total FROM sales.orders FOR SYSTEM_TIME AS OF TIMESTAMP_SUB(CURRENT_TIMESTAMP(), INTERVAL 1 HOUR)");
    expect(s.functions).toEqual(expect.arrayContaining(['TIMESTAMP_SUB', 'CURRENT_TIMESTAMP']));
  });

  it('refuses what it does not read, naming the construct and its line:column', () => {
    const refusals: [string, string][] = [
      ["CREATE MODEL sales.m OPTIONS (model_type = (SELECT 'x' FROM crm.customers)) AS SELECT 1 AS a", 'CREATE MODEL OPTIONS value that is not a constant is not analysed at 1:45'],
      ["CREATE MODEL sales.m OPTIONS (model_type = CONCAT('line', 'ar_reg')) AS SELECT 1 AS a", 'call of CONCAT in CREATE MODEL OPTIONS is not analysed at 1:44'],
      ["CREATE MODEL sales.m OPTIONS (model_type = 'x') PARTITION BY a AS SELECT 1 AS a", 'CREATE MODEL clause PARTITION is not analysed at 1:49'],
      ["CREATE MODEL sales.m\nTRANSFORM (a)\nOPTIONS (model_type = 'x')", 'TRANSFORM without a training query is not analysed at 2:1'],
      ["CREATE MODEL sales.m OPTIONS (model_type = 'x') AS (TRAINING_DATA AS (SELECT 1 AS a), EVAL_DATA AS (SELECT 2 AS a))", 'CREATE MODEL query EVAL_DATA is not analysed at 1:87'],
      ["CREATE MODEL sales.m OPTIONS (model_type = 'x') AS (CUSTOM_HOLIDAY AS (SELECT 1 AS a))", 'CREATE MODEL queries without TRAINING_DATA is not analysed at 1:52'],
      ["CREATE MODEL sales.m OPTIONS (model_type = 'x') OPTIONS (x = 1)", 'a second CREATE MODEL OPTIONS is not analysed at 1:49'],
      ["CREATE MODEL sales.m INPUT (a (SELECT 1)) REMOTE WITH CONNECTION DEFAULT", 'INPUT column list holding `SELECT` is not analysed at 1:32'],
      ['CREATE MODEL sales.m OPTIONS (model_type = \'x\') AS', 'CREATE MODEL AS without a query is not analysed at the end of the statement'],
    ];
    for (const [sql, error] of refusals) expect(createModel(sql).error, sql).toBe(error);
  });

  it('a query the parser refuses, or that reads what the analysis does not follow, is refused with its position', () => {
    expect(createModel("CREATE MODEL sales.m OPTIONS (model_type = 'x') AS\nSELECT total FROM sales.orders WHERE (").error).toMatch(/ at 2:\d+ /);
    expect(createModel('CREATE MODEL m OPTIONS (model_type = \'x\') AS SELECT 1 AS a', false).error).toBe('model m has no dataset and no default dataset is set');
  });

  it('CREATE TEMP MODEL is not read', () => {
    expect(createModel("CREATE TEMP MODEL m OPTIONS (model_type = 'x') AS SELECT 1 AS a").error).toMatch(/CREATE_TEMP_MODEL/);
  });
});
