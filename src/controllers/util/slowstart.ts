/**
 * Slow-start batching of API calls (upstream's slowStartBatch): a controller that must
 * create many pods first tries one, then 2, 4, 8 …, stopping at the first batch with a
 * failure, so a quota or admission error costs one failed call, not hundreds.
 */

/** controller.SlowStartInitialBatchSize. */
export const SLOW_START_INITIAL_BATCH_SIZE = 1;

/** The ReplicaSet controller's burstReplicas: most creations/deletions per sync. */
export const BURST_REPLICAS = 500;

/**
 * Calls fn `count` times in batches of initialBatchSize, doubling, each batch in
 * parallel. Resolves with the number of successful calls and the first error of the
 * first batch that had one (later batches are then skipped).
 */
export async function slowStartBatch(
  count: number,
  initialBatchSize: number,
  fn: () => Promise<void>,
): Promise<{ successes: number; error?: unknown }> {
  let remaining = count;
  let successes = 0;
  for (let batch = Math.min(remaining, initialBatchSize); batch > 0; batch = Math.min(2 * batch, remaining)) {
    const results = await Promise.allSettled(Array.from({ length: batch }, () => fn()));
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    successes += batch - failed.length;
    if (failed.length > 0) return { successes, error: failed[0]!.reason };
    remaining -= batch;
  }
  return { successes };
}
