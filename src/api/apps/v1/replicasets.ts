/**
 * apps/v1 ReplicaSet: defaults, the registry strategy (pkg/registry/apps/replicaset),
 * status and scale subresources, and the table (NAME DESIRED CURRENT READY AGE, wide
 * CONTAINERS IMAGES SELECTOR). `status.replicas` is selectable, as upstream.
 */
import { newPath } from '../../../apimachinery/errors.js';
import { formatLabelSelector, type LabelSelector } from '../../../apimachinery/labels.js';
import type { KObject } from '../../../apimachinery/meta.js';
import { ageColumn, column, layoutContainerCells, nameColumn, objectAge, objectName } from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import { podNameWarnings, selectorString } from './deployments.js';
import {
  asNum, asObj, asObjs, ensureObj, isSet, keepSpecForStatusUpdate, keepStatusForUpdate, objectMetaFields,
  resetStatusForCreate, semanticEqual, standardVerbs, type Obj,
} from './helpers.js';
import { defaultPodTemplateSpec, podTemplateWarnings } from './podtemplate.js';
import { validateReplicaSetSpec, validateReplicaSetStatus, validateSelectorImmutable } from './validation.js';

function specOf(obj: KObject): Obj {
  return asObj(obj.spec) ?? {};
}

/** SetDefaults_ReplicaSet plus the pod template's defaults. */
export function defaultReplicaSet(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!isSet(spec.replicas)) spec.replicas = 1;
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
}

export const replicasets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  listKind: 'ReplicaSetList',
  resource: 'replicasets',
  singular: 'replicaset',
  shortNames: ['rs'],
  categories: ['all'],
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.apps.v1.ReplicaSet',
  strategy: {
    default: defaultReplicaSet,
    prepareForCreate: resetStatusForCreate,
    prepareForUpdate: (obj, old) => keepStatusForUpdate(obj, old, !semanticEqual(obj.spec, old.spec)),
    validate: (obj) => validateReplicaSetSpec(specOf(obj), newPath('spec')),
    // Upstream validates the new object as on create and then as an update: the spec's
    // errors appear twice among the causes (the message lists each once).
    validateUpdate: (obj, old) => [
      ...validateReplicaSetSpec(specOf(obj), newPath('spec')),
      ...validateReplicaSetSpec(specOf(obj), newPath('spec')),
      ...validateSelectorImmutable(specOf(obj), specOf(old)),
    ],
    warnings(obj, old) {
      const path = newPath('spec', 'template');
      if (old === undefined) return [...podNameWarnings(obj), ...podTemplateWarnings(asObj(specOf(obj).template), path)];
      if (obj.metadata?.generation === old.metadata?.generation) return [];
      return podTemplateWarnings(asObj(specOf(obj).template), path, asObj(specOf(old).template));
    },
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  status: {
    prepareForUpdate: (obj, old) => keepSpecForStatusUpdate(obj, old),
    validateUpdate: (obj) => validateReplicaSetStatus(asObj(obj.status) ?? {}, newPath('status')),
  },
  scale: {
    specReplicasPath: ['spec', 'replicas'],
    statusReplicasPath: ['status', 'replicas'],
    labelSelectorPath: ['spec', 'selector'],
    selector: (obj) => selectorString(specOf(obj).selector) ?? '',
  },
  table: {
    columns: [
      nameColumn,
      column('Desired', 'integer', 'Replicas is the number of desired replicas. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller'),
      column('Current', 'integer', 'Replicas is the most recently oberved number of replicas. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicationcontroller/#what-is-a-replicationcontroller'),
      column('Ready', 'integer', 'The number of ready replicas for this replica set.'),
      ageColumn,
      column('Containers', 'string', 'Names of each container in the template.', 1),
      column('Images', 'string', 'Images referenced by each container in the template.', 1),
      column('Selector', 'string', 'Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors', 1),
    ],
    row(obj, nowMs) {
      const spec = specOf(obj);
      const status = asObj(obj.status) ?? {};
      const [names, images] = layoutContainerCells(asObjs(asObj(asObj(spec.template)?.spec)?.containers));
      return [
        objectName(obj),
        asNum(spec.replicas),
        asNum(status.replicas),
        asNum(status.readyReplicas),
        objectAge(obj, nowMs),
        names,
        images,
        formatLabelSelector(spec.selector as LabelSelector | null | undefined),
      ];
    },
  },
  selectableFields: (obj) => ({
    ...objectMetaFields(obj, true),
    'status.replicas': String(asNum(asObj(obj.status)?.replicas)),
  }),
};
