/**
 * The proxy loop shared by both modes (upstream's proxier sync runner plus the
 * ServiceConfig/EndpointSliceConfig event handlers): Services and EndpointSlices come in
 * from informers and update the change trackers; a sync is queued, run no more often
 * than every minSyncPeriod, and the back-end brings the data path in line. Every
 * syncPeriod the back-end does a full resync, repairing anything changed behind its back;
 * a failed sync is retried in full.
 */
import { isTombstone, keyOf, Resources, type DeletedFinalStateUnknown, type InformerFactory } from '../client/interface.js';
import type { EndpointSlice, Service } from '../client/objects.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { ProxierHealth } from './healthz.js';
import type { ProxyMetrics } from './metrics.js';
import { EndpointsChangeTracker, ServiceChangeTracker } from './tracker.js';
import type { ProxyState } from './types.js';

/** One data-path implementation (iptables rules, userspace forwarders). */
export interface ProxyBackend {
  readonly mode: 'iptables' | 'userspace';
  /**
   * Brings the data path in line with state. `changed` names the Services changed since
   * the last successful sync; undefined asks for a full resync. Throws on failure (the
   * next sync is then a full one).
   */
  sync(state: ProxyState, changed: ReadonlySet<string> | undefined): Promise<void>;
  /** Stops serving (userspace closes its sockets; iptables leaves its rules, as upstream). */
  stop(): Promise<void>;
}

export interface ProxyLoopOptions {
  informers: InformerFactory;
  nodeName: string;
  backend: ProxyBackend;
  clock: Clock;
  logger: Logger;
  metrics?: ProxyMetrics;
  health?: ProxierHealth;
  /** Full resync period (--iptables-sync-period, default 30 s). */
  syncPeriodMs?: number;
  /** Minimum time between syncs (--iptables-min-sync-period, default 1 s). */
  minSyncPeriodMs?: number;
}

export class ProxyLoop {
  readonly services = new ServiceChangeTracker();
  readonly endpoints: EndpointsChangeTracker;
  private readonly o: ProxyLoopOptions;
  private readonly syncPeriodMs: number;
  private readonly minSyncPeriodMs: number;
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private needFull = true;
  private lastSyncStart = -Infinity;
  private started = false;
  private stopped = false;
  private syncedOnce!: () => void;
  /** Resolves after the first successful sync. */
  readonly synced: Promise<void>;
  /** Successful syncs so far (tests wait on it). */
  syncCount = 0;

  constructor(opts: ProxyLoopOptions) {
    this.o = opts;
    this.syncPeriodMs = opts.syncPeriodMs ?? 30_000;
    this.minSyncPeriodMs = opts.minSyncPeriodMs ?? 1_000;
    this.endpoints = new EndpointsChangeTracker(opts.nodeName);
    this.synced = new Promise((r) => (this.syncedOnce = r));
    const svcInf = opts.informers.forResource<Service>(Resources.services);
    const sliceInf = opts.informers.forResource<EndpointSlice>(Resources.endpointslices);
    const unwrap = <T>(o: T | DeletedFinalStateUnknown<T>): T => (isTombstone(o) ? o.obj : o);
    svcInf.addEventHandler({
      add: (s) => this.onService(keyOf(s), s),
      update: (old, s) => old !== s && this.onService(keyOf(s), s),
      delete: (s) => this.onService(keyOf(unwrap(s)), undefined),
    });
    sliceInf.addEventHandler({
      add: (s) => this.onSlice(keyOf(s), s),
      update: (old, s) => old !== s && this.onSlice(keyOf(s), s),
      delete: (s) => this.onSlice(keyOf(unwrap(s)), undefined),
    });
  }

  private onService(key: string, svc: Service | undefined): void {
    if (this.services.update(key, svc)) {
      this.o.metrics?.serviceChanges.inc();
      this.queue();
    }
  }

  private onSlice(key: string, slice: EndpointSlice | undefined): void {
    if (this.endpoints.update(key, slice) !== undefined) {
      this.o.metrics?.endpointChanges.inc();
      this.queue();
    }
  }

  private queue(): void {
    this.pending = true;
    this.o.health?.queued();
    this.o.metrics?.lastQueuedTimestamp.set(this.o.clock.now() / 1000);
    this.schedule();
  }

  private schedule(delayMs?: number): void {
    if (!this.started || this.stopped || this.timer || this.running) return;
    const wait = delayMs ?? Math.max(0, this.lastSyncStart + this.minSyncPeriodMs - this.o.clock.now());
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.running = this.syncOnce().finally(() => {
        this.running = undefined;
        if (this.pending || this.needFull) this.schedule();
      });
    }, wait);
  }

  /** The state the back-end syncs from. */
  state(): ProxyState {
    return { services: this.services.ports, endpoints: this.endpoints.endpoints };
  }

  private async syncOnce(): Promise<void> {
    this.lastSyncStart = this.o.clock.now();
    const full = this.needFull;
    const changed = new Set([...this.services.take(), ...this.endpoints.take()]);
    this.pending = false;
    this.needFull = false;
    if (!full && changed.size === 0) return;
    const t0 = performance.now();
    try {
      await this.o.backend.sync(this.state(), full ? undefined : changed);
    } catch (err) {
      this.o.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'Failed to sync proxy rules; retrying with a full sync');
      this.needFull = true;
      // Retry after the minimum period, but never spin.
      this.lastSyncStart = this.o.clock.now() + Math.max(0, 1000 - this.minSyncPeriodMs);
      return;
    }
    const secs = (performance.now() - t0) / 1000;
    this.o.metrics?.syncDuration.observe(secs);
    (full ? this.o.metrics?.fullSyncDuration : this.o.metrics?.partialSyncDuration)?.observe(secs);
    this.o.metrics?.lastSyncTimestamp.set(this.o.clock.now() / 1000);
    if (!this.pending) this.o.health?.updated();
    this.syncCount++;
    this.o.logger.debug({ full, changed: changed.size, ms: Math.round(secs * 1000) }, 'synced proxy rules');
    this.syncedOnce();
  }

  /**
   * Waits for the informers, syncs fully, then keeps syncing until signal aborts. The
   * informers must be started by the caller (or are started here when not yet).
   */
  async run(signal: AbortSignal): Promise<void> {
    this.o.informers.start(signal);
    try {
      await this.o.informers.waitForCacheSync(signal);
    } catch {
      return;
    }
    this.started = true;
    this.needFull = true;
    this.schedule(0);
    const resync = this.o.clock.setInterval(() => {
      this.needFull = true;
      this.schedule();
    }, this.syncPeriodMs);
    await new Promise<void>((resolve) => {
      if (signal.aborted) return resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    this.stopped = true;
    resync.cancel();
    this.timer?.cancel();
    this.timer = undefined;
    await this.running;
    await this.o.backend.stop();
  }
}
