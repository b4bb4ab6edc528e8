// Keeps the last activated bundle in persist_dir (bundle.tar.gz + bundle.json with its ETag,
// revision and source), written atomically, so a restart without the bundle server starts with it.
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BundleRefused } from './tarball.ts';

export interface PersistedMeta {
  etag?: string;
  /** SHA-256 of the persisted bundle: its ETag is used only for these very bytes. */
  sha256?: string;
  revision: string;
  source: string;
  activated_at: string;
}

export class BundleStore {
  readonly bundlePath: string;
  readonly #metaPath: string;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.bundlePath = join(dir, 'bundle.tar.gz');
    this.#metaPath = join(dir, 'bundle.json');
  }

  /**
   * The persisted bundle, or undefined when there is none (or it cannot be read). Only a regular
   * file of at most maxBytes is read: anything else (a device, a FIFO, a huge file) is refused
   * without reading it, as a download of that size would be.
   */
  async load(maxBytes: number): Promise<{ bytes: Uint8Array; meta: PersistedMeta | undefined } | undefined> {
    let bytes: Uint8Array;
    let file;
    try {
      file = await open(this.bundlePath, constants.O_RDONLY | constants.O_NONBLOCK);
    } catch {
      return undefined;
    }
    try {
      const stat = await file.stat();
      if (!stat.isFile()) throw new BundleRefused('not_a_bundle', `${this.bundlePath} is not a regular file`);
      if (stat.size > maxBytes) throw new BundleRefused('too_large', `${this.bundlePath} is ${stat.size} bytes, more than the limit of ${maxBytes}`);
      const buffer = Buffer.alloc(stat.size + 1);
      let size = 0;
      for (;;) {
        const { bytesRead } = await file.read(buffer, size, buffer.length - size, null);
        if (bytesRead === 0) break;
        size += bytesRead;
        if (size > stat.size) throw new BundleRefused('load', `${this.bundlePath} grew while it was read`);
      }
      bytes = buffer.subarray(0, size);
    } finally {
      await file.close();
    }
    let meta: PersistedMeta | undefined;
    try {
      meta = JSON.parse(await readFile(this.#metaPath, 'utf8')) as PersistedMeta;
    } catch {
      meta = undefined;
    }
    // The ETag (If-None-Match: a 304 keeps the restored policy) counts only for the bundle it was
    // saved with: another bundle put in its place (an older signed revision) is downloaded over.
    if (meta?.etag !== undefined && meta.sha256 !== bundleDigest(bytes)) meta = { ...meta, etag: undefined };
    return { bytes, meta };
  }

  async save(bytes: Uint8Array, meta: PersistedMeta): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    const tmp = `.${process.pid}.${Date.now()}.tmp`;
    // The metadata first: a crash between the two renames leaves an ETag that does not match the
    // bundle, which costs one full download, never a wrong 304.
    await writeFile(join(this.#dir, `meta${tmp}`), JSON.stringify({ ...meta, etag: undefined }));
    await rename(join(this.#dir, `meta${tmp}`), this.#metaPath);
    await writeFile(join(this.#dir, `bundle${tmp}`), bytes);
    await rename(join(this.#dir, `bundle${tmp}`), this.bundlePath);
    await writeFile(join(this.#dir, `meta${tmp}`), JSON.stringify({ ...meta, sha256: bundleDigest(bytes) }));
    await rename(join(this.#dir, `meta${tmp}`), this.#metaPath);
  }
}

export function bundleDigest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
