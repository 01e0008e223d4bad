/** The Job controller ("job"); see controller.ts. */
import { Resources } from '../../client/interface.js';
import type { Pod } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { JobController, type JobObject } from './controller.js';

export {
  JobController, JOB_TRACKING_FINALIZER, JOB_CONTROLLER_NAME, isJobFinished,
  REASON_BACKOFF_LIMIT_EXCEEDED, MESSAGE_BACKOFF_LIMIT_EXCEEDED, REASON_DEADLINE_EXCEEDED, MESSAGE_DEADLINE_EXCEEDED,
  REASON_COMPLETIONS_REACHED, MESSAGE_COMPLETIONS_REACHED, REASON_POD_FAILURE_POLICY, REASON_SUCCESS_POLICY,
  REASON_MAX_FAILED_INDEXES_EXCEEDED, REASON_FAILED_INDEXES, JOB_INDEX_FAILURE_COUNT_ANNOTATION, JOB_INDEX_IGNORED_FAILURE_COUNT_ANNOTATION,
} from './controller.js';
export type { JobObject, JobStatus, JobCondition, JobControllerOptions } from './controller.js';
export { JOB_COMPLETION_INDEX_ANNOTATION } from './indexes.js';

/** Factory for the controller-manager: the Job controller over the shared informers (events from "job-controller"). */
export const newJobController: ControllerFactory = (ctx): Controller =>
  new JobController({
    client: ctx.client,
    podInformer: ctx.informers.forResource<Pod>(Resources.pods),
    jobInformer: ctx.informers.forResource<JobObject>(Resources.jobs),
    recorder: ctx.recorder('job-controller'),
    clock: ctx.clock,
    logger: ctx.logger,
    queue: newWorkQueue<string>({ name: 'job', clock: ctx.clock, registry: ctx.registry, baseDelayMs: 1000, maxDelayMs: 60_000 }),
    orphanQueue: newWorkQueue<string>({ name: 'job_orphan_pod', clock: ctx.clock, registry: ctx.registry, baseDelayMs: 1000, maxDelayMs: 60_000 }),
    workers: ctx.options.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
