// Reads a bundle tarball (tar.gz) into its files, with a ceiling on the unpacked size so a gzip bomb
// is refused instead of filling memory. Links and other special entries are refused. Names are given without their leading slash, as OPA's
// signatures name them.
import { gunzipSync } from 'node:zlib';
import { parseTar } from 'nanotar';

export interface BundleFile {
  name: string;
  data: Uint8Array;
}

export class BundleRefused extends Error {
  override name = 'BundleRefused';
  /** Short machine-readable reason: download, too_large, not_a_bundle, signature, downgrade, load. */
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.reason = reason;
  }
}

export function readTarball(bytes: Uint8Array, maxUnpackedBytes: number): BundleFile[] {
  let tar: Buffer;
  try {
    tar = gunzipSync(bytes, { maxOutputLength: maxUnpackedBytes });
  } catch (error) {
    const tooLarge = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || /buffer|too large|maxOutputLength/i.test((error as Error).message);
    if (tooLarge) throw new BundleRefused('too_large', `the bundle unpacks to more than ${maxUnpackedBytes} bytes`);
    throw new BundleRefused('not_a_bundle', `the bundle is not gzip data: ${(error as Error).message}`);
  }
  let entries: ReturnType<typeof parseTar>;
  try {
    // parseTar reads the Buffer's whole backing memory (zlib hands back a slice of a larger chunk
    // whose remainder is uninitialised): an exact copy makes it read the unpacked bytes and nothing
    // else, as the engine does, so stale memory is never read as entries nor named in a refusal.
    entries = parseTar(new Uint8Array(tar));
  } catch (error) {
    throw new BundleRefused('not_a_bundle', `the bundle is not a tarball: ${(error as Error).message}`);
  }
  const files: BundleFile[] = [];
  const seen = new Set<string>();
  for (const entry of entries) {
    // The engine reads the same tarball again and takes the first entry of a name, whatever its
    // type: a link (or any other special entry) would be read there but never verified here, so
    // only files and directories are accepted, and no name twice across all of them.
    const type = entry.type ?? 'file';
    if (type !== 'file' && type !== 'directory') throw new BundleRefused('not_a_bundle', `the bundle holds ${entry.name}, a ${type} entry (only files and directories are accepted)`);
    if (type === 'directory' && entry.size) throw new BundleRefused('not_a_bundle', `the bundle holds ${entry.name}, a directory entry with content`);
    const name = entry.name.replace(/^\/+/, '');
    if (seen.has(name)) throw new BundleRefused('not_a_bundle', `the bundle holds ${name} twice`);
    seen.add(name);
    if (type === 'file') files.push({ name, data: (entry as { data?: Uint8Array }).data ?? new Uint8Array() });
  }
  if (files.length === 0) throw new BundleRefused('not_a_bundle', 'the bundle holds no files');
  return files;
}
