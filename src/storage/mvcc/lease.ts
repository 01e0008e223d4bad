/**
 * Lease bookkeeping (etcd's lessor, minus the raft parts): granted TTL, expiry on the
 * injected clock, and the set of keys attached. Durability and revocation live in the store.
 */
import { randomBytes } from 'node:crypto';

/** etcd's MaxLeaseTTL: a larger TTL is refused with LeaseTTLTooLarge. */
export const MAX_LEASE_TTL = 9_000_000_000;

/**
 * etcd 3.4's minimum lease TTL with default flags: ceil((3 * electionTicks / 2) * heartbeat)
 * = ceil(15 * 100 ms) = 2 s. A grant below it is raised to it.
 */
export const DEFAULT_MIN_LEASE_TTL = 2;

/** How often expired leases are looked for (etcd's lessor checks every 500 ms). */
export const LEASE_CHECK_INTERVAL_MS = 500;

export class Lease {
  /** Keys (latin1) whose newest revision is live and attached to this lease. */
  readonly keys = new Set<string>();
  /** A revocation (explicit or by expiry) has been applied or is under way. */
  revoking = false;

  constructor(
    readonly id: bigint,
    /** Granted TTL in seconds. */
    readonly ttl: number,
    /** Clock milliseconds at which the lease expires. */
    public expiry: number,
  ) {}

  /** Whole seconds left, truncated like etcd's int64(Remaining().Seconds()); never negative. */
  remaining(now: number): number {
    return Math.max(0, Math.trunc((this.expiry - now) / 1000));
  }
}

const INT63_MASK = (1n << 63n) - 1n;

/** A random positive int64 (etcd draws lease IDs from its request-ID generator, > 0). */
export function randomLeaseId(): bigint {
  for (;;) {
    const id = randomBytes(8).readBigUInt64LE(0) & INT63_MASK;
    if (id !== 0n) return id;
  }
}
