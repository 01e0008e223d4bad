/**
 * Injected time (STYLE.md, "Inject time"). Components never call Date.now() or the
 * global timer functions directly; they take a Clock, so tests can use FakeClock and
 * step time instead of sleeping.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch. */
  now(): number;
  /** Runs fn once after ms milliseconds unless cancelled. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
  /** Runs fn every ms milliseconds until cancelled. */
  setInterval(fn: () => void, ms: number): TimerHandle;
  /** Resolves after ms; rejects with the signal's reason if aborted first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/** The real clock. Timers are unref'd so a pending timer never keeps a process alive. */
export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
  setInterval(fn, ms) {
    const t = setInterval(fn, ms);
    t.unref();
    return { cancel: () => clearInterval(t) };
  },
  sleep(ms, signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(t);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
};

interface FakeTimer {
  at: number;
  seq: number;
  fn: () => void;
  every?: number;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. step(ms) fires, in time order, every timer due
 * within the step (a timer scheduled by a firing timer also fires if it falls inside).
 */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: FakeTimer[] = [];

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms);
  }

  setInterval(fn: () => void, ms: number): TimerHandle {
    return this.add(fn, ms, Math.max(1, ms));
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortReason(signal));
      const onAbort = () => {
        h.cancel();
        reject(abortReason(signal!));
      };
      // The listener goes when the timer fires, so loops that sleep on one signal do not pile them up.
      const h = this.add(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Number of timers still pending. */
  pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Advances time by ms, firing due timers in order. */
  step(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers[0];
      if (!next || next.at > end) break;
      this.current = Math.max(this.current, next.at);
      if (next.every) next.at += next.every;
      else next.cancelled = true;
      next.fn();
    }
    this.current = end;
  }

  private add(fn: () => void, ms: number, every?: number): TimerHandle {
    const t: FakeTimer = { at: this.current + Math.max(0, ms), seq: this.seq++, fn, every, cancelled: false };
    this.timers.push(t);
    return { cancel: () => { t.cancelled = true; } };
  }
}
