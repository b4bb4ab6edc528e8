// Bundle signatures in OPA's format, both ways, with the real opa CLI: bundles opa signs are
// verified (and tampered copies refused) by the gateway's verifier; bundles `sluice build
// --signing-key` signs are verified by opa itself.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { createTar, parseTarGzip } from 'nanotar';
import { CompactSign } from 'jose';
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../engine/index.ts';
import { canonicalJson } from '../../gateway/bundles/canonical.ts';
import { readTarball, signedAt, verifyBundle, type VerificationConfig } from '../../gateway/bundles/index.ts';
import { sluice } from '../support/cli.ts';
import { writePolicy } from '../support/policy.ts';
import { fileNamed, keyPair, opa, opaSignedBundle, repack, text, type KeyPair } from './support.ts';

const MAX = 64 << 20;
let dir: string;
let rsa: KeyPair;
let ec: KeyPair;
let other: KeyPair;
let signed: Uint8Array;
const verification = (): VerificationConfig => ({ keys: { release: { key: rsa.publicPath, algorithm: 'RS256' } }, scope: 'prod' });
const verify = (bytes: Uint8Array, config = verification()) => verifyBundle(readTarball(bytes, MAX), config);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sluice-sign-test-'));
  [rsa, ec, other] = await Promise.all([keyPair(dir, 'rsa', 'rsa'), keyPair(dir, 'ec', 'ec'), keyPair(dir, 'other', 'rsa')]);
  signed = await opaSignedBundle({ revision: 'opa-signed-1', key: rsa, claims: { keyid: 'release', scope: 'prod' } });
}, 60_000);

describe('bundles signed by opa build --signing-key', () => {
  it('verify, and their policy loads', async () => {
    const verified = await verify(signed);
    expect(verified.keyId).toBe('release');
    expect(verified.payload.files.map((f) => f.name)).toEqual(expect.arrayContaining(['policy.wasm', 'data.json', '.manifest']));
    expect((await Engine.prepare(signed)).revision).toBe('opa-signed-1');
  });

  it('verify with the key given inline as PEM, and with key_id from the configuration', async () => {
    await expect(verify(signed, { keys: { mine: { key: rsa.publicPem, algorithm: 'RS256' } }, keyId: 'mine', scope: 'prod' })).resolves.toMatchObject({ keyId: 'mine' });
  });

  it('are refused when a policy file changed after signing', async () => {
    const tampered = await repack(signed, (files) => {
      const f = fileNamed(files, 'decision.rego');
      f.data = text(`${new TextDecoder().decode(f.data)}\n# changed\n`);
    });
    await expect(verify(tampered)).rejects.toThrow(/decision\.rego: digest mismatch/);
  });

  it('are refused when policy.wasm or data.json changed, but data.json may be re-serialized (OPA hashes it canonically)', async () => {
    const wasm = await repack(signed, (files) => {
      const f = fileNamed(files, 'policy.wasm');
      f.data = Uint8Array.from(f.data, (b, i) => (i === 100 ? b ^ 1 : b));
    });
    await expect(verify(wasm)).rejects.toThrow(/policy\.wasm: digest mismatch/);

    const reformatted = await repack(signed, (files) => {
      const f = fileNamed(files, 'data.json');
      f.data = text(JSON.stringify(JSON.parse(new TextDecoder().decode(f.data)), null, 4));
    });
    await expect(verify(reformatted)).resolves.toBeTruthy();

    const changed = await repack(signed, (files) => {
      const f = fileNamed(files, 'data.json');
      const data = JSON.parse(new TextDecoder().decode(f.data)) as Record<string, unknown>;
      f.data = text(JSON.stringify({ ...data, injected: true }));
    });
    await expect(verify(changed)).rejects.toThrow(/data\.json: digest mismatch/);
  });

  it('are refused with a file added or removed after signing', async () => {
    const added = await repack(signed, (files) => [...files, { name: '/extra/data.json', data: text('{"x":1}') }]);
    await expect(verify(added)).rejects.toThrow(/extra\/data\.json is not included in the bundle signature/);
    const removed = await repack(signed, (files) => files.filter((f) => !f.name.endsWith('identity.rego')));
    await expect(verify(removed)).rejects.toThrow(/missing from the bundle: .*identity\.rego/);
  });

  it('are refused unsigned, with an unknown or wrong key, the wrong algorithm or scope', async () => {
    const unsigned = await repack(signed, (files) => files.filter((f) => !f.name.endsWith('.signatures.json')));
    await expect(verify(unsigned)).rejects.toThrow(/not signed/);
    await expect(verify(signed, { keys: { other: { key: rsa.publicPath, algorithm: 'RS256' } }, scope: 'prod' })).rejects.toThrow(/"release" is not a configured verification key/);
    await expect(verify(signed, { keys: { release: { key: other.publicPath, algorithm: 'RS256' } }, scope: 'prod' })).rejects.toThrow(/does not verify with key release/);
    await expect(verify(signed, { keys: { release: { key: ec.publicPath, algorithm: 'ES256' } }, scope: 'prod' })).rejects.toThrow(/uses RS256, key release is configured for ES256/);
    await expect(verify(signed, { keys: { release: { key: rsa.publicPath, algorithm: 'RS256' } }, scope: 'staging' })).rejects.toThrow(/scope mismatch/);
    await expect(verify(signed, { keys: { release: { key: rsa.publicPath, algorithm: 'RS256' } } })).rejects.toThrow(/scope mismatch/);
  });

  it('signed by another key with the same key id are refused', async () => {
    const forged = await opaSignedBundle({ revision: 'forged', key: other, claims: { keyid: 'release', scope: 'prod' } });
    await expect(verify(forged)).rejects.toThrow(/does not verify with key release/);
  });

  it('are refused with a link or a directory shadowing a signed file, or a name given twice (also through ../)', async () => {
    const files = (await parseTarGzip(signed)).filter((f) => f.type === 'file').map((f) => ({ name: f.name, data: f.data ?? new Uint8Array() }));
    const forged = text('{"injected":true}');
    // An entry of another type (symlink, hard link, directory) named data.json, with content, ahead of
    // the signed data.json: the engine takes the first entry of a name, the verifier only files.
    const shadowed = (typeflag: string) => {
      const tar = createTar([{ name: 'data.json', data: forged }, ...files]);
      tar[156] = typeflag.charCodeAt(0);
      return gzipSync(tar);
    };
    expect(() => readTarball(shadowed('2'), MAX)).toThrow(/data\.json, a symbolicLink entry/);
    expect(() => readTarball(shadowed('1'), MAX)).toThrow(/data\.json, a hardLink entry/);
    expect(() => readTarball(shadowed('5'), MAX)).toThrow(/data\.json, a directory entry with content/);
    const twice = await repack(signed, (fs) => [...fs, { name: '../data.json', data: forged }]);
    expect(() => readTarball(twice, MAX)).toThrow(/data\.json twice/);
  });

  it('are read only as far as they unpack: no entry beyond the tarball\'s end (where the engine reads none)', async () => {
    // policy.wasm (header + one data block), then a last header in the final 512 bytes, no end-of-archive blocks
    const tar = createTar([{ name: 'policy.wasm', data: new Uint8Array(10) }]).subarray(0, 1024);
    const header = createTar([{ name: 'data.json', data: new Uint8Array(0) }]).subarray(0, 512);
    const bytes = gzipSync(Buffer.concat([tar, header]));
    const engineNames = (await parseTarGzip(bytes)).map((f) => f.name);
    expect(engineNames).toEqual(['policy.wasm']);
    expect(readTarball(bytes, MAX).map((f) => f.name)).toEqual(engineNames);
  });

  it('with an HS* key configured as a file that cannot be read, are refused: the path is not taken for the secret', async () => {
    const wasm = text('\0asm');
    const hmacSigned = async (secret: string) => {
      const payload = { files: [{ name: 'policy.wasm', hash: createHash('sha256').update(wasm).digest('hex'), algorithm: 'SHA-256' }] };
      const jws = await new CompactSign(text(JSON.stringify(payload))).setProtectedHeader({ alg: 'HS256', kid: 'ci' }).sign(text(secret));
      return gzipSync(createTar([{ name: 'policy.wasm', data: wasm }, { name: '.signatures.json', data: JSON.stringify({ signatures: [jws] }) }]));
    };
    for (const path of [join(dir, 'absent', 'bundle-hmac'), './keys/bundle-hmac', 'bundle.key']) {
      await expect(verify(await hmacSigned(path), { keys: { ci: { key: path, algorithm: 'HS256' } } })).rejects.toThrow(/cannot be read/);
    }
    const file = join(dir, 'hmac.secret');
    await writeFile(file, 'from-a-file');
    await expect(verify(await hmacSigned('from-a-file'), { keys: { ci: { key: file, algorithm: 'HS256' } } })).resolves.toMatchObject({ keyId: 'ci' });
    await expect(verify(await hmacSigned('an inline secret'), { keys: { ci: { key: 'an inline secret', algorithm: 'HS256' } } })).resolves.toMatchObject({ keyId: 'ci' });
  });

  it('with a PEM public key configured for an HS* algorithm, are refused: the public key is not taken for the secret', async () => {
    const wasm = text('\0asm');
    const payload = { files: [{ name: 'policy.wasm', hash: createHash('sha256').update(wasm).digest('hex'), algorithm: 'SHA-256' }] };
    for (const key of [rsa.publicPem, rsa.publicPath]) {
      const jws = await new CompactSign(text(JSON.stringify(payload))).setProtectedHeader({ alg: 'HS256', kid: 'ci' }).sign(text(rsa.publicPem));
      const forged = gzipSync(createTar([{ name: 'policy.wasm', data: wasm }, { name: '.signatures.json', data: JSON.stringify({ signatures: [jws] }) }]));
      await expect(verify(forged, { keys: { ci: { key, algorithm: 'HS256' } } })).rejects.toThrow(/PEM key, not a shared secret/);
    }
  });

  it('are refused with two signatures, or one with alg none', async () => {
    const withSignatures = (signatures: string[]) =>
      repack(signed, (fs) => {
        fileNamed(fs, '.signatures.json').data = text(JSON.stringify({ signatures }));
      });
    const token = (JSON.parse(new TextDecoder().decode(fileNamed(readTarball(signed, MAX), '.signatures.json').data)) as { signatures: string[] }).signatures[0]!;
    await expect(verify(await withSignatures([token, token]))).rejects.toThrow(/more than one signature/);
    const [, payload] = token.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'release' })).toString('base64url')}.${payload}.`;
    await expect(verify(await withSignatures([none]))).rejects.toThrow(/uses none, key release is configured for RS256/);
  });
});

describe('sluice build --signing-key', () => {
  it('signs bundles opa verifies (ES256, key id, scope), and opa refuses them with another key or scope', async () => {
    const out = join(dir, 'sluice-signed.tar.gz');
    const built = await sluice(['build', '--out', out, '--signing-key', ec.privatePath, '--signing-alg', 'ES256', '--signing-key-id', 'ci', '--scope', 'prod']);
    expect(built.stderr).toBe('');
    expect(built.code).toBe(0);
    expect(built.stdout).toMatch(/signed ES256 key ci/);

    const ok = await opa(['build', '-b', '--verification-key', ec.publicPath, '--verification-key-id', 'ci', '--signing-alg', 'ES256', '--scope', 'prod', '-o', join(dir, 'opa-checked.tar.gz'), out]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    const wrongKey = await opa(['build', '-b', '--verification-key', other.publicPath, '--verification-key-id', 'ci', '--scope', 'prod', '-o', join(dir, 'x.tar.gz'), out]);
    expect(wrongKey.code).not.toBe(0);
    const wrongScope = await opa(['build', '-b', '--verification-key', ec.publicPath, '--verification-key-id', 'ci', '--signing-alg', 'ES256', '--scope', 'dev', '-o', join(dir, 'y.tar.gz'), out]);
    expect(wrongScope.code).not.toBe(0);
    expect(wrongScope.stdout + wrongScope.stderr).toMatch(/scope mismatch/);

    // And the gateway's verifier accepts it too; its policy is the project's.
    const bytes = await readFile(out);
    const verified = await verifyBundle(readTarball(bytes, MAX), { keys: { ci: { key: ec.publicPath, algorithm: 'ES256' } }, scope: 'prod' });
    expect(verified.keyId).toBe('ci');
    // Signed now: `iat` is what orders signed bundles.
    expect(Math.abs(signedAt(verified.payload) - Date.now() / 1000)).toBeLessThan(120);
    expect((await Engine.prepare(bytes)).revision).toMatch(/^[0-9a-f]{16}$/);

    // A tampered copy opa refuses as well.
    const tampered = join(dir, 'tampered.tar.gz');
    await writeFile(tampered, await repack(bytes, (files) => {
      const f = fileNamed(files, 'decision.rego');
      f.data = text(`${new TextDecoder().decode(f.data)}\n# changed\n`);
    }));
    const refused = await opa(['build', '-b', '--verification-key', ec.publicPath, '--verification-key-id', 'ci', '--signing-alg', 'ES256', '--scope', 'prod', '-o', join(dir, 'z.tar.gz'), tampered]);
    expect(refused.code).not.toBe(0);
    expect(refused.stdout + refused.stderr).toMatch(/digest mismatch|hash/i);
  }, 60_000);

  it('refuses --signing-key-id without --signing-key', async () => {
    const run = await sluice(['build', '--out', join(dir, 'n.tar.gz'), '--signing-key-id', 'ci']);
    expect(run.code).not.toBe(0);
  });
});

describe('canonical JSON as OPA hashes it', () => {
  it('sorts keys, drops whitespace, keeps number literals and does not escape HTML characters', () => {
    expect(canonicalJson('{ "b": [1.0, 2e3, {"z": null, "a": true}], "a": "<&>\u2028" }')).toBe('{"a":"<&>\\u2028","b":[1.0,2e3,{"a":true,"z":null}]}');
  });

  it('a policy with data files: opa\'s digest of data.json matches', async () => {
    const regoDir = await writePolicy({
      'sluice/decision.rego': 'package sluice\ndecision := {"outcome": "allow", "reasons": [], "masks": []}\n',
      'org/data.json': '{"zeta": {"n": 1.50, "s": "<b>é</b>"}, "alpha": [3, 2, 1]}',
    });
    const bytes = await opaSignedBundle({ revision: 'data', key: rsa, claims: { keyid: 'release', scope: 'prod' }, regoDir });
    await expect(verify(bytes)).resolves.toBeTruthy();
  });
});
