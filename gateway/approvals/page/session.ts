// The approver page's cookies: encrypted, authenticated JWTs (JWE `dir` + A256GCM) under a key
// derived from the configured secret, so replicas sharing the secret share sessions and nothing
// in a cookie can be read or altered by the browser. A `use` claim keeps a sign-in cookie from
// being replayed as a session.
import { hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { EncryptJWT, jwtDecrypt } from 'jose';
import type { Identity } from '../../../engine/schema-types.ts';

export interface PageSession {
  /** Random id, recorded when the session is signed out (gateway/approvals/store.ts). */
  id: string;
  identity: Identity;
  /** Per-session CSRF token, echoed by every form. */
  csrf: string;
  /** Display name from the ID token, when it had one. */
  name?: string;
  /** When the session began and when it expires (epoch ms), from the sealed cookie. */
  signedInAtMs?: number;
  expiresAtMs?: number;
}

/** What the sign-in redirect must come back with (state, nonce, PKCE verifier). */
export interface LoginState {
  state: string;
  nonce: string;
  codeVerifier: string;
  next: string;
}

export class SessionCodec {
  readonly #key: Uint8Array;

  constructor(secret: string | Uint8Array | undefined) {
    // Without a configured secret, sessions live as long as this process (one replica only).
    const material = secret === undefined ? randomBytes(32) : typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (material.length < 32) throw new TypeError('the approver page session secret needs at least 32 bytes');
    this.#key = new Uint8Array(hkdfSync('sha256', material, 'sluice approver page', 'cookie encryption v1', 32));
  }

  async seal(use: 'session' | 'login', payload: Record<string, unknown>, ttlSeconds: number): Promise<string> {
    return new EncryptJWT({ ...payload, use })
      .setProtectedHeader({ alg: 'dir', enc: 'A256GCM' })
      .setIssuedAt()
      .setExpirationTime(`${ttlSeconds}s`)
      .encrypt(this.#key);
  }

  /** The payload, or undefined when the cookie is absent, forged, expired or of another use. */
  async open(use: 'session' | 'login', token: string | undefined): Promise<Record<string, unknown> | undefined> {
    if (!token || token.length > 8192) return undefined;
    try {
      const { payload } = await jwtDecrypt(token, this.#key, { keyManagementAlgorithms: ['dir'], contentEncryptionAlgorithms: ['A256GCM'] });
      return payload.use === use ? payload : undefined;
    } catch {
      return undefined;
    }
  }

  async sealSession(session: PageSession, ttlSeconds: number): Promise<string> {
    return this.seal('session', { sid: session.id, identity: session.identity, csrf: session.csrf, ...(session.name && { name: session.name }) }, ttlSeconds);
  }

  async openSession(token: string | undefined): Promise<PageSession | undefined> {
    const payload = await this.open('session', token);
    if (!payload) return undefined;
    const identity = payload.identity as Identity | undefined;
    if (!identity || typeof identity.subject !== 'string' || typeof identity.issuer !== 'string' || !Array.isArray(identity.groups)) return undefined;
    if (typeof payload.csrf !== 'string' || typeof payload.sid !== 'string') return undefined;
    return {
      id: payload.sid,
      identity,
      csrf: payload.csrf,
      ...(typeof payload.name === 'string' && { name: payload.name }),
      ...(typeof payload.iat === 'number' && { signedInAtMs: payload.iat * 1000 }),
      ...(typeof payload.exp === 'number' && { expiresAtMs: payload.exp * 1000 }),
    };
  }

  async sealLogin(state: LoginState, ttlSeconds: number): Promise<string> {
    return this.seal('login', { ...state }, ttlSeconds);
  }

  async openLogin(token: string | undefined): Promise<LoginState | undefined> {
    const payload = await this.open('login', token);
    if (!payload) return undefined;
    const { state, nonce, codeVerifier, next } = payload;
    if (typeof state !== 'string' || typeof nonce !== 'string' || typeof codeVerifier !== 'string' || typeof next !== 'string') return undefined;
    return { state, nonce, codeVerifier, next };
  }
}

export function newSessionId(): string {
  return randomBytes(16).toString('base64url');
}

export function newCsrfToken(): string {
  return randomBytes(32).toString('base64url');
}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const index = part.indexOf('=');
    if (index < 0) continue;
    if (part.slice(0, index).trim() === name) return part.slice(index + 1).trim();
  }
  return undefined;
}

export interface CookieOptions {
  path: string;
  secure: boolean;
  maxAgeSeconds: number;
}

export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${options.path}`, `Max-Age=${options.maxAgeSeconds}`, 'HttpOnly', 'SameSite=Lax'];
  if (options.secure) parts.push('Secure');
  return parts.join('; ');
}
