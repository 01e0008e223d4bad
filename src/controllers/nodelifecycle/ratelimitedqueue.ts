/**
 * The per-zone queue of nodes waiting to be tainted NoExecute (upstream's
 * nodelifecycle/scheduler RateLimitedTimedQueue over a UniqueQueue, with
 * flowcontrol's token bucket).
 *
 * A node name is in the queue's *set* from add() until remove(); it is in the *queue*
 * until an attempt succeeds. So after a node was tainted, add() refuses it (returns false)
 * until remove() — which is how "taint once per outage" is kept without rereading the node.
 */
import type { Clock } from '../../util/clock.js';

/** A token bucket (flowcontrol.NewTokenBucketRateLimiter): starts full; qps 0 never accepts. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    private readonly clock: Clock,
  ) {
    this.tokens = burst;
    this.last = clock.now();
  }

  /** Takes a token if one is available. */
  tryAccept(): boolean {
    if (this.qps <= 0) return false;
    const now = this.clock.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** One queued value: processAt is when it may next be tried (ms). */
export interface TimedValue {
  value: string;
  uid: string;
  addedAt: number;
  processAt: number;
}

/** Upstream's EvictionRateLimiterBurst. */
export const EVICTION_RATE_LIMITER_BURST = 1;

export class RateLimitedTimedQueue {
  private queue: TimedValue[] = [];
  private readonly set = new Set<string>();
  private limiter: TokenBucket;

  constructor(
    private readonly clock: Clock,
    qps: number,
  ) {
    this.limiter = new TokenBucket(qps, EVICTION_RATE_LIMITER_BURST, clock);
  }

  /** Adds value unless it is already in the set; true when added. */
  add(value: string, uid: string): boolean {
    if (this.set.has(value)) return false;
    const now = this.clock.now();
    this.set.add(value);
    this.queue.push({ value, uid, addedAt: now, processAt: now });
    this.sort();
    return true;
  }

  /** Forgets value entirely (queue and set); true when it was in the set. */
  remove(value: string): boolean {
    this.queue = this.queue.filter((v) => v.value !== value);
    return this.set.delete(value);
  }

  /** Replaces the limiter (SwapLimiter); qps 0 stops all attempts. */
  swapLimiter(qps: number): void {
    this.limiter = new TokenBucket(qps, EVICTION_RATE_LIMITER_BURST, this.clock);
  }

  /**
   * Tries due values in processAt order while the limiter allows: `fn` returns done, or
   * not done and a delay before the next attempt. A done value leaves the queue but stays
   * in the set.
   */
  async try(fn: (v: TimedValue) => Promise<{ done: boolean; retryAfterMs?: number }>): Promise<void> {
    for (let head = this.queue[0]; head; head = this.queue[0]) {
      if (!this.limiter.tryAccept()) return;
      const now = this.clock.now();
      if (now < head.processAt) return;
      const r = await fn(head);
      // fn may have raced with remove(): only act on the value if it is still queued.
      const i = this.queue.indexOf(head);
      if (i < 0) continue;
      if (r.done) {
        this.queue.splice(i, 1);
      } else {
        head.processAt = now + (r.retryAfterMs ?? 0) + 1;
        this.sort();
      }
    }
  }

  /** Values still waiting for an attempt (tests). */
  pending(): string[] {
    return this.queue.map((v) => v.value);
  }

  private sort(): void {
    this.queue.sort((a, b) => a.processAt - b.processAt);
  }
}
