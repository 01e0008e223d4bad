/**
 * The namespace controller (upstream pkg/controller/namespace, "namespace-controller"):
 * when a namespace is being deleted, deletes everything in it, waits for that to be gone,
 * and then removes the `kubernetes` finalizer so the API server removes the namespace.
 *
 * Events about a namespace are delayed by {@link NAMESPACE_DELETION_GRACE_PERIOD_MS} so
 * objects created at the last moment (or seen late by another API server) are still found.
 * While pods are terminating the namespace is looked at again after half the remaining
 * grace period estimate; other failures retry with the queue's backoff.
 */
import { keyOf, type Informer, type WorkQueue } from '../../client/interface.js';
import type { Namespace } from '../../client/objects.js';
import type { Logger } from '../../util/log.js';
import { runWorkers } from '../util/index.js';
import { ResourcesRemainingError, type NamespacedResourcesDeleter } from './deleter.js';

/** Delay before acting on a namespace event (namespaceDeletionGracePeriod). */
export const NAMESPACE_DELETION_GRACE_PERIOD_MS = 5_000;

export interface NamespaceControllerOptions {
  namespaceInformer: Informer<Namespace>;
  deleter: NamespacedResourcesDeleter;
  queue: WorkQueue<string>;
  logger: Logger;
  workers?: number;
  /** Delay before a namespace event is handled (default 5 s). */
  deletionGracePeriodMs?: number;
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

export class NamespaceController {
  readonly name = 'namespace';
  readonly queue: WorkQueue<string>;
  private readonly deleter: NamespacedResourcesDeleter;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly delay: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;

  constructor(opts: NamespaceControllerOptions) {
    this.queue = opts.queue;
    this.deleter = opts.deleter;
    this.logger = opts.logger;
    this.workers = opts.workers ?? 1;
    this.delay = opts.deletionGracePeriodMs ?? NAMESPACE_DELETION_GRACE_PERIOD_MS;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
    opts.namespaceInformer.addEventHandler({
      add: (ns) => this.enqueue(ns),
      update: (_old, ns) => this.enqueue(ns),
    });
  }

  private enqueue(ns: Namespace): void {
    if (!ns.metadata?.deletionTimestamp) return;
    this.queue.addAfter(keyOf(ns), this.delay);
  }

  async run(signal: AbortSignal): Promise<void> {
    this.logger.info('Starting namespace controller');
    try {
      await this.waitForCacheSync(signal);
    } catch {
      this.queue.shutDown();
      return;
    }
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (k) => this.syncNamespace(k), logger: this.logger, signal });
    this.logger.info('Shutting down namespace controller');
  }

  /** syncNamespaceFromKey: one deletion pass; content still going away is looked at again later. */
  async syncNamespace(name: string): Promise<void> {
    try {
      await this.deleter.delete(name);
    } catch (err) {
      if (err instanceof ResourcesRemainingError) {
        const t = Math.floor(err.estimateSeconds / 2) + 1;
        this.logger.info({ namespace: name, seconds: t }, 'Content remaining in namespace, waiting');
        this.queue.addAfter(name, t * 1000);
        return;
      }
      throw err;
    }
  }
}
