/**
 * Snapshot files of the embedded store's WAL (wal.ts): the store's state as of one record
 * index, streamed to disk, checksummed end to end, and published atomically.
 *
 * File `snap/<index as 16 hex digits>.snap` (integers little-endian):
 *
 *     header  32 bytes: magic "FLOTSNAP" | version u32 = 1 | reserved u32 = 0 | index u64 |
 *                       first 4 bytes of sha256(bytes 0..24) | reserved u32 = 0
 *     data    the bytes given to writeSnapshotFile, concatenated (chunk boundaries are not kept)
 *     trailer 48 bytes: magic "FLOTSEND" | data length u64 | sha256(header + data)
 *
 *   Worked example: the snapshot at index 0x2a of the 2 data bytes "hi" (82 bytes in all):
 *
 *     00: 46 4c 4f 54 53 4e 41 50  01 00 00 00 00 00 00 00   "FLOTSNAP", version 1, reserved
 *     10: 2a 00 00 00 00 00 00 00  hh hh hh hh 00 00 00 00   index 42, header check, reserved
 *     20: 68 69                                              "hi"
 *     22: 46 4c 4f 54 53 45 4e 44  02 00 00 00 00 00 00 00   "FLOTSEND", data length 2
 *     32: ss ss ... (32 bytes)                               sha256 of bytes 0x00..0x22
 *
 * The trailer is written last, so a file cut short anywhere fails the check. The file is
 * written as `<name>.tmp`, fsync'd, renamed, and the directory fsync'd: a crash leaves either
 * the complete file under its real name or a `.tmp` that the WAL deletes on open.
 */
import { createHash } from 'node:crypto';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export const SNAPSHOT_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('FLOTSNAP', 'latin1');
const END_MAGIC = Buffer.from('FLOTSEND', 'latin1');
export const SNAP_HEADER_BYTES = 32;
export const SNAP_TRAILER_BYTES = 48;
/** Data is written to the file in pieces of about this size, and read back in pieces of at most this size. */
const IO_BYTES = 1024 * 1024;

/** Where a snapshot file is damaged, for the WAL to report (WalCorruptError). */
export interface SnapshotDamage {
  offset: number;
  problem: string;
}

export const snapshotFileName = (index: number): string => `${index.toString(16).padStart(16, '0')}.snap`;

/** The index a snapshot file name stands for; undefined for any other name (including `.tmp`). */
export function parseSnapshotFileName(name: string): number | undefined {
  const m = /^([0-9a-f]{16})\.snap$/.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
}

function encodeHeader(index: number): Buffer {
  const buf = Buffer.alloc(SNAP_HEADER_BYTES);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(SNAPSHOT_FORMAT_VERSION, 8);
  writeU64(buf, index, 16);
  headerCheck(buf).copy(buf, 24);
  return buf;
}

function headerCheck(header: Buffer): Buffer {
  return createHash('sha256').update(header.subarray(0, 24)).digest().subarray(0, 4);
}

/**
 * Streams `chunks` into `dir/<index>.snap` and publishes it atomically. Resolves with the
 * file's size once it is durable (unless `sync` is false). On any error, including one thrown
 * by the chunk producer, the temporary file is removed and the error rethrown. Chunks are
 * copied or written before the next one is requested, so a producer may reuse its buffer.
 */
export async function writeSnapshotFile(
  dir: string,
  index: number,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
  opts: { sync: boolean },
): Promise<{ path: string; size: number }> {
  const path = join(dir, snapshotFileName(index));
  const tmp = path + '.tmp';
  const fh = await open(tmp, 'w');
  let size = 0;
  try {
    const hash = createHash('sha256');
    const header = encodeHeader(index);
    hash.update(header);
    // Small chunks are staged so the file is written in large pieces whatever the chunk size.
    const staging = Buffer.allocUnsafe(IO_BYTES);
    header.copy(staging);
    let staged = header.length;
    const flush = async () => {
      await writeFully(fh, staging.subarray(0, staged), size);
      size += staged;
      staged = 0;
    };
    let dataLen = 0;
    for await (const chunk of chunks) {
      if (!Buffer.isBuffer(chunk)) throw new TypeError(`snapshot chunks must be Buffers, got ${typeof chunk}`);
      hash.update(chunk);
      dataLen += chunk.length;
      if (staged + chunk.length <= staging.length) {
        chunk.copy(staging, staged);
        staged += chunk.length;
        continue;
      }
      await flush();
      if (chunk.length < staging.length) {
        chunk.copy(staging, 0);
        staged = chunk.length;
      } else {
        await writeFully(fh, chunk, size);
        size += chunk.length;
      }
    }
    await flush();
    const trailer = Buffer.alloc(SNAP_TRAILER_BYTES);
    END_MAGIC.copy(trailer, 0);
    writeU64(trailer, dataLen, 8);
    hash.digest().copy(trailer, 16);
    await writeFully(fh, trailer, size);
    size += trailer.length;
    if (opts.sync) await fh.sync();
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await rename(tmp, path);
  if (opts.sync) await fsyncDir(dir);
  return { path, size };
}

/**
 * Reads a snapshot file end to end and checks header, trailer and sha256. Returns its size
 * and, if it is unusable, where and why. The sha256 cannot locate damage inside the data, so
 * that is reported at the first data byte.
 */
export async function checkSnapshotFile(path: string, index: number): Promise<{ size: number; damage?: SnapshotDamage }> {
  const size = (await stat(path)).size;
  const damaged = (offset: number, problem: string) => ({ size, damage: { offset, problem } });
  if (size < SNAP_HEADER_BYTES + SNAP_TRAILER_BYTES) return damaged(0, `snapshot file is only ${size} bytes, too short to be complete`);
  const fh = await open(path, 'r');
  try {
    const header = Buffer.alloc(SNAP_HEADER_BYTES);
    await readFully(fh, header, 0);
    if (!header.subarray(0, 8).equals(MAGIC)) return damaged(0, 'not a Flotilla snapshot (bad magic)');
    if (!headerCheck(header).equals(header.subarray(24, 28))) return damaged(0, 'snapshot header checksum mismatch');
    if (header.readUInt32LE(28) !== 0) return damaged(28, 'reserved header bytes are not zero');
    const version = header.readUInt32LE(8);
    if (version !== SNAPSHOT_FORMAT_VERSION) return damaged(8, `snapshot format version ${version} is not ${SNAPSHOT_FORMAT_VERSION}`);
    const got = readU64(header, 16);
    if (got !== index) return damaged(16, `header says index ${got} but the file name says ${index}`);
    const trailerOff = size - SNAP_TRAILER_BYTES;
    const trailer = Buffer.alloc(SNAP_TRAILER_BYTES);
    await readFully(fh, trailer, trailerOff);
    if (!trailer.subarray(0, 8).equals(END_MAGIC)) return damaged(trailerOff, 'snapshot trailer missing (bad magic): the file is incomplete or damaged');
    const dataLen = readU64(trailer, 8);
    if (dataLen !== trailerOff - SNAP_HEADER_BYTES) {
      return damaged(trailerOff + 8, `trailer says ${dataLen} data bytes but the file holds ${trailerOff - SNAP_HEADER_BYTES}`);
    }
    const hash = createHash('sha256').update(header);
    const buf = Buffer.allocUnsafe(IO_BYTES);
    for (let pos = SNAP_HEADER_BYTES; pos < trailerOff; ) {
      const n = Math.min(buf.length, trailerOff - pos);
      await readFully(fh, buf.subarray(0, n), pos);
      hash.update(buf.subarray(0, n));
      pos += n;
    }
    if (!hash.digest().equals(trailer.subarray(16, 48))) {
      return damaged(SNAP_HEADER_BYTES, `sha256 of bytes 0..${trailerOff} does not match the trailer (damage somewhere in the snapshot data)`);
    }
    return { size };
  } finally {
    await fh.close();
  }
}

/** The data bytes of a checked snapshot file of `size` bytes, in chunks of at most 1 MiB. */
export async function* readSnapshotData(path: string, size: number): AsyncGenerator<Buffer> {
  const fh = await open(path, 'r');
  try {
    const end = size - SNAP_TRAILER_BYTES;
    for (let pos = SNAP_HEADER_BYTES; pos < end; ) {
      const buf = Buffer.allocUnsafe(Math.min(IO_BYTES, end - pos));
      await readFully(fh, buf, pos);
      pos += buf.length;
      yield buf;
    }
  } finally {
    await fh.close();
  }
}

// ---- helpers shared with wal.ts ---------------------------------------------------------

/** Little-endian u64 of a safe integer (< 2^53). */
export function writeU64(buf: Buffer, value: number, offset: number): void {
  buf.writeUInt32LE(value % 0x1_0000_0000, offset);
  buf.writeUInt32LE(Math.floor(value / 0x1_0000_0000), offset + 4);
}

export function readU64(buf: Buffer, offset: number): number {
  return buf.readUInt32LE(offset) + buf.readUInt32LE(offset + 4) * 0x1_0000_0000;
}

/** fsync a directory, making the creation, renaming or removal of its entries durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let off = 0; off < buf.length; ) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, position + off);
    off += bytesWritten;
  }
}

export async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  for (let off = 0; off < buf.length; ) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) throw new Error(`unexpected end of file at offset ${position + off}`);
    off += bytesRead;
  }
}
