/**
 * batch/v1 CronJob: defaults (SetDefaults_CronJob: concurrencyPolicy Allow, suspend false,
 * history limits 3 and 1), the registry strategy (pkg/registry/batch/cronjob), the status
 * subresource, and the server-side table (NAME SCHEDULE TIMEZONE SUSPEND ACTIVE
 * LAST SCHEDULE AGE, wide CONTAINERS IMAGES SELECTOR). Short name `cj`.
 */
import { newPath } from '../../../apimachinery/errors.js';
import { formatLabelSelector, type LabelSelector } from '../../../apimachinery/labels.js';
import type { KObject } from '../../../apimachinery/meta.js';
import { isDNS1123Label } from '../../../apimachinery/validation.js';
import { ageColumn, column, layoutContainerCells, nameColumn, objectAge, objectName, translateTimestampSince } from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import {
  asObj, asObjs, asStr, ensureObj, isSet, keepSpecForStatusUpdate, keepStatusForUpdate, objectMetaFields,
  resetStatusForCreate, semanticEqual, standardVerbs, type Obj,
} from '../../apps/v1/helpers.js';
import { defaultPodTemplateSpec } from '../../apps/v1/podtemplate.js';
import { defaultPodFailurePolicy, jobSpecWarnings } from './jobs.js';
import { validateCronJobCreate, validateCronJobSpec } from './validation.js';

function specOf(obj: KObject): Obj {
  return asObj(obj.spec) ?? {};
}

/** SetDefaults_CronJob plus the job template's pod template defaults (no Job defaults: those apply per Job). */
export function defaultCronJob(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec.concurrencyPolicy) spec.concurrencyPolicy = 'Allow';
  if (!isSet(spec.suspend)) spec.suspend = false;
  if (!isSet(spec.successfulJobsHistoryLimit)) spec.successfulJobsHistoryLimit = 3;
  if (!isSet(spec.failedJobsHistoryLimit)) spec.failedJobsHistoryLimit = 1;
  const jobSpec = ensureObj(ensureObj(spec, 'jobTemplate'), 'spec');
  defaultPodFailurePolicy(jobSpec);
  defaultPodTemplateSpec(ensureObj(jobSpec, 'template'));
}

/** printBoolPtr: True, False or <unset>. */
function boolCell(v: unknown): string {
  if (typeof v !== 'boolean') return '<unset>';
  return v ? 'True' : 'False';
}

export const cronjobs: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  listKind: 'CronJobList',
  resource: 'cronjobs',
  singular: 'cronjob',
  shortNames: ['cj'],
  categories: ['all'],
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.batch.v1.CronJob',
  strategy: {
    default: defaultCronJob,
    prepareForCreate: resetStatusForCreate,
    prepareForUpdate: (obj, old) => keepStatusForUpdate(obj, old, !semanticEqual(obj.spec, old.spec)),
    validate: (obj) => validateCronJobCreate(obj as Obj),
    // No 52-character name check on update: older CronJobs with longer names stay editable.
    validateUpdate: (obj, old) => validateCronJobSpec(specOf(obj), specOf(old)),
    warnings(obj, old) {
      const out: string[] = [];
      const jobSpecPath = newPath('spec', 'jobTemplate', 'spec');
      const jobSpec = asObj(asObj(specOf(obj).jobTemplate)?.spec) ?? {};
      if (old === undefined) {
        const msgs = isDNS1123Label(obj.metadata?.name ?? '');
        if (msgs.length > 0) {
          out.push(`metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [${msgs.join(' ')}]`);
        }
        out.push(...jobSpecWarnings(jobSpec, jobSpecPath));
      } else if (obj.metadata?.generation !== old.metadata?.generation) {
        out.push(...jobSpecWarnings(jobSpec, jobSpecPath, asObj(asObj(specOf(old).jobTemplate)?.spec) ?? {}));
      }
      if (asStr(specOf(obj).schedule).includes('TZ')) out.push('cannot use TZ or CRON_TZ in schedule, use timeZone field instead');
      return out;
    },
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  status: {
    prepareForUpdate: (obj, old) => keepSpecForStatusUpdate(obj, old),
    validateUpdate: () => [],
  },
  table: {
    columns: [
      nameColumn,
      column('Schedule', 'string', 'The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.'),
      column('Timezone', 'string', 'The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones'),
      column('Suspend', 'boolean', 'This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.'),
      column('Active', 'integer', 'A list of pointers to currently running jobs.'),
      column('Last Schedule', 'string', 'Information when was the last time the job was successfully scheduled.'),
      ageColumn,
      column('Containers', 'string', 'Names of each container in the template.', 1),
      column('Images', 'string', 'Images referenced by each container in the template.', 1),
      column('Selector', 'string', 'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors', 1),
    ],
    row(obj, nowMs) {
      const spec = specOf(obj);
      const status = asObj(obj.status) ?? {};
      const jobSpec = asObj(asObj(spec.jobTemplate)?.spec) ?? {};
      const [names, images] = layoutContainerCells(asObjs(asObj(asObj(jobSpec.template)?.spec)?.containers));
      return [
        objectName(obj),
        asStr(spec.schedule),
        isSet(spec.timeZone) ? asStr(spec.timeZone) : '<none>',
        boolCell(spec.suspend),
        asObjs(status.active).length,
        isSet(status.lastScheduleTime) ? translateTimestampSince(status.lastScheduleTime, nowMs) : '<none>',
        objectAge(obj, nowMs),
        names,
        images,
        formatLabelSelector(jobSpec.selector as LabelSelector | null | undefined),
      ];
    },
  },
  selectableFields: (obj) => objectMetaFields(obj, true),
};
