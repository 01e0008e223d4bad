/**
 * Watchers over the store, after etcd's watchableStore:
 *
 *  - synced:   the watcher has seen everything up to the durable revision; new durable
 *              revisions are matched against it directly (notify) — single-key watchers by
 *              a map lookup, range watchers by a scan of the (usually few) range watchers;
 *  - unsynced: the watcher starts in the past (or fell behind); a background loop catches
 *              it up from the revision log in bounded batches, then moves it to synced;
 *  - victim:   the watcher's delivery buffer is full (slow consumer); nothing more is queued
 *              for it until the buffer drains, then it goes to unsynced and catches up from
 *              history. Writers never wait on a watcher, and memory per watcher is bounded
 *              by `bufferEvents` (plus at most one revision's events).
 *
 * Deliveries are asynchronous (a setImmediate-driven dispatcher), in revision order, never
 * concurrent for one watcher, and one revision's events are never split across responses.
 * Delivered events are read-only: watchers of the same key may share the objects.
 * If `onResponse` returns a promise, the next delivery to that watcher waits for it: that is
 * how a transport (gRPC stream) applies back-pressure, turning the watcher into a victim
 * rather than buffering without bound.
 */
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { keyRange, inRange, toKeyValue, type KeyRange, type Rev } from './key_index.js';
import type { WatchEvent, WatchRequest, WatchResponse, Watcher } from './types.js';

/** What the watchable store needs from the store. */
export interface WatchSource {
  /** Last durable revision: everything up to it may be delivered. */
  durableRev(): number;
  /**
   * Last revision passed to notify(): synced watchers have been given (queued) every event
   * up to it, so it is what a progress notification may claim.
   */
  notifiedRev(): number;
  compactRev(): number;
  /**
   * Log entries with from <= mod <= to, in order, cut at a revision boundary once about
   * maxEntries were collected; `lastRev` is the last revision fully covered.
   */
  readLog(from: number, to: number, maxEntries: number): { revs: Rev[]; lastRev: number };
}

export interface WatchableOptions {
  clock: Clock;
  logger: Logger;
  /** Progress notification interval for watchers that asked for it (etcd: 10 minutes). */
  progressNotifyIntervalMs: number;
  /** Events buffered per watcher before it becomes a victim. */
  bufferEvents: number;
  /** Log entries scanned per unsynced watcher per catch-up round. */
  syncBatchEntries: number;
  /** Called whenever the number of watchers changes. */
  onCount?: (n: number) => void;
}

type Group = 'synced' | 'unsynced' | 'victim' | 'none';

type Callback = (resp: WatchResponse) => void | Promise<void>;

class WatcherImpl implements Watcher {
  group: Group = 'none';
  /** Next revision this watcher has not been given. */
  minRev: number;
  readonly range: KeyRange;
  queue: WatchResponse[] = [];
  queuedEvents = 0;
  /** A delivery's promise is pending. */
  busy = false;
  canceled = false;
  sentSinceTick = false;
  progressRequested = false;

  constructor(
    readonly id: number,
    readonly req: WatchRequest,
    readonly cb: Callback,
    private readonly owner: WatchableStore,
    minRev: number,
  ) {
    this.range = keyRange(req.key, req.rangeEnd);
    this.minRev = minRev;
  }

  cancel(): void {
    this.owner.cancel(this);
  }

  requestProgress(): void {
    this.owner.requestProgress(this);
  }
}

export class WatchableStore {
  private nextId = 1;
  private readonly all = new Set<WatcherImpl>();
  /** Synced single-key watchers by key. */
  private readonly keyWatchers = new Map<string, Set<WatcherImpl>>();
  /** Synced range watchers. */
  private readonly rangeWatchers = new Set<WatcherImpl>();
  private readonly unsynced = new Set<WatcherImpl>();
  private readonly victims = new Set<WatcherImpl>();
  /** Watchers with queued responses and no delivery in progress. */
  private readonly ready = new Set<WatcherImpl>();
  private dispatchScheduled = false;
  private syncScheduled = false;
  private readonly progressTimer: TimerHandle;
  private closed = false;

  constructor(
    private readonly source: WatchSource,
    private readonly opts: WatchableOptions,
  ) {
    this.progressTimer = opts.clock.setInterval(() => this.progressTick(), opts.progressNotifyIntervalMs);
  }

  get size(): number {
    return this.all.size;
  }

  watch(req: WatchRequest, cb: Callback): Watcher {
    const durable = this.source.durableRev();
    const start = req.startRevision ?? 0;
    const w = new WatcherImpl(this.nextId++, req, cb, this, start > 0 ? start : durable + 1);
    this.all.add(w);
    this.opts.onCount?.(this.all.size);
    if (this.closed) {
      w.canceled = true;
      return w;
    }
    // Like etcd: a watcher starting after the current revision is synced at once.
    if (w.minRev > durable) this.addSynced(w);
    else this.addUnsynced(w);
    return w;
  }

  cancel(w: WatcherImpl): void {
    if (w.canceled) return;
    w.canceled = true;
    this.removeFromGroup(w);
    w.queue = [];
    w.queuedEvents = 0;
    this.ready.delete(w);
    this.all.delete(w);
    this.opts.onCount?.(this.all.size);
  }

  requestProgress(w: WatcherImpl): void {
    if (w.canceled) return;
    if (w.group === 'synced' && w.queue.length === 0 && !w.busy) this.sendProgress(w);
    else w.progressRequested = true;
  }

  /** New durable revisions (from, to]: deliver them to synced watchers. */
  notify(from: number, to: number): void {
    if (this.closed || (this.keyWatchers.size === 0 && this.rangeWatchers.size === 0)) return;
    const { revs } = this.source.readLog(from + 1, to, Infinity);
    const matched = new Map<WatcherImpl, Rev[]>();
    const add = (w: WatcherImpl, r: Rev) => {
      if (r.mod < w.minRev) return;
      const list = matched.get(w);
      if (list) list.push(r);
      else matched.set(w, [r]);
    };
    for (const r of revs) {
      const ws = this.keyWatchers.get(r.key);
      if (ws) for (const w of ws) add(w, r);
      for (const w of this.rangeWatchers) if (inRange(w.range, r.key)) add(w, r);
    }
    // Watchers of one key usually want the same events: convert each revision once.
    const shared = new Map<Rev, WatchEvent>();
    const sharedPrev = new Map<Rev, WatchEvent>();
    for (const [w, list] of matched) {
      const events = this.toEvents(w, list, w.req.prevKv ? sharedPrev : shared);
      if (events.length > 0 && !this.enqueue(w, { header: { revision: to }, events })) {
        // Slow consumer: stop feeding it here; it resumes from history once drained.
        this.removeFromGroup(w);
        w.minRev = Math.max(w.minRev, list[0]!.mod);
        this.victims.add(w);
        w.group = 'victim';
        continue;
      }
      w.minRev = Math.max(w.minRev, to + 1);
    }
    // Watchers without events are in sync up to `to` as well (minRev only matters for
    // future-start watchers, which keep their later start).
  }

  close(): void {
    this.closed = true;
    this.progressTimer.cancel();
    for (const w of [...this.all]) this.cancel(w);
  }

  // ---- groups ---------------------------------------------------------------------------

  private addSynced(w: WatcherImpl): void {
    w.group = 'synced';
    if (w.range.end === undefined) {
      let s = this.keyWatchers.get(w.range.start);
      if (!s) this.keyWatchers.set(w.range.start, (s = new Set()));
      s.add(w);
    } else {
      this.rangeWatchers.add(w);
    }
    if (w.progressRequested && w.queue.length === 0 && !w.busy) {
      w.progressRequested = false;
      this.sendProgress(w);
    }
  }

  private addUnsynced(w: WatcherImpl): void {
    w.group = 'unsynced';
    this.unsynced.add(w);
    this.scheduleSync();
  }

  private removeFromGroup(w: WatcherImpl): void {
    switch (w.group) {
      case 'synced':
        if (w.range.end === undefined) {
          const s = this.keyWatchers.get(w.range.start);
          s?.delete(w);
          if (s && s.size === 0) this.keyWatchers.delete(w.range.start);
        } else {
          this.rangeWatchers.delete(w);
        }
        break;
      case 'unsynced':
        this.unsynced.delete(w);
        break;
      case 'victim':
        this.victims.delete(w);
        break;
      case 'none':
        break;
    }
    w.group = 'none';
  }

  // ---- catch-up from history (etcd's syncWatchers) --------------------------------------

  private scheduleSync(): void {
    if (this.syncScheduled || this.closed) return;
    this.syncScheduled = true;
    setImmediate(() => {
      this.syncScheduled = false;
      this.syncWatchers();
    });
  }

  private syncWatchers(): void {
    const durable = this.source.durableRev();
    const compacted = this.source.compactRev();
    let budget = 512; // watchers per round, like etcd's maxWatchersPerSync
    for (const w of [...this.unsynced]) {
      if (budget-- <= 0) break;
      if (w.minRev < compacted) {
        this.removeFromGroup(w);
        // The watcher's start (or its catch-up point) is gone: etcd's ErrCompacted on a watch.
        this.enqueue(w, { header: { revision: durable }, events: [], compactRevision: compacted, canceled: true }, true);
        w.canceled = true;
        this.all.delete(w);
        this.opts.onCount?.(this.all.size);
        continue;
      }
      if (w.minRev <= durable) {
        const { revs, lastRev } = this.source.readLog(w.minRev, durable, this.opts.syncBatchEntries);
        const mine = revs.filter((r) => inRange(w.range, r.key));
        const events = this.toEvents(w, mine);
        if (events.length > 0 && !this.enqueue(w, { header: { revision: lastRev }, events })) {
          this.removeFromGroup(w);
          this.victims.add(w);
          w.group = 'victim';
          continue;
        }
        w.minRev = lastRev + 1;
      }
      if (w.minRev > durable) {
        this.removeFromGroup(w);
        this.addSynced(w);
      }
    }
    if (this.unsynced.size > 0) this.scheduleSync();
  }

  // ---- delivery -------------------------------------------------------------------------

  /**
   * Events for `revs` as `w` asked for them. With `cache`, an event object (and its
   * buffers) may be shared by several watchers: deliveries are read-only.
   */
  private toEvents(w: WatcherImpl, revs: Rev[], cache?: Map<Rev, WatchEvent>): WatchEvent[] {
    const { noPut, noDelete, prevKv } = w.req;
    const out: WatchEvent[] = [];
    for (const r of revs) {
      const del = r.version === 0;
      if ((del && noDelete) || (!del && noPut)) continue;
      let ev = cache?.get(r);
      if (ev === undefined) {
        ev = { type: del ? 'DELETE' : 'PUT', kv: toKeyValue(r) };
        if (prevKv && r.prev !== undefined && r.prev.version !== 0) ev.prevKv = toKeyValue(r.prev);
        cache?.set(r, ev);
      }
      out.push(ev);
    }
    return out;
  }

  /** Queues a response; false (nothing queued) if the watcher's buffer is full. */
  private enqueue(w: WatcherImpl, resp: WatchResponse, force = false): boolean {
    if (!force && w.queue.length > 0 && w.queuedEvents + resp.events.length > this.opts.bufferEvents) return false;
    w.queue.push(resp);
    w.queuedEvents += resp.events.length;
    if (resp.events.length > 0) w.sentSinceTick = true;
    if (!w.busy) this.ready.add(w);
    this.scheduleDispatch();
    return true;
  }

  private sendProgress(w: WatcherImpl): void {
    this.enqueue(w, { header: { revision: this.source.notifiedRev() }, events: [] }, true);
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => {
      this.dispatchScheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    const batch = [...this.ready];
    this.ready.clear();
    for (const w of batch) this.drain(w);
  }

  private drain(w: WatcherImpl): void {
    while (w.queue.length > 0 && !w.busy) {
      const resp = w.queue.shift()!;
      w.queuedEvents -= resp.events.length;
      let ret: void | Promise<void> = undefined;
      try {
        ret = w.cb(resp);
      } catch (err) {
        this.opts.logger.warn({ err, watchId: w.id }, 'mvcc: watch callback threw');
      }
      if (ret !== undefined && typeof (ret as Promise<void>).then === 'function') {
        w.busy = true;
        (ret as Promise<void>).then(
          () => this.afterAsyncDelivery(w),
          (err: unknown) => {
            this.opts.logger.warn({ err, watchId: w.id }, 'mvcc: watch callback rejected');
            this.afterAsyncDelivery(w);
          },
        );
        return;
      }
    }
    this.drained(w);
  }

  private afterAsyncDelivery(w: WatcherImpl): void {
    w.busy = false;
    if (w.canceled) return;
    if (w.queue.length > 0) {
      this.ready.add(w);
      this.scheduleDispatch();
    } else {
      this.drained(w);
    }
  }

  private drained(w: WatcherImpl): void {
    if (w.queue.length > 0 || w.busy || w.canceled) return;
    if (w.group === 'victim') {
      this.removeFromGroup(w);
      this.addUnsynced(w);
    } else if (w.progressRequested && w.group === 'synced') {
      w.progressRequested = false;
      this.sendProgress(w);
    }
  }

  private progressTick(): void {
    for (const w of this.all) {
      if (w.req.progressNotify && w.group === 'synced' && !w.sentSinceTick && w.queue.length === 0 && !w.busy) {
        this.sendProgress(w);
      }
      w.sentSinceTick = false;
    }
  }
}
