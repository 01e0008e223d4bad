/**
 * The embedded store's durability layer: a segmented, checksummed, group-committed
 * write-ahead log plus snapshots (etcd's `wal` + `snap` packages, in TypeScript).
 *
 * Contract (what the store above relies on):
 *  - `append(data)` assigns the next index (last + 1; 1 in an empty dir) and returns at
 *    once; `durable` resolves once the record is on disk (written with O_DSYNC, or written
 *    and fdatasync'd where there is no O_DSYNC). Appends made while a write is in flight are
 *    written together by the next single writev and share its single sync (group commit).
 *  - A record whose `durable` resolved survives SIGKILL or power loss at any moment.
 *  - `open` returns the exact durable state: the newest usable snapshot and every record
 *    after it, in order. A torn last record (an interrupted final write) is dropped with a
 *    warning; damage anywhere else throws WalCorruptError naming the file and byte offset.
 *
 * On-disk layout under `dir`:
 *
 *     wal/VERSION                                   "flotilla-wal 1\n"
 *     wal/LOCK                                      "pid=<pid> start=<start time>": the process using the dir
 *     wal/0000000000000001-0000000000000001.wal     segment seq 1, first record index 1
 *     wal/0000000000000002-00000000000a3c11.wal     segment seq 2, first record index 0xa3c11
 *     snap/00000000000a0000.snap                    snapshot of the state at index 0xa0000
 *
 * Segment file (all integers little-endian):
 *
 *     header  24 bytes: magic "FLOTWAL\n" | version u32 = 1 | firstIndex u64 | crc32(bytes 0..20) u32
 *     record  20 bytes + payload: crc u32 | length u32 | index u64 | batchOffset u32 | payload[length]
 *             crc = crc32 of bytes 4..20 of the record header followed by the payload;
 *             batchOffset = index - (index of the first record written by the same write+fsync)
 *     tail    zero bytes up to the end of the file (preallocated space), possibly none
 *
 *   Worked example: a segment starting at index 7 whose first write+fsync held the records
 *   "abc" (index 7) and "hi" (index 8), followed by 8 bytes of preallocated zeros:
 *
 *     00: 46 4c 4f 54 57 41 4c 0a  01 00 00 00 07 00 00 00   "FLOTWAL\n", version 1, firstIndex 7 ...
 *     10: 00 00 00 00 hh hh hh hh                            ... (high half), header crc
 *     18: cc cc cc cc 03 00 00 00  07 00 00 00 00 00 00 00   record crc, length 3, index 7 ...
 *     28: 00 00 00 00 61 62 63                               ... batchOffset 0, "abc"
 *     2f: cc cc cc cc 02 00 00 00  08 00 00 00 00 00 00 00   record crc, length 2, index 8 ...
 *     3f: 01 00 00 00 68 69                                  ... batchOffset 1, "hi"
 *     45: 00 00 00 00 00 00 00 00                            zero tail: the log ends at 0x45
 *
 * Snapshot files (format in snapfile.ts) carry their own sha256; recovery uses the newest one
 * that checks out and that the log continues, falling back to an older one (kept, with the
 * log since it, by keepSnapshots) with a warning.
 *
 * Torn tail versus corruption. Writes are strictly sequential (batch n+1 is written only
 * after batch n is fdatasync'd), so only the last batch, which nobody was told is durable,
 * can be damaged by a crash, and only in the ways a crash damages a write: cut short
 * (SIGKILL: a prefix of the batch is in the file) or, after power loss, with sectors that
 * never reached the disk (they read as zeros: preallocated or newly allocated space). When
 * a record of the last segment fails to parse, recovery classifies the damage:
 *  - a valid record of a LATER batch follows it (batchOffset tells the batches apart)
 *    → the bad record was acknowledged → WalCorruptError;
 *  - the bad record is cut off by the end of the file, or has an all-zero header or an
 *    all-zero sector-sized piece (etcd's isTornEntry rule) → torn tail: the file is truncated
 *    at the bad record with a warning (etcd's WAL repair);
 *  - anything else (a flipped bit in a complete record) → WalCorruptError.
 * Any damage in an earlier segment, a gap in the index sequence, or a bad header is
 * corruption too. Zero bytes from a record boundary to the end of a file are simply unused
 * preallocated space.
 *
 * Files are created under a `.tmp` name, fsync'd, renamed, and the directory fsync'd, so a
 * crash never leaves a half-written segment header or snapshot under its real name.
 */
import { constants as fsConstants } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import * as zlib from 'node:zlib';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Logger } from '../../util/log.js';
import { silentLogger } from '../../util/log.js';
import { checkSnapshotFile, fsyncDir, parseSnapshotFileName, readSnapshotData, readU64, writeSnapshotFile, writeU64 } from './snapfile.js';

/** Format version of the data directory; bump on any incompatible change. */
export const WAL_FORMAT_VERSION = 1;
const VERSION_FILE_CONTENT = `flotilla-wal ${WAL_FORMAT_VERSION}\n`;

const SEGMENT_MAGIC = Buffer.from('FLOTWAL\n', 'latin1');
const SEGMENT_HEADER_BYTES = 24;
const RECORD_HEADER_BYTES = 20;
/** Damage granularity of a power-loss tear; etcd uses the same minimum sector size. */
const SECTOR_BYTES = 512;
/** Upper bound on one record's payload; a larger length field is damage, not data. */
const MAX_RECORD_BYTES = 512 * 1024 * 1024;


/**
 * O_DSYNC where the platform has it: write and sync are then one system call, one trip
 * through libuv's thread pool instead of two (pwritev, then fdatasync), so the sync runs
 * without waiting for the main thread in between. Same guarantee as fdatasync after the write.
 */
const SYNC_WRITES = fsConstants.O_DSYNC ?? 0;

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const DEFAULT_PREALLOCATE_BYTES = 1024 * 1024;
/** libuv writes at most IOV_MAX (1024 on Linux) buffers per call; stay below it. */
const MAX_IOV = 512;

export interface WalOptions {
  /** Data directory; created if missing. The WAL uses `dir/wal` and `dir/snap`. */
  dir: string;
  logger?: Logger;
  /** Metrics are registered here (or reused if already registered by another Wal). */
  registry?: Registry;
  /** Roll over to a new segment before a write would take the current one past this size. Default 64 MiB. */
  segmentBytes?: number;
  /** Skip fdatasync (benchmarks only): acknowledged writes survive a process crash but not power loss. */
  noSync?: boolean;
  /**
   * How many snapshots to keep (>= 1, default 2). Segments are kept back to the oldest kept
   * snapshot, so a damaged newest snapshot can be replaced by the older one plus the log.
   */
  keepSnapshots?: number;
  /**
   * Extend the current segment with this many zero bytes at a time, ahead of the records
   * (default 1 MiB; 0 disables). Overwriting allocated space lets fdatasync skip the
   * file-size metadata update, which cuts a sequential append's latency by about a third;
   * node has no fallocate, so the space is written as zeros, in the same writev as a batch.
   */
  preallocateBytes?: number;
}

export interface WalRecovery {
  /** The newest usable snapshot; `chunks()` yields its bytes exactly as saved (boundaries may differ). */
  snapshot?: { index: number; chunks(): AsyncIterable<Buffer> };
  /** Every durable record with index > snapshot.index (or all, without a snapshot), in order. */
  records: { index: number; data: Buffer }[];
  /** Things recovery repaired or worked around (torn tail dropped, snapshot fallback); also logged. */
  warnings: string[];
}

/** Counters for tests and benchmarks; monotonic over the Wal's lifetime. */
export interface WalStats {
  /** write+fdatasync rounds (batches written). */
  batches: number;
  /** Syncs of segment data: O_DSYNC writes, or fdatasync calls where there is no O_DSYNC (0 with noSync). */
  fsyncs: number;
  records: number;
  /** Record bytes written (headers + payloads). */
  bytesWritten: number;
  /** Zero bytes written to preallocate segment space. */
  preallocatedBytes: number;
}

/**
 * The data on disk is damaged in a way recovery must not paper over. `file` and `offset`
 * locate the first bad byte range; the message says what to do.
 */
export class WalCorruptError extends Error {
  readonly file: string;
  readonly offset: number;

  constructor(file: string, offset: number, problem: string) {
    super(
      `wal: ${file} is corrupt at byte offset ${offset}: ${problem}. ` +
        'Refusing to start so no acknowledged write is silently lost; restore the data directory ' +
        'from a backup, or move the damaged file aside only if losing its records is acceptable.',
    );
    this.name = 'WalCorruptError';
    this.file = file;
    this.offset = offset;
  }
}

// ---------------------------------------------------------------------------------------------
// CRC32 (IEEE, zlib's polynomial). node:zlib has a native crc32 from Node 20.15/22.2; older
// Node 20 releases use the table-driven fallback, which computes the same function.

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** The table-driven CRC32 used when node:zlib has none; exported so tests compare it with zlib's. */
export function crc32Js(data: Uint8Array, value = 0): number {
  let c = ~value >>> 0;
  for (let i = 0; i < data.length; i++) c = crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32;
/** crc32(data, previous) continues a checksum over concatenated inputs. */
export const crc32: (data: Uint8Array, value?: number) => number = nativeCrc32 ?? crc32Js;

// ---------------------------------------------------------------------------------------------
// Encoding helpers

/** One framed record (header + payload) in a single buffer, so it owns a copy of `data`. */
function encodeRecord(index: number, batchOffset: number, data: Buffer): Buffer {
  const buf = Buffer.allocUnsafe(RECORD_HEADER_BYTES + data.length);
  buf.writeUInt32LE(data.length, 4);
  writeU64(buf, index, 8);
  buf.writeUInt32LE(batchOffset, 16);
  data.copy(buf, RECORD_HEADER_BYTES);
  buf.writeUInt32LE(crc32(buf.subarray(4)), 0);
  return buf;
}

function encodeSegmentHeader(firstIndex: number): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  SEGMENT_MAGIC.copy(buf, 0);
  buf.writeUInt32LE(WAL_FORMAT_VERSION, 8);
  writeU64(buf, firstIndex, 12);
  buf.writeUInt32LE(crc32(buf.subarray(0, 20)), 20);
  return buf;
}

const hex16 = (n: number) => n.toString(16).padStart(16, '0');
const segmentName = (seq: number, firstIndex: number) => `${hex16(seq)}-${hex16(firstIndex)}.wal`;
const SEGMENT_RE = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

interface ParsedRecord {
  index: number;
  /** Index of the first record of the write+fsync batch this record was written in. */
  batchFirst: number;
  data: Buffer;
  end: number;
}

/** Parses one record at `off`; undefined if it is incomplete or fails its checksum. */
function parseRecord(buf: Buffer, off: number): ParsedRecord | undefined {
  if (off + RECORD_HEADER_BYTES > buf.length) return undefined;
  const len = buf.readUInt32LE(off + 4);
  if (len > MAX_RECORD_BYTES) return undefined;
  const end = off + RECORD_HEADER_BYTES + len;
  if (end > buf.length) return undefined;
  if (crc32(buf.subarray(off + 4, end)) !== buf.readUInt32LE(off)) return undefined;
  const index = readU64(buf, off + 8);
  return { index, batchFirst: index - buf.readUInt32LE(off + 16), data: buf.subarray(off + RECORD_HEADER_BYTES, end), end };
}

const ZEROS = Buffer.alloc(64 * 1024);

function isAllZero(buf: Buffer, from: number, to: number): boolean {
  for (let p = from; p < to; p += ZEROS.length) {
    const n = Math.min(ZEROS.length, to - p);
    if (!buf.subarray(p, p + n).equals(n === ZEROS.length ? ZEROS : ZEROS.subarray(0, n))) return false;
  }
  return true;
}

/** Offset just after the last non-zero byte (0 if all zero): where preallocated space begins at the latest. */
function dataEnd(buf: Buffer): number {
  let to = buf.length;
  while (to > 0) {
    const from = Math.max(0, to - ZEROS.length);
    if (!isAllZero(buf, from, to)) {
      for (let p = to - 1; p >= from; p--) if (buf[p] !== 0) return p + 1;
    }
    to = from;
  }
  return 0;
}

/**
 * etcd's isTornEntry, on the sector grid: does the record in buf[from..to) have a piece,
 * cut at sector boundaries, that is all zeros, as a sector of the write that never reached
 * the disk would be? Zeros also occur in real data, so a piece under 8 bytes counts only at
 * the record's start (its checksum: zero with odds of 2^-8 per byte) or at its end when the
 * rest of that sector is zero too. The last case is ambiguous: a record whose final bytes are
 * zeros and fall just past a sector boundary, damaged elsewhere by bit rot, passes for torn.
 * It is resolved this way because a power loss that drops only the last sector of a write is
 * far likelier than bit rot; the alternative refuses to start after such a power loss.
 */
function hasZeroSector(buf: Buffer, from: number, to: number): boolean {
  for (let p = from; p < to; ) {
    const sectorEnd = (Math.floor(p / SECTOR_BYTES) + 1) * SECTOR_BYTES;
    const next = Math.min(to, sectorEnd);
    if (isAllZero(buf, p, next)) {
      if (next - p >= 8 || p === from) return true;
      if (next === to && isAllZero(buf, p, Math.min(sectorEnd, buf.length))) return true;
    }
    p = next;
  }
  return false;
}

/** Result of reading one segment file. */
export interface SegmentScan {
  records: ParsedRecord[];
  /** Offset just after the last valid record: where the next record goes. */
  end: number;
  /** Set when the bytes from `end` on are a torn write to be truncated away. */
  torn?: { offset: number; problem: string };
}

/**
 * Reads the records of one segment (header already checked), classifying damage as
 * described in the module comment. Throws WalCorruptError for damage that is not a torn tail
 * of the last segment. Exported for tests.
 */
export function scanSegment(buf: Buffer, path: string, firstIndex: number, isLast: boolean): SegmentScan {
  const records: ParsedRecord[] = [];
  const nonZeroEnd = dataEnd(buf);
  let expect = firstIndex;
  let off = SEGMENT_HEADER_BYTES;
  while (off < buf.length) {
    const rec = parseRecord(buf, off);
    if (rec && rec.index === expect) {
      records.push(rec);
      expect++;
      off = rec.end;
      continue;
    }
    if (off >= nonZeroEnd) break; // only zeros from here on: unused preallocated space
    if (rec) throw new WalCorruptError(path, off, `record has index ${rec.index}, expected ${expect}`);
    const claimedEnd = off + RECORD_HEADER_BYTES <= buf.length ? off + RECORD_HEADER_BYTES + buf.readUInt32LE(off + 4) : Infinity;
    const incomplete = claimedEnd > buf.length;
    const problem = incomplete ? 'record is cut off by the end of the file' : 'record checksum mismatch';
    if (!isLast) throw new WalCorruptError(path, off, `${problem}, in a segment that is not the last one`);

    // What lies behind the damage? Valid records there may belong to the same unfinished batch
    // (a power-loss tear reordered its sectors) but never to a later one.
    let later: { offset: number; batchFirst: number } | undefined;
    const maxIndex = expect + Math.ceil((nonZeroEnd - off) / RECORD_HEADER_BYTES);
    for (let p = off + 1; p < nonZeroEnd && p + RECORD_HEADER_BYTES <= buf.length; ) {
      const idx = readU64(buf, p + 8);
      const cand = idx >= expect && idx <= maxIndex ? parseRecord(buf, p) : undefined;
      if (!cand) {
        p++;
        continue;
      }
      if (!later || cand.batchFirst > later.batchFirst) later = { offset: p, batchFirst: cand.batchFirst };
      p = cand.end;
    }
    if (later && later.batchFirst > expect) {
      throw new WalCorruptError(path, off, `${problem}, and records of a later write, which was only issued after this one was on disk, follow at offset ${later.offset}`);
    }
    const headerZero = off + RECORD_HEADER_BYTES <= buf.length && isAllZero(buf, off, off + RECORD_HEADER_BYTES);
    const torn = (incomplete && !later) || headerZero || hasZeroSector(buf, off, Math.min(claimedEnd, buf.length));
    if (!torn) {
      throw new WalCorruptError(path, off, `${problem} in the last record written, and the damage does not look like an interrupted write`);
    }
    return { records, end: off, torn: { offset: off, problem } };
  }
  return { records, end: off };
}

interface SegmentInfo {
  seq: number;
  firstIndex: number;
  path: string;
  name: string;
  /** Where the next record goes (end of the last valid record). */
  end: number;
  /** File size on disk: `end` plus preallocated zeros. */
  fileBytes: number;
}

interface SnapInfo {
  index: number;
  path: string;
  size: number;
}

interface Batch {
  buffers: Buffer[];
  bytes: number;
  records: number;
  promise: Promise<void>;
  resolve: () => void;
  reject: (err: Error) => void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A failure is reported to every awaiting caller and logged; a caller that dropped its
  // `durable` must not turn it into an unhandled rejection that kills the process.
  promise.catch(() => {});
  return { buffers: [], bytes: 0, records: 0, promise, resolve, reject };
}

/** mkdir -p, then fsync the parents of what was created so the new entries survive power loss. */
async function mkdirDurable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = resolve(first); ; d = dirname(d)) {
    await fsyncDir(dirname(d));
    if (d === resolve(dir)) break;
  }
}

/** Linux: the process's start time in clock ticks since boot (field 22 of /proc/<pid>/stat); undefined elsewhere. */
async function processStartTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return 'zombie';
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Is the process that wrote a lock with this pid and start time still running? */
async function processAlive(pid: number, start: string): Promise<boolean> {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = await processStartTime(pid);
  if (now === 'zombie') return false;
  return now === undefined || start === 'unknown' || now === start;
}

async function unlinkIfExists(path: string): Promise<void> {
  await unlink(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'ENOENT') throw err;
  });
}

/** Writes `content` to `path` atomically: tmp file, fsync, rename, fsync dir. */
async function writeFileAtomic(dir: string, name: string, content: Buffer): Promise<void> {
  const tmp = join(dir, name + '.tmp');
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(content);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, name));
  await fsyncDir(dir);
}

interface WalMetrics {
  fsyncDuration: Histogram;
  writeBytes: Counter;
  batchRecords: Histogram;
}

function metricsOn(registry: Registry): WalMetrics {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    fsyncDuration: get('etcd_disk_wal_fsync_duration_seconds', () => new Histogram({
      name: 'etcd_disk_wal_fsync_duration_seconds',
      help: 'The latency distributions of fsync called by WAL (here: each durable write of a batch, write + sync).',
      buckets: Array.from({ length: 14 }, (_, i) => 0.001 * 2 ** i),
      registers: [registry],
    })),
    writeBytes: get('etcd_disk_wal_write_bytes_total', () => new Counter({
      name: 'etcd_disk_wal_write_bytes_total',
      help: 'Total number of bytes written in WAL.',
      registers: [registry],
    })),
    batchRecords: get('flotilla_wal_batch_records', () => new Histogram({
      name: 'flotilla_wal_batch_records',
      help: 'Records written per WAL write+fsync (group commit batch size).',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096],
      registers: [registry],
    })),
  };
}

// ---------------------------------------------------------------------------------------------

/**
 * A write-ahead log with snapshots. Create with `Wal.open`. Not safe to open the same
 * directory twice (the caller owns the directory exclusively).
 */
export class Wal {
  private readonly dir: string;
  private readonly walDir: string;
  private readonly snapDir: string;
  private readonly log: Logger;
  private readonly segmentBytes: number;
  private readonly noSync: boolean;
  private readonly keepSnapshots: number;
  private readonly preallocateBytes: number;
  private readonly metrics?: WalMetrics;

  /** Closed segments, oldest first (the current one is not in this list). */
  private segments: SegmentInfo[] = [];
  private current!: SegmentInfo;
  private fh!: FileHandle;
  /** Snapshots on disk, oldest first. */
  private snapshots: SnapInfo[] = [];

  private lastIndex = 0;
  private pending: Batch = newBatch();
  private flushing = false;
  private flushScheduled = false;
  private idle: Promise<void> = Promise.resolve();
  private idleResolve?: () => void;
  private failed?: Error;
  private closed = false;
  private closing?: Promise<void>;
  /** Path of the LOCK file while we hold it. */
  private locked?: string;
  private snapshotChain: Promise<void> = Promise.resolve();
  private readonly counters: WalStats = { batches: 0, fsyncs: 0, records: 0, bytesWritten: 0, preallocatedBytes: 0 };

  private constructor(opts: WalOptions) {
    this.dir = opts.dir;
    this.walDir = join(opts.dir, 'wal');
    this.snapDir = join(opts.dir, 'snap');
    this.log = opts.logger ?? silentLogger();
    this.segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.noSync = opts.noSync ?? false;
    this.keepSnapshots = Math.max(1, opts.keepSnapshots ?? 2);
    this.preallocateBytes = Math.max(0, opts.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES);
    if (!(this.segmentBytes > SEGMENT_HEADER_BYTES)) throw new Error(`wal: segmentBytes must exceed ${SEGMENT_HEADER_BYTES}`);
    if (opts.registry) this.metrics = metricsOn(opts.registry);
  }

  /**
   * Opens (creating if needed) the log in `opts.dir` and recovers its state. Throws
   * WalCorruptError on damage that recovery must not repair, and a plain Error for a data
   * directory written by an incompatible version.
   */
  static async open(opts: WalOptions): Promise<{ wal: Wal; recovery: WalRecovery }> {
    const wal = new Wal(opts);
    const recovery = await wal.recover();
    return { wal, recovery };
  }

  /** Index of the last appended record (durable or not); 0 if none since the beginning. */
  get lastAppendedIndex(): number {
    return this.lastIndex;
  }

  /**
   * Appends one record; returns its index (last + 1) at once. `durable` resolves when the
   * record is on disk, rejects if the write or fsync fails (after which every later append
   * throws: a failed fsync leaves the file in an unknown state, so the log stops).
   * The data is copied; the caller may reuse the buffer immediately.
   */
  append(data: Buffer): { index: number; durable: Promise<void> } {
    if (this.closed) throw new Error('wal: append after close');
    if (this.failed) throw new Error(`wal: log failed earlier and accepts no writes: ${this.failed.message}`, { cause: this.failed });
    if (data.length > MAX_RECORD_BYTES) throw new Error(`wal: record of ${data.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`);
    const index = ++this.lastIndex;
    const batch = this.pending;
    const rec = encodeRecord(index, batch.records, data);
    batch.buffers.push(rec);
    batch.bytes += rec.length;
    batch.records++;
    if (!this.flushing && !this.flushScheduled) {
      // Deferred to a microtask so every append of the current synchronous run joins the batch.
      this.flushScheduled = true;
      queueMicrotask(() => {
        this.flushScheduled = false;
        void this.flushLoop();
      });
    }
    return { index, durable: batch.promise };
  }

  /** Counters for tests and benchmarks. */
  stats(): WalStats {
    return { ...this.counters };
  }

  /** Bytes on disk: segments plus snapshots. */
  sizeBytes(): number {
    let n = this.current.fileBytes;
    for (const s of this.segments) n += s.fileBytes;
    for (const s of this.snapshots) n += s.size;
    return n;
  }

  /**
   * Durably saves the state as of record `index` (chunks are streamed, never held in memory
   * together), then deletes segments and snapshots no longer needed. Appends may continue
   * meanwhile. `index` must not exceed the last appended index nor precede the newest
   * snapshot. Concurrent calls are serialized.
   */
  saveSnapshot(index: number, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    const run = this.snapshotChain.then(() => this.doSaveSnapshot(index, chunks));
    this.snapshotChain = run.catch(() => {});
    return run;
  }

  /** Waits for every pending append to be durable (or failed), then closes the files. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      // A flush scheduled by a microtask before close() starts first; then drain the loop.
      await Promise.resolve();
      while (this.flushing) await this.idle;
      if (this.pending.records > 0 && !this.failed) await this.flushLoop();
      await this.snapshotChain;
      await this.fh.close();
      await this.unlock();
    })();
    return this.closing;
  }

  // ---- group commit ---------------------------------------------------------------------

  /**
   * Writes batches one at a time until nothing is pending. The next batch's write is issued
   * before the previous batch's callers are released, so the CPU work they do on release (the
   * store applying and answering, then appending again) overlaps the disk work of the next
   * write instead of alternating with it. Only one write is ever in flight: recovery relies on
   * every batch but the last being complete on disk.
   */
  private async flushLoop(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    this.idle = new Promise((res) => (this.idleResolve = res));
    let done: Batch | undefined;
    try {
      while (this.pending.records > 0 && !this.failed) {
        const batch = this.pending;
        this.pending = newBatch();
        const writing = this.writeBatch(batch); // issues the write before returning
        done?.resolve();
        done = undefined;
        try {
          await writing;
          done = batch;
        } catch (err) {
          const e = err instanceof Error ? err : new Error(String(err));
          this.failed = e;
          this.log.error({ err: e }, 'wal: write failed; the log accepts no more writes');
          batch.reject(e);
          this.pending.reject(e);
        }
      }
    } finally {
      done?.resolve();
      this.flushing = false;
      this.idleResolve?.();
    }
  }

  private async writeBatch(batch: Batch): Promise<void> {
    if (this.current.end > SEGMENT_HEADER_BYTES && this.current.end + batch.bytes > this.segmentBytes) {
      await this.rollSegment(readU64(batch.buffers[0]!, 8));
    }
    const cur = this.current;
    // One writev normally; a batch of more buffers than a writev takes is joined first.
    let bufs = batch.buffers.length < MAX_IOV ? batch.buffers : [Buffer.concat(batch.buffers, batch.bytes)];
    let zeros = 0;
    const end = cur.end + batch.bytes;
    if (this.preallocateBytes > 0 && end > cur.fileBytes) {
      // Extend in the same writev, so the space costs no extra sync.
      zeros = Math.max(0, Math.min(this.preallocateBytes, this.segmentBytes - end));
      if (zeros > 0) bufs = [...bufs, zeroBuffer(zeros)];
    }
    const t0 = process.hrtime.bigint();
    let want = batch.bytes + zeros;
    let pos = cur.end;
    while (want > 0) {
      const { bytesWritten } = await this.fh.writev(bufs, pos);
      pos += bytesWritten;
      want -= bytesWritten;
      if (want > 0) bufs = skipBytes(bufs, bytesWritten);
    }
    cur.end = end;
    cur.fileBytes = Math.max(cur.fileBytes, pos);
    if (!this.noSync) {
      if (!SYNC_WRITES) await this.fh.datasync();
      this.counters.fsyncs++;
      this.metrics?.fsyncDuration.observe(Number(process.hrtime.bigint() - t0) / 1e9);
    }
    this.counters.batches++;
    this.counters.records += batch.records;
    this.counters.bytesWritten += batch.bytes;
    this.counters.preallocatedBytes += zeros;
    this.metrics?.writeBytes.inc(batch.bytes + zeros);
    this.metrics?.batchRecords.observe(batch.records);
  }

  /** Opens a segment for appending; with O_DSYNC every write returns only once it is durable. */
  private openSegment(path: string): Promise<FileHandle> {
    return open(path, SYNC_WRITES && !this.noSync ? fsConstants.O_RDWR | SYNC_WRITES : 'r+');
  }

  /**
   * Starts a new segment whose first record is `firstIndex`. The current one is already
   * durable (batches are sequential); its unused preallocated tail is cut off to give the
   * space back (recovery accepts the zeros if a crash comes first).
   */
  private async rollSegment(firstIndex: number): Promise<void> {
    const old = this.current;
    const seq = old.seq + 1;
    const name = segmentName(seq, firstIndex);
    const header = encodeSegmentHeader(firstIndex);
    await writeFileAtomic(this.walDir, name, header);
    const fh = await this.openSegment(join(this.walDir, name));
    const oldFh = this.fh;
    this.segments.push(old);
    this.current = { seq, firstIndex, name, path: join(this.walDir, name), end: header.length, fileBytes: header.length };
    this.fh = fh;
    try {
      if (old.fileBytes > old.end) {
        await oldFh.truncate(old.end);
        if (!this.noSync) await oldFh.sync();
        old.fileBytes = old.end;
      }
    } finally {
      await oldFh.close();
    }
  }

  // ---- snapshots ------------------------------------------------------------------------

  private async doSaveSnapshot(index: number, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    if (this.closed) throw new Error('wal: saveSnapshot after close');
    if (!Number.isSafeInteger(index) || index < 0) throw new Error(`wal: invalid snapshot index ${index}`);
    if (index > this.lastIndex) throw new Error(`wal: snapshot index ${index} is beyond the last appended index ${this.lastIndex}`);
    const newest = this.snapshots.at(-1);
    if (newest && index < newest.index) throw new Error(`wal: snapshot index ${index} precedes the newest snapshot ${newest.index}`);

    const { path, size } = await writeSnapshotFile(this.snapDir, index, chunks, { sync: !this.noSync });
    if (newest && newest.index === index) this.snapshots.pop();
    this.snapshots.push({ index, path, size });
    this.log.info({ index, bytes: size }, 'wal: snapshot saved');
    await this.purge();
  }

  /**
   * Deletes snapshots beyond keepSnapshots and segments every record of which precedes the
   * oldest kept one. Each segment deletion is made durable before the next, oldest first, so
   * the segments on disk always stay a gap-free run whatever a crash keeps.
   */
  private async purge(): Promise<void> {
    let removedSnap = false;
    while (this.snapshots.length > this.keepSnapshots) {
      const s = this.snapshots.shift()!;
      await unlinkIfExists(s.path);
      removedSnap = true;
    }
    if (removedSnap && !this.noSync) await fsyncDir(this.snapDir);
    const keepAfter = this.snapshots[0]?.index ?? 0;
    // Segment i holds [first_i, first_{i+1} - 1]; it is needed unless first_{i+1} - 1 <= keepAfter.
    // Delete oldest first so a crash midway leaves a contiguous suffix.
    while (this.segments.length > 0) {
      const nextFirst = this.segments[1]?.firstIndex ?? this.current.firstIndex;
      if (nextFirst - 1 > keepAfter) break;
      const s = this.segments.shift()!;
      await unlinkIfExists(s.path);
      if (!this.noSync) await fsyncDir(this.walDir);
    }
  }

  // ---- recovery -------------------------------------------------------------------------

  private async recover(): Promise<WalRecovery> {
    const warnings: string[] = [];
    const warn = (msg: string, fields: Record<string, unknown> = {}) => {
      warnings.push(msg);
      this.log.warn(fields, msg);
    };
    await mkdirDurable(this.dir);
    await mkdirDurable(this.walDir);
    await mkdirDurable(this.snapDir);
    await this.lock();
    try {
      return await this.recoverLocked(warn, warnings);
    } catch (err) {
      await this.unlock();
      throw err;
    }
  }

  private async recoverLocked(warn: (msg: string, fields?: Record<string, unknown>) => void, warnings: string[]): Promise<WalRecovery> {

    const walNames = await readdir(this.walDir);
    const snapNames = await readdir(this.snapDir);
    // Leftovers of a crash while creating a file: never renamed, so never relied upon.
    for (const n of walNames) if (n.endsWith('.tmp')) await rm(join(this.walDir, n), { force: true });
    for (const n of snapNames) if (n.endsWith('.tmp')) await rm(join(this.snapDir, n), { force: true });

    await this.checkVersion(walNames);

    // Segments, by sequence number.
    const segs: SegmentInfo[] = [];
    for (const name of walNames) {
      const m = SEGMENT_RE.exec(name);
      if (!m) continue;
      segs.push({ seq: parseInt(m[1]!, 16), firstIndex: parseInt(m[2]!, 16), name, path: join(this.walDir, name), end: 0, fileBytes: 0 });
    }
    segs.sort((a, b) => a.seq - b.seq);

    // Read and validate every segment; the last one may have a torn tail.
    const records: { index: number; data: Buffer }[] = [];
    let prevLast: number | undefined;
    for (let i = 0; i < segs.length; i++) {
      const seg = segs[i]!;
      const isLast = i === segs.length - 1;
      const buf = await readFile(seg.path);
      seg.fileBytes = buf.length;
      if (i > 0 && seg.seq !== segs[i - 1]!.seq + 1) {
        throw new WalCorruptError(seg.path, 0, `segment sequence jumps from ${segs[i - 1]!.seq} to ${seg.seq} (a segment file is missing)`);
      }
      this.checkSegmentHeader(seg, buf);
      if (prevLast !== undefined && seg.firstIndex !== prevLast + 1) {
        throw new WalCorruptError(seg.path, 0, `segment starts at index ${seg.firstIndex} but the previous segment ended at ${prevLast}`);
      }
      const scan = scanSegment(buf, seg.path, seg.firstIndex, isLast);
      for (const r of scan.records) records.push({ index: r.index, data: r.data });
      seg.end = scan.end;
      const expect = seg.firstIndex + scan.records.length;
      if (scan.torn) {
        warn(
          `wal: dropped torn tail of ${seg.path}: ${buf.length - scan.end} bytes from offset ${scan.end} (${scan.torn.problem}); ` +
            `the log ends at index ${expect - 1}`,
          { file: seg.path, offset: scan.end, bytes: buf.length - scan.end },
        );
        const fh = await open(seg.path, 'r+');
        try {
          await fh.truncate(scan.end);
          await fh.sync();
        } finally {
          await fh.close();
        }
        seg.fileBytes = scan.end;
      }
      prevLast = expect - 1;
    }

    // Snapshots, newest first: pick the newest that verifies and that the log can continue.
    const snaps: SnapInfo[] = [];
    for (const name of snapNames) {
      const index = parseSnapshotFileName(name);
      if (index !== undefined) snaps.push({ index, path: join(this.snapDir, name), size: 0 });
    }
    snaps.sort((a, b) => a.index - b.index);

    // The log holds exactly the indexes logStart..lastRecord (segments are contiguous).
    const logStart = segs[0]?.firstIndex ?? 1;
    const lastRecord = records.at(-1)?.index ?? logStart - 1;
    /** Can the state at snapshot index s be rebuilt up to the end of the log? */
    const continues = (s: number) => lastRecord <= s || logStart <= s + 1;

    let chosen: SnapInfo | undefined;
    let firstError: WalCorruptError | undefined;
    for (let i = snaps.length - 1; i >= 0; i--) {
      const s = snaps[i]!;
      const { size, damage } = await checkSnapshotFile(s.path, s.index);
      s.size = size;
      const err = damage && new WalCorruptError(s.path, damage.offset, damage.problem);
      if (!err && continues(s.index)) {
        chosen = s;
        break;
      }
      const e = err ?? new WalCorruptError(this.walDir, 0, `log records ${s.index + 1}..${logStart - 1} after snapshot ${s.path} are missing (the log starts at index ${logStart})`);
      firstError ??= e;
    }
    if (snaps.length > 0 && !chosen) throw firstError!;
    if (chosen && chosen !== snaps.at(-1)) {
      warn(`wal: newest snapshot is unusable (${firstError!.message}); recovered from older snapshot ${chosen.path} plus the log instead`, {
        file: firstError!.file,
        offset: firstError!.offset,
      });
    }
    if (!chosen && logStart !== 1) {
      throw new WalCorruptError(segs[0]!.path, 0, `the log starts at index ${logStart} but there is no snapshot holding the records before it`);
    }
    this.snapshots = snaps.filter((s) => !chosen || s.index <= chosen.index);
    for (const s of this.snapshots) if (s.size === 0) s.size = (await stat(s.path)).size;
    // Snapshots newer than the chosen one are damaged; keep them on disk for an operator, but
    // never count them as kept snapshots.
    const base = chosen?.index ?? 0;
    const out = records.filter((r) => r.index > base);
    this.lastIndex = Math.max(lastRecord, base);

    // Open (or create) the current segment.
    if (segs.length === 0) {
      const firstIndex = this.lastIndex + 1;
      const name = segmentName(1, firstIndex);
      await writeFileAtomic(this.walDir, name, encodeSegmentHeader(firstIndex));
      segs.push({ seq: 1, firstIndex, name, path: join(this.walDir, name), end: SEGMENT_HEADER_BYTES, fileBytes: SEGMENT_HEADER_BYTES });
    } else if (lastRecord < base) {
      // The snapshot is ahead of the log (it covered appends that never became durable), so
      // every segment holds only records it covers. Delete them, oldest first (a crash midway
      // leaves a suffix that is again entirely covered), then start a new log after the snapshot.
      this.log.info({ snapshot: base, lastRecord }, 'wal: snapshot is ahead of the log; starting a new log after it');
      for (const s of segs) {
        await unlink(s.path);
        await fsyncDir(this.walDir);
      }
      const firstIndex = base + 1;
      const name = segmentName(1, firstIndex);
      await writeFileAtomic(this.walDir, name, encodeSegmentHeader(firstIndex));
      segs.length = 0;
      segs.push({ seq: 1, firstIndex, name, path: join(this.walDir, name), end: SEGMENT_HEADER_BYTES, fileBytes: SEGMENT_HEADER_BYTES });
    }
    this.current = segs.pop()!;
    this.segments = segs;
    // Finish what a crash may have interrupted between saving a snapshot and purging.
    await this.purge();
    this.fh = await this.openSegment(this.current.path); // last: nothing after it can fail and leak it

    const snapshot = chosen ? { index: chosen.index, chunks: () => readSnapshotData(chosen!.path, chosen!.size) } : undefined;
    this.log.info({ snapshot: chosen?.index, records: out.length, lastIndex: this.lastIndex, segments: segs.length + 1 }, 'wal: recovered');
    return { snapshot, records: out, warnings };
  }

  /**
   * Takes `wal/LOCK` for this process, so two processes never append to one log. A lock left
   * by a process that is gone (SIGKILL, power loss) is taken over: the holder's pid is checked
   * to be alive and, on Linux, to be the same process (its start time), not a reused pid. A
   * lock held by this very process is taken over too: reopening a directory without closing it
   * (a test simulating a crash) is the caller's business.
   */
  private async lock(): Promise<void> {
    const path = join(this.walDir, 'LOCK');
    let holder: string | undefined;
    try {
      holder = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (holder !== undefined) {
      const m = /^pid=(\d+) start=(\S+)/.exec(holder);
      if (m && (await processAlive(Number(m[1]), m[2]!))) {
        throw new Error(
          `wal: ${this.dir} is in use by process ${m[1]} (${path}); stop that process first, ` +
            'or delete the lock file if it is not a Flotilla using this directory',
        );
      }
      this.log.info({ file: path, holder: holder.trim() }, 'wal: taking over a lock left by a process that is gone');
    }
    await writeFile(path, `pid=${process.pid} start=${(await processStartTime(process.pid)) ?? 'unknown'}\n`);
    this.locked = path;
  }

  private async unlock(): Promise<void> {
    if (!this.locked) return;
    const path = this.locked;
    this.locked = undefined;
    await unlink(path).catch(() => {});
  }

  private async checkVersion(walNames: string[]): Promise<void> {
    const versionPath = join(this.walDir, 'VERSION');
    let content: string | undefined;
    try {
      content = await readFile(versionPath, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    if (content === undefined) {
      if (walNames.some((n) => SEGMENT_RE.test(n))) {
        throw new Error(`wal: ${this.walDir} holds segments but no VERSION file; it was not written by Flotilla's WAL (format ${WAL_FORMAT_VERSION}) and will not be opened`);
      }
      await writeFileAtomic(this.walDir, 'VERSION', Buffer.from(VERSION_FILE_CONTENT));
      return;
    }
    if (content !== VERSION_FILE_CONTENT) {
      throw new Error(
        `wal: ${versionPath} says ${JSON.stringify(content.trim())}, but this Flotilla reads only "flotilla-wal ${WAL_FORMAT_VERSION}"; ` +
          'run the Flotilla version that wrote this data directory (or migrate it) instead',
      );
    }
  }

  private checkSegmentHeader(seg: SegmentInfo, buf: Buffer): void {
    if (buf.length < SEGMENT_HEADER_BYTES) throw new WalCorruptError(seg.path, 0, `file is ${buf.length} bytes, shorter than the segment header`);
    if (!buf.subarray(0, 8).equals(SEGMENT_MAGIC)) throw new WalCorruptError(seg.path, 0, 'not a Flotilla WAL segment (bad magic)');
    if (crc32(buf.subarray(0, 20)) !== buf.readUInt32LE(20)) throw new WalCorruptError(seg.path, 0, 'segment header checksum mismatch');
    const version = buf.readUInt32LE(8);
    if (version !== WAL_FORMAT_VERSION) {
      throw new Error(`wal: ${seg.path} has format version ${version}, but this Flotilla reads only version ${WAL_FORMAT_VERSION}`);
    }
    const first = readU64(buf, 12);
    if (first !== seg.firstIndex) throw new WalCorruptError(seg.path, 12, `header says first index ${first} but the file name says ${seg.firstIndex}`);
  }
}

let zeroPool = Buffer.alloc(0);
/** A shared read-only buffer of `n` zero bytes. */
function zeroBuffer(n: number): Buffer {
  if (zeroPool.length < n) zeroPool = Buffer.alloc(n);
  return zeroPool.subarray(0, n);
}

function skipBytes(bufs: Buffer[], n: number): Buffer[] {
  const out: Buffer[] = [];
  for (const b of bufs) {
    if (n >= b.length) {
      n -= b.length;
      continue;
    }
    out.push(n > 0 ? b.subarray(n) : b);
    n = 0;
  }
  return out;
}
