/**
 * A minimal, deterministic tar writer (POSIX ustar) for image layers and image archives.
 *
 * Why our own instead of the system `tar` or an npm package: an image layer must come out
 * byte-for-byte the same for the same input (its digest is its identity), whatever the
 * umask, the file system's timestamps or the user running us. Writing the few header
 * fields ourselves makes that true by construction — every entry is owned by 0:0, dated
 * at the epoch, with the mode the caller gives — and needs no temporary root file system
 * on disk and no dependency. Entries are written in the order given; {@link sortEntries}
 * gives the `tar --sort=name` order.
 */

export type TarEntry =
  | { type: 'file'; path: string; mode: number; content: Buffer }
  | { type: 'dir'; path: string; mode: number }
  | { type: 'symlink'; path: string; target: string };

/**
 * An entry for {@link tarChunks}: a {@link TarEntry}, or a file whose content is given in
 * pieces (a layer blob written into an image archive without first copying it into one buffer).
 */
export type TarSource = TarEntry | { type: 'file'; path: string; mode: number; content: readonly Buffer[] };

function contentLength(e: TarSource): number {
  if (e.type !== 'file') return 0;
  if (Buffer.isBuffer(e.content)) return e.content.length;
  let n = 0;
  for (const c of e.content as readonly Buffer[]) n += c.length;
  return n;
}

const BLOCK = 512;

function octal(n: number, width: number): string {
  // width-1 octal digits then NUL, as GNU and Go's archive/tar write them.
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** Splits a path into ustar's name (≤100 bytes) and prefix (≤155 bytes) fields. */
function splitName(path: string): { name: string; prefix: string } {
  if (Buffer.byteLength(path) <= 100) return { name: path, prefix: '' };
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100) return { name, prefix };
  }
  throw new Error(`tar: path too long for ustar: ${path}`);
}

function header(e: TarSource): Buffer {
  const h = Buffer.alloc(BLOCK);
  const path = e.type === 'dir' && !e.path.endsWith('/') ? `${e.path}/` : e.path;
  const { name, prefix } = splitName(path);
  const size = contentLength(e);
  const mode = e.type === 'symlink' ? 0o777 : e.mode;
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode & 0o7777, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii'); // uid
  h.write(octal(0, 8), 116, 'ascii'); // gid
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(0, 12), 136, 'ascii'); // mtime: the epoch
  h.write('        ', 148, 'ascii'); // checksum placeholder: eight spaces
  h.write(e.type === 'file' ? '0' : e.type === 'dir' ? '5' : '2', 156, 'ascii');
  if (e.type === 'symlink') {
    if (Buffer.byteLength(e.target) > 100) throw new Error(`tar: symlink target too long: ${e.target}`);
    h.write(e.target, 157, 100, 'utf8');
  }
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii'); // uname
  h.write('root', 297, 'ascii'); // gname
  h.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'ascii');
  return h;
}

/**
 * The tar archive of `entries` as a list of buffers (headers, the entries' own content
 * buffers, padding, the two zero blocks), in the order given: nothing is copied, so a large
 * layer costs no more than its headers.
 */
export function tarChunks(entries: readonly TarSource[]): Buffer[] {
  const parts: Buffer[] = [];
  for (const e of entries) {
    parts.push(header(e));
    if (e.type !== 'file') continue;
    const size = contentLength(e);
    if (Buffer.isBuffer(e.content)) parts.push(e.content);
    else for (const c of e.content as readonly Buffer[]) if (c.length > 0) parts.push(c);
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(2 * BLOCK));
  return parts;
}

/** The tar archive of `entries`, in the order given, ending with the two zero blocks. */
export function writeTar(entries: readonly TarSource[]): Buffer {
  return Buffer.concat(tarChunks(entries));
}

/** Entries sorted by path, byte-wise, as `tar --sort=name` orders them. */
export function sortEntries<T extends TarSource>(entries: readonly T[]): T[] {
  return [...entries].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/** A parsed entry of {@link readTar}. */
export interface TarMember {
  path: string;
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string;
  content: Buffer;
}

function field(h: Buffer, start: number, len: number): string {
  const s = h.subarray(start, start + len);
  const nul = s.indexOf(0);
  return (nul >= 0 ? s.subarray(0, nul) : s).toString('utf8');
}

/**
 * Reads a ustar/GNU tar archive (no PAX or GNU long-name extensions needed here): enough
 * to inspect what {@link writeTar} wrote and to recognise an image archive's layout.
 */
export function readTar(buf: Buffer): TarMember[] {
  const out: TarMember[] = [];
  for (let off = 0; off + BLOCK <= buf.length;) {
    const h = buf.subarray(off, off + BLOCK);
    if (h.every((b) => b === 0)) break;
    const num = (start: number, len: number) => parseInt(field(h, start, len).trim() || '0', 8);
    const size = num(124, 12);
    const flag = String.fromCharCode(h[156]!);
    const prefix = field(h, 345, 155);
    const name = field(h, 0, 100);
    const path = prefix && field(h, 257, 6) === 'ustar' ? `${prefix}/${name}` : name;
    out.push({
      path,
      type: flag === '0' || flag === '\0' ? 'file' : flag === '5' ? 'dir' : flag === '2' ? 'symlink' : 'other',
      mode: num(100, 8),
      uid: num(108, 8),
      gid: num(116, 8),
      mtime: num(136, 12),
      linkname: field(h, 157, 100),
      content: buf.subarray(off + BLOCK, off + BLOCK + size),
    });
    off += BLOCK + Math.ceil(size / BLOCK) * BLOCK;
  }
  return out;
}
