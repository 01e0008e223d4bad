/**
 * The CronJob controller (upstream pkg/controller/cronjob, the v2 controller of v1.32).
 *
 * sync(key) is level-triggered and returns when to look again: it reconciles
 * status.active with the Jobs the CronJob controls (`SawCompletedJob`, `MissingJob`,
 * status.lastSuccessfulTime), removes the oldest finished Jobs beyond
 * successfulJobsHistoryLimit / failedJobsHistoryLimit (`SuccessfulDelete`), and — unless
 * suspended — creates the Job of the most recent unmet schedule time, named
 * `<cronjob>-<scheduled time in minutes since the epoch>` so that a retry never creates it
 * twice (`SuccessfulCreate`), honouring startingDeadlineSeconds (`MissSchedule`) and the
 * concurrency policy (Forbid: `JobAlreadyActive`; Replace: the running Jobs are deleted
 * first). Then it requeues itself for the next schedule time (+100 ms) on the injected
 * clock.
 *
 * Schedules are evaluated in spec.timeZone, or else in the controller's local time zone
 * (an option, UTC by default: kube-controller-manager uses its process' zone, which is
 * UTC in kubeadm's static pods).
 */
import {
  Resources, isTombstone, keyOf, splitKey,
  type Client, type DeletedFinalStateUnknown, type EventRecorder, type Informer, type Lister, type WorkQueue,
} from '../../client/interface.js';
import { hasStatusCause, isAlreadyExists, isNotFound } from '../../apimachinery/errors.js';
import { deepEqual, formatRFC3339, type KObject, type ObjectMeta, type OwnerReference } from '../../apimachinery/meta.js';
import { CronParseError, formatRFC3339In, loadLocation, parseStandard, type CronSchedule } from '../../api/batch/v1/cron.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { controllerRefOf, runWorkers, timeOf } from '../util/index.js';

/** batch.kubernetes.io/cronjob-scheduled-timestamp: the Job's nominal start, RFC 3339 in the CronJob's zone. */
export const CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION = 'batch.kubernetes.io/cronjob-scheduled-timestamp';

/** How far past a schedule time the controller wakes (nextScheduleDelta). */
export const NEXT_SCHEDULE_DELTA_MS = 100;

/** The namespace-terminating StatusCause. */
const NAMESPACE_TERMINATING_CAUSE = 'NamespaceTerminating';

export interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  resourceVersion?: string;
}

/** The fields of a batch/v1 CronJob the controller reads and writes. */
export interface CronJobObject extends KObject {
  spec?: {
    schedule?: string;
    timeZone?: string | null;
    startingDeadlineSeconds?: number | null;
    concurrencyPolicy?: string;
    suspend?: boolean;
    successfulJobsHistoryLimit?: number | null;
    failedJobsHistoryLimit?: number | null;
    jobTemplate?: { metadata?: ObjectMeta; spec?: Record<string, unknown> };
  };
  status?: {
    active?: ObjectReference[];
    lastScheduleTime?: string;
    lastSuccessfulTime?: string;
  };
}

/** The fields of the Jobs the controller reads. */
export interface ChildJob extends KObject {
  spec?: Record<string, unknown>;
  status?: {
    startTime?: string;
    completionTime?: string;
    conditions?: { type: string; status: string }[];
  };
}

/** The finished condition (Complete or Failed) of a Job, if any. */
function finishedCondition(job: ChildJob): 'Complete' | 'Failed' | undefined {
  for (const c of job.status?.conditions ?? []) {
    if ((c.type === 'Complete' || c.type === 'Failed') && c.status === 'True') return c.type;
  }
  return undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Go's `time.RFC1123Z` of a UTC instant: `Mon, 02 Jan 2006 15:04:05 +0000`. */
function rfc1123z(ms: number): string {
  const d = new Date(ms);
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const p = (n: number) => String(n).padStart(2, '0');
  return `${days[d.getUTCDay()]}, ${p(d.getUTCDate())} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** getJobName: `<cronjob>-<minutes since the epoch>`. */
export function jobNameFor(cronJobName: string, scheduledMs: number): string {
  return `${cronJobName}-${Math.floor(Math.floor(scheduledMs / 1000) / 60)}`;
}

type Missed = 'none' | 'few' | 'many';

/**
 * mostRecentScheduleTime: from the last schedule time (or creation), the latest schedule
 * time not after now (undefined if none), and how many were missed (roughly; "many" past
 * 100). Throws for a schedule whose consecutive times are less than a second apart
 * (robfig's answer for impossible dates).
 */
export function mostRecentScheduleTime(
  cj: CronJobObject, nowMs: number, schedule: CronSchedule, includeStartingDeadline: boolean,
): { earliest: number; mostRecent?: number; missed: Missed } {
  let earliest = timeOf(cj.status?.lastScheduleTime) ?? timeOf(cj.metadata?.creationTimestamp) ?? nowMs;
  const sds = cj.spec?.startingDeadlineSeconds;
  if (includeStartingDeadline && sds != null) {
    // Nothing older than the deadline will be started anyway.
    const deadline = nowMs - sds * 1000;
    if (deadline > earliest) earliest = deadline;
  }
  const tooClose = () => new Error('time difference between two schedules is less than 1 second');
  const t1 = schedule.next(earliest);
  // No time within five years (e.g. `0 0 30 2 *`): robfig's zero time, which upstream
  // reports as two schedules less than a second apart.
  if (t1 === undefined) throw tooClose();
  if (nowMs < t1) return { earliest, missed: 'none' };
  const t2 = schedule.next(t1);
  if (t2 === undefined) throw tooClose();
  if (nowMs < t2) return { earliest, mostRecent: t1, missed: 'none' };
  const between = Math.round((t2 - t1) / 1000);
  if (between < 1) throw tooClose();
  const elapsed = Math.floor((nowMs - t1) / 1000);
  const missedCount = Math.floor(elapsed / between) + 1;
  // Start one interval early and let the schedule find the exact latest time.
  let t: number | undefined = schedule.next(t1 + (missedCount - 2) * between * 1000);
  let mostRecent: number | undefined;
  while (t !== undefined && t <= nowMs) {
    mostRecent = t;
    t = schedule.next(t);
  }
  const missed: Missed = missedCount > 100 ? 'many' : 'few';
  return { earliest, mostRecent, missed };
}

/** nextScheduleTimeDuration: how long until just after the next schedule time. */
export function nextScheduleDuration(cj: CronJobObject, nowMs: number, schedule: CronSchedule): number | undefined {
  let from: number;
  try {
    const r = mostRecentScheduleTime(cj, nowMs, schedule, false);
    from = r.mostRecent ?? (r.missed === 'none' ? r.earliest : nowMs);
  } catch {
    from = nowMs;
  }
  const next = schedule.next(from);
  return next === undefined ? undefined : next + NEXT_SCHEDULE_DELTA_MS - nowMs;
}

export interface CronJobControllerOptions {
  client: Client;
  jobInformer: Informer<ChildJob>;
  cronJobInformer: Informer<CronJobObject>;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  queue: WorkQueue<string>;
  workers?: number;
  /** The zone of schedules without spec.timeZone (Go's time.Local); default UTC. */
  localTimeZone?: string;
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

/** The CronJob controller. */
export class CronJobController {
  readonly name = 'cronjob';
  readonly queue: WorkQueue<string>;
  private readonly client: Client;
  private readonly jobLister: Lister<ChildJob>;
  private readonly cronJobLister: Lister<CronJobObject>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly localTimeZone: string;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;

  constructor(opts: CronJobControllerOptions) {
    this.client = opts.client;
    this.jobLister = opts.jobInformer.lister;
    this.cronJobLister = opts.cronJobInformer.lister;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.queue = opts.queue;
    this.workers = opts.workers ?? 5;
    this.localTimeZone = opts.localTimeZone ?? 'UTC';
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});

    opts.jobInformer.addEventHandler({
      add: (job) => this.addJob(job),
      update: (oldJob, curJob) => this.updateJob(oldJob, curJob),
      delete: (obj) => this.deleteJob(obj),
    });
    opts.cronJobInformer.addEventHandler({
      add: (cj) => this.queue.add(keyOf(cj)),
      update: (oldCJ, curCJ) => this.updateCronJob(oldCJ, curCJ),
      delete: (obj) => this.queue.add(keyOf(isTombstone(obj) ? obj.obj : obj)),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.waitForCacheSync(signal);
    await runWorkers({
      queue: this.queue,
      workers: this.workers,
      logger: this.logger,
      signal,
      sync: async (key) => {
        const requeueAfter = await this.sync(key);
        if (requeueAfter !== undefined) this.queue.addAfter(key, requeueAfter);
      },
    });
  }

  // ---- event handlers -----------------------------------------------------------------

  private resolveControllerRef(namespace: string, ref: OwnerReference): CronJobObject | undefined {
    if (ref.kind !== 'CronJob') return undefined;
    const cj = this.cronJobLister.get(`${namespace}/${ref.name}`);
    return cj && cj.metadata?.uid === ref.uid ? cj : undefined;
  }

  private enqueueOwner(job: ChildJob, ref = controllerRefOf(job)): void {
    if (!ref) return;
    const cj = this.resolveControllerRef(job.metadata?.namespace ?? '', ref);
    if (cj) this.queue.add(keyOf(cj));
  }

  private addJob(job: ChildJob): void {
    if (job.metadata?.deletionTimestamp) {
      this.deleteJob(job);
      return;
    }
    this.enqueueOwner(job);
  }

  private updateJob(oldJob: ChildJob, curJob: ChildJob): void {
    if (curJob.metadata?.resourceVersion === oldJob.metadata?.resourceVersion) return;
    const curRef = controllerRefOf(curJob);
    const oldRef = controllerRefOf(oldJob);
    if (!deepEqual(curRef, oldRef) && oldRef) this.enqueueOwner(oldJob, oldRef);
    this.enqueueOwner(curJob, curRef);
  }

  private deleteJob(obj: ChildJob | DeletedFinalStateUnknown<ChildJob>): void {
    this.enqueueOwner(isTombstone(obj) ? obj.obj : obj);
  }

  private updateCronJob(oldCJ: CronJobObject, curCJ: CronJobObject): void {
    const key = keyOf(curCJ);
    if (oldCJ.spec?.schedule !== curCJ.spec?.schedule || oldCJ.spec?.timeZone !== curCJ.spec?.timeZone) {
      // A new schedule: wake at its next time (an earlier wake-up for the old one is harmless).
      let schedule: CronSchedule;
      try {
        schedule = parseStandard(this.formatSchedule(curCJ, false), this.localTimeZone);
      } catch {
        this.recorder.event(curCJ, 'Warning', 'UnParseableCronJobSchedule', `unparseable schedule for cronjob: ${curCJ.spec?.schedule ?? ''}`);
        return;
      }
      const after = nextScheduleDuration(curCJ, this.clock.now(), schedule);
      if (after !== undefined) this.queue.addAfter(key, after);
      return;
    }
    this.queue.add(key);
  }

  // ---- sync -----------------------------------------------------------------------------

  /** formatSchedule: spec.timeZone becomes a `TZ=` prefix; a TZ in the schedule itself is warned about. */
  private formatSchedule(cj: CronJobObject, warn: boolean): string {
    const schedule = cj.spec?.schedule ?? '';
    if (schedule.includes('TZ')) {
      if (warn) {
        this.recorder.event(cj, 'Warning', 'UnsupportedSchedule',
          `CRON_TZ or TZ used in schedule "${schedule}" is not officially supported, see https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/ for more details`);
      }
      return schedule;
    }
    const tz = cj.spec?.timeZone;
    if (tz != null) {
      try {
        loadLocation(tz);
      } catch {
        return schedule;
      }
      return `TZ=${tz} ${schedule}`;
    }
    return schedule;
  }

  /**
   * Reconciles one CronJob; resolves with the delay after which it must be synced again
   * (undefined: only on changes). Rejects to have the key retried with backoff.
   */
  async sync(key: string): Promise<number | undefined> {
    const { namespace } = splitKey(key);
    const cached = this.cronJobLister.get(key);
    if (!cached) return undefined;
    const jobs = this.jobLister.list(namespace ?? '').filter((j) => {
      const ref = controllerRefOf(j);
      return ref !== undefined && ref.name === cached.metadata?.name;
    });
    const cj: CronJobObject = structuredClone(cached);
    cj.apiVersion = 'batch/v1';
    cj.kind = 'CronJob';
    cj.status ??= {};
    const updateAfterCleanup = await this.cleanupFinishedJobs(cj, jobs);
    let requeueAfter: number | undefined;
    let updateAfterSync = false;
    let syncErr: unknown;
    try {
      ({ requeueAfter, updateStatus: updateAfterSync } = await this.syncCronJob(cj, jobs));
    } catch (err) {
      syncErr = err;
      updateAfterSync = (err as { updateStatus?: boolean }).updateStatus ?? false;
      this.logger.debug({ key, err: errorText(err) }, 'Error reconciling cronjob');
    }
    if (updateAfterCleanup || updateAfterSync) {
      const status = { ...cj.status };
      if ((status.active?.length ?? 0) === 0) delete status.active;
      await this.client.resource<CronJobObject>(Resources.cronjobs, namespace).updateStatus({ ...cj, status });
    }
    if (requeueAfter !== undefined) return requeueAfter;
    if (syncErr !== undefined) throw syncErr;
    return undefined;
  }

  private async syncCronJob(cj: CronJobObject, jobs: readonly ChildJob[]): Promise<{ requeueAfter?: number; updateStatus: boolean }> {
    let updateStatus = false;
    const status = cj.status!;
    const fail = (err: unknown): never => {
      throw Object.assign(err instanceof Error ? err : new Error(String(err)), { updateStatus });
    };
    const inActive = (uid: string | undefined) => (status.active ?? []).some((r) => r.uid === uid);
    const removeActive = (uid: string | undefined) => {
      status.active = (status.active ?? []).filter((r) => r.uid !== uid);
    };
    const children = new Set<string>();
    for (const j of jobs) {
      children.add(j.metadata?.uid ?? '');
      const found = inActive(j.metadata?.uid);
      const finished = finishedCondition(j);
      if (!found && !finished) {
        // Perhaps our own status update is not in the cache yet: check a fresh copy.
        const fresh = await this.client.resource<CronJobObject>(Resources.cronjobs, cj.metadata?.namespace).get(cj.metadata?.name ?? '').catch(fail);
        if ((fresh.status?.active ?? []).some((r) => r.uid === j.metadata?.uid)) {
          status.active = fresh.status?.active;
          continue;
        }
        this.recorder.event(cj, 'Warning', 'UnexpectedJob', `Saw a job that the controller did not create or forgot: ${j.metadata?.name ?? ''}`);
      } else if (found && finished) {
        removeActive(j.metadata?.uid);
        this.recorder.event(cj, 'Normal', 'SawCompletedJob', `Saw completed job: ${j.metadata?.name ?? ''}, condition: ${finished}`);
        updateStatus = true;
      } else if (finished === 'Complete') {
        // A succeeded Job counts for lastSuccessfulTime whether or not it was active.
        const done = timeOf(j.status?.completionTime);
        const last = timeOf(status.lastSuccessfulTime);
        if (status.lastSuccessfulTime === undefined || (done !== undefined && last !== undefined && done > last)) {
          if (j.status?.completionTime !== undefined) {
            status.lastSuccessfulTime = j.status.completionTime;
            updateStatus = true;
          }
        }
      }
    }
    // Active Jobs that no longer exist (checked against the API server, the cache may lag).
    for (const ref of [...(status.active ?? [])]) {
      if (children.has(ref.uid ?? '')) continue;
      try {
        await this.client.resource<ChildJob>(Resources.jobs, ref.namespace).get(ref.name ?? '');
      } catch (err) {
        if (!isNotFound(err)) fail(err);
        this.recorder.event(cj, 'Normal', 'MissingJob', `Active job went missing: ${ref.name ?? ''}`);
        removeActive(ref.uid);
        updateStatus = true;
      }
    }
    if (cj.metadata?.deletionTimestamp) return { updateStatus };

    const tz = cj.spec?.timeZone;
    if (tz != null) {
      try {
        loadLocation(tz);
      } catch (err) {
        this.recorder.event(cj, 'Warning', 'UnknownTimeZone', `invalid timeZone: "${tz}": ${errorText(err)}`);
        return { updateStatus };
      }
    }
    if (cj.spec?.suspend === true) return { updateStatus };

    let schedule: CronSchedule;
    try {
      schedule = parseStandard(this.formatSchedule(cj, true), this.localTimeZone);
    } catch (err) {
      if (!(err instanceof CronParseError)) throw err;
      this.recorder.event(cj, 'Warning', 'UnparseableSchedule', `unparseable schedule: "${cj.spec?.schedule ?? ''}" : ${err.message}`);
      return { updateStatus };
    }
    const now = this.clock.now();
    let scheduled: number | undefined;
    try {
      const r = mostRecentScheduleTime(cj, now, schedule, true);
      scheduled = r.mostRecent;
      if (r.mostRecent !== undefined && r.missed === 'many') {
        this.recorder.event(cj, 'Warning', 'TooManyMissedTimes', 'too many missed start times. Set or decrease .spec.startingDeadlineSeconds or check clock skew');
      }
    } catch (err) {
      this.recorder.event(cj, 'Warning', 'InvalidSchedule', `invalid schedule: ${cj.spec?.schedule ?? ''} : ${errorText(err)}`);
      return { updateStatus };
    }
    const requeueAfter = nextScheduleDuration(cj, now, schedule);
    if (scheduled === undefined) return { requeueAfter, updateStatus };

    const sds = cj.spec?.startingDeadlineSeconds;
    if (sds != null && scheduled + sds * 1000 < now) {
      this.recorder.event(cj, 'Warning', 'MissSchedule', `Missed scheduled time to start a job: ${rfc1123z(scheduled)}`);
      return { requeueAfter, updateStatus };
    }
    const jobName = jobNameFor(cj.metadata?.name ?? '', scheduled);
    const ns = cj.metadata?.namespace ?? '';
    if ((status.active ?? []).some((r) => r.name === jobName && r.namespace === ns) || timeOf(status.lastScheduleTime) === scheduled) {
      return { requeueAfter, updateStatus };
    }
    if (cj.spec?.concurrencyPolicy === 'Forbid' && (status.active?.length ?? 0) > 0) {
      this.recorder.event(cj, 'Normal', 'JobAlreadyActive', 'Not starting job because prior execution is running and concurrency policy is Forbid');
      return { requeueAfter, updateStatus };
    }
    if (cj.spec?.concurrencyPolicy === 'Replace') {
      for (const ref of [...(status.active ?? [])]) {
        let job: ChildJob;
        try {
          job = await this.client.resource<ChildJob>(Resources.jobs, ref.namespace).get(ref.name ?? '');
        } catch (err) {
          this.recorder.event(cj, 'Warning', 'FailedGet', `Get job: ${errorText(err)}`);
          return fail(err);
        }
        if (!(await this.deleteChildJob(cj, job))) fail(new Error(`could not replace job ${job.metadata?.namespace ?? ''}/${job.metadata?.name ?? ''}`));
        updateStatus = true;
      }
    }

    const jobClient = this.client.resource<ChildJob>(Resources.jobs, ns);
    let created: ChildJob;
    let existed = false;
    try {
      created = await jobClient.create(this.jobFromTemplate(cj, scheduled, jobName));
    } catch (err) {
      if (hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) return fail(err);
      if (!isAlreadyExists(err)) {
        this.recorder.event(cj, 'Warning', 'FailedCreate', `Error creating job: ${errorText(err)}`);
        return fail(err);
      }
      // Created before (a retry, or another actor): adopt it into the status if it is ours.
      existed = true;
      created = await jobClient.get(jobName).catch(fail);
      if (controllerRefOf(created)?.uid !== cj.metadata?.uid || inActive(created.metadata?.uid)) return { updateStatus };
    }
    if (!existed) this.recorder.event(cj, 'Normal', 'SuccessfulCreate', `Created job ${created.metadata?.name ?? ''}`);
    status.active = [...(status.active ?? []), {
      kind: 'Job', namespace: created.metadata?.namespace, name: created.metadata?.name, uid: created.metadata?.uid,
      apiVersion: 'batch/v1', resourceVersion: created.metadata?.resourceVersion,
    }];
    status.lastScheduleTime = formatRFC3339(scheduled);
    return { requeueAfter, updateStatus: true };
  }

  /** getJobFromTemplate2: the template's labels and annotations, the scheduled-time annotation, our controllerRef. */
  private jobFromTemplate(cj: CronJobObject, scheduled: number, name: string): ChildJob {
    const tmeta = cj.spec?.jobTemplate?.metadata ?? {};
    const tz = cj.spec?.timeZone != null ? loadLocation(cj.spec.timeZone) : 'UTC';
    return {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: {
        name,
        namespace: cj.metadata?.namespace,
        labels: { ...(tmeta.labels ?? {}) },
        annotations: { ...(tmeta.annotations ?? {}), [CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION]: formatRFC3339In(scheduled, tz) },
        ownerReferences: [{
          apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata?.name ?? '', uid: cj.metadata?.uid ?? '',
          controller: true, blockOwnerDeletion: true,
        }],
      },
      spec: structuredClone(cj.spec?.jobTemplate?.spec ?? {}),
    };
  }

  /** deleteJob: deletes a Job (its pods in the background) and drops it from status.active. */
  private async deleteChildJob(cj: CronJobObject, job: ChildJob): Promise<boolean> {
    try {
      await this.client.resource<ChildJob>(Resources.jobs, job.metadata?.namespace).delete(job.metadata?.name ?? '', { propagationPolicy: 'Background' });
    } catch (err) {
      this.recorder.event(cj, 'Warning', 'FailedDelete', `Deleted job: ${errorText(err)}`);
      this.logger.error({ err: errorText(err), job: job.metadata?.name }, 'Error deleting job from cronjob');
      return false;
    }
    cj.status!.active = (cj.status!.active ?? []).filter((r) => r.uid !== job.metadata?.uid);
    this.recorder.event(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${job.metadata?.name ?? ''}`);
    return true;
  }

  /** cleanupFinishedJobs: keeps the newest N succeeded and M failed Jobs. */
  private async cleanupFinishedJobs(cj: CronJobObject, jobs: readonly ChildJob[]): Promise<boolean> {
    const successLimit = cj.spec?.successfulJobsHistoryLimit;
    const failedLimit = cj.spec?.failedJobsHistoryLimit;
    if (successLimit == null && failedLimit == null) return false;
    let updated = false;
    const succeeded = jobs.filter((j) => finishedCondition(j) === 'Complete');
    const failed = jobs.filter((j) => finishedCondition(j) === 'Failed');
    for (const [list, limit] of [[succeeded, successLimit], [failed, failedLimit]] as const) {
      if (limit == null || list.length <= limit) continue;
      const sorted = [...list].sort(byJobStartTime);
      for (const job of sorted.slice(0, list.length - limit)) {
        if (await this.deleteChildJob(cj, job)) updated = true;
      }
    }
    return updated;
  }
}

/** byJobStartTime: started earlier first, unstarted last, ties by name. */
function byJobStartTime(a: ChildJob, b: ChildJob): number {
  const ta = timeOf(a.status?.startTime);
  const tb = timeOf(b.status?.startTime);
  if (ta === undefined && tb !== undefined) return 1;
  if (ta !== undefined && tb === undefined) return -1;
  if (ta === tb) return (a.metadata?.name ?? '') < (b.metadata?.name ?? '') ? -1 : (a.metadata?.name ?? '') > (b.metadata?.name ?? '') ? 1 : 0;
  return ta! - tb!;
}
