// Derives engine/schema-types.ts from schemas/*.schema.json, so TypeScript types are never written
// twice. `--check` fails when the committed file is stale (run in CI).
import { readFile, writeFile, readdir } from 'node:fs/promises';
import { compile } from 'json-schema-to-typescript';

const root = new URL('../', import.meta.url);
const target = new URL('engine/schema-types.ts', root);
const files = (await readdir(new URL('schemas/', root))).filter((f) => f.endsWith('.schema.json')).sort();

let out = '// Generated from schemas/*.schema.json by scripts/gen-types.ts. Do not edit.\n';
for (const file of files) {
  const schema = JSON.parse(await readFile(new URL(`schemas/${file}`, root), 'utf8'));
  out += '\n' + (await compile(schema, schema.title, { bannerComment: '', additionalProperties: false, strictIndexSignatures: false, format: true }));
}

if (process.argv.includes('--check')) {
  const current = await readFile(target, 'utf8').catch(() => '');
  if (current !== out) {
    console.error('engine/schema-types.ts is stale: run `just types`');
    process.exit(1);
  }
} else {
  await writeFile(target, out);
}
