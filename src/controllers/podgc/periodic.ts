/** wait.Until on the injected clock, for the collection loop. */
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';

/** Runs fn, then waits periodMs after it finished, until signal aborts; leaves no abort listener behind. */
export async function until(fn: () => Promise<void>, periodMs: number, clock: Clock, signal: AbortSignal, logger: Logger): Promise<void> {
  while (!signal.aborted) {
    try {
      await fn();
    } catch (err) {
      logger.error({ err: String(err) }, 'periodic pass failed');
    }
    const waited = await new Promise<boolean>((resolve) => {
      if (signal.aborted) return resolve(false);
      const onAbort = () => {
        timer.cancel();
        resolve(false);
      };
      const timer = clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, periodMs);
      signal.addEventListener('abort', onAbort, { once: true });
    });
    if (!waited) return;
  }
}
