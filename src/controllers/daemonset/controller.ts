/**
 * The DaemonSet controller (upstream pkg/controller/daemon): one daemon pod on every
 * eligible node.
 *
 * sync(key) is level-triggered: it records the DaemonSet's template as a
 * ControllerRevision (the current one, renumbered on rollback, collisions resolved through
 * status.collisionCount), claims the pods its selector matches, creates a pod for each
 * eligible node without one (unbound, pinned by node affinity on metadata.name, labelled
 * controller-revision-hash and pod-template-generation), deletes pods on nodes that must
 * not run one, failed pods (with per-node backoff) and extras, rolls out template
 * changes (RollingUpdate by maxUnavailable or maxSurge; OnDelete leaves it to the user),
 * trims history to revisionHistoryLimit, and writes status. Creations and deletions in
 * flight are tracked with expectations so a stale cache never doubles them.
 *
 * When a node goes away, its unbound daemon pods are deleted here; pods already bound to
 * it are the pod garbage collector's (its orphan sweep), as upstream.
 */
import {
  Resources, isTombstone, keyOf,
  type Client, type DeletedFinalStateUnknown, type EventRecorder, type Informer, type Lister, type WorkQueue,
} from '../../client/interface.js';
import type { ControllerRevision, DaemonSet, Node, Pod } from '../../client/objects.js';
import { hasStatusCause, isAlreadyExists, isNotFound } from '../../apimachinery/errors.js';
import { labelSelectorAsSelector, labelsEqual, type LabelSelector, type Selector } from '../../apimachinery/labels.js';
import { deepClone, deepEqual, PatchType, type KObject, type OwnerReference } from '../../apimachinery/meta.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { Controller, ControllerContext } from '../types.js';
import {
  BURST_REPLICAS, ControllerExpectations, ControllerRefManager, NAMESPACE_TERMINATING_CAUSE, RealPodControl,
  SLOW_START_INITIAL_BATCH_SIZE, computeHash, controllerRefOf, isPodAvailable, isPodReady, recheckDeletionTimestamp,
  runWorkers, slowStartBatch, type PodControl,
} from '../util/index.js';
import {
  CONTROLLER_REVISION_HASH_LABEL_KEY, maxRevision, revisionMatchesTemplate, sortControllerRevisions, templatePatch,
} from '../history/index.js';
import {
  allowsSurge, comparePodsByCreationTimestampAndPhase, createPodTemplate, getTargetNodeName, isPodUpdated,
  nodeShouldRunDaemonPod, replaceDaemonSetPodNodeNameNodeAffinity, templateGeneration, updateCounts,
} from './util.js';

/** The events' source component (upstream's "daemonset-controller"). */
export const DAEMONSET_CONTROLLER_COMPONENT = 'daemonset-controller';

/** Event reasons (daemon_controller.go). */
export const SELECTING_ALL_REASON = 'SelectingAll';
export const FAILED_DAEMON_POD_REASON = 'FailedDaemonPod';
export const SUCCEEDED_DAEMON_POD_REASON = 'SucceededDaemonPod';

/** StatusUpdateRetries: status writes retried once on a fresh copy. */
const STATUS_UPDATE_RETRIES = 1;

/** failedPodsBackoff: 1 s doubling to 15 min per (DaemonSet, node). */
const FAILED_PODS_BACKOFF_INITIAL_MS = 1_000;
const FAILED_PODS_BACKOFF_MAX_MS = 15 * 60 * 1_000;

const controllerKind = { apiVersion: 'apps/v1', kind: 'DaemonSet' } as const;

/** status of a DaemonSet as this controller writes it. */
export interface DaemonSetStatusCounts {
  desiredNumberScheduled: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  numberReady: number;
  updatedNumberScheduled: number;
  numberAvailable: number;
  numberUnavailable: number;
}

/**
 * flowcontrol.Backoff for failed daemon pods: deleting a pod the kubelet keeps rejecting
 * is rate limited per (DaemonSet, node).
 */
class FailedPodsBackoff {
  private readonly entries = new Map<string, { delayMs: number; lastUpdate: number }>();

  constructor(private readonly clock: Clock) {}

  /** The current delay for key (0 when none). */
  get(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Within its delay since the last failure. */
  isInBackOffSinceUpdate(key: string, now: number): boolean {
    const e = this.entries.get(key);
    return e !== undefined && now - e.lastUpdate < e.delayMs;
  }

  /** Records a failure: the first (or one long after the last) waits the initial delay, later ones double it. */
  next(key: string, now: number): void {
    const e = this.entries.get(key);
    if (!e || now - e.lastUpdate > 2 * FAILED_PODS_BACKOFF_MAX_MS) {
      this.entries.set(key, { delayMs: FAILED_PODS_BACKOFF_INITIAL_MS, lastUpdate: now });
      return;
    }
    e.delayMs = Math.min(e.delayMs * 2, FAILED_PODS_BACKOFF_MAX_MS);
    e.lastUpdate = now;
  }

  /** Forgets entries idle for twice the maximum delay (Backoff.GC). */
  gc(): void {
    const now = this.clock.now();
    for (const [k, e] of this.entries) if (now - e.lastUpdate > 2 * FAILED_PODS_BACKOFF_MAX_MS) this.entries.delete(k);
  }
}

export interface DaemonSetsControllerOptions {
  client: Client;
  dsInformer: Informer<DaemonSet>;
  podInformer: Informer<Pod>;
  nodeInformer: Informer<Node>;
  historyInformer: Informer<ControllerRevision>;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  queue: WorkQueue<string>;
  /** Defaults to a RealPodControl over client and recorder. */
  podControl?: PodControl;
  /** Most pods created or deleted per sync (default 500). */
  burstReplicas?: number;
  workers?: number;
  /** Waits for the informers before workers start. */
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** One error for several: the first alone, or an AggregateError listing them all. */
function aggregate(errors: unknown[]): unknown {
  if (errors.length === 0) return undefined;
  if (errors.length === 1) return errors[0];
  return new AggregateError(errors, `[${errors.map(errorText).join(', ')}]`);
}

/** The DaemonSet controller ("daemonset"). */
export class DaemonSetsController implements Controller {
  readonly name = 'daemonset';
  readonly expectations: ControllerExpectations;
  readonly queue: WorkQueue<string>;
  private readonly client: Client;
  private readonly dsLister: Lister<DaemonSet>;
  private readonly podLister: Lister<Pod>;
  private readonly nodeLister: Lister<Node>;
  private readonly historyLister: Lister<ControllerRevision>;
  private readonly recorder: EventRecorder;
  private readonly podControl: PodControl;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly burstReplicas: number;
  private readonly workers: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;
  private readonly failedPodsBackoff: FailedPodsBackoff;

  constructor(opts: DaemonSetsControllerOptions) {
    this.client = opts.client;
    this.dsLister = opts.dsInformer.lister;
    this.podLister = opts.podInformer.lister;
    this.nodeLister = opts.nodeInformer.lister;
    this.historyLister = opts.historyInformer.lister;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.queue = opts.queue;
    this.podControl = opts.podControl ?? new RealPodControl({ client: opts.client, recorder: opts.recorder });
    this.burstReplicas = opts.burstReplicas ?? BURST_REPLICAS;
    this.workers = opts.workers ?? 5;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
    this.expectations = new ControllerExpectations({ clock: opts.clock });
    this.failedPodsBackoff = new FailedPodsBackoff(opts.clock);

    opts.dsInformer.addEventHandler({
      add: (ds) => this.enqueue(ds),
      update: (_old, cur) => this.enqueue(cur),
      delete: (obj) => this.enqueue(isTombstone(obj) ? obj.obj : obj),
    });
    opts.historyInformer.addEventHandler({
      add: (h) => this.addHistory(h),
      update: (oldH, curH) => this.updateHistory(oldH, curH),
      delete: (obj) => this.deleteHistory(obj),
    });
    opts.podInformer.addEventHandler({
      add: (pod) => this.addPod(pod),
      update: (oldPod, curPod) => this.updatePod(oldPod, curPod),
      delete: (obj) => this.deletePod(obj),
    });
    opts.nodeInformer.addEventHandler({
      add: (node) => this.addNode(node),
      update: (oldNode, curNode) => this.updateNode(oldNode, curNode),
      delete: (obj) => this.deleteNode(obj),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.waitForCacheSync(signal);
    const gc = this.clock.setInterval(() => this.failedPodsBackoff.gc(), 60_000);
    try {
      await runWorkers({ queue: this.queue, workers: this.workers, sync: (k) => this.sync(k), logger: this.logger, signal });
    } finally {
      gc.cancel();
    }
  }

  // ---- event handlers: compute keys and enqueue -----------------------------------------

  private enqueue(ds: DaemonSet): void {
    this.queue.add(keyOf(ds));
  }

  /** The DaemonSet a controllerRef names, if it exists under that UID. */
  private resolveControllerRef(namespace: string, ref: OwnerReference): DaemonSet | undefined {
    if (ref.kind !== controllerKind.kind) return undefined;
    const ds = this.dsLister.get(`${namespace}/${ref.name}`);
    return ds && ds.metadata?.uid === ref.uid ? ds : undefined;
  }

  /** getDaemonSetsForPod / ForHistory: the DaemonSets whose selector matches labels. */
  private daemonSetsMatching(namespace: string, labels: Record<string, string> | undefined): DaemonSet[] {
    return this.dsLister.list(namespace).filter((ds) => {
      try {
        const sel = labelSelectorAsSelector(ds.spec?.selector as LabelSelector | undefined);
        return !sel.empty() && sel.matches(labels);
      } catch {
        return false;
      }
    });
  }

  private addHistory(h: ControllerRevision): void {
    if (h.metadata?.deletionTimestamp) {
      this.deleteHistory(h);
      return;
    }
    const ref = controllerRefOf(h);
    if (ref) {
      const ds = this.resolveControllerRef(h.metadata?.namespace ?? '', ref);
      if (ds) this.enqueue(ds);
      return;
    }
    for (const ds of this.daemonSetsMatching(h.metadata?.namespace ?? '', h.metadata?.labels)) this.enqueue(ds);
  }

  private updateHistory(oldH: ControllerRevision, curH: ControllerRevision): void {
    if (curH.metadata?.resourceVersion === oldH.metadata?.resourceVersion) return;
    const curRef = controllerRefOf(curH);
    const oldRef = controllerRefOf(oldH);
    const refChanged = !deepEqual(curRef, oldRef);
    if (refChanged && oldRef) {
      const ds = this.resolveControllerRef(oldH.metadata?.namespace ?? '', oldRef);
      if (ds) this.enqueue(ds);
    }
    if (curRef) {
      const ds = this.resolveControllerRef(curH.metadata?.namespace ?? '', curRef);
      if (ds) this.enqueue(ds);
      return;
    }
    if (refChanged || !labelsEqual(curH.metadata?.labels, oldH.metadata?.labels)) {
      for (const ds of this.daemonSetsMatching(curH.metadata?.namespace ?? '', curH.metadata?.labels)) this.enqueue(ds);
    }
  }

  private deleteHistory(obj: ControllerRevision | DeletedFinalStateUnknown<ControllerRevision>): void {
    const h = isTombstone(obj) ? obj.obj : obj;
    const ref = controllerRefOf(h);
    if (!ref) return;
    const ds = this.resolveControllerRef(h.metadata?.namespace ?? '', ref);
    if (ds) this.enqueue(ds);
  }

  private addPod(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      // Seen for the first time already terminating (e.g. after a restart): it will not
      // count as a creation, and its deletion is on the way.
      this.deletePod(pod);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const ds = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
      if (!ds) return;
      const key = keyOf(ds);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    for (const ds of this.daemonSetsMatching(pod.metadata?.namespace ?? '', pod.metadata?.labels)) this.enqueue(ds);
  }

  private updatePod(oldPod: Pod, curPod: Pod): void {
    if (curPod.metadata?.resourceVersion === oldPod.metadata?.resourceVersion) return;
    if (curPod.metadata?.deletionTimestamp) {
      // A graceful deletion shows first as deletionTimestamp; count it as observed now
      // rather than after the kubelet's grace period (upstream does the same).
      this.deletePod(curPod);
      return;
    }
    const curRef = controllerRefOf(curPod);
    const oldRef = controllerRefOf(oldPod);
    const refChanged = !deepEqual(curRef, oldRef);
    if (refChanged && oldRef) {
      const ds = this.resolveControllerRef(oldPod.metadata?.namespace ?? '', oldRef);
      if (ds) this.enqueue(ds);
    }
    if (curRef) {
      const ds = this.resolveControllerRef(curPod.metadata?.namespace ?? '', curRef);
      if (!ds) return;
      this.enqueue(ds);
      // Sync again once the pod has been ready for minReadySeconds, to count it available.
      const minReady = ds.spec?.minReadySeconds ?? 0;
      if (!isPodReady(oldPod) && isPodReady(curPod) && minReady > 0) this.queue.addAfter(keyOf(ds), minReady * 1000 + 1000);
      return;
    }
    if (refChanged || !labelsEqual(curPod.metadata?.labels, oldPod.metadata?.labels)) {
      for (const ds of this.daemonSetsMatching(curPod.metadata?.namespace ?? '', curPod.metadata?.labels)) this.enqueue(ds);
    }
  }

  private deletePod(obj: Pod | DeletedFinalStateUnknown<Pod>): void {
    const pod = isTombstone(obj) ? obj.obj : obj;
    const ref = controllerRefOf(pod);
    if (!ref) return;
    const ds = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
    if (!ds) return;
    const key = keyOf(ds);
    this.expectations.deletionObserved(key);
    this.queue.add(key);
  }

  private addNode(node: Node): void {
    for (const ds of this.dsLister.list()) {
      if (nodeShouldRunDaemonPod(node, ds).shouldRun) this.enqueue(ds);
    }
  }

  private updateNode(oldNode: Node, curNode: Node): void {
    // Eligibility reads only the name, labels and spec (taints): heartbeats change nothing.
    if (labelsEqual(oldNode.metadata?.labels, curNode.metadata?.labels) && deepEqual(oldNode.spec, curNode.spec)) return;
    for (const ds of this.dsLister.list()) {
      const before = nodeShouldRunDaemonPod(oldNode, ds);
      const after = nodeShouldRunDaemonPod(curNode, ds);
      if (before.shouldRun !== after.shouldRun || before.shouldContinueRunning !== after.shouldContinueRunning) this.enqueue(ds);
    }
  }

  private deleteNode(obj: Node | DeletedFinalStateUnknown<Node>): void {
    const node = isTombstone(obj) ? obj.obj : obj;
    for (const ds of this.dsLister.list()) {
      const p = nodeShouldRunDaemonPod(node, ds);
      if (p.shouldRun || p.shouldContinueRunning) this.enqueue(ds);
    }
  }

  // ---- sync -------------------------------------------------------------------------------

  private controllerRef(ds: DaemonSet): OwnerReference {
    return { ...controllerKind, name: ds.metadata?.name ?? '', uid: ds.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
  }

  private owner(ds: DaemonSet): KObject {
    return { ...(ds as KObject), ...controllerKind };
  }

  /**
   * syncDaemonSet: brings one DaemonSet's pods, history and status in line with its spec.
   * Rejects to have the key retried with backoff.
   */
  async sync(key: string): Promise<void> {
    const ds = this.dsLister.get(key);
    if (!ds) {
      this.logger.debug({ key }, 'DaemonSet has been deleted');
      this.expectations.deleteExpectations(key);
      return;
    }
    const nodes = this.nodeLister.list();
    if (deepEqual(ds.spec?.selector, {})) {
      this.recorder.event(this.owner(ds), 'Warning', SELECTING_ALL_REASON, 'This daemon set is selecting all pods. A non-empty selector is required.');
      return;
    }
    try {
      labelSelectorAsSelector(ds.spec?.selector as LabelSelector | undefined);
    } catch (err) {
      // An invalid selector does not fix itself by retrying.
      this.logger.error({ key, err }, 'error converting DaemonSet selector');
      return;
    }
    // A DaemonSet being deleted may have lost its history and pods to the garbage
    // collector in any order: its status cannot be computed reliably, so leave it.
    if (ds.metadata?.deletionTimestamp) return;

    const { cur, old } = await this.constructHistory(ds);
    const hash = cur.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL_KEY] ?? '';

    if (!this.expectations.satisfiedExpectations(key)) {
      // Only status: observedGeneration waits until this generation is acted on.
      await this.updateDaemonSetStatus(ds, nodes, hash, false);
      return;
    }
    let err: unknown;
    try {
      await this.updateDaemonSet(ds, nodes, hash, key, old);
    } catch (e) {
      err = e;
    }
    let statusErr: unknown;
    try {
      await this.updateDaemonSetStatus(ds, nodes, hash, true);
    } catch (e) {
      statusErr = e;
    }
    if (err !== undefined) {
      if (statusErr !== undefined) this.logger.warn({ key, err: errorText(statusErr) }, 'failed to update status');
      throw err;
    }
    if (statusErr !== undefined) throw statusErr;
  }

  private async updateDaemonSet(ds: DaemonSet, nodes: Node[], hash: string, key: string, old: ControllerRevision[]): Promise<void> {
    await this.manage(ds, nodes, hash);
    if (this.expectations.satisfiedExpectations(key)) {
      if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate') await this.rollingUpdate(ds, nodes, hash);
    }
    try {
      await this.cleanupHistory(ds, old);
    } catch (err) {
      throw new Error(`failed to clean up revisions of DaemonSet: ${errorText(err)}`, { cause: err });
    }
  }

  /** getDaemonPods: the pods this DaemonSet owns after adopting orphans and releasing strays. */
  private async getDaemonPods(ds: DaemonSet): Promise<Pod[]> {
    const ns = ds.metadata?.namespace ?? '';
    const selector = labelSelectorAsSelector(ds.spec?.selector as LabelSelector | undefined);
    const dsClient = this.client.resource<DaemonSet>(Resources.daemonsets, ns);
    const manager = new ControllerRefManager<Pod>({
      controller: this.owner(ds),
      controllerRef: this.controllerRef(ds),
      selector,
      canAdopt: recheckDeletionTimestamp(this.owner(ds), async () => (await dsClient.get(ds.metadata?.name ?? '')) as KObject),
      patch: (pod, patch) => this.podControl.patchPod(ns, pod.metadata?.name ?? '', patch),
    });
    return manager.claim(this.podLister.list(ns));
  }

  /**
   * getNodesToDaemonPods: the DaemonSet's pods by the node they run on or are pinned to.
   * Terminal pods already being deleted are left out unless includeDeletedTerminal.
   */
  private async getNodesToDaemonPods(ds: DaemonSet, includeDeletedTerminal: boolean): Promise<Map<string, Pod[]>> {
    const out = new Map<string, Pod[]>();
    for (const pod of await this.getDaemonPods(ds)) {
      const phase = pod.status?.phase;
      if (!includeDeletedTerminal && (phase === 'Failed' || phase === 'Succeeded') && pod.metadata?.deletionTimestamp) continue;
      const nodeName = getTargetNodeName(pod);
      if (nodeName === undefined) {
        this.logger.warn({ pod: keyOf(pod) }, 'Failed to get target node name of Pod in DaemonSet');
        continue;
      }
      const list = out.get(nodeName);
      if (list) list.push(pod);
      else out.set(nodeName, [pod]);
    }
    return out;
  }

  /** manage: creates missing daemon pods and deletes the ones that must go. */
  private async manage(ds: DaemonSet, nodes: Node[], hash: string): Promise<void> {
    const nodeToDaemonPods = await this.getNodesToDaemonPods(ds, false);
    const nodesNeedingDaemonPods: string[] = [];
    const podsToDelete: string[] = [];
    for (const node of nodes) {
      const r = this.podsShouldBeOnNode(node, nodeToDaemonPods, ds, hash);
      nodesNeedingDaemonPods.push(...r.nodesNeedingDaemonPods);
      podsToDelete.push(...r.podsToDelete);
    }
    podsToDelete.push(...this.podsWithoutNode(nodes, nodeToDaemonPods));
    await this.syncNodes(ds, podsToDelete, nodesNeedingDaemonPods, hash);
  }

  /**
   * getUnscheduledPodsWithoutNode: unbound pods pinned to a node that no longer exists
   * (never bound, so nothing else would clean them up).
   */
  private podsWithoutNode(nodes: Node[], nodeToDaemonPods: Map<string, Pod[]>): string[] {
    const names = new Set(nodes.map((n) => n.metadata?.name ?? ''));
    const out: string[] = [];
    for (const [nodeName, pods] of nodeToDaemonPods) {
      if (names.has(nodeName)) continue;
      for (const pod of pods) {
        if (!pod.spec?.nodeName && !pod.metadata?.deletionTimestamp) out.push(pod.metadata?.name ?? '');
      }
    }
    return out;
  }

  /** podsShouldBeOnNode: what manage must do on one node. */
  private podsShouldBeOnNode(
    node: Node,
    nodeToDaemonPods: Map<string, Pod[]>,
    ds: DaemonSet,
    hash: string,
  ): { nodesNeedingDaemonPods: string[]; podsToDelete: string[] } {
    const nodeName = node.metadata?.name ?? '';
    const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
    const daemonPods = nodeToDaemonPods.get(nodeName);
    const nodesNeedingDaemonPods: string[] = [];
    const podsToDelete: string[] = [];

    if (shouldRun && !daemonPods) {
      nodesNeedingDaemonPods.push(nodeName);
    } else if (shouldContinueRunning && daemonPods) {
      const running: Pod[] = [];
      for (const pod of daemonPods) {
        if (pod.metadata?.deletionTimestamp) continue;
        const phase = pod.status?.phase;
        if (phase === 'Failed') {
          // The kubelet may keep rejecting the pod: back off between replacements.
          const backoffKey = `${ds.metadata?.uid ?? ''}/${nodeName}`;
          const now = this.clock.now();
          if (this.failedPodsBackoff.isInBackOffSinceUpdate(backoffKey, now)) {
            this.queue.addAfter(keyOf(ds), this.failedPodsBackoff.get(backoffKey));
            continue;
          }
          this.failedPodsBackoff.next(backoffKey, now);
          const msg = `Found failed daemon pod ${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''} on node ${nodeName}, will try to kill it`;
          this.logger.info({ pod: keyOf(pod), node: nodeName }, 'Found failed daemon pod on node, will try to kill it');
          this.recorder.event(this.owner(ds), 'Warning', FAILED_DAEMON_POD_REASON, msg);
          podsToDelete.push(pod.metadata?.name ?? '');
        } else if (phase === 'Succeeded') {
          const msg = `Found succeeded daemon pod ${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''} on node ${nodeName}, will try to delete it`;
          this.recorder.event(this.owner(ds), 'Normal', SUCCEEDED_DAEMON_POD_REASON, msg);
          podsToDelete.push(pod.metadata?.name ?? '');
        } else {
          running.push(pod);
        }
      }
      running.sort(comparePodsByCreationTimestampAndPhase);
      if (!allowsSurge(ds)) {
        // One pod per node: keep the oldest.
        for (const pod of running.slice(1)) podsToDelete.push(pod.metadata?.name ?? '');
      } else {
        // With surge, an old and a new pod may overlap while the new one becomes available.
        let oldestNew: Pod | undefined;
        let oldestOld: Pod | undefined;
        for (const pod of running) {
          if (pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL_KEY] === hash) {
            if (!oldestNew) {
              oldestNew = pod;
              continue;
            }
          } else if (!oldestOld) {
            oldestOld = pod;
            continue;
          }
          podsToDelete.push(pod.metadata?.name ?? '');
        }
        if (oldestNew && oldestOld) {
          if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, this.clock.now())) {
            podsToDelete.push(oldestOld.metadata?.name ?? '');
          }
        }
      }
    } else if (!shouldContinueRunning && daemonPods) {
      for (const pod of daemonPods) {
        if (!pod.metadata?.deletionTimestamp) podsToDelete.push(pod.metadata?.name ?? '');
      }
    }
    return { nodesNeedingDaemonPods, podsToDelete };
  }

  /**
   * syncNodes: deletes podsToDelete and creates a pod for each node in nodesNeedingDaemonPods
   * (slow start, at most burstReplicas of each), under expectations.
   */
  private async syncNodes(ds: DaemonSet, podsToDelete: string[], nodesNeedingDaemonPods: string[], hash: string): Promise<void> {
    const key = keyOf(ds);
    const ns = ds.metadata?.namespace ?? '';
    const createDiff = Math.min(nodesNeedingDaemonPods.length, this.burstReplicas);
    const deleteDiff = Math.min(podsToDelete.length, this.burstReplicas);
    // Expect before acting: the informer may report the changes before the calls return.
    this.expectations.setExpectations(key, createDiff, deleteDiff);
    const errors: unknown[] = [];

    if (createDiff > 0) {
      this.logger.debug({ key, nodes: nodesNeedingDaemonPods.slice(0, createDiff) }, 'Nodes needing daemon pods for daemon set, creating');
      const template = createPodTemplate(ds.spec?.template, templateGeneration(ds), hash);
      const owner = this.owner(ds);
      const ref = this.controllerRef(ds);
      let next = 0;
      const { error } = await slowStartBatch(createDiff, SLOW_START_INITIAL_BATCH_SIZE, async () => {
        const nodeName = nodesNeedingDaemonPods[next++]!;
        const podTemplate = deepClone(template);
        podTemplate.spec!.affinity = replaceDaemonSetPodNodeNameNodeAffinity(podTemplate.spec!.affinity, nodeName);
        try {
          await this.podControl.createPods(ns, podTemplate, owner, ref);
        } catch (err) {
          // The namespace is going away; every later creation would fail too.
          if (hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) return;
          this.expectations.creationObserved(key);
          throw err;
        }
      });
      // Creations never attempted will never be observed.
      const skipped = createDiff - next;
      if (skipped > 0) this.expectations.lowerExpectations(key, skipped, 0);
      if (error !== undefined) errors.push(error);
    }

    if (deleteDiff > 0) {
      this.logger.debug({ key, pods: podsToDelete.slice(0, deleteDiff) }, 'Pods to delete for daemon set, deleting');
      const owner = this.owner(ds);
      const results = await Promise.allSettled(podsToDelete.slice(0, deleteDiff).map(async (name) => {
        try {
          await this.podControl.deletePod(ns, name, owner);
        } catch (err) {
          this.expectations.deletionObserved(key);
          if (!isNotFound(err)) throw err;
        }
      }));
      for (const r of results) if (r.status === 'rejected') errors.push(r.reason);
    }
    const err = aggregate(errors);
    if (err !== undefined) throw err;
  }

  /**
   * updatedDesiredNodeCounts: maxSurge, maxUnavailable and the number of nodes that should
   * run the pod; adds an empty entry for each such node without pods.
   */
  private updatedDesiredNodeCounts(ds: DaemonSet, nodes: Node[], nodeToDaemonPods: Map<string, Pod[]>) {
    let desired = 0;
    for (const node of nodes) {
      if (!nodeShouldRunDaemonPod(node, ds).shouldRun) continue;
      desired++;
      const name = node.metadata?.name ?? '';
      if (!nodeToDaemonPods.has(name)) nodeToDaemonPods.set(name, []);
    }
    const { maxUnavailable, maxSurge } = updateCounts(ds, desired);
    // An impossible configuration (both 0) falls back to one unavailable at a time.
    const fallback = desired > 0 && maxUnavailable === 0 && maxSurge === 0;
    return { maxSurge, maxUnavailable: fallback ? 1 : maxUnavailable, desired };
  }

  /** findUpdatedPodsOnNode: the node's new and old pod; ok false when it has extras of either. */
  private findUpdatedPodsOnNode(ds: DaemonSet, pods: Pod[], hash: string): { newPod?: Pod; oldPod?: Pod; ok: boolean } {
    let newPod: Pod | undefined;
    let oldPod: Pod | undefined;
    const generation = templateGeneration(ds);
    for (const pod of pods) {
      if (pod.metadata?.deletionTimestamp) continue;
      if (isPodUpdated(pod, hash, generation)) {
        if (newPod) return { ok: false };
        newPod = pod;
      } else {
        if (oldPod) return { ok: false };
        oldPod = pod;
      }
    }
    return { newPod, oldPod, ok: true };
  }

  /**
   * rollingUpdate: replaces out-of-date pods. Without surge, deletes old pods while fewer
   * than maxUnavailable are unavailable (manage creates the new ones); with surge, creates
   * new pods beside old available ones up to maxSurge and deletes each old pod once its
   * replacement is available.
   */
  private async rollingUpdate(ds: DaemonSet, nodes: Node[], hash: string): Promise<void> {
    const nodeToDaemonPods = await this.getNodesToDaemonPods(ds, false);
    const { maxSurge, maxUnavailable, desired } = this.updatedDesiredNodeCounts(ds, nodes, nodeToDaemonPods);
    const now = this.clock.now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const available = (pod: Pod) => isPodAvailable(pod, minReady, now);

    if (maxSurge === 0) {
      let numUnavailable = 0;
      const allowedReplacementPods: string[] = [];
      const candidatePodsToDelete: string[] = [];
      for (const [, pods] of nodeToDaemonPods) {
        const { newPod, oldPod, ok } = this.findUpdatedPodsOnNode(ds, pods, hash);
        if (!ok) {
          // manage will clean this node up; count it unavailable meanwhile.
          numUnavailable++;
          continue;
        }
        if ((!oldPod && !newPod) || (oldPod && newPod)) {
          numUnavailable++;
        } else if (newPod) {
          if (!available(newPod)) numUnavailable++;
        } else if (oldPod) {
          if (!available(oldPod)) {
            // Already unavailable: replacing it costs nothing.
            allowedReplacementPods.push(oldPod.metadata?.name ?? '');
            numUnavailable++;
          } else if (numUnavailable < maxUnavailable) {
            candidatePodsToDelete.push(oldPod.metadata?.name ?? '');
          }
        }
      }
      const remaining = Math.min(Math.max(0, maxUnavailable - numUnavailable), candidatePodsToDelete.length);
      const oldPodsToDelete = [...allowedReplacementPods, ...candidatePodsToDelete.slice(0, remaining)];
      await this.syncNodes(ds, oldPodsToDelete, [], hash);
      return;
    }

    const oldPodsToDelete: string[] = [];
    const shouldNotRunPodsToDelete: string[] = [];
    const candidateNewNodes: string[] = [];
    const allowedNewNodes: string[] = [];
    let numSurge = 0;
    let numAvailable = 0;
    for (const [nodeName, pods] of nodeToDaemonPods) {
      const { newPod, oldPod, ok } = this.findUpdatedPodsOnNode(ds, pods, hash);
      if (!ok) {
        numSurge++;
        continue;
      }
      if (oldPod ? available(oldPod) : newPod ? available(newPod) : false) numAvailable++;
      if (!oldPod) continue;
      if (!newPod) {
        const node = this.nodeLister.get(nodeName);
        const shouldRun = node ? nodeShouldRunDaemonPod(node, ds).shouldRun : false;
        if (!available(oldPod)) {
          if (!shouldRun) oldPodsToDelete.push(oldPod.metadata?.name ?? '');
          else allowedNewNodes.push(nodeName);
        } else if (!shouldRun) {
          shouldNotRunPodsToDelete.push(oldPod.metadata?.name ?? '');
        } else if (numSurge < maxSurge) {
          candidateNewNodes.push(nodeName);
        }
        continue;
      }
      if (!available(newPod)) {
        numSurge++;
        continue;
      }
      oldPodsToDelete.push(oldPod.metadata?.name ?? '');
    }
    // With surge the owner expects full availability: a pod on a node the DaemonSet left
    // goes only once enough pods are available elsewhere.
    const deletable = Math.min(numAvailable - desired, shouldNotRunPodsToDelete.length);
    if (deletable > 0) oldPodsToDelete.push(...shouldNotRunPodsToDelete.slice(0, deletable));
    const remainingSurge = Math.min(Math.max(0, maxSurge - numSurge), candidateNewNodes.length);
    await this.syncNodes(ds, oldPodsToDelete, [...allowedNewNodes, ...candidateNewNodes.slice(0, remainingSurge)], hash);
  }

  // ---- history ------------------------------------------------------------------------------

  /** controlledHistories: revisions this DaemonSet owns after adopting orphans and releasing strays. */
  private async controlledHistories(ds: DaemonSet, selector: Selector): Promise<ControllerRevision[]> {
    const ns = ds.metadata?.namespace ?? '';
    const revisions = this.client.resource<ControllerRevision>(Resources.controllerrevisions, ns);
    const dsClient = this.client.resource<DaemonSet>(Resources.daemonsets, ns);
    const manager = new ControllerRefManager<ControllerRevision>({
      controller: this.owner(ds),
      controllerRef: this.controllerRef(ds),
      selector,
      canAdopt: recheckDeletionTimestamp(this.owner(ds), async () => (await dsClient.get(ds.metadata?.name ?? '')) as KObject),
      patch: (rev, patch) => revisions.patch(rev.metadata?.name ?? '', PatchType.StrategicMergePatch, patch),
    });
    return manager.claim(this.historyLister.list(ns));
  }

  /**
   * constructHistory: the revision matching the current template (created, or renumbered
   * to the newest number) and the older ones.
   */
  private async constructHistory(ds: DaemonSet): Promise<{ cur: ControllerRevision; old: ControllerRevision[] }> {
    const ns = ds.metadata?.namespace ?? '';
    const revisions = this.client.resource<ControllerRevision>(Resources.controllerrevisions, ns);
    const selector = labelSelectorAsSelector(ds.spec?.selector as LabelSelector | undefined);
    const current: ControllerRevision[] = [];
    const old: ControllerRevision[] = [];
    for (let h of await this.controlledHistories(ds, selector)) {
      if (!h.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL_KEY]) {
        // A revision from before the label: the name is as unique as a hash.
        const toUpdate = deepClone(h);
        toUpdate.metadata!.labels = { ...(toUpdate.metadata!.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL_KEY]: toUpdate.metadata!.name ?? '' };
        h = await revisions.update(toUpdate);
      }
      if (revisionMatchesTemplate(ds, h)) current.push(h);
      else old.push(h);
    }
    const currRevision = maxRevision(old) + 1;
    let cur: ControllerRevision;
    if (current.length === 0) {
      cur = await this.snapshot(ds, currRevision);
    } else {
      cur = await this.dedupCurHistories(ds, current);
      if (cur.revision < currRevision) {
        // Rolled back to an older template: it becomes the newest revision again.
        cur = await revisions.update({ ...deepClone(cur), revision: currRevision });
      }
    }
    return { cur, old };
  }

  /**
   * dedupCurHistories: of several revisions with the current template keeps the newest,
   * moves the pods labelled with the others' hashes onto it, and deletes the others.
   */
  private async dedupCurHistories(ds: DaemonSet, current: ControllerRevision[]): Promise<ControllerRevision> {
    if (current.length === 1) return current[0]!;
    const sorted = sortControllerRevisions(current);
    const keep = sorted[sorted.length - 1]!;
    const keepHash = keep.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL_KEY] ?? '';
    const ns = ds.metadata?.namespace ?? '';
    for (const dup of sorted.slice(0, -1)) {
      const dupHash = dup.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL_KEY];
      for (const pod of await this.getDaemonPods(ds)) {
        if (pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL_KEY] !== dupHash) continue;
        await this.podControl.patchPod(ns, pod.metadata?.name ?? '', { metadata: { labels: { [CONTROLLER_REVISION_HASH_LABEL_KEY]: keepHash } } });
      }
      try {
        await this.client.resource(Resources.controllerrevisions, ns).delete(dup.metadata?.name ?? '');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return keep;
  }

  /**
   * snapshot: records the current template as revision `revision`, named
   * `<ds>-<hash of template and collisionCount>`. A name taken by another template bumps
   * status.collisionCount and fails, so the next sync tries the next name.
   */
  private async snapshot(ds: DaemonSet, revision: number): Promise<ControllerRevision> {
    const ns = ds.metadata?.namespace ?? '';
    const hash = computeHash(ds.spec?.template, ds.status?.collisionCount);
    const name = `${ds.metadata?.name ?? ''}-${hash}`;
    const annotations = ds.metadata?.annotations;
    const history: ControllerRevision = {
      apiVersion: 'apps/v1',
      kind: 'ControllerRevision',
      metadata: {
        name,
        namespace: ns,
        labels: { ...(ds.spec?.template?.metadata?.labels ?? {}), [CONTROLLER_REVISION_HASH_LABEL_KEY]: hash },
        ...(annotations && Object.keys(annotations).length > 0 ? { annotations: { ...annotations } } : {}),
        ownerReferences: [this.controllerRef(ds)],
      },
      data: templatePatch(ds) as ControllerRevision['data'],
      revision,
    };
    const revisions = this.client.resource<ControllerRevision>(Resources.controllerrevisions, ns);
    try {
      return await revisions.create(history);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      const existing = await revisions.get(name);
      if (revisionMatchesTemplate(ds, existing)) return existing;
      // A hash collision with another template. Bump collisionCount only if ours is fresh.
      const dsClient = this.client.resource<DaemonSet>(Resources.daemonsets, ns);
      const fresh = await dsClient.get(ds.metadata?.name ?? '');
      if ((fresh.status?.collisionCount ?? undefined) !== (ds.status?.collisionCount ?? undefined)) {
        throw new Error(`found a stale collision count (${ds.status?.collisionCount ?? 'nil'}, expected ${fresh.status?.collisionCount ?? 'nil'}) of DaemonSet "${ds.metadata?.name ?? ''}" while processing; will retry until it is updated`);
      }
      const status = { ...(fresh.status ?? { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0 }) };
      status.collisionCount = (status.collisionCount ?? 0) + 1;
      await dsClient.updateStatus({ ...fresh, status });
      this.logger.info({ ds: keyOf(ds), collisionCount: status.collisionCount }, 'Found a hash collision for DaemonSet - bumping collisionCount to resolve it');
      throw err;
    }
  }

  /**
   * cleanupHistory: deletes the oldest old revisions beyond revisionHistoryLimit, never
   * one whose hash a pod (even a terminal one) still carries.
   */
  private async cleanupHistory(ds: DaemonSet, old: ControllerRevision[]): Promise<void> {
    const toKeep = ds.spec?.revisionHistoryLimit ?? 10;
    let toKill = old.length - toKeep;
    if (toKill <= 0) return;
    const liveHashes = new Set<string>();
    for (const pods of (await this.getNodesToDaemonPods(ds, true)).values()) {
      for (const pod of pods) {
        const h = pod.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL_KEY];
        if (h) liveHashes.add(h);
      }
    }
    const revisions = this.client.resource(Resources.controllerrevisions, ds.metadata?.namespace ?? '');
    for (const h of sortControllerRevisions(old)) {
      if (toKill <= 0) break;
      if (liveHashes.has(h.metadata?.labels?.[CONTROLLER_REVISION_HASH_LABEL_KEY] ?? '')) continue;
      try {
        await revisions.delete(h.metadata?.name ?? '');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      toKill--;
    }
  }

  // ---- status -------------------------------------------------------------------------------

  /** The status counts for the DaemonSet from its pods on the current nodes. */
  private async computeStatus(ds: DaemonSet, nodes: Node[], hash: string): Promise<DaemonSetStatusCounts> {
    const nodeToDaemonPods = await this.getNodesToDaemonPods(ds, false);
    const now = this.clock.now();
    const minReady = ds.spec?.minReadySeconds ?? 0;
    const generation = templateGeneration(ds);
    const s: DaemonSetStatusCounts = {
      desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0,
      updatedNumberScheduled: 0, numberAvailable: 0, numberUnavailable: 0,
    };
    for (const node of nodes) {
      const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
      const pods = nodeToDaemonPods.get(node.metadata?.name ?? '') ?? [];
      const scheduled = pods.length > 0;
      if (!shouldRun) {
        if (scheduled) s.numberMisscheduled++;
        continue;
      }
      s.desiredNumberScheduled++;
      if (!scheduled) continue;
      s.currentNumberScheduled++;
      const pod = [...pods].sort(comparePodsByCreationTimestampAndPhase)[0]!;
      if (isPodReady(pod)) {
        s.numberReady++;
        if (isPodAvailable(pod, minReady, now)) s.numberAvailable++;
      }
      if (isPodUpdated(pod, hash, generation)) s.updatedNumberScheduled++;
    }
    s.numberUnavailable = s.desiredNumberScheduled - s.numberAvailable;
    return s;
  }

  /** updateDaemonSetStatus / storeDaemonSetStatus: writes status unless unchanged. */
  private async updateDaemonSetStatus(ds: DaemonSet, nodes: Node[], hash: string, updateObservedGen: boolean): Promise<void> {
    const counts = await this.computeStatus(ds, nodes, hash);
    const cur = ds.status;
    const generation = ds.metadata?.generation ?? 0;
    const unchanged = (Object.keys(counts) as (keyof DaemonSetStatusCounts)[]).every((k) => (cur?.[k] ?? 0) === counts[k]);
    if (!(unchanged && (cur?.observedGeneration ?? 0) >= generation)) {
      const dsClient = this.client.resource<DaemonSet>(Resources.daemonsets, ds.metadata?.namespace ?? '');
      let toUpdate: DaemonSet = ds;
      for (let i = 0; ; i++) {
        const status = { ...(toUpdate.status ?? {}), ...counts };
        if (updateObservedGen) status.observedGeneration = generation;
        try {
          await dsClient.updateStatus({ ...toUpdate, status });
          break;
        } catch (err) {
          if (i >= STATUS_UPDATE_RETRIES) throw err;
          toUpdate = await dsClient.get(ds.metadata?.name ?? '');
        }
      }
    }
    // Come back when the ready pods have been ready long enough to count as available.
    const minReady = ds.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && counts.numberReady !== counts.numberAvailable) this.queue.addAfter(keyOf(ds), minReady * 1000);
  }
}

/** Builds the controller from a ControllerContext (shared informers, queue, recorder). */
export function newController(ctx: ControllerContext, queue: WorkQueue<string>): DaemonSetsController {
  return new DaemonSetsController({
    client: ctx.client,
    dsInformer: ctx.informers.forResource<DaemonSet>(Resources.daemonsets),
    podInformer: ctx.informers.forResource<Pod>(Resources.pods),
    nodeInformer: ctx.informers.forResource<Node>(Resources.nodes),
    historyInformer: ctx.informers.forResource<ControllerRevision>(Resources.controllerrevisions),
    recorder: ctx.recorder(DAEMONSET_CONTROLLER_COMPONENT),
    clock: ctx.clock,
    logger: ctx.logger,
    queue,
    workers: ctx.options.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
}
