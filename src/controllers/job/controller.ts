/**
 * The Job controller (upstream pkg/controller/job, v1.32 with its default feature gates).
 *
 * sync(key) is level-triggered. It claims the Job's pods (adopting orphans with the
 * `batch.kubernetes.io/job-tracking` finalizer), counts the finished ones exactly once —
 * a finished pod's UID goes to status.uncountedTerminatedPods, its finalizer is removed,
 * and only then does it move into status.succeeded/failed — creates pods up to
 * spec.parallelism without exceeding the remaining completions (with exponential backoff
 * after failures: 10 s doubling, capped at 10 min), deletes surplus pods, and decides the
 * outcome:
 *  - success: `SuccessCriteriaMet` (reason CompletionsReached) first, then, once no pod
 *    is left terminating and every pod has been counted, `Complete` with completionTime
 *    and a `Completed` event;
 *  - failure (more failures than spec.backoffLimit, or spec.activeDeadlineSeconds past):
 *    `FailureTarget` first, active pods deleted, then `Failed` with reason
 *    BackoffLimitExceeded / DeadlineExceeded and a Warning event of the same reason.
 * Indexed Jobs get one pod per completion index (annotation and label
 * batch.kubernetes.io/job-completion-index, hostname `<job>-<index>`, env
 * JOB_COMPLETION_INDEX) and status.completedIndexes. spec.suspend deletes the active pods
 * and sets the Suspended condition; resuming resets startTime.
 *
 * spec.podFailurePolicy is honoured (FailJob → Failed with reason PodFailurePolicy,
 * Ignore → not counted against backoffLimit, Count).
 *
 * An Indexed Job's spec.successPolicy ends it early (SuccessCriteriaMet with reason
 * SuccessPolicy, the remaining pods deleted, then Complete).
 *
 * spec.backoffLimitPerIndex gives each index of an Indexed Job its own retries: the
 * failure count travels on the pods (annotation batch.kubernetes.io/job-index-failure-count,
 * the last failed pod of an index keeps its finalizer until its replacement exists), an
 * index that exhausts them (or matches a FailIndex rule) goes to status.failedIndexes and is
 * not retried, and the Job fails with MaxFailedIndexesExceeded or, once every index is
 * done, FailedIndexes.
 *
 * Not implemented: ttlSecondsAfterFinished (the TTL-after-finished controller).
 */
import {
  Resources, isTombstone, keyOf, splitKey,
  type Client, type DeletedFinalStateUnknown, type EventRecorder, type Informer, type Lister, type WorkQueue,
} from '../../client/interface.js';
import type { Pod, PodTemplateSpec } from '../../client/objects.js';
import { hasStatusCause, isNotFound } from '../../apimachinery/errors.js';
import { labelSelectorAsSelector, type LabelSelector, type Selector } from '../../apimachinery/labels.js';
import { deepEqual, formatRFC3339, MAX_GENERATED_NAME_BASE_LENGTH, PatchType, type KObject, type OwnerReference } from '../../apimachinery/meta.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import {
  ControllerExpectations, ControllerRefManager, NAMESPACE_TERMINATING_CAUSE, RealPodControl, SLOW_START_INITIAL_BATCH_SIZE,
  compareActivePodsWithRanks, controllerRefOf, filterActivePods, getPodFromTemplate, isPodReady, recheckDeletionTimestamp,
  runWorkers, slowStartBatch, timeOf, type PodControl,
} from '../util/index.js';
import { matchPodFailurePolicy, type PodFailurePolicy } from './podfailurepolicy.js';
import {
  completionIndexOf, firstPendingIndexes, formatIndexes, indexedPodTemplate, matchSuccessPolicy, parseIndexes, type SuccessPolicy,
} from './indexes.js';

/** batch.kubernetes.io/job-tracking: held on every pod until the controller has counted it. */
export const JOB_TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

/** The spec.managedBy value that means this controller. */
export const JOB_CONTROLLER_NAME = 'kubernetes.io/job-controller';

/** Upstream's constants (pkg/controller/job). */
export const SYNC_JOB_BATCH_PERIOD_MS = 1000;
export const DEFAULT_JOB_POD_FAILURE_BACKOFF_MS = 10_000;
export const MAX_JOB_POD_FAILURE_BACKOFF_MS = 10 * 60_000;
export const MAX_UNCOUNTED_PODS = 500;
export const MAX_POD_CREATE_DELETE_PER_SYNC = 500;

/** Condition reasons and messages (batch/v1 and the controller). */
export const REASON_BACKOFF_LIMIT_EXCEEDED = 'BackoffLimitExceeded';
export const MESSAGE_BACKOFF_LIMIT_EXCEEDED = 'Job has reached the specified backoff limit';
export const REASON_DEADLINE_EXCEEDED = 'DeadlineExceeded';
export const MESSAGE_DEADLINE_EXCEEDED = 'Job was active longer than specified deadline';
export const REASON_POD_FAILURE_POLICY = 'PodFailurePolicy';
export const REASON_SUCCESS_POLICY = 'SuccessPolicy';
export const REASON_MAX_FAILED_INDEXES_EXCEEDED = 'MaxFailedIndexesExceeded';
export const MESSAGE_MAX_FAILED_INDEXES_EXCEEDED = 'Job has exceeded the specified maximal number of failed indexes';
export const REASON_FAILED_INDEXES = 'FailedIndexes';
export const MESSAGE_FAILED_INDEXES = 'Job has failed indexes';

/** The per-index failure counters on an Indexed Job's pods (backoffLimitPerIndex). */
export const JOB_INDEX_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-failure-count';
export const JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION = 'batch.kubernetes.io/job-index-ignored-failure-count';
export const REASON_COMPLETIONS_REACHED = 'CompletionsReached';
export const MESSAGE_COMPLETIONS_REACHED = 'Reached expected number of succeeded pods';

export interface JobCondition {
  type: string;
  status: string;
  lastProbeTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface JobStatus {
  conditions?: JobCondition[];
  startTime?: string;
  completionTime?: string;
  active?: number;
  succeeded?: number;
  failed?: number;
  terminating?: number;
  ready?: number;
  completedIndexes?: string;
  failedIndexes?: string;
  uncountedTerminatedPods?: { succeeded?: string[]; failed?: string[] };
}

/** The fields of a batch/v1 Job the controller reads and writes. */
export interface JobObject extends KObject {
  spec?: {
    parallelism?: number;
    completions?: number | null;
    activeDeadlineSeconds?: number | null;
    backoffLimit?: number;
    selector?: LabelSelector | null;
    manualSelector?: boolean;
    template?: PodTemplateSpec;
    completionMode?: string;
    suspend?: boolean;
    podReplacementPolicy?: string;
    podFailurePolicy?: PodFailurePolicy | null;
    successPolicy?: SuccessPolicy | null;
    backoffLimitPerIndex?: number | null;
    maxFailedIndexes?: number | null;
    managedBy?: string;
  };
  status?: JobStatus;
}

function conditionTrue(job: JobObject, type: string): JobCondition | undefined {
  return job.status?.conditions?.find((c) => c.type === type && c.status === 'True');
}

/** IsJobFinished: Complete or Failed is True. */
export function isJobFinished(job: JobObject): boolean {
  return conditionTrue(job, 'Complete') !== undefined || conditionTrue(job, 'Failed') !== undefined;
}

function hasFinalizer(pod: Pod): boolean {
  return pod.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER) ?? false;
}

function hasBackoffLimitPerIndex(job: JobObject): boolean {
  return isIndexed(job) && job.spec?.backoffLimitPerIndex != null;
}

/** A non-negative int32 annotation, 0 when absent or malformed. */
function countAnnotation(pod: Pod, key: string): number {
  const v = pod.metadata?.annotations?.[key];
  if (v === undefined || !/^\d+$/.test(v)) return 0;
  const n = Number(v);
  return n <= 2147483647 ? n : 0;
}

/** getIndexAbsoluteFailureCount: counted plus ignored failures of the pod's index so far. */
function absoluteFailureCount(pod: Pod): number {
  return countAnnotation(pod, JOB_INDEX_FAILURE_COUNT_ANNOTATION) + countAnnotation(pod, JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
}

function isIndexed(job: JobObject): boolean {
  return job.spec?.completionMode === 'Indexed';
}

function suspended(job: JobObject): boolean {
  return job.spec?.suspend === true;
}

/** onlyReplaceFailedPods: podReplacementPolicy Failed (or a pod failure policy). */
function onlyReplaceFailedPods(job: JobObject): boolean {
  return job.spec?.podReplacementPolicy === 'Failed' || job.spec?.podFailurePolicy != null;
}

/** isPodFailed: Failed, or (unless only failed pods are replaced) being deleted without having succeeded. */
function isPodFailed(pod: Pod, job: JobObject): boolean {
  const phase = pod.status?.phase;
  if (phase === 'Failed') return true;
  if (onlyReplaceFailedPods(job)) return false;
  return Boolean(pod.metadata?.deletionTimestamp) && phase !== 'Succeeded';
}

/** controller.CountTerminatingPods. */
function countTerminating(pods: readonly Pod[]): number {
  return pods.filter((p) => p.metadata?.deletionTimestamp && p.status?.phase !== 'Failed' && p.status?.phase !== 'Succeeded').length;
}

/** The JSON patch that removes the tracking finalizer (guarded by a test of its position). */
function removeFinalizerPatch(pod: Pod): unknown[] | undefined {
  const i = pod.metadata?.finalizers?.indexOf(JOB_TRACKING_FINALIZER) ?? -1;
  if (i < 0) return undefined;
  return [
    { op: 'test', path: `/metadata/finalizers/${i}`, value: JOB_TRACKING_FINALIZER },
    { op: 'remove', path: `/metadata/finalizers/${i}` },
  ];
}

/**
 * getFinishedTime: when a pod failed, for the recreation backoff — its containers' last
 * finish, else its Ready=False transition, else its deletion, else its creation.
 */
function podFinishTime(pod: Pod): number {
  let latest: number | undefined;
  for (const cs of [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])]) {
    const t = timeOf(cs.state?.terminated?.finishedAt as string | undefined);
    if (t !== undefined && (latest === undefined || t > latest)) latest = t;
  }
  if (latest !== undefined) return latest;
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False');
  return timeOf(ready?.lastTransitionTime) ?? timeOf(pod.metadata?.deletionTimestamp) ?? timeOf(pod.metadata?.creationTimestamp) ?? 0;
}

/**
 * podGenerateNameWithIndex: `<job>-<index>-`, the job name cut so the prefix fits the
 * 58 characters a generated name's base may have.
 */
export function podGenerateNameWithIndex(jobName: string, index: number): string {
  const suffix = `-${index}-`;
  const prefix = jobName + suffix;
  return prefix.length > MAX_GENERATED_NAME_BASE_LENGTH ? jobName.slice(0, MAX_GENERATED_NAME_BASE_LENGTH - suffix.length) + suffix : prefix;
}

/** Failures since the last success, per Job: the pod recreation backoff (upstream's backoffStore). */
interface BackoffRecord {
  failuresAfterLastSuccess: number;
  lastFailureTime?: number;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export interface JobControllerOptions {
  client: Client;
  podInformer: Informer<Pod>;
  jobInformer: Informer<JobObject>;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  queue: WorkQueue<string>;
  /** Queue of orphan pods whose tracking finalizer must go. */
  orphanQueue: WorkQueue<string>;
  /** Defaults to a RealPodControl over client and recorder. */
  podControl?: PodControl;
  workers?: number;
  /** Delay that batches syncs caused by pod events and status updates (default 1 s). */
  syncBatchPeriodMs?: number;
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

/** Per-sync state (upstream's syncJobCtx). */
interface SyncCtx {
  job: JobObject;
  pods: Pod[];
  activePods: Pod[];
  finishedCondition?: JobCondition;
  succeeded: number;
  failed: number;
  prevSucceededIndexes: Set<number>;
  succeededIndexes: Set<number>;
  /** Indexes out of retries (backoffLimitPerIndex only). */
  failedIndexes?: Set<number>;
  /** Per index, the last failed pod whose finalizer waits for its replacement (backoffLimitPerIndex). */
  delayedDeletion: Map<number, Pod>;
  uncountedSucceeded: Set<string>;
  uncountedFailed: Set<string>;
  expectedRmFinalizers: ReadonlySet<string>;
  terminating: number;
  ready: number;
  newBackoff: BackoffRecord;
}

/** The Job controller. */
export class JobController {
  readonly name = 'job';
  readonly expectations: ControllerExpectations;
  readonly queue: WorkQueue<string>;
  readonly orphanQueue: WorkQueue<string>;
  private readonly client: Client;
  private readonly podLister: Lister<Pod>;
  private readonly jobLister: Lister<JobObject>;
  private readonly podControl: PodControl;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly batchMs: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;
  /** Pod UIDs whose finalizer removal was asked for but not yet seen, per Job key. */
  private readonly finalizerExpectations = new Map<string, Set<string>>();
  private readonly backoff = new Map<string, BackoffRecord>();

  constructor(opts: JobControllerOptions) {
    this.client = opts.client;
    this.podLister = opts.podInformer.lister;
    this.jobLister = opts.jobInformer.lister;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.queue = opts.queue;
    this.orphanQueue = opts.orphanQueue;
    this.podControl = opts.podControl ?? new RealPodControl({ client: opts.client, recorder: opts.recorder });
    this.workers = opts.workers ?? 5;
    this.batchMs = opts.syncBatchPeriodMs ?? SYNC_JOB_BATCH_PERIOD_MS;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
    this.expectations = new ControllerExpectations({ clock: opts.clock });

    opts.jobInformer.addEventHandler({
      add: (job) => this.queue.add(keyOf(job)),
      update: (oldJob, curJob) => this.updateJob(oldJob, curJob),
      delete: (obj) => {
        const job = isTombstone(obj) ? obj.obj : obj;
        this.queue.add(keyOf(job));
        this.cleanupPodFinalizers(job);
      },
    });
    opts.podInformer.addEventHandler({
      add: (pod) => this.addPod(pod),
      update: (oldPod, curPod) => this.updatePod(oldPod, curPod),
      delete: (obj) => this.deletePod(obj, true),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.waitForCacheSync(signal);
    await Promise.all([
      runWorkers({ queue: this.queue, workers: this.workers, sync: (k) => this.sync(k), logger: this.logger, signal }),
      runWorkers({ queue: this.orphanQueue, workers: 1, sync: (k) => this.syncOrphanPod(k), logger: this.logger, signal }),
    ]);
  }

  // ---- event handlers -----------------------------------------------------------------

  private enqueueBatched(job: JobObject): void {
    this.queue.addAfter(keyOf(job), this.batchMs);
  }

  private updateJob(oldJob: JobObject, curJob: JobObject): void {
    const key = keyOf(curJob);
    // Spec changes sync at once; status updates (mostly ours) are batched.
    if (curJob.metadata?.generation === oldJob.metadata?.generation) this.enqueueBatched(curJob);
    else this.queue.add(key);
    if (isJobFinished(curJob)) this.cleanupPodFinalizers(curJob);
    const start = timeOf(curJob.status?.startTime);
    const ads = curJob.spec?.activeDeadlineSeconds;
    if (start !== undefined && ads != null && ads !== oldJob.spec?.activeDeadlineSeconds) {
      this.queue.addAfter(key, ads * 1000 - (this.clock.now() - start));
    }
  }

  private resolveControllerRef(namespace: string, ref: OwnerReference): JobObject | undefined {
    if (ref.kind !== 'Job') return undefined;
    const job = this.jobLister.get(`${namespace}/${ref.name}`);
    return job && job.metadata?.uid === ref.uid ? job : undefined;
  }

  /** Jobs whose selector matches an orphan pod (GetPodJobs). */
  private podJobs(pod: Pod): JobObject[] {
    return this.jobLister.list(pod.metadata?.namespace ?? '').filter((job) => {
      try {
        const sel = labelSelectorAsSelector(job.spec?.selector ?? undefined);
        return !sel.empty() && sel.matches(pod.metadata?.labels);
      } catch {
        return false;
      }
    });
  }

  private finalizerRemovalObserved(jobKey: string, uid: string): void {
    const set = this.finalizerExpectations.get(jobKey);
    set?.delete(uid);
    if (set && set.size === 0) this.finalizerExpectations.delete(jobKey);
  }

  private addPod(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      this.deletePod(pod, false);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const job = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
      if (!job) return;
      this.expectations.creationObserved(keyOf(job));
      this.enqueueBatched(job);
      return;
    }
    if (hasFinalizer(pod)) this.orphanQueue.add(keyOf(pod));
    for (const job of this.podJobs(pod)) this.enqueueBatched(job);
  }

  private updatePod(oldPod: Pod, curPod: Pod): void {
    if (curPod.metadata?.resourceVersion === oldPod.metadata?.resourceVersion) return;
    if (curPod.metadata?.deletionTimestamp) {
      this.deletePod(curPod, false);
      return;
    }
    const finalizerRemoved = !hasFinalizer(curPod);
    const curRef = controllerRefOf(curPod);
    const oldRef = controllerRefOf(oldPod);
    const refChanged = !deepEqual(curRef, oldRef);
    const ns = curPod.metadata?.namespace ?? '';
    if (refChanged && oldRef) {
      const job = this.resolveControllerRef(ns, oldRef);
      if (job) {
        if (finalizerRemoved) this.finalizerRemovalObserved(keyOf(job), curPod.metadata?.uid ?? '');
        this.enqueueBatched(job);
      }
    }
    if (curRef) {
      const job = this.resolveControllerRef(ns, curRef);
      if (!job) return;
      if (finalizerRemoved) this.finalizerRemovalObserved(keyOf(job), curPod.metadata?.uid ?? '');
      this.enqueueBatched(job);
      return;
    }
    if (hasFinalizer(curPod)) this.orphanQueue.add(keyOf(curPod));
    if (refChanged || !deepEqual(curPod.metadata?.labels, oldPod.metadata?.labels)) {
      for (const job of this.podJobs(curPod)) this.enqueueBatched(job);
    }
  }

  private deletePod(obj: Pod | DeletedFinalStateUnknown<Pod>, final: boolean): void {
    const pod = isTombstone(obj) ? obj.obj : obj;
    const ref = controllerRefOf(pod);
    const finalizer = hasFinalizer(pod);
    if (!ref) {
      if (finalizer) this.orphanQueue.add(keyOf(pod));
      return;
    }
    const job = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
    if (!job || isJobFinished(job)) {
      if (finalizer) this.orphanQueue.add(keyOf(pod));
      return;
    }
    const key = keyOf(job);
    this.expectations.deletionObserved(key);
    if (final || !finalizer) this.finalizerRemovalObserved(key, pod.metadata?.uid ?? '');
    this.enqueueBatched(job);
  }

  /** Queues the finished or deleted Job's pods that still hold the finalizer. */
  private cleanupPodFinalizers(job: JobObject): void {
    for (const pod of this.podLister.list(job.metadata?.namespace ?? '')) {
      if (controllerRefOf(pod)?.uid === job.metadata?.uid && hasFinalizer(pod)) this.orphanQueue.add(keyOf(pod));
    }
  }

  /** syncOrphanPod: removes the finalizer of a pod no unfinished Job of ours owns. */
  async syncOrphanPod(key: string): Promise<void> {
    const pod = this.podLister.get(key);
    if (!pod) return;
    const ref = controllerRefOf(pod);
    if (ref) {
      if (ref.kind !== 'Job' || ref.apiVersion !== 'batch/v1') return;
      const job = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
      if (job && job.spec?.managedBy != null && job.spec.managedBy !== JOB_CONTROLLER_NAME) return;
      if (job && !isJobFinished(job)) return;
    }
    try {
      await this.removeFinalizer(pod);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  // ---- sync -----------------------------------------------------------------------------

  /** Removes the tracking finalizer (a JSON patch: test-and-remove at its index). */
  private async removeFinalizer(pod: Pod): Promise<void> {
    const patch = removeFinalizerPatch(pod);
    if (!patch) return;
    await this.client.resource<Pod>(Resources.pods, pod.metadata?.namespace).patch(pod.metadata?.name ?? '', PatchType.JSONPatch, patch);
  }

  private jobRef(job: JobObject): OwnerReference {
    return { apiVersion: 'batch/v1', kind: 'Job', name: job.metadata?.name ?? '', uid: job.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
  }

  private owner(job: JobObject): KObject {
    return { ...job, apiVersion: 'batch/v1', kind: 'Job' };
  }

  /** getPodsForJob: claims pods (adoption adds the finalizer too); adopted pods count as tracked. */
  private async podsForJob(job: JobObject, selector: Selector): Promise<Pod[]> {
    const ns = job.metadata?.namespace ?? '';
    const name = job.metadata?.name ?? '';
    const manager = new ControllerRefManager<Pod>({
      controller: this.owner(job),
      controllerRef: this.jobRef(job),
      selector,
      canAdopt: recheckDeletionTimestamp(this.owner(job), () => this.client.resource<KObject>(Resources.jobs, ns).get(name)),
      patch: (pod, patch) => {
        const p = patch as { metadata: Record<string, unknown> };
        const adopting = Array.isArray(p.metadata.ownerReferences) && !(p.metadata.ownerReferences as { $patch?: string }[])[0]?.$patch;
        const body = adopting && !hasFinalizer(pod)
          ? { ...p, metadata: { ...p.metadata, finalizers: [...(pod.metadata?.finalizers ?? []), JOB_TRACKING_FINALIZER] } }
          : patch;
        return this.podControl.patchPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', body);
      },
    });
    const claimed = await manager.claim(this.podLister.list(ns));
    return claimed.map((p) => {
      const ours = p.metadata?.ownerReferences?.some((r) => r.uid === job.metadata?.uid) ?? false;
      if (ours || hasFinalizer(p)) return p;
      return { ...p, metadata: { ...p.metadata, finalizers: [...(p.metadata?.finalizers ?? []), JOB_TRACKING_FINALIZER] } };
    });
  }

  private newCondition(type: string, reason: string, message: string): JobCondition {
    const now = formatRFC3339(this.clock.now());
    return { type, status: 'True', lastProbeTime: now, lastTransitionTime: now, reason, message };
  }

  /**
   * syncJob: brings one Job's pods and status in line with its spec. Rejects to have the
   * key retried with backoff.
   */
  async sync(key: string): Promise<void> {
    const { namespace } = splitKey(key);
    const cached = this.jobLister.get(key);
    if (!namespace || !cached) {
      this.expectations.deleteExpectations(key);
      this.finalizerExpectations.delete(key);
      this.backoff.delete(key);
      return;
    }
    // Jobs another controller manages (spec.managedBy) are not ours to sync.
    if (cached.spec?.managedBy != null && cached.spec.managedBy !== JOB_CONTROLLER_NAME) return;
    if (isJobFinished(cached)) {
      this.backoff.delete(key);
      return;
    }
    const job: JobObject = structuredClone(cached);
    job.apiVersion = 'batch/v1';
    job.kind = 'Job';
    const mode = job.spec?.completionMode;
    if (mode != null && mode !== 'NonIndexed' && mode !== 'Indexed') {
      this.recorder.event(job, 'Warning', 'UnknownCompletionMode', 'Skipped Job sync because completion mode is unknown');
      return;
    }
    job.status ??= {};
    job.status.uncountedTerminatedPods ??= {};
    let selector: Selector;
    try {
      selector = labelSelectorAsSelector(job.spec?.selector ?? undefined);
    } catch (err) {
      throw new Error(`couldn't convert Job selector: ${errorText(err)}`);
    }

    // Expectations are read before listing pods: a pod appearing in between only defers work.
    const satisfied = this.expectations.satisfiedExpectations(key);
    const pods = await this.podsForJob(job, selector);
    const activePods = filterActivePods(pods);
    const uncounted = job.status.uncountedTerminatedPods;
    const ctx: SyncCtx = {
      job,
      pods,
      activePods,
      succeeded: 0,
      failed: 0,
      prevSucceededIndexes: new Set(),
      succeededIndexes: new Set(),
      delayedDeletion: new Map(),
      uncountedSucceeded: new Set(uncounted.succeeded ?? []),
      uncountedFailed: new Set(uncounted.failed ?? []),
      expectedRmFinalizers: new Set(this.finalizerExpectations.get(key) ?? []),
      terminating: countTerminating(pods),
      ready: activePods.filter(isPodReady).length,
      newBackoff: { ...(this.backoff.get(key) ?? { failuresAfterLastSuccess: 0 }) },
    };
    let active = activePods.length;
    const newSucceeded = this.newFinishedPods(ctx, ctx.uncountedSucceeded, (p) => p.status?.phase === 'Succeeded');
    const newFailed = this.newFinishedPods(ctx, ctx.uncountedFailed, (p) => isPodFailed(p, job));
    ctx.succeeded = (job.status.succeeded ?? 0) + newSucceeded.length + ctx.uncountedSucceeded.size;
    const countedNewFailures = newFailed.filter((p) => matchPodFailurePolicy(job.spec?.podFailurePolicy, p).countFailed).length;
    ctx.failed = (job.status.failed ?? 0) + countedNewFailures + ctx.uncountedFailed.size;

    const now = this.clock.now();
    if (!job.status.startTime && !suspended(job)) job.status.startTime = formatRFC3339(now);
    if (newSucceeded.length > 0) ctx.newBackoff = { failuresAfterLastSuccess: 0 };
    if (newFailed.length > 0) {
      ctx.newBackoff = {
        failuresAfterLastSuccess: ctx.newBackoff.failuresAfterLastSuccess + newFailed.length,
        lastFailureTime: Math.max(ctx.newBackoff.lastFailureTime ?? 0, ...newFailed.map((p) => podFinishTime(p))),
      };
    }

    const successCriteriaMet = conditionTrue(job, 'SuccessCriteriaMet');
    if (successCriteriaMet) ctx.finishedCondition = successCriteriaMet;
    else {
      const failureTarget = conditionTrue(job, 'FailureTarget');
      if (failureTarget) ctx.finishedCondition = this.newCondition('Failed', failureTarget.reason ?? '', failureTarget.message ?? '');
      else if (job.spec?.podFailurePolicy) {
        // A FailJob rule fails the Job at once; the FailureTarget keeps its message.
        for (const p of pods) {
          if (!isPodFailed(p, job)) continue;
          const msg = matchPodFailurePolicy(job.spec.podFailurePolicy, p).failJobMessage;
          if (msg !== undefined) {
            ctx.finishedCondition = this.newCondition('FailureTarget', REASON_POD_FAILURE_POLICY, msg);
            break;
          }
        }
      }
    }
    if (!ctx.finishedCondition) {
      if (ctx.failed > (job.spec?.backoffLimit ?? 6) || this.pastBackoffLimitOnFailure(job, pods)) {
        ctx.finishedCondition = this.newCondition('FailureTarget', REASON_BACKOFF_LIMIT_EXCEEDED, MESSAGE_BACKOFF_LIMIT_EXCEEDED);
      } else if (this.pastActiveDeadline(job)) {
        ctx.finishedCondition = this.newCondition('FailureTarget', REASON_DEADLINE_EXCEEDED, MESSAGE_DEADLINE_EXCEEDED);
      } else if (job.spec?.activeDeadlineSeconds != null && !suspended(job)) {
        const start = timeOf(job.status.startTime) ?? now;
        this.queue.addAfter(key, job.spec.activeDeadlineSeconds * 1000 - (now - start));
      }
    }

    if (isIndexed(job)) {
      const completions = job.spec?.completions ?? 0;
      ctx.prevSucceededIndexes = parseIndexes(job.status.completedIndexes, completions);
      ctx.succeededIndexes = new Set(ctx.prevSucceededIndexes);
      for (const p of pods) {
        const ix = completionIndexOf(p);
        if (p.status?.phase === 'Succeeded' && ix !== undefined && ix < completions && hasFinalizer(p)) ctx.succeededIndexes.add(ix);
      }
      ctx.succeeded = ctx.succeededIndexes.size;
      if (hasBackoffLimitPerIndex(job)) {
        ctx.failedIndexes = this.calculateFailedIndexes(job, pods, completions);
        if (!ctx.finishedCondition) {
          const maxFailed = job.spec?.maxFailedIndexes;
          if (maxFailed != null && ctx.failedIndexes.size > maxFailed) {
            ctx.finishedCondition = this.newCondition('FailureTarget', REASON_MAX_FAILED_INDEXES_EXCEEDED, MESSAGE_MAX_FAILED_INDEXES_EXCEEDED);
          } else if (ctx.failedIndexes.size > 0 && ctx.failedIndexes.size + ctx.succeededIndexes.size >= completions) {
            ctx.finishedCondition = this.newCondition('FailureTarget', REASON_FAILED_INDEXES, MESSAGE_FAILED_INDEXES);
          }
        }
        ctx.delayedDeletion = this.podsWithDelayedDeletion(ctx, completions);
      }
      if (!ctx.finishedCondition) {
        const msg = matchSuccessPolicy(job.spec?.successPolicy, completions, ctx.succeededIndexes);
        if (msg !== undefined) ctx.finishedCondition = this.newCondition('SuccessCriteriaMet', REASON_SUCCESS_POLICY, msg);
      }
    }

    let manageErr: unknown;
    let suspendCondChanged = false;
    if (ctx.finishedCondition) {
      const { deleted, deletedReady, error } = await this.deleteActivePods(job, ctx.activePods);
      // Not finished while pods are still going away or creations may be in flight.
      if (deleted !== active || !satisfied) ctx.finishedCondition = undefined;
      active -= deleted;
      ctx.terminating += deleted;
      ctx.ready -= deletedReady;
      manageErr = error;
    } else {
      let manageJobCalled = false;
      if (satisfied && !job.metadata?.deletionTimestamp) {
        try {
          active = await this.manageJob(job, ctx, key);
        } catch (err) {
          manageErr = err;
          active = (err as { active?: number }).active ?? active;
        }
        manageJobCalled = true;
      }
      const completions = job.spec?.completions;
      const complete = completions == null ? ctx.succeeded > 0 && active === 0 : ctx.succeeded >= completions && active === 0;
      if (complete) {
        ctx.finishedCondition = this.newCondition('SuccessCriteriaMet', REASON_COMPLETIONS_REACHED, MESSAGE_COMPLETIONS_REACHED);
      } else if (manageJobCalled) {
        suspendCondChanged = this.updateSuspendCondition(job);
      }
    }

    const needsStatusUpdate = suspendCondChanged || active !== (job.status.active ?? 0) || ctx.ready !== job.status.ready ||
      ctx.terminating !== job.status.terminating;
    job.status.active = active;
    job.status.ready = ctx.ready;
    job.status.terminating = ctx.terminating;
    await this.trackJobStatusAndRemoveFinalizers(ctx, needsStatusUpdate, key);
    if (manageErr !== undefined) throw manageErr;
  }

  /** Pods with the finalizer, not yet in the uncounted lists nor being un-finalized, that match. */
  private newFinishedPods(ctx: SyncCtx, uncounted: ReadonlySet<string>, filter: (p: Pod) => boolean): Pod[] {
    const completions = ctx.job.spec?.completions ?? 0;
    return ctx.pods.filter((p) => {
      const uid = p.metadata?.uid ?? '';
      if (!hasFinalizer(p) || uncounted.has(uid) || ctx.expectedRmFinalizers.has(uid)) return false;
      if (isIndexed(ctx.job)) {
        const ix = completionIndexOf(p);
        if (ix === undefined || ix >= completions) return false;
      }
      return filter(p);
    });
  }

  /** pastBackoffLimitOnFailure: container restarts of running pods reach the limit (restartPolicy OnFailure). */
  private pastBackoffLimitOnFailure(job: JobObject, pods: readonly Pod[]): boolean {
    if (job.spec?.template?.spec?.restartPolicy !== 'OnFailure') return false;
    let restarts = 0;
    for (const p of pods) {
      if (p.status?.phase !== 'Running' && p.status?.phase !== 'Pending') continue;
      for (const cs of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) restarts += cs.restartCount ?? 0;
    }
    const limit = job.spec?.backoffLimit ?? 6;
    return limit === 0 ? restarts > 0 : restarts >= limit;
  }

  /** pastActiveDeadline: started more than activeDeadlineSeconds ago (never while suspended). */
  private pastActiveDeadline(job: JobObject): boolean {
    const ads = job.spec?.activeDeadlineSeconds;
    const start = timeOf(job.status?.startTime);
    if (ads == null || start === undefined || suspended(job)) return false;
    return this.clock.now() - start >= ads * 1000;
  }

  /** The Suspended condition and its Suspended/Resumed events; resuming restarts the clock. */
  private updateSuspendCondition(job: JobObject): boolean {
    const status = job.status!;
    const conds = status.conditions ?? [];
    const cur = conds.find((c) => c.type === 'Suspended');
    const want = suspended(job)
      ? { status: 'True', reason: 'JobSuspended', message: 'Job suspended' }
      : { status: 'False', reason: 'JobResumed', message: 'Job resumed' };
    if (cur ? cur.status === want.status && cur.reason === want.reason && cur.message === want.message : want.status === 'False') return false;
    const cond = this.newCondition('Suspended', want.reason, want.message);
    cond.status = want.status;
    status.conditions = cur ? conds.map((c) => (c === cur ? cond : c)) : [...conds, cond];
    if (suspended(job)) {
      this.recorder.event(job, 'Normal', 'Suspended', 'Job suspended');
    } else {
      this.recorder.event(job, 'Normal', 'Resumed', 'Job resumed');
      // activeDeadlineSeconds counts continuous activity: a resumed Job starts afresh.
      status.startTime = formatRFC3339(this.clock.now());
    }
    return true;
  }

  /** deleteActivePods: deletes (keeping finalizers; they go once the pods are counted). */
  private async deleteActivePods(job: JobObject, pods: readonly Pod[]): Promise<{ deleted: number; deletedReady: number; error?: unknown }> {
    let deleted = 0;
    let deletedReady = 0;
    let error: unknown;
    await Promise.all(pods.map(async (pod) => {
      try {
        await this.podControl.deletePod(job.metadata?.namespace ?? '', pod.metadata?.name ?? '', job);
      } catch (err) {
        if (!isNotFound(err)) {
          error ??= err;
          return;
        }
      }
      deleted++;
      if (isPodReady(pod)) deletedReady++;
    }));
    return { deleted, deletedReady, error };
  }

  /** deleteJobPods: removes the finalizer, then deletes; failures lower the expectations. */
  private async deleteJobPods(job: JobObject, key: string, pods: readonly Pod[]): Promise<{ deleted: number; deletedReady: number; error?: unknown }> {
    let deleted = 0;
    let deletedReady = 0;
    let error: unknown;
    const ns = job.metadata?.namespace ?? '';
    await Promise.all(pods.map(async (pod) => {
      const fail = (err: unknown) => {
        this.expectations.deletionObserved(key);
        if (!isNotFound(err)) error ??= err;
      };
      try {
        await this.removeFinalizer(pod);
      } catch (err) {
        fail(isNotFound(err) ? err : new Error(`removing completion finalizer: ${errorText(err)}`, { cause: err }));
        if (!isNotFound(err)) return;
      }
      try {
        await this.podControl.deletePod(ns, pod.metadata?.name ?? '', job);
      } catch (err) {
        fail(err);
        if (!isNotFound(err)) return;
      }
      deleted++;
      if (isPodReady(pod)) deletedReady++;
    }));
    return { deleted, deletedReady, error };
  }

  /**
   * manageJob: deletes pods beyond what is wanted, or creates the missing ones (honouring
   * the failure backoff). Returns the new number of active pods.
   */
  private async manageJob(job: JobObject, ctx: SyncCtx, key: string): Promise<number> {
    const active = ctx.activePods.length;
    const parallelism = job.spec?.parallelism ?? 1;
    if (suspended(job)) {
      this.expectations.expectDeletions(key, active);
      const r = await this.deleteJobPods(job, key, ctx.activePods);
      ctx.terminating += r.deleted;
      ctx.ready -= r.deletedReady;
      return this.settle(active - r.deleted, r.error);
    }
    const completions = job.spec?.completions;
    let wantActive: number;
    if (completions == null) wantActive = ctx.succeeded > 0 ? active : parallelism;
    else wantActive = Math.max(0, Math.min(completions - ctx.succeeded, parallelism));

    const podsToDelete = this.activePodsForRemoval(job, ctx.activePods, Math.max(0, active - wantActive)).slice(0, MAX_POD_CREATE_DELETE_PER_SYNC);
    if (podsToDelete.length > 0) {
      this.expectations.expectDeletions(key, podsToDelete.length);
      this.logger.debug({ key, deleting: podsToDelete.length, target: wantActive }, 'Too many pods running for job');
      const r = await this.deleteJobPods(job, key, podsToDelete);
      ctx.terminating += r.deleted;
      ctx.ready -= r.deletedReady;
      return this.settle(active - r.deleted, r.error);
    }

    const terminating = onlyReplaceFailedPods(job) ? ctx.terminating : 0;
    let diff = wantActive - terminating - active;
    if (diff <= 0) return active;
    // The global backoff; with backoffLimitPerIndex each index has its own.
    const remaining = hasBackoffLimitPerIndex(job) ? 0 : this.remainingBackoff(ctx.newBackoff);
    if (remaining > 0) {
      this.queue.addAfter(key, Math.max(remaining, this.batchMs));
      return active;
    }
    diff = Math.min(diff, MAX_POD_CREATE_DELETE_PER_SYNC);
    let indexes: number[] = [];
    if (isIndexed(job)) {
      const done = new Set([...ctx.succeededIndexes, ...(ctx.failedIndexes ?? [])]);
      indexes = firstPendingIndexes(done, ctx.activePods, diff, completions ?? 0);
      if (hasBackoffLimitPerIndex(job)) {
        const waits = indexes.map((ix) => this.remainingIndexBackoff(ctx.delayedDeletion.get(ix)));
        const ready = indexes.filter((_, i) => waits[i] === 0);
        if (ready.length === 0 && indexes.length > 0) {
          this.queue.addAfter(key, Math.max(Math.min(...waits), this.batchMs));
          return active;
        }
        indexes = ready;
      }
      diff = indexes.length;
    }
    if (diff === 0) return active;
    this.expectations.expectCreations(key, diff);
    this.logger.debug({ key, need: wantActive, creating: diff }, 'Too few pods running');
    const template: PodTemplateSpec = structuredClone(job.spec?.template ?? {});
    template.metadata ??= {};
    if (!template.metadata.finalizers?.includes(JOB_TRACKING_FINALIZER)) {
      template.metadata.finalizers = [...(template.metadata.finalizers ?? []), JOB_TRACKING_FINALIZER];
    }
    const name = job.metadata?.name ?? '';
    let next = 0;
    const { successes, error } = await slowStartBatch(diff, SLOW_START_INITIAL_BATCH_SIZE, async () => {
      const ix = indexes[next++];
      const t = ix === undefined ? template : indexedPodTemplate(template, name, ix);
      if (ix !== undefined && hasBackoffLimitPerIndex(job)) this.addIndexFailureCounts(t, job, ctx.delayedDeletion.get(ix));
      try {
        await this.createPod(job, t, ix === undefined ? `${name}-` : podGenerateNameWithIndex(name, ix));
      } catch (err) {
        if (hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) return;
        throw err;
      }
    });
    // Creations that failed or were skipped will never be observed.
    for (let i = successes; i < diff; i++) this.expectations.creationObserved(key);
    return this.settle(active + successes, error);
  }

  /** Returns active, or rejects with error carrying it (the status still records progress). */
  private settle(active: number, error: unknown): number {
    if (error === undefined) return active;
    throw Object.assign(error instanceof Error ? error : new Error(String(error)), { active });
  }

  /** Creates one pod with the Job's controllerRef (RealPodControl, with a chosen generateName). */
  private async createPod(job: JobObject, template: PodTemplateSpec, generateName: string): Promise<void> {
    const ns = job.metadata?.namespace ?? '';
    const pod = getPodFromTemplate(template, job, this.jobRef(job));
    pod.metadata!.generateName = generateName;
    pod.metadata!.namespace = ns;
    let created: Pod;
    try {
      created = await this.client.resource<Pod>(Resources.pods, ns).create(pod);
    } catch (err) {
      if (!hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) this.recorder.event(job, 'Warning', 'FailedCreate', `Error creating: ${errorText(err)}`);
      throw err;
    }
    this.recorder.event(job, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name ?? ''}`);
  }

  /**
   * activePodsForRemoval: for Indexed Jobs first the pods with a duplicated, missing or
   * out-of-range index, then pods in deletion order (not ready, unscheduled, pending first).
   */
  private activePodsForRemoval(job: JobObject, pods: readonly Pod[], rmAtLeast: number): Pod[] {
    const rm: Pod[] = [];
    let left: Pod[] = [...pods];
    if (isIndexed(job)) {
      const completions = job.spec?.completions ?? 0;
      const seen = new Set<number>();
      left = [];
      for (const p of pods) {
        const ix = completionIndexOf(p);
        if (ix === undefined || ix >= completions || seen.has(ix)) rm.push(p);
        else {
          seen.add(ix);
          left.push(p);
        }
      }
    }
    if (rm.length < rmAtLeast) {
      const sorted = left.map((pod) => ({ pod, rank: 0 })).sort(compareActivePodsWithRanks(undefined)).map((r) => r.pod);
      rm.push(...sorted.slice(0, rmAtLeast - rm.length));
    }
    return rm;
  }

  /** calculateFailedIndexes: status.failedIndexes plus indexes whose pod failed for the last time. */
  private calculateFailedIndexes(job: JobObject, pods: readonly Pod[], completions: number): Set<number> {
    const failed = parseIndexes(job.status?.failedIndexes, completions);
    const limit = job.spec?.backoffLimitPerIndex ?? 0;
    for (const p of pods) {
      if (!isPodFailed(p, job)) continue;
      const ix = completionIndexOf(p);
      if (ix === undefined || ix >= completions) continue;
      const match = matchPodFailurePolicy(job.spec?.podFailurePolicy, p);
      if (match.action === 'FailIndex' || (match.countFailed && countAnnotation(p, JOB_INDEX_FAILURE_COUNT_ANNOTATION) >= limit)) failed.add(ix);
    }
    return failed;
  }

  /**
   * getPodsWithDelayedDeletionPerIndex: per index still to run (not succeeded, failed or
   * active), its latest failed pod: it keeps the finalizer until the replacement carries
   * its failure count.
   */
  private podsWithDelayedDeletion(ctx: SyncCtx, completions: number): Map<number, Pod> {
    const active = new Set(ctx.activePods.map(completionIndexOf).filter((ix): ix is number => ix !== undefined));
    const out = new Map<number, Pod>();
    for (const p of ctx.pods) {
      if (!hasFinalizer(p) || ctx.expectedRmFinalizers.has(p.metadata?.uid ?? '') || !isPodFailed(p, ctx.job)) continue;
      const ix = completionIndexOf(p);
      if (ix === undefined || ix >= completions || ctx.succeededIndexes.has(ix) || ctx.failedIndexes?.has(ix) || active.has(ix)) continue;
      const last = out.get(ix);
      if (!last || (absoluteFailureCount(last) <= absoluteFailureCount(p) && podFinishTime(p) >= podFinishTime(last))) out.set(ix, p);
    }
    return out;
  }

  /** getRemainingTimePerIndex: the backoff after the index's last failed pod. */
  private remainingIndexBackoff(lastFailed: Pod | undefined): number {
    if (!lastFailed) return 0;
    return this.remainingBackoff({ failuresAfterLastSuccess: absoluteFailureCount(lastFailed) + 1, lastFailureTime: podFinishTime(lastFailed) });
  }

  /** addIndexFailureCountAnnotation: the replaced pod's counts, plus its own failure. */
  private addIndexFailureCounts(template: PodTemplateSpec, job: JobObject, replaced: Pod | undefined): void {
    let failures = 0;
    let ignored = 0;
    if (replaced) {
      failures = countAnnotation(replaced, JOB_INDEX_FAILURE_COUNT_ANNOTATION);
      ignored = countAnnotation(replaced, JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION);
      if (matchPodFailurePolicy(job.spec?.podFailurePolicy, replaced).countFailed) failures++;
      else ignored++;
    }
    template.metadata ??= {};
    template.metadata.annotations = { ...(template.metadata.annotations ?? {}), [JOB_INDEX_FAILURE_COUNT_ANNOTATION]: String(failures) };
    if (ignored > 0) template.metadata.annotations[JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION] = String(ignored);
  }

  /** How long pod creation must still wait after failures (10 s × 2^(n-1), at most 10 min). */
  private remainingBackoff(rec: BackoffRecord): number {
    if (rec.failuresAfterLastSuccess === 0 || rec.lastFailureTime === undefined) return 0;
    const delay = Math.min(DEFAULT_JOB_POD_FAILURE_BACKOFF_MS * 2 ** (rec.failuresAfterLastSuccess - 1), MAX_JOB_POD_FAILURE_BACKOFF_MS);
    return Math.max(0, rec.lastFailureTime + delay - this.clock.now());
  }

  /**
   * trackJobStatusAndRemoveFinalizers: records finished pods as uncounted, removes their
   * finalizers, moves them into the counters, and finishes the Job when it may.
   */
  private async trackJobStatusAndRemoveFinalizers(ctx: SyncCtx, needsFlushIn: boolean, key: string): Promise<void> {
    let needsFlush = needsFlushIn;
    let job = ctx.job;
    const status = job.status!;
    const uncounted = status.uncountedTerminatedPods!;
    const indexed = isIndexed(job);
    const completions = job.spec?.completions ?? 0;
    const pods = indexed ? [...ctx.pods].sort((a, b) => (completionIndexOf(a) ?? Infinity) - (completionIndexOf(b) ?? Infinity)) : ctx.pods;
    const uidsWithFinalizer = new Set<string>();
    for (const p of pods) {
      const uid = p.metadata?.uid ?? '';
      if (hasFinalizer(p) && !ctx.expectedRmFinalizers.has(uid)) uidsWithFinalizer.add(uid);
    }
    if (this.cleanUncounted(status, uidsWithFinalizer)) needsFlush = true;

    const podsToRemoveFinalizer: Pod[] = [];
    const newSucceededIndexes: number[] = [];
    let reachedMax = false;
    const failing = ctx.finishedCondition !== undefined && ctx.finishedCondition.type !== 'SuccessCriteriaMet';
    for (const pod of pods) {
      const uid = pod.metadata?.uid ?? '';
      if (!hasFinalizer(pod) || ctx.expectedRmFinalizers.has(uid)) continue;
      const considerFailed = isPodFailed(pod, job);
      const canRemove = Boolean(job.metadata?.deletionTimestamp) || ctx.finishedCondition !== undefined ||
        pod.status?.phase === 'Succeeded' || considerFailed;
      if (!canRemove) continue;
      // The last failed pod of an index waits for its replacement (which copies its count).
      const ix0 = completionIndexOf(pod);
      if (!job.metadata?.deletionTimestamp && ctx.finishedCondition === undefined && pod.status?.phase !== 'Succeeded' &&
        ix0 !== undefined && ctx.delayedDeletion.get(ix0)?.metadata?.uid === uid) continue;
      podsToRemoveFinalizer.push(pod);
      if (pod.status?.phase === 'Succeeded' && !ctx.uncountedFailed.has(uid)) {
        if (indexed) {
          const ix = completionIndexOf(pod);
          if (ix !== undefined && ix < completions && !ctx.prevSucceededIndexes.has(ix)) {
            newSucceededIndexes.push(ix);
            needsFlush = true;
          }
        } else if (!ctx.uncountedSucceeded.has(uid)) {
          needsFlush = true;
          (uncounted.succeeded ??= []).push(uid);
        }
      } else if (considerFailed || failing) {
        // Once the Job is failing, every unfinished pod counts as failed.
        const ix = completionIndexOf(pod);
        // Failures a pod failure policy ignores are not counted (their finalizer still goes).
        if (!ctx.uncountedFailed.has(uid) && (!indexed || (ix !== undefined && ix < completions)) &&
          matchPodFailurePolicy(job.spec?.podFailurePolicy, pod).countFailed) {
          needsFlush = true;
          (uncounted.failed ??= []).push(uid);
        }
      }
      if (newSucceededIndexes.length + (uncounted.succeeded?.length ?? 0) + (uncounted.failed?.length ?? 0) >= MAX_UNCOUNTED_PODS) {
        reachedMax = true;
        break;
      }
    }
    if (indexed) {
      for (const ix of newSucceededIndexes) ctx.succeededIndexes.add(ix);
      const s = formatIndexes(ctx.succeededIndexes);
      if (s !== (status.completedIndexes ?? '')) needsFlush = true;
      status.succeeded = ctx.succeededIndexes.size;
      status.completedIndexes = s;
      if (ctx.failedIndexes) {
        const f = formatIndexes(ctx.failedIndexes);
        if (f !== status.failedIndexes) {
          status.failedIndexes = f;
          needsFlush = true;
        }
      }
    }
    let finished = ctx.finishedCondition;
    if (finished?.type === 'FailureTarget') {
      // The interim condition is stored before the finalizers go, so the reason survives.
      status.conditions = [...(status.conditions ?? []), finished];
      needsFlush = true;
      finished = this.newCondition('Failed', finished.reason ?? '', finished.message ?? '');
    }
    if (finished?.type === 'SuccessCriteriaMet') {
      if (!conditionTrue(job, 'SuccessCriteriaMet')) {
        status.conditions = [...(status.conditions ?? []), finished];
        needsFlush = true;
      }
      finished = this.newCondition('Complete', finished.reason ?? '', finished.message ?? '');
    }

    // flushUncountedAndRemoveFinalizers.
    if (needsFlush) {
      job = await this.updateStatus(job);
      this.backoff.set(key, ctx.newBackoff);
      needsFlush = false;
    }
    const jobStatus = job.status!;
    let rmErr: unknown;
    if (podsToRemoveFinalizer.length > 0) {
      const expected = this.finalizerExpectations.get(key) ?? new Set<string>();
      for (const p of podsToRemoveFinalizer) expected.add(p.metadata?.uid ?? '');
      this.finalizerExpectations.set(key, expected);
      await Promise.all(podsToRemoveFinalizer.map(async (pod) => {
        const uid = pod.metadata?.uid ?? '';
        try {
          await this.removeFinalizer(pod);
        } catch (err) {
          // No update will show the removal: stop expecting it.
          this.finalizerRemovalObserved(key, uid);
          if (!isNotFound(err)) {
            rmErr ??= err;
            return;
          }
        }
        uidsWithFinalizer.delete(uid);
      }));
    }
    if (this.cleanUncounted(jobStatus, uidsWithFinalizer)) needsFlush = true;
    if (rmErr !== undefined) {
      if (needsFlush) await this.updateStatus(job);
      throw rmErr;
    }
    // enactJobFinished: only with every pod counted and none left terminating.
    let jobFinished = false;
    const unc = jobStatus.uncountedTerminatedPods ?? {};
    if (!reachedMax && finished && (unc.succeeded?.length ?? 0) + (unc.failed?.length ?? 0) === 0 && ctx.terminating === 0) {
      const conds = jobStatus.conditions ?? [];
      const i = conds.findIndex((c) => c.type === finished.type);
      jobStatus.conditions = i >= 0 ? conds.map((c, j) => (j === i ? finished : c)) : [...conds, finished];
      if (finished.type === 'Complete') jobStatus.completionTime = finished.lastTransitionTime;
      jobFinished = true;
      needsFlush = true;
    }
    if (needsFlush) {
      job = await this.updateStatus(job);
      if (jobFinished) this.recordJobFinished(job, finished!);
    }
  }

  /** Moves uncounted UIDs whose finalizer is gone into the counters; true if anything moved. */
  private cleanUncounted(status: JobStatus, uidsWithFinalizer: ReadonlySet<string>): boolean {
    let updated = false;
    const u = (status.uncountedTerminatedPods ??= {});
    for (const kind of ['succeeded', 'failed'] as const) {
      const list = u[kind] ?? [];
      const keep = list.filter((uid) => uidsWithFinalizer.has(uid));
      if (keep.length !== list.length) {
        updated = true;
        status[kind] = (status[kind] ?? 0) + list.length - keep.length;
        if (keep.length > 0) u[kind] = keep;
        else delete u[kind];
      }
    }
    return updated;
  }

  private recordJobFinished(job: JobObject, cond: JobCondition): void {
    if (cond.type === 'Complete') {
      const completions = job.spec?.completions;
      if (completions != null && (job.status?.succeeded ?? 0) > completions) {
        this.recorder.event(job, 'Warning', 'TooManySucceededPods', 'Too many succeeded pods running after completion count reached');
      }
      this.recorder.event(job, 'Normal', 'Completed', 'Job completed');
    } else {
      this.recorder.event(job, 'Warning', cond.reason ?? '', cond.message ?? '');
    }
  }

  /** PUT status; zero counters are omitted as Go's omitempty does. */
  private async updateStatus(job: JobObject): Promise<JobObject> {
    const status = { ...job.status };
    for (const f of ['active', 'succeeded', 'failed'] as const) if (!status[f]) delete status[f];
    if (!status.completedIndexes) delete status.completedIndexes;
    const updated = await this.client.resource<JobObject>(Resources.jobs, job.metadata?.namespace).updateStatus({ ...job, status });
    updated.status ??= {};
    updated.status.uncountedTerminatedPods ??= {};
    return updated;
  }
}
