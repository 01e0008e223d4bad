/**
 * Test helpers for the store (not a test file itself): builders, a watch recorder and an
 * in-memory WAL fake with failure injection.
 */
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { MvccStore, type MvccStoreOptions, type OpenWal, type WalLike } from './store.js';
import type { WalRecovery } from './wal.js';
import type { WatchRequest, WatchResponse, Watcher } from './types.js';

export const b = (s: string): Buffer => Buffer.from(s);
export const str = (x: Buffer | undefined): string | undefined => x?.toString();

export async function openMem(opts: Partial<MvccStoreOptions> = {}): Promise<{ store: MvccStore; clock: FakeClock }> {
  const clock = (opts.clock as FakeClock | undefined) ?? new FakeClock();
  const store = await MvccStore.open({ logger: silentLogger(), ...opts, clock });
  return { store, clock };
}

/** Yields to the event loop until pred() holds (setImmediate turns, no wall-clock waits). */
export async function until(pred: () => boolean, what = 'condition', maxTurns = 100_000): Promise<void> {
  for (let i = 0; i < maxTurns; i++) {
    if (pred()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Lets every pending delivery run. */
export async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise((r) => setImmediate(r));
}

/** Records every response of one watcher. */
export class WatchRecorder {
  readonly responses: WatchResponse[] = [];
  readonly watcher: Watcher;

  constructor(store: MvccStore, req: WatchRequest) {
    this.watcher = store.watch(req, (r) => {
      this.responses.push(r);
    });
  }

  /** Events as "TYPE key=value@mod" strings, in delivery order. */
  events(): string[] {
    return this.responses.flatMap((r) =>
      r.events.map((e) => `${e.type} ${e.kv.key.toString()}${e.type === 'PUT' ? '=' + e.kv.value.toString() : ''}@${e.kv.modRevision}`),
    );
  }

  async waitEvents(n: number): Promise<string[]> {
    await until(() => this.events().length >= n, `${n} watch events (have ${this.events().length})`);
    return this.events();
  }
}

/**
 * An in-memory WAL with the real Wal's API. `durableGate` (if set) holds every append's
 * durability until released; `failNext` makes the next append's durable reject.
 */
export class FakeWal implements WalLike {
  records: { index: number; data: Buffer }[] = [];
  snapshot?: { index: number; data: Buffer };
  private last = 0;
  failNext = false;
  gate?: { promise: Promise<void>; release: () => void };

  holdDurability(): void {
    let release!: () => void;
    const promise = new Promise<void>((r) => (release = r));
    this.gate = { promise, release };
  }

  releaseDurability(): void {
    const g = this.gate;
    this.gate = undefined;
    g?.release();
  }

  append(data: Buffer): { index: number; durable: Promise<void> } {
    const index = ++this.last;
    this.records.push({ index, data: Buffer.from(data) });
    if (this.failNext) {
      this.failNext = false;
      return { index, durable: Promise.reject(new Error('injected fsync failure')) };
    }
    return { index, durable: this.gate ? this.gate.promise : Promise.resolve() };
  }

  async saveSnapshot(index: number, chunks: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    const parts: Buffer[] = [];
    for await (const c of chunks) {
      parts.push(Buffer.from(c));
      // Let writes and compactions interleave with the streaming, as with a real disk.
      await new Promise((r) => setImmediate(r));
    }
    this.snapshot = { index, data: Buffer.concat(parts) };
    this.records = this.records.filter((r) => r.index > index);
  }

  sizeBytes(): number {
    return this.records.reduce((n, r) => n + r.data.length, this.snapshot?.data.length ?? 0);
  }

  async close(): Promise<void> {}

  /** What a reopen would recover. */
  recovery(): WalRecovery {
    const snap = this.snapshot;
    return {
      snapshot: snap && {
        index: snap.index,
        async *chunks() {
          // Odd chunk boundaries on purpose: the decoder must not depend on them.
          for (let i = 0; i < snap.data.length; i += 7777) yield snap.data.subarray(i, i + 7777);
        },
      },
      records: [...this.records],
      warnings: [],
    };
  }

  /** An OpenWal that hands out this fake (recovering its current content). */
  opener(): OpenWal {
    return async () => {
      const recovery = this.recovery();
      return { wal: this, recovery };
    };
  }
}
