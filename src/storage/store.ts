/**
 * The Kubernetes storage layer (k8s.io/apiserver/pkg/storage/etcd3) over the `KV` contract:
 * one implementation of `Storage` for both backends — the embedded MvccStore and a real etcd
 * through RemoteKV. Like upstream's etcd3 store it uses only range, txn, watch, compact and
 * lease grant, so every semantic below comes from etcd's MVCC model:
 *
 *  - A key's value is the object's JSON without metadata.resourceVersion (and selfLink);
 *    every object handed out carries metadata.resourceVersion = String(modRevision).
 *  - Writes are compare-and-swap transactions on the key's mod revision; a lost race re-reads
 *    (from the failed txn's range) and retries.
 *  - Lists read at one revision, page with upstream's continue token, and expire (410) when
 *    that revision is compacted.
 *  - Watches start after a revision (or after a snapshot of the current state), turn
 *    predicate transitions into ADDED/DELETED, and end with one ERROR(Expired) on compaction.
 *
 * Everything thrown is a StorageError (see interface.ts) except errors thrown by the caller's
 * own callbacks (tryUpdate, validate), which pass through unchanged.
 */
import { realClock, type Clock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/log.js';
import { isMvccError } from './mvcc/errors.js';
import type { KV, KeyValue, LeaseID, RangeResponse, Watcher, WatchResponse } from './mvcc/types.js';
import {
  StorageError,
  type GetOptions,
  type ListOptions,
  type ListResult,
  type Preconditions,
  type Predicate,
  type Storage,
  type StorageErrorCode,
  type StoredObject,
  type UpdateFunc,
  type WatchEvent,
  type WatchOptions,
  type WatchStream,
} from './interface.js';

/** Page size growth cap when a predicate filters items out (upstream's maxLimit). */
const maxLimit = 10000;

const watchTooOld = 'The resourceVersion for the provided watch is too old.';
const listTooOld = 'The resourceVersion for the provided list is too old.';
const continueTooOld =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.';
const inconsistentContinue =
  'The provided continue parameter is too old to display a consistent list result. You can start a new list without the ' +
  'continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing ' +
  'with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the ' +
  'time the first chunk was returned and now may show up in the list.';

/** Annotation on the BOOKMARK that ends the initial events of a watch-list (KEP-3157). */
export const initialEventsEndAnnotation = 'k8s.io/initial-events-end';

// Upstream's storage.StorageError codes and texts, so messages read exactly like upstream's
// ("StorageError: key not found, Code: 1, Key: /registry/pods/default/x, ResourceVersion: 0,
// AdditionalErrorMsg: <nil>") — the API server embeds them in Conflict messages.
const upstreamCodes: Partial<Record<StorageErrorCode, [number, string]>> = {
  KeyNotFound: [1, 'key not found'],
  KeyExists: [2, 'key exists'],
  ResourceVersionConflicts: [3, 'resource version conflicts'],
  InvalidObj: [4, 'invalid object'],
  Unreachable: [5, 'server unreachable'],
  CorruptObj: [7, 'corrupt object'],
};

function storageError(code: StorageErrorCode, key: string, rv: number, additional?: string, cause?: unknown): StorageError {
  const [n, text] = upstreamCodes[code] ?? [0, code];
  const msg = `StorageError: ${text}, Code: ${n}, Key: ${key}, ResourceVersion: ${rv}, AdditionalErrorMsg: ${additional ?? '<nil>'}`;
  return new StorageError(code, key, msg, { resourceVersion: rv, cause });
}

function badRequest(key: string, message: string): StorageError {
  return new StorageError('BadRequest', key, message);
}

function tooLarge(key: string, minimum: number, current: number): StorageError {
  return new StorageError('TooLargeResourceVersion', key, `Too large resource version: ${minimum}, current: ${current}`, {
    resourceVersion: current,
  });
}

/** Wraps a failure of the KV itself: MvccErrors keep their identity, anything else is Unreachable. */
function kvError(key: string, err: unknown): unknown {
  if (err instanceof StorageError) return err;
  if (isMvccError(err) && err.code !== 'Closed') return err;
  return storageError('Unreachable', key, 0, (err as Error)?.message ?? String(err), err);
}

/** Parses a resourceVersion; "" means "unset" (0). */
function parseResourceVersion(key: string, rv: string | undefined): number {
  if (rv === undefined || rv === '') return 0;
  if (!/^\d+$/.test(rv)) throw badRequest(key, `invalid resource version: strconv.ParseUint: parsing ${JSON.stringify(rv)}: invalid syntax`);
  return Number(rv);
}

/** The smallest key greater than every key with this prefix (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}

// ---- continue tokens (k8s.io/apiserver/pkg/storage/continue.go) ----------------------

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

/** Upstream's token: base64url (no padding) of {"v":"meta.k8s.io/v1","rv":N,"start":"<key after the prefix>"}. */
export function encodeContinue(key: string, keyPrefix: string, resourceVersion: number): string {
  if (!key.startsWith(keyPrefix) || key === keyPrefix) {
    throw new Error(`unable to encode next field: the key and key prefix do not match ${keyPrefix} ${key}`);
  }
  const token: ContinueToken = { v: 'meta.k8s.io/v1', rv: resourceVersion, start: key.slice(keyPrefix.length) };
  return Buffer.from(JSON.stringify(token)).toString('base64url');
}

/** Returns the full key to continue from and the token's revision (-1 = latest). */
export function decodeContinue(value: string, keyPrefix: string): { fromKey: string; rv: number } {
  let c: Partial<ContinueToken>;
  try {
    if (!/^[A-Za-z0-9_-]*$/.test(value)) throw new Error('illegal base64 data');
    c = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as Partial<ContinueToken>;
    if (typeof c !== 'object' || c === null) throw new Error('not an object');
  } catch (err) {
    throw new Error(`continue key is not valid: ${(err as Error).message}`);
  }
  if (c.v !== 'meta.k8s.io/v1') throw new Error(`continue key is not valid: server does not recognize this encoded version ${c.v}`);
  if (typeof c.rv !== 'number' || !Number.isInteger(c.rv) || c.rv === 0) {
    throw new Error('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
  if (typeof c.start !== 'string' || c.start.length === 0) {
    throw new Error('continue key is not valid: encoded start key empty (version meta.k8s.io/v1)');
  }
  // Defend against path traversal: the start key must be clean, so prefix + start can never
  // range over anything outside keyPrefix.
  const key = c.start.startsWith('/') ? c.start : '/' + c.start;
  if (cleanPath(key) !== key) throw new Error(`continue key is not valid: ${c.start}`);
  return { fromKey: keyPrefix + key.slice(1), rv: c.rv };
}

/** Go's path.Clean for absolute paths. */
function cleanPath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return '/' + out.join('/');
}

// ---- lease reuse (upstream's leaseManager) -------------------------------------------

interface LeaseManagerOptions {
  /** Longest extra lifetime an object may get from sharing a lease (default 60 s). */
  reuseDurationSeconds?: number;
  /** Extra lifetime as a fraction of the TTL, capped by reuseDurationSeconds (default 0.05). */
  reuseDurationPercent?: number;
  /** Most objects attached to one lease (default 1000). */
  maxObjectsPerLease?: number;
}

/**
 * Shares one lease among objects created with similar TTLs: an object with TTL t may be
 * attached to a lease expiring within [t, t + min(5% of t, 60 s)], so expiry is never early
 * and at most slightly late, and a burst of events costs one lease instead of thousands.
 */
class LeaseManager {
  private prevID: LeaseID = 0n;
  private prevExpiresAt = 0;
  private attached = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly reuseSeconds: number;
  private readonly reusePercent: number;
  private readonly maxObjects: number;

  constructor(private readonly kv: KV, private readonly clock: Clock, opts: LeaseManagerOptions = {}) {
    this.reuseSeconds = opts.reuseDurationSeconds ?? 60;
    this.reusePercent = opts.reuseDurationPercent ?? 0.05;
    this.maxObjects = opts.maxObjectsPerLease ?? 1000;
  }

  /** Serialized (upstream holds a mutex across the grant), so a burst shares one lease. */
  getLease(ttlSeconds: number): Promise<LeaseID> {
    const next = this.queue.then(() => this.getLeaseLocked(ttlSeconds));
    this.queue = next.catch(() => undefined);
    return next;
  }

  private async getLeaseLocked(ttlSeconds: number): Promise<LeaseID> {
    const now = this.clock.now();
    const reuse = Math.min(Math.floor(this.reusePercent * ttlSeconds), this.reuseSeconds);
    const valid = now + ttlSeconds * 1000 < this.prevExpiresAt;
    const sufficient = now + (ttlSeconds + reuse) * 1000 > this.prevExpiresAt;
    this.attached++;
    if (this.prevID !== 0n && valid && sufficient && this.attached <= this.maxObjects) return this.prevID;
    const ttl = ttlSeconds + reuse;
    const granted = await this.kv.leaseGrant(ttl);
    this.prevID = granted.id;
    this.prevExpiresAt = now + ttl * 1000;
    this.attached = 1;
    return granted.id;
  }
}

// ---- the store ------------------------------------------------------------------------

export interface KVStorageOptions {
  kv: KV;
  /**
   * Prepended to every key (like kube-apiserver's --etcd-prefix); default "" (callers pass
   * full keys such as /registry/pods/default/nginx).
   */
  prefix?: string;
  clock?: Clock;
  logger?: Logger;
  /** Lease sharing for TTL'd objects (upstream's LeaseManagerConfig). */
  leases?: LeaseManagerOptions;
  /**
   * How often a watch with allowBookmarks asks the store for progress, so an idle watch still
   * gets BOOKMARKs (default 60 s; 0 = never, rely on the KV's own progress notifications).
   */
  bookmarkIntervalMs?: number;
  /** Called once by close(), e.g. to close a KV the storage owns. */
  onClose?: () => Promise<void>;
}

/** An object read from the store, with its encoded form for no-op detection. */
interface ObjState {
  obj: StoredObject;
  /** Mod revision; 0 when the key is absent. */
  rev: number;
  /** The stored JSON; undefined when the key is absent. */
  data?: string;
}

interface ParsedEvent {
  key: string;
  value?: Buffer;
  prevValue?: Buffer;
  rev: number;
  isDeleted: boolean;
  isCreated: boolean;
}

/** Storage over any KV (the embedded MvccStore or RemoteKV). */
export class KVStorage implements Storage {
  readonly kv: KV;
  private readonly prefix: string;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly leases: LeaseManager;
  private readonly bookmarkIntervalMs: number;
  private readonly onClose?: () => Promise<void>;
  private readonly watches = new Set<StorageWatch>();
  private closed = false;

  constructor(opts: KVStorageOptions) {
    this.kv = opts.kv;
    this.prefix = opts.prefix ?? '';
    this.clock = opts.clock ?? realClock;
    this.log = opts.logger ?? silentLogger();
    this.leases = new LeaseManager(this.kv, this.clock, opts.leases);
    this.bookmarkIntervalMs = opts.bookmarkIntervalMs ?? 60_000;
    this.onClose = opts.onClose;
  }

  /** Validates the key like upstream's prepareKey and adds the prefix. */
  private prepareKey(key: string): string {
    if (key === '..' || key.startsWith('../') || key.endsWith('/..') || key.includes('/../')) {
      throw badRequest(key, `invalid key: ${JSON.stringify(key)}`);
    }
    if (key === '.' || key.startsWith('./') || key.endsWith('/.') || key.includes('/./')) {
      throw badRequest(key, `invalid key: ${JSON.stringify(key)}`);
    }
    if (key === '' || key === '/') throw badRequest(key, `empty key: ${JSON.stringify(key)}`);
    return this.prefix + key;
  }

  private checkOpen(key: string): void {
    if (this.closed) throw storageError('Unreachable', key, 0, 'storage is closed');
  }

  private encode(key: string, obj: StoredObject): string {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw storageError('InvalidObj', key, 0, 'object must be a JSON object');
    }
    const metadata = { ...(obj.metadata ?? {}) };
    delete metadata.resourceVersion;
    delete metadata.selfLink;
    return JSON.stringify({ ...obj, metadata });
  }

  private decode(key: string, data: string | Buffer, rev: number): StoredObject {
    let obj: unknown;
    try {
      obj = JSON.parse(typeof data === 'string' ? data : data.toString('utf8'));
    } catch (err) {
      throw storageError('CorruptObj', key, rev, (err as Error).message, err);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      throw storageError('CorruptObj', key, rev, 'stored value is not a JSON object');
    }
    const o = obj as StoredObject;
    o.metadata = { ...(o.metadata ?? {}), resourceVersion: String(rev) };
    return o;
  }

  private async range(key: string, fn: () => Promise<RangeResponse>): Promise<RangeResponse> {
    try {
      return await fn();
    } catch (err) {
      throw kvError(key, err);
    }
  }

  private validateMinimumResourceVersion(key: string, minimum: string | undefined, actual: number): void {
    if (minimum === undefined || minimum === '') return;
    const min = parseResourceVersion(key, minimum);
    if (min > actual) throw tooLarge(key, min, actual);
  }

  private getState(key: string, resp: RangeResponse, ignoreNotFound: boolean): ObjState {
    const kv = resp.kvs[0];
    if (!kv) {
      if (!ignoreNotFound) throw storageError('KeyNotFound', key, 0);
      return { obj: {}, rev: 0 };
    }
    const data = kv.value.toString('utf8');
    return { obj: this.decode(key, data, kv.modRevision), rev: kv.modRevision, data };
  }

  private async getCurrentState(key: string, ignoreNotFound: boolean): Promise<ObjState> {
    const resp = await this.range(key, () => this.kv.range({ key: Buffer.from(key) }));
    return this.getState(key, resp, ignoreNotFound);
  }

  private stateFromObject(key: string, obj: StoredObject): ObjState {
    const rev = parseResourceVersion(key, obj.metadata?.resourceVersion);
    const data = this.encode(key, obj);
    return { obj: this.decode(key, data, rev), rev, data };
  }

  async create(key: string, obj: StoredObject, opts: { ttlSeconds?: number } = {}): Promise<StoredObject> {
    const k = this.prepareKey(key);
    this.checkOpen(k);
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== '0') {
      throw badRequest(k, 'resourceVersion should not be set on objects to be created');
    }
    const data = this.encode(k, obj);
    const kb = Buffer.from(k);
    try {
      const lease = opts.ttlSeconds ? await this.leases.getLease(opts.ttlSeconds) : 0n;
      const resp = await this.kv.txn({
        compare: [{ key: kb, target: 'MOD', result: 'EQUAL', modRevision: 0 }],
        success: [{ put: { key: kb, value: Buffer.from(data), ...(lease ? { lease } : {}) } }],
        failure: [],
      });
      if (!resp.succeeded) throw storageError('KeyExists', k, 0);
      return this.decode(k, data, resp.header.revision);
    } catch (err) {
      throw kvError(k, err);
    }
  }

  async get(key: string, opts: GetOptions = {}): Promise<StoredObject | undefined> {
    const k = this.prepareKey(key);
    this.checkOpen(k);
    const resp = await this.range(k, () => this.kv.range({ key: Buffer.from(k) }));
    this.validateMinimumResourceVersion(k, opts.resourceVersion, resp.header.revision);
    const kv = resp.kvs[0];
    if (!kv) {
      if (opts.ignoreNotFound) return undefined;
      throw storageError('KeyNotFound', k, 0);
    }
    return this.decode(k, kv.value, kv.modRevision);
  }

  async getList(key: string, opts: ListOptions = {}): Promise<ListResult> {
    let keyPrefix = this.prepareKey(key);
    this.checkOpen(keyPrefix);
    // Only children: "/a/" must not match "/ab".
    if (!keyPrefix.endsWith('/')) keyPrefix += '/';
    const predicate = opts.predicate;
    const paging = (opts.limit ?? 0) > 0;
    let limit = paging ? opts.limit! : 0;
    const fromRV = opts.resourceVersion !== undefined && opts.resourceVersion !== ''
      ? parseResourceVersion(keyPrefix, opts.resourceVersion)
      : undefined;

    let startKey = keyPrefix;
    let withRev = 0;
    let continueKey = '';
    const continuing = !!opts.continue;
    if (opts.continue) {
      let decoded: { fromKey: string; rv: number };
      try {
        decoded = decodeContinue(opts.continue, keyPrefix);
      } catch (err) {
        throw badRequest(keyPrefix, `invalid continue token: ${(err as Error).message}`);
      }
      if (opts.resourceVersion !== undefined && opts.resourceVersion !== '' && opts.resourceVersion !== '0') {
        throw badRequest(keyPrefix, 'specifying resource version is not allowed when using continue');
      }
      continueKey = decoded.fromKey;
      startKey = continueKey;
      // rv > 0: continue at that revision; rv < 0: at the latest (after an expired token).
      if (decoded.rv > 0) withRev = decoded.rv;
    } else if (fromRV !== undefined) {
      switch (opts.resourceVersionMatch) {
        case 'NotOlderThan':
          break; // checked against the response's revision below
        case 'Exact':
          withRev = fromRV;
          break;
        case undefined:
          // Legacy: a paged list at an explicit revision reads at exactly that revision.
          if (paging && fromRV > 0) withRev = fromRV;
          break;
        default:
          throw badRequest(keyPrefix, `unknown ResourceVersionMatch value: ${String(opts.resourceVersionMatch)}`);
      }
    }

    const rangeEnd = prefixEnd(Buffer.from(keyPrefix));
    const items: StoredObject[] = [];
    let lastKey: Buffer | undefined;
    let hasMore = false;
    let resp: RangeResponse;
    for (;;) {
      try {
        resp = await this.kv.range({
          key: Buffer.from(startKey),
          rangeEnd,
          ...(limit > 0 ? { limit } : {}),
          ...(withRev > 0 ? { revision: withRev } : {}),
        });
      } catch (err) {
        throw await this.listError(err, keyPrefix, continuing, continueKey, withRev);
      }
      this.validateMinimumResourceVersion(keyPrefix, opts.resourceVersion, resp.header.revision);
      hasMore = resp.more;
      if (resp.kvs.length === 0 && resp.more) {
        throw storageError('Unreachable', keyPrefix, 0, 'no results were found, but etcd indicated there were more values remaining');
      }
      for (const kv of resp.kvs) {
        if (paging && items.length >= opts.limit!) {
          hasMore = true;
          break;
        }
        lastKey = kv.key;
        const obj = this.decode(kv.key.toString('utf8'), kv.value, kv.modRevision);
        if (!predicate || matches(predicate, obj)) items.push(obj);
      }
      if (!hasMore || !paging) break;
      if (items.length >= opts.limit!) break;
      // The predicate dropped items: fetch more, in bigger pages, at the same revision.
      if (limit < maxLimit) limit = Math.min(limit * 2, maxLimit);
      startKey = lastKey!.toString('utf8') + '\x00';
      if (withRev === 0) withRev = resp.header.revision;
    }
    if (withRev === 0) withRev = resp.header.revision;

    if (hasMore && lastKey) {
      const next = encodeContinue(lastKey.toString('utf8') + '\x00', keyPrefix, withRev);
      const result: ListResult = { items, resourceVersion: String(withRev), continue: next };
      // The count covers items the predicate would drop, so it is only given without one.
      if (!predicate) result.remainingItemCount = resp.count - opts.limit!;
      return result;
    }
    return { items, resourceVersion: String(withRev), continue: '' };
  }

  private async listError(err: unknown, keyPrefix: string, continuing: boolean, continueKey: string, withRev: number): Promise<unknown> {
    if (isMvccError(err, 'Compacted')) {
      if (continuing) {
        // Offer a token that continues at the latest revision, as upstream does.
        let token: string | undefined;
        try {
          token = encodeContinue(continueKey, keyPrefix, -1);
        } catch {
          return new StorageError('Expired', keyPrefix, continueTooOld, { resourceVersion: withRev, cause: err });
        }
        return new StorageError('Expired', keyPrefix, inconsistentContinue, { resourceVersion: withRev, continue: token, cause: err });
      }
      return new StorageError('Expired', keyPrefix, listTooOld, { resourceVersion: withRev, cause: err });
    }
    if (isMvccError(err, 'FutureRevision')) {
      const current = await this.currentRevision().catch(() => 0);
      return tooLarge(keyPrefix, withRev, current);
    }
    return kvError(keyPrefix, err);
  }

  async guaranteedUpdate(
    key: string,
    tryUpdate: UpdateFunc,
    opts: {
      preconditions?: Preconditions;
      ignoreNotFound?: boolean;
      cachedExistingObject?: StoredObject;
      ttlSeconds?: number | ((updated: StoredObject) => number | undefined);
    } = {},
  ): Promise<StoredObject> {
    const k = this.prepareKey(key);
    this.checkOpen(k);
    const ignoreNotFound = !!opts.ignoreNotFound;
    const kb = Buffer.from(k);
    let orig: ObjState;
    let origIsCurrent: boolean;
    if (opts.cachedExistingObject) {
      orig = this.stateFromObject(k, opts.cachedExistingObject);
      origIsCurrent = false;
    } else {
      orig = await this.getCurrentState(k, ignoreNotFound);
      origIsCurrent = true;
    }

    for (;;) {
      const preErr = checkPreconditions(k, opts.preconditions, orig.obj);
      if (preErr) {
        if (origIsCurrent) throw preErr;
        // Possibly stale cached data: re-read and try again.
        orig = await this.getCurrentState(k, ignoreNotFound);
        origIsCurrent = true;
        continue;
      }

      let updated: StoredObject;
      try {
        // tryUpdate may mutate what it gets: it gets orig.obj itself, a fresh decode that is
        // never read again (every path below replaces orig or returns from orig.data).
        updated = await tryUpdate(orig.data !== undefined ? orig.obj : {});
      } catch (err) {
        if (origIsCurrent) throw err;
        const cachedRev = orig.rev;
        orig = await this.getCurrentState(k, ignoreNotFound);
        origIsCurrent = true;
        if (cachedRev === orig.rev) throw err;
        continue;
      }

      const data = this.encode(k, updated);
      if (orig.data !== undefined && data === orig.data) {
        // No change: skip the write (same resourceVersion), but only once the comparison
        // was made against what the store really holds.
        if (!origIsCurrent) {
          orig = await this.getCurrentState(k, ignoreNotFound);
          origIsCurrent = true;
          if (data !== orig.data) continue;
        }
        return this.decode(k, orig.data!, orig.rev);
      }

      const ttl = typeof opts.ttlSeconds === 'function' ? opts.ttlSeconds(updated) : opts.ttlSeconds;
      let resp;
      try {
        const lease = ttl ? await this.leases.getLease(ttl) : 0n;
        resp = await this.kv.txn({
          compare: [{ key: kb, target: 'MOD', result: 'EQUAL', modRevision: orig.rev }],
          success: [{ put: { key: kb, value: Buffer.from(data), ...(lease ? { lease } : {}) } }],
          failure: [{ range: { key: kb } }],
        });
      } catch (err) {
        throw kvError(k, err);
      }
      if (!resp.succeeded) {
        const r = resp.responses[0];
        orig = this.getState(k, 'range' in r ? r.range : { header: resp.header, kvs: [], more: false, count: 0 }, ignoreNotFound);
        origIsCurrent = true;
        continue;
      }
      return this.decode(k, data, resp.header.revision);
    }
  }

  async delete(
    key: string,
    opts: {
      preconditions?: Preconditions;
      validate?: (current: StoredObject) => void | Promise<void>;
      cachedExistingObject?: StoredObject;
    } = {},
  ): Promise<StoredObject> {
    const k = this.prepareKey(key);
    this.checkOpen(k);
    const kb = Buffer.from(k);
    let orig: ObjState;
    let origIsCurrent: boolean;
    if (opts.cachedExistingObject) {
      orig = this.stateFromObject(k, opts.cachedExistingObject);
      origIsCurrent = false;
    } else {
      orig = await this.getCurrentState(k, false);
      origIsCurrent = true;
    }

    for (;;) {
      let checkErr: unknown = checkPreconditions(k, opts.preconditions, orig.obj);
      if (!checkErr && opts.validate) {
        try {
          await opts.validate(this.decode(k, orig.data!, orig.rev));
        } catch (err) {
          checkErr = err;
        }
      }
      if (checkErr) {
        if (origIsCurrent) throw checkErr;
        // Possibly stale cached data: re-read; the error stands if nothing changed.
        const cachedRev = orig.rev;
        orig = await this.getCurrentState(k, false);
        origIsCurrent = true;
        if (cachedRev === orig.rev) throw checkErr;
        continue;
      }

      let resp;
      try {
        resp = await this.kv.txn({
          compare: [{ key: kb, target: 'MOD', result: 'EQUAL', modRevision: orig.rev }],
          success: [{ deleteRange: { key: kb } }],
          failure: [{ range: { key: kb } }],
        });
      } catch (err) {
        throw kvError(k, err);
      }
      if (!resp.succeeded) {
        const r = resp.responses[0];
        orig = this.getState(k, 'range' in r ? r.range : { header: resp.header, kvs: [], more: false, count: 0 }, false);
        origIsCurrent = true;
        continue;
      }
      // The last state, stamped with the deletion's revision (upstream does the same).
      return this.decode(k, orig.data!, resp.header.revision);
    }
  }

  async watch(key: string, opts: WatchOptions = {}, signal?: AbortSignal): Promise<WatchStream> {
    let k = this.prepareKey(key);
    this.checkOpen(k);
    const recursive = !!opts.recursive;
    if (recursive && !k.endsWith('/')) k += '/';
    const rev = parseResourceVersion(k, opts.resourceVersion);
    const sendInitialEvents = opts.sendInitialEvents ?? rev === 0;
    if (sendInitialEvents && rev !== 0) {
      // Like upstream's etcd3 store: only the watch cache can replay state at a revision.
      throw new StorageError('InvalidError', k, 'sendInitialEvents: Forbidden: for watch is unsupported by an etcd cluster');
    }
    const w = new StorageWatch({
      storage: this,
      key: k,
      rev,
      recursive,
      sendInitialEvents,
      initialEventsEndBookmark: opts.sendInitialEvents === true && !!opts.allowBookmarks,
      predicate: opts.predicate,
      allowBookmarks: !!opts.allowBookmarks,
      bookmarkIntervalMs: this.bookmarkIntervalMs,
      clock: this.clock,
      log: this.log,
      onStop: () => this.watches.delete(w),
    });
    this.watches.add(w);
    if (signal) {
      if (signal.aborted) w.stop();
      else signal.addEventListener('abort', () => w.stop(), { once: true });
    }
    await w.start();
    return w;
  }

  /** @internal used by StorageWatch */
  decodeForWatch(key: string, data: Buffer, rev: number): StoredObject {
    return this.decode(key, data, rev);
  }

  /** @internal used by StorageWatch */
  rangeForWatch(key: string, recursive: boolean, countOnly: boolean): Promise<RangeResponse> {
    const kb = Buffer.from(key);
    return this.range(key, () => this.kv.range({ key: kb, ...(recursive ? { rangeEnd: prefixEnd(kb) } : {}), ...(countOnly ? { countOnly: true } : {}) }));
  }

  async count(key: string): Promise<number> {
    let k = this.prepareKey(key);
    this.checkOpen(k);
    if (!k.endsWith('/')) k += '/';
    const kb = Buffer.from(k);
    const resp = await this.range(k, () => this.kv.range({ key: kb, rangeEnd: prefixEnd(kb), countOnly: true }));
    return resp.count;
  }

  async currentRevision(): Promise<number> {
    const k = this.prefix + '/';
    this.checkOpen(k);
    const resp = await this.range(k, () => this.kv.range({ key: Buffer.from(k), countOnly: true }));
    return resp.header.revision;
  }

  async compact(revision: number): Promise<void> {
    const k = this.prefix + '/';
    this.checkOpen(k);
    try {
      await this.kv.compact({ revision });
    } catch (err) {
      // Compacting to a revision already compacted is a no-op for callers (a compactor loop).
      if (isMvccError(err, 'Compacted')) return;
      if (isMvccError(err, 'FutureRevision')) throw tooLarge(k, revision, await this.currentRevision());
      throw kvError(k, err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watches]) w.stop();
    await this.onClose?.();
  }
}

function matches(predicate: Predicate, obj: StoredObject): boolean {
  try {
    return predicate(obj);
  } catch {
    return false; // upstream: a predicate error means "does not match"
  }
}

/** Upstream's storage.Preconditions.Check. */
function checkPreconditions(key: string, p: Preconditions | undefined, obj: StoredObject): StorageError | undefined {
  if (!p) return undefined;
  const uid = obj.metadata?.uid ?? '';
  const rv = obj.metadata?.resourceVersion ?? '';
  if (p.uid !== undefined && p.uid !== uid) {
    return storageError('InvalidObj', key, 0, `Precondition failed: UID in precondition: ${p.uid}, UID in object meta: ${uid}`);
  }
  if (p.resourceVersion !== undefined && p.resourceVersion !== rv) {
    return storageError(
      'InvalidObj',
      key,
      0,
      `Precondition failed: ResourceVersion in precondition: ${p.resourceVersion}, ResourceVersion in object meta: ${rv}`,
    );
  }
  return undefined;
}

// ---- watch ----------------------------------------------------------------------------

interface StorageWatchOptions {
  storage: KVStorage;
  key: string;
  rev: number;
  recursive: boolean;
  sendInitialEvents: boolean;
  initialEventsEndBookmark: boolean;
  predicate?: Predicate;
  allowBookmarks: boolean;
  bookmarkIntervalMs: number;
  clock: Clock;
  log: Logger;
  onStop: () => void;
}

/**
 * One watch (upstream's watchChan). Events are queued without bound: the KV never waits for
 * a consumer (a slow consumer must not block writers), so the consumer is expected to keep
 * up or stop the watch.
 */
class StorageWatch implements WatchStream {
  private readonly o: StorageWatchOptions;
  private readonly queue: WatchEvent[] = [];
  private wake?: () => void;
  private ended = false;
  private watcher?: Watcher;
  private ticker?: { cancel(): void };
  /** Highest revision delivered (events or bookmarks); bookmarks never go backwards. */
  private lastRev = 0;

  constructor(o: StorageWatchOptions) {
    this.o = o;
  }

  async start(): Promise<void> {
    const o = this.o;
    let initialRev = o.rev;
    if (o.rev === 0) {
      let resp: RangeResponse;
      try {
        resp = await o.storage.rangeForWatch(o.key, o.recursive, !o.sendInitialEvents);
      } catch (err) {
        this.fail(err instanceof StorageError ? err : storageError('Unreachable', o.key, 0, String(err), err));
        return;
      }
      initialRev = resp.header.revision;
      if (o.sendInitialEvents) {
        for (const kv of resp.kvs) {
          if (this.ended) return;
          const obj = this.decodeOrFail(kv.key, kv.value, kv.modRevision);
          if (!obj) return;
          if (this.pass(obj)) this.push({ type: 'ADDED', object: obj }, 0);
        }
        if (o.initialEventsEndBookmark) {
          this.push({
            type: 'BOOKMARK',
            object: { metadata: { resourceVersion: String(initialRev), annotations: { [initialEventsEndAnnotation]: 'true' } } },
          }, initialRev);
        }
      }
    }
    if (this.ended) return;
    this.lastRev = Math.max(this.lastRev, initialRev);
    const kb = Buffer.from(o.key);
    try {
      this.watcher = o.storage.kv.watch(
        {
          key: kb,
          ...(o.recursive ? { rangeEnd: prefixEnd(kb) } : {}),
          startRevision: initialRev + 1,
          prevKv: true,
          progressNotify: o.allowBookmarks,
        },
        (resp) => this.onResponse(resp),
      );
    } catch (err) {
      this.fail(storageError('Unreachable', o.key, 0, (err as Error).message, err));
      return;
    }
    // A response delivered from within kv.watch() may already have ended this watch.
    if (this.ended) {
      this.watcher.cancel();
      return;
    }
    if (o.allowBookmarks && o.bookmarkIntervalMs > 0) {
      this.ticker = o.clock.setInterval(() => this.requestProgress(), o.bookmarkIntervalMs);
    }
  }

  requestProgress(): void {
    if (this.ended || !this.o.allowBookmarks) return;
    this.watcher?.requestProgress();
  }

  stop(): void {
    if (this.ended) return;
    this.ended = true;
    this.ticker?.cancel();
    this.watcher?.cancel();
    this.o.onStop();
    this.wake?.();
  }

  /** Leaving a `for await` loop early (break, throw) stops the watch too. */
  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    try {
      for (;;) {
        const e = this.queue.shift();
        if (e) {
          yield e;
          continue;
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => { this.wake = resolve; });
        this.wake = undefined;
      }
    } finally {
      this.stop();
    }
  }

  private push(e: WatchEvent, rev: number): void {
    if (this.ended) return;
    if (rev > this.lastRev) this.lastRev = rev;
    this.queue.push(e);
    this.wake?.();
  }

  /** Delivers one ERROR event, then ends the stream (queued events are still delivered first). */
  private fail(err: StorageError): void {
    if (this.ended) return;
    this.o.log.warn({ key: this.o.key, err: err.message }, 'watch ended with an error');
    this.queue.push({ type: 'ERROR', object: {}, error: err });
    this.stop();
  }

  private pass(obj: StoredObject | undefined): boolean {
    if (!obj) return false;
    return !this.o.predicate || matches(this.o.predicate, obj);
  }

  private decodeOrFail(key: Buffer, value: Buffer, rev: number): StoredObject | undefined {
    try {
      return this.o.storage.decodeForWatch(key.toString('utf8'), value, rev);
    } catch (err) {
      this.fail(err instanceof StorageError ? err : storageError('CorruptObj', key.toString('utf8'), rev, String(err), err));
      return undefined;
    }
  }

  private onResponse(resp: WatchResponse): void {
    if (this.ended) return;
    if (resp.compactRevision) {
      this.fail(new StorageError('Expired', this.o.key, watchTooOld, {
        resourceVersion: this.o.rev,
        compactRevision: resp.compactRevision,
      }));
      return;
    }
    if (resp.canceled) {
      this.fail(storageError('Unreachable', this.o.key, 0, 'watch canceled by the store'));
      return;
    }
    if (resp.events.length === 0) {
      // A progress notification: everything up to header.revision has been delivered.
      if (this.o.allowBookmarks && resp.header.revision >= this.lastRev) {
        this.push({ type: 'BOOKMARK', object: { metadata: { resourceVersion: String(resp.header.revision) } } }, resp.header.revision);
      }
      return;
    }
    for (const e of resp.events) {
      if (this.ended) return;
      const parsed = parseEvent(e.type, e.kv, e.prevKv);
      if (parsed.isDeleted && !parsed.prevValue) {
        this.fail(storageError('CorruptObj', parsed.key, parsed.rev,
          `etcd event received with PrevKv=nil (key=${JSON.stringify(parsed.key)}, modRevision=${parsed.rev}, type=DELETE)`));
        return;
      }
      this.transform(parsed);
    }
  }

  /** Upstream's watchChan.transform: predicate transitions become ADDED/DELETED. */
  private transform(e: ParsedEvent): void {
    const kb = Buffer.from(e.key);
    let cur: StoredObject | undefined;
    let old: StoredObject | undefined;
    if (!e.isDeleted) {
      cur = this.decodeOrFail(kb, e.value!, e.rev);
      if (!cur) return;
    }
    // The previous object is decoded with the event's revision (for a DELETE: the last state
    // stamped with the deletion's revision), and only when needed.
    if (e.prevValue && (e.isDeleted || this.o.predicate)) {
      old = this.decodeOrFail(kb, e.prevValue, e.rev);
      if (!old) return;
    }
    if (e.isDeleted) {
      if (this.pass(old)) this.push({ type: 'DELETED', object: old! }, e.rev);
      return;
    }
    if (e.isCreated) {
      if (this.pass(cur)) this.push({ type: 'ADDED', object: cur! }, e.rev);
      return;
    }
    if (!this.o.predicate) {
      this.push({ type: 'MODIFIED', object: cur! }, e.rev);
      return;
    }
    const curPasses = this.pass(cur);
    const oldPasses = this.pass(old);
    if (curPasses && oldPasses) this.push({ type: 'MODIFIED', object: cur! }, e.rev);
    else if (curPasses) this.push({ type: 'ADDED', object: cur! }, e.rev);
    else if (oldPasses) this.push({ type: 'DELETED', object: old! }, e.rev);
    else if (e.rev > this.lastRev) this.lastRev = e.rev;
  }
}

function parseEvent(type: 'PUT' | 'DELETE', kv: KeyValue, prevKv?: KeyValue): ParsedEvent {
  const isDeleted = type === 'DELETE';
  return {
    key: kv.key.toString('utf8'),
    value: isDeleted ? undefined : kv.value,
    prevValue: prevKv && prevKv.value.length > 0 ? prevKv.value : undefined,
    rev: kv.modRevision,
    isDeleted,
    isCreated: !isDeleted && kv.createRevision === kv.modRevision,
  };
}

// ---- factory --------------------------------------------------------------------------

export type OpenStorageOptions =
  | {
      backend: 'embedded';
      /** Where the embedded store keeps its WAL and snapshots; absent = in memory. */
      dataDir?: string;
      prefix?: string;
      clock?: Clock;
      logger?: Logger;
      bookmarkIntervalMs?: number;
    }
  | {
      backend: 'etcd';
      /** Client URLs (the --etcd-servers list). */
      servers: string[];
      prefix?: string;
      clock?: Clock;
      logger?: Logger;
      bookmarkIntervalMs?: number;
    };

/** A KV that owns resources (both MvccStore and RemoteKV have close()). */
type ClosableKV = KV & { close(): Promise<void> };

/**
 * Opens Storage on either backend; close() on the result also closes the KV it opened.
 * The embedded store is loaded lazily so an etcd-backed process never loads it.
 */
export async function openStorage(opts: OpenStorageOptions): Promise<KVStorage> {
  let kv: ClosableKV;
  if (opts.backend === 'etcd') {
    const { RemoteKV } = await import('./etcd3/remote-kv.js');
    kv = new RemoteKV({ endpoints: opts.servers, clock: opts.clock, logger: opts.logger });
  } else {
    kv = await openEmbedded({ dataDir: opts.dataDir, clock: opts.clock, logger: opts.logger });
  }
  return new KVStorage({
    kv,
    prefix: opts.prefix,
    clock: opts.clock,
    logger: opts.logger,
    bookmarkIntervalMs: opts.bookmarkIntervalMs,
    onClose: () => kv.close(),
  });
}

async function openEmbedded(opts: { dataDir?: string; clock?: Clock; logger?: Logger }): Promise<ClosableKV> {
  const { MvccStore } = await import('./mvcc/index.js');
  return MvccStore.open(opts);
}
