/**
 * client-go's util/workqueue: a de-duplicating FIFO with delayed adds and rate-limited
 * retries (the "typed rate limiting queue" every controller uses).
 *
 * Invariants (as upstream):
 *  - an item is in `dirty` from add() until a worker takes it with get();
 *  - an item is in `processing` from get() until done();
 *  - an item is in the FIFO only if it is dirty and not processing. An add() while the
 *    item is processing only marks it dirty; done() then puts it back in the FIFO, so one
 *    item is never handled by two workers at once and no add is lost.
 *
 * Example: add(a), add(a) → len 1; get() → a (processing); add(a) → len 0 (dirty only);
 * done(a) → len 1.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { WorkQueue } from './interface.js';

/** Options of {@link newWorkQueue}. */
export interface WorkQueueOptions {
  /** The queue's name, the `name` label of its metrics (e.g. "replicaset"). */
  name: string;
  clock: Clock;
  /** Where to register the workqueue_* metrics; none when unset. */
  registry?: Registry;
  /** Per-item backoff base (default 5 ms) and cap (default 1000 s). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Overall token bucket (default 10 qps, burst 100), as DefaultControllerRateLimiter. */
  qps?: number;
  burst?: number;
}

interface QueueMetrics {
  depth: Gauge<'name'>;
  adds: Counter<'name'>;
  retries: Counter<'name'>;
  queueDuration: Histogram<'name'>;
  workDuration: Histogram<'name'>;
}

// Metrics are created once per registry: two queues sharing one registry share the metric
// objects and differ only by their `name` label (prom-client throws on re-registration).
const metricsByRegistry = new WeakMap<Registry, QueueMetrics>();

// workqueue's buckets: 10ns … 10s in decades (ExponentialBuckets(10e-9, 10, 10)).
const durationBuckets = Array.from({ length: 10 }, (_, i) => 1e-8 * 10 ** i);

function metricsFor(registry: Registry): QueueMetrics {
  let m = metricsByRegistry.get(registry);
  if (m) return m;
  const registers = [registry];
  m = {
    depth: new Gauge({ name: 'workqueue_depth', help: 'Current depth of workqueue', labelNames: ['name'], registers }),
    adds: new Counter({ name: 'workqueue_adds_total', help: 'Total number of adds handled by workqueue', labelNames: ['name'], registers }),
    retries: new Counter({ name: 'workqueue_retries_total', help: 'Total number of retries handled by workqueue', labelNames: ['name'], registers }),
    queueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested.',
      labelNames: ['name'],
      buckets: durationBuckets,
      registers,
    }),
    workDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: ['name'],
      buckets: durationBuckets,
      registers,
    }),
  };
  metricsByRegistry.set(registry, m);
  return m;
}

/**
 * DefaultControllerRateLimiter: the larger of a per-item exponential backoff
 * (base·2^failures, capped) and an overall token bucket shared by every item.
 */
class ControllerRateLimiter<K> {
  private readonly failures = new Map<K, number>();
  private tokens: number;
  private last: number;

  constructor(
    private readonly clock: Clock,
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly qps: number,
    private readonly burst: number,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** The delay before item's next retry; counts one more failure. */
  when(item: K): number {
    const n = this.failures.get(item) ?? 0;
    this.failures.set(item, n + 1);
    const backoff = Math.min(this.maxMs, this.baseMs * 2 ** n);
    return Math.max(backoff, this.reserve());
  }

  numRequeues(item: K): number {
    return this.failures.get(item) ?? 0;
  }

  forget(item: K): void {
    this.failures.delete(item);
  }

  /** golang.org/x/time/rate Reserve(): take a token now, wait for it if the bucket is empty. */
  private reserve(): number {
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }
}

class RateLimitingQueue<K> implements WorkQueue<K> {
  // FIFO as an array with a moving head: O(1) push and shift without re-indexing.
  private queue: K[] = [];
  private head = 0;
  private readonly dirty = new Set<K>();
  private readonly processing = new Set<K>();
  private readonly waiters: ((item: K | undefined) => void)[] = [];
  /** Delayed adds; a second addAfter keeps the earlier deadline (as upstream's waitingForQueue). */
  private readonly waiting = new Map<K, { at: number; timer: TimerHandle }>();
  private shuttingDown = false;
  private readonly limiter: ControllerRateLimiter<K>;
  private readonly metrics?: QueueMetrics;
  private readonly addedAt = new Map<K, number>();
  private readonly startedAt = new Map<K, number>();

  constructor(private readonly opts: WorkQueueOptions) {
    this.limiter = new ControllerRateLimiter<K>(
      opts.clock,
      opts.baseDelayMs ?? 5,
      opts.maxDelayMs ?? 1_000_000,
      opts.qps ?? 10,
      opts.burst ?? 100,
    );
    if (opts.registry) this.metrics = metricsFor(opts.registry);
  }

  add(item: K): void {
    if (this.shuttingDown || this.dirty.has(item)) return;
    this.metrics?.adds.inc({ name: this.opts.name });
    this.dirty.add(item);
    if (this.processing.has(item)) return;
    this.enqueue(item);
  }

  addAfter(item: K, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(item);
      return;
    }
    const at = this.opts.clock.now() + delayMs;
    const prev = this.waiting.get(item);
    if (prev) {
      if (prev.at <= at) return;
      prev.timer.cancel();
    }
    const timer = this.opts.clock.setTimeout(() => {
      this.waiting.delete(item);
      this.add(item);
    }, delayMs);
    this.waiting.set(item, { at, timer });
  }

  addRateLimited(item: K): void {
    this.metrics?.retries.inc({ name: this.opts.name });
    this.addAfter(item, this.limiter.when(item));
  }

  forget(item: K): void {
    this.limiter.forget(item);
  }

  numRequeues(item: K): number {
    return this.limiter.numRequeues(item);
  }

  get(): Promise<K | undefined> {
    if (this.head < this.queue.length) return Promise.resolve(this.take());
    if (this.shuttingDown) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  done(item: K): void {
    if (!this.processing.delete(item)) return;
    if (this.metrics) {
      const started = this.startedAt.get(item);
      this.startedAt.delete(item);
      if (started !== undefined) this.metrics.workDuration.observe({ name: this.opts.name }, (this.opts.clock.now() - started) / 1000);
    }
    if (this.dirty.has(item)) this.enqueue(item);
  }

  len(): number {
    return this.queue.length - this.head;
  }

  /**
   * Stops accepting adds and cancels delayed ones; workers still drain what is queued,
   * then get() resolves undefined.
   */
  shutDown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    for (const w of this.waiting.values()) w.timer.cancel();
    this.waiting.clear();
    // Waiters only exist while the FIFO is empty.
    for (const w of this.waiters.splice(0)) w(undefined);
  }

  /** Puts a dirty, not-processing item in the FIFO, or hands it to a waiting worker. */
  private enqueue(item: K): void {
    if (this.metrics) this.addedAt.set(item, this.opts.clock.now());
    const waiter = this.waiters.shift();
    if (waiter) {
      this.queue.push(item);
      waiter(this.take());
      return;
    }
    this.queue.push(item);
    this.metrics?.depth.set({ name: this.opts.name }, this.len());
  }

  private take(): K {
    const item = this.queue[this.head]!;
    this.queue[this.head] = undefined as K;
    this.head++;
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    this.dirty.delete(item);
    this.processing.add(item);
    if (this.metrics) {
      const now = this.opts.clock.now();
      const added = this.addedAt.get(item);
      this.addedAt.delete(item);
      if (added !== undefined) this.metrics.queueDuration.observe({ name: this.opts.name }, (now - added) / 1000);
      this.startedAt.set(item, now);
      this.metrics.depth.set({ name: this.opts.name }, this.len());
    }
    return item;
  }
}

/**
 * A rate-limited, de-duplicating work queue with client-go semantics (see
 * {@link WorkQueue}). Items are compared with SameValueZero (Set semantics): use strings
 * or other primitives as keys.
 */
export function newWorkQueue<K = string>(opts: WorkQueueOptions): WorkQueue<K> {
  return new RateLimitingQueue<K>(opts);
}
