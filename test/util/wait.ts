/**
 * Waiting for a condition in tests that drive real servers: poll, bounded, and fail with
 * what was awaited (and the last error the condition threw). Never a speed check: the
 * bound only stops a test that would otherwise wait forever.
 */
import assert from 'node:assert/strict';

/** Polls cond every 50 ms until it returns true; fails after timeoutMs. */
export async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
