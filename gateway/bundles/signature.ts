// Verifies a bundle's .signatures.json as OPA does (docs: management-bundles#signing): exactly one
// JWS, signed by a configured key with that key's algorithm, whose payload lists every file of the
// bundle (but the signatures file) with its digest; the scope must match. Keys are PEM public keys
// (RS*, PS*, ES*, EdDSA) or shared secrets (HS*).
import { readFileSync } from 'node:fs';
import { compactVerify, decodeProtectedHeader, importSPKI, type CryptoKey } from 'jose';
import { fileDigest } from './canonical.ts';
import { BundleRefused, type BundleFile } from './tarball.ts';

export const SIGNATURES_FILE = '.signatures.json';
export const SIGNING_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface VerificationKey {
  /** A PEM public key (or HS* secret), or the path of a file holding it. */
  key: string;
  algorithm: SigningAlgorithm;
  scope?: string;
}

export interface VerificationConfig {
  keys: Record<string, VerificationKey>;
  /** The key to verify with; default: the signature's `kid` header, else its payload's `keyid`. */
  keyId?: string;
  /** The scope the signature must name; default: the key's scope (or none). */
  scope?: string;
}

export interface SignaturePayload {
  files: { name: string; hash: string; algorithm: string }[];
  keyid?: string;
  scope?: string;
  [claim: string]: unknown;
}

export interface Verified {
  keyId: string;
  payload: SignaturePayload;
}

const refuse = (message: string): never => {
  throw new BundleRefused('signature', message);
};

export async function verifyBundle(files: BundleFile[], config: VerificationConfig): Promise<Verified> {
  const signatures = files.find((f) => f.name === SIGNATURES_FILE);
  if (!signatures) return refuse('the bundle is not signed (no .signatures.json) and verification is configured');
  let tokens: unknown;
  try {
    tokens = (JSON.parse(new TextDecoder().decode(signatures.data)) as { signatures?: unknown }).signatures;
  } catch {
    return refuse('.signatures.json is not JSON');
  }
  if (!Array.isArray(tokens) || tokens.length === 0) return refuse('.signatures.json holds no signature');
  if (tokens.length > 1) return refuse('.signatures.json holds more than one signature (OPA supports one)');
  const token = tokens[0];
  if (typeof token !== 'string') return refuse('the signature is not a JWS compact serialization');

  let header: ReturnType<typeof decodeProtectedHeader>;
  let claimed: SignaturePayload;
  try {
    header = decodeProtectedHeader(token);
    claimed = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as SignaturePayload;
  } catch {
    return refuse('the signature is not a JWS compact serialization');
  }
  const keyId = config.keyId || header.kid || (typeof claimed.keyid === 'string' ? claimed.keyid : '');
  if (!keyId) return refuse('the signature names no key id and no bundle.verification.key_id is configured');
  const keyConfig = config.keys[keyId];
  if (!keyConfig) return refuse(`the signature's key ${JSON.stringify(keyId)} is not a configured verification key`);
  if (header.alg !== keyConfig.algorithm) {
    return refuse(`the signature uses ${String(header.alg)}, key ${keyId} is configured for ${keyConfig.algorithm}`);
  }

  let payload: SignaturePayload;
  try {
    const result = await compactVerify(token, await importKey(keyConfig), { algorithms: [keyConfig.algorithm] });
    payload = JSON.parse(new TextDecoder().decode(result.payload)) as SignaturePayload;
  } catch (error) {
    return refuse(`the signature does not verify with key ${keyId}: ${(error as Error).message}`);
  }
  const scope = config.scope ?? keyConfig.scope ?? '';
  if ((payload.scope ?? '') !== scope) return refuse(`scope mismatch: the signature has ${JSON.stringify(payload.scope ?? '')}, expected ${JSON.stringify(scope)}`);
  if (!Array.isArray(payload.files)) return refuse('the signature lists no files');

  const listed = new Map<string, SignaturePayload['files'][number]>();
  for (const entry of payload.files) {
    const name = String(entry?.name ?? '').replace(/^\/+/, '');
    if (listed.has(name)) return refuse(`the signature lists ${name} twice`);
    listed.set(name, entry);
  }
  const present = files.filter((f) => f.name !== SIGNATURES_FILE);
  for (const file of present) {
    const entry = listed.get(file.name);
    if (!entry) return refuse(`file ${file.name} is not included in the bundle signature`);
    if (!entry.algorithm) return refuse(`no hashing algorithm given for file ${file.name}`);
    let digest: string;
    try {
      digest = fileDigest(file.name, file.data, entry.algorithm);
    } catch (error) {
      return refuse(`file ${file.name} cannot be hashed: ${(error as Error).message}`);
    }
    if (digest !== String(entry.hash).toLowerCase()) return refuse(`file ${file.name}: digest mismatch (the file changed after signing)`);
    listed.delete(file.name);
  }
  if (listed.size > 0) return refuse(`files listed in the signature are missing from the bundle: ${[...listed.keys()].join(', ')}`);
  return { keyId, payload };
}

/** How far in the future a signature's `iat` may lie (clocks differ): beyond, it is a mistake or a trap. */
const FUTURE_SKEW_SECONDS = 300;

/**
 * When a verified bundle was signed: its payload's `iat` (seconds since the epoch). Revisions are
 * names, not ordered, so this is what tells an older signed bundle replayed by whoever stands
 * between the gateway and its bundle server from a newer one. Absent, it is a refusal: such a
 * bundle could not be ordered. Far in the future, too: it would hold back every later bundle.
 */
export function signedAt(payload: SignaturePayload, now: Date = new Date()): number {
  const iat = payload.iat;
  if (typeof iat !== 'number' || !Number.isSafeInteger(iat) || iat <= 0) {
    return refuse('the signature carries no `iat` claim (seconds since the epoch when it was signed), so it cannot be told from an older one: sign with `sluice build --signing-key`, or put "iat" in opa build\'s --claims-file');
  }
  if (iat > now.getTime() / 1000 + FUTURE_SKEW_SECONDS) {
    return refuse(`the signature's \`iat\` (${new Date(iat * 1000).toISOString()}) lies in the future`);
  }
  return iat;
}

async function importKey(config: VerificationKey): Promise<CryptoKey | Uint8Array> {
  const material = keyMaterial(config.key);
  if (config.algorithm.startsWith('HS')) {
    // A PEM key is public: taken for an HS* secret, anyone holding it could sign.
    if (material.includes('-----BEGIN')) throw new Error(`key ${config.algorithm} is a PEM key, not a shared secret`);
    return new TextEncoder().encode(material);
  }
  return importSPKI(material, config.algorithm);
}

/** A PEM (or secret) given inline, or the path of a file holding one. */
export function keyMaterial(key: string): string {
  if (key.includes('-----BEGIN')) return key;
  try {
    return readFileSync(key, 'utf8');
  } catch (error) {
    // A value written as a path names a key file: when it cannot be read, it is an error, never
    // taken for the secret itself (a path in a configuration is no secret; anyone could sign with it).
    const code = (error as { code?: string }).code;
    if ((code !== 'ENOENT' && code !== 'ENAMETOOLONG') || looksLikePath(key)) {
      throw new Error(`the key file ${key} cannot be read (${code ?? (error as Error).message})`);
    }
    return key; // an HS* secret given inline
  }
}

function looksLikePath(key: string): boolean {
  return /^(?:\/|\.\.?[\\/]|~[\\/]|[A-Za-z]:[\\/])/.test(key) || /\.(?:pem|key|pub|txt|secret|jwk|json)$/i.test(key);
}
