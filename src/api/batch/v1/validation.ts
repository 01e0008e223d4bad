/**
 * batch/v1 validation after upstream pkg/apis/batch/validation (v1.32): the same checks in
 * the same order, with the same field paths and messages, so `kubectl create` of an
 * invalid Job or CronJob prints what a real cluster prints. ObjectMeta is validated by the
 * API server. Feature gates are those on by default in 1.32 (JobManagedBy,
 * JobPodReplacementPolicy, JobSuccessPolicy, JobBackoffLimitPerIndex, ElasticIndexedJob).
 */
import {
  fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired, fieldTooLong, fieldTooMany, goQuote, goTyped, newPath,
  omitValue, type FieldError, type FieldPath,
} from '../../../apimachinery/errors.js';
import { labelSelectorAsSelector, validateLabelSelector, type LabelSelector, type Selector } from '../../../apimachinery/labels.js';
import {
  FIELD_IMMUTABLE_ERROR_MSG, isDNS1123Label, isQualifiedName, validateNonnegativeField, DNS1035_LABEL_MAX_LENGTH,
} from '../../../apimachinery/validation.js';
import { asNum, asObj, asObjs, asStr, clone, goLabelSelector, isSet, semanticEqual, type Obj } from '../../apps/v1/helpers.js';
import { validatePodTemplateSpec } from '../../apps/v1/podtemplate.js';
import { CronParseError, loadLocation, parseStandard } from './cron.js';

/** Labels the API server puts on a Job's pod template (batch.kubernetes.io/…, plus the legacy ones). */
export const CONTROLLER_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_CONTROLLER_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';

const MAX_PARALLELISM_FOR_INDEXED_JOB = 100_000;
const MAX_FAILED_INDEXES_FOR_INDEXED_JOB = 100_000;
const COMPLETIONS_SOFT_LIMIT = 100_000;
const PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS = 10_000;
const MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS = 10_000;
const MAX_POD_FAILURE_POLICY_RULES = 20;
const MAX_ON_EXIT_CODES_VALUES = 255;
const MAX_ON_POD_CONDITIONS_PATTERNS = 20;
const MAX_MANAGED_BY_LENGTH = 63;
const MAX_SUCCEEDED_INDEXES_LENGTH = 64 * 1024;
const MAX_SUCCESS_POLICY_RULES = 20;

function nonneg(v: unknown, path: FieldPath): FieldError[] {
  return validateNonnegativeField(asNum(v), path);
}

function labelsOf(template: Obj | undefined): Record<string, string> | undefined {
  return asObj(asObj(template?.metadata)?.labels) as Record<string, string> | undefined;
}

function goLabels(labels: Record<string, string> | undefined): unknown {
  return goTyped('map[string]string', labels ?? null);
}

function selectorOf(sel: unknown): Selector | undefined {
  try {
    return labelSelectorAsSelector(sel as LabelSelector | null | undefined);
  } catch {
    return undefined;
  }
}

/** Whether a pod template's (or any object's) condition of `type` is True. */
export function isConditionTrue(status: Obj | undefined, type: string): boolean {
  return asObjs(status?.conditions).some((c) => c.type === type && c.status === 'True');
}

/** IsJobFinished: a Complete or Failed condition is True. */
export function isJobFinished(status: Obj | undefined): boolean {
  return isConditionTrue(status, 'Complete') || isConditionTrue(status, 'Failed');
}

// ---------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------

/** Options upstream derives per request (validationOptionsForJob). */
export interface JobValidationOptions {
  /** Require the batch.kubernetes.io/ template labels (always on create). */
  requirePrefixedLabels: boolean;
  /** Node affinity, node selector, tolerations, labels, annotations and scheduling gates may change (suspended, never started). */
  allowMutableSchedulingDirectives: boolean;
}

/** ValidateHasLabel. */
function validateHasLabel(labels: Record<string, string> | undefined, fldPath: FieldPath, key: string, expected: string): FieldError[] {
  const actual = labels?.[key];
  if (actual === undefined) return [fieldRequired(fldPath.child('labels').key(key), `must be '${expected}'`)];
  if (actual !== expected) return [fieldInvalid(fldPath.child('labels').key(key), goLabels(labels), `must be '${expected}'`)];
  return [];
}

/** validateGeneratedSelector: the template carries the generated labels and the selector selects them. */
function validateGeneratedSelector(job: Obj, requirePrefixedLabels: boolean): FieldError[] {
  const spec = asObj(job.spec) ?? {};
  if (spec.manualSelector === true || !isSet(spec.selector)) return [];
  const meta = asObj(job.metadata) ?? {};
  const uid = asStr(meta.uid);
  const name = asStr(meta.name);
  const errs: FieldError[] = [];
  if (uid === '') errs.push(fieldRequired(newPath('metadata', 'uid'), ''));
  const labels = labelsOf(asObj(spec.template));
  const tp = newPath('spec', 'template', 'metadata');
  errs.push(...validateHasLabel(labels, tp, LEGACY_CONTROLLER_UID_LABEL, uid));
  errs.push(...validateHasLabel(labels, tp, LEGACY_JOB_NAME_LABEL, name));
  const expected: Record<string, string> = {};
  if (requirePrefixedLabels) {
    errs.push(...validateHasLabel(labels, tp, CONTROLLER_UID_LABEL, uid));
    errs.push(...validateHasLabel(labels, tp, JOB_NAME_LABEL, name));
    expected[CONTROLLER_UID_LABEL] = uid;
    expected[JOB_NAME_LABEL] = name;
  }
  expected[LEGACY_CONTROLLER_UID_LABEL] = uid;
  expected[LEGACY_JOB_NAME_LABEL] = name;
  const selector = selectorOf(spec.selector);
  if (selector && !selector.matches(expected)) {
    errs.push(fieldInvalid(newPath('spec', 'selector'), goLabelSelector(spec.selector as LabelSelector), '`selector` not auto-generated'));
  }
  return errs;
}

/** The Go rendering of a *int32 value in a field error (the pointer is dereferenced). */
function int32Value(v: unknown): unknown {
  return isSet(v) ? asNum(v) : null;
}

function validatePodFailurePolicyRule(spec: Obj, rule: Obj, path: FieldPath, containerNames: Set<string>): FieldError[] {
  const errs: FieldError[] = [];
  const actions = ['Count', 'FailIndex', 'FailJob', 'Ignore'];
  const action = asStr(rule.action);
  const actionPath = path.child('action');
  if (action === '') errs.push(fieldRequired(actionPath, `valid values: [${actions.map(goQuote).join(' ')}]`));
  else if (action === 'FailIndex') {
    if (!isSet(spec.backoffLimitPerIndex)) errs.push(fieldInvalid(actionPath, action, 'requires the backoffLimitPerIndex to be set'));
  } else if (!actions.includes(action)) errs.push(fieldNotSupported(actionPath, action, actions));
  const onExitCodes = asObj(rule.onExitCodes);
  const onPodConditions = asObjs(rule.onPodConditions);
  if (onExitCodes) {
    const p = path.child('onExitCodes');
    const ops = ['In', 'NotIn'];
    const op = asStr(onExitCodes.operator);
    if (op === '') errs.push(fieldRequired(p.child('operator'), `valid values: [${ops.map(goQuote).join(' ')}]`));
    else if (!ops.includes(op)) errs.push(fieldNotSupported(p.child('operator'), op, ops));
    if (isSet(onExitCodes.containerName) && !containerNames.has(asStr(onExitCodes.containerName))) {
      errs.push(fieldInvalid(p.child('containerName'), asStr(onExitCodes.containerName), 'must be one of the container or initContainer names in the pod template'));
    }
    const values = Array.isArray(onExitCodes.values) ? (onExitCodes.values as number[]) : [];
    const vp = p.child('values');
    if (values.length === 0) errs.push(fieldInvalid(vp, goTyped('[]int32', onExitCodes.values ?? null), 'at least one value is required'));
    else if (values.length > MAX_ON_EXIT_CODES_VALUES) errs.push(fieldTooMany(vp, values.length, MAX_ON_EXIT_CODES_VALUES));
    const seen = new Set<number>();
    let ordered = true;
    values.forEach((v, j) => {
      if (op === 'In' && v === 0) errs.push(fieldInvalid(vp.index(j), v, 'must not be 0 for the In operator'));
      if (seen.has(v)) errs.push(fieldDuplicate(vp.index(j), v));
      else seen.add(v);
      if (j > 0 && values[j - 1]! > v) ordered = false;
    });
    if (!ordered) errs.push(fieldInvalid(vp, goTyped('[]int32', values), 'must be ordered'));
  }
  if (onPodConditions.length > 0) {
    const p = path.child('onPodConditions');
    if (onPodConditions.length > MAX_ON_POD_CONDITIONS_PATTERNS) errs.push(fieldTooMany(p, onPodConditions.length, MAX_ON_POD_CONDITIONS_PATTERNS));
    const statuses = ['False', 'True', 'Unknown'];
    onPodConditions.forEach((pattern, j) => {
      const pp = p.index(j);
      errs.push(...isQualifiedName(asStr(pattern.type)).map((m) => fieldInvalid(pp.child('type'), asStr(pattern.type), m)));
      const status = asStr(pattern.status);
      if (status === '') errs.push(fieldRequired(pp.child('status'), `valid values: [${statuses.map(goQuote).join(' ')}]`));
      else if (!statuses.includes(status)) errs.push(fieldNotSupported(pp.child('status'), status, statuses));
    });
  }
  if (onExitCodes && onPodConditions.length > 0) errs.push(fieldInvalid(path, omitValue, 'specifying both OnExitCodes and OnPodConditions is not supported'));
  if (!onExitCodes && onPodConditions.length === 0) errs.push(fieldInvalid(path, omitValue, 'specifying one of OnExitCodes and OnPodConditions is required'));
  return errs;
}

/** parseIndexInterval / validateIndexesFormat: "1,3-5" with indexes below completions; returns the count. */
export function validateIndexesFormat(indexes: string, completions: number): number {
  if (indexes === '') return 0;
  let last: number | undefined;
  let total = 0;
  for (const interval of indexes.split(',')) {
    const limits = interval.split('-');
    if (limits.length > 2) throw new Error(`the fragment ${goQuote(interval)} violates the requirement that an index interval can have at most two parts separated by '-'`);
    const parse = (s: string): number => {
      if (!/^[+-]?\d+$/.test(s)) throw new Error(`cannot convert string to integer for index: ${goQuote(s)}`);
      const n = Number(s);
      if (n >= completions) throw new Error(`too large index: ${goQuote(s)}`);
      return n;
    };
    const x = parse(limits[0]!);
    let y = x;
    if (limits.length > 1) {
      y = parse(limits[1]!);
      if (x >= y) throw new Error(`non-increasing order, previous: ${x}, current: ${y}`);
    }
    if (last !== undefined && last >= x) throw new Error(`non-increasing order, previous: ${last}, current: ${x}`);
    total += y - x + 1;
    last = y;
  }
  return total;
}

function validateSuccessPolicy(spec: Obj, policy: Obj, path: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const rules = asObjs(policy.rules);
  const rp = path.child('rules');
  if (rules.length === 0) errs.push(fieldRequired(rp, 'at least one rules must be specified when the successPolicy is specified'));
  if (rules.length > MAX_SUCCESS_POLICY_RULES) errs.push(fieldTooMany(rp, rules.length, MAX_SUCCESS_POLICY_RULES));
  const completions = asNum(spec.completions);
  rules.forEach((rule, i) => {
    const p = rp.index(i);
    if (!isSet(rule.succeededCount) && !isSet(rule.succeededIndexes)) {
      errs.push(fieldRequired(p, 'at least one of succeededCount or succeededIndexes must be specified'));
    }
    let total = 0;
    if (isSet(rule.succeededIndexes)) {
      const ip = p.child('succeededIndexes');
      const s = asStr(rule.succeededIndexes);
      if (s.length > MAX_SUCCEEDED_INDEXES_LENGTH) errs.push(fieldTooLong(ip, s, MAX_SUCCEEDED_INDEXES_LENGTH));
      try {
        total = validateIndexesFormat(s, completions);
      } catch (err) {
        errs.push(fieldInvalid(ip, s, `error parsing succeededIndexes: ${(err as Error).message}`));
      }
    }
    if (isSet(rule.succeededCount)) {
      const cp = p.child('succeededCount');
      const n = asNum(rule.succeededCount);
      errs.push(...nonneg(n, cp));
      if (n > completions) errs.push(fieldInvalid(cp, n, `must be less than or equal to ${completions} (the number of specified completions)`));
      if (isSet(rule.succeededIndexes) && n > total) {
        errs.push(fieldInvalid(cp, n, `must be less than or equal to ${total} (the number of indexes in the specified succeededIndexes field)`));
      }
    }
  });
  return errs;
}

/** validateJobSpec (shared by Jobs and CronJob job templates). */
export function validateJobSpecCommon(spec: Obj, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ['parallelism', 'completions', 'activeDeadlineSeconds', 'backoffLimit', 'ttlSecondsAfterFinished', 'backoffLimitPerIndex']) {
    if (isSet(spec[f])) errs.push(...nonneg(spec[f], fldPath.child(f)));
  }
  if (isSet(spec.maxFailedIndexes)) {
    errs.push(...nonneg(spec.maxFailedIndexes, fldPath.child('maxFailedIndexes')));
    if (!isSet(spec.backoffLimitPerIndex)) errs.push(fieldRequired(fldPath.child('backoffLimitPerIndex'), 'when maxFailedIndexes is specified'));
  }
  if (isSet(spec.managedBy)) {
    const managedBy = asStr(spec.managedBy);
    const p = fldPath.child('managedBy');
    errs.push(...isDomainPrefixedPath(p, managedBy));
    if (managedBy.length > MAX_MANAGED_BY_LENGTH) errs.push(fieldTooLong(p, managedBy, MAX_MANAGED_BY_LENGTH));
  }
  const mode = spec.completionMode;
  if (isSet(mode)) {
    if (mode !== 'NonIndexed' && mode !== 'Indexed') errs.push(fieldNotSupported(fldPath.child('completionMode'), asStr(mode), ['NonIndexed', 'Indexed']));
    if (mode === 'Indexed') {
      if (!isSet(spec.completions)) errs.push(fieldRequired(fldPath.child('completions'), 'when completion mode is Indexed'));
      if (isSet(spec.parallelism) && asNum(spec.parallelism) > MAX_PARALLELISM_FOR_INDEXED_JOB) {
        errs.push(fieldInvalid(fldPath.child('parallelism'), asNum(spec.parallelism), `must be less than or equal to ${MAX_PARALLELISM_FOR_INDEXED_JOB} when completion mode is Indexed`));
      }
      if (isSet(spec.completions) && isSet(spec.maxFailedIndexes) && asNum(spec.maxFailedIndexes) > asNum(spec.completions)) {
        errs.push(fieldInvalid(fldPath.child('maxFailedIndexes'), asNum(spec.maxFailedIndexes), 'must be less than or equal to completions'));
      }
      if (isSet(spec.maxFailedIndexes) && asNum(spec.maxFailedIndexes) > MAX_FAILED_INDEXES_FOR_INDEXED_JOB) {
        errs.push(fieldInvalid(fldPath.child('maxFailedIndexes'), asNum(spec.maxFailedIndexes), `must be less than or equal to ${MAX_FAILED_INDEXES_FOR_INDEXED_JOB}`));
      }
      if (isSet(spec.completions) && asNum(spec.completions) > COMPLETIONS_SOFT_LIMIT && isSet(spec.backoffLimitPerIndex)) {
        if (!isSet(spec.maxFailedIndexes)) {
          errs.push(fieldRequired(fldPath.child('maxFailedIndexes'), `must be specified when completions is above ${COMPLETIONS_SOFT_LIMIT}`));
        }
        if (isSet(spec.parallelism) && asNum(spec.parallelism) > PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS) {
          errs.push(fieldInvalid(fldPath.child('parallelism'), asNum(spec.parallelism),
            `must be less than or equal to ${PARALLELISM_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above ${COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index`));
        }
        if (isSet(spec.maxFailedIndexes) && asNum(spec.maxFailedIndexes) > MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS) {
          errs.push(fieldInvalid(fldPath.child('maxFailedIndexes'), asNum(spec.maxFailedIndexes),
            `must be less than or equal to ${MAX_FAILED_INDEXES_LIMIT_FOR_HIGH_COMPLETIONS} when completions are above ${COMPLETIONS_SOFT_LIMIT} and used with backoff limit per index`));
        }
      }
    }
  }
  if (!isSet(mode) || mode === 'NonIndexed') {
    if (isSet(spec.backoffLimitPerIndex)) errs.push(fieldInvalid(fldPath.child('backoffLimitPerIndex'), asNum(spec.backoffLimitPerIndex), 'requires indexed completion mode'));
    if (isSet(spec.maxFailedIndexes)) errs.push(fieldInvalid(fldPath.child('maxFailedIndexes'), asNum(spec.maxFailedIndexes), 'requires indexed completion mode'));
  }
  const template = asObj(spec.template);
  const podSpec = asObj(template?.spec) ?? {};
  const pfp = asObj(spec.podFailurePolicy);
  if (pfp) {
    const rules = asObjs(pfp.rules);
    const rp = fldPath.child('podFailurePolicy', 'rules');
    if (rules.length > MAX_POD_FAILURE_POLICY_RULES) errs.push(fieldTooMany(rp, rules.length, MAX_POD_FAILURE_POLICY_RULES));
    const names = new Set([...asObjs(podSpec.containers), ...asObjs(podSpec.initContainers)].map((c) => asStr(c.name)));
    rules.forEach((rule, i) => errs.push(...validatePodFailurePolicyRule(spec, rule, rp.index(i), names)));
  }
  const sp = asObj(spec.successPolicy);
  if (sp) {
    if ((isSet(mode) ? mode : 'NonIndexed') !== 'Indexed') {
      errs.push(fieldInvalid(fldPath.child('successPolicy'), { toString: () => 'batch.SuccessPolicy{...}' }, 'requires indexed completion mode'));
    } else {
      errs.push(...validateSuccessPolicy(spec, sp, fldPath.child('successPolicy')));
    }
  }
  if (isSet(spec.podReplacementPolicy)) {
    const prp = asStr(spec.podReplacementPolicy);
    const p = fldPath.child('podReplacementPolicy');
    if (pfp) {
      if (prp !== 'Failed') errs.push(fieldNotSupported(p, prp, ['Failed']));
    } else if (prp !== 'Failed' && prp !== 'TerminatingOrFailed') {
      errs.push(fieldNotSupported(p, prp, ['Failed', 'TerminatingOrFailed']));
    }
  }
  errs.push(...validatePodTemplateSpec(template, fldPath.child('template')));
  // The pod defaults turn an unset restartPolicy into Always, so both read as "required".
  const rp = podSpec.restartPolicy;
  const rpPath = fldPath.child('template', 'spec', 'restartPolicy');
  if (rp === 'Always' || !isSet(rp) || rp === '') {
    errs.push(fieldRequired(rpPath, 'valid values: "OnFailure", "Never"'));
  } else if (rp !== 'OnFailure' && rp !== 'Never') {
    errs.push(fieldNotSupported(rpPath, asStr(rp), ['OnFailure', 'Never']));
  } else if (pfp && rp !== 'Never') {
    errs.push(fieldInvalid(rpPath, asStr(rp), 'only "Never" is supported when podFailurePolicy is specified'));
  }
  return errs;
}

/** IsDomainPrefixedPath: `example.com/path`. */
function isDomainPrefixedPath(fldPath: FieldPath, dpPath: string): FieldError[] {
  const slash = dpPath.indexOf('/');
  if (slash < 0) return [fieldInvalid(fldPath, dpPath, 'must be a domain-prefixed path (such as "acme.io/foo")')];
  const host = dpPath.slice(0, slash);
  const path = dpPath.slice(slash);
  const errs: FieldError[] = [];
  const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
  if (!subdomain.test(host) || host.length > 253) {
    errs.push(fieldInvalid(fldPath, host, "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
  }
  if (!/^\/[a-zA-Z0-9-._~%!$&'()*+,;=:@/]*$/.test(path)) {
    errs.push(fieldInvalid(fldPath, path, "must be a valid path (e.g. '/foo', regex used for validation is '^/[a-zA-Z0-9-._~%!$&'()*+,;=:@/]*$')"));
  }
  return errs;
}

/** ValidateJobSpec: validateJobSpec plus the required, valid selector matching the template. */
function validateJobSpecWithSelector(spec: Obj, fldPath: FieldPath): FieldError[] {
  const errs = validateJobSpecCommon(spec, fldPath);
  if (!isSet(spec.selector)) errs.push(fieldRequired(fldPath.child('selector'), ''));
  else errs.push(...validateLabelSelector(spec.selector as LabelSelector, { allowInvalidLabelValueInSelector: false }, fldPath.child('selector')));
  const selector = isSet(spec.selector) ? selectorOf(spec.selector) : undefined;
  const labels = labelsOf(asObj(spec.template));
  if (selector && !selector.matches(labels)) {
    errs.push(fieldInvalid(fldPath.child('template', 'metadata', 'labels'), goLabels(labels), '`selector` does not match template `labels`'));
  }
  return errs;
}

/** ValidateJob (without ObjectMeta). */
export function validateJob(job: Obj, opts: JobValidationOptions): FieldError[] {
  const errs = validateGeneratedSelector(job, opts.requirePrefixedLabels);
  const spec = asObj(job.spec) ?? {};
  errs.push(...validateJobSpecWithSelector(spec, newPath('spec')));
  const name = asStr(asObj(job.metadata)?.name);
  if (spec.completionMode === 'Indexed' && asNum(spec.completions) > 0) {
    const hostname = `${name}-${asNum(spec.completions) - 1}`;
    if (isDNS1123Label(hostname).length > 0) {
      errs.push(fieldInvalid(newPath('metadata', 'name'), name, `will not able to create pod with invalid DNS label: ${hostname}`));
    }
  }
  return errs;
}

/** A PodTemplateSpec as a field error's bad value (upstream prints the whole Go struct). */
function goPodTemplate(template: unknown): unknown {
  return { toString: () => `core.PodTemplateSpec{${JSON.stringify(template ?? {})}}` };
}

/** validatePodTemplateUpdate: the template is immutable, save scheduling directives of a suspended, never-started Job. */
function validatePodTemplateUpdate(spec: Obj, oldSpec: Obj, opts: JobValidationOptions): FieldError[] {
  const template = asObj(spec.template) ?? {};
  let oldTemplate = asObj(oldSpec.template) ?? {};
  if (opts.allowMutableSchedulingDirectives) {
    oldTemplate = clone(oldTemplate);
    const ps = asObj(template.spec) ?? {};
    const ops = (asObj(oldTemplate.spec) ?? (oldTemplate.spec = {})) as Obj;
    const aff = asObj(ps.affinity);
    const oldAff = asObj(ops.affinity);
    if (!aff && oldAff) {
      delete oldAff.nodeAffinity;
      if (Object.keys(oldAff).length === 0) delete ops.affinity;
    } else if (aff && !oldAff) {
      ops.affinity = isSet(aff.nodeAffinity) ? { nodeAffinity: clone(aff.nodeAffinity) } : {};
    } else if (aff && oldAff) {
      if (isSet(aff.nodeAffinity)) oldAff.nodeAffinity = clone(aff.nodeAffinity);
      else delete oldAff.nodeAffinity;
    }
    for (const f of ['nodeSelector', 'tolerations', 'schedulingGates']) {
      if (isSet(ps[f])) ops[f] = clone(ps[f]);
      else delete ops[f];
    }
    const meta = asObj(template.metadata) ?? {};
    const oldMeta = (asObj(oldTemplate.metadata) ?? (oldTemplate.metadata = {})) as Obj;
    for (const f of ['labels', 'annotations']) {
      if (isSet(meta[f])) oldMeta[f] = clone(meta[f]);
      else delete oldMeta[f];
    }
  }
  if (semanticEqual(template, oldTemplate)) return [];
  return [fieldInvalid(newPath('spec', 'template'), goPodTemplate(template), FIELD_IMMUTABLE_ERROR_MSG)];
}

/** validateCompletions: immutable, except for Indexed Jobs changing it in tandem with parallelism. */
function validateCompletionsUpdate(spec: Obj, oldSpec: Obj): FieldError[] {
  const path = newPath('spec', 'completions');
  if (semanticEqual(spec.completions, oldSpec.completions)) return [];
  if (spec.completionMode !== 'Indexed') return [fieldInvalid(path, int32Value(spec.completions), FIELD_IMMUTABLE_ERROR_MSG)];
  if (!isSet(spec.completions)) return [];
  if (asNum(spec.completions) !== asNum(spec.parallelism)) return [fieldInvalid(path, asNum(spec.completions), 'can only be modified in tandem with spec.parallelism')];
  return [];
}

function immutable(newVal: unknown, oldVal: unknown, path: FieldPath, render: (v: unknown) => unknown = (v) => v ?? null): FieldError[] {
  return semanticEqual(newVal, oldVal) ? [] : [fieldInvalid(path, render(newVal), FIELD_IMMUTABLE_ERROR_MSG)];
}

/** ValidateJobSpecUpdate. */
export function validateJobSpecUpdate(spec: Obj, oldSpec: Obj, opts: JobValidationOptions): FieldError[] {
  const p = newPath('spec');
  return [
    ...validateJobSpecWithSelector(spec, p),
    ...validateCompletionsUpdate(spec, oldSpec),
    ...immutable(spec.selector, oldSpec.selector, p.child('selector'), (v) => goLabelSelector(v as LabelSelector)),
    ...validatePodTemplateUpdate(spec, oldSpec, opts),
    ...immutable(spec.completionMode, oldSpec.completionMode, p.child('completionMode')),
    ...immutable(spec.podFailurePolicy, oldSpec.podFailurePolicy, p.child('podFailurePolicy'), () => ({ toString: () => 'batch.PodFailurePolicy{...}' })),
    ...immutable(spec.backoffLimitPerIndex, oldSpec.backoffLimitPerIndex, p.child('backoffLimitPerIndex')),
    ...immutable(spec.managedBy, oldSpec.managedBy, p.child('managedBy')),
    ...immutable(spec.successPolicy, oldSpec.successPolicy, p.child('successPolicy'), () => ({ toString: () => 'batch.SuccessPolicy{...}' })),
  ];
}

/**
 * ValidateJobStatusUpdate with the options the 1.32 strategy uses (JobManagedBy on): the
 * counters are non-negative, terminal conditions and counters never go back, and rules
 * about finished Jobs are checked when the fields involved change.
 */
export function validateJobStatusUpdate(job: Obj, oldJob: Obj): FieldError[] {
  const status = asObj(job.status) ?? {};
  const oldStatus = asObj(oldJob.status) ?? {};
  const spec = asObj(job.spec) ?? {};
  const sp = newPath('status');
  const errs: FieldError[] = [];
  for (const f of ['active', 'succeeded', 'failed']) errs.push(...nonneg(status[f], sp.child(f)));
  for (const f of ['ready', 'terminating']) if (isSet(status[f])) errs.push(...nonneg(status[f], sp.child(f)));
  const uncounted = asObj(status.uncountedTerminatedPods);
  if (uncounted) {
    const seen = new Set<string>();
    for (const kind of ['succeeded', 'failed']) {
      const list = Array.isArray(uncounted[kind]) ? (uncounted[kind] as string[]) : [];
      list.forEach((uid, i) => {
        const p = sp.child('uncountedTerminatedPods', kind).index(i);
        if (uid === '') errs.push(fieldInvalid(p, uid, 'must not be empty'));
        else if (seen.has(uid)) errs.push(fieldDuplicate(p, uid));
        else seen.add(uid);
      });
    }
  }
  const is = (s: Obj, t: string) => isConditionTrue(s, t);
  const changed = (t: string) => is(status, t) !== is(oldStatus, t);
  const finishedChanged = isJobFinished(status) !== isJobFinished(oldStatus);
  const completionTimeChanged = status.completionTime !== oldStatus.completionTime;
  const finished = isJobFinished(status);
  const cp = sp.child('conditions');
  if ((changed('Complete') || changed('Failed')) && is(status, 'Complete') && is(status, 'Failed')) {
    errs.push(fieldInvalid(cp, omitValue, 'cannot set Complete=True and Failed=true conditions'));
  }
  if ((changed('Complete') || changed('FailureTarget')) && is(status, 'Complete') && is(status, 'FailureTarget')) {
    errs.push(fieldInvalid(cp, omitValue, 'cannot set Complete=True and FailureTarget=true conditions'));
  }
  if ((changed('Complete') || completionTimeChanged) && isSet(status.completionTime) && !is(status, 'Complete')) {
    errs.push(fieldInvalid(sp.child('completionTime'), asStr(status.completionTime), 'cannot set completionTime when there is no Complete=True condition'));
  }
  if ((changed('Complete') || completionTimeChanged) && !isSet(status.completionTime) && is(status, 'Complete')) {
    errs.push(fieldRequired(sp.child('completionTime'), 'completionTime is required for Complete jobs'));
  }
  if ((finishedChanged || status.active !== oldStatus.active) && asNum(status.active) > 0 && finished) {
    errs.push(fieldInvalid(sp.child('active'), asNum(status.active), 'active>0 is invalid for finished job'));
  }
  if ((finishedChanged || status.startTime !== oldStatus.startTime) && !isSet(status.startTime) && finished) {
    errs.push(fieldRequired(sp.child('startTime'), 'startTime is required for finished job'));
  }
  if (finishedChanged && finished && uncounted
    && ((Array.isArray(uncounted.succeeded) ? uncounted.succeeded.length : 0) + (Array.isArray(uncounted.failed) ? uncounted.failed.length : 0)) > 0) {
    errs.push(fieldInvalid(sp.child('uncountedTerminatedPods'), { toString: () => 'batch.UncountedTerminatedPods{...}' }, 'uncountedTerminatedPods needs to be empty for finished job'));
  }
  if (is(status, 'SuccessCriteriaMet') && is(status, 'Failed')) {
    errs.push(fieldInvalid(cp, omitValue, 'cannot set SuccessCriteriaMet=True and Failed=true conditions'));
  }
  if (is(status, 'SuccessCriteriaMet') && is(status, 'FailureTarget')) {
    errs.push(fieldInvalid(cp, omitValue, 'cannot set SuccessCriteriaMet=True and FailureTarget=true conditions'));
  }
  if (isSet(spec.successPolicy) && !is(status, 'SuccessCriteriaMet') && is(status, 'Complete')) {
    errs.push(fieldInvalid(cp, omitValue, 'cannot set Complete=True for Job with SuccessPolicy unless SuccessCriteriaMet=True'));
  }
  for (const t of ['Failed', 'Complete', 'FailureTarget']) {
    if (is(oldStatus, t) && !is(status, t)) errs.push(fieldInvalid(cp, omitValue, `cannot disable the terminal ${t}=True condition`));
  }
  if (asNum(status.failed) < asNum(oldStatus.failed)) errs.push(fieldInvalid(sp.child('failed'), asNum(status.failed), 'cannot decrease the failed counter'));
  const scalable = spec.completionMode === 'Indexed' && semanticEqual(spec.completions, spec.parallelism);
  if (!scalable && asNum(status.succeeded) < asNum(oldStatus.succeeded)) {
    errs.push(fieldInvalid(sp.child('succeeded'), asNum(status.succeeded), 'cannot decrease the succeeded counter'));
  }
  if (isSet(status.completionTime) && isSet(oldStatus.completionTime) && status.completionTime !== oldStatus.completionTime) {
    errs.push(fieldInvalid(sp.child('completionTime'), asStr(status.completionTime), 'completionTime cannot be mutated'));
  }
  if (is(oldStatus, 'SuccessCriteriaMet') && !is(status, 'SuccessCriteriaMet')) {
    errs.push(fieldInvalid(cp, omitValue, 'cannot disable the SuccessCriteriaMet=True condition'));
  }
  if (is(oldStatus, 'Complete') && !is(oldStatus, 'SuccessCriteriaMet') && is(status, 'SuccessCriteriaMet')) {
    errs.push(fieldInvalid(cp, omitValue, 'cannot set SuccessCriteriaMet=True for Job already has Complete=true conditions'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// CronJobs
// ---------------------------------------------------------------------------------------

/** IANA naming rules for a zone name component (plus legacy 0-9 and '+'). */
const VALID_TIME_ZONE_CHARACTERS = /^[A-Za-z.\-_0-9+]{1,14}$/;

/** validateTimeZone. */
function validateTimeZone(tz: unknown, fldPath: FieldPath): FieldError[] {
  if (!isSet(tz)) return [];
  const name = asStr(tz);
  if (name === '') return [fieldInvalid(fldPath, name, 'timeZone must be nil or non-empty string')];
  for (const part of name.split('/')) {
    if (part === '.' || part === '..' || part.startsWith('-') || !VALID_TIME_ZONE_CHARACTERS.test(part)) {
      return [fieldInvalid(fldPath, name, `unknown time zone ${name}`)];
    }
  }
  const errs: FieldError[] = [];
  if (name.toLowerCase() === 'local') {
    errs.push(fieldInvalid(fldPath, name, 'timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'));
  }
  try {
    loadLocation(name);
  } catch (err) {
    errs.push(fieldInvalid(fldPath, name, (err as Error).message));
  }
  return errs;
}

/** validateScheduleFormat: robfig's parse error verbatim, and no TZ= prefix (unless the old schedule had one). */
function validateScheduleFormat(schedule: string, allowTZInSchedule: boolean, timeZone: unknown, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  try {
    parseStandard(schedule);
  } catch (err) {
    if (!(err instanceof CronParseError)) throw err;
    errs.push(fieldInvalid(fldPath, schedule, err.message));
  }
  if (allowTZInSchedule && schedule.includes('TZ') && isSet(timeZone)) {
    errs.push(fieldInvalid(fldPath, schedule, 'cannot use both timeZone field and TZ or CRON_TZ in schedule'));
  } else if (!allowTZInSchedule && schedule.includes('TZ')) {
    errs.push(fieldInvalid(fldPath, schedule, 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead'));
  }
  return errs;
}

/** ValidateJobTemplateSpec: validateJobSpec, and no selector (it is generated per Job). */
function validateJobTemplateSpec(jt: Obj, fldPath: FieldPath): FieldError[] {
  const spec = asObj(jt.spec) ?? {};
  const errs = validateJobSpecCommon(spec, fldPath.child('spec'));
  if (isSet(spec.selector)) {
    errs.push(fieldInvalid(fldPath.child('spec', 'selector'), goLabelSelector(spec.selector as LabelSelector), '`selector` will be auto-generated'));
  }
  if (spec.manualSelector === true) {
    errs.push(fieldNotSupported(fldPath.child('spec', 'manualSelector'), true, ['nil', 'false']));
  }
  return errs;
}

/** validateCronJobSpec; oldSpec is set on update. */
export function validateCronJobSpec(spec: Obj, oldSpec: Obj | undefined): FieldError[] {
  const p = newPath('spec');
  const errs: FieldError[] = [];
  const schedule = asStr(spec.schedule);
  if (schedule === '') errs.push(fieldRequired(p.child('schedule'), ''));
  else errs.push(...validateScheduleFormat(schedule, oldSpec !== undefined && asStr(oldSpec.schedule).includes('TZ'), spec.timeZone, p.child('schedule')));
  if (isSet(spec.startingDeadlineSeconds)) errs.push(...nonneg(spec.startingDeadlineSeconds, p.child('startingDeadlineSeconds')));
  if (oldSpec === undefined || spec.timeZone !== oldSpec.timeZone) errs.push(...validateTimeZone(spec.timeZone, p.child('timeZone')));
  const policy = asStr(spec.concurrencyPolicy);
  if (policy === '') errs.push(fieldRequired(p.child('concurrencyPolicy'), ''));
  else if (!['Allow', 'Forbid', 'Replace'].includes(policy)) errs.push(fieldNotSupported(p.child('concurrencyPolicy'), policy, ['Allow', 'Forbid', 'Replace']));
  errs.push(...validateJobTemplateSpec(asObj(spec.jobTemplate) ?? {}, p.child('jobTemplate')));
  if (isSet(spec.successfulJobsHistoryLimit)) errs.push(...nonneg(spec.successfulJobsHistoryLimit, p.child('successfulJobsHistoryLimit')));
  if (isSet(spec.failedJobsHistoryLimit)) errs.push(...nonneg(spec.failedJobsHistoryLimit, p.child('failedJobsHistoryLimit')));
  return errs;
}

/** ValidateCronJobCreate (without ObjectMeta): the spec, and a name that leaves room for the Job suffix. */
export function validateCronJobCreate(cj: Obj): FieldError[] {
  const errs = validateCronJobSpec(asObj(cj.spec) ?? {}, undefined);
  const name = asStr(asObj(cj.metadata)?.name);
  // The controller appends "-<minutes since epoch>" (11 characters) to name the Jobs.
  if (name.length > DNS1035_LABEL_MAX_LENGTH - 11) {
    errs.push(fieldInvalid(newPath('metadata', 'name'), name, 'must be no more than 52 characters'));
  }
  return errs;
}
