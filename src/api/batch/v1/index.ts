/** Resource definitions of batch/v1, in upstream's discovery order. */
import type { ResourceDef } from '../../types.js';
import { cronjobs } from './cronjobs.js';
import { jobs } from './jobs.js';

export { cronjobs, defaultCronJob } from './cronjobs.js';
export { defaultJob, jobs } from './jobs.js';
export { CronParseError, formatRFC3339In, loadLocation, parseStandard, type CronSchedule } from './cron.js';
export {
  CONTROLLER_UID_LABEL, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL, isJobFinished,
} from './validation.js';

export const resources: ResourceDef[] = [cronjobs, jobs];
