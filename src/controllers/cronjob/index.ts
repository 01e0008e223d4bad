/** The CronJob controller ("cronjob"); see controller.ts. */
import { Resources } from '../../client/interface.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { CronJobController, type ChildJob, type CronJobObject } from './controller.js';

export {
  CronJobController, CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, NEXT_SCHEDULE_DELTA_MS, jobNameFor, mostRecentScheduleTime,
  nextScheduleDuration,
} from './controller.js';
export type { ChildJob, CronJobObject, CronJobControllerOptions, ObjectReference } from './controller.js';

/** Factory for the controller-manager: the CronJob controller over the shared informers (events from "cronjob-controller"). */
export const newCronJobController: ControllerFactory = (ctx): Controller =>
  new CronJobController({
    client: ctx.client,
    jobInformer: ctx.informers.forResource<ChildJob>(Resources.jobs),
    cronJobInformer: ctx.informers.forResource<CronJobObject>(Resources.cronjobs),
    recorder: ctx.recorder('cronjob-controller'),
    clock: ctx.clock,
    logger: ctx.logger,
    queue: newWorkQueue<string>({ name: 'cronjob', clock: ctx.clock, registry: ctx.registry }),
    workers: ctx.options.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
