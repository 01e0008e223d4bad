/**
 * A hashed timer wheel (Varghese & Lauck): one clock interval drives every periodic task
 * of every node a process hosts, so thousands of simulated nodes cost one timer, not one
 * each. Deadlines are rounded up to the tick; a task never fires early.
 *
 * Worked example (tick 100 ms, 100 slots): at cursor 7, schedule(10_000) needs 100 ticks →
 * slot (7 + 100) % 100 = 7 with rounds = 0 after the first pass; each time the cursor
 * reaches slot 7 an entry with rounds > 0 is decremented instead of fired.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

export interface TimerWheelOptions {
  clock: Clock;
  /** Resolution (ms, default 100). */
  tickMs?: number;
  /** Slots (default 128). */
  slots?: number;
}

interface Entry {
  rounds: number;
  fn: () => void;
  slot: number;
}

export class TimerWheel {
  readonly #clock: Clock;
  readonly #tickMs: number;
  readonly #slots: Set<Entry>[];
  #cursor = 0;
  #count = 0;
  #timer: TimerHandle | undefined;
  #startAt = 0;
  #ticks = 0;

  constructor(opts: TimerWheelOptions) {
    this.#clock = opts.clock;
    this.#tickMs = opts.tickMs ?? 100;
    this.#slots = Array.from({ length: opts.slots ?? 128 }, () => new Set<Entry>());
  }

  get tickMs(): number {
    return this.#tickMs;
  }

  /** Tasks waiting. */
  get size(): number {
    return this.#count;
  }

  /** Runs fn once, delayMs from now (rounded up to whole ticks, at least one). */
  schedule(delayMs: number, fn: () => void): TimerHandle {
    const ticks = Math.max(1, Math.ceil(delayMs / this.#tickMs));
    const n = this.#slots.length;
    const slot = (this.#cursor + ticks) % n;
    const entry: Entry = { rounds: Math.floor((ticks - 1) / n), fn, slot };
    this.#slots[slot]!.add(entry);
    this.#count++;
    if (!this.#timer) {
      this.#startAt = this.#clock.now();
      this.#ticks = 0;
      this.#timer = this.#clock.setInterval(() => this.#catchUp(), this.#tickMs);
    }
    return {
      cancel: () => {
        if (this.#slots[entry.slot]!.delete(entry)) this.#count--;
      },
    };
  }

  /** Runs fn every periodMs until cancelled; the first run is after firstDelayMs (default periodMs). */
  every(periodMs: number, fn: () => void, firstDelayMs = periodMs): TimerHandle {
    let handle: TimerHandle;
    let cancelled = false;
    const run = () => {
      if (cancelled) return;
      handle = this.schedule(periodMs, run);
      fn();
    };
    handle = this.schedule(firstDelayMs, run);
    return {
      cancel: () => {
        cancelled = true;
        handle.cancel();
      },
    };
  }

  /** Cancels the driving interval; pending tasks never run. */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    for (const s of this.#slots) s.clear();
    this.#count = 0;
  }

  /**
   * Runs every tick due by the clock: a busy event loop fires intervals late and drops
   * some, and a wheel that counted callbacks would stretch every period (10 s renewals
   * becoming 11 s under load).
   */
  #catchUp(): void {
    const due = Math.floor((this.#clock.now() - this.#startAt) / this.#tickMs);
    while (this.#ticks < due) {
      this.#ticks++;
      this.#tick();
    }
  }

  #tick(): void {
    this.#cursor = (this.#cursor + 1) % this.#slots.length;
    const slot = this.#slots[this.#cursor]!;
    if (slot.size === 0) return;
    const due: Entry[] = [];
    for (const e of slot) {
      if (e.rounds > 0) e.rounds--;
      else due.push(e);
    }
    for (const e of due) {
      slot.delete(e);
      this.#count--;
    }
    for (const e of due) {
      try {
        e.fn();
      } catch {
        // Tasks handle their own errors; one throwing must not starve the rest.
      }
    }
  }
}
