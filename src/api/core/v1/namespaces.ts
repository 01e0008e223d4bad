/**
 * namespaces (core/v1), after upstream pkg/registry/core/namespace/strategy.go (v1.32).
 *
 * Deleting a namespace is the API server's business (upstream's namespace REST): it sets
 * deletionTimestamp and status.phase Terminating while spec.finalizers is non-empty; the
 * namespace controller empties it through the `finalize` subresource.
 */
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import { fieldInvalid, newPath, type FieldErrorList } from '../../../apimachinery/errors.js';
import { nameIsDNSLabel } from '../../../apimachinery/validation.js';
import type { KObject } from '../../../apimachinery/meta.js';
import type { ResourceDef } from '../../types.js';
import { defaultNamespace } from './defaults.js';
import { namespaceTable } from './table.js';
import { type Obj, arr, ensureObj, specOf, statusOf, str } from './util.js';
import { validateNamespaceFinalizers } from './validation.js';

/** The finalizer every namespace starts with (FinalizerKubernetes). */
export const FINALIZER_KUBERNETES = 'kubernetes';

function validateNamespaceStatus(ns: KObject): FieldErrorList {
  const phase = str(statusOf(ns).phase);
  const path = newPath('status', 'Phase');
  if (!ns.metadata?.deletionTimestamp) {
    if (phase !== 'Active') return [fieldInvalid(path, phase, "may only be 'Active' if `deletionTimestamp` is empty")];
  } else if (phase !== 'Terminating') {
    return [fieldInvalid(path, phase, "may only be 'Terminating' if `deletionTimestamp` is not empty")];
  }
  return [];
}

export const namespaces: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  listKind: 'NamespaceList',
  resource: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  namespaced: false,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.Namespace',
  subresources: ['finalize'],
  validateName: nameIsDNSLabel,
  strategy: {
    default: (ns) => defaultNamespace(ns as Obj),
    prepareForCreate(ns) {
      ns.status = { phase: 'Active' };
      const spec = ensureObj(ns as Obj, 'spec');
      const finalizers = arr(spec.finalizers);
      if (!finalizers.includes(FINALIZER_KUBERNETES)) spec.finalizers = [...finalizers, FINALIZER_KUBERNETES];
    },
    prepareForUpdate(ns, old) {
      const spec = ensureObj(ns as Obj, 'spec');
      const oldFinalizers = specOf(old).finalizers;
      if (oldFinalizers === undefined) delete spec.finalizers;
      else spec.finalizers = structuredClone(oldFinalizers);
      ns.status = structuredClone(old.status ?? {});
    },
    validate: (ns) => validateNamespaceFinalizers(specOf(ns).finalizers, newPath('spec', 'finalizers')),
    validateUpdate: (ns) => validateNamespaceFinalizers(specOf(ns).finalizers, newPath('spec', 'finalizers')),
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  status: {
    prepareForUpdate(ns, old) {
      ns.spec = structuredClone(old.spec ?? {});
    },
    validateUpdate: (ns) => validateNamespaceStatus(ns),
  },
  subresourceStrategies: {
    finalize: {
      prepareForUpdate(ns, old) {
        ns.status = structuredClone(old.status ?? {});
      },
      validateUpdate: (ns) => validateNamespaceFinalizers(specOf(ns).finalizers, newPath('spec', 'finalizers'), true),
    },
  },
  table: namespaceTable,
  selectableFields: (ns) => ({ ...objectMetaFieldsSet(ns.metadata, false), 'status.phase': str(statusOf(ns).phase), name: ns.metadata?.name ?? '' }),
};
