/**
 * MvccStore: etcd v3 KV/Lease/Watch semantics (as etcd 3.4 behaves) over an in-memory MVCC
 * index, made durable by a write-ahead log with periodic snapshots.
 *
 * Durability model:
 *  - every mutating call is applied to memory at once (so later writes and compares see it,
 *    in call order), encoded as ONE WAL record, and resolves only once the WAL says that
 *    record is durable (group commit shares one fdatasync among concurrent writes);
 *  - the "durable revision" advances as records become durable (in append order); reads
 *    (range, read-only txns, watch deliveries, status) are served at the durable revision,
 *    which MVCC makes free: nothing a client can observe is lost by a crash;
 *  - a write txn whose chosen branch changes nothing appends no record but still waits until
 *    every earlier record is durable, since its compares and ranges saw their effects;
 *  - recovery = newest snapshot + replay of the records after it, giving back the same
 *    revision, compact revision, retained history (so watches from old revisions keep
 *    working) and leases; every lease restarts with its full TTL, as etcd does.
 *
 * Read-only txns (no put/delete in either branch, like etcd's isTxnReadonly) evaluate their
 * compares and ranges at the durable revision, exactly like a plain range.
 */
import type { Registry } from 'prom-client';
import { realClock, type Clock, type TimerHandle } from '../../util/clock.js';
import { silentLogger, type Logger } from '../../util/log.js';
import {
  RecordType,
  decodeRecord,
  decodeSnapshot,
  encodeRecord,
  encodeSnapshot,
  type ChangeOp,
  type SnapshotEntry,
  type SnapshotHeader,
} from './codec.js';
import { mkdir } from 'node:fs/promises';
import { DirLock } from './dirlock.js';
import { MvccError } from './errors.js';
import { EMPTY, KeyIndex, Rev, inRange, keyRange, liveAt, toKeyValue, toValueData, type KeyRange, type ValueData } from './key_index.js';
import { DEFAULT_MIN_LEASE_TTL, LEASE_CHECK_INTERVAL_MS, Lease, MAX_LEASE_TTL, randomLeaseId } from './lease.js';
import { storeMetrics, type StoreMetrics } from './metrics.js';
import { Wal, type WalOptions, type WalRecovery } from './wal.js';
import { WatchableStore } from './watchable.js';
import type {
  Compare,
  CompactionRequest,
  DeleteRangeRequest,
  DeleteRangeResponse,
  KV,
  KeyValue,
  LeaseGrantResponse,
  LeaseID,
  LeaseTimeToLiveResponse,
  PutRequest,
  PutResponse,
  RangeRequest,
  RangeResponse,
  RequestOp,
  ResponseHeader,
  ResponseOp,
  StoreStatus,
  TxnRequest,
  TxnResponse,
  WatchRequest,
  WatchResponse,
  Watcher,
} from './types.js';

/** The part of the WAL the store uses (the real Wal, or a fake in tests). */
export interface WalLike {
  append(data: Buffer): { index: number; durable: Promise<void> };
  saveSnapshot(index: number, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void>;
  sizeBytes(): number;
  close(): Promise<void>;
}

export type OpenWal = (opts: WalOptions) => Promise<{ wal: WalLike; recovery: WalRecovery }>;

export interface MvccStoreOptions {
  /** Data directory (WAL + snapshots). Absent = in-memory store (nothing survives close). */
  dataDir?: string;
  clock?: Clock;
  logger?: Logger;
  /** Prometheus registry for the store's (and the WAL's) metrics. */
  registry?: Registry;
  /** Progress notification interval for watchers with progressNotify (etcd: 10 minutes). */
  progressNotifyIntervalMs?: number;
  /** Take a snapshot after this many WAL records (default 100,000)... */
  snapshotEveryRecords?: number;
  /**
   * ...and once the records written since the last snapshot amount to at least this
   * fraction of the live data size (default 0.5), so that filling a large store does not
   * rewrite it over and over (write amplification stays bounded); 0 = records only.
   */
  snapshotMinLogRatio?: number;
  /**
   * etcd's --auto-compaction-mode=periodic --auto-compaction-retention: keep this much
   * history (ms); 0/absent = no automatic compaction.
   */
  autoCompactionRetentionMs?: number;
  /** Minimum lease TTL in seconds (etcd 3.4 with default flags: 2). */
  minLeaseTtlSeconds?: number;
  /** etcd's --max-request-bytes (default 1.5 MiB). */
  maxRequestBytes?: number;
  /** etcd's --max-txn-ops (default 128). */
  maxTxnOps?: number;
  /** Events buffered per watcher before it falls back to catching up from history. */
  watchBufferEvents?: number;
  /** WAL: skip fdatasync (benchmarks only). */
  noSync?: boolean;
  /** WAL segment size in bytes. */
  walSegmentBytes?: number;
  /** Replaces Wal.open (tests inject a fake or a failing WAL). */
  openWal?: OpenWal;
}

export const DEFAULT_MAX_REQUEST_BYTES = 1.5 * 1024 * 1024;
export const DEFAULT_MAX_TXN_OPS = 128;
export const DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS = 10 * 60 * 1000;
export const DEFAULT_SNAPSHOT_EVERY_RECORDS = 100_000;

/** Marks a revision dropped by compaction (in its `prev`); never reachable from the index. */
const DROPPED = new Rev('', 0, 0, 0, '', 0n, undefined);

/** Rough in-memory cost of one retained revision beyond its key and value bytes. */
const REV_OVERHEAD_BYTES = 64;

/** Changes collected by one write call, applied to memory as they are made. */
interface WriteCtx {
  /** The revision this write will have if it changes anything. */
  rev: number;
  ops: ChangeOp[];
}

/** The evaluated branch of a txn (and of its nested txns), decided before any write. */
interface TxnPath {
  succeeded: boolean;
  /** For each op of the chosen branch that is a txn, its path (by op index). */
  nested: Map<number, TxnPath>;
}

function lowerBound(log: Rev[], mod: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log[mid]!.mod < mod) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function compareBytes(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b);
}

function cmpNum(a: number | bigint, b: number | bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isTxnReadonly(t: TxnRequest): boolean {
  const ro = (ops: RequestOp[]) =>
    ops.every((op) => ('range' in op ? true : 'txn' in op ? isTxnReadonly(op.txn) : false));
  return ro(t.success) && ro(t.failure);
}

function opsBytes(ops: RequestOp[]): number {
  let n = 0;
  for (const op of ops) {
    if ('range' in op) n += 16 + op.range.key.length + (op.range.rangeEnd?.length ?? 0);
    else if ('put' in op) n += 16 + op.put.key.length + op.put.value.length;
    else if ('deleteRange' in op) n += 8 + op.deleteRange.key.length + (op.deleteRange.rangeEnd?.length ?? 0);
    else n += 8 + txnBytes(op.txn);
  }
  return n;
}

/** Approximate protobuf size of a txn request (what etcd compares with --max-request-bytes). */
function txnBytes(t: TxnRequest): number {
  let n = 0;
  for (const c of t.compare) n += 16 + c.key.length + (c.rangeEnd?.length ?? 0) + (c.value?.length ?? 0);
  return n + opsBytes(t.success) + opsBytes(t.failure);
}

/**
 * etcd's checkIntervals: a key may not be put twice, nor put and deleted, in one txn
 * (then/else of a nested txn are exclusive, so the same key in both is fine). Returns
 * this level's puts and deletes.
 */
function checkIntervals(ops: RequestOp[]): { puts: Set<string>; dels: KeyRange[] } {
  const dels: KeyRange[] = [];
  for (const op of ops) if ('deleteRange' in op) dels.push(keyRange(op.deleteRange.key, op.deleteRange.rangeEnd));
  const deleted = (k: string) => dels.some((d) => inRange(d, k));
  const dup = () => new MvccError('DuplicateKey');
  const puts = new Set<string>();
  for (const op of ops) {
    if (!('txn' in op)) continue;
    const then = checkIntervals(op.txn.success);
    const otherwise = checkIntervals(op.txn.failure);
    for (const k of then.puts) {
      if (puts.has(k) || deleted(k)) throw dup();
      puts.add(k);
    }
    for (const k of otherwise.puts) {
      if ((puts.has(k) && !then.puts.has(k)) || deleted(k)) throw dup();
      puts.add(k);
    }
    dels.push(...then.dels, ...otherwise.dels);
  }
  for (const op of ops) {
    if (!('put' in op)) continue;
    const k = op.put.key.toString('latin1');
    if (puts.has(k) || deleted(k)) throw dup();
    puts.add(k);
  }
  return { puts, dels };
}

/** etcd's checkTxnRequest: op count (nested txns share the budget) and empty keys. */
function checkTxnRequest(t: TxnRequest, maxOps: number): void {
  const opc = Math.max(t.compare.length, t.success.length, t.failure.length);
  if (opc > maxOps) throw new MvccError('TooManyOps');
  for (const c of t.compare) if (c.key.length === 0) throw new MvccError('EmptyKey');
  for (const op of [...t.success, ...t.failure]) {
    if ('txn' in op) checkTxnRequest(op.txn, maxOps - opc);
    else {
      const key = 'range' in op ? op.range.key : 'put' in op ? op.put.key : op.deleteRange.key;
      if (key.length === 0) throw new MvccError('EmptyKey');
    }
  }
}

function compareKv(c: Compare, r: { value: Buffer; version: number; create: number; mod: number; lease: bigint }): boolean {
  let d: number;
  switch (c.target) {
    case 'VALUE':
      d = compareBytes(r.value, c.value ?? EMPTY);
      break;
    case 'VERSION':
      d = cmpNum(r.version, c.version ?? 0);
      break;
    case 'CREATE':
      d = cmpNum(r.create, c.createRevision ?? 0);
      break;
    case 'MOD':
      d = cmpNum(r.mod, c.modRevision ?? 0);
      break;
    case 'LEASE':
      d = cmpNum(r.lease, c.lease ?? 0n);
      break;
  }
  switch (c.result) {
    case 'EQUAL':
      return d === 0;
    case 'NOT_EQUAL':
      return d !== 0;
    case 'GREATER':
      return d > 0;
    case 'LESS':
      return d < 0;
  }
}

const ZERO_KV = { value: EMPTY, version: 0, create: 0, mod: 0, lease: 0n };

const sorters: Record<string, (a: Rev, b: Rev) => number> = {
  KEY: (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  VERSION: (a, b) => a.version - b.version,
  CREATE: (a, b) => a.create - b.create,
  MOD: (a, b) => a.mod - b.mod,
  VALUE: (a, b) => compareBytes(a.value, b.value),
};

export class MvccStore implements KV {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics?: StoreMetrics;
  private readonly maxRequestBytes: number;
  private readonly maxTxnOps: number;
  private readonly minLeaseTtl: number;
  private readonly snapshotEvery: number;
  private readonly snapshotMinLogRatio: number;

  private readonly index = new KeyIndex();
  /**
   * Every retained revision in (mod, op order) order: the watch history and the snapshot
   * content. Only ever appended to in place; compaction replaces the array (so a snapshot
   * being streamed from the old array is unaffected).
   */
  private revLog: Rev[] = [];
  private readonly leases = new Map<bigint, Lease>();
  private readonly watchable: WatchableStore;

  private currentRev = 1;
  private durableRev = 1;
  /** Durable revisions up to this one have been handed to the watchable store. */
  private notifiedRev = 1;
  private notifyScheduled = false;
  private compactRev = 0;
  private liveKeyCount = 0;
  private bytesInUse = 0;

  private wal?: WalLike;
  private dirLock?: DirLock;
  private appendedIndex = 0;
  private appliedIndex = 0;
  private lastCommit: Promise<void> = Promise.resolve();
  private recordsSinceSnapshot = 0;
  private bytesSinceSnapshot = 0;
  private snapshotting?: Promise<void>;
  private failed?: Error;
  private closed = false;
  private closing?: Promise<void>;
  private readonly timers: TimerHandle[] = [];
  private expiring?: Promise<void>;

  private constructor(private readonly opts: MvccStoreOptions) {
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? silentLogger();
    this.maxRequestBytes = opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
    this.maxTxnOps = opts.maxTxnOps ?? DEFAULT_MAX_TXN_OPS;
    this.minLeaseTtl = opts.minLeaseTtlSeconds ?? DEFAULT_MIN_LEASE_TTL;
    this.snapshotEvery = Math.max(1, opts.snapshotEveryRecords ?? DEFAULT_SNAPSHOT_EVERY_RECORDS);
    this.snapshotMinLogRatio = opts.snapshotMinLogRatio ?? 0.5;
    if (opts.registry) {
      this.metrics = storeMetrics(opts.registry);
      this.metrics.bind({
        liveKeys: () => this.liveKeyCount,
        dbSize: () => this.wal?.sizeBytes() ?? 0,
        dbSizeInUse: () => this.bytesInUse,
        watchers: () => this.watchable.size,
        currentRevision: () => this.durableRev,
        compactRevision: () => this.compactRev,
      });
    }
    this.watchable = new WatchableStore(
      {
        durableRev: () => this.durableRev,
        notifiedRev: () => this.notifiedRev,
        compactRev: () => this.compactRev,
        readLog: (from, to, max) => this.readLog(from, to, max),
      },
      {
        clock: this.clock,
        logger: this.log,
        progressNotifyIntervalMs: opts.progressNotifyIntervalMs ?? DEFAULT_PROGRESS_NOTIFY_INTERVAL_MS,
        bufferEvents: opts.watchBufferEvents ?? 1024,
        syncBatchEntries: 1000,
      },
    );
  }

  /**
   * Opens the store: recovers the data directory (snapshot + WAL replay) if `dataDir` is
   * set, else starts empty in memory. Throws WalCorruptError / MvccError('Corrupt') on damage.
   */
  static async open(opts: MvccStoreOptions = {}): Promise<MvccStore> {
    const store = new MvccStore(opts);
    try {
      if (opts.dataDir !== undefined) await store.recover(opts.dataDir);
    } catch (err) {
      store.watchable.close();
      await store.wal?.close().catch(() => {});
      await store.dirLock?.release();
      throw err;
    }
    store.start();
    return store;
  }

  // ---- KV -------------------------------------------------------------------------------

  async range(req: RangeRequest): Promise<RangeResponse> {
    this.assertOpen();
    this.metrics?.range.inc();
    return this.rangeAt(req, this.durableRev);
  }

  // put/deleteRange are not `async`: the hot path saves a promise and two microtask hops
  // per call (the write is applied synchronously either way).
  put(req: PutRequest): Promise<PutResponse> {
    let ctx: WriteCtx;
    let resp: PutResponse;
    try {
      this.assertWritable();
      if (req.key.length === 0) throw new MvccError('EmptyKey');
      if (16 + req.key.length + req.value.length > this.maxRequestBytes) throw new MvccError('RequestTooLarge');
      this.checkPut(req, this.currentRev);
      ctx = this.newCtx();
      resp = this.applyPut(ctx, req);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.finish(ctx).then((rev) => {
      resp.header.revision = rev;
      return resp;
    });
  }

  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    let ctx: WriteCtx;
    let resp: DeleteRangeResponse;
    try {
      this.assertWritable();
      if (req.key.length === 0) throw new MvccError('EmptyKey');
      ctx = this.newCtx();
      resp = this.applyDeleteRange(ctx, req);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.finish(ctx).then((rev) => {
      resp.header.revision = rev;
      return resp;
    });
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    this.assertOpen();
    checkTxnRequest(req, this.maxTxnOps);
    checkIntervals(req.success);
    checkIntervals(req.failure);
    if (txnBytes(req) > this.maxRequestBytes) throw new MvccError('RequestTooLarge');
    this.metrics?.txn.inc();
    if (isTxnReadonly(req)) {
      const rev = this.durableRev;
      const path = this.evalTxnPath(req, rev);
      this.checkTxnOps(req, path, rev, false);
      const ctx: WriteCtx = { rev, ops: [] };
      const resp = this.applyTxn(ctx, req, path, rev);
      this.fillHeaders(resp, rev);
      return resp;
    }
    this.throwIfFailed();
    const path = this.evalTxnPath(req, this.currentRev);
    this.checkTxnOps(req, path, this.currentRev, true);
    const ctx = this.newCtx();
    const resp = this.applyTxn(ctx, req, path, undefined);
    this.fillHeaders(resp, await this.finish(ctx));
    return resp;
  }

  async compact(req: CompactionRequest): Promise<ResponseHeader> {
    this.assertWritable();
    const rev = req.revision;
    if (rev <= this.compactRev) throw new MvccError('Compacted', { compactRevision: this.compactRev });
    if (rev > this.durableRev) throw new MvccError('FutureRevision');
    this.applyCompact(rev);
    const header = { revision: this.currentRev };
    await this.commit(encodeRecord({ type: RecordType.Compact, rev }), this.currentRev);
    return header;
  }

  // ---- leases ---------------------------------------------------------------------------

  async leaseGrant(ttlSeconds: number, id: LeaseID = 0n): Promise<LeaseGrantResponse> {
    this.assertWritable();
    if (ttlSeconds > MAX_LEASE_TTL) throw new MvccError('LeaseTTLTooLarge');
    if (id === 0n) {
      do id = randomLeaseId();
      while (this.leases.has(id));
    } else if (this.leases.has(id)) {
      throw new MvccError('LeaseExists');
    }
    const ttl = Number.isFinite(ttlSeconds) ? Math.max(Math.trunc(ttlSeconds), this.minLeaseTtl) : this.minLeaseTtl;
    this.applyLeaseGrant(id, ttl);
    this.metrics?.leaseGranted.inc();
    const header = { revision: this.currentRev };
    await this.commit(encodeRecord({ type: RecordType.LeaseGrant, id, ttl }), this.currentRev);
    return { header, id, ttl };
  }

  async leaseRevoke(id: LeaseID): Promise<ResponseHeader> {
    this.assertWritable();
    const l = this.leases.get(id);
    if (!l || l.revoking) throw new MvccError('LeaseNotFound');
    return { revision: await this.revokeLease(l) };
  }

  async leaseKeepAlive(id: LeaseID): Promise<{ header: ResponseHeader; id: LeaseID; ttl: number }> {
    this.assertOpen();
    const l = this.leases.get(id);
    if (!l || l.revoking) throw new MvccError('LeaseNotFound');
    const now = this.clock.now();
    if (l.expiry <= now) {
      // etcd: renewing an expired lease waits for its revocation, then reports it gone.
      await this.revokeLease(l).catch(() => {});
      throw new MvccError('LeaseNotFound');
    }
    l.expiry = now + l.ttl * 1000;
    return { header: { revision: this.durableRev }, id, ttl: l.ttl };
  }

  async leaseTimeToLive(id: LeaseID, keys = false): Promise<LeaseTimeToLiveResponse> {
    this.assertOpen();
    const header = { revision: this.durableRev };
    const l = this.leases.get(id);
    if (!l || l.revoking) return { header, id, ttl: -1, grantedTtl: 0, keys: [] };
    return {
      header,
      id,
      ttl: l.remaining(this.clock.now()),
      grantedTtl: l.ttl,
      keys: keys ? [...l.keys].sort().map((k) => Buffer.from(k, 'latin1')) : [],
    };
  }

  async leaseLeases(): Promise<{ header: ResponseHeader; leases: LeaseID[] }> {
    this.assertOpen();
    const leases: LeaseID[] = [];
    for (const l of this.leases.values()) if (!l.revoking) leases.push(l.id);
    return { header: { revision: this.durableRev }, leases };
  }

  // ---- watch, status, lifecycle ---------------------------------------------------------

  /**
   * See KV.watch. Additionally: if `onResponse` returns a promise, the next delivery to this
   * watcher waits for it (transport back-pressure; a watcher that falls behind catches up
   * from history instead of buffering without bound). Delivered objects are read-only:
   * watchers of the same key share them.
   */
  watch(req: WatchRequest, onResponse: (resp: WatchResponse) => void | Promise<void>): Watcher {
    this.assertOpen();
    return this.watchable.watch(req, onResponse);
  }

  status(): StoreStatus {
    return {
      revision: this.durableRev,
      compactRevision: this.compactRev,
      dbSize: this.wal?.sizeBytes() ?? this.bytesInUse,
      dbSizeInUse: this.bytesInUse,
      appliedIndex: this.appliedIndex,
    };
  }

  /** Resolves once every write issued so far is durable (and its watch events queued). */
  async sync(): Promise<void> {
    await this.lastCommit;
    if (this.expiring) await this.expiring;
    await this.lastCommit;
  }

  /**
   * A full backup of the durable state (etcd's Maintenance.Snapshot): the snapshot stream
   * format of codec.ts, ending with a sha256 of everything before it. Streams lazily while
   * writes continue; restoreBackup() turns it back into a data directory.
   */
  snapshotStream(): AsyncIterable<Buffer> {
    this.assertOpen();
    const rev = this.durableRev;
    const log = this.revLog;
    const end = lowerBound(log, rev + 1);
    const header: SnapshotHeader = {
      revision: rev,
      compactRevision: this.compactRev,
      appliedIndex: this.appliedIndex,
      leases: this.leaseList(),
    };
    return encodeSnapshot(header, logSlice(log, end));
  }

  /** Forces a WAL snapshot now (also taken every snapshotEveryRecords records). */
  snapshot(): Promise<void> {
    try {
      this.assertWritable();
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.wal) return Promise.resolve();
    // Captured now (synchronously) unless another snapshot is still being written.
    const run = this.snapshotting ? this.snapshotting.then(() => this.takeSnapshot()) : this.takeSnapshot();
    this.snapshotting = run.then(
      () => {
        this.snapshotting = undefined;
      },
      () => {
        this.snapshotting = undefined;
      },
    );
    return run;
  }

  /** Stops timers, cancels watchers, waits for pending writes, closes the WAL. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      for (const t of this.timers) t.cancel();
      this.watchable.close();
      await this.expiring?.catch(() => {});
      await this.lastCommit;
      await this.snapshotting?.catch(() => {});
      await this.wal?.close();
      await this.dirLock?.release();
    })();
    return this.closing;
  }

  // ---- reads ----------------------------------------------------------------------------

  /**
   * etcd's range at read revision `cur` (the store's current revision as far as this read
   * is concerned): revision checks, limit/more/count, filters, sort, keysOnly/countOnly.
   */
  private rangeAt(req: RangeRequest, cur: number): RangeResponse {
    if (req.key.length === 0) throw new MvccError('EmptyKey');
    const reqRev = req.revision ?? 0;
    if (reqRev > cur) throw new MvccError('FutureRevision');
    const rev = reqRev > 0 ? reqRev : cur;
    if (rev < this.compactRev) throw new MvccError('Compacted', { compactRevision: this.compactRev });

    const order = req.sortOrder ?? 'NONE';
    const target = req.sortTarget ?? 'KEY';
    const filtered = !!(req.minModRevision || req.maxModRevision || req.minCreateRevision || req.maxCreateRevision);
    const reqLimit = req.limit && req.limit > 0 ? req.limit : 0;
    // Like etcd: with sorting or filters everything is fetched, then sorted and cut.
    let fetch = order !== 'NONE' || filtered ? 0 : reqLimit;
    if (fetch > 0) fetch++;

    let count = 0;
    let revs: Rev[] = [];
    const countOnly = !!req.countOnly;
    this.index.forEach(keyRange(req.key, req.rangeEnd), (head) => {
      const r = liveAt(head, rev);
      if (r === undefined) return;
      count++;
      if (!countOnly && (fetch === 0 || revs.length < fetch)) revs.push(r);
    });

    if (req.maxModRevision) revs = revs.filter((r) => r.mod <= req.maxModRevision!);
    if (req.minModRevision) revs = revs.filter((r) => r.mod >= req.minModRevision!);
    if (req.maxCreateRevision) revs = revs.filter((r) => r.create <= req.maxCreateRevision!);
    if (req.minCreateRevision) revs = revs.filter((r) => r.create >= req.minCreateRevision!);

    // etcd: results come sorted by key; NONE with a target other than KEY means ascend.
    const effOrder = order === 'NONE' && target !== 'KEY' ? 'ASCEND' : order;
    if (effOrder !== 'NONE') {
      const by = sorters[target]!;
      if (effOrder === 'ASCEND') {
        if (target !== 'KEY') revs.sort(by);
      } else {
        revs.sort((a, b) => by(b, a));
      }
    }
    let more = false;
    if (reqLimit > 0 && revs.length > reqLimit) {
      revs = revs.slice(0, reqLimit);
      more = true;
    }
    const keysOnly = !!req.keysOnly;
    return { header: { revision: cur }, kvs: revs.map((r) => toKeyValue(r, keysOnly)), more, count };
  }

  private readLog(from: number, to: number, maxEntries: number): { revs: Rev[]; lastRev: number } {
    const log = this.revLog;
    let i = lowerBound(log, from);
    const revs: Rev[] = [];
    let lastRev = from - 1;
    while (i < log.length) {
      const r = log[i]!;
      if (r.mod > to) break;
      if (revs.length >= maxEntries && r.mod !== lastRev) break;
      revs.push(r);
      lastRev = r.mod;
      i++;
    }
    // Everything up to `to` was scanned unless we stopped early at a revision boundary.
    if (i >= log.length || log[i]!.mod > to) lastRev = to;
    return { revs, lastRev };
  }

  // ---- txn evaluation -------------------------------------------------------------------

  private compareHolds(c: Compare, rev: number): boolean {
    let any = false;
    let ok = true;
    this.index.forEach(keyRange(c.key, c.rangeEnd), (head) => {
      if (!ok) return;
      const r = liveAt(head, rev);
      if (r === undefined) return;
      any = true;
      if (!compareKv(c, r)) ok = false;
    });
    if (!any) {
      // etcd: a VALUE compare on missing key(s) always fails (no way to tell nil from "").
      return c.target === 'VALUE' ? false : compareKv(c, ZERO_KV);
    }
    return ok;
  }

  /** etcd's compareToPath: every compare on the chosen path, evaluated before any write. */
  private evalTxnPath(t: TxnRequest, rev: number): TxnPath {
    const succeeded = t.compare.every((c) => this.compareHolds(c, rev));
    const nested = new Map<number, TxnPath>();
    const ops = succeeded ? t.success : t.failure;
    ops.forEach((op, i) => {
      if ('txn' in op) nested.set(i, this.evalTxnPath(op.txn, rev));
    });
    return { succeeded, nested };
  }

  /** etcd's checkRequests: puts (lease exists, ignore* needs the key) and range revisions. */
  private checkTxnOps(t: TxnRequest, path: TxnPath, rev: number, isWrite: boolean): void {
    const ops = path.succeeded ? t.success : t.failure;
    ops.forEach((op, i) => {
      if ('txn' in op) this.checkTxnOps(op.txn, path.nested.get(i)!, rev, isWrite);
      else if ('put' in op && isWrite) this.checkPut(op.put, rev);
      else if ('range' in op) {
        const r = op.range.revision ?? 0;
        if (r > rev) throw new MvccError('FutureRevision');
        if (r > 0 && r < this.compactRev) throw new MvccError('Compacted', { compactRevision: this.compactRev });
      }
    });
  }

  private checkPut(p: PutRequest, rev: number): void {
    let lease = p.lease ?? 0n;
    if (p.ignoreValue || p.ignoreLease) {
      const cur = liveAt(this.index.get(p.key.toString('latin1')), rev);
      if (cur === undefined) throw new MvccError('KeyNotFound');
      if (p.ignoreLease) lease = cur.lease;
    }
    if (lease !== 0n) {
      const l = this.leases.get(lease);
      if (!l || l.revoking) throw new MvccError('LeaseNotFound');
    }
  }

  private applyTxn(ctx: WriteCtx, t: TxnRequest, path: TxnPath, readRev: number | undefined): TxnResponse {
    const ops = path.succeeded ? t.success : t.failure;
    const responses: ResponseOp[] = ops.map((op, i): ResponseOp => {
      if ('range' in op) {
        // Inside a write txn, ranges see the txn's earlier writes (etcd reads at rev+1).
        return { range: this.rangeAt(op.range, readRev ?? (ctx.ops.length > 0 ? ctx.rev : this.currentRev)) };
      }
      if ('put' in op) return { put: this.applyPut(ctx, op.put) };
      if ('deleteRange' in op) return { deleteRange: this.applyDeleteRange(ctx, op.deleteRange) };
      return { txn: this.applyTxn(ctx, op.txn, path.nested.get(i)!, readRev) };
    });
    return { header: { revision: 0 }, succeeded: path.succeeded, responses };
  }

  private fillHeaders(resp: TxnResponse, rev: number): void {
    resp.header.revision = rev;
    for (const r of resp.responses) {
      if ('range' in r) r.range.header.revision = rev;
      else if ('put' in r) r.put.header.revision = rev;
      else if ('deleteRange' in r) r.deleteRange.header.revision = rev;
      else this.fillHeaders(r.txn, rev);
    }
  }

  // ---- writes ---------------------------------------------------------------------------

  private newCtx(): WriteCtx {
    return { rev: this.currentRev + 1, ops: [] };
  }

  /**
   * Ends a write call: appends its record (if it changed anything) and waits until it is
   * durable; returns the revision for the response header.
   */
  private finish(ctx: WriteCtx): Promise<number> {
    if (ctx.ops.length === 0) {
      const rev = this.currentRev;
      return this.lastCommit.then(() => {
        this.throwIfFailed();
        return rev;
      });
    }
    this.currentRev = ctx.rev;
    return this.commit(encodeRecord({ type: RecordType.Write, rev: ctx.rev, ops: ctx.ops }), ctx.rev).then(() => ctx.rev);
  }

  private applyPut(ctx: WriteCtx, p: PutRequest): PutResponse {
    const key = p.key.toString('latin1');
    const head = this.index.get(key);
    const prev = head !== undefined && head.version !== 0 ? head : undefined;
    // checkPut ran already: with ignore* the key exists.
    const lease = p.ignoreLease ? prev!.lease : (p.lease ?? 0n);
    if (p.ignoreValue) {
      this.putKey(ctx.rev, key, prev!.data, lease);
      ctx.ops.push({ key, value: prev!.value, lease });
    } else {
      this.putKey(ctx.rev, key, toValueData(p.value), lease);
      ctx.ops.push({ key, value: p.value, lease });
    }
    this.metrics?.put.inc();
    const resp: PutResponse = { header: { revision: ctx.rev } };
    if (p.prevKv && prev) resp.prevKv = toKeyValue(prev);
    return resp;
  }

  private applyDeleteRange(ctx: WriteCtx, d: DeleteRangeRequest): DeleteRangeResponse {
    const victims: Rev[] = [];
    this.index.forEach(keyRange(d.key, d.rangeEnd), (head) => {
      if (head.version !== 0) victims.push(head);
    });
    for (const v of victims) {
      this.deleteKey(ctx.rev, v.key);
      ctx.ops.push({ key: v.key });
    }
    if (victims.length) this.metrics?.del.inc(victims.length);
    return {
      header: { revision: ctx.rev },
      deleted: victims.length,
      prevKvs: d.prevKv ? victims.map((v) => toKeyValue(v)) : [],
    };
  }

  /** Makes `key` = value at `rev` (shared by live writes and replay). */
  private putKey(rev: number, key: string, value: ValueData, lease: bigint): Rev {
    const head = this.index.get(key);
    // One string per key: reuse the one the index (and older revisions) already hold.
    if (head !== undefined) key = head.key;
    const prev = head !== undefined && head.version !== 0 ? head : undefined;
    const r = new Rev(key, rev, prev ? prev.create : rev, prev ? prev.version + 1 : 1, value, lease, head);
    this.index.set(key, r);
    this.revLog.push(r);
    this.bytesInUse += key.length + value.length + REV_OVERHEAD_BYTES;
    if (prev) {
      if (prev.lease !== 0n && prev.lease !== lease) this.leases.get(prev.lease)?.keys.delete(key);
    } else {
      this.liveKeyCount++;
    }
    if (lease !== 0n) this.leases.get(lease)?.keys.add(key);
    return r;
  }

  /** Writes a tombstone for a live `key` at `rev`. */
  private deleteKey(rev: number, key: string): void {
    const head = this.index.get(key);
    if (head === undefined || head.version === 0) return;
    const t = new Rev(head.key, rev, 0, 0, '', 0n, head);
    this.index.set(key, t);
    this.revLog.push(t);
    this.bytesInUse += key.length + REV_OVERHEAD_BYTES;
    this.liveKeyCount--;
    if (head.lease !== 0n) this.leases.get(head.lease)?.keys.delete(key);
  }

  /**
   * Compaction at C (etcd semantics): per key, keep the newest revision <= C unless it is a
   * tombstone; drop everything older.
   *
   * Only log entries in (previous compaction, C] can change what is kept, and for each of
   * them its `prev` (an older revision of the same key, <= C) is superseded: so one forward
   * pass over that window cuts every superseded revision off its chain and marks it with
   * the DROPPED sentinel (in `prev`, which snapshots being streamed never read). Then the
   * surviving tombstones are unlinked, and one pass filters the log into a new array.
   * No per-key map: O(window) plus a cheap O(log) filter.
   */
  private applyCompact(c: number): void {
    const prevC = this.compactRev;
    this.compactRev = c;
    const log = this.revLog;
    const lo = lowerBound(log, prevC + 1);
    const hi = lowerBound(log, c + 1);
    let freed = 0;
    const drop = (r: Rev) => {
      freed += r.key.length + r.data.length + REV_OVERHEAD_BYTES;
      r.prev = DROPPED;
    };
    for (let i = lo; i < hi; i++) {
      const r = log[i]!;
      const p = r.prev;
      r.prev = undefined;
      if (p !== undefined) drop(p);
    }
    for (let i = lo; i < hi; i++) {
      const r = log[i]!;
      if (r.version !== 0 || r.prev === DROPPED) continue;
      // A surviving tombstone is the key's newest revision <= C: it goes too.
      const head = this.index.get(r.key)!;
      if (head === r) {
        this.index.delete(r.key);
      } else {
        let n = head;
        while (n.prev !== r) n = n.prev!;
        n.prev = undefined;
      }
      drop(r);
    }
    const out: Rev[] = [];
    for (let i = 0; i < hi; i++) if (log[i]!.prev !== DROPPED) out.push(log[i]!);
    for (let i = hi; i < log.length; i++) out.push(log[i]!);
    this.revLog = out;
    this.bytesInUse -= freed;
  }

  private applyLeaseGrant(id: bigint, ttl: number): void {
    this.leases.set(id, new Lease(id, ttl, this.clock.now() + ttl * 1000));
  }

  /** Removes lease `id`, deleting its keys at `rev` (sorted, like etcd's lessor). */
  private applyLeaseRevoke(ctx: WriteCtx, id: bigint): void {
    const l = this.leases.get(id);
    if (!l) return;
    for (const key of [...l.keys].sort()) {
      this.deleteKey(ctx.rev, key);
      ctx.ops.push({ key });
    }
    this.leases.delete(id);
  }

  private async revokeLease(l: Lease): Promise<number> {
    this.assertWritable();
    l.revoking = true;
    const ctx = this.newCtx();
    this.applyLeaseRevoke(ctx, l.id);
    if (ctx.ops.length) {
      this.currentRev = ctx.rev;
      this.metrics?.del.inc(ctx.ops.length);
    }
    this.metrics?.leaseRevoked.inc();
    const rev = this.currentRev;
    await this.commit(encodeRecord({ type: RecordType.LeaseRevoke, id: l.id, rev: ctx.rev, ops: ctx.ops }), rev);
    return rev;
  }

  /** Revokes every expired lease (etcd's lessor expiry loop; one record per lease). */
  private expireLeases(): void {
    if (this.closed || this.failed || this.expiring) return;
    const now = this.clock.now();
    const due = [...this.leases.values()].filter((l) => !l.revoking && l.expiry <= now);
    if (due.length === 0) return;
    this.expiring = Promise.all(
      due.map((l) =>
        this.revokeLease(l).catch((err: unknown) => this.log.warn({ err, lease: l.id.toString() }, 'mvcc: lease expiry failed')),
      ),
    ).then(
      () => {
        this.expiring = undefined;
      },
      () => {
        this.expiring = undefined;
      },
    );
  }

  // ---- durability -----------------------------------------------------------------------

  /** Appends a record whose effects (up to `rev`) are already in memory; resolves when durable. */
  private commit(rec: Buffer, rev: number): Promise<void> {
    let p: Promise<void>;
    if (this.wal) {
      let appended: { index: number; durable: Promise<void> };
      try {
        appended = this.wal.append(rec);
      } catch (err) {
        this.fail(err);
        return Promise.reject(this.failedError());
      }
      const index = appended.index;
      this.appendedIndex = index;
      p = appended.durable.then(
        () => this.markDurable(rev, index),
        (err: unknown) => {
          this.fail(err);
          throw this.failedError();
        },
      );
      this.bytesSinceSnapshot += rec.length;
      if (
        ++this.recordsSinceSnapshot >= this.snapshotEvery &&
        this.bytesSinceSnapshot >= this.snapshotMinLogRatio * this.bytesInUse &&
        !this.snapshotting &&
        !this.closed
      ) {
        this.snapshot().catch((err: unknown) => this.log.error({ err }, 'mvcc: snapshot failed'));
      }
    } else {
      const index = ++this.appendedIndex;
      p = Promise.resolve().then(() => this.markDurable(rev, index));
    }
    this.lastCommit = p.catch(() => {});
    return p;
  }

  private markDurable(rev: number, index: number): void {
    this.appliedIndex = index;
    if (rev > this.durableRev) {
      this.durableRev = rev;
      // One notification per group commit rather than per record: every record of a WAL
      // batch becomes durable in the same microtask run, so a microtask sees them all.
      if (!this.notifyScheduled) {
        this.notifyScheduled = true;
        queueMicrotask(() => {
          this.notifyScheduled = false;
          const from = this.notifiedRev;
          this.notifiedRev = this.durableRev;
          this.watchable.notify(from, this.notifiedRev);
        });
      }
    }
  }

  /**
   * Snapshot of everything appended so far, captured synchronously (the log array, leases,
   * revisions) and streamed lazily; saved once the covered records are durable.
   */
  private async takeSnapshot(): Promise<void> {
    const wal = this.wal;
    if (!wal) return;
    const index = this.appendedIndex;
    const log = this.revLog;
    const n = log.length;
    const header: SnapshotHeader = {
      revision: this.currentRev,
      compactRevision: this.compactRev,
      appliedIndex: index,
      leases: this.leaseList(),
    };
    this.recordsSinceSnapshot = 0;
    this.bytesSinceSnapshot = 0;
    await this.lastCommit;
    this.throwIfFailed();
    if (index === 0) return;
    await wal.saveSnapshot(index, encodeSnapshot(header, logSlice(log, n)));
    this.log.info({ index, revision: header.revision }, 'mvcc: snapshot saved');
  }

  private leaseList(): { id: bigint; ttl: number }[] {
    const out: { id: bigint; ttl: number }[] = [];
    for (const l of this.leases.values()) if (!l.revoking) out.push({ id: l.id, ttl: l.ttl });
    return out;
  }

  private async recover(dir: string): Promise<void> {
    const openWal: OpenWal = this.opts.openWal ?? ((o) => Wal.open(o));
    if (!this.opts.openWal) {
      await mkdir(dir, { recursive: true });
      this.dirLock = await DirLock.acquire(dir);
    }
    const { wal, recovery } = await openWal({
      dir,
      logger: this.log,
      registry: this.opts.registry,
      noSync: this.opts.noSync,
      segmentBytes: this.opts.walSegmentBytes,
    });
    this.wal = wal;
    for (const w of recovery.warnings) this.log.warn({ warning: w }, 'mvcc: WAL recovery');
    if (recovery.snapshot) {
      await this.loadSnapshot(recovery.snapshot.chunks(), false);
      this.appliedIndex = recovery.snapshot.index;
    }
    for (const rec of recovery.records) {
      this.replay(rec.data, rec.index);
      this.appliedIndex = rec.index;
    }
    this.appendedIndex = this.appliedIndex;
    this.durableRev = this.currentRev;
    this.notifiedRev = this.currentRev;
    this.recordsSinceSnapshot = recovery.records.length;
    for (const r of recovery.records) this.bytesSinceSnapshot += r.data.length;
    this.log.info(
      { revision: this.currentRev, compactRevision: this.compactRev, keys: this.liveKeyCount, leases: this.leases.size, records: recovery.records.length },
      'mvcc: recovered',
    );
  }

  /** Loads a snapshot stream into this (empty) store. */
  private async loadSnapshot(chunks: AsyncIterable<Buffer>, verifyDigest: boolean): Promise<SnapshotHeader> {
    const header = await decodeSnapshot(
      chunks,
      (h) => {
        for (const l of h.leases) this.applyLeaseGrant(l.id, l.ttl);
      },
      (e) => this.loadEntry(e),
      { verifyDigest },
    );
    this.currentRev = header.revision;
    this.durableRev = header.revision;
    this.compactRev = header.compactRevision;
    return header;
  }

  private loadEntry(e: SnapshotEntry): void {
    const head = this.index.get(e.key);
    const r = new Rev(head?.key ?? e.key, e.mod, e.create, e.version, e.data, e.lease, head);
    this.index.set(e.key, r);
    this.revLog.push(r);
    this.bytesInUse += e.key.length + e.data.length + REV_OVERHEAD_BYTES;
    const wasLive = head !== undefined && head.version !== 0;
    if (wasLive && head.lease !== 0n) this.leases.get(head.lease)?.keys.delete(e.key);
    if (e.version !== 0 && e.lease !== 0n) this.leases.get(e.lease)?.keys.add(e.key);
    this.liveKeyCount += (e.version !== 0 ? 1 : 0) - (wasLive ? 1 : 0);
  }

  private replay(data: Buffer, index: number): void {
    const rec = decodeRecord(data);
    const checkRev = (rev: number, changed: boolean) => {
      if (changed && rev !== this.currentRev + 1) {
        throw new MvccError('Corrupt', { message: `mvcc: data is corrupt: record ${index} has revision ${rev}, expected ${this.currentRev + 1}` });
      }
    };
    switch (rec.type) {
      case RecordType.Write:
        checkRev(rec.rev, rec.ops.length > 0);
        for (const op of rec.ops) {
          if (op.value !== undefined) this.putKey(rec.rev, op.key, toValueData(op.value), op.lease ?? 0n);
          else this.deleteKey(rec.rev, op.key);
        }
        if (rec.ops.length > 0) this.currentRev = rec.rev;
        break;
      case RecordType.Compact:
        if (rec.rev > this.compactRev) this.applyCompact(rec.rev);
        break;
      case RecordType.LeaseGrant:
        this.applyLeaseGrant(rec.id, rec.ttl);
        break;
      case RecordType.LeaseRevoke: {
        checkRev(rec.rev, rec.ops.length > 0);
        for (const op of rec.ops) this.deleteKey(rec.rev, op.key);
        if (rec.ops.length > 0) this.currentRev = rec.rev;
        this.leases.delete(rec.id);
        break;
      }
      case RecordType.Noop:
        break;
    }
  }

  private start(): void {
    this.timers.push(this.clock.setInterval(() => this.expireLeases(), LEASE_CHECK_INTERVAL_MS));
    const retention = this.opts.autoCompactionRetentionMs ?? 0;
    if (retention > 0) {
      // etcd's periodic compactor: sample the revision every retention/10; compact to the
      // sample taken `retention` ago.
      const every = Math.max(1, Math.floor(retention / 10));
      const samples: number[] = [];
      this.timers.push(
        this.clock.setInterval(() => {
          samples.push(this.durableRev);
          if (samples.length > 11) samples.shift();
          if (samples.length < 11 || this.closed || this.failed) return;
          const target = samples[0]!;
          if (target > this.compactRev) {
            this.compact({ revision: target }).then(
              () => this.log.info({ revision: target }, 'mvcc: auto-compacted'),
              (err: unknown) => this.log.warn({ err, revision: target }, 'mvcc: auto-compaction failed'),
            );
          }
        }, every),
      );
    }
  }

  // ---- state checks ---------------------------------------------------------------------

  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = err instanceof Error ? err : new Error(String(err));
    this.log.error({ err: this.failed }, 'mvcc: WAL failed; the store accepts no more writes');
  }

  private failedError(): MvccError {
    return new MvccError('Closed', { message: `mvcc: store is closed after a WAL failure: ${this.failed?.message}`, cause: this.failed });
  }

  private throwIfFailed(): void {
    if (this.failed) throw this.failedError();
  }

  private assertOpen(): void {
    if (this.closed) throw new MvccError('Closed');
  }

  private assertWritable(): void {
    this.assertOpen();
    this.throwIfFailed();
  }

  // ---- introspection for tests and the server -------------------------------------------

  /** Number of live keys (etcd_debugging_mvcc_keys_total). */
  get keyCount(): number {
    return this.liveKeyCount;
  }

  /** Number of retained revisions (history entries), for tests. */
  get historySize(): number {
    return this.revLog.length;
  }
}

function* logSlice(log: Rev[], end: number): Generator<SnapshotEntry> {
  for (let i = 0; i < end; i++) yield log[i]!;
}

export type { KeyValue };
