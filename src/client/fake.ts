/**
 * An in-memory {@link Client} for unit tests: client-go's fake clientset (ObjectTracker
 * plus watch) with the API server behaviours controllers rely on: resource versions from
 * one global counter, optimistic concurrency, status kept out of update and only status
 * taken by updateStatus, generateName, finalizers holding deletion, label and field
 * selectors, watch from a resourceVersion with a bounded history (410 Expired past it),
 * JSON / merge / strategic merge patch, pods/binding and pods/eviction.
 *
 * Not modelled: defaulting, validation, admission, garbage collection (propagationPolicy
 * is recorded in {@link FakeAction} only), graceful pod deletion and server-side apply.
 * Strategic merge patches use the served OpenAPI schema of src/api (loaded on the first
 * such patch), so lists such as status.conditions merge by their keys as upstream.
 *
 * Objects the fake stores are frozen and shared with watch events; get/list/create/update
 * return private copies the caller may change.
 */
import { randomInt } from 'node:crypto';
import {
  newAlreadyExists,
  newBadRequest,
  newConflict,
  newInvalid,
  newMethodNotSupported,
  newNotFound,
  newResourceExpired,
  fieldRequired,
  newPath,
  isStatusError,
  StatusError,
  type GroupResource,
  type Status,
} from '../apimachinery/errors.js';
import { parseSelector, type Selector } from '../apimachinery/labels.js';
import { parseFieldSelector, type FieldSelector } from '../apimachinery/fields.js';
import {
  deepClone,
  deepEqual,
  formatRFC3339,
  generateName,
  newUID,
  type DeleteOptions,
  type KList,
  type KObject,
  type ListOptions,
  type PatchType,
  type WatchEvent,
  type WatchEventType,
} from '../apimachinery/meta.js';
import { applyMergePatch } from '../apimachinery/mergepatch.js';
import { applyJSONPatch, decodeJSONPatch } from '../apimachinery/jsonpatch.js';
import { strategicMergePatch } from '../apimachinery/strategicpatch.js';
import type { SchemaNode } from '../apimachinery/schema.js';
import { realClock, type Clock } from '../util/clock.js';
import { deepFreeze } from './freeze.js';
import {
  apiVersionOf,
  keyOf,
  type Client,
  type GroupVersionResource,
  type PatchOptions,
  type ResourceClient,
  type WriteOptions,
} from './interface.js';

/** What a test can assert a component did (client-go testing.Action, flattened). */
export interface FakeAction {
  /** get, list, watch, create, update, patch, delete, deletecollection. */
  verb: string;
  gvr: GroupVersionResource;
  namespace: string | undefined;
  name?: string;
  /** "status" for updateStatus, "binding"/"eviction" for createSubresource … */
  subresource?: string;
  /** For delete/deletecollection: the requested propagation (the fake does no cascading). */
  propagationPolicy?: string;
  /** For create/update/patch/createSubresource: the object or body sent (as given). */
  object?: unknown;
  /** For list/watch/deletecollection: the options passed. */
  listOptions?: ListOptions;
}

/**
 * A reactor runs before the fake's own handling (client-go PrependReactor). Return
 * undefined to let the fake proceed, `{ error }` to reject the call with it, or
 * `{ result }` to answer with result instead.
 */
export type FakeReactor = (action: FakeAction) => { error: unknown } | { result: unknown } | undefined;

export interface FakeClientOptions {
  /** Source of creationTimestamp/deletionTimestamp (default the real clock). */
  clock?: Clock;
  /**
   * Watch events kept for watches from an old resourceVersion (default 1000; between this
   * and twice this are kept at any time).
   */
  watchHistory?: number;
  /** Random source for generateName suffixes ([0, n)); default crypto randomInt. */
  random?: (n: number) => number;
}

interface HistoryEntry {
  rv: number;
  gr: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  obj: KObject;
  prev?: KObject;
}

// Kinds of the well-known resources, so created objects carry apiVersion/kind as the API
// server's answers do. Others keep what the caller sent.
const kinds: Record<string, string> = {
  pods: 'Pod', nodes: 'Node', namespaces: 'Namespace', services: 'Service', endpoints: 'Endpoints',
  events: 'Event', configmaps: 'ConfigMap', secrets: 'Secret', serviceaccounts: 'ServiceAccount',
  replicationcontrollers: 'ReplicationController', replicasets: 'ReplicaSet', deployments: 'Deployment',
  daemonsets: 'DaemonSet', statefulsets: 'StatefulSet', controllerrevisions: 'ControllerRevision',
  jobs: 'Job', cronjobs: 'CronJob', endpointslices: 'EndpointSlice', leases: 'Lease',
  persistentvolumes: 'PersistentVolume', persistentvolumeclaims: 'PersistentVolumeClaim',
  poddisruptionbudgets: 'PodDisruptionBudget', resourcequotas: 'ResourceQuota', limitranges: 'LimitRange',
};

let schemaLookup: Promise<(gvr: GroupVersionResource) => SchemaNode | undefined> | undefined;

/**
 * The strategic-merge schema of a resource, from the API definitions the API server
 * serves; undefined (plain merge semantics) for unknown resources or when the generated
 * definitions are unavailable. Loaded once, lazily: it is large.
 */
async function strategicSchema(gvr: GroupVersionResource): Promise<SchemaNode | undefined> {
  schemaLookup ??= (async () => {
    try {
      const [{ schemaResolver }, { allResources }] = await Promise.all([import('../api/openapi/index.js'), import('../api/registry.js')]);
      const resolver = schemaResolver(allResources);
      return (g: GroupVersionResource) => {
        const def = allResources.find((d) => d.group === g.group && d.resource === g.resource);
        if (!def || !resolver.has(def.openAPIDefinition)) return undefined;
        const node = resolver.root(def.openAPIDefinition);
        return node.kind === 'untyped' ? undefined : node;
      };
    } catch {
      return () => undefined;
    }
  })();
  return (await schemaLookup)(gvr);
}

function grKey(gvr: GroupVersionResource): string {
  return gvr.group === '' ? gvr.resource : `${gvr.resource}.${gvr.group}`;
}

function groupResource(gvr: GroupVersionResource): GroupResource {
  return { group: gvr.group, resource: gvr.resource };
}

/** The string a field selector compares for `path` (e.g. spec.nodeName); "" when absent. */
function fieldValue(obj: KObject, path: string): string {
  let cur: unknown = obj;
  for (const p of path.split('.')) {
    if (typeof cur !== 'object' || cur === null) return '';
    cur = (cur as Record<string, unknown>)[p];
  }
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' || typeof cur === 'boolean') return String(cur);
  return '';
}

interface Filter {
  namespace: string | undefined;
  labels: Selector | undefined;
  fields: FieldSelector | undefined;
}

function parseFilter(namespace: string | undefined, opts: ListOptions | undefined): Filter {
  try {
    return {
      namespace,
      labels: opts?.labelSelector ? parseSelector(opts.labelSelector) : undefined,
      fields: opts?.fieldSelector ? parseFieldSelector(opts.fieldSelector) : undefined,
    };
  } catch (err) {
    throw newBadRequest((err as Error).message);
  }
}

function matches(f: Filter, obj: KObject): boolean {
  if (f.namespace !== undefined && (obj.metadata?.namespace ?? '') !== f.namespace) return false;
  if (f.labels && !f.labels.matches(obj.metadata?.labels)) return false;
  if (f.fields) {
    for (const r of f.fields.requirements()) {
      const v = fieldValue(obj, r.field);
      if ((r.operator === '!=') === (v === r.value)) return false;
    }
  }
  return true;
}

/**
 * A push-fed async iterable of watch events: the producer pushes, one consumer pulls.
 * Ends when closed or when the signal aborts.
 */
class WatchChannel<T> implements AsyncIterable<WatchEvent<T>> {
  private buf: WatchEvent<T>[] = [];
  private wake: (() => void) | undefined;
  private closed = false;

  constructor(private readonly onClose: () => void, signal: AbortSignal) {
    if (signal.aborted) this.close();
    else signal.addEventListener('abort', () => this.close(), { once: true });
  }

  push(ev: WatchEvent<T>): void {
    if (this.closed) return;
    this.buf.push(ev);
    this.wake?.();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent<T>> {
    try {
      for (;;) {
        if (this.buf.length > 0) {
          const batch = this.buf;
          this.buf = [];
          for (const ev of batch) yield ev;
          continue;
        }
        if (this.closed) return;
        await new Promise<void>((r) => { this.wake = r; });
        this.wake = undefined;
      }
    } finally {
      this.close();
    }
  }
}

interface Watcher {
  gr: string;
  filter: Filter;
  channel: WatchChannel<unknown>;
}

/** client-go's fake clientset: see the module comment for what is and is not modelled. */
export class FakeClient implements Client {
  private readonly clock: Clock;
  private readonly random: ((n: number) => number) | undefined;
  private readonly historyLimit: number;
  /** group-resource → key → frozen object. */
  private readonly objects = new Map<string, Map<string, KObject>>();
  private rv = 0;
  private history: HistoryEntry[] = [];
  /** Events with rv ≤ this are gone from history (0: nothing dropped yet). */
  private compacted = 0;
  private readonly watchers = new Set<Watcher>();
  private readonly recorded: FakeAction[] = [];
  private readonly reactors: { verb: string; resource: string; fn: FakeReactor }[] = [];

  constructor(opts: FakeClientOptions = {}) {
    this.clock = opts.clock ?? realClock;
    this.random = opts.random ?? ((n) => randomInt(n));
    this.historyLimit = opts.watchHistory ?? 1000;
  }

  resource<T extends object = KObject>(gvr: GroupVersionResource, namespace?: string): ResourceClient<T> {
    return new FakeResourceClient<T>(this, gvr, namespace);
  }

  async close(): Promise<void> {
    this.closeWatches();
  }

  /** Stores objects as they are (no action recorded, no watch event), filling uid/rv when absent. */
  seed(gvr: GroupVersionResource, ...objs: KObject[]): void {
    for (const o of objs) {
      const obj = deepClone(o);
      obj.metadata ??= {};
      obj.metadata.uid ??= newUID();
      obj.metadata.resourceVersion = String(++this.rv);
      obj.metadata.creationTimestamp ??= formatRFC3339(this.clock.now());
      this.fillTypeMeta(gvr, obj);
      this.store(gvr).set(keyOf(obj), deepFreeze(obj));
    }
  }

  /** Every call made so far, in order. */
  actions(): FakeAction[] {
    return [...this.recorded];
  }

  clearActions(): void {
    this.recorded.length = 0;
  }

  /**
   * Runs fn before the fake handles verb on resource ("*" for any), newest first.
   * E.g. make every pod update conflict:
   * `prependReactor('update', 'pods', () => ({ error: newConflict(...) }))`.
   */
  prependReactor(verb: string, resource: string, fn: FakeReactor): void {
    this.reactors.unshift({ verb, resource, fn });
  }

  /** The current global resourceVersion. */
  resourceVersion(): string {
    return String(this.rv);
  }

  /** Drops the whole watch history: a watch from any older resourceVersion now gets 410 Expired. */
  compact(): void {
    this.compacted = this.rv;
    this.history = [];
  }

  /** Ends every open watch normally, as a server closing its streams (timeouts, restarts). */
  closeWatches(): void {
    for (const w of [...this.watchers]) w.channel.close();
  }

  /** Number of open watches (for tests that wait for an informer to start watching). */
  watchCount(): number {
    return this.watchers.size;
  }

  // ---------------------------------------------------------------------------------------
  // Internals used by FakeResourceClient.

  /** @internal */
  react(action: FakeAction): { result: unknown } | undefined {
    this.recorded.push(action);
    for (const r of this.reactors) {
      if ((r.verb !== '*' && r.verb !== action.verb) || (r.resource !== '*' && r.resource !== action.gvr.resource)) continue;
      const out = r.fn(action);
      if (out === undefined) continue;
      if ('error' in out) throw out.error;
      return out;
    }
    return undefined;
  }

  /** @internal */
  store(gvr: GroupVersionResource): Map<string, KObject> {
    const k = grKey(gvr);
    let m = this.objects.get(k);
    if (!m) {
      m = new Map();
      this.objects.set(k, m);
    }
    return m;
  }

  /** @internal */
  nextRV(): number {
    return ++this.rv;
  }

  /** @internal */
  now(): number {
    return this.clock.now();
  }

  /** @internal */
  generateName(base: string): string {
    return generateName(base, this.random);
  }

  /** @internal */
  fillTypeMeta(gvr: GroupVersionResource, obj: KObject): void {
    const kind = kinds[gvr.resource];
    if (kind !== undefined) {
      obj.apiVersion ??= apiVersionOf(gvr);
      obj.kind ??= kind;
    }
  }

  /** @internal Records a committed change and fans it out to matching watches. */
  emit(gvr: GroupVersionResource, type: HistoryEntry['type'], obj: KObject, prev?: KObject): void {
    const entry: HistoryEntry = { rv: Number(obj.metadata?.resourceVersion), gr: grKey(gvr), type, obj, prev };
    this.history.push(entry);
    // Trim in batches (the history may hold up to twice its limit) so a write does not
    // copy the whole window each time.
    if (this.history.length >= 2 * this.historyLimit) {
      const drop = this.history.length - this.historyLimit;
      this.compacted = this.history[drop - 1]!.rv;
      this.history = this.history.slice(drop);
    }
    for (const w of this.watchers) if (w.gr === entry.gr) deliver(w, entry);
  }

  /** @internal */
  openWatch<T>(gvr: GroupVersionResource, filter: Filter, opts: ListOptions, signal: AbortSignal): AsyncIterable<WatchEvent<T>> {
    const w: Watcher = { gr: grKey(gvr), filter, channel: undefined as never };
    const channel = new WatchChannel<unknown>(() => this.watchers.delete(w), signal);
    w.channel = channel;
    const rvText = opts.resourceVersion ?? '';
    if (rvText === '' || rvText === '0') {
      // Upstream: a watch without a resourceVersion starts with synthetic ADDED events for
      // everything that exists.
      for (const obj of this.store(gvr).values()) if (matches(filter, obj)) channel.push({ type: 'ADDED', object: obj });
    } else {
      const from = Number(rvText);
      if (!Number.isInteger(from) || from < 0) throw newBadRequest(`invalid resource version: ${rvText}`);
      if (from < this.compacted) {
        const oldest = this.history[0]?.rv ?? this.rv + 1;
        channel.push({ type: 'ERROR', object: newResourceExpired(`too old resource version: ${from} (${oldest - 1})`).status });
        channel.close();
        return channel as AsyncIterable<WatchEvent<T>>;
      }
      for (const e of this.history) if (e.rv > from && e.gr === w.gr) deliver(w, e);
    }
    if (!signal.aborted) this.watchers.add(w);
    return channel as AsyncIterable<WatchEvent<T>>;
  }
}

/** Sends e to w as the watch cache would: objects moving in or out of the selector become ADDED/DELETED. */
function deliver(w: Watcher, e: HistoryEntry): void {
  const now = matches(w.filter, e.obj);
  const before = e.prev !== undefined && matches(w.filter, e.prev);
  let type: WatchEventType;
  if (e.type === 'MODIFIED') {
    if (now && before) type = 'MODIFIED';
    else if (now) type = 'ADDED';
    else if (before) type = 'DELETED';
    else return;
  } else {
    if (!now) return;
    type = e.type;
  }
  w.channel.push({ type, object: e.obj });
}

const conflictMessage = 'the object has been modified; please apply your changes to the latest version and try again';

class FakeResourceClient<T extends object> implements ResourceClient<T> {
  private readonly gr: GroupResource;

  constructor(
    private readonly fake: FakeClient,
    readonly gvr: GroupVersionResource,
    readonly namespace: string | undefined,
  ) {
    this.gr = groupResource(gvr);
  }

  private action(verb: string, extra: Partial<FakeAction> = {}): { result: unknown } | undefined {
    return this.fake.react({ verb, gvr: this.gvr, namespace: this.namespace, ...extra });
  }

  /** The stored object; ns covers writes through an all-namespaces client naming the object's namespace. */
  private current(name: string, ns = this.namespace): KObject {
    const obj = this.fake.store(this.gvr).get(ns ? `${ns}/${name}` : name);
    if (!obj) throw newNotFound(this.gr, name);
    return obj;
  }

  async get(name: string): Promise<T> {
    const r = this.action('get', { name });
    if (r) return r.result as T;
    return deepClone(this.current(name)) as T;
  }

  async list(opts?: ListOptions): Promise<KList<T & KObject>> {
    const r = this.action('list', { listOptions: opts });
    if (r) return r.result as KList<T & KObject>;
    const filter = parseFilter(this.namespace, opts);
    // In key order, as etcd lists.
    const keyed: [string, KObject][] = [];
    for (const [key, obj] of this.fake.store(this.gvr)) if (matches(filter, obj)) keyed.push([key, obj]);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const items = keyed.map(([, obj]) => deepClone(obj));
    const kind = kinds[this.gvr.resource];
    return {
      apiVersion: apiVersionOf(this.gvr),
      kind: kind !== undefined ? `${kind}List` : 'List',
      metadata: { resourceVersion: this.fake.resourceVersion() },
      items: items as (T & KObject)[],
    };
  }

  watch(opts: ListOptions, signal: AbortSignal): AsyncIterable<WatchEvent<T>> {
    const r = this.action('watch', { listOptions: opts });
    if (r) return r.result as AsyncIterable<WatchEvent<T>>;
    return this.fake.openWatch<T>(this.gvr, parseFilter(this.namespace, opts), opts, signal);
  }

  async create(input: T, opts?: WriteOptions): Promise<T> {
    const obj = deepClone(input) as KObject;
    const r = this.action('create', { name: obj.metadata?.name ?? obj.metadata?.generateName, object: input });
    if (r) return r.result as T;
    return this.doCreate(obj, opts) as T;
  }

  private doCreate(obj: KObject, opts?: WriteOptions): KObject {
    const meta = (obj.metadata ??= {});
    if (this.namespace !== undefined) {
      if (meta.namespace && meta.namespace !== this.namespace) {
        throw newBadRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      meta.namespace = this.namespace;
    }
    const store = this.fake.store(this.gvr);
    if (!meta.name && meta.generateName) {
      // Upstream retries generated names a few times before giving up (AlreadyExists).
      for (let i = 0; i < 8 && !meta.name; i++) {
        const candidate = this.fake.generateName(meta.generateName);
        if (!store.has(keyOf({ metadata: { ...meta, name: candidate } }))) meta.name = candidate;
      }
    }
    if (!meta.name) {
      throw newInvalid({ group: this.gvr.group, kind: obj.kind ?? kinds[this.gvr.resource] ?? this.gvr.resource }, '', [
        fieldRequired(newPath('metadata', 'name'), 'name or generateName is required'),
      ]);
    }
    const key = keyOf(obj);
    if (store.has(key)) throw newAlreadyExists(this.gr, meta.name);
    meta.uid = newUID();
    meta.creationTimestamp = formatRFC3339(this.fake.now());
    meta.generation = 1;
    delete meta.deletionTimestamp;
    this.fake.fillTypeMeta(this.gvr, obj);
    if (opts?.dryRun) {
      meta.resourceVersion = '';
      return obj;
    }
    meta.resourceVersion = String(this.fake.nextRV());
    const stored = deepFreeze(deepClone(obj));
    store.set(key, stored);
    this.fake.emit(this.gvr, 'ADDED', stored);
    return obj;
  }

  async update(input: T, opts?: WriteOptions): Promise<T> {
    const obj = input as KObject;
    const name = obj.metadata?.name ?? '';
    const r = this.action('update', { name, object: input });
    if (r) return r.result as T;
    return this.commitUpdate(name, deepClone(obj), undefined, opts) as T;
  }

  async updateStatus(input: T, opts?: WriteOptions): Promise<T> {
    const obj = input as KObject;
    const name = obj.metadata?.name ?? '';
    const r = this.action('update', { name, subresource: 'status', object: input });
    if (r) return r.result as T;
    return this.commitUpdate(name, deepClone(obj), 'status', opts) as T;
  }

  /**
   * The update path every write shares: optimistic concurrency on resourceVersion,
   * identity fields from the stored object, status kept (main resource) or only status
   * taken (status subresource), generation bumped on spec changes, and removal once a
   * deleting object's last finalizer is gone.
   */
  private commitUpdate(name: string, obj: KObject, subresource: string | undefined, opts?: WriteOptions): KObject {
    const cur = this.current(name, this.namespace ?? obj.metadata?.namespace);
    const rv = obj.metadata?.resourceVersion;
    if (rv && rv !== cur.metadata?.resourceVersion) throw newConflict(this.gr, name, conflictMessage);
    let next: KObject;
    if (subresource === 'status') {
      next = deepClone(cur);
      if (obj.status === undefined) delete next.status;
      else next.status = obj.status;
    } else {
      next = obj;
      if (cur.status === undefined) delete next.status;
      else next.status = deepClone(cur.status);
      const meta = (next.metadata ??= {});
      const cm = cur.metadata ?? {};
      meta.name = cm.name;
      if (cm.namespace !== undefined) meta.namespace = cm.namespace;
      meta.uid = cm.uid;
      meta.resourceVersion = cm.resourceVersion;
      meta.creationTimestamp = cm.creationTimestamp;
      if (cm.deletionTimestamp) meta.deletionTimestamp = cm.deletionTimestamp;
      else delete meta.deletionTimestamp;
      if (cm.deletionGracePeriodSeconds != null) meta.deletionGracePeriodSeconds = cm.deletionGracePeriodSeconds;
      meta.generation = (cm.generation ?? 1) + (deepEqual(next.spec, cur.spec) ? 0 : 1);
      this.fake.fillTypeMeta(this.gvr, next);
    }
    if (deepEqual(next, cur)) return deepClone(cur); // a no-op write keeps its resourceVersion, as upstream
    if (opts?.dryRun) return next;
    const meta = next.metadata!;
    const store = this.fake.store(this.gvr);
    meta.resourceVersion = String(this.fake.nextRV());
    const stored = deepFreeze(deepClone(next));
    if (meta.deletionTimestamp && (meta.finalizers?.length ?? 0) === 0) {
      store.delete(keyOf(stored));
      this.fake.emit(this.gvr, 'DELETED', stored, cur);
      return next;
    }
    store.set(keyOf(stored), stored);
    this.fake.emit(this.gvr, 'MODIFIED', stored, cur);
    return next;
  }

  async patch(name: string, type: PatchType, patch: unknown, opts?: PatchOptions): Promise<T> {
    const r = this.action('patch', { name, subresource: opts?.subresource, object: patch });
    if (r) return r.result as T;
    const schema = type === 'application/strategic-merge-patch+json' ? await strategicSchema(this.gvr) : undefined;
    const cur = this.current(name);
    const body = typeof patch === 'string' ? parseJSONBody(patch) : patch;
    let patched: KObject;
    try {
      switch (type) {
        case 'application/json-patch+json':
          patched = applyJSONPatch(deepClone(cur), decodeJSONPatch(body)) as KObject;
          break;
        case 'application/merge-patch+json':
          patched = applyMergePatch(deepClone(cur), body) as KObject;
          break;
        case 'application/strategic-merge-patch+json':
          if (typeof body !== 'object' || body === null || Array.isArray(body)) throw newBadRequest('unable to unmarshal patch: expected an object');
          patched = strategicMergePatch(deepClone(cur) as never, body as never, schema) as KObject;
          break;
        default:
          throw newBadRequest(`patch type ${type} is not supported by the fake client`);
      }
    } catch (err) {
      if (isStatusError(err)) throw err;
      if (type === 'application/json-patch+json') throw new StatusError({ code: 422, reason: 'Invalid', message: (err as Error).message });
      throw newBadRequest((err as Error).message);
    }
    const sub = opts?.subresource;
    if (sub !== undefined && sub !== 'status') throw newMethodNotSupported(this.gr, `patch ${sub}`);
    return this.commitUpdate(name, patched, sub, opts) as T;
  }

  async delete(name: string, opts?: DeleteOptions): Promise<T | undefined> {
    const r = this.action('delete', { name, propagationPolicy: opts?.propagationPolicy });
    if (r) return r.result as T | undefined;
    return this.doDelete(name, opts) as T | undefined;
  }

  private doDelete(name: string, opts?: DeleteOptions): KObject | undefined {
    const cur = this.current(name);
    const cm = cur.metadata ?? {};
    const pre = opts?.preconditions;
    if (pre?.uid && pre.uid !== cm.uid) {
      throw newConflict(this.gr, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cm.uid ?? ''}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== cm.resourceVersion) {
      throw newConflict(this.gr, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cm.resourceVersion ?? ''}`);
    }
    const dryRun = (opts?.dryRun?.length ?? 0) > 0;
    if ((cm.finalizers?.length ?? 0) > 0) {
      if (cm.deletionTimestamp || dryRun) return deepClone(cur);
      const next = deepClone(cur);
      next.metadata!.deletionTimestamp = formatRFC3339(this.fake.now());
      next.metadata!.deletionGracePeriodSeconds = 0;
      next.metadata!.resourceVersion = String(this.fake.nextRV());
      const stored = deepFreeze(deepClone(next));
      this.fake.store(this.gvr).set(keyOf(stored), stored);
      this.fake.emit(this.gvr, 'MODIFIED', stored, cur);
      return next;
    }
    if (dryRun) return undefined;
    const gone = deepClone(cur);
    gone.metadata!.resourceVersion = String(this.fake.nextRV());
    const stored = deepFreeze(gone);
    this.fake.store(this.gvr).delete(keyOf(cur));
    this.fake.emit(this.gvr, 'DELETED', stored, cur);
    return undefined;
  }

  async deleteCollection(opts?: DeleteOptions & ListOptions): Promise<void> {
    const r = this.action('deletecollection', { propagationPolicy: opts?.propagationPolicy, listOptions: opts });
    if (r) return;
    const filter = parseFilter(this.namespace, opts);
    for (const obj of [...this.fake.store(this.gvr).values()]) {
      if (!matches(filter, obj)) continue;
      const m = obj.metadata ?? {};
      // Deleted through a client for the object's own namespace.
      new FakeResourceClient(this.fake, this.gvr, m.namespace).doDelete(m.name ?? '', { dryRun: opts?.dryRun, propagationPolicy: opts?.propagationPolicy });
    }
  }

  async createSubresource(name: string, subresource: string, body: unknown, opts?: WriteOptions): Promise<unknown> {
    const r = this.action('create', { name, subresource, object: body });
    if (r) return r.result;
    if (this.gvr.resource === 'pods' && subresource === 'binding') return this.bind(name, body, opts);
    if (this.gvr.resource === 'pods' && subresource === 'eviction') {
      const del = (body as { deleteOptions?: DeleteOptions } | undefined)?.deleteOptions;
      this.doDelete(name, { ...del, dryRun: opts?.dryRun ? ['All'] : del?.dryRun });
      return createdStatus();
    }
    throw newMethodNotSupported(this.gr, `create ${subresource}`);
  }

  /** BindingREST: sets spec.nodeName and PodScheduled=True; Conflict when bound or deleting. */
  private bind(name: string, body: unknown, opts?: WriteOptions): unknown {
    const binding = (body ?? {}) as { metadata?: { annotations?: Record<string, string> }; target?: { name?: string } };
    const node = binding.target?.name ?? '';
    if (node === '') {
      throw newInvalid({ group: '', kind: 'Binding' }, name, [fieldRequired(newPath('target', 'name'))]);
    }
    const cur = this.current(name);
    const br: GroupResource = { group: '', resource: 'pods/binding' };
    if (cur.metadata?.deletionTimestamp) throw newConflict(br, name, `pod ${name} is being deleted, cannot be assigned to a host`);
    const bound = (cur.spec as { nodeName?: string } | undefined)?.nodeName;
    if (bound) throw newConflict(br, name, `pod ${name} is already assigned to node ${JSON.stringify(bound)}`);
    const next = deepClone(cur);
    const spec = ((next.spec as Record<string, unknown> | undefined) ?? (next.spec = {})) as Record<string, unknown>;
    spec.nodeName = node;
    if (binding.metadata?.annotations) {
      next.metadata!.annotations = { ...next.metadata!.annotations, ...binding.metadata.annotations };
    }
    const status = ((next.status as Record<string, unknown> | undefined) ?? (next.status = {})) as { conditions?: Record<string, unknown>[] };
    const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: formatRFC3339(this.fake.now()) });
    status.conditions = conditions;
    if (!opts?.dryRun) {
      next.metadata!.resourceVersion = String(this.fake.nextRV());
      const stored = deepFreeze(next);
      this.fake.store(this.gvr).set(keyOf(stored), stored);
      this.fake.emit(this.gvr, 'MODIFIED', stored, cur);
    }
    return createdStatus();
  }
}

function createdStatus(): Status {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 };
}

function parseJSONBody(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw newBadRequest(`error decoding patch: ${(err as Error).message}`);
  }
}
