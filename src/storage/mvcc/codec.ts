/**
 * Binary encodings owned by the store: WAL records (one per mutating call) and the
 * snapshot stream (WAL snapshots and backups share it).
 *
 * All integers are little-endian. Revisions and TTLs are written as float64 (exact for
 * every safe integer), lease IDs as int64, lengths as u32.
 *
 * WAL record = one mutating call, described by its *effect* (not the request), so replay is
 * deterministic and needs no compare evaluation:
 *
 *     WRITE        01 | rev f64 | nOps u32 | op*
 *     COMPACT      02 | rev f64
 *     LEASE_GRANT  03 | id i64 | ttl f64
 *     LEASE_REVOKE 04 | id i64 | rev f64 | nOps u32 | op*     (the deletes of its keys; nOps may be 0)
 *     NOOP         05                                         (written by restore so a snapshot has an index)
 *
 *     op = PUT 01 | klen u32 | key | vlen u32 | value | lease i64
 *        | DEL 02 | klen u32 | key
 *
 *   Example: put("a" = "xy", lease 0) at revision 7 is
 *     01 | 00 00 00 00 00 00 1c 40 | 01 00 00 00 | 01 | 01 00 00 00 | 61 | 02 00 00 00 | 78 79 | 00 x8
 *
 * Snapshot stream (chunked, ~1 MiB per chunk, never one giant Buffer):
 *
 *     magic "FLMVCC01" | revision f64 | compactRevision f64 | appliedIndex f64 | nLeases u32
 *     lease* = id i64 | ttl f64
 *     entry* = 01 | klen u32 | key | mod f64 | create f64 | version f64 | lease i64 | vlen u32 | value
 *     end    = 00
 *     sha256 of every byte above (32 bytes)
 *
 * Entries are every retained revision of every key in (modRevision, op order) order, i.e.
 * the store's revision log; version 0 marks a tombstone.
 */
import { createHash, type Hash } from 'node:crypto';
import { MvccError } from './errors.js';
import { toValueData, type ValueData } from './key_index.js';

export const enum RecordType {
  Write = 1,
  Compact = 2,
  LeaseGrant = 3,
  LeaseRevoke = 4,
  Noop = 5,
}

export const enum OpType {
  Put = 1,
  Del = 2,
}

/** One change of a WAL record: a put (value set) or a delete (value undefined). */
export interface ChangeOp {
  /** latin1 string of the key bytes. */
  key: string;
  value?: Buffer;
  lease?: bigint;
}

export type WalRecord =
  | { type: RecordType.Write; rev: number; ops: ChangeOp[] }
  | { type: RecordType.Compact; rev: number }
  | { type: RecordType.LeaseGrant; id: bigint; ttl: number }
  | { type: RecordType.LeaseRevoke; id: bigint; rev: number; ops: ChangeOp[] }
  | { type: RecordType.Noop };

function opsSize(ops: ChangeOp[]): number {
  let n = 4;
  for (const op of ops) {
    n += 1 + 4 + op.key.length;
    if (op.value !== undefined) n += 4 + op.value.length + 8;
  }
  return n;
}

function writeOps(buf: Buffer, pos: number, ops: ChangeOp[], valueOffsets?: number[]): number {
  pos = buf.writeUInt32LE(ops.length, pos);
  for (const op of ops) {
    buf[pos++] = op.value !== undefined ? OpType.Put : OpType.Del;
    pos = buf.writeUInt32LE(op.key.length, pos);
    pos += buf.write(op.key, pos, 'latin1');
    if (op.value !== undefined) {
      pos = buf.writeUInt32LE(op.value.length, pos);
      valueOffsets?.push(pos);
      pos += op.value.copy(buf, pos);
      pos = buf.writeBigInt64LE(op.lease ?? 0n, pos);
    }
  }
  return pos;
}

/**
 * Encodes a record. If `valueOffsets` is given, the byte offset of each put's value inside
 * the result is appended to it (in op order), so the caller can keep values as views of
 * the record instead of copying them again.
 */
export function encodeRecord(rec: WalRecord, valueOffsets?: number[]): Buffer {
  let buf: Buffer;
  let pos = 0;
  switch (rec.type) {
    case RecordType.Write:
      buf = Buffer.allocUnsafe(1 + 8 + opsSize(rec.ops));
      buf[pos++] = rec.type;
      pos = buf.writeDoubleLE(rec.rev, pos);
      pos = writeOps(buf, pos, rec.ops, valueOffsets);
      break;
    case RecordType.Compact:
      buf = Buffer.allocUnsafe(9);
      buf[pos++] = rec.type;
      pos = buf.writeDoubleLE(rec.rev, pos);
      break;
    case RecordType.LeaseGrant:
      buf = Buffer.allocUnsafe(17);
      buf[pos++] = rec.type;
      pos = buf.writeBigInt64LE(rec.id, pos);
      pos = buf.writeDoubleLE(rec.ttl, pos);
      break;
    case RecordType.LeaseRevoke:
      buf = Buffer.allocUnsafe(1 + 8 + 8 + opsSize(rec.ops));
      buf[pos++] = rec.type;
      pos = buf.writeBigInt64LE(rec.id, pos);
      pos = buf.writeDoubleLE(rec.rev, pos);
      pos = writeOps(buf, pos, rec.ops);
      break;
    case RecordType.Noop:
      buf = Buffer.from([RecordType.Noop]);
      pos = 1;
      break;
  }
  if (pos !== buf.length) throw new Error(`mvcc: record encoding size mismatch (${pos} != ${buf.length})`);
  return buf;
}

function corrupt(what: string): MvccError {
  return new MvccError('Corrupt', { message: `mvcc: data is corrupt: ${what}` });
}

function readOps(buf: Buffer, pos: number): { ops: ChangeOp[]; pos: number } {
  const n = buf.readUInt32LE(pos);
  pos += 4;
  const ops: ChangeOp[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const t = buf[pos++];
    const klen = buf.readUInt32LE(pos);
    pos += 4;
    const key = buf.toString('latin1', pos, pos + klen);
    pos += klen;
    if (t === OpType.Put) {
      const vlen = buf.readUInt32LE(pos);
      pos += 4;
      // A view: the store copies what it keeps (toValueData).
      const value = buf.subarray(pos, pos + vlen);
      pos += vlen;
      const lease = buf.readBigInt64LE(pos);
      pos += 8;
      ops[i] = { key, value, lease };
    } else if (t === OpType.Del) {
      ops[i] = { key };
    } else {
      throw corrupt(`unknown op type ${t}`);
    }
  }
  return { ops, pos };
}

export function decodeRecord(buf: Buffer): WalRecord {
  try {
    const type = buf[0];
    switch (type) {
      case RecordType.Write: {
        const rev = buf.readDoubleLE(1);
        return { type, rev, ops: readOps(buf, 9).ops };
      }
      case RecordType.Compact:
        return { type, rev: buf.readDoubleLE(1) };
      case RecordType.LeaseGrant:
        return { type, id: buf.readBigInt64LE(1), ttl: buf.readDoubleLE(9) };
      case RecordType.LeaseRevoke: {
        const id = buf.readBigInt64LE(1);
        const rev = buf.readDoubleLE(9);
        return { type, id, rev, ops: readOps(buf, 17).ops };
      }
      case RecordType.Noop:
        return { type };
      default:
        throw corrupt(`unknown record type ${type}`);
    }
  } catch (err) {
    if (err instanceof MvccError) throw err;
    throw corrupt(`truncated record (${(err as Error).message})`);
  }
}

// ---- snapshot stream -------------------------------------------------------------------

export const SNAPSHOT_MAGIC = Buffer.from('FLMVCC01', 'latin1');
const CHUNK_BYTES = 1 << 20;

/** One retained revision of one key, as stored in the snapshot. */
export interface SnapshotEntry {
  key: string;
  mod: number;
  create: number;
  version: number;
  lease: bigint;
  /** The value (see ValueData). */
  data: ValueData;
}

export interface SnapshotHeader {
  revision: number;
  compactRevision: number;
  appliedIndex: number;
  leases: { id: bigint; ttl: number }[];
}

/**
 * Encodes a snapshot lazily: entries are pulled from `entries` only as chunks are
 * consumed. Appends the sha256 trailer.
 */
export async function* encodeSnapshot(header: SnapshotHeader, entries: Iterable<SnapshotEntry>): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let buf = Buffer.allocUnsafe(CHUNK_BYTES);
  let pos = 0;
  const flush = (): Buffer => {
    const out = buf.subarray(0, pos);
    hash.update(out);
    buf = Buffer.allocUnsafe(CHUNK_BYTES);
    pos = 0;
    return out;
  };
  const head = Buffer.allocUnsafe(8 + 8 * 3 + 4 + header.leases.length * 16);
  let p = SNAPSHOT_MAGIC.copy(head, 0);
  p = head.writeDoubleLE(header.revision, p);
  p = head.writeDoubleLE(header.compactRevision, p);
  p = head.writeDoubleLE(header.appliedIndex, p);
  p = head.writeUInt32LE(header.leases.length, p);
  for (const l of header.leases) {
    p = head.writeBigInt64LE(l.id, p);
    p = head.writeDoubleLE(l.ttl, p);
  }
  hash.update(head);
  yield head;
  for (const e of entries) {
    const d = e.data;
    const need = 1 + 4 + e.key.length + 8 * 3 + 8 + 4 + d.length;
    if (pos + need > buf.length) {
      if (pos > 0) yield flush();
      if (need > buf.length) buf = Buffer.allocUnsafe(need);
    }
    buf[pos++] = 1;
    pos = buf.writeUInt32LE(e.key.length, pos);
    pos += buf.write(e.key, pos, 'latin1');
    pos = buf.writeDoubleLE(e.mod, pos);
    pos = buf.writeDoubleLE(e.create, pos);
    pos = buf.writeDoubleLE(e.version, pos);
    pos = buf.writeBigInt64LE(e.lease, pos);
    pos = buf.writeUInt32LE(d.length, pos);
    pos += typeof d === 'string' ? buf.write(d, pos, 'latin1') : d.copy(buf, pos);
  }
  if (pos + 1 > buf.length) yield flush();
  buf[pos++] = 0;
  yield flush();
  yield hash.digest();
}

/**
 * Pulls bytes from an async chunk stream. Parsing is synchronous over the buffered bytes;
 * only running out of them awaits. Consumed bytes are hashed in bulk, not per field.
 */
class ChunkReader {
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  /** buf[hashFrom, pos) is consumed but not yet hashed. */
  private hashFrom = 0;
  private readonly it: AsyncIterator<Buffer>;
  private readonly hash?: Hash;

  constructor(chunks: AsyncIterable<Buffer>, hashed: boolean) {
    this.it = chunks[Symbol.asyncIterator]();
    if (hashed) this.hash = createHash('sha256');
  }

  available(): number {
    return this.buf.length - this.pos;
  }

  /** Ensures at least n bytes are buffered; false at end of stream. */
  async fill(n: number): Promise<boolean> {
    while (this.available() < n) {
      const r = await this.it.next();
      if (r.done) return false;
      this.hash?.update(this.buf.subarray(this.hashFrom, this.pos));
      const rest = this.buf.subarray(this.pos);
      this.buf = rest.length ? Buffer.concat([rest, r.value]) : r.value;
      this.pos = 0;
      this.hashFrom = 0;
    }
    return true;
  }

  /** Takes n buffered bytes (the caller checked available()). */
  take(n: number): Buffer {
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** sha256 of every byte consumed so far. */
  digest(): Buffer {
    if (!this.hash) return Buffer.alloc(32);
    this.hash.update(this.buf.subarray(this.hashFrom, this.pos));
    this.hashFrom = this.pos;
    return this.hash.digest();
  }
}

/**
 * Decodes a snapshot stream, calling onEntry for each entry in order, and verifies the
 * sha256 trailer (unless verifyDigest is false: the WAL already checksums its snapshot
 * files, so recovery skips hashing the data twice). Throws MvccError('Corrupt') on damage.
 */
export async function decodeSnapshot(
  chunks: AsyncIterable<Buffer>,
  onHeader: (h: SnapshotHeader) => void,
  onEntry: (e: SnapshotEntry) => void,
  opts: { verifyDigest?: boolean } = {},
): Promise<SnapshotHeader> {
  const verify = opts.verifyDigest ?? true;
  const r = new ChunkReader(chunks, verify);
  const need = async (n: number, what: string) => {
    if (!(await r.fill(n))) throw corrupt(`snapshot truncated in ${what}`);
  };
  if (r.available() < 36) await need(36, 'header');
  const magic = r.take(8);
  if (!magic.equals(SNAPSHOT_MAGIC)) throw corrupt('not a flotilla mvcc snapshot (bad magic)');
  const h1 = r.take(28);
  const header: SnapshotHeader = {
    revision: h1.readDoubleLE(0),
    compactRevision: h1.readDoubleLE(8),
    appliedIndex: h1.readDoubleLE(16),
    leases: [],
  };
  const nLeases = h1.readUInt32LE(24);
  for (let i = 0; i < nLeases; i++) {
    if (r.available() < 16) await need(16, 'leases');
    const l = r.take(16);
    header.leases.push({ id: l.readBigInt64LE(0), ttl: l.readDoubleLE(8) });
  }
  onHeader(header);
  for (;;) {
    // `if (...) await` only yields when the buffered bytes run out.
    if (r.available() < 5) await need(1, 'entries');
    const tag = r.take(1)[0];
    if (tag === 0) break;
    if (tag !== 1) throw corrupt(`bad entry tag ${tag}`);
    if (r.available() < 4) await need(4, 'entry');
    const klen = r.take(4).readUInt32LE(0);
    if (r.available() < klen + 36) await need(klen + 36, 'entry');
    const key = r.take(klen).toString('latin1');
    const fixed = r.take(36);
    const vlen = fixed.readUInt32LE(32);
    if (r.available() < vlen) await need(vlen, 'entry');
    const data = toValueData(r.take(vlen));
    onEntry({
      key,
      mod: fixed.readDoubleLE(0),
      create: fixed.readDoubleLE(8),
      version: fixed.readDoubleLE(16),
      lease: fixed.readBigInt64LE(24),
      data,
    });
  }
  const digest = r.digest();
  if (r.available() < 32) await need(32, 'sha256 trailer');
  const trailer = r.take(32);
  if (verify && !trailer.equals(digest)) throw corrupt('snapshot sha256 mismatch');
  if (await r.fill(1)) throw corrupt('trailing bytes after the snapshot');
  return header;
}
