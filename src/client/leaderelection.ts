/**
 * client-go's tools/leaderelection over coordination.k8s.io/v1 Leases, so that of several
 * replicas of a component (scheduler, controller-manager) exactly one works at a time.
 *
 * As upstream:
 *  - a candidate retries every retryPeriod (jittered up to ×2.2) until it holds the Lease;
 *  - a Lease held by another identity is taken over only once it has not changed for
 *    leaseDuration as observed on this candidate's own clock (no trust in the other
 *    holder's clock); a takeover sets acquireTime and increments leaseTransitions;
 *  - the leader renews every retryPeriod; when a renewal has not succeeded within
 *    renewDeadline (renewDeadline < leaseDuration, so nobody else can have taken over
 *    yet), it stops leading: the signal given to onStartedLeading aborts and
 *    onStoppedLeading runs, and run() returns. Components exit then, as upstream's do;
 *  - every write is a get-then-update on the Lease's resourceVersion, so two candidates
 *    can never both succeed.
 */
import { isNotFound } from '../apimachinery/errors.js';
import { formatRFC3339Micro } from '../apimachinery/meta.js';
import type { Clock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/log.js';
import { Resources, type Client } from './interface.js';
import type { Lease } from './objects.js';

export interface LeaderElectorOptions {
  client: Client;
  /** Where the Lease lives (upstream's components use kube-system). */
  namespace: string;
  /** The Lease's name ("kube-scheduler", "kube-controller-manager"). */
  name: string;
  /** This candidate (upstream: hostname + "_" + a UUID). */
  identity: string;
  clock: Clock;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Runs once leadership is acquired; signal aborts when it is lost or run() is cancelled. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /** Runs when leadership ends (lost, or run() cancelled while leading). */
  onStoppedLeading(): void;
  /** Called whenever the observed holder changes (including to this identity). */
  onNewLeader?(identity: string): void;
  /** On cancel, give the Lease up at once (holder "", duration 1 s) so others need not wait it out. */
  releaseOnCancel?: boolean;
  logger?: Logger;
  /** [0, 1) source for the retry jitter (default Math.random). */
  random?: () => number;
}

/** A running election (see the module comment). */
export interface LeaderElector {
  /** Campaigns, leads and renews until signal aborts or leadership is lost. */
  run(signal: AbortSignal): Promise<void>;
  isLeader(): boolean;
  /** The identity last observed holding the Lease ("" when none). */
  getLeader(): string;
}

/** upstream's JitterFactor for the acquire loop. */
const jitterFactor = 1.2;

interface LeaderElectionRecord {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
}

function recordOf(lease: Lease): LeaderElectionRecord {
  const s = lease.spec ?? {};
  return {
    holderIdentity: s.holderIdentity ?? '',
    leaseDurationSeconds: s.leaseDurationSeconds ?? 0,
    acquireTime: (s.acquireTime as string | undefined) ?? '',
    renewTime: (s.renewTime as string | undefined) ?? '',
    leaseTransitions: s.leaseTransitions ?? 0,
  };
}

function sameRecord(a: LeaderElectionRecord, b: LeaderElectionRecord): boolean {
  return a.holderIdentity === b.holderIdentity && a.leaseDurationSeconds === b.leaseDurationSeconds
    && a.acquireTime === b.acquireTime && a.renewTime === b.renewTime && a.leaseTransitions === b.leaseTransitions;
}

class Elector implements LeaderElector {
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly logger: Logger;
  private readonly random: () => number;
  private observed: LeaderElectionRecord | undefined;
  /** Our clock's time when `observed` last changed. */
  private observedAt = 0;
  private reportedLeader = '';
  private leading = false;

  constructor(private readonly opts: LeaderElectorOptions) {
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('leaseDuration must be greater than renewDeadline');
    if (this.renewDeadlineMs <= jitterFactor * this.retryPeriodMs) throw new Error('renewDeadline must be greater than retryPeriod*JitterFactor');
    this.logger = opts.logger ?? silentLogger();
    this.random = opts.random ?? Math.random;
  }

  isLeader(): boolean {
    return this.leading;
  }

  getLeader(): string {
    return this.observed?.holderIdentity ?? '';
  }

  async run(signal: AbortSignal): Promise<void> {
    if (!(await this.acquire(signal))) return;
    this.leading = true;
    const leading = new AbortController();
    const onCancel = () => leading.abort(signal.reason);
    signal.addEventListener('abort', onCancel, { once: true });
    this.logger.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'successfully acquired lease');
    try {
      Promise.resolve()
        .then(() => this.opts.onStartedLeading(leading.signal))
        .catch((err: unknown) => this.logger.error({ err }, 'onStartedLeading failed'));
      await this.renew(leading.signal);
    } finally {
      signal.removeEventListener('abort', onCancel);
      this.leading = false;
      leading.abort(new Error('leadership lost'));
      if (signal.aborted && this.opts.releaseOnCancel) await this.release();
      try {
        this.opts.onStoppedLeading();
      } catch (err) {
        this.logger.error({ err }, 'onStoppedLeading failed');
      }
    }
  }

  /** Retries until this candidate holds the Lease; false when cancelled first. */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    const lease = `${this.opts.namespace}/${this.opts.name}`;
    this.logger.info({ lease, identity: this.opts.identity }, 'attempting to acquire leader lease');
    while (!signal.aborted) {
      if (await this.tryAcquireOrRenew()) return true;
      const wait = this.retryPeriodMs * (1 + this.random() * jitterFactor);
      try {
        await this.opts.clock.sleep(wait, signal);
      } catch {
        return false;
      }
    }
    return false;
  }

  /** Renews every retryPeriod until a renewal misses renewDeadline or signal aborts. */
  private async renew(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.opts.clock.sleep(this.retryPeriodMs, signal);
      } catch {
        return;
      }
      const start = this.opts.clock.now();
      let renewed = false;
      while (!signal.aborted && this.opts.clock.now() - start < this.renewDeadlineMs) {
        renewed = await this.withDeadline(this.tryAcquireOrRenew(), this.renewDeadlineMs - (this.opts.clock.now() - start));
        if (renewed) break;
        try {
          await this.opts.clock.sleep(this.retryPeriodMs, signal);
        } catch {
          return;
        }
      }
      if (signal.aborted) return;
      if (!renewed) {
        this.logger.error({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.opts.identity }, 'failed to renew lease: timed out waiting for the condition');
        return;
      }
    }
  }

  /** p's result, or false once ms pass on the clock first. */
  private withDeadline(p: Promise<boolean>, ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = this.opts.clock.setTimeout(() => resolve(false), ms);
      p.then((v) => { timer.cancel(); resolve(v); }, () => { timer.cancel(); resolve(false); });
    });
  }

  /**
   * One attempt: create the Lease if absent; otherwise take or renew it when this
   * candidate holds it or the other holder's record has been still for leaseDuration.
   */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name, identity, clock } = this.opts;
    const leases = client.resource<Lease>(Resources.leases, namespace);
    const now = clock.now();
    const nowMicro = formatRFC3339Micro(now);
    const desired: LeaderElectionRecord = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.round(this.leaseDurationMs / 1000),
      acquireTime: nowMicro,
      renewTime: nowMicro,
      leaseTransitions: 0,
    };
    let current: Lease;
    try {
      current = await leases.get(name);
    } catch (err) {
      if (!isNotFound(err)) {
        this.logger.warn({ err: (err as Error).message }, 'error retrieving resource lock');
        return false;
      }
      try {
        await leases.create({
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name, namespace },
          spec: desired,
        } as Lease);
      } catch (createErr) {
        this.logger.warn({ err: (createErr as Error).message }, 'error initially creating leader election record');
        return false;
      }
      this.observe(desired, clock.now());
      return true;
    }

    const existing = recordOf(current);
    if (!this.observed || !sameRecord(this.observed, existing)) this.observe(existing, clock.now());
    const heldByOther = existing.holderIdentity !== '' && existing.holderIdentity !== identity;
    if (heldByOther && this.observedAt + existing.leaseDurationSeconds * 1000 > now) return false;

    if (existing.holderIdentity === identity) {
      desired.acquireTime = existing.acquireTime || nowMicro;
      desired.leaseTransitions = existing.leaseTransitions;
    } else {
      desired.leaseTransitions = existing.leaseTransitions + 1;
    }
    try {
      await leases.update({ ...current, spec: { ...current.spec, ...desired } } as Lease);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'failed to update lock');
      return false;
    }
    this.observe(desired, clock.now());
    return true;
  }

  private observe(r: LeaderElectionRecord, at: number): void {
    this.observed = r;
    this.observedAt = at;
    if (r.holderIdentity !== this.reportedLeader) {
      this.reportedLeader = r.holderIdentity;
      if (r.holderIdentity !== '') {
        try {
          this.opts.onNewLeader?.(r.holderIdentity);
        } catch (err) {
          this.logger.error({ err }, 'onNewLeader failed');
        }
      }
    }
  }

  /** ReleaseOnCancel: hand the Lease back if still ours. */
  private async release(): Promise<void> {
    const { client, namespace, name, identity, clock } = this.opts;
    const leases = client.resource<Lease>(Resources.leases, namespace);
    try {
      const current = await leases.get(name);
      if (recordOf(current).holderIdentity !== identity) return;
      const now = formatRFC3339Micro(clock.now());
      await leases.update({
        ...current,
        spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now },
      } as Lease);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'failed to release lock');
    }
  }
}

/** A leader elector over a coordination.k8s.io/v1 Lease (see the module comment). */
export function newLeaderElector(opts: LeaderElectorOptions): LeaderElector {
  return new Elector(opts);
}
