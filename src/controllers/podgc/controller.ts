/**
 * The pod garbage collector (upstream pkg/controller/podgc, "pod-garbage-collector-controller").
 * Every 20 s it force-deletes (grace period 0), after marking them Failed:
 *  - terminated pods (Succeeded/Failed) beyond terminatedPodGCThreshold, evicted ones and
 *    then the oldest first;
 *  - terminating pods on a not-ready node tainted node.kubernetes.io/out-of-service;
 *  - orphaned pods bound to a node that does not exist — once the node has been missing
 *    for a quarantine of 40 s and a fresh GET confirms it is gone (they also get the
 *    DisruptionTarget condition, DeletionByPodGC);
 *  - terminating pods that were never scheduled.
 */
import { isNotFound } from '../../apimachinery/errors.js';
import { formatRFC3339, PatchType } from '../../apimachinery/meta.js';
import { Resources, type Client, type Informer, type Lister, type WorkQueue } from '../../client/interface.js';
import type { Node, Pod, PodCondition } from '../../client/objects.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { timeOf } from '../util/index.js';
import { until } from './periodic.js';

/** Period of the collection pass (gcCheckPeriod). */
export const GC_CHECK_PERIOD_MS = 20_000;
/** How long a missing node is waited for before its pods count as orphaned (quarantineTime). */
export const QUARANTINE_TIME_MS = 40_000;
/** The taint that lets terminating pods on a dead node go (TaintNodeOutOfService). */
export const OUT_OF_SERVICE_TAINT_KEY = 'node.kubernetes.io/out-of-service';
/** Field manager of the status writes. */
export const POD_GC_FIELD_MANAGER = 'PodGC';

export interface PodGCControllerOptions {
  client: Client;
  podInformer: Informer<Pod>;
  nodeInformer: Informer<Node>;
  clock: Clock;
  logger: Logger;
  /** --terminated-pod-gc-threshold; 0 or less disables collecting terminated pods. */
  terminatedPodThreshold: number;
  /** Queue of node names in quarantine (a delaying queue). */
  nodeQueue: WorkQueue<string>;
  gcCheckPeriodMs?: number;
  quarantineTimeMs?: number;
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

function isPodTerminated(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Pending' && phase !== 'Running' && phase !== 'Unknown';
}

function isPodEvicted(pod: Pod): boolean {
  return pod.status?.phase === 'Failed' && pod.status.reason === 'Evicted';
}

/** byEvictionAndCreationTimestamp: evicted first, then oldest, then by name. */
export function compareByEvictionAndCreation(a: Pod, b: Pod): number {
  const ae = isPodEvicted(a);
  const be = isPodEvicted(b);
  if (ae !== be) return ae ? -1 : 1;
  const at = timeOf(a.metadata?.creationTimestamp) ?? 0;
  const bt = timeOf(b.metadata?.creationTimestamp) ?? 0;
  if (at !== bt) return at - bt;
  const an = a.metadata?.name ?? '';
  const bn = b.metadata?.name ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

export class PodGCController {
  readonly name = 'podgc';
  private readonly client: Client;
  private readonly podLister: Lister<Pod>;
  private readonly nodeLister: Lister<Node>;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly threshold: number;
  readonly nodeQueue: WorkQueue<string>;
  private readonly period: number;
  private readonly quarantine: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;

  constructor(opts: PodGCControllerOptions) {
    this.client = opts.client;
    this.podLister = opts.podInformer.lister;
    this.nodeLister = opts.nodeInformer.lister;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.threshold = opts.terminatedPodThreshold;
    this.nodeQueue = opts.nodeQueue;
    this.period = opts.gcCheckPeriodMs ?? GC_CHECK_PERIOD_MS;
    this.quarantine = opts.quarantineTimeMs ?? QUARANTINE_TIME_MS;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
  }

  async run(signal: AbortSignal): Promise<void> {
    this.logger.info('Starting GC controller');
    try {
      await this.waitForCacheSync(signal);
    } catch {
      this.nodeQueue.shutDown();
      return;
    }
    signal.addEventListener('abort', () => this.nodeQueue.shutDown(), { once: true });
    await until(() => this.gc(), this.period, this.clock, signal, this.logger);
    this.logger.info('Shutting down GC controller');
  }

  /** One collection pass. */
  async gc(): Promise<void> {
    const pods = this.podLister.list();
    const nodes = this.nodeLister.list();
    if (this.threshold > 0) await this.gcTerminated(pods);
    await this.gcTerminating(pods);
    await this.gcOrphaned(pods, nodes);
    await this.gcUnscheduledTerminating(pods);
  }

  private async deleteAll(pods: readonly Pod[], condition?: PodCondition): Promise<void> {
    await Promise.all(
      pods.map((p) =>
        this.markFailedAndDeletePod(p, condition).catch((err: unknown) => {
          if (!isNotFound(err)) this.logger.error({ pod: `${p.metadata?.namespace}/${p.metadata?.name}`, err: String(err) }, 'Failed to delete pod');
        }),
      ),
    );
  }

  private async gcTerminated(pods: readonly Pod[]): Promise<void> {
    const terminated = pods.filter(isPodTerminated);
    const deleteCount = terminated.length - this.threshold;
    if (deleteCount <= 0) return;
    this.logger.info({ numPods: deleteCount }, 'Garbage collecting pods');
    await this.deleteAll([...terminated].sort(compareByEvictionAndCreation).slice(0, deleteCount));
  }

  private async gcTerminating(pods: readonly Pod[]): Promise<void> {
    const terminating = pods.filter((p) => {
      if (!p.metadata?.deletionTimestamp) return false;
      const node = this.nodeLister.get(p.spec?.nodeName ?? '');
      if (!node) return false;
      const ready = node.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      return !ready && (node.spec?.taints ?? []).some((t) => t.key === OUT_OF_SERVICE_TAINT_KEY);
    });
    if (terminating.length === 0) return;
    this.logger.info({ numPods: terminating.length }, 'Garbage collecting pods that are terminating on node tainted with node.kubernetes.io/out-of-service');
    await this.deleteAll([...terminating].sort(compareByEvictionAndCreation));
  }

  private async gcOrphaned(pods: readonly Pod[], nodes: readonly Node[]): Promise<void> {
    const existing = new Set(nodes.map((n) => n.metadata?.name ?? ''));
    for (const p of pods) {
      const n = p.spec?.nodeName;
      if (n && !existing.has(n)) this.nodeQueue.addAfter(n, this.quarantine);
    }
    const deleted = await this.discoverDeletedNodes(existing);
    const orphaned = pods.filter((p) => deleted.has(p.spec?.nodeName ?? ''));
    for (const p of orphaned) {
      this.logger.info({ pod: `${p.metadata?.namespace}/${p.metadata?.name}`, node: p.spec?.nodeName }, 'Found orphaned Pod assigned to the Node, deleting');
    }
    await this.deleteAll(orphaned, { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByPodGC', message: 'PodGC: node no longer exists' });
  }

  /** Nodes out of quarantine that a GET confirms are gone. */
  private async discoverDeletedNodes(existing: ReadonlySet<string>): Promise<Set<string>> {
    const deleted = new Set<string>();
    while (this.nodeQueue.len() > 0) {
      const name = await this.nodeQueue.get();
      if (name === undefined) break;
      try {
        if (!existing.has(name)) {
          await this.client.resource<Node>(Resources.nodes).get(name);
        }
      } catch (err) {
        if (isNotFound(err)) deleted.add(name);
        else this.logger.error({ node: name, err: String(err) }, 'Error while getting node');
      } finally {
        this.nodeQueue.done(name);
      }
    }
    return deleted;
  }

  private async gcUnscheduledTerminating(pods: readonly Pod[]): Promise<void> {
    const unscheduled = pods.filter((p) => p.metadata?.deletionTimestamp && !p.spec?.nodeName);
    for (const p of unscheduled) {
      this.logger.info({ pod: `${p.metadata?.namespace}/${p.metadata?.name}` }, 'Found unscheduled terminating Pod not assigned to any Node, deleting');
    }
    await this.deleteAll(unscheduled);
  }

  /**
   * markFailedAndDeletePod: a pod not yet terminal is first marked Failed (with `condition`,
   * if given) — an orphaned pod has no kubelet left to do it — then deleted with grace 0.
   */
  private async markFailedAndDeletePod(pod: Pod, condition?: PodCondition): Promise<void> {
    const name = pod.metadata?.name ?? '';
    const pods = this.client.resource<Pod>(Resources.pods, pod.metadata?.namespace);
    this.logger.info({ pod: `${pod.metadata?.namespace}/${name}` }, 'PodGC is force deleting Pod');
    const phase = pod.status?.phase;
    if (phase !== 'Succeeded' && phase !== 'Failed') {
      const status: Record<string, unknown> = { phase: 'Failed' };
      if (condition) {
        const now = formatRFC3339(this.clock.now());
        const others = (pod.status?.conditions ?? []).filter((c) => c.type !== condition.type);
        status.conditions = [...others, { ...condition, lastTransitionTime: now }];
      }
      await pods.patch(name, PatchType.MergePatch, { status }, { subresource: 'status', fieldManager: POD_GC_FIELD_MANAGER });
    }
    await pods.delete(name, { gracePeriodSeconds: 0 });
  }
}
