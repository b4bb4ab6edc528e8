// A token refusal's message can quote a subject, a disable reason or a provider's error text.
// The Bearer challenge carries it in error_description, where only printable ASCII other than
// `"` and `\` may stand (RFC 6750 §3): any other character made the header write throw, and the
// caller got a 500 instead of the 401 that tells it to sign in again.
import { validateHeaderValue } from 'node:http';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { sendUnauthenticated } from '../../gateway/approvals/api.ts';
import { challengeDescription } from '../../gateway/auth/index.ts';

const MESSAGE = 'principal disabled — “credential leaked” by Zoë\n\\ "x" \u202e';

describe('the Bearer challenge of a refused token', () => {
  it('keeps only what error_description may hold', () => {
    expect(() => validateHeaderValue('www-authenticate', `Bearer error_description="${MESSAGE}"`)).toThrow();
    const description = challengeDescription(MESSAGE);
    expect(description).toMatch(/^[\x20\x21\x23-\x5b\x5d-\x7e]*$/);
    expect(description).toBe('principal disabled ? ?credential leaked? by Zo??? ?x? ?');
  });

  it('answers 401 with the challenge whatever the message holds', async () => {
    const app = Fastify();
    app.get('/', async (_req, reply) => sendUnauthenticated(reply, { ok: false, reason: 'invalid_token', message: MESSAGE } as never));
    const res = await app.inject('/');
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="sluice", error="invalid_token", error_description="${challengeDescription(MESSAGE)}"`);
    expect(res.json().error.message).toBe(MESSAGE); // the JSON body says it as it is
  });
});
