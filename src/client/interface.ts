/**
 * The client contract every component (scheduler, controllers, kubelet, proxy, dns) codes
 * against: client-go's dynamic client, informers, listers and work queue, in TypeScript.
 *
 * Components never import each other nor the API server; they hold a {@link Client} and
 * nothing else (STYLE.md, "API-based interaction"). Two transports implement it with the
 * same semantics: HTTP/2 to any conformant API server (`rest.ts`, from a kubeconfig), and
 * an in-memory fake for unit tests (`fake.ts`, client-go's fake clientset: objects, resource
 * versions, watch, conflicts, but no defaulting or validation).
 *
 * Objects are plain JSON ({@link KObject}); typed views for reading are in `objects.ts`.
 * Errors are `StatusError`s decoded from the server's Status, so callers use the
 * apimachinery predicates (`isNotFound`, `isConflict`, `isAlreadyExists`, `isGone`).
 */
import type { DeleteOptions, KList, KObject, ListOptions, PatchType, WatchEvent } from '../apimachinery/meta.js';

/** schema.GroupVersionResource. `group` is '' for the core group. */
export interface GroupVersionResource {
  group: string;
  version: string;
  /** Plural, lowercase ("pods", "replicasets"). */
  resource: string;
}

/** Options on every write (query parameters of the same names). */
export interface WriteOptions {
  /** `fieldManager`; the client's default user agent name when unset. */
  fieldManager?: string;
  /** Server-side dry run (`dryRun=All`). */
  dryRun?: boolean;
}

export interface PatchOptions extends WriteOptions {
  /** A subresource to patch ("status", "scale"). */
  subresource?: string;
  /** Server-side apply: take over conflicting fields (`force=true`). */
  force?: boolean;
}

/**
 * One resource, in one namespace or (namespace undefined) cluster-wide / across all
 * namespaces. Mirrors client-go's dynamic `ResourceInterface`.
 *
 * Every method rejects with a StatusError carrying the server's reason and code.
 */
export interface ResourceClient<T extends object = KObject> {
  readonly gvr: GroupVersionResource;
  /** undefined: cluster-scoped, or all namespaces for list/watch. */
  readonly namespace: string | undefined;

  get(name: string, opts?: { resourceVersion?: string }): Promise<T>;
  list(opts?: ListOptions): Promise<KList<T & KObject>>;
  /**
   * A watch from opts.resourceVersion (with `watch=true` and, unless set,
   * `allowWatchBookmarks=true`). The iterable ends when the server closes the stream or
   * `signal` aborts; an `ERROR` event (e.g. 410 Expired) is yielded as is, so informers can
   * relist. Rejects on connection failure.
   */
  watch(opts: ListOptions, signal: AbortSignal): AsyncIterable<WatchEvent<T>>;
  create(obj: T, opts?: WriteOptions): Promise<T>;
  /** PUT of the whole object; 409 Conflict when metadata.resourceVersion is stale. */
  update(obj: T, opts?: WriteOptions): Promise<T>;
  /** PUT to the status subresource. */
  updateStatus(obj: T, opts?: WriteOptions): Promise<T>;
  /** PATCH with the given content type (JSON, merge, strategic merge, apply). */
  patch(name: string, type: PatchType, patch: unknown, opts?: PatchOptions): Promise<T>;
  /**
   * DELETE. Resolves with the object when deletion is graceful or finalizers hold it (the
   * server answers 200 with the object), or undefined when it is gone (a Status answer).
   */
  delete(name: string, opts?: DeleteOptions): Promise<T | undefined>;
  deleteCollection(opts?: DeleteOptions & ListOptions): Promise<void>;
  /**
   * POST to a subresource that creates something (pods/binding, pods/eviction,
   * serviceaccounts/token); resolves with the decoded answer.
   */
  createSubresource(name: string, subresource: string, body: unknown, opts?: WriteOptions): Promise<unknown>;
}

/** A connection to one API server (client-go's dynamic.Interface plus discovery of paths). */
export interface Client {
  /** A client for gvr in namespace (undefined: cluster-scoped or all namespaces). */
  resource<T extends object = KObject>(gvr: GroupVersionResource, namespace?: string): ResourceClient<T>;
  /** Closes connections; pending watches end. */
  close(): Promise<void>;
}

/** Well-known resources, so components name them one way. */
export const Resources = {
  pods: { group: '', version: 'v1', resource: 'pods' },
  nodes: { group: '', version: 'v1', resource: 'nodes' },
  namespaces: { group: '', version: 'v1', resource: 'namespaces' },
  services: { group: '', version: 'v1', resource: 'services' },
  endpoints: { group: '', version: 'v1', resource: 'endpoints' },
  events: { group: '', version: 'v1', resource: 'events' },
  configmaps: { group: '', version: 'v1', resource: 'configmaps' },
  secrets: { group: '', version: 'v1', resource: 'secrets' },
  serviceaccounts: { group: '', version: 'v1', resource: 'serviceaccounts' },
  replicationcontrollers: { group: '', version: 'v1', resource: 'replicationcontrollers' },
  replicasets: { group: 'apps', version: 'v1', resource: 'replicasets' },
  deployments: { group: 'apps', version: 'v1', resource: 'deployments' },
  daemonsets: { group: 'apps', version: 'v1', resource: 'daemonsets' },
  statefulsets: { group: 'apps', version: 'v1', resource: 'statefulsets' },
  controllerrevisions: { group: 'apps', version: 'v1', resource: 'controllerrevisions' },
  jobs: { group: 'batch', version: 'v1', resource: 'jobs' },
  cronjobs: { group: 'batch', version: 'v1', resource: 'cronjobs' },
  endpointslices: { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices' },
  leases: { group: 'coordination.k8s.io', version: 'v1', resource: 'leases' },
} as const satisfies Record<string, GroupVersionResource>;

/** "apps/v1" or "v1" for the core group. */
export function apiVersionOf(gvr: GroupVersionResource): string {
  return gvr.group === '' ? gvr.version : `${gvr.group}/${gvr.version}`;
}

// ---------------------------------------------------------------------------------------
// Informers and listers (client-go tools/cache).

/**
 * What handlers receive for a deletion whose final state the informer missed (the object
 * was deleted while the watch was down and a relist no longer has it): client-go's
 * DeletedFinalStateUnknown. `obj` is the last state the cache knew.
 */
export interface DeletedFinalStateUnknown<T> {
  readonly key: string;
  readonly obj: T;
  readonly tombstone: true;
}

export function isTombstone<T>(x: T | DeletedFinalStateUnknown<T>): x is DeletedFinalStateUnknown<T> {
  return typeof x === 'object' && x !== null && (x as { tombstone?: unknown }).tombstone === true;
}

/**
 * Handlers only compute keys and enqueue (STYLE.md 1). `update` fires on every watch
 * MODIFIED and, on resync, with old === new. Objects are shared with the cache: never
 * mutate them (STYLE.md 3).
 */
export interface EventHandlers<T> {
  add?(obj: T): void;
  update?(oldObj: T, newObj: T): void;
  delete?(obj: T | DeletedFinalStateUnknown<T>): void;
}

/** Computes index values for an object (client-go IndexFunc). */
export type IndexFunc<T> = (obj: T) => string[];

/** Read-only view of an informer's cache (client-go Indexer + GenericLister). */
export interface Lister<T> {
  /** By "namespace/name" (or "name" when cluster-scoped). The cached object: do not mutate. */
  get(key: string): T | undefined;
  /** Every object, or those in namespace. */
  list(namespace?: string): T[];
  /** Objects whose index `indexName` produced `value`. */
  byIndex(indexName: string, value: string): T[];
}

export interface Informer<T> {
  readonly lister: Lister<T>;
  /** Handlers added after sync get synthetic adds for what is cached, as client-go does. */
  addEventHandler(h: EventHandlers<T>): void;
  /** Must be called before run(). */
  addIndexers(indexers: Record<string, IndexFunc<T>>): void;
  /** True once the initial list has been delivered to handlers. */
  hasSynced(): boolean;
  /** Lists then watches until signal aborts; relists on 410 Expired/Gone and on errors with backoff. */
  run(signal: AbortSignal): Promise<void>;
}

/** "namespace/name", or "name" for cluster-scoped objects (client-go MetaNamespaceKeyFunc). */
export function keyOf(obj: { metadata?: { name?: string; namespace?: string } }): string {
  const m = obj.metadata ?? {};
  return m.namespace ? `${m.namespace}/${m.name ?? ''}` : (m.name ?? '');
}

/** Inverse of keyOf. */
export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

// ---------------------------------------------------------------------------------------
// Work queue (client-go util/workqueue).

/**
 * A rate-limited, de-duplicating work queue. An item is never processed by two workers at
 * once: added while processing, it is queued again after done(). Retry policy lives here,
 * not in sync code (STYLE.md 2): addRateLimited on failure, forget on success.
 */
export interface WorkQueue<K = string> {
  add(item: K): void;
  /** Adds after delayMs (on the queue's clock). */
  addAfter(item: K, delayMs: number): void;
  /** Adds after the item's per-item exponential backoff (5 ms doubling, capped at 1000 s). */
  addRateLimited(item: K): void;
  /** Resets the item's backoff. */
  forget(item: K): void;
  /** Number of failures recorded for item since its last forget. */
  numRequeues(item: K): number;
  /** Next item, or undefined once shut down and drained. */
  get(): Promise<K | undefined>;
  /** Marks item processed. */
  done(item: K): void;
  len(): number;
  shutDown(): void;
}

/**
 * One shared informer per resource (client-go SharedInformerFactory): every component in a
 * process that asks for the same gvr gets the same cache and a single list+watch.
 */
export interface InformerFactory {
  /** The shared informer for gvr across all namespaces (created on first use). */
  forResource<T extends object = KObject>(gvr: GroupVersionResource): Informer<T>;
  /** Runs every informer asked for so far (and any asked for later) until signal aborts. */
  start(signal: AbortSignal): void;
  /** Resolves once every started informer has synced; rejects if signal aborts first. */
  waitForCacheSync(signal: AbortSignal): Promise<void>;
}

// ---------------------------------------------------------------------------------------
// Events (client-go tools/record).

export type EventType = 'Normal' | 'Warning';

/**
 * Records core/v1 Events about objects, as client-go's EventRecorder: `source.component`
 * is the recorder's component ("default-scheduler", "replicaset-controller"); repeats of
 * the same (object, type, reason, message) within the aggregation window bump `count` and
 * `lastTimestamp` on the existing Event instead of creating another. Never throws: a
 * failed write is logged and dropped (events are best effort, upstream too).
 */
export interface EventRecorder {
  event(obj: KObject | object, type: EventType, reason: string, message: string): void;
}
