/**
 * Waiting for a condition in tests that drive real servers: poll, bounded, and fail with
 * what was awaited (and the last error the condition threw). Never a speed check: the
 * bound only stops a test that would otherwise wait forever.
 */
import assert from 'node:assert/strict';

/** Polls cond every 50 ms until it returns true; fails after timeoutMs. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  await poll(what, async () => (await cond()) || undefined, timeoutMs, 50);
}

/**
 * Polls fn every 100 ms until it returns a value (not undefined, null or false) and
 * resolves with it; fails after timeoutMs.
 */
export function eventuallyValue<V>(what: string, fn: () => Promise<V | undefined | null | false>, timeoutMs = 30_000): Promise<V> {
  return poll(what, fn, timeoutMs, 100);
}

async function poll<V>(what: string, fn: () => Promise<V | undefined | null | false>, timeoutMs: number, intervalMs: number): Promise<V> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
