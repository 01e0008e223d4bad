/**
 * client-go's tools/cache for Flotilla: a reflector (list, then watch from the list's
 * resourceVersion), an indexed store, and a shared informer that fans changes out to
 * handlers; plus the SharedInformerFactory that gives every component in a process one
 * informer per resource.
 *
 * Reflector behaviour, as upstream:
 *  - watches ask for bookmarks; a BOOKMARK only advances the resourceVersion;
 *  - a watch that ends normally (server timeout, restart) resumes from the last
 *    resourceVersion seen, without a relist;
 *  - a 410 (an ERROR event with reason Expired/Gone, or a rejection isGone/isResourceExpired)
 *    triggers a relist whose diff against the cache yields adds, updates, and deletions
 *    delivered as {@link DeletedFinalStateUnknown} tombstones;
 *  - other failures retry with backoff on the injected clock (1 s doubling to 30 s).
 *
 * Cached objects are deep-frozen and shared by the cache, every handler and every lister
 * caller (no per-event copies): clone before changing (STYLE.md 3). Objects from a list
 * get apiVersion/kind filled from the list, as watch events carry them.
 */
import { fromStatusObject, isGone, isResourceExpired } from '../apimachinery/errors.js';
import type { KObject, ListOptions } from '../apimachinery/meta.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/log.js';
import { deepFreeze } from './freeze.js';
import {
  keyOf,
  type Client,
  type DeletedFinalStateUnknown,
  type EventHandlers,
  type GroupVersionResource,
  type IndexFunc,
  type Informer,
  type InformerFactory,
  type Lister,
} from './interface.js';

/** The built-in index every informer has: objects by metadata.namespace (client-go NamespaceIndex). */
export const NamespaceIndex = 'namespace';

const initialBackoffMs = 1_000;
const maxBackoffMs = 30_000;

export interface InformerOptions {
  client: Client;
  gvr: GroupVersionResource;
  clock: Clock;
  logger?: Logger;
  /** Calls update(obj, obj) for every cached object this often; 0/unset: never. */
  resyncMs?: number;
  /** Only this namespace (default: all). */
  namespace?: string;
  /** Server-side filters for the list and watch (e.g. the kubelet's `spec.nodeName=<node>`). */
  labelSelector?: string;
  fieldSelector?: string;
}

/** A thread-safe-by-construction (single-threaded) indexed cache: client-go's Indexer. */
class Indexer<T extends object> implements Lister<T> {
  readonly items = new Map<string, T>();
  private readonly indexers = new Map<string, IndexFunc<T>>();
  /** index name → index value → keys. */
  private readonly indices = new Map<string, Map<string, Set<string>>>();

  constructor() {
    this.addIndexers({ [NamespaceIndex]: (o) => [(o as KObject).metadata?.namespace ?? ''] });
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    for (const [name, fn] of Object.entries(indexers)) {
      if (this.indexers.has(name)) throw new Error(`indexer conflict: ${name}`);
      this.indexers.set(name, fn);
      const index = new Map<string, Set<string>>();
      this.indices.set(name, index);
      for (const [key, obj] of this.items) for (const v of fn(obj)) addTo(index, v, key);
    }
  }

  get(key: string): T | undefined {
    return this.items.get(key);
  }

  list(namespace?: string): T[] {
    if (namespace === undefined) return [...this.items.values()];
    return this.byIndex(NamespaceIndex, namespace);
  }

  byIndex(indexName: string, value: string): T[] {
    const index = this.indices.get(indexName);
    if (!index) throw new Error(`Index with name ${indexName} does not exist`);
    const keys = index.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) out.push(this.items.get(k)!);
    return out;
  }

  /** Stores obj under key; returns the object it replaced. */
  put(key: string, obj: T): T | undefined {
    const old = this.items.get(key);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      const before = old ? fn(old) : [];
      const after = fn(obj);
      if (before.length === 1 && after.length === 1 && before[0] === after[0]) continue;
      for (const v of before) removeFrom(index, v, key);
      for (const v of after) addTo(index, v, key);
    }
    return old;
  }

  remove(key: string): T | undefined {
    const old = this.items.get(key);
    if (old === undefined) return undefined;
    this.items.delete(key);
    for (const [name, fn] of this.indexers) {
      const index = this.indices.get(name)!;
      for (const v of fn(old)) removeFrom(index, v, key);
    }
    return old;
  }
}

function addTo(index: Map<string, Set<string>>, value: string, key: string): void {
  let s = index.get(value);
  if (!s) {
    s = new Set();
    index.set(value, s);
  }
  s.add(key);
}

function removeFrom(index: Map<string, Set<string>>, value: string, key: string): void {
  const s = index.get(value);
  if (!s) return;
  s.delete(key);
  if (s.size === 0) index.delete(value);
}

function rvOf(obj: unknown): string | undefined {
  return (obj as KObject | undefined)?.metadata?.resourceVersion;
}

/**
 * p, or undefined as soon as signal aborts. A list takes no signal, and one sent to a server
 * that has gone quiet answers only at its request timeout, if ever: run() must not wait for
 * it, since stopping components (the kubelet's stop()) wait for run(). A late outcome of p
 * is dropped.
 */
function orAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.resolve(undefined);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (err: unknown) => { signal.removeEventListener('abort', onAbort); reject(err); },
    );
  });
}

/** Marks the reflector's "relist needed" path: a 410 from list or watch. */
function isExpired(err: unknown): boolean {
  return isGone(err) || isResourceExpired(err);
}

/** A shared informer over one resource (client-go sharedIndexInformer). */
export class SharedInformer<T extends object = KObject> implements Informer<T> {
  private readonly indexer = new Indexer<T>();
  private readonly handlers: EventHandlers<T>[] = [];
  private readonly logger: Logger;
  private synced = false;
  private running = false;
  private readonly syncWaiters: (() => void)[] = [];
  /** Where the next watch starts. */
  private resourceVersion = '';

  constructor(private readonly opts: InformerOptions) {
    this.logger = opts.logger ?? silentLogger();
  }

  get lister(): Lister<T> {
    return this.indexer;
  }

  addEventHandler(h: EventHandlers<T>): void {
    this.handlers.push(h);
    if (this.synced) for (const obj of this.indexer.items.values()) this.call(h, 'add', obj);
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    if (this.running) throw new Error('informer has already started');
    this.indexer.addIndexers(indexers);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves once the initial list has been delivered (never rejects; race it with a signal). */
  whenSynced(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncWaiters.push(resolve));
  }

  /**
   * Lists and watches until signal aborts, then returns at once: a watch is cancelled, and a
   * list still waiting for its answer is abandoned (its outcome dropped).
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.running) throw new Error('informer is already running');
    this.running = true;
    let resync: TimerHandle | undefined;
    if (this.opts.resyncMs && this.opts.resyncMs > 0) resync = this.opts.clock.setInterval(() => this.resync(), this.opts.resyncMs);
    const rc = this.opts.client.resource<T>(this.opts.gvr, this.opts.namespace);
    let needList = true;
    let backoff = initialBackoffMs;
    let emptyEnds = 0;
    try {
      while (!signal.aborted) {
        try {
          if (needList) {
            const list = await orAborted(rc.list(this.listOptions()), signal);
            if (list === undefined || signal.aborted) break;
            this.replace(list.items as T[], list.kind, list.apiVersion);
            this.resourceVersion = list.metadata.resourceVersion ?? '';
            needList = false;
          }
          const watch = rc.watch({ ...this.listOptions(), resourceVersion: this.resourceVersion, allowWatchBookmarks: true }, signal);
          const watchStart = this.opts.clock.now();
          let events = 0;
          for await (const ev of watch) {
            events++;
            if (ev.type === 'ERROR') {
              const err = fromStatusObject(ev.object) ?? new Error(`watch error: ${JSON.stringify(ev.object)}`);
              throw err;
            }
            this.handleEvent(ev.type, ev.object);
          }
          if (signal.aborted) break;
          // A watch the server ended: resume from where it stopped. Streams that keep ending
          // at once without delivering anything back off, so a misbehaving server is not
          // hammered; a quiet watch the server timed out after a while resumes at once.
          const rapidEmpty = events === 0 && this.opts.clock.now() - watchStart < initialBackoffMs;
          emptyEnds = rapidEmpty ? emptyEnds + 1 : 0;
          if (!rapidEmpty) backoff = initialBackoffMs;
          if (emptyEnds >= 2) {
            await this.opts.clock.sleep(backoff, signal);
            backoff = Math.min(backoff * 2, maxBackoffMs);
          }
        } catch (err) {
          if (signal.aborted) break;
          if (isExpired(err)) {
            this.logger.info({ resource: this.opts.gvr.resource, err: (err as Error).message }, 'watch expired, relisting');
            needList = true;
            continue;
          }
          this.logger.warn({ resource: this.opts.gvr.resource, err: (err as Error).message, backoffMs: backoff }, 'list/watch failed, retrying');
          await this.opts.clock.sleep(backoff, signal).catch(() => undefined);
          backoff = Math.min(backoff * 2, maxBackoffMs);
        }
      }
    } finally {
      resync?.cancel();
      this.running = false;
    }
  }

  private listOptions(): ListOptions {
    const o: ListOptions = {};
    if (this.opts.labelSelector) o.labelSelector = this.opts.labelSelector;
    if (this.opts.fieldSelector) o.fieldSelector = this.opts.fieldSelector;
    return o;
  }

  private handleEvent(type: string, raw: T): void {
    const rv = rvOf(raw);
    if (type === 'BOOKMARK') {
      if (rv) this.resourceVersion = rv;
      return;
    }
    const obj = deepFreeze(raw);
    const key = keyOf(obj as KObject);
    switch (type) {
      case 'ADDED':
      case 'MODIFIED': {
        const old = this.indexer.put(key, obj);
        if (old === undefined) this.dispatch('add', obj);
        else this.dispatch('update', obj, old);
        break;
      }
      case 'DELETED': {
        this.indexer.remove(key);
        this.dispatch('delete', obj);
        break;
      }
      default:
        this.logger.warn({ resource: this.opts.gvr.resource, type }, 'unknown watch event type');
    }
    if (rv) this.resourceVersion = rv;
  }

  /**
   * Reconciles the cache with a full list: adds for new keys, updates for changed
   * resourceVersions, tombstones for keys the list no longer has.
   */
  private replace(items: T[], listKind: string | undefined, listApiVersion: string | undefined): void {
    const kind = listKind?.endsWith('List') ? listKind.slice(0, -4) : undefined;
    const seen = new Set<string>();
    for (const item of items) {
      const o = item as KObject;
      if (kind && o.kind === undefined) o.kind = kind;
      if (listApiVersion && o.apiVersion === undefined) o.apiVersion = listApiVersion;
      const obj = deepFreeze(item);
      const key = keyOf(o);
      seen.add(key);
      const old = this.indexer.get(key);
      if (old !== undefined && rvOf(old) === rvOf(obj) && rvOf(obj) !== undefined) continue;
      this.indexer.put(key, obj);
      if (old === undefined) this.dispatch('add', obj);
      else this.dispatch('update', obj, old);
    }
    for (const [key, old] of [...this.indexer.items]) {
      if (seen.has(key)) continue;
      this.indexer.remove(key);
      const tombstone: DeletedFinalStateUnknown<T> = { key, obj: old, tombstone: true };
      this.dispatch('delete', tombstone);
    }
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w();
    }
  }

  private resync(): void {
    if (!this.synced) return;
    for (const obj of this.indexer.items.values()) this.dispatch('update', obj, obj);
  }

  private dispatch(kind: 'add', obj: T): void;
  private dispatch(kind: 'update', obj: T, old: T): void;
  private dispatch(kind: 'delete', obj: T | DeletedFinalStateUnknown<T>): void;
  private dispatch(kind: 'add' | 'update' | 'delete', obj: T | DeletedFinalStateUnknown<T>, old?: T): void {
    for (const h of this.handlers) this.call(h, kind, obj, old);
  }

  /** One handler call; a throwing handler is logged and does not stop the others. */
  private call(h: EventHandlers<T>, kind: 'add' | 'update' | 'delete', obj: T | DeletedFinalStateUnknown<T>, old?: T): void {
    try {
      if (kind === 'add') h.add?.(obj as T);
      else if (kind === 'update') h.update?.(old as T, obj as T);
      else h.delete?.(obj);
    } catch (err) {
      this.logger.error({ resource: this.opts.gvr.resource, event: kind, err }, 'event handler failed');
    }
  }
}

/** A shared informer over opts.gvr (see the module comment for its list/watch behaviour). */
export function newInformer<T extends object = KObject>(opts: InformerOptions): SharedInformer<T> {
  return new SharedInformer<T>(opts);
}

export interface InformerFactoryOptions {
  client: Client;
  clock: Clock;
  logger?: Logger;
  /** Resync period given to every informer (default none). */
  resyncMs?: number;
}

function gvrKey(gvr: GroupVersionResource): string {
  return `${gvr.group}/${gvr.version}/${gvr.resource}`;
}

class SharedInformerFactory implements InformerFactory {
  private readonly informers = new Map<string, SharedInformer<object>>();
  private readonly started = new Set<SharedInformer<object>>();
  private startSignal: AbortSignal | undefined;
  private readonly logger: Logger;

  constructor(private readonly opts: InformerFactoryOptions) {
    this.logger = opts.logger ?? silentLogger();
  }

  forResource<T extends object = KObject>(gvr: GroupVersionResource): Informer<T> {
    const k = gvrKey(gvr);
    let inf = this.informers.get(k);
    if (!inf) {
      inf = newInformer<object>({ client: this.opts.client, gvr, clock: this.opts.clock, logger: this.logger, resyncMs: this.opts.resyncMs });
      this.informers.set(k, inf);
      if (this.startSignal) this.startOne(inf, this.startSignal);
    }
    return inf as unknown as Informer<T>;
  }

  start(signal: AbortSignal): void {
    this.startSignal = signal;
    for (const inf of this.informers.values()) this.startOne(inf, signal);
  }

  async waitForCacheSync(signal: AbortSignal): Promise<void> {
    const all = Promise.all([...this.started].map((i) => i.whenSynced()));
    if (signal.aborted) throw signal.reason ?? new Error('aborted');
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason ?? new Error('aborted'));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([all, aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort!);
    }
  }

  private startOne(inf: SharedInformer<object>, signal: AbortSignal): void {
    if (this.started.has(inf) || signal.aborted) return;
    this.started.add(inf);
    inf.run(signal).catch((err: unknown) => this.logger.error({ err }, 'informer stopped'));
  }
}

/** One shared informer per resource for a process (client-go SharedInformerFactory). */
export function newInformerFactory(opts: InformerFactoryOptions): InformerFactory {
  return new SharedInformerFactory(opts);
}
