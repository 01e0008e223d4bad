/**
 * The storage interface the API server's registry uses (k8s.io/apiserver/pkg/storage.Interface,
 * in TypeScript). Objects are JSON documents with Kubernetes ObjectMeta; the store keeps them
 * under keys like `/registry/pods/default/nginx` and stamps `metadata.resourceVersion` from the
 * store's revision on every read (it is never stored inside the value).
 *
 * Two backends implement it: the embedded store (src/storage/mvcc, in-process) and a real etcd
 * cluster (src/storage/etcd3). Both must pass the one contract suite in storage.contract.ts.
 *
 * Errors are StorageError with a code; only the API server's registry turns them into HTTP
 * Status objects (404, 409, 410 …).
 */

/** A stored object: any JSON object with Kubernetes metadata. */
export interface StoredObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export type StorageErrorCode =
  | 'KeyNotFound'
  | 'KeyExists'
  | 'ResourceVersionConflicts'
  | 'InvalidObj'
  | 'Unreachable'
  /** The requested resourceVersion is older than what the store still has (HTTP 410). */
  | 'Expired'
  /** The requested resourceVersion is newer than the store's (k8s "Too large resource version"). */
  | 'TooLargeResourceVersion'
  | 'InvalidError'
  /** Malformed input: resourceVersion, continue token, key (HTTP 400 BadRequest). */
  | 'BadRequest'
  /** A stored value that cannot be decoded (upstream's ErrCodeCorruptObj; HTTP 500). */
  | 'CorruptObj';

export class StorageError extends Error {
  readonly code: StorageErrorCode;
  readonly key: string;
  /** The revision involved, when there is one (e.g. the current one on a conflict). */
  readonly resourceVersion?: number;
  /** For Expired from a watch: the store's compacted revision (410 "too old resource version: X (Y)"). */
  readonly compactRevision?: number;
  /**
   * For Expired from a list continued with a too-old continue token: a token that continues
   * the list at the latest revision (upstream puts it in the 410 Status's metadata.continue).
   */
  readonly continue?: string;

  constructor(
    code: StorageErrorCode,
    key: string,
    message: string,
    opts: { resourceVersion?: number; compactRevision?: number; continue?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'StorageError';
    this.code = code;
    this.key = key;
    this.resourceVersion = opts.resourceVersion;
    this.compactRevision = opts.compactRevision;
    this.continue = opts.continue;
  }
}

export const isStorageError = (err: unknown, code?: StorageErrorCode): err is StorageError =>
  err instanceof StorageError && (code === undefined || err.code === code);
export const isNotFound = (err: unknown) => isStorageError(err, 'KeyNotFound');
export const isExists = (err: unknown) => isStorageError(err, 'KeyExists');
export const isConflict = (err: unknown) => isStorageError(err, 'ResourceVersionConflicts');
export const isExpired = (err: unknown) => isStorageError(err, 'Expired');

/** Checked against the current object before an update or delete. */
export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

/**
 * How a read treats resourceVersion (Kubernetes semantics):
 *  - "" (absent): most recent (a quorum read);
 *  - "0": any version the server has — we serve the most recent;
 *  - "N" with match NotOlderThan (default for get): at least N;
 *  - "N" with match Exact (lists only): exactly at revision N (Expired if compacted).
 */
export type ResourceVersionMatch = 'NotOlderThan' | 'Exact';

/** A filter on decoded objects, applied by the store (label/field selectors are built on it). */
export type Predicate = (obj: StoredObject) => boolean;

export interface GetOptions {
  resourceVersion?: string;
  ignoreNotFound?: boolean;
}

export interface ListOptions {
  resourceVersion?: string;
  resourceVersionMatch?: ResourceVersionMatch;
  /** Page size; 0/absent = everything. */
  limit?: number;
  /** Opaque token from a previous page's `continue`. */
  continue?: string;
  /**
   * Absent = everything. With a predicate, pages are still filled up to `limit` matching
   * items (the store reads on), and remainingItemCount is not reported (upstream's rule).
   */
  predicate?: Predicate;
}

export interface ListResult {
  items: StoredObject[];
  /** The revision the list is consistent at. */
  resourceVersion: string;
  /** Token for the next page; "" when this was the last. */
  continue: string;
  /** Estimate of items left after this page, when paging. */
  remainingItemCount?: number;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent {
  type: WatchEventType;
  /**
   * ADDED/MODIFIED: the new object. DELETED: the last state, with the deletion's revision as
   * resourceVersion. BOOKMARK: only metadata.resourceVersion. ERROR: see `error`.
   */
  object: StoredObject;
  /** For ERROR events: e.g. a StorageError('Expired') when the watch fell behind compaction. */
  error?: StorageError;
}

export interface WatchOptions {
  /** Start after this revision ("" or "0" = from now, after first sending current state as ADDED). */
  resourceVersion?: string;
  /** Watch every key under the prefix `key` (it must end with "/"), not just `key`. */
  recursive?: boolean;
  predicate?: Predicate;
  /** Emit BOOKMARK events with the current revision periodically and on request. */
  allowBookmarks?: boolean;
  /**
   * With resourceVersion "" or "0": send the current state as ADDED events first (the default,
   * as Kubernetes does for watches started without a resourceVersion), or not (false).
   * Explicitly true together with allowBookmarks (a watch-list request): the initial events
   * end with a BOOKMARK at the snapshot's revision annotated "k8s.io/initial-events-end":
   * "true". True with a resourceVersion N > 0 is InvalidError, as on upstream's etcd3 store
   * (only a watch cache can replay state at a revision).
   */
  sendInitialEvents?: boolean;
}

/** A running watch; iterate its events; stop() (or the signal) ends it. */
export interface WatchStream extends AsyncIterable<WatchEvent> {
  stop(): void;
  /**
   * With allowBookmarks: asks the store for a BOOKMARK carrying its current revision as soon
   * as this watch has delivered everything up to it (upstream's RequestWatchProgress).
   * A no-op otherwise.
   */
  requestProgress(): void;
}

/** Returns the new object, or throws to abort the update (the error is passed through). */
export type UpdateFunc = (current: StoredObject) => StoredObject | Promise<StoredObject>;

export interface Storage {
  /** Fails with KeyExists if the key is present. Returns the stored object with resourceVersion. */
  create(key: string, obj: StoredObject, opts?: { ttlSeconds?: number }): Promise<StoredObject>;

  get(key: string, opts?: GetOptions): Promise<StoredObject | undefined>;

  /** Lists every object under the prefix `key` (which must end with "/"), in key order. */
  getList(key: string, opts?: ListOptions): Promise<ListResult>;

  /**
   * Reads the current object, calls tryUpdate, and writes the result only if the object did
   * not change meanwhile (compare on mod revision); on a race it re-reads and calls tryUpdate
   * again. Preconditions are checked against the current object each time (InvalidObj on
   * mismatch, worded like upstream: "Precondition failed: UID in precondition: X, UID in object
   * meta: Y"). If the new object equals the current one, nothing is written and the current
   * object is returned. With ignoreNotFound, tryUpdate receives an empty object when the key
   * is absent (create). tryUpdate gets its own copy and may mutate it.
   * cachedExistingObject (e.g. from a watch cache) saves the initial read; a stale one only
   * costs a retry. ttlSeconds (a number, or computed from the new object like the registry's
   * TTLFunc) attaches the written object to a lease; without it the write carries no lease,
   * so an update ends an earlier TTL (as upstream).
   */
  guaranteedUpdate(
    key: string,
    tryUpdate: UpdateFunc,
    opts?: {
      preconditions?: Preconditions;
      ignoreNotFound?: boolean;
      cachedExistingObject?: StoredObject;
      ttlSeconds?: number | ((updated: StoredObject) => number | undefined);
    },
  ): Promise<StoredObject>;

  /**
   * Deletes the key if the preconditions hold and validate (called with the current object)
   * does not throw; retries on a race like guaranteedUpdate. Returns the deleted object: its
   * last state, with the deletion's revision as resourceVersion (as upstream).
   */
  delete(
    key: string,
    opts?: {
      preconditions?: Preconditions;
      validate?: (current: StoredObject) => void | Promise<void>;
      cachedExistingObject?: StoredObject;
    },
  ): Promise<StoredObject>;

  watch(key: string, opts?: WatchOptions, signal?: AbortSignal): Promise<WatchStream>;

  /** Number of objects under the prefix. */
  count(key: string): Promise<number>;

  /** The store's current revision (for "resourceVersion of the list" and bookmarks). */
  currentRevision(): Promise<number>;

  /** Compacts history up to revision; watches/lists at older revisions then get Expired. */
  compact(revision: number): Promise<void>;

  close(): Promise<void>;
}
