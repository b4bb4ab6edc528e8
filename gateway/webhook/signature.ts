// `X-Sluice-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. The timestamp is
// signed with the body so a captured delivery cannot be replayed later than the receiver's
// tolerance; several v1 values may appear while a receiver rotates secrets.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-sluice-signature';

export function signatureFor(secret: string | Uint8Array, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

export interface VerifyOptions {
  /** Oldest (and furthest future) timestamp accepted, in seconds. Default 300. */
  toleranceSeconds?: number;
  /** Epoch seconds. Default now. */
  now?: number;
}

/** Checks a signature header against the raw body, in constant time per candidate. */
export function verifySignature(secret: string | Uint8Array, body: string, header: string | undefined, options: VerifyOptions = {}): boolean {
  if (!header) return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (key === 'v1' && value && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (timestamp === undefined || candidates.length === 0) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex'));
  return candidates.some((candidate) => timingSafeEqual(Buffer.from(candidate), expected));
}
