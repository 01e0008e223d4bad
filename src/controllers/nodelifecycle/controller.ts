/**
 * The node lifecycle controller (upstream pkg/controller/nodelifecycle, v1.32, with
 * SeparateTaintEvictionController on: pod deletion is the taint eviction controller's).
 *
 * Every nodeMonitorPeriod it checks each node's health signals — the Ready condition's
 * lastHeartbeatTime and the node's Lease in kube-node-lease — against the time it last
 * saw either change (its own clock, not the timestamps' values, so clock skew between
 * kubelet and controller does not matter). A node silent for longer than
 * nodeMonitorGracePeriod (nodeStartupGracePeriod if it never posted Ready) gets Ready,
 * MemoryPressure, DiskPressure and PIDPressure set to Unknown ("Kubelet stopped posting node
 * status."), a NodeNotReady event, and its pods marked Ready=False.
 *
 * Taint-based eviction: a node whose observed Ready is Unknown or False is queued, per zone
 * and rate limited (evictionLimiterQPS, 0.1/s), for the node.kubernetes.io/unreachable or
 * not-ready NoExecute taint; the taints go as soon as the node is Ready again. When every
 * node of every zone is not ready the controller assumes the problem is its own
 * connectivity ("master disruption mode"): it removes those taints and stops tainting.
 *
 * TaintNodesByCondition: a node work queue keeps the NoSchedule taints in step with the
 * node's conditions (not-ready, unreachable, memory/disk/pid pressure, network unavailable)
 * and spec.unschedulable.
 */
import { deepClone, deepEqual, formatRFC3339, PatchType } from '../../apimachinery/meta.js';
import { isTombstone, keyOf, Resources, type Client, type EventRecorder, type Informer, type Lister, type WorkQueue } from '../../client/interface.js';
import type { Lease, Node, NodeCondition, NodeStatus, Pod, Taint } from '../../client/objects.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { runWorkers, timeOf } from '../util/index.js';
import { markPodsNotReady, nodeRef, recordNodeStatusChange, removeTaintOffNode, swapNodeControllerTaint } from './nodeutil.js';
import { RateLimitedTimedQueue } from './ratelimitedqueue.js';
import {
  conditionTaintKeys,
  getNodeCondition,
  nodeConditionToTaintKey,
  NOT_READY_TAINT,
  taintExists,
  taintSetDiff,
  TaintKeys,
  UNREACHABLE_TAINT,
  zoneKeyOf,
} from './taints.js';

/** The pod informer index by spec.nodeName this folder's controllers share. */
export const NODE_NAME_INDEX = 'spec.nodeName';

/** Index function for {@link NODE_NAME_INDEX}: unbound pods are not indexed. */
export function podNodeNameIndex(pod: Pod): string[] {
  const n = pod.spec?.nodeName;
  return n ? [n] : [];
}

/** Adds the spec.nodeName index unless another controller of this folder already did. */
export function ensureNodeNameIndex(informer: Informer<Pod>): void {
  try {
    informer.addIndexers({ [NODE_NAME_INDEX]: podNodeNameIndex });
  } catch {
    // Already registered by a sibling controller with the same function.
  }
}

/** Label that keeps a node out of zone disruption accounting. */
export const LABEL_NODE_DISRUPTION_EXCLUSION = 'node.kubernetes.io/exclude-disruption';
/** Namespace of the node heartbeat Leases. */
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** How often queued nodes are tainted NoExecute (scheduler.NodeEvictionPeriod). */
export const NODE_EVICTION_PERIOD_MS = 100;
/** Attempts of a node health update before giving up for this pass (NodeHealthUpdateRetry). */
const NODE_HEALTH_UPDATE_RETRY = 5;
/** Nodes checked at once in a monitor pass (nodeUpdateWorkerSize). */
const NODE_UPDATE_WORKER_SIZE = 8;

/** Conditions set to Unknown when a node goes silent (NetworkUnavailable is the network's). */
const MONITORED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];

/** Beta labels kept equal to their GA counterparts (labelReconcileInfo). */
const LABEL_RECONCILE = [
  { primary: 'kubernetes.io/os', secondary: 'beta.kubernetes.io/os', ensureSecondary: true },
  { primary: 'kubernetes.io/arch', secondary: 'beta.kubernetes.io/arch', ensureSecondary: true },
];

export type ZoneState = 'Initial' | 'Normal' | 'FullDisruption' | 'PartialDisruption';

interface NodeHealth {
  /** When this controller last saw a health signal change (ms, its own clock). */
  probeTimestamp: number;
  readyTransitionTimestamp: number;
  status: NodeStatus;
  lease?: Lease;
}

export interface NodeLifecycleControllerOptions {
  client: Client;
  nodeInformer: Informer<Node>;
  podInformer: Informer<Pod>;
  leaseInformer: Informer<Lease>;
  /** Events with source "node-controller". */
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  /** Queue of node names for the NoSchedule taint pass and label reconciling. */
  nodeQueue: WorkQueue<string>;
  /** Queue of "namespace/name" pod keys newly bound to a node. */
  podQueue: WorkQueue<string>;
  nodeMonitorPeriodMs: number;
  nodeMonitorGracePeriodMs: number;
  nodeStartupGracePeriodMs: number;
  /** Nodes tainted per second per healthy zone (--node-eviction-rate, default 0.1). */
  evictionLimiterQPS?: number;
  /** The same in a partially disrupted large zone (--secondary-node-eviction-rate, default 0.01). */
  secondaryEvictionLimiterQPS?: number;
  /** Zone size above which partial disruption slows rather than stops tainting (default 50). */
  largeClusterThreshold?: number;
  /** Fraction of not-ready nodes (at least 3) that makes a zone partially disrupted (default 0.55). */
  unhealthyZoneThreshold?: number;
  workers?: number;
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

/**
 * Waits ms on clock; resolves early (false) when signal aborts. Unlike Clock.sleep it
 * leaves no abort listener behind, so a loop can call it forever.
 */
export function sleepUnlessAborted(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const onAbort = () => {
      timer.cancel();
      resolve(false);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs `fn`, then waits `periodMs` after it finished, until signal aborts (wait.Until). */
export async function until(fn: () => Promise<void>, periodMs: number, clock: Clock, signal: AbortSignal, logger: Logger): Promise<void> {
  while (!signal.aborted) {
    try {
      await fn();
    } catch (err) {
      logger.error({ err: String(err) }, 'periodic pass failed');
    }
    if (!(await sleepUnlessAborted(clock, periodMs, signal))) return;
  }
}

/** Runs fn over items with at most `workers` in flight (workqueue.ParallelizeUntil). */
export async function parallelize<T>(items: readonly T[], workers: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(workers, items.length) }, worker));
}

export class NodeLifecycleController {
  readonly name = 'nodelifecycle';
  private readonly client: Client;
  private readonly nodeLister: Lister<Node>;
  private readonly podLister: Lister<Pod>;
  private readonly leaseLister: Lister<Lease>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  readonly nodeQueue: WorkQueue<string>;
  readonly podQueue: WorkQueue<string>;
  private readonly monitorPeriod: number;
  private readonly gracePeriod: number;
  private readonly startupGracePeriod: number;
  private readonly evictionQPS: number;
  private readonly secondaryEvictionQPS: number;
  private readonly largeClusterThreshold: number;
  private readonly unhealthyZoneThreshold: number;
  private readonly workers: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;
  /** What the shared write helpers need. */
  private readonly deps: { client: Client; clock: Clock; logger: Logger; recorder: EventRecorder };

  private readonly knownNodes = new Map<string, Node>();
  private readonly nodeHealth = new Map<string, NodeHealth>();
  private readonly nodesToRetry = new Set<string>();
  /** Per zone: nodes waiting for their NoExecute taint. */
  readonly zoneTainter = new Map<string, RateLimitedTimedQueue>();
  readonly zoneStates = new Map<string, ZoneState>();

  constructor(opts: NodeLifecycleControllerOptions) {
    this.client = opts.client;
    this.nodeLister = opts.nodeInformer.lister;
    this.podLister = opts.podInformer.lister;
    this.leaseLister = opts.leaseInformer.lister;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.nodeQueue = opts.nodeQueue;
    this.podQueue = opts.podQueue;
    this.monitorPeriod = opts.nodeMonitorPeriodMs;
    this.gracePeriod = opts.nodeMonitorGracePeriodMs;
    this.startupGracePeriod = opts.nodeStartupGracePeriodMs;
    this.evictionQPS = opts.evictionLimiterQPS ?? 0.1;
    this.secondaryEvictionQPS = opts.secondaryEvictionLimiterQPS ?? 0.01;
    this.largeClusterThreshold = opts.largeClusterThreshold ?? 50;
    this.unhealthyZoneThreshold = opts.unhealthyZoneThreshold ?? 0.55;
    this.workers = opts.workers ?? 1;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
    this.deps = { client: opts.client, clock: opts.clock, logger: opts.logger, recorder: opts.recorder };

    ensureNodeNameIndex(opts.podInformer);
    opts.podInformer.addEventHandler({
      add: (pod) => this.podUpdated(undefined, pod),
      update: (oldPod, pod) => this.podUpdated(oldPod, pod),
    });
    opts.nodeInformer.addEventHandler({
      add: (node) => this.nodeQueue.add(keyOf(node)),
      update: (_old, node) => this.nodeQueue.add(keyOf(node)),
      delete: (obj) => this.nodesToRetry.delete(keyOf(isTombstone(obj) ? obj.obj : obj)),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.logger.info('Starting node lifecycle controller');
    try {
      await this.waitForCacheSync(signal);
    } catch {
      this.nodeQueue.shutDown();
      this.podQueue.shutDown();
      return;
    }
    await Promise.all([
      runWorkers({ queue: this.nodeQueue, workers: this.workers, sync: (k) => this.syncNode(k), logger: this.logger, signal }),
      runWorkers({ queue: this.podQueue, workers: this.workers, sync: (k) => this.processPod(k), logger: this.logger, signal }),
      until(() => this.doNoExecuteTaintingPass(), NODE_EVICTION_PERIOD_MS, this.clock, signal, this.logger),
      until(() => this.monitorNodeHealth(), this.monitorPeriod, this.clock, signal, this.logger),
    ]);
    this.logger.info('Shutting down node lifecycle controller');
  }

  private podUpdated(oldPod: Pod | undefined, pod: Pod): void {
    const nodeName = pod.spec?.nodeName;
    if (nodeName && (!oldPod || oldPod.spec?.nodeName !== nodeName)) this.podQueue.add(keyOf(pod));
  }

  private podsOnNode(nodeName: string): Pod[] {
    return this.podLister.byIndex(NODE_NAME_INDEX, nodeName);
  }

  // -------------------------------------------------------------------------------------
  // Node work queue: NoSchedule taints by condition, labels.

  /** doNodeProcessingPassWorker for one node: NoSchedule taints, then beta labels. */
  async syncNode(nodeName: string): Promise<void> {
    await this.doNoScheduleTaintingPass(nodeName);
    await this.reconcileNodeLabels(nodeName);
  }

  /** TaintNodesByCondition: NoSchedule taints follow conditions and spec.unschedulable. */
  async doNoScheduleTaintingPass(nodeName: string): Promise<void> {
    const node = this.nodeLister.get(nodeName);
    if (!node) return;
    const desired: Taint[] = [];
    for (const c of node.status?.conditions ?? []) {
      const key = nodeConditionToTaintKey[c.type]?.[c.status];
      if (key) desired.push({ key, effect: 'NoSchedule' });
    }
    if (node.spec?.unschedulable) desired.push({ key: TaintKeys.unschedulable, effect: 'NoSchedule' });
    const current = (node.spec?.taints ?? []).filter(
      (t) => t.effect === 'NoSchedule' && (t.key === TaintKeys.unschedulable || conditionTaintKeys.has(t.key)),
    );
    const { add, remove } = taintSetDiff(desired, current);
    if (add.length === 0 && remove.length === 0) return;
    if (!(await swapNodeControllerTaint(this.deps, add, remove, node))) {
      throw new Error(`failed to swap taints of node ${nodeName}`);
    }
  }

  private async reconcileNodeLabels(nodeName: string): Promise<void> {
    const node = this.nodeLister.get(nodeName);
    const labels = node?.metadata?.labels;
    if (!labels) return;
    const update: Record<string, string> = {};
    for (const r of LABEL_RECONCILE) {
      const primary = labels[r.primary];
      if (primary === undefined) continue;
      const secondary = labels[r.secondary];
      if ((secondary !== undefined && secondary !== primary) || (secondary === undefined && r.ensureSecondary)) update[r.secondary] = primary;
    }
    if (Object.keys(update).length === 0) return;
    await this.client.resource<Node>(Resources.nodes).patch(nodeName, PatchType.MergePatch, { metadata: { labels: update } });
  }

  // -------------------------------------------------------------------------------------
  // Pod work queue: pods bound to a node that is not ready.

  /** processPod: a pod newly bound to a not-ready node is marked Ready=False at once. */
  async processPod(key: string): Promise<void> {
    const pod = this.podLister.get(key);
    if (!pod) return;
    const nodeName = pod.spec?.nodeName ?? '';
    const health = this.nodeHealth.get(nodeName);
    if (!health) return;
    if (!this.nodeLister.get(nodeName)) throw new Error(`node ${nodeName} not found in cache`);
    const ready = health.status.conditions?.find((c) => c.type === 'Ready');
    if (!ready) return;
    if (ready.status !== 'True') await markPodsNotReady(this.deps, [pod], nodeName);
  }

  // -------------------------------------------------------------------------------------
  // Tainting pass.

  /** doNoExecuteTaintingPass: taints queued nodes, within each zone's rate limit. */
  async doNoExecuteTaintingPass(): Promise<void> {
    for (const queue of [...this.zoneTainter.values()]) {
      await queue.try(async (v) => {
        const node = this.nodeLister.get(v.value);
        if (!node) return { done: true };
        const ready = getNodeCondition(node, 'Ready');
        if (!ready) return { done: false, retryAfterMs: 50 };
        let add: Taint;
        let opposite: Taint;
        if (ready.status === 'False') {
          add = NOT_READY_TAINT;
          opposite = UNREACHABLE_TAINT;
        } else if (ready.status === 'Unknown') {
          add = UNREACHABLE_TAINT;
          opposite = NOT_READY_TAINT;
        } else {
          return { done: true };
        }
        return { done: await swapNodeControllerTaint(this.deps, [add], [opposite], node) };
      });
    }
  }

  // -------------------------------------------------------------------------------------
  // Health monitoring.

  /** monitorNodeHealth: one pass over every node (see the module comment). */
  async monitorNodeHealth(): Promise<void> {
    const nodes = this.nodeLister.list();
    const { added, deleted, newZoneRepresentatives } = this.classifyNodes(nodes);
    for (const n of newZoneRepresentatives) this.addPodEvictorForNewZone(n);
    for (const n of added) {
      const name = n.metadata?.name ?? '';
      this.logger.info({ node: name }, 'Controller observed a new Node');
      this.recorder.event(nodeRef(name, n.metadata?.uid), 'Normal', 'RegisteredNode', `Registered Node ${name} in Controller`);
      this.knownNodes.set(name, n);
      this.addPodEvictorForNewZone(n);
      await this.markNodeAsReachable(n).catch(() => false);
    }
    for (const n of deleted) {
      const name = n.metadata?.name ?? '';
      this.logger.info({ node: name }, 'Controller observed a Node deletion');
      this.recorder.event(nodeRef(name, n.metadata?.uid), 'Normal', 'RemovingNode', `Removing Node ${name} from Controller`);
      this.knownNodes.delete(name);
      this.nodeHealth.delete(name);
    }

    const zoneConditions = new Map<string, (NodeCondition | undefined)[]>();
    await parallelize(nodes, NODE_UPDATE_WORKER_SIZE, async (cached) => {
      let node: Node = deepClone(cached);
      const name = node.metadata?.name ?? '';
      let result: { observed: NodeCondition; current: NodeCondition | undefined } | undefined;
      for (let attempt = 1; attempt <= NODE_HEALTH_UPDATE_RETRY && !result; attempt++) {
        try {
          result = await this.tryUpdateNodeHealth(node);
        } catch (err) {
          this.logger.info({ node: name, err: String(err) }, 'Failed to update node health; retrying with a fresh copy');
          try {
            node = await this.client.resource<Node>(Resources.nodes).get(name);
          } catch {
            this.logger.error({ node: name }, 'Failed while getting a Node to retry updating node health. Probably Node was deleted');
            return;
          }
        }
      }
      if (!result) {
        this.logger.error({ node: name }, 'Update health of Node from Controller error, Skipping - no pods will be evicted');
        return;
      }
      const { observed, current } = result;
      if (!(LABEL_NODE_DISRUPTION_EXCLUSION in (node.metadata?.labels ?? {}))) {
        const zone = zoneKeyOf(node);
        zoneConditions.set(zone, [...(zoneConditions.get(zone) ?? []), current]);
      }
      if (current) {
        const pods = this.podsOnNode(name);
        await this.processTaintBaseEviction(node, observed);
        const needsRetry = this.nodesToRetry.has(name);
        const becameNotReady = current.status !== 'True' && observed.status === 'True';
        if (becameNotReady) recordNodeStatusChange(this.recorder, node, 'NodeNotReady');
        if (becameNotReady || (needsRetry && observed.status !== 'True')) {
          try {
            await markPodsNotReady(this.deps, pods, name);
          } catch (err) {
            this.logger.error({ node: name, err: String(err) }, 'unable to mark all pods NotReady on node; queuing for retry');
            this.nodesToRetry.add(name);
            return;
          }
        }
      }
      this.nodesToRetry.delete(name);
    });
    await this.handleDisruption(zoneConditions, nodes);
  }

  private async processTaintBaseEviction(node: Node, observed: NodeCondition): Promise<void> {
    const name = node.metadata?.name ?? '';
    switch (observed.status) {
      case 'False':
        // A node already tainted unreachable gets the not-ready taint at once (no rate limit).
        if (taintExists(node.spec?.taints, UNREACHABLE_TAINT)) {
          if (!(await swapNodeControllerTaint(this.deps, [NOT_READY_TAINT], [UNREACHABLE_TAINT], node))) {
            this.logger.error({ node: name }, 'Failed to instantly swap UnreachableTaint to NotReadyTaint. Will try again in the next cycle');
          }
        } else if (this.markNodeForTainting(node, 'False')) {
          this.logger.info({ node: name }, 'Node is NotReady. Adding it to the Taint queue');
        }
        break;
      case 'Unknown':
        if (taintExists(node.spec?.taints, NOT_READY_TAINT)) {
          if (!(await swapNodeControllerTaint(this.deps, [UNREACHABLE_TAINT], [NOT_READY_TAINT], node))) {
            this.logger.error({ node: name }, 'Failed to instantly swap NotReadyTaint to UnreachableTaint. Will try again in the next cycle');
          }
        } else if (this.markNodeForTainting(node, 'Unknown')) {
          this.logger.info({ node: name }, 'Node is unresponsive. Adding it to the Taint queue');
        }
        break;
      case 'True':
        try {
          if (await this.markNodeAsReachable(node)) this.logger.info({ node: name }, 'Node is healthy again, removed all taints');
        } catch {
          this.logger.error({ node: name }, 'Failed to remove taints from node. Will retry in next iteration');
        }
        break;
    }
  }

  /**
   * tryUpdateNodeHealth: refreshes what this controller knows of the node's health and,
   * past the grace period, writes the Unknown conditions. Returns the Ready condition as the
   * node posted it (observed) and as it is now (current). Throws when the status write fails.
   */
  async tryUpdateNodeHealth(node: Node): Promise<{ observed: NodeCondition; current: NodeCondition | undefined }> {
    const name = node.metadata?.name ?? '';
    const now = this.clock.now();
    const created = timeOf(node.metadata?.creationTimestamp) ?? now;
    let health = this.nodeHealth.get(name);
    const status = (node.status ??= {});
    let current = getNodeCondition(node, 'Ready');
    let observed: NodeCondition;
    let gracePeriod: number;
    if (!current) {
      // Never posted: a fake Unknown condition dated at creation, and the longer grace.
      observed = { type: 'Ready', status: 'Unknown', lastHeartbeatTime: node.metadata?.creationTimestamp ?? undefined, lastTransitionTime: node.metadata?.creationTimestamp ?? undefined };
      gracePeriod = this.startupGracePeriod;
      if (health) health = { ...health, status: deepClone(status) };
      else health = { status: deepClone(status), probeTimestamp: created, readyTransitionTimestamp: created };
    } else {
      observed = deepClone(current);
      gracePeriod = this.gracePeriod;
    }
    const saved = health?.status.conditions?.find((c) => c.type === 'Ready');
    const savedLease = health?.lease;
    if (!health) {
      this.logger.info({ node: name }, 'Missing timestamp for Node. Assuming now as a timestamp');
      health = { status: deepClone(status), probeTimestamp: now, readyTransitionTimestamp: now };
    } else if (!saved && current) {
      health = { status: deepClone(status), probeTimestamp: now, readyTransitionTimestamp: now };
    } else if (saved && !current) {
      this.logger.error({ node: name }, 'ReadyCondition was removed from Status of Node');
      health = { status: deepClone(status), probeTimestamp: now, readyTransitionTimestamp: now };
    } else if (saved && current && saved.lastHeartbeatTime !== current.lastHeartbeatTime) {
      const transition = saved.lastTransitionTime !== current.lastTransitionTime ? now : health.readyTransitionTimestamp;
      health = { status: deepClone(status), probeTimestamp: now, readyTransitionTimestamp: transition };
    }
    // A renewed Lease counts as a heartbeat too.
    const lease = this.leaseLister.get(`${NODE_LEASE_NAMESPACE}/${name}`);
    if (lease) {
      const savedRenew = timeOf(savedLease?.spec?.renewTime);
      const observedRenew = timeOf(lease.spec?.renewTime);
      if (!savedLease || (savedRenew !== undefined && observedRenew !== undefined && savedRenew < observedRenew)) {
        health = { ...health, lease, probeTimestamp: now };
      }
    }

    try {
      if (now > health.probeTimestamp + gracePeriod) {
        const nowText = formatRFC3339(now);
        const conditions = (status.conditions ??= []);
        for (const type of MONITORED_CONDITIONS) {
          const c = conditions.find((x) => x.type === type);
          if (!c) {
            conditions.push({
              type,
              status: 'Unknown',
              reason: 'NodeStatusNeverUpdated',
              message: 'Kubelet never posted node status.',
              lastHeartbeatTime: node.metadata?.creationTimestamp ?? undefined,
              lastTransitionTime: nowText,
            });
          } else if (c.status !== 'Unknown') {
            c.status = 'Unknown';
            c.reason = 'NodeStatusUnknown';
            c.message = 'Kubelet stopped posting node status.';
            c.lastTransitionTime = nowText;
          }
        }
        current = getNodeCondition(node, 'Ready');
        if (!deepEqual(current, observed)) {
          this.logger.info({ node: name }, 'Node has not posted its status within the grace period; marking it Unknown');
          await this.client.resource<Node>(Resources.nodes).updateStatus(node);
          health = { status: deepClone(status), probeTimestamp: health.probeTimestamp, readyTransitionTimestamp: now, lease };
        }
      }
    } finally {
      this.nodeHealth.set(name, health);
    }
    return { observed, current };
  }

  private classifyNodes(all: readonly Node[]): { added: Node[]; deleted: Node[]; newZoneRepresentatives: Node[] } {
    const added: Node[] = [];
    const newZoneRepresentatives: Node[] = [];
    for (const n of all) {
      const name = n.metadata?.name ?? '';
      if (!this.knownNodes.has(name)) added.push(n);
      else if (!this.zoneStates.has(zoneKeyOf(n))) newZoneRepresentatives.push(n);
    }
    const deleted: Node[] = [];
    if (this.knownNodes.size + added.length !== all.length) {
      const present = new Set(all.map((n) => n.metadata?.name ?? ''));
      for (const [name, n] of this.knownNodes) if (!present.has(name)) deleted.push(n);
    }
    return { added, deleted, newZoneRepresentatives };
  }

  private addPodEvictorForNewZone(node: Node): void {
    const zone = zoneKeyOf(node);
    if (this.zoneStates.has(zone)) return;
    this.zoneStates.set(zone, 'Initial');
    this.zoneTainter.set(zone, new RateLimitedTimedQueue(this.clock, this.evictionQPS));
    this.logger.info({ zone }, 'Initializing eviction metric for zone');
  }

  private markNodeForTainting(node: Node, status: 'False' | 'Unknown'): boolean {
    const queue = this.zoneTainter.get(zoneKeyOf(node));
    if (!queue) return false;
    const name = node.metadata?.name ?? '';
    // A node whose wanted taint is missing (e.g. removed by hand) must be queued afresh.
    const wanted = status === 'False' ? NOT_READY_TAINT : UNREACHABLE_TAINT;
    if (!taintExists(node.spec?.taints, wanted)) queue.remove(name);
    return queue.add(name, node.metadata?.uid ?? '');
  }

  /** Removes both NoExecute taints and forgets any queued tainting; true if the node was queued. */
  private async markNodeAsReachable(node: Node): Promise<boolean> {
    const name = node.metadata?.name ?? '';
    await removeTaintOffNode(this.client, name, node, [UNREACHABLE_TAINT]);
    await removeTaintOffNode(this.client, name, node, [NOT_READY_TAINT]);
    return this.zoneTainter.get(zoneKeyOf(node))?.remove(name) ?? false;
  }

  /** ComputeZoneState: fully disrupted when no node is ready; partially when ≥ 3 and ≥ threshold are not. */
  computeZoneState(conditions: readonly (NodeCondition | undefined)[]): { notReady: number; state: ZoneState } {
    let ready = 0;
    let notReady = 0;
    for (const c of conditions) {
      if (c?.status === 'True') ready++;
      else notReady++;
    }
    if (ready === 0 && notReady > 0) return { notReady, state: 'FullDisruption' };
    if (notReady > 2 && notReady / (notReady + ready) >= this.unhealthyZoneThreshold) return { notReady, state: 'PartialDisruption' };
    return { notReady, state: 'Normal' };
  }

  private setLimiterInZone(zone: string, zoneSize: number, state: ZoneState): void {
    const queue = this.zoneTainter.get(zone);
    if (!queue) return;
    switch (state) {
      case 'Normal':
      case 'FullDisruption':
        queue.swapLimiter(this.evictionQPS);
        break;
      case 'PartialDisruption':
        queue.swapLimiter(zoneSize > this.largeClusterThreshold ? this.secondaryEvictionQPS : 0);
        break;
      default:
        break;
    }
  }

  private async handleDisruption(zoneConditions: Map<string, (NodeCondition | undefined)[]>, nodes: readonly Node[]): Promise<void> {
    const newStates = new Map<string, ZoneState>();
    let allAreFullyDisrupted = true;
    for (const [zone, conds] of zoneConditions) {
      const { state } = this.computeZoneState(conds);
      if (state !== 'FullDisruption') allAreFullyDisrupted = false;
      newStates.set(zone, state);
      if (!this.zoneStates.has(zone)) this.zoneStates.set(zone, 'Initial');
    }
    let allWasFullyDisrupted = true;
    for (const [zone, state] of [...this.zoneStates]) {
      if (!zoneConditions.has(zone)) {
        this.zoneStates.delete(zone);
        continue;
      }
      if (state !== 'FullDisruption') {
        allWasFullyDisrupted = false;
        break;
      }
    }
    if (allAreFullyDisrupted && allWasFullyDisrupted) return;
    if (allAreFullyDisrupted) {
      this.logger.info('Controller detected that all Nodes are not-Ready. Entering master disruption mode');
      for (const n of nodes) {
        await this.markNodeAsReachable(n).catch(() => {
          this.logger.error({ node: n.metadata?.name }, 'Failed to remove taints from Node');
        });
      }
      for (const zone of this.zoneStates.keys()) {
        this.zoneTainter.get(zone)?.swapLimiter(0);
        this.zoneStates.set(zone, 'FullDisruption');
      }
      return;
    }
    if (allWasFullyDisrupted) {
      this.logger.info('Controller detected that some Nodes are Ready. Exiting master disruption mode');
      const now = this.clock.now();
      for (const n of nodes) {
        const h = this.nodeHealth.get(n.metadata?.name ?? '');
        if (h) this.nodeHealth.set(n.metadata?.name ?? '', { ...h, probeTimestamp: now, readyTransitionTimestamp: now });
      }
      for (const zone of this.zoneStates.keys()) {
        const state = newStates.get(zone) ?? 'Normal';
        this.setLimiterInZone(zone, zoneConditions.get(zone)?.length ?? 0, state);
        this.zoneStates.set(zone, state);
      }
      return;
    }
    for (const [zone, state] of this.zoneStates) {
      const next = newStates.get(zone);
      if (next === undefined || next === state) continue;
      this.logger.info({ zone, newState: next }, 'Controller detected that zone is now in new state');
      this.setLimiterInZone(zone, zoneConditions.get(zone)?.length ?? 0, next);
      this.zoneStates.set(zone, next);
    }
  }

  /** Pod keys on a node (tests). */
  podKeysOnNode(nodeName: string): string[] {
    return this.podsOnNode(nodeName).map((p) => keyOf(p));
  }
}

