/**
 * The Deployment controller (upstream pkg/controller/deployment): rolls a Deployment's pod
 * template out through ReplicaSets named `<deployment>-<pod-template-hash>`.
 *
 * sync(key) claims the ReplicaSets the selector matches, then
 *  - while paused, or when only spec.replicas changed (a scaling event), scales the
 *    ReplicaSets proportionally and writes status;
 *  - otherwise rolls out: RollingUpdate scales the new ReplicaSet up within maxSurge and old
 *    ones down within maxUnavailable; Recreate scales all old ones to 0, waits for their
 *    pods to go, then scales the new one up;
 *  - keeps the revision annotations that `kubectl rollout history/undo` read (re-using an
 *    old ReplicaSet — a rollback — gives it the next revision), deletes ReplicaSets beyond
 *    revisionHistoryLimit once they are scaled to 0, and maintains the Available and
 *    Progressing conditions, including ProgressDeadlineExceeded, with upstream's reasons
 *    and messages so `kubectl rollout status` behaves as on a real cluster.
 */
import { Resources, isTombstone, keyOf, type Client, type EventRecorder, type Informer, type Lister, type WorkQueue, type DeletedFinalStateUnknown } from '../../client/interface.js';
import type { Deployment, Pod, ReplicaSet } from '../../client/objects.js';
import { labelSelectorAsSelector, labelsEqual, type LabelSelector, type Selector } from '../../apimachinery/labels.js';
import { deepClone, deepEqual, type KObject, type OwnerReference } from '../../apimachinery/meta.js';
import { hasStatusCause, isAlreadyExists, isNotFound } from '../../apimachinery/errors.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { ControllerContext } from '../types.js';
import {
  ControllerRefManager, NAMESPACE_TERMINATING_CAUSE, computeHash, controllerRefOf, recheckDeletionTimestamp, removeCondition,
  runWorkers, setDeploymentCondition,
} from '../util/index.js';
import * as u from './util.js';

/** Upstream's maxRetries: a deployment is dropped from the queue after this many failures in a row. */
const MAX_RETRIES = 15;

type DeploymentStatus = NonNullable<Deployment['status']>;

export interface DeploymentControllerOptions {
  client: Client;
  deploymentInformer: Informer<Deployment>;
  rsInformer: Informer<ReplicaSet>;
  podInformer: Informer<Pod>;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  queue: WorkQueue<string>;
  workers?: number;
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

const controllerKind = { apiVersion: 'apps/v1', kind: 'Deployment' };

export class DeploymentController {
  readonly name = 'deployment';
  readonly queue: WorkQueue<string>;
  private readonly client: Client;
  private readonly dLister: Lister<Deployment>;
  private readonly rsLister: Lister<ReplicaSet>;
  private readonly podLister: Lister<Pod>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;

  constructor(opts: DeploymentControllerOptions) {
    this.client = opts.client;
    this.dLister = opts.deploymentInformer.lister;
    this.rsLister = opts.rsInformer.lister;
    this.podLister = opts.podInformer.lister;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.queue = opts.queue;
    this.workers = opts.workers ?? 5;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});

    opts.deploymentInformer.addEventHandler({
      add: (d) => this.enqueue(d),
      update: (_old, cur) => this.enqueue(cur),
      delete: (obj) => this.enqueue(isTombstone(obj) ? obj.obj : obj),
    });
    opts.rsInformer.addEventHandler({
      add: (rs) => this.addReplicaSet(rs),
      update: (oldRS, curRS) => this.updateReplicaSet(oldRS, curRS),
      delete: (obj) => this.deleteReplicaSet(obj),
    });
    opts.podInformer.addEventHandler({ delete: (obj) => this.deletePod(obj) });
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.waitForCacheSync(signal);
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (k) => this.sync(k), logger: this.logger, maxRetries: MAX_RETRIES, signal });
  }

  private enqueue(d: Deployment): void {
    this.queue.add(keyOf(d));
  }

  // ---------------------------------------------------------------------------------
  // Event handlers: compute keys only.

  private resolveControllerRef(namespace: string, ref: OwnerReference): Deployment | undefined {
    if (ref.kind !== controllerKind.kind) return undefined;
    const d = this.dLister.get(`${namespace}/${ref.name}`);
    return d && d.metadata?.uid === ref.uid ? d : undefined;
  }

  /** getDeploymentsForReplicaSet: deployments whose (non-empty) selector matches an orphan. */
  private deploymentsForReplicaSet(rs: ReplicaSet): Deployment[] {
    return this.dLister.list(rs.metadata?.namespace ?? '').filter((d) => {
      try {
        const sel = labelSelectorAsSelector(d.spec?.selector as LabelSelector | undefined);
        return !sel.empty() && sel.matches(rs.metadata?.labels);
      } catch {
        return false;
      }
    });
  }

  private addReplicaSet(rs: ReplicaSet): void {
    if (rs.metadata?.deletionTimestamp) {
      this.deleteReplicaSet(rs);
      return;
    }
    const ref = controllerRefOf(rs);
    if (ref) {
      const d = this.resolveControllerRef(rs.metadata?.namespace ?? '', ref);
      if (d) this.enqueue(d);
      return;
    }
    for (const d of this.deploymentsForReplicaSet(rs)) this.enqueue(d);
  }

  private updateReplicaSet(oldRS: ReplicaSet, curRS: ReplicaSet): void {
    if (curRS.metadata?.resourceVersion === oldRS.metadata?.resourceVersion) return;
    const curRef = controllerRefOf(curRS);
    const oldRef = controllerRefOf(oldRS);
    const refChanged = !deepEqual(curRef, oldRef);
    if (refChanged && oldRef) {
      const d = this.resolveControllerRef(oldRS.metadata?.namespace ?? '', oldRef);
      if (d) this.enqueue(d);
    }
    if (curRef) {
      const d = this.resolveControllerRef(curRS.metadata?.namespace ?? '', curRef);
      if (d) this.enqueue(d);
      return;
    }
    if (refChanged || !labelsEqual(curRS.metadata?.labels, oldRS.metadata?.labels)) {
      for (const d of this.deploymentsForReplicaSet(curRS)) this.enqueue(d);
    }
  }

  private deleteReplicaSet(obj: ReplicaSet | DeletedFinalStateUnknown<ReplicaSet>): void {
    const rs = isTombstone(obj) ? obj.obj : obj;
    const ref = controllerRefOf(rs);
    if (!ref) return;
    const d = this.resolveControllerRef(rs.metadata?.namespace ?? '', ref);
    if (d) this.enqueue(d);
  }

  /** A Recreate rollout waits for old pods to be gone: a pod deletion may unblock it. */
  private deletePod(obj: Pod | DeletedFinalStateUnknown<Pod>): void {
    const pod = isTombstone(obj) ? obj.obj : obj;
    const ns = pod.metadata?.namespace ?? '';
    const rsRef = controllerRefOf(pod);
    if (!rsRef || rsRef.kind !== 'ReplicaSet') return;
    const rs = this.rsLister.get(`${ns}/${rsRef.name}`);
    if (!rs || rs.metadata?.uid !== rsRef.uid) return;
    const dRef = controllerRefOf(rs);
    const d = dRef ? this.resolveControllerRef(ns, dRef) : undefined;
    if (d && d.spec?.strategy?.type === 'Recreate') this.enqueue(d);
  }

  // ---------------------------------------------------------------------------------
  // sync

  /** syncDeployment. */
  async sync(key: string): Promise<void> {
    const cached = this.dLister.get(key);
    if (!cached) {
      this.logger.debug({ key }, 'Deployment has been deleted');
      return;
    }
    const d = deepClone(cached);
    const selectorSpec = d.spec?.selector as LabelSelector | undefined;
    if (selectorSpec && deepEqual(selectorSpec, {})) {
      this.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata?.generation ?? 0)) {
        d.status = { ...d.status, observedGeneration: d.metadata?.generation ?? 0 };
        await this.updateDeploymentStatus(d);
      }
      return;
    }
    const rsList = await this.getReplicaSetsForDeployment(d);
    if (d.metadata?.deletionTimestamp) {
      await this.syncStatusOnly(d, rsList);
      return;
    }
    await this.checkPausedConditions(d);
    if (d.spec?.paused) {
      await this.syncScaling(d, rsList);
      return;
    }
    if (await this.isScalingEvent(d, rsList)) {
      await this.syncScaling(d, rsList);
      return;
    }
    if (d.spec?.strategy?.type === 'Recreate') {
      await this.rolloutRecreate(d, rsList, this.getPodMapForDeployment(d, rsList));
      return;
    }
    await this.rolloutRolling(d, rsList);
  }

  private async updateDeploymentStatus(d: Deployment): Promise<Deployment> {
    const updated = await this.client.resource<Deployment>(Resources.deployments, d.metadata?.namespace).updateStatus(deepClone(d));
    // Later steps of the same sync build on what the server accepted.
    d.metadata = updated.metadata;
    return updated;
  }

  /** getReplicaSetsForDeployment: the ReplicaSets this deployment owns, after adopting and releasing. */
  private async getReplicaSetsForDeployment(d: Deployment): Promise<ReplicaSet[]> {
    const ns = d.metadata?.namespace ?? '';
    const selector = labelSelectorAsSelector(d.spec?.selector as LabelSelector | undefined);
    const dClient = this.client.resource<Deployment>(Resources.deployments, ns);
    const rsClient = this.client.resource<ReplicaSet>(Resources.replicasets, ns);
    const manager = new ControllerRefManager<ReplicaSet>({
      controller: { ...d, ...controllerKind } as KObject,
      controllerRef: { ...controllerKind, name: d.metadata?.name ?? '', uid: d.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true },
      selector,
      canAdopt: recheckDeletionTimestamp({ ...d, ...controllerKind } as KObject, () => dClient.get(d.metadata?.name ?? '') as Promise<KObject>),
      patch: (rs, patch) => rsClient.patch(rs.metadata?.name ?? '', 'application/strategic-merge-patch+json', patch),
    });
    return manager.claim(this.rsLister.list(ns));
  }

  /** getPodMapForDeployment: the deployment's pods grouped by owning ReplicaSet UID. */
  private getPodMapForDeployment(d: Deployment, rsList: readonly ReplicaSet[]): Map<string, Pod[]> {
    const selector: Selector = labelSelectorAsSelector(d.spec?.selector as LabelSelector | undefined);
    const map = new Map<string, Pod[]>();
    for (const rs of rsList) map.set(rs.metadata?.uid ?? '', []);
    for (const pod of this.podLister.list(d.metadata?.namespace ?? '')) {
      if (!selector.matches(pod.metadata?.labels)) continue;
      const ref = controllerRefOf(pod);
      if (!ref) continue;
      map.get(ref.uid)?.push(pod);
    }
    return map;
  }

  /** checkPausedConditions: Progressing Unknown with DeploymentPaused / DeploymentResumed. */
  private async checkPausedConditions(d: Deployment): Promise<void> {
    if (!u.hasProgressDeadline(d)) return;
    const cond = u.getDeploymentCondition(d.status, u.DEPLOYMENT_PROGRESSING);
    if (cond?.reason === u.TIMED_OUT_REASON) return;
    const pausedCondExists = cond?.reason === u.PAUSED_DEPLOY_REASON;
    const now = this.clock.now();
    let condition;
    if (d.spec?.paused && !pausedCondExists) {
      condition = u.newDeploymentCondition(u.DEPLOYMENT_PROGRESSING, 'Unknown', u.PAUSED_DEPLOY_REASON, 'Deployment is paused', now);
    } else if (!d.spec?.paused && pausedCondExists) {
      condition = u.newDeploymentCondition(u.DEPLOYMENT_PROGRESSING, 'Unknown', u.RESUMED_DEPLOY_REASON, 'Deployment is resumed', now);
    } else {
      return;
    }
    d.status = { ...d.status, conditions: setDeploymentCondition(d.status?.conditions, condition) };
    const updated = await this.updateDeploymentStatus(d);
    d.status = updated.status;
  }

  /** isScalingEvent: an active ReplicaSet's desired-replicas annotation differs from spec.replicas. */
  private async isScalingEvent(d: Deployment, rsList: ReplicaSet[]): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    for (const rs of u.filterActive([...oldRSs, newRS])) {
      const desired = u.desiredReplicasAnnotation(rs);
      if (desired === undefined) continue;
      if (desired !== u.replicasOf(d)) return true;
    }
    return false;
  }

  private async getAllReplicaSetsAndSyncRevision(d: Deployment, rsList: ReplicaSet[], createIfNotExisted: boolean): Promise<{ newRS: ReplicaSet | undefined; oldRSs: ReplicaSet[] }> {
    const { all: oldRSs } = u.findOldReplicaSets(d, rsList);
    const newRS = await this.getNewReplicaSet(d, rsList, oldRSs, createIfNotExisted);
    return { newRS, oldRSs };
  }

  /**
   * getNewReplicaSet: the ReplicaSet running the current template, its annotations and
   * revision brought up to date (re-using an old one gives it the next revision); created
   * — named `<deployment>-<pod-template-hash>` — when absent and createIfNotExisted.
   */
  private async getNewReplicaSet(d: Deployment, rsList: ReplicaSet[], oldRSs: ReplicaSet[], createIfNotExisted: boolean): Promise<ReplicaSet | undefined> {
    const ns = d.metadata?.namespace ?? '';
    const rsClient = this.client.resource<ReplicaSet>(Resources.replicasets, ns);
    const existing = u.findNewReplicaSet(d, rsList);
    const newRevision = String(u.maxRevision(oldRSs) + 1);
    const now = this.clock.now();

    if (existing) {
      const rsCopy = deepClone(existing);
      const annotationsUpdated = u.setNewReplicaSetAnnotations(d, rsCopy, newRevision, true);
      const minReadyNeedsUpdate = (rsCopy.spec?.minReadySeconds ?? 0) !== (d.spec?.minReadySeconds ?? 0);
      if (annotationsUpdated || minReadyNeedsUpdate) {
        rsCopy.spec = { ...rsCopy.spec!, minReadySeconds: d.spec?.minReadySeconds ?? 0 };
        const updated = await rsClient.update(rsCopy);
        // Later steps of this sync must not write from the stale copy (a certain Conflict).
        const i = rsList.indexOf(existing);
        if (i >= 0) rsList[i] = updated;
        return updated;
      }
      let needsUpdate = u.setDeploymentRevision(d, rsCopy.metadata?.annotations?.[u.REVISION_ANNOTATION] ?? '');
      const cond = u.getDeploymentCondition(d.status, u.DEPLOYMENT_PROGRESSING);
      if (u.hasProgressDeadline(d) && !cond) {
        const c = u.newDeploymentCondition(u.DEPLOYMENT_PROGRESSING, 'True', u.FOUND_NEW_RS_REASON, `Found new replica set "${rsCopy.metadata?.name ?? ''}"`, now);
        d.status = { ...d.status, conditions: setDeploymentCondition(d.status?.conditions, c) };
        needsUpdate = true;
      }
      if (needsUpdate) {
        const updated = await this.updateDeploymentStatus(d);
        d.status = updated.status;
      }
      return rsCopy;
    }
    if (!createIfNotExisted) return undefined;

    const template = deepClone(d.spec!.template);
    const hash = computeHash(template, d.status?.collisionCount);
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, [u.POD_TEMPLATE_HASH_LABEL]: hash } };
    const selector = deepClone(d.spec!.selector);
    selector.matchLabels = { ...selector.matchLabels, [u.POD_TEMPLATE_HASH_LABEL]: hash };
    const name = `${d.metadata?.name ?? ''}-${hash}`;
    const newRS: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name,
        namespace: ns,
        ownerReferences: [{ ...controllerKind, name: d.metadata?.name ?? '', uid: d.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
        labels: { ...template.metadata.labels },
      },
      spec: { replicas: 0, minReadySeconds: d.spec?.minReadySeconds ?? 0, selector, template },
    };
    const newReplicasCount = u.newRSNewReplicas(d, [...oldRSs, newRS], newRS);
    newRS.spec!.replicas = newReplicasCount;
    u.setNewReplicaSetAnnotations(d, newRS, newRevision, false);

    let created: ReplicaSet;
    let alreadyExists = false;
    try {
      created = await rsClient.create(newRS);
    } catch (err) {
      if (isAlreadyExists(err)) {
        alreadyExists = true;
        const rs = this.rsLister.get(`${ns}/${name}`) ?? await rsClient.get(name);
        const ref = controllerRefOf(rs);
        if (ref && ref.uid === d.metadata?.uid && u.equalIgnoreHash(d.spec?.template, rs.spec?.template)) {
          created = rs;
        } else {
          // A hash collision: another template hashes to the same name. Bump collisionCount
          // so the next sync computes a different hash.
          d.status = { ...d.status, collisionCount: (d.status?.collisionCount ?? 0) + 1 };
          try {
            await this.updateDeploymentStatus(d);
            this.logger.info({ deployment: keyOf(d), collisionCount: d.status.collisionCount }, 'Found a hash collision for deployment - bumping collisionCount to resolve it');
          } catch { /* requeued by the error below */ }
          throw err;
        }
      } else if (hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) {
        throw err;
      } else {
        const msg = `Failed to create new replica set "${name}": ${err instanceof Error ? err.message : String(err)}`;
        if (u.hasProgressDeadline(d)) {
          const c = u.newDeploymentCondition(u.DEPLOYMENT_PROGRESSING, 'False', u.FAILED_RS_CREATE_REASON, msg, now);
          d.status = { ...d.status, conditions: setDeploymentCondition(d.status?.conditions, c) };
          await this.updateDeploymentStatus(d).catch(() => undefined);
        }
        this.recorder.event(d, 'Warning', u.FAILED_RS_CREATE_REASON, msg);
        throw err;
      }
    }
    if (!alreadyExists && newReplicasCount > 0) {
      this.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${created.metadata?.name ?? ''} from 0 to ${newReplicasCount}`);
    }
    let needsUpdate = u.setDeploymentRevision(d, newRevision);
    if (!alreadyExists && u.hasProgressDeadline(d)) {
      const c = u.newDeploymentCondition(u.DEPLOYMENT_PROGRESSING, 'True', u.NEW_RS_NEW_REPLICAS_REASON, `Created new replica set "${created.metadata?.name ?? ''}"`, now);
      d.status = { ...d.status, conditions: setDeploymentCondition(d.status?.conditions, c) };
      needsUpdate = true;
    }
    if (needsUpdate) {
      const updated = await this.updateDeploymentStatus(d);
      d.status = updated.status;
    }
    return created;
  }

  // ---------------------------------------------------------------------------------
  // Scaling (paused deployments and scaling events)

  /** sync: scale proportionally, clean up when paused, write status. */
  private async syncScaling(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    await this.scale(d, newRS, oldRSs);
    if (d.spec?.paused) await this.cleanupDeployment(oldRSs, d);
    await this.syncDeploymentStatus([...oldRSs, newRS], newRS, d);
  }

  private async syncStatusOnly(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    await this.syncDeploymentStatus([...oldRSs, newRS], newRS, d);
  }

  /** scale: grow or shrink the active ReplicaSets proportionally to a new spec.replicas. */
  private async scale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const replicas = u.replicasOf(d);
    const activeOrLatest = u.findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest) {
      if (u.rsReplicas(activeOrLatest) === replicas) return;
      await this.scaleReplicaSetAndRecordEvent(activeOrLatest, replicas, d);
      return;
    }
    if (u.isSaturated(d, newRS)) {
      for (const old of u.filterActive(oldRSs)) await this.scaleReplicaSetAndRecordEvent(old, 0, d);
      return;
    }
    if (!u.isRollingUpdate(d)) return;
    const allRSs = u.filterActive([...oldRSs, newRS]);
    const allRSsReplicas = u.specReplicaCount(allRSs);
    const allowedSize = replicas > 0 ? replicas + u.maxSurge(d) : 0;
    const toAdd = allowedSize - allRSsReplicas;
    let operation = '';
    if (toAdd > 0) {
      allRSs.sort(u.bySizeNewer);
      operation = 'up';
    } else if (toAdd < 0) {
      allRSs.sort(u.bySizeOlder);
      operation = 'down';
    }
    let added = 0;
    const nameToSize = new Map<string, number>();
    for (const rs of allRSs) {
      if (toAdd !== 0) {
        const proportion = u.replicaSetProportion(rs, d, toAdd, added);
        nameToSize.set(rs.metadata?.name ?? '', u.rsReplicas(rs) + proportion);
        added += proportion;
      } else {
        nameToSize.set(rs.metadata?.name ?? '', u.rsReplicas(rs));
      }
    }
    for (let i = 0; i < allRSs.length; i++) {
      const rs = allRSs[i]!;
      const name = rs.metadata?.name ?? '';
      if (i === 0 && toAdd !== 0) nameToSize.set(name, Math.max(0, nameToSize.get(name)! + toAdd - added));
      await this.scaleReplicaSet(rs, nameToSize.get(name)!, d, operation);
    }
  }

  private async scaleReplicaSetAndRecordEvent(rs: ReplicaSet, newScale: number, d: Deployment): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    if (u.rsReplicas(rs) === newScale) return { scaled: false, rs };
    return this.scaleReplicaSet(rs, newScale, d, u.rsReplicas(rs) < newScale ? 'up' : 'down');
  }

  /** scaleReplicaSet: sets spec.replicas and the replica annotations; "Scaled up/down …" events. */
  private async scaleReplicaSet(rs: ReplicaSet, newScale: number, d: Deployment, operation: string): Promise<{ scaled: boolean; rs: ReplicaSet }> {
    const sizeNeedsUpdate = u.rsReplicas(rs) !== newScale;
    const desired = u.replicasOf(d);
    const max = desired + u.maxSurge(d);
    if (!sizeNeedsUpdate && !u.replicasAnnotationsNeedUpdate(rs, desired, max)) return { scaled: false, rs };
    const oldScale = u.rsReplicas(rs);
    const rsCopy = deepClone(rs);
    rsCopy.spec = { ...rsCopy.spec!, replicas: newScale };
    u.setReplicasAnnotations(rsCopy, desired, max);
    const updated = await this.client.resource<ReplicaSet>(Resources.replicasets, rs.metadata?.namespace).update(rsCopy);
    if (sizeNeedsUpdate) {
      this.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled ${operation} replica set ${updated.metadata?.name ?? ''} to ${newScale} from ${oldScale}`);
    }
    return { scaled: sizeNeedsUpdate, rs: updated };
  }

  /** cleanupDeployment: delete the oldest ReplicaSets beyond revisionHistoryLimit that have no pods. */
  private async cleanupDeployment(oldRSs: ReplicaSet[], d: Deployment): Promise<void> {
    if (!u.hasRevisionHistoryLimit(d)) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata?.deletionTimestamp);
    const diff = cleanable.length - (d.spec?.revisionHistoryLimit ?? 10);
    if (diff <= 0) return;
    cleanable.sort(u.byRevision);
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i]!;
      if ((rs.status?.replicas ?? 0) !== 0 || u.rsReplicas(rs) !== 0 ||
        (rs.metadata?.generation ?? 0) > (rs.status?.observedGeneration ?? 0) || rs.metadata?.deletionTimestamp) continue;
      this.logger.debug({ rs: keyOf(rs), deployment: keyOf(d) }, 'Trying to cleanup replica set for deployment');
      try {
        await this.client.resource<ReplicaSet>(Resources.replicasets, rs.metadata?.namespace).delete(rs.metadata?.name ?? '');
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  // ---------------------------------------------------------------------------------
  // Rollouts

  /** rolloutRolling. */
  private async rolloutRolling(d: Deployment, rsList: ReplicaSet[]): Promise<void> {
    const { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true);
    const allRSs = [...oldRSs, newRS];
    if (newRS && await this.reconcileNewReplicaSet(allRSs, newRS, d)) {
      await this.syncRolloutStatus(allRSs, newRS, d);
      return;
    }
    if (newRS && await this.reconcileOldReplicaSets(allRSs, u.filterActive(oldRSs), newRS, d)) {
      await this.syncRolloutStatus(allRSs, newRS, d);
      return;
    }
    if (u.deploymentComplete(d, d.status ?? {})) await this.cleanupDeployment(oldRSs, d);
    await this.syncRolloutStatus(allRSs, newRS, d);
  }

  private async reconcileNewReplicaSet(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
    const replicas = u.replicasOf(d);
    if (u.rsReplicas(newRS) === replicas) return false;
    if (u.rsReplicas(newRS) > replicas) return (await this.scaleReplicaSetAndRecordEvent(newRS, replicas, d)).scaled;
    const count = u.newRSNewReplicas(d, allRSs, newRS);
    return (await this.scaleReplicaSetAndRecordEvent(newRS, count, d)).scaled;
  }

  private async reconcileOldReplicaSets(allRSs: (ReplicaSet | undefined)[], oldRSs: ReplicaSet[], newRS: ReplicaSet, d: Deployment): Promise<boolean> {
    const oldPodsCount = u.specReplicaCount(oldRSs);
    if (oldPodsCount === 0) return false;
    const allPodsCount = u.specReplicaCount(allRSs);
    const minAvailable = u.replicasOf(d) - u.maxUnavailable(d);
    const newRSUnavailable = u.rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = allPodsCount - minAvailable - newRSUnavailable;
    if (maxScaledDown <= 0) return false;
    const { oldRSs: cleaned, count: cleanupCount } = await this.cleanupUnhealthyReplicas(oldRSs, d, maxScaledDown);
    const scaledDown = await this.scaleDownOldReplicaSetsForRollingUpdate([...cleaned, newRS], cleaned, d);
    return cleanupCount + scaledDown > 0;
  }

  /** cleanupUnhealthyReplicas: scale old ReplicaSets down by their unavailable pods first. */
  private async cleanupUnhealthyReplicas(oldRSs: ReplicaSet[], d: Deployment, maxCleanupCount: number): Promise<{ oldRSs: ReplicaSet[]; count: number }> {
    const sorted = [...oldRSs].sort(u.byCreationTimestamp);
    let total = 0;
    for (let i = 0; i < sorted.length; i++) {
      if (total >= maxCleanupCount) break;
      const rs = sorted[i]!;
      const replicas = u.rsReplicas(rs);
      const available = rs.status?.availableReplicas ?? 0;
      if (replicas === 0 || replicas === available) continue;
      const scaledDown = Math.min(maxCleanupCount - total, replicas - available);
      const newCount = replicas - scaledDown;
      if (newCount > replicas) throw new Error(`when cleaning up unhealthy replicas, got invalid request to scale down ${keyOf(rs)} ${replicas} -> ${newCount}`);
      const r = await this.scaleReplicaSetAndRecordEvent(rs, newCount, d);
      total += scaledDown;
      sorted[i] = r.rs;
    }
    return { oldRSs: sorted, count: total };
  }

  /** scaleDownOldReplicaSetsForRollingUpdate: oldest first, keeping minAvailable available. */
  private async scaleDownOldReplicaSetsForRollingUpdate(allRSs: (ReplicaSet | undefined)[], oldRSs: ReplicaSet[], d: Deployment): Promise<number> {
    const minAvailable = u.replicasOf(d) - u.maxUnavailable(d);
    const available = u.availableReplicaCount(allRSs);
    if (available <= minAvailable) return 0;
    const sorted = [...oldRSs].sort(u.byCreationTimestamp);
    const totalToScaleDown = available - minAvailable;
    let total = 0;
    for (const rs of sorted) {
      if (total >= totalToScaleDown) break;
      if (u.rsReplicas(rs) === 0) continue;
      const count = Math.min(u.rsReplicas(rs), totalToScaleDown - total);
      await this.scaleReplicaSetAndRecordEvent(rs, u.rsReplicas(rs) - count, d);
      total += count;
    }
    return total;
  }

  /** rolloutRecreate: all old pods gone before the new ReplicaSet scales up. */
  private async rolloutRecreate(d: Deployment, rsList: ReplicaSet[], podMap: Map<string, Pod[]>): Promise<void> {
    let { newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, false);
    let allRSs = [...oldRSs, newRS];
    let scaledDown = false;
    for (const rs of u.filterActive(oldRSs)) {
      if ((await this.scaleReplicaSetAndRecordEvent(rs, 0, d)).scaled) scaledDown = true;
    }
    if (scaledDown) {
      await this.syncRolloutStatus(allRSs, newRS, d);
      return;
    }
    if (this.oldPodsRunning(newRS, oldRSs, podMap)) {
      await this.syncRolloutStatus(allRSs, newRS, d);
      return;
    }
    if (!newRS) {
      ({ newRS, oldRSs } = await this.getAllReplicaSetsAndSyncRevision(d, rsList, true));
      allRSs = [...oldRSs, newRS];
    }
    if (newRS) await this.scaleReplicaSetAndRecordEvent(newRS, u.replicasOf(d), d);
    if (u.deploymentComplete(d, d.status ?? {})) await this.cleanupDeployment(oldRSs, d);
    await this.syncRolloutStatus(allRSs, newRS, d);
  }

  private oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[], podMap: Map<string, Pod[]>): boolean {
    if (u.actualReplicaCount(oldRSs) > 0) return true;
    for (const [uid, pods] of podMap) {
      if (newRS && newRS.metadata?.uid === uid) continue;
      for (const pod of pods) {
        const phase = pod.status?.phase;
        if (phase === 'Failed' || phase === 'Succeeded') continue;
        return true;
      }
    }
    return false;
  }

  // ---------------------------------------------------------------------------------
  // Status

  /** calculateStatus: counts from the ReplicaSets and the Available condition. */
  private calculateStatus(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): DeploymentStatus {
    const available = u.availableReplicaCount(allRSs);
    const total = u.specReplicaCount(allRSs);
    // Zero counts are left out, as the Go type's omitempty does on a real cluster.
    const counts: [keyof DeploymentStatus, number][] = [
      ['observedGeneration', d.metadata?.generation ?? 0],
      ['replicas', u.actualReplicaCount(allRSs)],
      ['updatedReplicas', u.actualReplicaCount([newRS])],
      ['readyReplicas', u.readyReplicaCount(allRSs)],
      ['availableReplicas', available],
      ['unavailableReplicas', Math.max(0, total - available)],
    ];
    const status: DeploymentStatus = {};
    for (const [k, v] of counts) if (v !== 0) (status as Record<string, number>)[k] = v;
    if (d.status?.collisionCount !== undefined && d.status.collisionCount !== null) status.collisionCount = d.status.collisionCount;
    let conditions = [...(d.status?.conditions ?? [])];
    const now = this.clock.now();
    if (available >= u.replicasOf(d) - u.maxUnavailable(d)) {
      conditions = setDeploymentCondition(conditions, u.newDeploymentCondition(u.DEPLOYMENT_AVAILABLE, 'True', u.MINIMUM_REPLICAS_AVAILABLE, 'Deployment has minimum availability.', now));
    } else {
      conditions = setDeploymentCondition(conditions, u.newDeploymentCondition(u.DEPLOYMENT_AVAILABLE, 'False', u.MINIMUM_REPLICAS_UNAVAILABLE, 'Deployment does not have minimum availability.', now));
    }
    if (conditions.length > 0) status.conditions = conditions;
    return status;
  }

  /** syncDeploymentStatus: status without progress estimation (scaling, paused). */
  private async syncDeploymentStatus(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
    const newStatus = this.calculateStatus(allRSs, newRS, d);
    if (statusEqual(d.status, newStatus)) return;
    await this.updateDeploymentStatus({ ...d, status: newStatus });
  }

  /** syncRolloutStatus: status plus the Progressing condition and ReplicaFailure. */
  private async syncRolloutStatus(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment): Promise<void> {
    const newStatus = this.calculateStatus(allRSs, newRS, d);
    const now = this.clock.now();
    const setCond = (c: ReturnType<typeof u.newDeploymentCondition>) => {
      newStatus.conditions = setDeploymentCondition(newStatus.conditions, c);
    };
    if (!u.hasProgressDeadline(d)) newStatus.conditions = removeCondition(newStatus.conditions, u.DEPLOYMENT_PROGRESSING);
    const currentCond = u.getDeploymentCondition(d.status, u.DEPLOYMENT_PROGRESSING);
    const isComplete = newStatus.replicas === newStatus.updatedReplicas && currentCond?.reason === u.NEW_RS_AVAILABLE_REASON;
    if (u.hasProgressDeadline(d) && !isComplete) {
      const dName = d.metadata?.name ?? '';
      if (u.deploymentComplete(d, newStatus)) {
        const msg = newRS ? `ReplicaSet "${newRS.metadata?.name ?? ''}" has successfully progressed.` : `Deployment "${dName}" has successfully progressed.`;
        setCond(u.newDeploymentCondition(u.DEPLOYMENT_PROGRESSING, 'True', u.NEW_RS_AVAILABLE_REASON, msg, now));
      } else if (u.deploymentProgressing(d, newStatus)) {
        const msg = newRS ? `ReplicaSet "${newRS.metadata?.name ?? ''}" is progressing.` : `Deployment "${dName}" is progressing.`;
        const c = u.newDeploymentCondition(u.DEPLOYMENT_PROGRESSING, 'True', u.REPLICA_SET_UPDATED_REASON, msg, now);
        // Progress moves lastUpdateTime even when the reason stays the same.
        if (currentCond) {
          if (currentCond.status === 'True' && currentCond.lastTransitionTime) c.lastTransitionTime = currentCond.lastTransitionTime;
          newStatus.conditions = removeCondition(newStatus.conditions, u.DEPLOYMENT_PROGRESSING);
        }
        setCond(c);
      } else if (u.deploymentTimedOut(d, newStatus, now)) {
        const msg = newRS ? `ReplicaSet "${newRS.metadata?.name ?? ''}" has timed out progressing.` : `Deployment "${dName}" has timed out progressing.`;
        setCond(u.newDeploymentCondition(u.DEPLOYMENT_PROGRESSING, 'False', u.TIMED_OUT_REASON, msg, now));
      }
    }
    const failures = replicaFailures(allRSs, newRS);
    if (failures.length > 0) setCond(failures[0]!);
    else newStatus.conditions = removeCondition(newStatus.conditions, u.DEPLOYMENT_REPLICA_FAILURE);
    if (newStatus.conditions?.length === 0) delete newStatus.conditions;

    if (statusEqual(d.status, newStatus)) {
      this.requeueStuckDeployment(d, newStatus);
      return;
    }
    await this.updateDeploymentStatus({ ...d, status: newStatus });
  }

  /** requeueStuckDeployment: check again when the progress deadline would pass. */
  private requeueStuckDeployment(d: Deployment, newStatus: DeploymentStatus): void {
    const cond = u.getDeploymentCondition(d.status, u.DEPLOYMENT_PROGRESSING);
    if (!u.hasProgressDeadline(d) || !cond) return;
    if (u.deploymentComplete(d, newStatus) || cond.reason === u.TIMED_OUT_REASON) return;
    const from = Date.parse(cond.lastUpdateTime ?? '') || 0;
    const after = from + (d.spec?.progressDeadlineSeconds ?? 0) * 1000 - this.clock.now();
    if (after < 1000) {
      this.queue.addRateLimited(keyOf(d));
      return;
    }
    this.queue.addAfter(keyOf(d), after + 1000);
  }
}

/** getReplicaFailures: the new ReplicaSet's ReplicaFailure conditions, else any old one's. */
function replicaFailures(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): ReturnType<typeof u.newDeploymentCondition>[] {
  const toDeployment = (rs: ReplicaSet) => (rs.status?.conditions ?? []).filter((c) => c.type === u.DEPLOYMENT_REPLICA_FAILURE).map((c) => ({
    type: c.type, status: c.status, reason: c.reason, message: c.message,
    lastTransitionTime: c.lastTransitionTime, lastUpdateTime: c.lastTransitionTime,
  }));
  if (newRS) {
    const fromNew = toDeployment(newRS);
    if (fromNew.length > 0) return fromNew;
  }
  return allRSs.flatMap((rs) => (rs ? toDeployment(rs) : []));
}

function statusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  const norm = (s: DeploymentStatus | undefined) => ({
    observedGeneration: s?.observedGeneration ?? 0,
    replicas: s?.replicas ?? 0,
    updatedReplicas: s?.updatedReplicas ?? 0,
    readyReplicas: s?.readyReplicas ?? 0,
    availableReplicas: s?.availableReplicas ?? 0,
    unavailableReplicas: s?.unavailableReplicas ?? 0,
    collisionCount: s?.collisionCount,
    conditions: s?.conditions ?? [],
  });
  return deepEqual(norm(a), norm(b));
}

/** Builds the controller from a ControllerContext. */
export function newController(ctx: ControllerContext, queue: WorkQueue<string>): DeploymentController {
  return new DeploymentController({
    client: ctx.client,
    deploymentInformer: ctx.informers.forResource<Deployment>(Resources.deployments),
    rsInformer: ctx.informers.forResource<ReplicaSet>(Resources.replicasets),
    podInformer: ctx.informers.forResource<Pod>(Resources.pods),
    recorder: ctx.recorder('deployment-controller'),
    clock: ctx.clock,
    logger: ctx.logger,
    queue,
    workers: ctx.options.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
}

