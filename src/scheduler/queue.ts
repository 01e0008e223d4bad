/**
 * The scheduling queue (upstream backend/queue PriorityQueue). Three places a pending pod
 * can be:
 *  - activeQ: a heap, highest spec.priority first, then earliest queued (PrioritySort);
 *  - backoffQ: pods that failed and wait out their backoff (1 s doubling per attempt, up
 *    to 10 s), ordered by expiry and flushed to activeQ every second;
 *  - unschedulablePods: pods no node fitted; a cluster event one of the rejecting
 *    plugins cares about (node added/updated, assigned pod deleted …) moves them back —
 *    to backoffQ while still backing off, else to activeQ — and pods left there for
 *    5 minutes are flushed anyway.
 * Pods with spec.schedulingGates wait in a gated set until the gates are removed.
 */
import { deepEqual } from '../apimachinery/meta.js';
import type { Pod } from '../client/objects.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { podPriority } from './framework/helpers.js';
import type { ClusterEvent } from './framework/types.js';

/** framework.QueuedPodInfo. */
export interface QueuedPodInfo {
  pod: Pod;
  uid: string;
  /** When the pod was last added to a queue (ms on the clock). */
  timestamp: number;
  /** When it was first added; for the attempt latency metric. */
  initialAttemptTimestamp: number;
  /** Scheduling attempts so far. */
  attempts: number;
  /** Plugins that rejected it in its last attempt. */
  unschedulablePlugins: Set<string>;
  /** The last attempt failed with an error rather than a rejection. */
  lastFailureWasError: boolean;
}

/** A binary heap over a less-than function, with removal by key. */
export class Heap<T> {
  private readonly items: T[] = [];
  private readonly index = new Map<string, number>();

  constructor(private readonly keyOf: (x: T) => string, private readonly less: (a: T, b: T) => boolean) {}

  get length(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.index.has(key);
  }

  get(key: string): T | undefined {
    const i = this.index.get(key);
    return i === undefined ? undefined : this.items[i];
  }

  peek(): T | undefined {
    return this.items[0];
  }

  /** Adds, or replaces the item with the same key and re-heapifies. */
  push(x: T): void {
    const k = this.keyOf(x);
    const i = this.index.get(k);
    if (i !== undefined) {
      this.items[i] = x;
      this.fix(i);
      return;
    }
    this.items.push(x);
    this.index.set(k, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    if (this.items.length === 0) return undefined;
    const top = this.items[0]!;
    this.removeAt(0);
    return top;
  }

  delete(key: string): T | undefined {
    const i = this.index.get(key);
    if (i === undefined) return undefined;
    const x = this.items[i]!;
    this.removeAt(i);
    return x;
  }

  values(): readonly T[] {
    return this.items;
  }

  private removeAt(i: number): void {
    const last = this.items.length - 1;
    this.index.delete(this.keyOf(this.items[i]!));
    if (i !== last) {
      this.items[i] = this.items[last]!;
      this.index.set(this.keyOf(this.items[i]!), i);
      this.items.pop();
      this.fix(i);
    } else {
      this.items.pop();
    }
  }

  private fix(i: number): void {
    if (!this.down(i)) this.up(i);
  }

  private swap(i: number, j: number): void {
    const a = this.items[i]!;
    const b = this.items[j]!;
    this.items[i] = b;
    this.items[j] = a;
    this.index.set(this.keyOf(b), i);
    this.index.set(this.keyOf(a), j);
  }

  private up(i: number): void {
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(this.items[i]!, this.items[p]!)) break;
      this.swap(i, p);
      i = p;
    }
  }

  private down(i0: number): boolean {
    let i = i0;
    const n = this.items.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      let m = l;
      const r = l + 1;
      if (r < n && this.less(this.items[r]!, this.items[l]!)) m = r;
      if (!this.less(this.items[m]!, this.items[i]!)) break;
      this.swap(i, m);
      i = m;
    }
    return i > i0;
  }
}

export interface SchedulingQueueOptions {
  clock: Clock;
  /** Initial backoff, ms (podInitialBackoffSeconds; default 1000). */
  initialBackoffMs?: number;
  /** Maximum backoff, ms (podMaxBackoffSeconds; default 10000). */
  maxBackoffMs?: number;
  /** Longest a pod stays in unschedulablePods before being retried anyway (default 5 min). */
  maxInUnschedulableMs?: number;
  /** Events each plugin wants (undefined: every event). From the frameworks. */
  pluginEvents?: Map<string, readonly ClusterEvent[] | undefined>;
  /** Whether gated pods (spec.schedulingGates) are held back (the SchedulingGates plugin). */
  schedulingGates?: boolean;
  /** Called whenever queue lengths change (metrics). */
  onChange?: (lengths: QueueLengths) => void;
}

export interface QueueLengths {
  active: number;
  backoff: number;
  unschedulable: number;
  gated: number;
}

function uidOf(pod: Pod): string {
  return pod.metadata?.uid ?? `${pod.metadata?.namespace ?? 'default'}/${pod.metadata?.name ?? ''}`;
}

function isGated(pod: Pod): boolean {
  return (pod.spec?.schedulingGates?.length ?? 0) > 0;
}

/** Whether an update to a pending pod may change where it fits (not only status/metadata bookkeeping). */
function podSpecChanged(a: Pod, b: Pod): boolean {
  return !deepEqual(a.spec, b.spec) || !deepEqual(a.metadata?.labels, b.metadata?.labels) || !deepEqual(a.metadata?.annotations, b.metadata?.annotations);
}

/** The scheduler's PriorityQueue (see the module comment). Single-threaded; not safe to share between schedulers. */
export class SchedulingQueue {
  private readonly clock: Clock;
  private readonly initialBackoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxInUnschedulableMs: number;
  private readonly pluginEvents: Map<string, readonly ClusterEvent[] | undefined>;
  private readonly gatesEnabled: boolean;
  private readonly onChange: ((l: QueueLengths) => void) | undefined;
  private readonly activeQ = new Heap<QueuedPodInfo>((q) => q.uid, (a, b) => {
    const pa = podPriority(a.pod);
    const pb = podPriority(b.pod);
    return pa > pb || (pa === pb && a.timestamp < b.timestamp);
  });
  private readonly backoffQ = new Heap<QueuedPodInfo>((q) => q.uid, (a, b) => this.backoffExpiry(a) < this.backoffExpiry(b));
  private readonly unschedulable = new Map<string, QueuedPodInfo>();
  private readonly gated = new Map<string, QueuedPodInfo>();
  /** Popped and being scheduled. */
  private readonly inFlight = new Map<string, QueuedPodInfo>();
  private schedulingCycle = 0;
  private moveRequestCycle = -1;
  private waiters: ((q: QueuedPodInfo | undefined) => void)[] = [];
  private closed = false;
  private timers: TimerHandle[] = [];

  constructor(opts: SchedulingQueueOptions) {
    this.clock = opts.clock;
    this.initialBackoffMs = opts.initialBackoffMs ?? 1_000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 10_000;
    this.maxInUnschedulableMs = opts.maxInUnschedulableMs ?? 5 * 60_000;
    this.pluginEvents = opts.pluginEvents ?? new Map();
    this.gatesEnabled = opts.schedulingGates ?? true;
    this.onChange = opts.onChange;
  }

  /** Starts the periodic flushes (backoffQ every 1 s, unschedulable leftovers every 30 s). */
  run(signal: AbortSignal): void {
    this.timers.push(this.clock.setInterval(() => this.flushBackoffQCompleted(), 1_000));
    this.timers.push(this.clock.setInterval(() => this.flushUnschedulableLeftover(), 30_000));
    signal.addEventListener('abort', () => this.close(), { once: true });
  }

  close(): void {
    this.closed = true;
    for (const t of this.timers) t.cancel();
    this.timers = [];
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w(undefined);
  }

  lengths(): QueueLengths {
    return { active: this.activeQ.length, backoff: this.backoffQ.length, unschedulable: this.unschedulable.size, gated: this.gated.size };
  }

  /** The current scheduling cycle (incremented by every pop). */
  cycle(): number {
    return this.schedulingCycle;
  }

  private changed(): void {
    this.onChange?.(this.lengths());
  }

  private newInfo(pod: Pod): QueuedPodInfo {
    const now = this.clock.now();
    return { pod, uid: uidOf(pod), timestamp: now, initialAttemptTimestamp: now, attempts: 0, unschedulablePlugins: new Set(), lastFailureWasError: false };
  }

  private has(uid: string): boolean {
    return this.activeQ.has(uid) || this.backoffQ.has(uid) || this.unschedulable.has(uid) || this.gated.has(uid);
  }

  private toActive(q: QueuedPodInfo): void {
    if (this.gatesEnabled && isGated(q.pod)) {
      this.gated.set(q.uid, q);
      return;
    }
    this.activeQ.push(q);
    const w = this.waiters.shift();
    if (w) w(this.activeQ.pop()!);
  }

  /** A new pending pod. */
  add(pod: Pod): void {
    const q = this.newInfo(pod);
    if (this.has(q.uid) || this.inFlight.has(q.uid)) return;
    this.toActive(q);
    this.changed();
  }

  /** A pending pod changed; a spec change puts it back in line. */
  update(oldPod: Pod, newPod: Pod): void {
    const uid = uidOf(newPod);
    const inFlight = this.inFlight.get(uid);
    if (inFlight) {
      inFlight.pod = newPod;
      return;
    }
    const gated = this.gated.get(uid);
    if (gated) {
      gated.pod = newPod;
      if (!(this.gatesEnabled && isGated(newPod))) {
        this.gated.delete(uid);
        this.toActive(gated);
      }
      this.changed();
      return;
    }
    const active = this.activeQ.get(uid);
    if (active) {
      active.pod = newPod;
      this.activeQ.push(active);
      return;
    }
    const backoff = this.backoffQ.get(uid);
    if (backoff) {
      backoff.pod = newPod;
      return;
    }
    const unsched = this.unschedulable.get(uid);
    if (unsched) {
      unsched.pod = newPod;
      if (podSpecChanged(oldPod, newPod)) {
        this.unschedulable.delete(uid);
        if (this.isBackingOff(unsched)) this.backoffQ.push(unsched);
        else this.toActive(unsched);
        this.changed();
      }
      return;
    }
    this.add(newPod);
  }

  delete(pod: Pod): void {
    const uid = uidOf(pod);
    this.activeQ.delete(uid);
    this.backoffQ.delete(uid);
    this.unschedulable.delete(uid);
    this.gated.delete(uid);
    this.inFlight.delete(uid);
    this.changed();
  }

  /** Whether the pod (by uid) is anywhere in the queue or being scheduled. */
  contains(uid: string): boolean {
    return this.has(uid) || this.inFlight.has(uid);
  }

  /** The next pod to schedule; waits for one. Undefined once closed. */
  pop(): Promise<QueuedPodInfo | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    const q = this.activeQ.pop();
    if (q) return Promise.resolve(this.popped(q));
    return new Promise((resolve) => this.waiters.push((x) => resolve(x && this.popped(x))));
  }

  /** Synchronous pop: the next active pod or undefined. */
  tryPop(): QueuedPodInfo | undefined {
    if (this.closed) return undefined;
    const q = this.activeQ.pop();
    return q && this.popped(q);
  }

  private popped(q: QueuedPodInfo): QueuedPodInfo {
    this.schedulingCycle++;
    q.attempts++;
    this.inFlight.set(q.uid, q);
    this.changed();
    return q;
  }

  /** The scheduling attempt of q is over (scheduled, or requeued by addUnschedulableIfNotPresent). */
  done(uid: string): void {
    this.inFlight.delete(uid);
  }

  private backoffDuration(q: QueuedPodInfo): number {
    let d = this.initialBackoffMs;
    for (let i = 1; i < q.attempts; i++) {
      d *= 2;
      if (d >= this.maxBackoffMs) return this.maxBackoffMs;
    }
    return Math.min(d, this.maxBackoffMs);
  }

  private backoffExpiry(q: QueuedPodInfo): number {
    return q.timestamp + this.backoffDuration(q);
  }

  private isBackingOff(q: QueuedPodInfo): boolean {
    return this.backoffExpiry(q) > this.clock.now();
  }

  /**
   * Puts a pod whose attempt failed back: to backoffQ after an error or when a move
   * request came in during its attempt (the cluster may have changed under it), else to
   * unschedulablePods until a relevant event.
   */
  addUnschedulableIfNotPresent(q: QueuedPodInfo, podSchedulingCycle: number): void {
    this.inFlight.delete(q.uid);
    if (this.closed || this.has(q.uid)) return;
    q.timestamp = this.clock.now();
    if (q.lastFailureWasError || this.moveRequestCycle >= podSchedulingCycle || q.unschedulablePlugins.size === 0) {
      this.backoffQ.push(q);
    } else {
      this.unschedulable.set(q.uid, q);
    }
    this.changed();
  }

  /** Moves backed-off pods whose backoff expired to activeQ. */
  flushBackoffQCompleted(): void {
    const now = this.clock.now();
    let moved = false;
    for (;;) {
      const q = this.backoffQ.peek();
      if (!q || this.backoffExpiry(q) > now) break;
      this.backoffQ.pop();
      this.toActive(q);
      moved = true;
    }
    if (moved) this.changed();
  }

  /** Retries pods that sat in unschedulablePods longer than the maximum. */
  flushUnschedulableLeftover(): void {
    const now = this.clock.now();
    const due: QueuedPodInfo[] = [];
    for (const q of this.unschedulable.values()) if (now - q.timestamp > this.maxInUnschedulableMs) due.push(q);
    if (due.length) this.movePods(due);
  }

  private interested(q: QueuedPodInfo, ev: ClusterEvent): boolean {
    if (q.unschedulablePlugins.size === 0) return true;
    for (const p of q.unschedulablePlugins) {
      const evs = this.pluginEvents.get(p);
      if (evs === undefined || evs.includes(ev)) return true;
    }
    return false;
  }

  /** A cluster event: unschedulable pods a rejecting plugin of which cares about ev go back in line. */
  moveAllToActiveOrBackoffQueue(ev: ClusterEvent): void {
    this.moveRequestCycle = this.schedulingCycle;
    if (this.unschedulable.size === 0) return;
    const due: QueuedPodInfo[] = [];
    for (const q of this.unschedulable.values()) if (this.interested(q, ev)) due.push(q);
    if (due.length) this.movePods(due);
  }

  private movePods(due: QueuedPodInfo[]): void {
    for (const q of due) {
      this.unschedulable.delete(q.uid);
      if (this.isBackingOff(q)) this.backoffQ.push(q);
      else this.toActive(q);
    }
    this.changed();
  }
}
