// The digest OPA's bundle signatures give a file (bundle/hash.go): the bytes of an unstructured
// file; for a structured one (data.json, data.yaml, .manifest, .signatures.json) the document with
// object keys sorted (byte order), no whitespace, strings as Go's JSON encoder writes them (HTML
// characters not escaped) and numbers as written in the file (OPA decodes them as json.Number).
import { createHash } from 'node:crypto';
import { parse as parseYaml } from 'yaml';

const STRUCTURED = new Set(['data.json', 'data.yaml', '.manifest', '.signatures.json']);

/** OPA's names of hashing algorithms → node's. */
const HASHES: Record<string, string> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA-512-224': 'sha512-224',
  'SHA-512-256': 'sha512-256',
};

export function isStructured(name: string): boolean {
  return STRUCTURED.has(name.split('/').pop() ?? name);
}

export function fileDigest(name: string, data: Uint8Array, algorithm: string): string {
  const hash = HASHES[algorithm];
  if (!hash) throw new Error(`unsupported hashing algorithm ${algorithm} for ${name}`);
  const h = createHash(hash);
  if (!isStructured(name)) return h.update(data).digest('hex');
  const text = new TextDecoder('utf-8', { fatal: false }).decode(data);
  const canonical = name.endsWith('.yaml') ? canonicalOf(parseYaml(text) as unknown) : canonicalJson(text);
  return h.update(canonical, 'utf8').digest('hex');
}

/** The canonical form of a JSON text, number literals kept as written. */
export function canonicalJson(text: string): string {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (what: string): never => {
    throw new Error(`not JSON: ${what} at offset ${i}`);
  };
  const string = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) fail('unterminated string');
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (): string => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const members: [string, string][] = [];
      ws();
      if (text[i] === '}') i++;
      else
        for (;;) {
          ws();
          if (text[i] !== '"') fail('expected a key');
          const key = string();
          ws();
          if (text[i++] !== ':') fail('expected :');
          members.push([key, value()]);
          ws();
          const next = text[i++];
          if (next === '}') break;
          if (next !== ',') fail('expected , or }');
        }
      return `{${sortKeys(members).map(([k, v]) => `${encodeString(k)}:${v}`).join(',')}}`;
    }
    if (c === '[') {
      i++;
      const items: string[] = [];
      ws();
      if (text[i] === ']') i++;
      else
        for (;;) {
          items.push(value());
          ws();
          const next = text[i++];
          if (next === ']') break;
          if (next !== ',') fail('expected , or ]');
        }
      return `[${items.join(',')}]`;
    }
    if (c === '"') return encodeString(string());
    const literal = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i, i + 400));
    if (!literal) return fail('unexpected character');
    i += literal[0].length;
    return literal[0];
  };
  const result = value();
  ws();
  if (i !== text.length) fail('trailing characters');
  return result;
}

function canonicalOf(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalOf).join(',')}]`;
  if (v && typeof v === 'object') {
    const members = Object.entries(v).map(([k, x]) => [k, canonicalOf(x)] as [string, string]);
    return `{${sortKeys(members).map(([k, x]) => `${encodeString(k)}:${x}`).join(',')}}`;
  }
  if (typeof v === 'string') return encodeString(v);
  return JSON.stringify(v ?? null);
}

/** Go sorts keys by their UTF-8 bytes. */
function sortKeys(members: [string, string][]): [string, string][] {
  return members.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Go's encoding/json with HTML escaping off: like JSON.stringify, plus U+2028 and U+2029 escaped. */
function encodeString(s: string): string {
  return JSON.stringify(s).replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}
