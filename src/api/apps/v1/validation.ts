/**
 * apps/v1 validation after upstream pkg/apis/apps/validation (v1.32): the same checks in
 * the same order, with the same field paths and messages, so `kubectl create` of an invalid
 * workload prints what a real cluster prints. ObjectMeta is validated by the API server.
 */
import {
  fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, goQuote, goTyped, newPath,
  type FieldError, type FieldPath,
} from '../../../apimachinery/errors.js';
import { intValue } from '../../../apimachinery/intstr.js';
import {
  labelSelectorAsSelector, validateLabelSelector, type LabelSelector, type Selector,
} from '../../../apimachinery/labels.js';
import {
  FIELD_IMMUTABLE_ERROR_MSG, isValidPercent, validateAnnotations, validateLabels, validateNonnegativeField,
} from '../../../apimachinery/validation.js';
import {
  asNum, asObj, asStr, goIntOrString, goLabelSelector, goPtr, goStruct, isSet, semanticEqual, type Obj,
} from './helpers.js';
import { validatePodTemplateSpec } from './podtemplate.js';

// ---------------------------------------------------------------------------------------
// Shared pieces
// ---------------------------------------------------------------------------------------

function nonneg(v: unknown, path: FieldPath): FieldError[] {
  return validateNonnegativeField(asNum(v), path);
}

/** The template's labels as upstream prints them: `map[string]string{...}` or `(nil)`. */
function goTemplateLabels(template: Obj | undefined): unknown {
  return goTyped('map[string]string', asObj(asObj(template?.metadata)?.labels) ?? null);
}

function templateLabels(template: Obj | undefined): Record<string, string> | undefined {
  return asObj(asObj(template?.metadata)?.labels) as Record<string, string> | undefined;
}

/** metav1.LabelSelectorAsSelector, undefined when it fails (the caller reports it). */
function selectorOf(sel: LabelSelector | null | undefined): Selector | undefined {
  try {
    return labelSelectorAsSelector(sel);
  } catch {
    return undefined;
  }
}

/**
 * The selector checks of Deployments, ReplicaSets and StatefulSets: required, valid
 * (strictly: no invalid label values), and not empty (`empty selector is invalid for <kind>`).
 */
function validateRequiredSelector(sel: LabelSelector | null | undefined, kindWord: string, fldPath: FieldPath): FieldError[] {
  if (!isSet(sel)) return [fieldRequired(fldPath, '')];
  const errs = validateLabelSelector(sel, { allowInvalidLabelValueInSelector: false }, fldPath);
  const s = sel as LabelSelector;
  if (Object.keys(asObj(s.matchLabels) ?? {}).length + (Array.isArray(s.matchExpressions) ? s.matchExpressions.length : 0) === 0) {
    errs.push(fieldInvalid(fldPath, goLabelSelector(s), `empty selector is invalid for ${kindWord}`));
  }
  return errs;
}

/** ValidatePositiveIntOrPercent: a valid percent string or a non-negative integer. */
export function validatePositiveIntOrPercent(v: unknown, fldPath: FieldPath): FieldError[] {
  if (typeof v === 'string') return isValidPercent(v).map((m) => fieldInvalid(fldPath, goIntOrString(v), m));
  if (typeof v === 'number' || v === undefined || v === null) return nonneg(v, fldPath);
  return [fieldInvalid(fldPath, goIntOrString(v), "must be an integer or percentage (e.g '5%%')")];
}

function percentValue(v: unknown): number | undefined {
  if (typeof v !== 'string' || isValidPercent(v).length !== 0) return undefined;
  return Number.parseInt(v.slice(0, -1), 10);
}

/** getIntOrPercentValue: the percentage number, or the integer value. */
export function getIntOrPercentValue(v: unknown): number {
  const p = percentValue(v);
  if (p !== undefined) return p;
  return typeof v === 'number' || typeof v === 'string' ? intValue(v) : 0;
}

/** IsNotMoreThan100Percent. */
export function isNotMoreThan100Percent(v: unknown, fldPath: FieldPath): FieldError[] {
  const p = percentValue(v);
  if (p === undefined || p <= 100) return [];
  return [fieldInvalid(fldPath, goIntOrString(v), 'must not be greater than 100%')];
}

/** `status.collisionCount: Invalid value: N: cannot be decremented` (IsDecremented). */
function validateCollisionCountUpdate(status: Obj, oldStatus: Obj): FieldError[] {
  const n = status.collisionCount;
  const o = oldStatus.collisionCount;
  const decremented = isSet(o) && (!isSet(n) || asNum(n) < asNum(o));
  return decremented ? [fieldInvalid(newPath('status', 'collisionCount'), asNum(n), 'cannot be decremented')] : [];
}

/**
 * ValidatePodTemplateSpecForReplicaSet (Deployments and ReplicaSets): the selector matches
 * the template labels, the pod template is valid, restartPolicy is Always and
 * activeDeadlineSeconds is unset.
 */
function validatePodTemplateSpecForReplicaSet(template: Obj | undefined, selector: Selector, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  if (!selector.empty() && !selector.matches(templateLabels(template))) {
    errs.push(fieldInvalid(fldPath.child('metadata', 'labels'), goTemplateLabels(template), '`selector` does not match template `labels`'));
  }
  errs.push(...validatePodTemplateSpec(template, fldPath));
  const podSpec = asObj(template?.spec) ?? {};
  if (podSpec.restartPolicy !== 'Always') {
    errs.push(fieldNotSupported(fldPath.child('spec', 'restartPolicy'), asStr(podSpec.restartPolicy), ['Always']));
  }
  if (isSet(podSpec.activeDeadlineSeconds)) {
    errs.push(fieldForbidden(fldPath.child('spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  }
  return errs;
}

/** The selector checks plus the template checks shared by Deployments and ReplicaSets. */
function validateSelectorAndTemplate(spec: Obj, kindWord: string, fldPath: FieldPath): FieldError[] {
  const sel = spec.selector as LabelSelector | null | undefined;
  const errs = validateRequiredSelector(sel, kindWord, fldPath.child('selector'));
  const selector = selectorOf(sel);
  if (selector === undefined) {
    errs.push(fieldInvalid(fldPath.child('selector'), goLabelSelector(sel), 'invalid label selector'));
  } else {
    errs.push(...validatePodTemplateSpecForReplicaSet(asObj(spec.template), selector, fldPath.child('template')));
  }
  return errs;
}

/** `spec.selector: Invalid value: v1.LabelSelector{...}: field is immutable` (apps/v1 updates). */
export function validateSelectorImmutable(spec: Obj, oldSpec: Obj): FieldError[] {
  if (semanticEqual(spec.selector, oldSpec.selector)) return [];
  return [fieldInvalid(newPath('spec', 'selector'), goLabelSelector(spec.selector as LabelSelector), FIELD_IMMUTABLE_ERROR_MSG)];
}

// ---------------------------------------------------------------------------------------
// Deployments
// ---------------------------------------------------------------------------------------

function goDeploymentStrategy(strategy: Obj): unknown {
  return goStruct('apps.DeploymentStrategy', [
    ['Type', goQuote(asStr(strategy.type))],
    ['RollingUpdate', goPtr('apps.RollingUpdateDeployment', strategy.rollingUpdate)],
  ]);
}

/** ValidateRollingUpdateDeployment. */
function validateRollingUpdateDeployment(ru: Obj, fldPath: FieldPath): FieldError[] {
  const errs = [
    ...validatePositiveIntOrPercent(ru.maxUnavailable, fldPath.child('maxUnavailable')),
    ...validatePositiveIntOrPercent(ru.maxSurge, fldPath.child('maxSurge')),
  ];
  if (getIntOrPercentValue(ru.maxUnavailable) === 0 && getIntOrPercentValue(ru.maxSurge) === 0) {
    errs.push(fieldInvalid(fldPath.child('maxUnavailable'), goIntOrString(ru.maxUnavailable), 'may not be 0 when `maxSurge` is 0'));
  }
  errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, fldPath.child('maxUnavailable')));
  return errs;
}

/** ValidateDeploymentStrategy. */
function validateDeploymentStrategy(strategy: Obj, fldPath: FieldPath): FieldError[] {
  switch (strategy.type) {
    case 'Recreate':
      return isSet(strategy.rollingUpdate)
        ? [fieldForbidden(fldPath.child('rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'")]
        : [];
    case 'RollingUpdate': {
      const ru = asObj(strategy.rollingUpdate);
      if (!ru) return [fieldRequired(fldPath.child('rollingUpdate'), 'this should be defaulted and never be nil')];
      return validateRollingUpdateDeployment(ru, fldPath.child('rollingUpdate'));
    }
    default:
      return [fieldNotSupported(fldPath, goDeploymentStrategy(strategy), ['Recreate', 'RollingUpdate'])];
  }
}

/** ValidateDeploymentSpec. */
export function validateDeploymentSpec(spec: Obj, fldPath: FieldPath): FieldError[] {
  const errs = nonneg(spec.replicas, fldPath.child('replicas'));
  errs.push(...validateSelectorAndTemplate(spec, 'deployment', fldPath));
  errs.push(...validateDeploymentStrategy(asObj(spec.strategy) ?? {}, fldPath.child('strategy')));
  errs.push(...nonneg(spec.minReadySeconds, fldPath.child('minReadySeconds')));
  if (isSet(spec.revisionHistoryLimit)) errs.push(...nonneg(spec.revisionHistoryLimit, fldPath.child('revisionHistoryLimit')));
  if (isSet(spec.progressDeadlineSeconds)) {
    const pds = asNum(spec.progressDeadlineSeconds);
    errs.push(...nonneg(pds, fldPath.child('progressDeadlineSeconds')));
    if (pds <= asNum(spec.minReadySeconds)) {
      errs.push(fieldInvalid(fldPath.child('progressDeadlineSeconds'), pds, 'must be greater than minReadySeconds'));
    }
  }
  return errs;
}

/** ValidateDeploymentStatus. */
export function validateDeploymentStatus(status: Obj, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ['observedGeneration', 'replicas', 'updatedReplicas', 'readyReplicas', 'availableReplicas', 'unavailableReplicas']) {
    errs.push(...nonneg(status[f], fldPath.child(f)));
  }
  if (isSet(status.collisionCount)) errs.push(...nonneg(status.collisionCount, fldPath.child('collisionCount')));
  const msg = 'cannot be greater than status.replicas';
  const replicas = asNum(status.replicas);
  for (const f of ['updatedReplicas', 'readyReplicas', 'availableReplicas']) {
    if (asNum(status[f]) > replicas) errs.push(fieldInvalid(fldPath.child(f), asNum(status[f]), msg));
  }
  if (asNum(status.availableReplicas) > asNum(status.readyReplicas)) {
    errs.push(fieldInvalid(fldPath.child('availableReplicas'), asNum(status.availableReplicas), 'cannot be greater than readyReplicas'));
  }
  return errs;
}

/** ValidateDeploymentStatusUpdate (without ObjectMeta). */
export function validateDeploymentStatusUpdate(status: Obj, oldStatus: Obj): FieldError[] {
  return [...validateDeploymentStatus(status, newPath('status')), ...validateCollisionCountUpdate(status, oldStatus)];
}

// ---------------------------------------------------------------------------------------
// ReplicaSets
// ---------------------------------------------------------------------------------------

/** ValidateReplicaSetSpec (upstream reuses the deployment wording for an empty selector). */
export function validateReplicaSetSpec(spec: Obj, fldPath: FieldPath): FieldError[] {
  const errs = nonneg(spec.replicas, fldPath.child('replicas'));
  errs.push(...nonneg(spec.minReadySeconds, fldPath.child('minReadySeconds')));
  errs.push(...validateSelectorAndTemplate(spec, 'deployment', fldPath));
  return errs;
}

/** ValidateReplicaSetStatus. */
export function validateReplicaSetStatus(status: Obj, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ['replicas', 'fullyLabeledReplicas', 'readyReplicas', 'availableReplicas', 'observedGeneration']) {
    errs.push(...nonneg(status[f], fldPath.child(f)));
  }
  const msg = 'cannot be greater than status.replicas';
  const replicas = asNum(status.replicas);
  for (const f of ['fullyLabeledReplicas', 'readyReplicas', 'availableReplicas']) {
    if (asNum(status[f]) > replicas) errs.push(fieldInvalid(fldPath.child(f), asNum(status[f]), msg));
  }
  if (asNum(status.availableReplicas) > asNum(status.readyReplicas)) {
    errs.push(fieldInvalid(fldPath.child('availableReplicas'), asNum(status.availableReplicas), 'cannot be greater than readyReplicas'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// DaemonSets
// ---------------------------------------------------------------------------------------

function goDaemonSetUpdateStrategy(strategy: Obj): unknown {
  return goStruct('apps.DaemonSetUpdateStrategy', [
    ['Type', goQuote(asStr(strategy.type))],
    ['RollingUpdate', goPtr('apps.RollingUpdateDaemonSet', strategy.rollingUpdate)],
  ]);
}

/** ValidateRollingUpdateDaemonSet: exactly one of maxSurge and maxUnavailable is non-zero. */
function validateRollingUpdateDaemonSet(ru: Obj, fldPath: FieldPath): FieldError[] {
  const errs = [
    ...validatePositiveIntOrPercent(ru.maxUnavailable, fldPath.child('maxUnavailable')),
    ...validatePositiveIntOrPercent(ru.maxSurge, fldPath.child('maxSurge')),
    ...isNotMoreThan100Percent(ru.maxUnavailable, fldPath.child('maxUnavailable')),
    ...isNotMoreThan100Percent(ru.maxSurge, fldPath.child('maxSurge')),
  ];
  const hasUnavailable = getIntOrPercentValue(ru.maxUnavailable) !== 0;
  const hasSurge = getIntOrPercentValue(ru.maxSurge) !== 0;
  if (hasUnavailable && hasSurge) {
    errs.push(fieldInvalid(fldPath.child('maxSurge'), goIntOrString(ru.maxSurge), 'may not be set when maxUnavailable is non-zero'));
  } else if (!hasUnavailable && !hasSurge) {
    errs.push(fieldRequired(fldPath.child('maxUnavailable'), 'cannot be 0 when maxSurge is 0'));
  }
  return errs;
}

/** ValidateDaemonSetUpdateStrategy. */
function validateDaemonSetUpdateStrategy(strategy: Obj, fldPath: FieldPath): FieldError[] {
  switch (strategy.type) {
    case 'OnDelete':
      return [];
    case 'RollingUpdate': {
      const ru = asObj(strategy.rollingUpdate);
      if (!ru) return [fieldRequired(fldPath.child('rollingUpdate'), '')];
      return validateRollingUpdateDaemonSet(ru, fldPath.child('rollingUpdate'));
    }
    default:
      return [fieldNotSupported(fldPath, goDaemonSetUpdateStrategy(strategy), ['RollingUpdate', 'OnDelete'])];
  }
}

/** ValidateDaemonSetSpec; templateGeneration is the internal field apps/v1 keeps in an annotation. */
export function validateDaemonSetSpec(spec: Obj, templateGeneration: number, fldPath: FieldPath): FieldError[] {
  const sel = spec.selector as LabelSelector | null | undefined;
  const template = asObj(spec.template);
  const errs = validateLabelSelector(sel, { allowInvalidLabelValueInSelector: false }, fldPath.child('selector'));
  const selector = selectorOf(sel);
  if (selector !== undefined && !selector.matches(templateLabels(template))) {
    errs.push(fieldInvalid(fldPath.child('template', 'metadata', 'labels'), goTemplateLabels(template), '`selector` does not match template `labels`'));
  }
  if (isSet(sel)) {
    const s = sel as LabelSelector;
    if (Object.keys(asObj(s.matchLabels) ?? {}).length + (Array.isArray(s.matchExpressions) ? s.matchExpressions.length : 0) === 0) {
      errs.push(fieldInvalid(fldPath.child('selector'), goLabelSelector(s), 'empty selector is invalid for daemonset'));
    }
  }
  errs.push(...validatePodTemplateSpec(template, fldPath.child('template')));
  const podSpec = asObj(template?.spec) ?? {};
  if (podSpec.restartPolicy !== 'Always') {
    errs.push(fieldNotSupported(fldPath.child('template', 'spec', 'restartPolicy'), asStr(podSpec.restartPolicy), ['Always']));
  }
  if (isSet(podSpec.activeDeadlineSeconds)) {
    errs.push(fieldForbidden(fldPath.child('template', 'spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in DaemonSet is not Supported'));
  }
  errs.push(...nonneg(spec.minReadySeconds, fldPath.child('minReadySeconds')));
  errs.push(...nonneg(templateGeneration, fldPath.child('templateGeneration')));
  errs.push(...validateDaemonSetUpdateStrategy(asObj(spec.updateStrategy) ?? {}, fldPath.child('updateStrategy')));
  if (isSet(spec.revisionHistoryLimit)) errs.push(...nonneg(spec.revisionHistoryLimit, fldPath.child('revisionHistoryLimit')));
  return errs;
}

/** validateDaemonSetStatus. */
export function validateDaemonSetStatus(status: Obj, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ['currentNumberScheduled', 'numberMisscheduled', 'desiredNumberScheduled', 'numberReady', 'observedGeneration',
    'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable']) {
    errs.push(...nonneg(status[f], fldPath.child(f)));
  }
  if (isSet(status.collisionCount)) errs.push(...nonneg(status.collisionCount, fldPath.child('collisionCount')));
  return errs;
}

/** ValidateDaemonSetStatusUpdate (without ObjectMeta). */
export function validateDaemonSetStatusUpdate(status: Obj, oldStatus: Obj): FieldError[] {
  return [...validateDaemonSetStatus(status, newPath('status')), ...validateCollisionCountUpdate(status, oldStatus)];
}

// ---------------------------------------------------------------------------------------
// StatefulSets
// ---------------------------------------------------------------------------------------

function goStatefulSetRollingUpdate(ru: Obj): unknown {
  return goStruct('apps.RollingUpdateStatefulSetStrategy', [
    ['Partition', String(asNum(ru.partition))],
    ['MaxUnavailable', goPtr('intstr.IntOrString', ru.maxUnavailable)],
  ]);
}

function goStatefulSetUpdateStrategy(strategy: Obj): unknown {
  return goStruct('apps.StatefulSetUpdateStrategy', [
    ['Type', goQuote(asStr(strategy.type))],
    ['RollingUpdate', goPtr('apps.RollingUpdateStatefulSetStrategy', strategy.rollingUpdate)],
  ]);
}

/** validateRollingUpdateStatefulSet. */
function validateRollingUpdateStatefulSet(ru: Obj, fldPath: FieldPath): FieldError[] {
  const errs = nonneg(ru.partition, fldPath.child('partition'));
  if (isSet(ru.maxUnavailable)) {
    const p = fldPath.child('maxUnavailable');
    errs.push(...validatePositiveIntOrPercent(ru.maxUnavailable, p));
    if (getIntOrPercentValue(ru.maxUnavailable) === 0) errs.push(fieldInvalid(p, goIntOrString(ru.maxUnavailable), 'cannot be 0'));
    errs.push(...isNotMoreThan100Percent(ru.maxUnavailable, p));
  }
  return errs;
}

function validatePVCRetentionPolicyType(v: unknown, fldPath: FieldPath): FieldError[] {
  return v === 'Retain' || v === 'Delete' ? [] : [fieldNotSupported(fldPath, asStr(v), ['Retain', 'Delete'])];
}

/** ValidateStatefulSetSpec. */
export function validateStatefulSetSpec(spec: Obj, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const pmp = spec.podManagementPolicy;
  if (!isSet(pmp) || pmp === '') errs.push(fieldRequired(fldPath.child('podManagementPolicy'), ''));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') {
    errs.push(fieldInvalid(fldPath.child('podManagementPolicy'), asStr(pmp), "must be 'OrderedReady' or 'Parallel'"));
  }

  const us = asObj(spec.updateStrategy) ?? {};
  switch (asStr(us.type)) {
    case '':
      errs.push(fieldRequired(fldPath.child('updateStrategy'), ''));
      break;
    case 'OnDelete':
      if (isSet(us.rollingUpdate)) {
        errs.push(fieldInvalid(fldPath.child('updateStrategy', 'rollingUpdate'), goStatefulSetRollingUpdate(asObj(us.rollingUpdate) ?? {}),
          "only allowed for updateStrategy 'RollingUpdate'"));
      }
      break;
    case 'RollingUpdate': {
      const ru = asObj(us.rollingUpdate);
      if (ru) errs.push(...validateRollingUpdateStatefulSet(ru, fldPath.child('updateStrategy', 'rollingUpdate')));
      break;
    }
    default:
      errs.push(fieldInvalid(fldPath.child('updateStrategy'), goStatefulSetUpdateStrategy(us), "must be 'RollingUpdate' or 'OnDelete'"));
  }

  const retention = asObj(spec.persistentVolumeClaimRetentionPolicy);
  if (retention) {
    const p = fldPath.child('persistentVolumeClaimRetentionPolicy');
    errs.push(...validatePVCRetentionPolicyType(retention.whenDeleted, p.child('whenDeleted')));
    errs.push(...validatePVCRetentionPolicyType(retention.whenScaled, p.child('whenScaled')));
  }

  errs.push(...nonneg(spec.replicas, fldPath.child('replicas')));
  errs.push(...nonneg(spec.minReadySeconds, fldPath.child('minReadySeconds')));
  const ordinals = asObj(spec.ordinals);
  if (ordinals) errs.push(...nonneg(ordinals.start, fldPath.child('ordinals.start')));

  const sel = spec.selector as LabelSelector | null | undefined;
  errs.push(...validateRequiredSelector(sel, 'statefulset', fldPath.child('selector')));
  const selector = selectorOf(sel);
  const template = asObj(spec.template);
  if (selector === undefined) {
    errs.push(fieldInvalid(fldPath.child('selector'), goLabelSelector(sel), ''));
  } else {
    // ValidatePodTemplateSpecForStatefulSet: upstream checks only the template's labels and
    // annotations here, not its pod spec.
    const tp = fldPath.child('template');
    if (!selector.empty() && !selector.matches(templateLabels(template))) {
      errs.push(fieldInvalid(tp.child('metadata', 'labels'), goTemplateLabels(template), '`selector` does not match template `labels`'));
    }
    const meta = asObj(template?.metadata) ?? {};
    errs.push(...validateLabels(asObj(meta.labels) as Record<string, string> | undefined, tp.child('labels')));
    errs.push(...validateAnnotations(asObj(meta.annotations) as Record<string, string> | undefined, tp.child('annotations')));
  }

  const podSpec = asObj(template?.spec) ?? {};
  if (podSpec.restartPolicy !== 'Always') {
    errs.push(fieldNotSupported(fldPath.child('template', 'spec', 'restartPolicy'), asStr(podSpec.restartPolicy), ['Always']));
  }
  if (isSet(podSpec.activeDeadlineSeconds)) {
    errs.push(fieldForbidden(fldPath.child('template', 'spec', 'activeDeadlineSeconds'), 'activeDeadlineSeconds in StatefulSet is not Supported'));
  }
  return errs;
}

/** The fields of a StatefulSet spec an update may change. */
const mutableStatefulSetFields = ['replicas', 'template', 'updateStrategy', 'minReadySeconds', 'ordinals', 'persistentVolumeClaimRetentionPolicy'];

/** ValidateStatefulSetUpdate (without ObjectMeta): the spec again, then the forbidden changes. */
export function validateStatefulSetUpdate(spec: Obj, oldSpec: Obj): FieldError[] {
  const errs = validateStatefulSetSpec(spec, newPath('spec'));
  const rest = (s: Obj): Obj => Object.fromEntries(Object.entries(s).filter(([k]) => !mutableStatefulSetFields.includes(k)));
  if (!semanticEqual(rest(spec), rest(oldSpec))) {
    errs.push(fieldForbidden(newPath('spec'),
      "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"));
  }
  return errs;
}

/** ValidateStatefulSetStatus. */
export function validateStatefulSetStatus(status: Obj, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  for (const f of ['replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas']) {
    errs.push(...nonneg(status[f], fldPath.child(f)));
  }
  if (isSet(status.observedGeneration)) errs.push(...nonneg(status.observedGeneration, fldPath.child('observedGeneration')));
  if (isSet(status.collisionCount)) errs.push(...nonneg(status.collisionCount, fldPath.child('collisionCount')));
  const msg = 'cannot be greater than status.replicas';
  const replicas = asNum(status.replicas);
  for (const f of ['readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas']) {
    if (asNum(status[f]) > replicas) errs.push(fieldInvalid(fldPath.child(f), asNum(status[f]), msg));
  }
  if (asNum(status.availableReplicas) > asNum(status.readyReplicas)) {
    errs.push(fieldInvalid(fldPath.child('availableReplicas'), asNum(status.availableReplicas), 'cannot be greater than status.readyReplicas'));
  }
  return errs;
}

/** ValidateStatefulSetStatusUpdate (without ObjectMeta). */
export function validateStatefulSetStatusUpdate(status: Obj, oldStatus: Obj): FieldError[] {
  return [...validateStatefulSetStatus(status, newPath('status')), ...validateCollisionCountUpdate(status, oldStatus)];
}

// ---------------------------------------------------------------------------------------
// ControllerRevisions
// ---------------------------------------------------------------------------------------

/** ValidateControllerRevision (without ObjectMeta). */
export function validateControllerRevision(obj: Obj): FieldError[] {
  const errs: FieldError[] = [];
  if (!isSet(obj.data)) errs.push(fieldRequired(newPath('data'), 'data is mandatory'));
  errs.push(...nonneg(obj.revision, newPath('revision')));
  return errs;
}

/** ValidateControllerRevisionUpdate (without ObjectMeta): data is immutable. */
export function validateControllerRevisionUpdate(obj: Obj, old: Obj): FieldError[] {
  const errs = validateControllerRevision(obj);
  if (!semanticEqual(obj.data, old.data)) {
    errs.push(fieldInvalid(newPath('data'), { toString: () => `runtime.Unknown{Raw:${JSON.stringify(JSON.stringify(obj.data ?? null))}}` }, FIELD_IMMUTABLE_ERROR_MSG));
  }
  return errs;
}
