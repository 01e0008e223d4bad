/**
 * The embedded store's API: etcd v3 KV/Lease/Watch semantics as TypeScript types.
 *
 * This is the contract between the store (src/storage/mvcc), the etcd gRPC server
 * (src/storage/etcdserver), the Kubernetes storage layer (src/storage) and the
 * benchmarks. It mirrors etcd's rpc.proto field for field, so the gRPC server is a
 * thin translation; where etcd's proto uses int64 for revisions we use `number`
 * (exact up to 2^53, ~285 years at a million writes per second) and for lease IDs,
 * which etcd draws at random over the full int64 range, `bigint`.
 *
 * Keys and values are bytes (Buffer). Key order is byte order (Buffer.compare).
 */

export type Revision = number;
export type LeaseID = bigint;

/** etcd's mvccpb.KeyValue. */
export interface KeyValue {
  key: Buffer;
  /** Revision of the last creation of this key (start of its current generation). */
  createRevision: Revision;
  /** Revision of the last modification. */
  modRevision: Revision;
  /** Number of modifications since creation; a delete resets it to 0. */
  version: number;
  value: Buffer;
  /** Lease attached to the key, 0n for none. */
  lease: LeaseID;
}

/** Every response carries the store revision at which it was served. */
export interface ResponseHeader {
  revision: Revision;
}

export type SortOrder = 'NONE' | 'ASCEND' | 'DESCEND';
export type SortTarget = 'KEY' | 'VERSION' | 'CREATE' | 'MOD' | 'VALUE';

/**
 * Range semantics follow etcd exactly:
 *  - rangeEnd absent/empty: the single key `key`;
 *  - rangeEnd = "\0" (one zero byte): every key >= key;
 *  - key = "\0" and rangeEnd = "\0": every key;
 *  - otherwise the half-open interval [key, rangeEnd).
 */
export interface RangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  /** Max keys returned; 0/absent = no limit. `more` tells whether keys were left out. */
  limit?: number;
  /** Read at this revision; 0/absent = current. Errors: Compacted, FutureRevision. */
  revision?: Revision;
  sortOrder?: SortOrder;
  sortTarget?: SortTarget;
  keysOnly?: boolean;
  countOnly?: boolean;
  minModRevision?: Revision;
  maxModRevision?: Revision;
  minCreateRevision?: Revision;
  maxCreateRevision?: Revision;
}

export interface RangeResponse {
  header: ResponseHeader;
  kvs: KeyValue[];
  /** True when limit cut the result short. */
  more: boolean;
  /** Number of keys in the range (before limit). */
  count: number;
}

export interface PutRequest {
  key: Buffer;
  value: Buffer;
  lease?: LeaseID;
  prevKv?: boolean;
  /** Keep the current value (error KeyNotFound if the key does not exist). */
  ignoreValue?: boolean;
  /** Keep the current lease (error KeyNotFound if the key does not exist). */
  ignoreLease?: boolean;
}

export interface PutResponse {
  header: ResponseHeader;
  prevKv?: KeyValue;
}

export interface DeleteRangeRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  prevKv?: boolean;
}

export interface DeleteRangeResponse {
  header: ResponseHeader;
  deleted: number;
  prevKvs: KeyValue[];
}

export type CompareTarget = 'VERSION' | 'CREATE' | 'MOD' | 'VALUE' | 'LEASE';
export type CompareResult = 'EQUAL' | 'GREATER' | 'LESS' | 'NOT_EQUAL';

/**
 * etcd's Compare. The field matching `target` holds the operand. A compare over a range
 * (rangeEnd set) holds only if it holds for every key in the range. A missing key has
 * version/create/mod 0, empty value and lease 0.
 */
export interface Compare {
  key: Buffer;
  rangeEnd?: Buffer;
  target: CompareTarget;
  result: CompareResult;
  version?: number;
  createRevision?: Revision;
  modRevision?: Revision;
  value?: Buffer;
  lease?: LeaseID;
}

export type RequestOp =
  | { range: RangeRequest }
  | { put: PutRequest }
  | { deleteRange: DeleteRangeRequest }
  | { txn: TxnRequest };

export type ResponseOp =
  | { range: RangeResponse }
  | { put: PutResponse }
  | { deleteRange: DeleteRangeResponse }
  | { txn: TxnResponse };

export interface TxnRequest {
  compare: Compare[];
  success: RequestOp[];
  failure: RequestOp[];
}

export interface TxnResponse {
  header: ResponseHeader;
  succeeded: boolean;
  responses: ResponseOp[];
}

export interface CompactionRequest {
  revision: Revision;
  /** Wait until the compaction is durable before answering. */
  physical?: boolean;
}

export interface LeaseGrantResponse {
  header: ResponseHeader;
  id: LeaseID;
  /** Granted TTL in seconds (etcd raises a TTL below its minimum to the minimum). */
  ttl: number;
}

export interface LeaseTimeToLiveResponse {
  header: ResponseHeader;
  id: LeaseID;
  /** Remaining seconds; -1 if the lease does not exist (expired or revoked). */
  ttl: number;
  grantedTtl: number;
  keys: Buffer[];
}

export interface WatchRequest {
  key: Buffer;
  rangeEnd?: Buffer;
  /** First revision to deliver; 0/absent = only changes after now. */
  startRevision?: Revision;
  prevKv?: boolean;
  /** Drop PUT or DELETE events. */
  noPut?: boolean;
  noDelete?: boolean;
  /** Send an empty response (progress notification) when idle for the progress interval. */
  progressNotify?: boolean;
}

export type EventType = 'PUT' | 'DELETE';

/** etcd's mvccpb.Event. For DELETE, kv holds the key and the deletion's modRevision. */
export interface WatchEvent {
  type: EventType;
  kv: KeyValue;
  prevKv?: KeyValue;
}

/**
 * One delivery to a watcher. Events of one revision are never split across two
 * responses. An empty `events` with no compactRevision is a progress notification:
 * "you have seen everything up to header.revision".
 */
export interface WatchResponse {
  header: ResponseHeader;
  events: WatchEvent[];
  /**
   * Set (non-zero) when startRevision was already compacted: the watcher is cancelled
   * and this is the compacted revision (etcd's ErrCompacted on a watch).
   */
  compactRevision?: Revision;
  /** True on the last response of a cancelled watcher. */
  canceled?: boolean;
}

export interface Watcher {
  readonly id: number;
  /** Stops deliveries; safe to call more than once. */
  cancel(): void;
  /** Asks for a progress notification as soon as the watcher is in sync. */
  requestProgress(): void;
}

/** Store status, for etcd's Maintenance.Status. */
export interface StoreStatus {
  revision: Revision;
  compactRevision: Revision;
  /** Bytes on disk (WAL + snapshots). */
  dbSize: number;
  /** Bytes of live data (keys + values at their latest revisions + retained history). */
  dbSizeInUse: number;
  /** Monotonic index of applied write records (etcd's raft index analogue). */
  appliedIndex: number;
}

/**
 * The store. Reads are served from memory. Every mutating call resolves only once its
 * effect is durable on disk (fsync'd, group-committed with concurrent writes); its
 * watch events are delivered only then too. Reads see only durable revisions, so nothing
 * a client observes can be lost by a crash.
 */
export interface KV {
  range(req: RangeRequest): Promise<RangeResponse>;
  put(req: PutRequest): Promise<PutResponse>;
  deleteRange(req: DeleteRangeRequest): Promise<DeleteRangeResponse>;
  txn(req: TxnRequest): Promise<TxnResponse>;
  compact(req: CompactionRequest): Promise<ResponseHeader>;

  /** id 0n = choose one. Errors: LeaseExists, LeaseTTLTooLarge. */
  leaseGrant(ttlSeconds: number, id?: LeaseID): Promise<LeaseGrantResponse>;
  /** Deletes the lease and every key attached to it. Error: LeaseNotFound. */
  leaseRevoke(id: LeaseID): Promise<ResponseHeader>;
  /** Keep-alive: resets the remaining TTL to the granted TTL; returns it. Error: LeaseNotFound. */
  leaseKeepAlive(id: LeaseID): Promise<{ header: ResponseHeader; id: LeaseID; ttl: number }>;
  leaseTimeToLive(id: LeaseID, keys?: boolean): Promise<LeaseTimeToLiveResponse>;
  leaseLeases(): Promise<{ header: ResponseHeader; leases: LeaseID[] }>;

  /**
   * Starts a watch. `onResponse` is called in revision order, never concurrently, and never
   * synchronously from within a write call. A slow consumer never blocks writers: the
   * store buffers a bounded amount per watcher and otherwise catches it up from history.
   */
  watch(req: WatchRequest, onResponse: (resp: WatchResponse) => void): Watcher;

  status(): StoreStatus;
}
