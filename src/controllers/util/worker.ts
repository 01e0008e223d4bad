/**
 * The worker loop every queue-driven controller runs (upstream's processNextWorkItem):
 * take a key, call the level-triggered sync, forget the key on success and requeue it with
 * rate-limited backoff on failure (STYLE.md 2).
 */
import type { WorkQueue } from '../../client/interface.js';
import type { Logger } from '../../util/log.js';

export interface RunWorkersOptions {
  queue: WorkQueue<string>;
  /** Number of concurrent workers (a key is never processed by two at once). */
  workers: number;
  sync: (key: string) => Promise<void>;
  logger: Logger;
  /** Give up on a key after this many consecutive failures (default: never). */
  maxRetries?: number;
  signal: AbortSignal;
}

/** Processes one item; false once the queue is shut down and drained. */
export async function processNextWorkItem(opts: Omit<RunWorkersOptions, 'workers' | 'signal'>): Promise<boolean> {
  const key = await opts.queue.get();
  if (key === undefined) return false;
  try {
    await opts.sync(key);
    opts.queue.forget(key);
  } catch (err) {
    if (opts.maxRetries !== undefined && opts.queue.numRequeues(key) >= opts.maxRetries) {
      opts.logger.warn({ key, err }, 'dropping key out of the queue');
      opts.queue.forget(key);
    } else {
      opts.logger.info({ key, err: err instanceof Error ? err.message : String(err) }, 'error syncing; requeuing');
      opts.queue.addRateLimited(key);
    }
  } finally {
    opts.queue.done(key);
  }
  return true;
}

/** Runs workers until signal aborts; then shuts the queue down and waits for them. */
export async function runWorkers(opts: RunWorkersOptions): Promise<void> {
  if (opts.signal.aborted) {
    opts.queue.shutDown();
    return;
  }
  opts.signal.addEventListener('abort', () => opts.queue.shutDown(), { once: true });
  const worker = async () => {
    while (await processNextWorkItem(opts)) { /* next */ }
  };
  await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, worker));
}
