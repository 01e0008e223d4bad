/**
 * The pod template inside a workload (spec.template): defaulting and validation. The pod
 * spec rules belong to core/v1; this module is the one place apps/v1 reaches them, so a
 * workload's template gets exactly the defaults and errors a Pod's spec gets.
 */
import type { FieldError, FieldPath } from '../../../apimachinery/errors.js';
import { defaultPodTemplate, validatePodTemplateSpec as validateCorePodTemplateSpec } from '../../core/v1/index.js';
import type { Obj } from './helpers.js';

/**
 * SetDefaults for a PodTemplateSpec (the generated defaulters run SetDefaults_PodSpec and
 * friends on spec.template.spec), including the `creationTimestamp: null` that Go's
 * encoding of a zero metav1.Time puts in every stored template.
 */
export function defaultPodTemplateSpec(template: Obj): void {
  defaultPodTemplate(template);
}

/** ValidatePodTemplateSpec: the template's labels and annotations and its pod spec. */
export function validatePodTemplateSpec(template: Obj | undefined, fldPath: FieldPath): FieldError[] {
  return validateCorePodTemplateSpec(template ?? {}, fldPath);
}

/** Warnings for a pod template (upstream pod.GetWarningsForPodTemplate); core/v1 exports none yet. */
export function podTemplateWarnings(_template: Obj | undefined, _fldPath: FieldPath, _old?: Obj): string[] {
  return [];
}
