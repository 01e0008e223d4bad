/**
 * RemoteKV: the `KV` contract (src/storage/mvcc/types.ts) served by a real etcd cluster
 * through the `etcd3` npm client's raw gRPC stubs (KV, Lease, Watch), so the Kubernetes
 * storage layer runs unchanged on either backend and benchmarks can drive our own etcd
 * gRPC server and a real etcd with the same client library.
 *
 * Contract notes (what callers may rely on):
 *  - One client (one gRPC channel per endpoint) per RemoteKV; no per-call client creation.
 *  - etcd's errors come back as MvccError with the matching code (Compacted, FutureRevision,
 *    LeaseNotFound, …), so callers see one error identity whatever the backend. Transport
 *    failures (etcd down, deadline) are passed through as the client library's errors.
 *  - All watches share one gRPC watch stream, each with a client-chosen watch id. If the
 *    stream breaks, every watch is re-created on a new stream from the revision after the
 *    last one it delivered (as etcd's Go clientv3 does); if that revision has been compacted
 *    meanwhile, the watch ends with `compactRevision` set, exactly as a fresh one would.
 *  - Watcher.requestProgress() sends etcd's stream-wide progress request (coalesced); etcd
 *    answers once for the stream and RemoteKV hands that to every watch on it. Known etcd
 *    bug before 3.4.25/3.5.8 (etcd-io/etcd#15220): that answer can overtake events still
 *    queued for a watch, so a progress revision may precede events at or below it. The
 *    per-watch periodic notifications (progressNotify) are not affected.
 *  - `status()` is synchronous in the contract, so it reports what this client has observed
 *    (highest header revision seen, compaction revisions it learned of); sizes are 0.
 */
import {
  Etcd3,
  ClientClosedError,
  isRecoverableError,
  type IOptions,
  type IDuplexStream,
  type IKeyValue,
  type IResponseHeader,
  type IRequestOp,
  type IResponseOp,
  type ICompare,
  type IRangeRequest,
  type IRangeResponse,
  type IPutRequest,
  type IPutResponse,
  type IDeleteRangeRequest,
  type IDeleteRangeResponse,
  type ITxnRequest,
  type ITxnResponse,
  type IWatchRequest,
  type IWatchResponse,
  type IEvent,
  type ILeaseKeepAliveRequest,
  type ILeaseKeepAliveResponse,
} from 'etcd3';
import { realClock, type Clock } from '../../util/clock.js';
import { silentLogger, type Logger } from '../../util/log.js';
import { MvccError, type MvccErrorCode } from '../mvcc/errors.js';
import type {
  KV,
  KeyValue,
  LeaseID,
  ResponseHeader,
  RangeRequest,
  RangeResponse,
  PutRequest,
  PutResponse,
  DeleteRangeRequest,
  DeleteRangeResponse,
  TxnRequest,
  TxnResponse,
  RequestOp,
  ResponseOp,
  Compare,
  CompactionRequest,
  LeaseGrantResponse,
  LeaseTimeToLiveResponse,
  WatchRequest,
  WatchResponse,
  WatchEvent,
  Watcher,
  StoreStatus,
  SortOrder,
  SortTarget,
  CompareTarget,
  CompareResult,
} from '../mvcc/types.js';

export interface RemoteKVOptions {
  /** Client URLs, e.g. ["http://127.0.0.1:2379"] (the --etcd-servers list). */
  endpoints: string[];
  /** Per-call deadline for unary RPCs (default 30 s; watches have none). */
  callTimeoutMs?: number;
  /** Attempts per call on a transient failure (see RemoteKV's retry rule; default 5). */
  maxAttempts?: number;
  clock?: Clock;
  logger?: Logger;
}

/** Parses a `--etcd-servers` value ("http://a:2379,http://b:2379") into endpoints. */
export function parseEtcdServers(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

// ---- wire <-> contract conversions ---------------------------------------------------

// Numeric enum values of etcd's rpc.proto (the client library's enum names differ from
// etcd's, numbers don't).
const sortOrderNum: Record<SortOrder, number> = { NONE: 0, ASCEND: 1, DESCEND: 2 };
const sortTargetNum: Record<SortTarget, number> = { KEY: 0, VERSION: 1, CREATE: 2, MOD: 3, VALUE: 4 };
const compareResultNum: Record<CompareResult, number> = { EQUAL: 0, GREATER: 1, LESS: 2, NOT_EQUAL: 3 };
const compareTargetNum: Record<CompareTarget, number> = { VERSION: 0, CREATE: 1, MOD: 2, VALUE: 3, LEASE: 4 };

const num = (s: string | number | undefined | null): number => (s === undefined || s === null || s === '' ? 0 : Number(s));
const leaseNum = (s: string | number | undefined | null): bigint => (s === undefined || s === null || s === '' ? 0n : BigInt(s));

function header(h: IResponseHeader | undefined | null): ResponseHeader {
  return { revision: num(h?.revision) };
}

function keyValue(kv: IKeyValue): KeyValue {
  return {
    key: kv.key ?? Buffer.alloc(0),
    createRevision: num(kv.create_revision),
    modRevision: num(kv.mod_revision),
    version: num(kv.version),
    value: kv.value ?? Buffer.alloc(0),
    lease: leaseNum(kv.lease),
  };
}

function rangeReq(r: RangeRequest): IRangeRequest {
  const out: IRangeRequest = { key: r.key };
  if (r.rangeEnd && r.rangeEnd.length > 0) out.range_end = r.rangeEnd;
  if (r.limit) out.limit = r.limit;
  if (r.revision) out.revision = r.revision;
  if (r.sortOrder) out.sort_order = sortOrderNum[r.sortOrder];
  if (r.sortTarget) out.sort_target = sortTargetNum[r.sortTarget];
  if (r.keysOnly) out.keys_only = true;
  if (r.countOnly) out.count_only = true;
  if (r.minModRevision) out.min_mod_revision = r.minModRevision;
  if (r.maxModRevision) out.max_mod_revision = r.maxModRevision;
  if (r.minCreateRevision) out.min_create_revision = r.minCreateRevision;
  if (r.maxCreateRevision) out.max_create_revision = r.maxCreateRevision;
  return out;
}

function rangeResp(r: IRangeResponse, h?: ResponseHeader): RangeResponse {
  return { header: h ?? header(r.header), kvs: (r.kvs ?? []).map(keyValue), more: !!r.more, count: num(r.count) };
}

function putReq(p: PutRequest): IPutRequest {
  const out: IPutRequest = { key: p.key, value: p.value };
  if (p.lease) out.lease = p.lease.toString();
  if (p.prevKv) out.prev_kv = true;
  if (p.ignoreValue) out.ignore_value = true;
  if (p.ignoreLease) out.ignore_lease = true;
  return out;
}

function putResp(p: IPutResponse, h?: ResponseHeader): PutResponse {
  const out: PutResponse = { header: h ?? header(p.header) };
  if (p.prev_kv) out.prevKv = keyValue(p.prev_kv);
  return out;
}

function deleteReq(d: DeleteRangeRequest): IDeleteRangeRequest {
  const out: IDeleteRangeRequest = { key: d.key };
  if (d.rangeEnd && d.rangeEnd.length > 0) out.range_end = d.rangeEnd;
  if (d.prevKv) out.prev_kv = true;
  return out;
}

function deleteResp(d: IDeleteRangeResponse, h?: ResponseHeader): DeleteRangeResponse {
  return { header: h ?? header(d.header), deleted: num(d.deleted), prevKvs: (d.prev_kvs ?? []).map(keyValue) };
}

function compare(c: Compare): ICompare {
  const out: ICompare = { key: c.key, target: compareTargetNum[c.target], result: compareResultNum[c.result] };
  if (c.rangeEnd && c.rangeEnd.length > 0) out.range_end = c.rangeEnd;
  switch (c.target) {
    case 'VERSION': out.version = c.version ?? 0; break;
    case 'CREATE': out.create_revision = c.createRevision ?? 0; break;
    case 'MOD': out.mod_revision = c.modRevision ?? 0; break;
    case 'VALUE': out.value = c.value ?? Buffer.alloc(0); break;
    case 'LEASE': out.lease = (c.lease ?? 0n).toString(); break;
  }
  return out;
}

function requestOp(op: RequestOp): IRequestOp {
  if ('range' in op) return { request_range: rangeReq(op.range) };
  if ('put' in op) return { request_put: putReq(op.put) };
  if ('deleteRange' in op) return { request_delete_range: deleteReq(op.deleteRange) };
  return { request_txn: txnReq(op.txn) };
}

function txnReq(t: TxnRequest): ITxnRequest {
  return { compare: t.compare.map(compare), success: t.success.map(requestOp), failure: t.failure.map(requestOp) };
}

// Responses nested in a txn carry a partial header from etcd; every op of a txn is served
// at the txn's revision, so the outer header is used for all of them.
function responseOp(r: IResponseOp, h: ResponseHeader): ResponseOp {
  if (r.response_range) return { range: rangeResp(r.response_range, h) };
  if (r.response_put) return { put: putResp(r.response_put, h) };
  if (r.response_delete_range) return { deleteRange: deleteResp(r.response_delete_range, h) };
  if (r.response_txn) return { txn: txnResp(r.response_txn, h) };
  throw new Error('etcd returned an empty txn response op');
}

function txnResp(t: ITxnResponse, outer?: ResponseHeader): TxnResponse {
  const h = outer ?? header(t.header);
  return { header: h, succeeded: !!t.succeeded, responses: (t.responses ?? []).map((r) => responseOp(r, h)) };
}

function watchEvent(e: IEvent): WatchEvent {
  const t = String(e.type).toUpperCase();
  const out: WatchEvent = { type: t === 'DELETE' || t === '1' ? 'DELETE' : 'PUT', kv: keyValue(e.kv) };
  if (e.prev_kv) out.prevKv = keyValue(e.prev_kv);
  return out;
}

// ---- errors ---------------------------------------------------------------------------

// etcd's error texts (rpctypes), each mapped to the embedded store's code.
const etcdMessageCodes: [string, MvccErrorCode][] = [
  ['required revision has been compacted', 'Compacted'],
  ['required revision is a future revision', 'FutureRevision'],
  ['etcdserver: key not found', 'KeyNotFound'],
  ['requested lease not found', 'LeaseNotFound'],
  ['lease already exists', 'LeaseExists'],
  ['too large lease TTL', 'LeaseTTLTooLarge'],
  ['request is too large', 'RequestTooLarge'],
  ['too many operations in txn request', 'TooManyOps'],
  ['duplicate key given in txn request', 'DuplicateKey'],
  ['key is not provided', 'EmptyKey'],
];

/** Maps an etcd/gRPC error to MvccError where etcd's error has an MvccError counterpart. */
export function mapEtcdError(err: unknown): unknown {
  if (err instanceof MvccError) return err;
  if (err instanceof ClientClosedError) return new MvccError('Closed', { cause: err });
  if (err instanceof Error) {
    for (const [text, code] of etcdMessageCodes) {
      if (err.message.includes(text)) return new MvccError(code, { cause: err });
    }
  }
  return err;
}

// ---- retries --------------------------------------------------------------------------

type FaultPolicy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

const neverAborted = new AbortController().signal;
const noSubscription = () => ({ dispose: () => {} });

/**
 * Replaces the client library's default fault handling (retry every call 3 times, open a
 * circuit on a member for 5 s after 3 failures): a blind retry of a write whose response was
 * lost could apply it twice — a create would then report "already exists" for the object it
 * just created. RemoteKV retries itself, following etcd clientv3's rule instead.
 */
const passThrough: FaultPolicy = {
  _altReturn: undefined as never,
  onSuccess: noSubscription,
  onFailure: noSubscription,
  execute: async (fn) => fn({ signal: neverAborted }),
};

/** The request never left this client (no connection): safe to retry even a write. */
function neverSent(err: unknown): boolean {
  return err instanceof Error && /No connection established|no address available|ECONNREFUSED|Name resolution failed/i.test(err.message);
}

// ---- watch multiplexing ---------------------------------------------------------------

interface RemoteWatch {
  id: number;
  req: WatchRequest;
  onResponse: (resp: WatchResponse) => void;
  /** Revision to (re)start from; 0 = "now" (only until the server confirms creation). */
  nextRev: number;
  created: boolean;
  done: boolean;
}

type WatchStream = IDuplexStream<IWatchRequest, IWatchResponse>;

class WatchMux {
  private stream?: WatchStream;
  private opening?: Promise<void>;
  private readonly watches = new Map<number, RemoteWatch>();
  private nextId = 1;
  private closed = false;
  private backoffMs = 0;
  /**
   * A progress request is in flight. etcd answers one per stream (for every watch on it),
   * so concurrent requests from many watches are coalesced into one.
   */
  private progressPending = false;

  constructor(
    private readonly client: Etcd3,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  watch(req: WatchRequest, onResponse: (resp: WatchResponse) => void): Watcher {
    if (this.closed) throw new MvccError('Closed');
    const w: RemoteWatch = { id: this.nextId++, req, onResponse, nextRev: req.startRevision ?? 0, created: false, done: false };
    this.watches.set(w.id, w);
    if (this.stream) this.sendCreate(this.stream, w);
    else this.open();
    return {
      id: w.id,
      cancel: () => {
        if (w.done) return;
        w.done = true;
        this.watches.delete(w.id);
        try {
          this.stream?.write({ cancel_request: { watch_id: w.id } });
        } catch {
          // the stream is already gone; nothing to cancel on the server
        }
      },
      requestProgress: () => {
        if (!this.stream || this.progressPending) return;
        try {
          this.progressPending = true;
          this.stream.write({ progress_request: {} });
        } catch {
          this.progressPending = false;
          // no stream: the reconnect will resume the watch; progress is best effort
        }
      },
    };
  }

  close(): void {
    this.closed = true;
    for (const w of this.watches.values()) w.done = true;
    this.watches.clear();
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      try { s.cancel(); } catch { /* already closed */ }
    }
  }

  private sendCreate(s: WatchStream, w: RemoteWatch): void {
    const r = w.req;
    s.write({
      create_request: {
        key: r.key,
        ...(r.rangeEnd && r.rangeEnd.length > 0 ? { range_end: r.rangeEnd } : {}),
        ...(w.nextRev > 0 ? { start_revision: w.nextRev } : {}),
        ...(r.prevKv ? { prev_kv: true } : {}),
        ...(r.progressNotify ? { progress_notify: true } : {}),
        filters: [...(r.noPut ? [0] : []), ...(r.noDelete ? [1] : [])],
        watch_id: w.id,
      },
    });
  }

  private open(): void {
    if (this.opening || this.closed) return;
    this.opening = (async () => {
      for (;;) {
        if (this.closed) return;
        if (this.backoffMs > 0) await this.clock.sleep(this.backoffMs);
        if (this.closed) return;
        try {
          const s = await this.client.watchClient.watch();
          if (this.closed) {
            s.cancel();
            return;
          }
          this.attach(s);
          return;
        } catch (err) {
          this.backoffMs = Math.min(2000, Math.max(100, this.backoffMs * 2));
          this.log.warn({ err: (err as Error).message }, 'etcd watch stream failed to open; retrying');
        }
      }
    })().finally(() => { this.opening = undefined; });
  }

  private attach(s: WatchStream): void {
    this.stream = s;
    let broken = false;
    const onBroken = (err?: Error) => {
      if (broken) return;
      broken = true;
      if (this.stream === s) {
        this.stream = undefined;
        this.progressPending = false;
      }
      if (this.closed) return;
      if (err) this.log.warn({ err: err.message }, 'etcd watch stream broke; resuming watches');
      this.backoffMs = Math.min(2000, Math.max(100, this.backoffMs * 2));
      for (const w of this.watches.values()) w.created = false;
      if (this.watches.size > 0) this.open();
    };
    s.on('data', (resp: IWatchResponse) => {
      this.backoffMs = 0;
      this.onData(resp);
    });
    s.on('error', (err: Error) => onBroken(err));
    s.on('end', () => onBroken());
    for (const w of this.watches.values()) this.sendCreate(s, w);
  }

  private onData(resp: IWatchResponse): void {
    const wid = num(resp.watch_id);
    const h = header(resp.header);
    if (wid === -1) {
      // etcd 3.4 answers a progress request with one response for the whole stream.
      this.progressPending = false;
      for (const w of [...this.watches.values()]) {
        if (w.created && !w.done) w.onResponse({ header: h, events: [] });
      }
      return;
    }
    const w = this.watches.get(wid);
    if (!w || w.done) return;
    if (resp.created) {
      w.created = true;
      if (w.nextRev === 0) w.nextRev = h.revision + 1;
    }
    const compactRevision = num(resp.compact_revision);
    if (compactRevision !== 0 || resp.canceled) {
      w.done = true;
      this.watches.delete(w.id);
      w.onResponse({ header: h, events: [], canceled: true, ...(compactRevision !== 0 ? { compactRevision } : {}) });
      return;
    }
    if (resp.created) return;
    const events = (resp.events ?? []).map(watchEvent);
    if (events.length > 0) w.nextRev = events[events.length - 1].kv.modRevision + 1;
    w.onResponse({ header: h, events });
  }
}

// ---- lease keep-alive over one shared stream -----------------------------------------

class KeepAliveMux {
  private stream?: IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;
  private opening?: Promise<IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>>;
  private readonly waiting = new Map<string, { resolve: (r: ILeaseKeepAliveResponse) => void; reject: (e: unknown) => void }[]>();

  constructor(private readonly client: Etcd3) {}

  async keepAlive(id: LeaseID): Promise<ILeaseKeepAliveResponse> {
    const s = await this.get();
    const key = id.toString();
    return new Promise((resolve, reject) => {
      const q = this.waiting.get(key) ?? [];
      q.push({ resolve, reject });
      this.waiting.set(key, q);
      s.write({ ID: key });
    });
  }

  close(): void {
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      try { s.cancel(); } catch { /* already closed */ }
    }
    this.failAll(new MvccError('Closed'));
  }

  private failAll(err: unknown): void {
    for (const q of this.waiting.values()) for (const p of q) p.reject(err);
    this.waiting.clear();
  }

  private get(): Promise<IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>> {
    if (this.stream) return Promise.resolve(this.stream);
    this.opening ??= this.client.leaseClient.leaseKeepAlive().then((s) => {
      this.stream = s;
      const drop = (err: unknown) => {
        if (this.stream === s) this.stream = undefined;
        this.failAll(mapEtcdError(err));
      };
      s.on('data', (r: ILeaseKeepAliveResponse) => {
        const key = String(r.ID);
        const q = this.waiting.get(key);
        const p = q?.shift();
        if (q && q.length === 0) this.waiting.delete(key);
        p?.resolve(r);
      });
      s.on('error', (err: Error) => drop(err));
      s.on('end', () => drop(new Error('etcd lease keep-alive stream ended')));
      return s;
    }).finally(() => { this.opening = undefined; });
    return this.opening;
  }
}

// ---- RemoteKV -------------------------------------------------------------------------

export class RemoteKV implements KV {
  /** The underlying client, for callers that need etcd features outside the KV contract. */
  readonly client: Etcd3;
  private readonly callTimeoutMs: number;
  private readonly maxAttempts: number;
  private readonly clock: Clock;
  private readonly watchMux: WatchMux;
  private readonly keepAliveMux: KeepAliveMux;
  private lastRevision = 0;
  private lastCompacted = 0;
  private closed = false;

  constructor(opts: RemoteKVOptions) {
    if (opts.endpoints.length === 0) throw new Error('RemoteKV: no etcd endpoints given');
    this.clock = opts.clock ?? realClock;
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? 5);
    this.client = new Etcd3({
      hosts: opts.endpoints,
      faultHandling: { host: () => passThrough, global: passThrough },
      grpcOptions: {
        // A list or a watch response can be far larger than gRPC's 4 MiB default (clientv3
        // and kube-apiserver lift the limit the same way).
        'grpc.max_receive_message_length': -1,
        'grpc.max_send_message_length': -1,
        // Detect a dead connection to an idle member (kube-apiserver: 30 s / 10 s).
        'grpc.keepalive_time_ms': 30_000,
        'grpc.keepalive_timeout_ms': 10_000,
      },
    });
    const log = opts.logger ?? silentLogger();
    this.watchMux = new WatchMux(this.client, this.clock, log);
    this.keepAliveMux = new KeepAliveMux(this.client);
  }

  /**
   * gRPC deadlines are absolute wall-clock times checked by the transport, so they come from
   * the real clock even when a fake one drives backoff.
   */
  private deadline() {
    return { deadline: new Date(realClock.now() + this.callTimeoutMs) };
  }

  private seen<T extends { header: ResponseHeader }>(r: T): T {
    if (r.header.revision > this.lastRevision) this.lastRevision = r.header.revision;
    return r;
  }

  /**
   * Runs one RPC. A transient failure (etcd unreachable, member restarting) is retried with
   * backoff, each attempt on a randomly chosen endpoint — always for reads, and for writes
   * only when the request provably never left this client (clientv3's "safe retry" rule).
   */
  private async call<T>(fn: () => Promise<T>, idempotent = false): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        const retry = attempt < this.maxAttempts && !this.closed && isRecoverableError(err as Error) && (idempotent || neverSent(err));
        if (!retry) throw mapEtcdError(err);
        await this.clock.sleep(Math.min(1000, 50 * 2 ** (attempt - 1)));
      }
    }
  }

  async range(req: RangeRequest): Promise<RangeResponse> {
    const r = await this.call(() => this.client.kv.range(rangeReq(req), this.deadline()), true);
    return this.seen(rangeResp(r));
  }

  async put(req: PutRequest): Promise<PutResponse> {
    const r = await this.call(() => this.client.kv.put(putReq(req), this.deadline()));
    return this.seen(putResp(r));
  }

  async deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse> {
    const r = await this.call(() => this.client.kv.deleteRange(deleteReq(req), this.deadline()));
    return this.seen(deleteResp(r));
  }

  async txn(req: TxnRequest): Promise<TxnResponse> {
    const r = await this.call(() => this.client.kv.txn(txnReq(req), this.deadline()));
    return this.seen(txnResp(r));
  }

  async compact(req: CompactionRequest): Promise<ResponseHeader> {
    const r = await this.call(() => this.client.kv.compact({ revision: req.revision, ...(req.physical ? { physical: true } : {}) }, this.deadline()));
    if (req.revision > this.lastCompacted) this.lastCompacted = req.revision;
    return this.seen({ header: header(r.header) }).header;
  }

  async leaseGrant(ttlSeconds: number, id: LeaseID = 0n): Promise<LeaseGrantResponse> {
    const r = await this.call(() => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: id.toString() }, this.deadline()));
    // etcd reports some grant failures in the body rather than as a gRPC error.
    if (r.error) throw mapEtcdError(new Error(r.error));
    return this.seen({ header: header(r.header), id: leaseNum(r.ID), ttl: num(r.TTL) });
  }

  async leaseRevoke(id: LeaseID): Promise<ResponseHeader> {
    const r = await this.call(() => this.client.leaseClient.leaseRevoke({ ID: id.toString() }, this.deadline()));
    return this.seen({ header: header(r.header) }).header;
  }

  async leaseKeepAlive(id: LeaseID): Promise<{ header: ResponseHeader; id: LeaseID; ttl: number }> {
    const r = await this.call(() => this.keepAliveMux.keepAlive(id));
    const ttl = num(r.TTL);
    // etcd answers a keep-alive for an unknown lease with TTL 0 instead of an error.
    if (ttl <= 0) throw new MvccError('LeaseNotFound');
    return { header: header(r.header), id: leaseNum(r.ID), ttl };
  }

  async leaseTimeToLive(id: LeaseID, keys = false): Promise<LeaseTimeToLiveResponse> {
    const r = await this.call(() => this.client.leaseClient.leaseTimeToLive({ ID: id.toString(), keys }, this.deadline()), true);
    return this.seen({ header: header(r.header), id: leaseNum(r.ID), ttl: num(r.TTL), grantedTtl: num(r.grantedTTL), keys: r.keys ?? [] });
  }

  async leaseLeases(): Promise<{ header: ResponseHeader; leases: LeaseID[] }> {
    const r = await this.call(() => this.client.leaseClient.leaseLeases(this.deadline()), true);
    return this.seen({ header: header(r.header), leases: (r.leases ?? []).map((l) => leaseNum(l.ID)) });
  }

  watch(req: WatchRequest, onResponse: (resp: WatchResponse) => void): Watcher {
    return this.watchMux.watch(req, (resp) => {
      if (resp.compactRevision && resp.compactRevision > this.lastCompacted) this.lastCompacted = resp.compactRevision;
      if (resp.header.revision > this.lastRevision) this.lastRevision = resp.header.revision;
      onResponse(resp);
    });
  }

  status(): StoreStatus {
    return { revision: this.lastRevision, compactRevision: this.lastCompacted, dbSize: 0, dbSizeInUse: 0, appliedIndex: 0 };
  }

  /** Ends every watch and closes the connections. */
  async close(): Promise<void> {
    this.closed = true;
    this.watchMux.close();
    this.keepAliveMux.close();
    this.client.close();
  }
}
