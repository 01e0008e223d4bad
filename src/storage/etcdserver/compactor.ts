/**
 * Auto-compaction, etcd's --auto-compaction-mode / --auto-compaction-retention (etcd's
 * v3compactor): it lives with the server, not the store, because it is a policy over the
 * store's public Compact call.
 *
 *  - periodic, retention R (a duration: "1h", "30m", or a bare number of hours): samples the
 *    store revision every min(R, 1h)/10 and, once R has passed, compacts to the revision
 *    sampled R ago; afterwards it compacts every min(R, 1h).
 *    Example, R = 30m: samples every 3m; at t=30m compacts to the revision seen at t=0,
 *    at t=60m to the one seen at t=30m, and so on.
 *  - revision, retention R (a count): every 5 minutes compacts to current revision - R,
 *    keeping the last R revisions.
 * A retention of 0 disables auto-compaction, as in etcd.
 */
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { isMvccError } from '../mvcc/errors.js';
import type { KV } from '../mvcc/types.js';

export type AutoCompactionMode = 'periodic' | 'revision';

const HOUR = 3_600_000;
/** etcd's revision compactor checks every 5 minutes. */
export const REVISION_CHECK_INTERVAL_MS = 5 * 60_000;

/** Parses a periodic retention like etcd: a Go duration ("1h30m", "10m", "90s") or hours. */
export function parseRetention(mode: AutoCompactionMode, retention: string): number {
  const s = retention.trim();
  if (s === '' || s === '0') return 0;
  if (mode === 'revision') {
    if (!/^\d+$/.test(s)) throw new Error(`invalid auto-compaction-retention ${JSON.stringify(retention)} for mode revision (want a revision count)`);
    return Number(s);
  }
  if (/^\d+$/.test(s)) return Number(s) * HOUR;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: HOUR };
  let total = 0;
  let rest = s;
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`invalid auto-compaction-retention ${JSON.stringify(retention)} (want a duration like 1h or 30m, or hours)`);
    total += Number(m[1]) * units[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  return total;
}

export interface CompactorOptions {
  kv: KV;
  mode: AutoCompactionMode;
  /** Milliseconds for periodic, a revision count for revision. */
  retention: number;
  clock: Clock;
  logger: Logger;
}

export class Compactor {
  private readonly opts: CompactorOptions;
  private timer?: TimerHandle;
  private revs: number[] = [];
  private lastCompacted = 0;
  private startedAt = 0;
  private lastSuccess = 0;
  private baseInterval = 0;
  private running = false;

  constructor(opts: CompactorOptions) {
    if (opts.retention < 0) throw new Error('auto-compaction retention must not be negative');
    this.opts = opts;
  }

  start(): void {
    if (this.opts.retention === 0 || this.timer) return;
    const { clock, mode, retention } = this.opts;
    this.startedAt = clock.now();
    this.lastSuccess = this.startedAt;
    this.baseInterval = retention;
    if (mode === 'periodic') {
      this.revs = [this.opts.kv.status().revision];
      const every = Math.max(1, Math.min(retention, HOUR) / 10);
      this.timer = clock.setInterval(() => void this.tickPeriodic(), every);
    } else {
      this.timer = clock.setInterval(() => void this.tickRevision(), REVISION_CHECK_INTERVAL_MS);
    }
    this.opts.logger.info({ mode, retention }, 'auto compaction enabled');
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private async tickPeriodic(): Promise<void> {
    const { kv, clock, retention } = this.opts;
    const sampleEvery = Math.max(1, Math.min(retention, HOUR) / 10);
    const keep = Math.floor(retention / sampleEvery) + 1;
    this.revs.push(kv.status().revision);
    if (this.revs.length > keep) this.revs.shift(); // revs[0] is the revision `retention` ago
    if (clock.now() - this.lastSuccess < this.baseInterval) return;
    this.baseInterval = Math.min(retention, HOUR);
    if (await this.compact(this.revs[0]!)) this.lastSuccess = clock.now();
  }

  private async tickRevision(): Promise<void> {
    const rev = this.opts.kv.status().revision - this.opts.retention;
    if (rev <= 0 || rev === this.lastCompacted) return;
    await this.compact(rev);
  }

  /** Returns true on success or when the revision was already compacted. */
  private async compact(rev: number): Promise<boolean> {
    if (this.running || rev <= this.lastCompacted) return rev <= this.lastCompacted;
    this.running = true;
    try {
      await this.opts.kv.compact({ revision: rev });
      this.lastCompacted = rev;
      this.opts.logger.info({ revision: rev }, 'completed auto compaction');
      return true;
    } catch (err) {
      if (isMvccError(err, 'Compacted')) {
        this.lastCompacted = rev;
        return true;
      }
      this.opts.logger.warn({ revision: rev, err }, 'auto compaction failed');
      return false;
    } finally {
      this.running = false;
    }
  }
}
