/**
 * client-go's flowcontrol.Backoff as the kubelet uses it for container restarts and image
 * pulls: 10 s doubling to 5 min (upstream backOffPeriod and MaxContainerBackOff), an entry
 * forgotten when its event comes more than twice the maximum after the last update. No
 * jitter: upstream's kubelet constructs both back-offs without it.
 */
export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;

interface Entry {
  backoffMs: number;
  lastUpdate: number;
}

export class Backoff {
  readonly #entries = new Map<string, Entry>();

  constructor(
    readonly initialMs = BACKOFF_INITIAL_MS,
    readonly maxMs = BACKOFF_MAX_MS,
  ) {}

  /** The current delay for id (0 when unknown). */
  get(id: string): number {
    return this.#entries.get(id)?.backoffMs ?? 0;
  }

  #expired(eventTime: number, e: Entry): boolean {
    return eventTime - e.lastUpdate > 2 * this.maxMs;
  }

  /** Records one more failure at now: the delay starts at initialMs or doubles up to maxMs. */
  next(id: string, eventTime: number, now: number): void {
    const e = this.#entries.get(id);
    if (!e || this.#expired(eventTime, e)) {
      this.#entries.set(id, { backoffMs: this.initialMs, lastUpdate: now });
      return;
    }
    e.backoffMs = Math.min(e.backoffMs * 2, this.maxMs);
    e.lastUpdate = now;
  }

  /** Whether now is still within the delay counted from eventTime (upstream IsInBackOffSince). */
  isInBackOffSince(id: string, eventTime: number, now: number): boolean {
    const e = this.#entries.get(id);
    if (!e || this.#expired(eventTime, e)) return false;
    return now - eventTime < e.backoffMs;
  }

  /** Whether now is within the delay counted from the last update (upstream IsInBackOffSinceUpdate). */
  isInBackOffSinceUpdate(id: string, now: number): boolean {
    const e = this.#entries.get(id);
    if (!e || this.#expired(now, e)) return false;
    return now - e.lastUpdate < e.backoffMs;
  }

  /** When the delay counted from the last update ends (undefined when unknown). */
  releaseAt(id: string): number | undefined {
    const e = this.#entries.get(id);
    return e && e.lastUpdate + e.backoffMs;
  }

  delete(id: string): void {
    this.#entries.delete(id);
  }

  /** Drops every entry whose key starts with prefix (a pod's entries when it goes). */
  deletePrefix(prefix: string): void {
    for (const k of this.#entries.keys()) if (k.startsWith(prefix)) this.#entries.delete(k);
  }
}

/** Go's time.Duration.String() for whole milliseconds: "0s", "250ms", "10s", "1m20s", "5m0s". */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  const sec = `${Number.isInteger(s) ? s : s.toFixed(3).replace(/0+$/, '')}s`;
  if (h > 0) return `${h}h${m}m${sec}`;
  if (m > 0) return `${m}m${sec}`;
  return sec;
}
