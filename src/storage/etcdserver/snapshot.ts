/**
 * The snapshot file Maintenance.Snapshot streams, and `flotilla etcd snapshot save|restore`
 * read and write.
 *
 * etcd's snapshot is its bbolt file (a whole number of 512-byte pages) followed by the
 * sha256 of those bytes, and etcd's tools recognise the checksum by the file length alone:
 * `size % 512 == 32`. The store's own backup format (mvcc snapshotStream) is neither
 * page-aligned nor checksummed, so we wrap it to the same shape:
 *
 *     [store backup: N bytes][zero padding][footer: "FLOTSNAP" + N as u64 BE][sha256]
 *     `--------------- a multiple of 512 bytes ----------------------------'  32 bytes
 *
 * so a file saved by the real etcdctl from Flotilla passes etcdctl's integrity check and
 * `flotilla etcd snapshot restore` can verify it and recover exactly the store's backup.
 * Example: a 1000-byte backup gets 8 bytes of padding (1000 + 8 + 16 = 1024), total 1056.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { finished } from 'node:stream/promises';

export const SNAPSHOT_MAGIC = Buffer.from('FLOTSNAP');
const FOOTER_SIZE = 16;
const PAGE = 512;
const SHA_SIZE = 32;

export class SnapshotFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotFormatError';
  }
}

/** Padding and footer that follow an N-byte backup; together they end on a 512 boundary. */
export function snapshotTrailer(backupSize: number): Buffer {
  const pad = (PAGE - ((backupSize + FOOTER_SIZE) % PAGE)) % PAGE;
  const out = Buffer.alloc(pad + FOOTER_SIZE);
  SNAPSHOT_MAGIC.copy(out, pad);
  out.writeBigUInt64BE(BigInt(backupSize), pad + SNAPSHOT_MAGIC.length);
  return out;
}

async function writeChunk(w: WriteStream, chunk: Buffer): Promise<void> {
  if (!w.write(chunk)) await new Promise<void>((resolve, reject) => {
    const onErr = (e: Error) => { w.off('drain', onDrain); reject(e); };
    const onDrain = () => { w.off('error', onErr); resolve(); };
    w.once('drain', onDrain);
    w.once('error', onErr);
  });
}

/**
 * Writes the store's backup stream to `path` in the snapshot file format and returns the
 * file's total size. The file is fsync'd before this resolves.
 */
export async function writeSnapshotFile(backup: AsyncIterable<Buffer>, path: string): Promise<number> {
  const w = createWriteStream(path, { mode: 0o600 });
  const hash = createHash('sha256');
  let n = 0;
  try {
    for await (const chunk of backup) {
      hash.update(chunk);
      n += chunk.length;
      await writeChunk(w, chunk);
    }
    const trailer = snapshotTrailer(n);
    hash.update(trailer);
    await writeChunk(w, trailer);
    await writeChunk(w, hash.digest());
  } finally {
    w.end();
    await finished(w).catch(() => undefined);
  }
  const fh = await open(path, 'r+');
  try { await fh.sync(); } finally { await fh.close(); }
  return n + snapshotTrailer(n).length + SHA_SIZE;
}

/**
 * Checks a snapshot file (size, sha256, footer) and returns the length of the store backup
 * at its start. Throws SnapshotFormatError if the file is not a Flotilla snapshot or is
 * damaged.
 */
export async function verifySnapshotFile(path: string): Promise<{ backupSize: number }> {
  const size = (await stat(path)).size;
  if (size < PAGE + SHA_SIZE || size % PAGE !== SHA_SIZE) {
    throw new SnapshotFormatError(`snapshot file ${path}: size ${size} is not a snapshot with an integrity hash`);
  }
  const bodySize = size - SHA_SIZE;
  const fh = await open(path, 'r');
  let footer: Buffer;
  let want: Buffer;
  try {
    footer = Buffer.alloc(FOOTER_SIZE);
    await fh.read(footer, 0, FOOTER_SIZE, bodySize - FOOTER_SIZE);
    want = Buffer.alloc(SHA_SIZE);
    await fh.read(want, 0, SHA_SIZE, bodySize);
  } finally {
    await fh.close();
  }
  if (!footer.subarray(0, SNAPSHOT_MAGIC.length).equals(SNAPSHOT_MAGIC)) {
    throw new SnapshotFormatError(`snapshot file ${path}: not a Flotilla snapshot (no FLOTSNAP footer)`);
  }
  const backupSize = Number(footer.readBigUInt64BE(SNAPSHOT_MAGIC.length));
  if (backupSize > bodySize - FOOTER_SIZE) throw new SnapshotFormatError(`snapshot file ${path}: footer length ${backupSize} exceeds the file`);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { start: 0, end: bodySize - 1 })) hash.update(chunk as Buffer);
  const got = hash.digest();
  if (!got.equals(want)) {
    throw new SnapshotFormatError(`snapshot file ${path}: expected sha256 ${want.toString('hex')}, got ${got.toString('hex')}`);
  }
  return { backupSize };
}

/** Copies the store backup out of a verified snapshot file into `dest`. */
export async function extractBackup(path: string, backupSize: number, dest: string): Promise<void> {
  const w = createWriteStream(dest, { mode: 0o600 });
  if (backupSize > 0) {
    for await (const chunk of createReadStream(path, { start: 0, end: backupSize - 1 })) await writeChunk(w, chunk as Buffer);
  }
  w.end();
  await finished(w);
}
