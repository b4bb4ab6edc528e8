// Reads an OPA bundle (bundle.tar.gz): the compiled policy.wasm, its data.json and the .manifest.
import { parseTarGzip } from 'nanotar';
import { EngineError } from './errors.ts';

export interface Bundle {
  wasm: Uint8Array;
  data: Uint8Array;
  revision: string;
}

export async function readBundle(bytes: Uint8Array): Promise<Bundle> {
  let files: { name: string; data?: Uint8Array }[];
  try {
    files = await parseTarGzip(bytes);
  } catch (thrown) {
    throw new EngineError('bundle_invalid', `bundle is not a readable tar.gz: ${String(thrown)}`);
  }
  const file = (name: string) => files.find((f) => f.name.replace(/^\/+/, '') === name)?.data;
  const wasm = file('policy.wasm');
  if (!wasm) throw new EngineError('bundle_invalid', 'bundle has no policy.wasm: build it with `opa build -t wasm`');
  const manifest = file('.manifest');
  let revision = '';
  if (manifest) {
    try {
      revision = String((JSON.parse(new TextDecoder().decode(manifest)) as { revision?: unknown }).revision ?? '');
    } catch {
      throw new EngineError('bundle_invalid', 'bundle .manifest is not JSON');
    }
  }
  return { wasm, data: file('data.json') ?? new TextEncoder().encode('{}'), revision };
}
