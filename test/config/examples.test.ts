// Every configuration in examples/ is valid against schemas/gateway-config.schema.json, read the way
// the gateway reads it (gateway/config/load.ts: `${VAR}` references expanded, defaults filled in),
// so an example can never drift from the schema. Each `${VAR}` an example refers to is given a
// placeholder value here; an example referring to a variable it does not list in its header
// comment fails, so operators learn from the file itself what to set.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ConfigError, loadConfigFile, resolveConfig } from '../../gateway/config/load.ts';

const EXAMPLES = join(import.meta.dirname, '..', '..', 'examples');
const files = readdirSync(EXAMPLES).filter((name) => /\.ya?ml$/.test(name)).sort();

/** The variables a file refers to through `${NAME}`, outside comments. */
function referencedVariables(text: string): string[] {
  const uncommented = text
    .split('\n')
    .map((line) => line.replace(/(^|\s)#.*$/, ''))
    .join('\n');
  return [...new Set([...uncommented.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g)].map((m) => m[1]!))].sort();
}

/** A placeholder long enough for any length the schema asks of a secret. */
const placeholder = (name: string) => `example-value-of-${name}-${'x'.repeat(32)}`;

describe('examples/', () => {
  it('holds at least one gateway configuration', () => {
    expect(files).toContain('gateway.yaml');
  });

  describe.each(files)('%s', (name) => {
    const path = join(EXAMPLES, name);
    const text = readFileSync(path, 'utf8');
    const variables = referencedVariables(text);
    const env = Object.fromEntries(variables.map((v) => [v, placeholder(v)]));

    it('is valid against the configuration schema', () => {
      const config = resolveConfig(parse(text), { baseDir: EXAMPLES, env, source: path });
      expect(config.issuers.length).toBeGreaterThan(0);
      expect(config.connections.length).toBeGreaterThan(0);
    });

    it('loads as the gateway loads it, and names every variable it needs in its comments', async () => {
      await expect(loadConfigFile(path, env)).resolves.toBeDefined();
      const comments = text
        .split('\n')
        .filter((line) => line.trimStart().startsWith('#'))
        .join('\n');
      for (const variable of variables) expect(comments, `${name} explains ${variable}`).toContain(variable);
    });

    it.runIf(variables.length > 0)('refuses to start with any of its variables unset', () => {
      for (const variable of variables) {
        const { [variable]: _, ...missing } = env;
        expect(() => resolveConfig(parse(text), { baseDir: EXAMPLES, env: missing, source: path })).toThrow(ConfigError);
      }
    });
  });

  it('gateway.yaml is a real deployment: BigQuery with impersonation and workload identity, PostgreSQL, two issuers, the approver page, the MCP door, a bundle server, decision logs', async () => {
    const path = join(EXAMPLES, 'gateway.yaml');
    const variables = referencedVariables(readFileSync(path, 'utf8'));
    const env = Object.fromEntries(variables.map((v) => [v, placeholder(v)]));
    const config = await loadConfigFile(path, { ...env, SLUICE_DATABASE_URL: 'postgres://sluice@db.internal/sluice' });
    expect(config.storageUrl).toMatch(/^postgres:\/\//);
    expect(config.hashKeyEnv).toBe('SLUICE_HASH_KEY');
    expect(config.issuers).toHaveLength(2);
    expect(config.connections.map((c) => [c.upstream, c.credentials.mode, c.estimate_mode])).toEqual([
      ['https://bigquery.googleapis.com', 'impersonate', 'cap'],
      ['https://bigquery.googleapis.com', 'workload-identity', 'cap'],
    ]);
    expect(config.connections.every((c) => c.require_referenced_tables)).toBe(true);
    expect(config.approverPage).toMatchObject({ issuer: 'https://login.acme.example', clientId: 'sluice-approver' });
    expect(config.mcp).toMatchObject({ resource: 'https://sluice.acme.example/mcp', defaultProject: 'acme-analytics' });
    expect(config.publicUrl).toBe('https://sluice.acme.example');
    // The policy pulled from a bundle server (signed bundles only), decisions shipped to a collector.
    expect(config).toMatchObject({
      bundleServer: { url: 'https://bundles.acme.example/sluice/bundle.tar.gz', persistDir: '/var/lib/sluice/bundles', verification: expect.anything() },
      decisionLogs: { url: 'https://decision-logs.acme.example' },
    });
  });
});
