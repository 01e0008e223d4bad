/**
 * The ReplicaSet controller (upstream pkg/controller/replicaset), written once for both
 * apps/v1 ReplicaSets and core/v1 ReplicationControllers: upstream runs the same engine
 * over RCs through a conversion layer; here a {@link ReplicaSetKind} says how to read the
 * selector and which resource, kind and event source to use.
 *
 * sync(key) is level-triggered: it claims the active pods its selector matches (adopting
 * orphans, releasing pods that no longer match), creates or deletes pods to reach
 * spec.replicas — in slow-start batches, at most 500 per sync, guarded by expectations so
 * pods still in flight are never created twice — and writes status.
 */
import { Resources, isTombstone, splitKey, keyOf, type Client, type EventRecorder, type GroupVersionResource, type Informer, type Lister, type WorkQueue, type DeletedFinalStateUnknown } from '../../client/interface.js';
import type { Pod, PodTemplateSpec } from '../../client/objects.js';
import { labelSelectorAsSelector, selectorFromSet, labelsEqual, type Selector, type LabelSelector } from '../../apimachinery/labels.js';
import { deepEqual, formatRFC3339, type KObject, type OwnerReference } from '../../apimachinery/meta.js';
import { hasStatusCause, isNotFound } from '../../apimachinery/errors.js';
import type { Clock } from '../../util/clock.js';
import type { ControllerContext } from '../types.js';
import type { Logger } from '../../util/log.js';
import {
  BURST_REPLICAS, ControllerRefManager, RealPodControl, SLOW_START_INITIAL_BATCH_SIZE, UIDTrackingControllerExpectations,
  NAMESPACE_TERMINATING_CAUSE, controllerRefOf, filterActivePods, getCondition, getPodsToDelete, isPodAvailable,
  isPodReady, podKey, recheckDeletionTimestamp, removeCondition, runWorkers, setCondition, slowStartBatch,
  type Condition, type PodControl,
} from '../util/index.js';

/** The fields of a ReplicaSet or ReplicationController the engine reads and writes. */
export interface ReplicaSetLike extends KObject {
  spec?: {
    replicas?: number;
    minReadySeconds?: number;
    selector?: LabelSelector | Record<string, string> | null;
    template?: PodTemplateSpec;
  };
  status?: ReplicaSetStatus;
}

/** status of a ReplicaSet / ReplicationController. */
export interface ReplicaSetStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: Condition[];
}

/** What distinguishes ReplicaSets from ReplicationControllers for the engine. */
export interface ReplicaSetKind {
  gvr: GroupVersionResource;
  apiVersion: string;
  kind: string;
  /** The `--controllers` name. */
  controllerName: string;
  /** The events' source component. */
  eventSource: string;
  /** The object's pod selector; throws when it is invalid. */
  selectorOf(obj: ReplicaSetLike): Selector;
}

export const replicaSetKind: ReplicaSetKind = {
  gvr: Resources.replicasets,
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  controllerName: 'replicaset',
  eventSource: 'replicaset-controller',
  selectorOf: (rs) => labelSelectorAsSelector(rs.spec?.selector as LabelSelector | undefined),
};

export const replicationControllerKind: ReplicaSetKind = {
  gvr: Resources.replicationcontrollers,
  apiVersion: 'v1',
  kind: 'ReplicationController',
  controllerName: 'replicationcontroller',
  eventSource: 'replication-controller',
  // A plain map; the API server defaults an absent one to the template's labels.
  selectorOf: (rc) => selectorFromSet((rc.spec?.selector as Record<string, string> | undefined) ?? rc.spec?.template?.metadata?.labels),
};

/** ReplicaSetReplicaFailure. */
export const REPLICA_FAILURE = 'ReplicaFailure';

/** How many times updateStatus retries on a fresh copy after a failure (statusUpdateRetries). */
const STATUS_UPDATE_RETRIES = 1;

export interface ReplicaSetControllerOptions {
  kind: ReplicaSetKind;
  client: Client;
  podInformer: Informer<Pod>;
  rsInformer: Informer<ReplicaSetLike>;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  queue: WorkQueue<string>;
  /** Defaults to a RealPodControl over client and recorder. */
  podControl?: PodControl;
  /** Most pods created or deleted per sync (default 500). */
  burstReplicas?: number;
  workers?: number;
  /** Waits for the informers before workers start (the factory passes the shared factory's). */
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

/** The ReplicaSet (or ReplicationController) controller. */
export class ReplicaSetController {
  readonly name: string;
  readonly kind: ReplicaSetKind;
  readonly expectations: UIDTrackingControllerExpectations;
  readonly queue: WorkQueue<string>;
  private readonly client: Client;
  private readonly podLister: Lister<Pod>;
  private readonly rsLister: Lister<ReplicaSetLike>;
  private readonly podControl: PodControl;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly burstReplicas: number;
  private readonly workers: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;

  constructor(opts: ReplicaSetControllerOptions) {
    this.kind = opts.kind;
    this.name = opts.kind.controllerName;
    this.client = opts.client;
    this.podLister = opts.podInformer.lister;
    this.rsLister = opts.rsInformer.lister;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.queue = opts.queue;
    this.podControl = opts.podControl ?? new RealPodControl({ client: opts.client, recorder: opts.recorder });
    this.burstReplicas = opts.burstReplicas ?? BURST_REPLICAS;
    this.workers = opts.workers ?? 5;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
    this.expectations = new UIDTrackingControllerExpectations({ clock: opts.clock });

    opts.rsInformer.addEventHandler({
      add: (rs) => this.enqueue(rs),
      update: (_old, cur) => this.enqueue(cur),
      delete: (obj) => {
        const rs = isTombstone(obj) ? obj.obj : obj;
        const key = keyOf(rs);
        this.expectations.deleteExpectations(key);
        this.queue.add(key);
      },
    });
    opts.podInformer.addEventHandler({
      add: (pod) => this.addPod(pod),
      update: (oldPod, curPod) => this.updatePod(oldPod, curPod),
      delete: (obj) => this.deletePod(obj),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.waitForCacheSync(signal);
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (k) => this.sync(k), logger: this.logger, signal });
  }

  private enqueue(rs: ReplicaSetLike): void {
    this.queue.add(keyOf(rs));
  }

  /** The controller a controllerRef names, if it is ours and still the same object. */
  private resolveControllerRef(namespace: string, ref: OwnerReference): ReplicaSetLike | undefined {
    if (ref.kind !== this.kind.kind) return undefined;
    const rs = this.rsLister.get(`${namespace}/${ref.name}`);
    if (!rs || rs.metadata?.uid !== ref.uid) return undefined;
    return rs;
  }

  /** Every controller whose selector matches an orphan pod (getPodReplicaSets). */
  private podOwnerCandidates(pod: Pod): ReplicaSetLike[] {
    const ns = pod.metadata?.namespace ?? '';
    return this.rsLister.list(ns).filter((rs) => {
      try {
        const sel = this.kind.selectorOf(rs);
        return !sel.empty() && sel.matches(pod.metadata?.labels);
      } catch {
        return false;
      }
    });
  }

  private addPod(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      // A pod created already terminating (e.g. after a restart): count it as deleted so
      // expectations are not left waiting for its delete event.
      this.deletePod(pod);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const rs = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
      if (!rs) return;
      const key = keyOf(rs);
      this.expectations.creationObserved(key);
      this.queue.add(key);
      return;
    }
    for (const rs of this.podOwnerCandidates(pod)) this.enqueue(rs);
  }

  private updatePod(oldPod: Pod, curPod: Pod): void {
    if (curPod.metadata?.resourceVersion === oldPod.metadata?.resourceVersion) return;
    const labelChanged = !labelsEqual(curPod.metadata?.labels, oldPod.metadata?.labels);
    if (curPod.metadata?.deletionTimestamp) {
      this.deletePod(curPod);
      if (labelChanged) this.deletePod(oldPod);
      return;
    }
    const curRef = controllerRefOf(curPod);
    const oldRef = controllerRefOf(oldPod);
    const refChanged = !deepEqual(curRef, oldRef);
    if (refChanged && oldRef) {
      const rs = this.resolveControllerRef(oldPod.metadata?.namespace ?? '', oldRef);
      if (rs) this.enqueue(rs);
    }
    if (curRef) {
      const rs = this.resolveControllerRef(curPod.metadata?.namespace ?? '', curRef);
      if (!rs) return;
      this.enqueue(rs);
      // Requeue once the pod has been ready for minReadySeconds, to count it available.
      const minReady = rs.spec?.minReadySeconds ?? 0;
      if (!isPodReady(oldPod) && isPodReady(curPod) && minReady > 0) {
        this.queue.addAfter(keyOf(rs), minReady * 1000 + 1000);
      }
      return;
    }
    if (labelChanged || refChanged) for (const rs of this.podOwnerCandidates(curPod)) this.enqueue(rs);
  }

  private deletePod(obj: Pod | DeletedFinalStateUnknown<Pod>): void {
    const pod = isTombstone(obj) ? obj.obj : obj;
    const ref = controllerRefOf(pod);
    if (!ref) return;
    const rs = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
    if (!rs) return;
    const key = keyOf(rs);
    this.expectations.deletionObserved(key, podKey(pod));
    this.queue.add(key);
  }

  private controllerRef(rs: ReplicaSetLike): OwnerReference {
    return {
      apiVersion: this.kind.apiVersion, kind: this.kind.kind, name: rs.metadata?.name ?? '', uid: rs.metadata?.uid ?? '',
      controller: true, blockOwnerDeletion: true,
    };
  }

  /**
   * syncReplicaSet: brings one controller's pods and status in line with its spec.
   * Rejects to have the key retried with backoff.
   */
  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cached = this.rsLister.get(key);
    if (!cached) {
      this.logger.debug({ key }, `${this.kind.kind} has been deleted`);
      this.expectations.deleteExpectations(key);
      return;
    }
    const rsNeedsSync = this.expectations.satisfiedExpectations(key);
    let selector: Selector;
    try {
      selector = this.kind.selectorOf(cached);
    } catch (err) {
      // An invalid selector will not fix itself by retrying.
      this.logger.error({ key, err }, 'error converting pod selector to selector');
      return;
    }
    const rsClient = this.client.resource<ReplicaSetLike>(this.kind.gvr, namespace);
    const allPods = this.podLister.list(namespace ?? '');
    const manager = new ControllerRefManager<Pod>({
      controller: { ...cached, apiVersion: this.kind.apiVersion, kind: this.kind.kind },
      controllerRef: this.controllerRef(cached),
      selector,
      canAdopt: recheckDeletionTimestamp({ ...cached, kind: this.kind.kind }, () => rsClient.get(name)),
      patch: (pod, patch) => this.podControl.patchPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', patch),
    });
    const filteredPods = await manager.claim(filterActivePods(allPods));

    let manageErr: unknown;
    if (rsNeedsSync && !cached.metadata?.deletionTimestamp) {
      try {
        await this.manageReplicas(filteredPods, cached, key);
      } catch (err) {
        manageErr = err;
      }
    }
    const newStatus = this.calculateStatus(cached, filteredPods, manageErr);
    const updated = await this.updateStatus(cached, newStatus);
    const replicas = updated.spec?.replicas ?? 1;
    const minReady = updated.spec?.minReadySeconds ?? 0;
    if (manageErr === undefined && minReady > 0 && (updated.status?.readyReplicas ?? 0) === replicas &&
      (updated.status?.availableReplicas ?? 0) !== replicas) {
      this.queue.addAfter(key, minReady * 1000);
    }
    if (manageErr !== undefined) throw manageErr;
  }

  /** Creates or deletes pods to move towards spec.replicas. */
  private async manageReplicas(filteredPods: Pod[], rs: ReplicaSetLike, key: string): Promise<void> {
    const namespace = rs.metadata?.namespace ?? '';
    let diff = filteredPods.length - (rs.spec?.replicas ?? 1);
    if (diff < 0) {
      diff = Math.min(-diff, this.burstReplicas);
      // Expect the creations before making them: their add events may arrive before the
      // calls return.
      this.expectations.expectCreations(key, diff);
      this.logger.debug({ key, need: rs.spec?.replicas, creating: diff }, 'Too few replicas');
      const template = rs.spec?.template ?? {};
      const owner = { ...rs, apiVersion: this.kind.apiVersion, kind: this.kind.kind };
      const ref = this.controllerRef(rs);
      const { successes, error } = await slowStartBatch(diff, SLOW_START_INITIAL_BATCH_SIZE, async () => {
        try {
          await this.podControl.createPods(namespace, template, owner, ref);
        } catch (err) {
          // The namespace is going away; nothing more to do.
          if (hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) return;
          throw err;
        }
      });
      // Calls never made (or failed) will never be observed.
      for (let i = 0; i < diff - successes; i++) this.expectations.creationObserved(key);
      if (error !== undefined) throw error;
      return;
    }
    if (diff > 0) {
      diff = Math.min(diff, this.burstReplicas);
      this.logger.debug({ key, need: rs.spec?.replicas, deleting: diff }, 'Too many replicas');
      const related = this.indirectlyRelatedPods(rs);
      const toDelete = getPodsToDelete(filteredPods, related, diff, this.clock.now());
      this.expectations.expectDeletionsOf(key, toDelete.map(podKey));
      const owner = { ...rs, apiVersion: this.kind.apiVersion, kind: this.kind.kind };
      const results = await Promise.allSettled(toDelete.map(async (pod) => {
        try {
          await this.podControl.deletePod(namespace, pod.metadata?.name ?? '', owner);
        } catch (err) {
          // The delete event will never come: stop expecting it.
          this.expectations.deletionObserved(key, podKey(pod));
          if (!isNotFound(err)) throw err;
        }
      }));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  }

  /**
   * getIndirectlyRelatedPods: the pods of every controller sharing this one's owner (a
   * Deployment's ReplicaSets), so scale-down prefers nodes crowded with their pods.
   */
  private indirectlyRelatedPods(rs: ReplicaSetLike): Pod[] {
    const ns = rs.metadata?.namespace ?? '';
    const ownerRef = controllerRefOf(rs);
    const siblings = new Set<string>([rs.metadata?.uid ?? '']);
    if (ownerRef) {
      for (const other of this.rsLister.list(ns)) {
        if (controllerRefOf(other)?.uid === ownerRef.uid) siblings.add(other.metadata?.uid ?? '');
      }
    }
    return this.podLister.list(ns).filter((p) => {
      const ref = controllerRefOf(p);
      return ref !== undefined && siblings.has(ref.uid);
    });
  }

  /** calculateStatus. */
  calculateStatus(rs: ReplicaSetLike, filteredPods: readonly Pod[], manageErr: unknown): ReplicaSetStatus {
    const templateLabels = selectorFromSet(rs.spec?.template?.metadata?.labels);
    const now = this.clock.now();
    const minReady = rs.spec?.minReadySeconds ?? 0;
    let fullyLabeled = 0;
    let ready = 0;
    let available = 0;
    for (const pod of filteredPods) {
      if (templateLabels.matches(pod.metadata?.labels)) fullyLabeled++;
      if (isPodReady(pod)) {
        ready++;
        if (isPodAvailable(pod, minReady, now)) available++;
      }
    }
    let conditions = rs.status?.conditions ? [...rs.status.conditions] : undefined;
    const failure = getCondition(conditions, REPLICA_FAILURE);
    if (manageErr !== undefined && !failure) {
      const diff = filteredPods.length - (rs.spec?.replicas ?? 1);
      const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
      conditions = setCondition(conditions, {
        type: REPLICA_FAILURE, status: 'True', lastTransitionTime: formatRFC3339(now),
        reason, message: manageErr instanceof Error ? manageErr.message : String(manageErr),
      });
    } else if (manageErr === undefined && failure) {
      conditions = removeCondition(conditions, REPLICA_FAILURE);
    }
    // Zero counts are left out, as the Go types' omitempty does on a real cluster.
    const status: ReplicaSetStatus = { replicas: filteredPods.length };
    if (fullyLabeled > 0) status.fullyLabeledReplicas = fullyLabeled;
    if (ready > 0) status.readyReplicas = ready;
    if (available > 0) status.availableReplicas = available;
    if (rs.status?.observedGeneration) status.observedGeneration = rs.status.observedGeneration;
    if (conditions && conditions.length > 0) status.conditions = conditions;
    return status;
  }

  /** updateReplicaSetStatus: writes status (with observedGeneration) unless unchanged. */
  private async updateStatus(rs: ReplicaSetLike, newStatus: ReplicaSetStatus): Promise<ReplicaSetLike> {
    const cur = rs.status;
    const generation = rs.metadata?.generation ?? 0;
    if ((cur?.replicas ?? 0) === newStatus.replicas &&
      (cur?.fullyLabeledReplicas ?? 0) === (newStatus.fullyLabeledReplicas ?? 0) &&
      (cur?.readyReplicas ?? 0) === (newStatus.readyReplicas ?? 0) &&
      (cur?.availableReplicas ?? 0) === (newStatus.availableReplicas ?? 0) &&
      generation === (cur?.observedGeneration ?? 0) &&
      deepEqual(cur?.conditions ?? [], newStatus.conditions ?? [])) {
      return rs;
    }
    const client = this.client.resource<ReplicaSetLike>(this.kind.gvr, rs.metadata?.namespace);
    let target: ReplicaSetLike = rs;
    for (let i = 0; ; i++) {
      const status = { ...newStatus, ...(generation !== 0 ? { observedGeneration: generation } : {}) };
      try {
        return await client.updateStatus({ ...target, status });
      } catch (err) {
        if (i >= STATUS_UPDATE_RETRIES) throw err;
        target = await client.get(rs.metadata?.name ?? '');
      }
    }
  }
}

/** Builds the controller from a ControllerContext (shared informers, queue, recorder). */
export function newController(kind: ReplicaSetKind, ctx: ControllerContext, queue: WorkQueue<string>): ReplicaSetController {
  return new ReplicaSetController({
    kind,
    client: ctx.client,
    podInformer: ctx.informers.forResource<Pod>(Resources.pods),
    rsInformer: ctx.informers.forResource<ReplicaSetLike>(kind.gvr),
    recorder: ctx.recorder(kind.eventSource),
    clock: ctx.clock,
    logger: ctx.logger,
    queue,
    workers: ctx.options.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
}
