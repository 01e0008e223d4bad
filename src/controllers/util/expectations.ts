/**
 * Controller expectations, after upstream's ControllerExpectations and
 * UIDTrackingControllerExpectations (pkg/controller/controller_utils.go).
 *
 * A controller that has just asked for N creations (or deletions) must not act on its
 * cache again until the informer has shown it those N changes, or it would create the
 * same pods twice. It records what it expects per controller key; pod event handlers
 * lower the counts as the informer delivers the changes; sync acts only when the
 * expectations are satisfied — all observed, or older than {@link EXPECTATIONS_TIMEOUT_MS}
 * (a lost watch event must not wedge the controller for ever).
 */
import type { Clock } from '../../util/clock.js';

/** controller.ExpectationsTimeout: 5 minutes. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface Expectation {
  add: number;
  del: number;
  timestamp: number;
}

/** ControllerExpectations: add/del counts per controller key ("namespace/name"). */
export class ControllerExpectations {
  private readonly store = new Map<string, Expectation>();
  private readonly clock: Clock;

  constructor(opts: { clock: Clock }) {
    this.clock = opts.clock;
  }

  /** The raw counts, for tests and logs. */
  get(key: string): { add: number; del: number; timestamp: number } | undefined {
    const e = this.store.get(key);
    return e ? { ...e } : undefined;
  }

  /**
   * True when the controller may sync: no expectations recorded, all observed, or
   * recorded more than 5 minutes ago.
   */
  satisfiedExpectations(key: string): boolean {
    const e = this.store.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.clock.now() - e.timestamp > EXPECTATIONS_TIMEOUT_MS;
  }

  /** Replaces the key's expectations (and restarts its timeout). */
  setExpectations(key: string, add: number, del: number): void {
    this.store.set(key, { add, del, timestamp: this.clock.now() });
  }

  expectCreations(key: string, adds: number): void {
    this.setExpectations(key, adds, 0);
  }

  expectDeletions(key: string, dels: number): void {
    this.setExpectations(key, 0, dels);
  }

  /** Lowers the counts (a no-op for unknown keys). */
  lowerExpectations(key: string, add: number, del: number): void {
    const e = this.store.get(key);
    if (!e) return;
    e.add -= add;
    e.del -= del;
  }

  /** Raises the counts (a no-op for unknown keys). */
  raiseExpectations(key: string, add: number, del: number): void {
    const e = this.store.get(key);
    if (!e) return;
    e.add += add;
    e.del += del;
  }

  creationObserved(key: string): void {
    this.lowerExpectations(key, 1, 0);
  }

  deletionObserved(key: string): void {
    this.lowerExpectations(key, 0, 1);
  }

  /** Forgets the key (its controller was deleted). */
  deleteExpectations(key: string): void {
    this.store.delete(key);
  }
}

/**
 * UIDTrackingControllerExpectations: deletions are tracked by the deleted pods' keys, so
 * a pod deletion observed twice (an update with deletionTimestamp, then the delete) lowers
 * the count once.
 */
export class UIDTrackingControllerExpectations extends ControllerExpectations {
  private readonly uids = new Map<string, Set<string>>();

  /** Expects the deletion of exactly these pods (keys "namespace/name"). */
  expectDeletionsOf(key: string, deletedKeys: readonly string[]): void {
    this.uids.set(key, new Set(deletedKeys));
    this.expectDeletions(key, deletedKeys.length);
  }

  /** A pod deletion was seen (or failed); lowers the count once per pod key. */
  override deletionObserved(key: string, deleteKey?: string): void {
    if (deleteKey === undefined) {
      super.deletionObserved(key);
      return;
    }
    const set = this.uids.get(key);
    if (set?.delete(deleteKey)) super.deletionObserved(key);
  }

  /** The pod keys whose deletion is still expected. */
  getUIDs(key: string): ReadonlySet<string> | undefined {
    return this.uids.get(key);
  }

  override deleteExpectations(key: string): void {
    super.deleteExpectations(key);
    this.uids.delete(key);
  }
}
