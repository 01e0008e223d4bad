/**
 * batch/v1 Job: defaults (pkg/apis/batch/v1/defaults.go), the registry strategy
 * (pkg/registry/batch/job/strategy.go: the generated selector and template labels,
 * status kept on update), the status subresource, and the server-side table
 * (NAME STATUS COMPLETIONS DURATION AGE, wide CONTAINERS IMAGES SELECTOR).
 * `status.successful` is selectable, as upstream.
 */
import { newPath, type FieldPath } from '../../../apimachinery/errors.js';
import { formatLabelSelector, type LabelSelector } from '../../../apimachinery/labels.js';
import type { KObject } from '../../../apimachinery/meta.js';
import {
  ageColumn, column, humanDuration, layoutContainerCells, nameColumn, objectAge, objectName, parseTimestamp,
} from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import { podNameWarnings } from '../../apps/v1/deployments.js';
import {
  asNum, asObj, asObjs, ensureObj, isSet, keepSpecForStatusUpdate, keepStatusForUpdate, metaOf, objectMetaFields,
  resetStatusForCreate, semanticEqual, standardVerbs, type Obj,
} from '../../apps/v1/helpers.js';
import { defaultPodTemplateSpec, podTemplateWarnings } from '../../apps/v1/podtemplate.js';
import {
  CONTROLLER_UID_LABEL, isConditionTrue, JOB_NAME_LABEL, LEGACY_CONTROLLER_UID_LABEL, LEGACY_JOB_NAME_LABEL,
  validateJob, validateJobSpecUpdate, validateJobStatusUpdate, type JobValidationOptions,
} from './validation.js';

function specOf(obj: KObject): Obj {
  return asObj(obj.spec) ?? {};
}

/** SetDefaults_PodFailurePolicyOnPodConditionsPattern: a pattern's status defaults to True. */
export function defaultPodFailurePolicy(spec: Obj): void {
  for (const rule of asObjs(asObj(spec.podFailurePolicy)?.rules)) {
    for (const pattern of asObjs(rule.onPodConditions)) if (!pattern.status) pattern.status = 'True';
  }
}

/** SetDefaults_Job plus the pod template's defaults. */
export function defaultJob(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  // A non-parallel Job may leave both unset; then both are 1.
  if (!isSet(spec.completions) && !isSet(spec.parallelism)) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (!isSet(spec.parallelism)) spec.parallelism = 1;
  if (!isSet(spec.backoffLimit)) spec.backoffLimit = isSet(spec.backoffLimitPerIndex) ? 2147483647 : 6;
  const template = ensureObj(spec, 'template');
  const templateLabels = asObj(asObj(template.metadata)?.labels);
  const meta = metaOf(obj);
  if (templateLabels && Object.keys(meta.labels ?? {}).length === 0) meta.labels = { ...(templateLabels as Record<string, string>) };
  if (!isSet(spec.completionMode)) spec.completionMode = 'NonIndexed';
  if (!isSet(spec.suspend)) spec.suspend = false;
  defaultPodFailurePolicy(spec);
  if (!isSet(spec.podReplacementPolicy)) spec.podReplacementPolicy = isSet(spec.podFailurePolicy) ? 'Failed' : 'TerminatingOrFailed';
  if (!isSet(spec.manualSelector)) spec.manualSelector = false;
  defaultPodTemplateSpec(template);
}

/**
 * generateSelector: unless spec.manualSelector, the template gets `controller-uid` and
 * `job-name` labels (legacy and batch.kubernetes.io/ ones; labels the user set are kept,
 * validation rejects conflicts) and the selector matches the prefixed controller-uid.
 * Upstream's read-time defaulting then copies the template labels onto a Job created
 * without labels; we do that here, once, so stored objects look the same.
 */
function generateSelector(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (spec.manualSelector === true) return;
  const meta = metaOf(obj);
  const template = ensureObj(spec, 'template');
  const tmeta = ensureObj(template, 'metadata');
  const labels = ensureObj(tmeta, 'labels') as Record<string, string>;
  for (const key of [LEGACY_JOB_NAME_LABEL, JOB_NAME_LABEL]) if (!(key in labels)) labels[key] = meta.name ?? '';
  for (const key of [LEGACY_CONTROLLER_UID_LABEL, CONTROLLER_UID_LABEL]) if (!(key in labels)) labels[key] = meta.uid ?? '';
  const selector = ensureObj(spec, 'selector');
  const matchLabels = ensureObj(selector, 'matchLabels') as Record<string, string>;
  if (!(CONTROLLER_UID_LABEL in matchLabels)) matchLabels[CONTROLLER_UID_LABEL] = meta.uid ?? '';
  if (Object.keys(meta.labels ?? {}).length === 0) meta.labels = { ...labels };
}

/** validationOptionsForJob. */
function validationOptions(old: KObject | undefined): JobValidationOptions {
  if (!old) return { requirePrefixedLabels: true, allowMutableSchedulingDirectives: false };
  const oldSpec = specOf(old);
  const oldLabels = asObj(asObj(asObj(oldSpec.template)?.metadata)?.labels) ?? {};
  return {
    // Jobs created before the prefixed labels existed keep validating without them.
    requirePrefixedLabels: JOB_NAME_LABEL in oldLabels && CONTROLLER_UID_LABEL in oldLabels,
    allowMutableSchedulingDirectives: oldSpec.suspend === true && !isSet(asObj(old.status)?.startTime),
  };
}

/**
 * WarningsForJobSpec: a very large Indexed Job may not track completedIndexes well, plus
 * the pod template's warnings.
 */
export function jobSpecWarnings(spec: Obj, fldPath: FieldPath, oldSpec?: Obj): string[] {
  const out: string[] = [];
  if (spec.completionMode === 'Indexed' && isSet(spec.completions) && isSet(spec.parallelism) &&
    asNum(spec.completions) > 100_000 && asNum(spec.parallelism) > 10_000) {
    out.push(`${fldPath.toString()}: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail`);
  }
  out.push(...podTemplateWarnings(asObj(spec.template), fldPath.child('template'), oldSpec ? asObj(oldSpec.template) : undefined));
  return out;
}

/** The job's STATUS cell (printJob). */
export function jobStatusCell(obj: KObject): string {
  const status = asObj(obj.status);
  if (isConditionTrue(status, 'Complete')) return 'Complete';
  if (isConditionTrue(status, 'Failed')) return 'Failed';
  if (obj.metadata?.deletionTimestamp) return 'Terminating';
  if (isConditionTrue(status, 'Suspended')) return 'Suspended';
  if (isConditionTrue(status, 'FailureTarget')) return 'FailureTarget';
  if (isConditionTrue(status, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

/** The COMPLETIONS cell: `1/3`, or `0/1 of 2` for a work-queue Job (no completions). */
export function jobCompletionsCell(obj: KObject): string {
  const spec = specOf(obj);
  const succeeded = asNum(asObj(obj.status)?.succeeded);
  if (isSet(spec.completions)) return `${succeeded}/${asNum(spec.completions)}`;
  const parallelism = asNum(spec.parallelism);
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

/** The DURATION cell: start to completion, or start to now; empty before the start. */
export function jobDurationCell(obj: KObject, nowMs: number): string {
  const status = asObj(obj.status) ?? {};
  const start = parseTimestamp(status.startTime);
  if (start === undefined) return '';
  const end = parseTimestamp(status.completionTime);
  return humanDuration((end ?? nowMs) - start);
}

export const jobs: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  listKind: 'JobList',
  resource: 'jobs',
  singular: 'job',
  categories: ['all'],
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.batch.v1.Job',
  strategy: {
    default: defaultJob,
    prepareForCreate(obj) {
      generateSelector(obj);
      resetStatusForCreate(obj);
    },
    prepareForUpdate: (obj, old) => keepStatusForUpdate(obj, old, !semanticEqual(obj.spec, old.spec)),
    validate: (obj) => validateJob(obj as Obj, validationOptions(undefined)),
    validateUpdate(obj, old) {
      const opts = validationOptions(old);
      return [...validateJob(obj as Obj, opts), ...validateJobSpecUpdate(specOf(obj), specOf(old), opts)];
    },
    warnings(obj, old) {
      if (old === undefined) return [...podNameWarnings(obj), ...jobSpecWarnings(specOf(obj), newPath('spec'))];
      if (obj.metadata?.generation === old.metadata?.generation) return [];
      return jobSpecWarnings(specOf(obj), newPath('spec'), specOf(old));
    },
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  status: {
    prepareForUpdate: (obj, old) => keepSpecForStatusUpdate(obj, old),
    validateUpdate: (obj, old) => validateJobStatusUpdate(obj as Obj, old as Obj),
  },
  table: {
    columns: [
      nameColumn,
      column('Status', 'string', 'Status of the job.'),
      column('Completions', 'string', 'The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.'),
      column('Duration', 'string', 'Time required to complete the job.'),
      ageColumn,
      column('Containers', 'string', 'Names of each container in the template.', 1),
      column('Images', 'string', 'Images referenced by each container in the template.', 1),
      column('Selector', 'string', 'A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors', 1),
    ],
    row(obj, nowMs) {
      const spec = specOf(obj);
      const [names, images] = layoutContainerCells(asObjs(asObj(asObj(spec.template)?.spec)?.containers));
      return [
        objectName(obj),
        jobStatusCell(obj),
        jobCompletionsCell(obj),
        jobDurationCell(obj, nowMs),
        objectAge(obj, nowMs),
        names,
        images,
        formatLabelSelector(spec.selector as LabelSelector | null | undefined),
      ];
    },
  },
  selectableFields: (obj) => ({
    ...objectMetaFields(obj, true),
    'status.successful': String(asNum(asObj(obj.status)?.succeeded)),
  }),
};

