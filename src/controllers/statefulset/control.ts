/**
 * The StatefulSet update algorithm, after upstream's stateful_set_control.go,
 * stateful_pod_control.go and stateful_set_status_updater.go.
 *
 * One call of {@link StatefulSetControl.updateStatefulSet} takes a step towards the spec
 * and records status:
 *  1. history: the update revision is the revision equal to the current template (reused,
 *     renumbered to the newest number when rolling back, or created); the current revision
 *     is status.currentRevision's (the update revision the first time).
 *  2. pods are split into replicas (ordinals in range, missing ones built in memory at the
 *     right revision) and condemned (beyond the range, highest first).
 *  3. replicas: failed or succeeded pods are deleted (and recreated once gone), missing
 *     ones created, identities repaired. With OrderedReady (the default) a pod is created
 *     only when every lower ordinal is Running and Ready, and the pass stops at the first
 *     pod that is not; with Parallel all proceed at once.
 *  4. condemned pods are deleted — with OrderedReady one at a time from the highest
 *     ordinal, each only after the previous one is gone and all replicas are healthy.
 *  5. RollingUpdate: the highest-ordinal pod at or above the partition that is not at the
 *     update revision is deleted (step 3 recreates it at the update revision), after every
 *     pod above it is healthy. OnDelete: nothing; deleted pods come back updated.
 *  6. history beyond revisionHistoryLimit is deleted (never the current or update
 *     revision, nor one a pod still carries).
 */
import { Resources, type Client, type EventRecorder } from '../../client/interface.js';
import type { ControllerRevision, Pod, StatefulSet } from '../../client/objects.js';
import { isAlreadyExists, isConflict, isNotFound } from '../../apimachinery/errors.js';
import { labelSelectorAsSelector, type LabelSelector } from '../../apimachinery/labels.js';
import { deepClone, type KObject } from '../../apimachinery/meta.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import {
  History, equalRevision, findEqualRevisions, nextRevision, revisionsToTruncate, sortControllerRevisions,
} from '../history/index.js';
import {
  allowsBurst, applyRevision, getEndOrdinal, getOrdinal, getPodRevision, getStartOrdinal, identityMatches, isCreated,
  isFailed, isHealthy, isRunningAndAvailable, isRunningAndReady, isSucceeded, isTerminating, newRevision,
  newVersionedStatefulSetPod, podInOrdinalRange, replicasOf, statefulSetKind, storageMatches, updateIdentity,
  updateStorage,
} from './utils.js';

export type StatefulSetStatus = NonNullable<StatefulSet['status']>;

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** What the algorithm does to pods (StatefulPodControlObjectManager + events). */
export interface StatefulPodControl {
  createStatefulPod(set: StatefulSet, pod: Pod): Promise<void>;
  /** Repairs identity and storage of a pod (a copy the caller owns). */
  updateStatefulPod(set: StatefulSet, pod: Pod): Promise<void>;
  deleteStatefulPod(set: StatefulSet, pod: Pod): Promise<void>;
}

/** Conflicting pod updates retried (retry.DefaultBackoff's steps). */
const MAX_UPDATE_RETRIES = 4;

/**
 * StatefulPodControl over the API, recording upstream's events on the set:
 * `SuccessfulCreate create Pod web-0 in StatefulSet web successful`,
 * `FailedCreate create Pod web-0 in StatefulSet web failed error: …` (and update, delete).
 */
export class RealStatefulPodControl implements StatefulPodControl {
  private readonly client: Client;
  private readonly recorder: EventRecorder;

  constructor(opts: { client: Client; recorder: EventRecorder }) {
    this.client = opts.client;
    this.recorder = opts.recorder;
  }

  private pods(set: StatefulSet) {
    return this.client.resource<Pod>(Resources.pods, set.metadata?.namespace);
  }

  private recordPodEvent(verb: 'create' | 'update' | 'delete', set: StatefulSet, pod: Pod, err?: unknown): void {
    const title = verb[0]!.toUpperCase() + verb.slice(1);
    const owner = { ...(set as KObject), ...statefulSetKind };
    const podName = pod.metadata?.name ?? '';
    const setName = set.metadata?.name ?? '';
    if (err === undefined) {
      this.recorder.event(owner, 'Normal', `Successful${title}`, `${verb} Pod ${podName} in StatefulSet ${setName} successful`);
    } else {
      this.recorder.event(owner, 'Warning', `Failed${title}`, `${verb} Pod ${podName} in StatefulSet ${setName} failed error: ${errorText(err)}`);
    }
  }

  async createStatefulPod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.pods(set).create(pod);
    } catch (err) {
      // Already there: the cache is behind; the sync is retried, no event.
      if (!isAlreadyExists(err)) this.recordPodEvent('create', set, pod, err);
      throw err;
    }
    this.recordPodEvent('create', set, pod);
  }

  async updateStatefulPod(set: StatefulSet, pod: Pod): Promise<void> {
    let cur = pod;
    let attempted = false;
    let lastErr: unknown;
    for (let attempt = 0; attempt <= MAX_UPDATE_RETRIES; attempt++) {
      let consistent = true;
      if (!identityMatches(set, cur)) {
        updateIdentity(set, cur);
        consistent = false;
      }
      if (!storageMatches(set, cur)) {
        updateStorage(set, cur);
        consistent = false;
      }
      if (consistent) {
        lastErr = undefined;
        break;
      }
      attempted = true;
      try {
        await this.pods(set).update(cur);
        lastErr = undefined;
        break;
      } catch (err) {
        lastErr = err;
        if (!isConflict(err)) break;
      }
      try {
        cur = deepClone(await this.pods(set).get(cur.metadata?.name ?? ''));
      } catch {
        break;
      }
    }
    if (attempted) this.recordPodEvent('update', set, cur, lastErr);
    if (lastErr !== undefined) throw lastErr;
  }

  async deleteStatefulPod(set: StatefulSet, pod: Pod): Promise<void> {
    try {
      await this.pods(set).delete(pod.metadata?.name ?? '');
    } catch (err) {
      this.recordPodEvent('delete', set, pod, err);
      throw err;
    }
    this.recordPodEvent('delete', set, pod);
  }
}

export interface StatefulSetControlOptions {
  client: Client;
  podControl: StatefulPodControl;
  history: History;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
}

/** Status writes retried on a fresh copy after a conflict (retry.DefaultRetry's steps). */
const STATUS_UPDATE_RETRIES = 4;

/** defaultStatefulSetControl. */
export class StatefulSetControl {
  private readonly client: Client;
  private readonly podControl: StatefulPodControl;
  private readonly history: History;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;

  constructor(opts: StatefulSetControlOptions) {
    this.client = opts.client;
    this.podControl = opts.podControl;
    this.history = opts.history;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.logger = opts.logger;
  }

  /** ListRevisions: the set's revisions and the orphans its selector matches. */
  listRevisions(set: StatefulSet): ControllerRevision[] {
    const selector = labelSelectorAsSelector(set.spec?.selector as LabelSelector | undefined);
    return this.history.listControllerRevisions(set, selector);
  }

  /** AdoptOrphanRevisions. */
  async adoptOrphanRevisions(set: StatefulSet, revisions: ControllerRevision[]): Promise<void> {
    const ref = { ...statefulSetKind, name: set.metadata?.name ?? '', uid: set.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
    for (const rev of revisions) await this.history.adoptControllerRevision(ref, rev);
  }

  /**
   * UpdateStatefulSet: one step towards the spec for set and its claimed pods; writes
   * and returns the status. Rejects (after trimming history) on any failed write.
   */
  async updateStatefulSet(set: StatefulSet, pods: Pod[]): Promise<StatefulSetStatus> {
    const revisions = sortControllerRevisions(this.listRevisions(set));
    let current: ControllerRevision | undefined;
    let update: ControllerRevision | undefined;
    let status: StatefulSetStatus;
    try {
      ({ current, update, status } = await this.performUpdate(set, pods, revisions));
    } catch (err) {
      const e = err as { current?: ControllerRevision; update?: ControllerRevision };
      try {
        await this.truncateHistory(set, pods, revisions, e.current, e.update);
      } catch (truncErr) {
        this.logger.warn({ err: errorText(truncErr) }, 'failed to truncate StatefulSet history');
      }
      throw err;
    }
    await this.truncateHistory(set, pods, revisions, current, update);
    return status;
  }

  private async performUpdate(
    set: StatefulSet,
    pods: Pod[],
    revisions: ControllerRevision[],
  ): Promise<{ current: ControllerRevision; update: ControllerRevision; status: StatefulSetStatus }> {
    const { current, update, collisionCount } = await this.getStatefulSetRevisions(set, revisions);
    let status: StatefulSetStatus;
    let err: unknown;
    try {
      status = await this.updateStatefulSetPods(set, current, update, collisionCount, pods);
    } catch (e) {
      const partial = (e as { status?: StatefulSetStatus }).status;
      if (!partial) throw Object.assign(e instanceof Error ? e : new Error(String(e)), { current, update });
      status = partial;
      err = e;
    }
    // The status is written even when a pod write failed, so it reflects what was done.
    let statusErr: unknown;
    try {
      await this.updateStatefulSetStatus(set, status);
    } catch (e) {
      statusErr = e;
    }
    if (err !== undefined) {
      if (statusErr !== undefined) this.logger.warn({ err: errorText(statusErr) }, 'could not update StatefulSet status');
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { current, update });
    }
    if (statusErr !== undefined) throw Object.assign(statusErr instanceof Error ? statusErr : new Error(String(statusErr)), { current, update });
    return { current, update, status };
  }

  /** getStatefulSetRevisions: the current and update revisions and the collision count to record. */
  private async getStatefulSetRevisions(
    set: StatefulSet,
    revisions: ControllerRevision[],
  ): Promise<{ current: ControllerRevision; update: ControllerRevision; collisionCount: number }> {
    let collisionCount = set.status?.collisionCount ?? 0;
    let update = newRevision(set, nextRevision(revisions), collisionCount);
    const equal = findEqualRevisions(revisions, update);
    const last = revisions[revisions.length - 1];
    if (equal.length > 0 && equalRevision(last, equal[equal.length - 1])) {
      // The newest revision already is this template.
      update = last!;
    } else if (equal.length > 0) {
      // Rolling back to an older template: it becomes the newest revision.
      update = await this.history.updateControllerRevision(equal[equal.length - 1]!, update.revision);
    } else {
      ({ revision: update, collisionCount } = await this.history.createControllerRevision(set, update, collisionCount));
    }
    const current = revisions.find((r) => r.metadata?.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount };
  }

  /** computeReplicaStatus over the pod lists, into status. */
  private updateStatus(
    status: StatefulSetStatus,
    minReadySeconds: number,
    current: ControllerRevision,
    update: ControllerRevision,
    ...podLists: Pod[][]
  ): void {
    const now = this.clock.now();
    status.replicas = 0;
    status.readyReplicas = 0;
    status.availableReplicas = 0;
    status.currentReplicas = 0;
    status.updatedReplicas = 0;
    for (const list of podLists) {
      for (const pod of list) {
        if (isCreated(pod)) status.replicas++;
        if (isRunningAndReady(pod)) {
          status.readyReplicas++;
          if (isRunningAndAvailable(pod, minReadySeconds, now)) status.availableReplicas++;
        }
        if (isCreated(pod) && !isTerminating(pod)) {
          const rev = getPodRevision(pod);
          if (rev === current.metadata?.name) status.currentReplicas++;
          if (rev === update.metadata?.name) status.updatedReplicas++;
        }
      }
    }
  }

  /**
   * updateStatefulSet (the pod part): runs steps 2–5 of the module comment and returns
   * the status. A failed write rejects with the error carrying the status computed so far.
   */
  private async updateStatefulSetPods(
    set: StatefulSet,
    current: ControllerRevision,
    update: ControllerRevision,
    collisionCount: number,
    pods: Pod[],
  ): Promise<StatefulSetStatus> {
    const currentSet = applyRevision(set, current);
    const updateSet = applyRevision(set, update);
    const minReady = set.spec?.minReadySeconds ?? 0;
    const status: StatefulSetStatus = {
      observedGeneration: set.metadata?.generation ?? 0,
      currentRevision: current.metadata?.name,
      updateRevision: update.metadata?.name,
      collisionCount,
      replicas: 0,
    };
    this.updateStatus(status, minReady, current, update, pods);

    const start = getStartOrdinal(set);
    const replicaCount = replicasOf(set);
    const replicas: (Pod | undefined)[] = new Array<Pod | undefined>(replicaCount).fill(undefined);
    const condemned: Pod[] = [];
    for (const pod of pods) {
      if (podInOrdinalRange(pod, set)) replicas[getOrdinal(pod) - start] = pod;
      else if (getOrdinal(pod) >= 0) condemned.push(pod);
      // Pods whose names carry no ordinal are ignored.
    }
    for (let ord = start; ord <= getEndOrdinal(set); ord++) {
      if (!replicas[ord - start]) {
        replicas[ord - start] = newVersionedStatefulSetPod(currentSet, updateSet, current.metadata?.name ?? '', update.metadata?.name ?? '', ord);
      }
    }
    const live = replicas as Pod[];
    condemned.sort((a, b) => getOrdinal(b) - getOrdinal(a));

    let firstUnhealthyPod: Pod | undefined = live.find((p) => !isHealthy(p));
    if (!firstUnhealthyPod) {
      for (let i = condemned.length - 1; i >= 0; i--) {
        if (!isHealthy(condemned[i]!)) {
          firstUnhealthyPod = condemned[i];
          break;
        }
      }
    }

    // Being deleted: only status.
    if (set.metadata?.deletionTimestamp) return status;

    const monotonic = !allowsBurst(set);
    const fail = (err: unknown): never => {
      this.updateStatus(status, minReady, current, update, live, condemned);
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { status });
    };

    const replicaExit = await this.runForAll(live.length, (i) => this.processReplica(set, updateSet, monotonic, live, i), monotonic).catch(fail);
    if (replicaExit) {
      this.updateStatus(status, minReady, current, update, live, condemned);
      return status;
    }

    const condemnedExit = await this.runForAll(condemned.length, (i) => this.processCondemned(set, firstUnhealthyPod, monotonic, condemned, i), monotonic).catch(fail);
    this.updateStatus(status, minReady, current, update, live, condemned);
    if (condemnedExit) return status;

    // OnDelete: pods are updated when someone deletes them.
    if ((set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'OnDelete') return status;

    const updateMin = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let target = live.length - 1; target >= updateMin; target--) {
      const pod = live[target]!;
      if (getPodRevision(pod) !== update.metadata?.name && !isTerminating(pod)) {
        this.logger.info({ pod: pod.metadata?.name, set: set.metadata?.name }, 'Pod of StatefulSet is terminating for update');
        try {
          await this.podControl.deleteStatefulPod(set, pod);
        } catch (err) {
          if (!isNotFound(err)) fail(err);
        }
        status.currentReplicas = (status.currentReplicas ?? 0) - 1;
        return status;
      }
      // Wait for the updated pod to be healthy before the next one.
      if (!isHealthy(pod)) return status;
    }
    return status;
  }

  /**
   * runForAll: in order, stopping at the first that asks to (monotonic); or all at once in
   * slow-start batches (burst), where only errors stop. Resolves true when stopped early.
   */
  private async runForAll(count: number, fn: (i: number) => Promise<boolean>, monotonic: boolean): Promise<boolean> {
    if (monotonic) {
      for (let i = 0; i < count; i++) if (await fn(i)) return true;
      return false;
    }
    let next = 0;
    for (let batch = Math.min(count, 1); batch > 0; batch = Math.min(2 * batch, count - next)) {
      const indexes = Array.from({ length: batch }, () => next++);
      const results = await Promise.allSettled(indexes.map((i) => fn(i)));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    return false;
  }

  /** processReplica: one in-range pod; true to stop the pass (monotonic). */
  private async processReplica(set: StatefulSet, updateSet: StatefulSet, monotonic: boolean, replicas: Pod[], i: number): Promise<boolean> {
    const pod = replicas[i]!;
    const ns = set.metadata?.namespace ?? '';
    const owner = { ...(set as KObject), ...statefulSetKind };
    // A finished pod (failed, or succeeded — e.g. evicted or stopped on node reboot) is
    // deleted; it is created anew once the deletion is observed.
    if (isFailed(pod) || isSucceeded(pod)) {
      if (!isTerminating(pod)) {
        const what = `StatefulSet ${ns}/${set.metadata?.name ?? ''} is recreating ${isFailed(pod) ? 'failed' : 'terminated'} Pod ${pod.metadata?.name ?? ''}`;
        if (isFailed(pod)) this.recorder.event(owner, 'Warning', 'RecreatingFailedPod', what);
        else this.recorder.event(owner, 'Normal', 'RecreatingTerminatedPod', what);
        try {
          await this.podControl.deleteStatefulPod(set, pod);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
      return true;
    }
    if (!isCreated(pod)) {
      await this.podControl.createStatefulPod(set, pod);
      // OrderedReady: wait for this pod before touching the next.
      if (monotonic) return true;
    }
    if (isTerminating(pod) && monotonic) {
      this.logger.debug({ pod: pod.metadata?.name }, 'StatefulSet is waiting for Pod to Terminate');
      return true;
    }
    if (!isRunningAndReady(pod) && monotonic) {
      this.logger.debug({ pod: pod.metadata?.name }, 'StatefulSet is waiting for Pod to be Running and Ready');
      return true;
    }
    if (!isRunningAndAvailable(pod, set.spec?.minReadySeconds ?? 0, this.clock.now()) && monotonic) {
      this.logger.debug({ pod: pod.metadata?.name }, 'StatefulSet is waiting for Pod to be Available');
      return true;
    }
    if (!isCreated(pod) || (identityMatches(set, pod) && storageMatches(set, pod))) return false;
    // Repair identity on a copy; the cached pod is shared.
    await this.podControl.updateStatefulPod(updateSet, deepClone(pod));
    return false;
  }

  /** processCondemned: one out-of-range pod; true to stop the pass (monotonic). */
  private async processCondemned(
    set: StatefulSet,
    firstUnhealthyPod: Pod | undefined,
    monotonic: boolean,
    condemned: Pod[],
    i: number,
  ): Promise<boolean> {
    const pod = condemned[i]!;
    if (isTerminating(pod)) {
      // OrderedReady: the next one goes only when this one is gone.
      return monotonic;
    }
    if (monotonic && pod !== firstUnhealthyPod) {
      if (!isRunningAndReady(pod)) return true;
      if (!isRunningAndAvailable(pod, set.spec?.minReadySeconds ?? 0, this.clock.now())) return true;
    }
    this.logger.info({ pod: pod.metadata?.name, set: set.metadata?.name }, 'Pod of StatefulSet is terminating for scale down');
    try {
      await this.podControl.deleteStatefulPod(set, pod);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    return true;
  }

  /**
   * updateStatefulSetStatus: completes a finished rolling update (current := update) and
   * writes status when it changed.
   */
  private async updateStatefulSetStatus(set: StatefulSet, status: StatefulSetStatus): Promise<void> {
    const s = { ...status };
    if ((set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate' &&
      s.updatedReplicas === s.replicas && s.readyReplicas === s.replicas) {
      s.currentReplicas = s.updatedReplicas;
      s.currentRevision = s.updateRevision;
    }
    Object.assign(status, s);
    const cur = set.status;
    const inconsistent = (s.observedGeneration ?? 0) > (cur?.observedGeneration ?? 0) ||
      s.replicas !== (cur?.replicas ?? 0) ||
      (s.currentReplicas ?? 0) !== (cur?.currentReplicas ?? 0) ||
      (s.readyReplicas ?? 0) !== (cur?.readyReplicas ?? 0) ||
      (s.updatedReplicas ?? 0) !== (cur?.updatedReplicas ?? 0) ||
      (s.availableReplicas ?? 0) !== (cur?.availableReplicas ?? 0) ||
      (s.currentRevision ?? '') !== (cur?.currentRevision ?? '') ||
      (s.updateRevision ?? '') !== (cur?.updateRevision ?? '') ||
      (s.collisionCount ?? 0) !== (cur?.collisionCount ?? 0);
    if (!inconsistent) return;
    const client = this.client.resource<StatefulSet>(Resources.statefulsets, set.metadata?.namespace);
    let target = set;
    for (let i = 0; ; i++) {
      try {
        await client.updateStatus({ ...target, status: { ...(target.status ?? {}), ...s } });
        return;
      } catch (err) {
        if (!isConflict(err) || i >= STATUS_UPDATE_RETRIES) throw err;
      }
      target = await client.get(set.metadata?.name ?? '');
    }
  }

  /**
   * truncateHistory: deletes the oldest revisions beyond revisionHistoryLimit, never the
   * current or update revision nor one a pod carries.
   */
  private async truncateHistory(
    set: StatefulSet,
    pods: Pod[],
    revisions: ControllerRevision[],
    current: ControllerRevision | undefined,
    update: ControllerRevision | undefined,
  ): Promise<void> {
    const live = new Set<string>();
    if (current) live.add(current.metadata?.name ?? '');
    if (update) live.add(update.metadata?.name ?? '');
    for (const p of pods) live.add(getPodRevision(p));
    const limit = set.spec?.revisionHistoryLimit ?? 10;
    for (const rev of revisionsToTruncate(revisions, (r) => live.has(r.metadata?.name ?? ''), limit)) {
      await this.history.deleteControllerRevision(rev);
    }
  }
}
