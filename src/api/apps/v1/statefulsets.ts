/**
 * apps/v1 StatefulSet: defaults, the registry strategy (pkg/registry/apps/statefulset),
 * status and scale subresources, and the table (NAME READY AGE, wide CONTAINERS IMAGES).
 * Names are DNS labels (they become pod hostnames).
 */
import { newPath } from '../../../apimachinery/errors.js';
import type { KObject } from '../../../apimachinery/meta.js';
import { nameIsDNSLabel } from '../../../apimachinery/validation.js';
import { ageColumn, column, layoutContainerCells, nameColumn, objectAge, objectName } from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import { selectorString } from './deployments.js';
import {
  asNum, asObj, asObjs, ensureObj, isSet, keepSpecForStatusUpdate, keepStatusForUpdate, objectMetaFields,
  resetStatusForCreate, semanticEqual, standardVerbs, type Obj,
} from './helpers.js';
import { defaultPodTemplateSpec, podTemplateWarnings } from './podtemplate.js';
import { validateStatefulSetSpec, validateStatefulSetStatusUpdate, validateStatefulSetUpdate } from './validation.js';

function specOf(obj: KObject): Obj {
  return asObj(obj.spec) ?? {};
}

/**
 * A volumeClaimTemplate as v1.32 stores it: typed as a v1 PersistentVolumeClaim, with the
 * claim defaults (volumeMode Filesystem, status.phase Pending) and Go's
 * `creationTimestamp: null` for the embedded ObjectMeta.
 */
function defaultVolumeClaimTemplate(pvc: Obj): void {
  if (!pvc.apiVersion) pvc.apiVersion = 'v1';
  if (!pvc.kind) pvc.kind = 'PersistentVolumeClaim';
  const meta = ensureObj(pvc, 'metadata');
  if (!('creationTimestamp' in meta)) meta.creationTimestamp = null;
  const spec = ensureObj(pvc, 'spec');
  if (!isSet(spec.volumeMode)) spec.volumeMode = 'Filesystem';
  const status = ensureObj(pvc, 'status');
  if (!status.phase) status.phase = 'Pending';
}

/** SetDefaults_StatefulSet plus the pod template's and claim templates' defaults. */
export function defaultStatefulSet(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!spec.podManagementPolicy) spec.podManagementPolicy = 'OrderedReady';
  const us = ensureObj(spec, 'updateStrategy');
  if (!us.type) {
    us.type = 'RollingUpdate';
    if (!isSet(us.rollingUpdate)) us.rollingUpdate = {};
  }
  const ru = asObj(us.rollingUpdate);
  if (us.type === 'RollingUpdate' && ru && !isSet(ru.partition)) ru.partition = 0;
  const retention = ensureObj(spec, 'persistentVolumeClaimRetentionPolicy');
  if (!retention.whenDeleted) retention.whenDeleted = 'Retain';
  if (!retention.whenScaled) retention.whenScaled = 'Retain';
  if (!isSet(spec.replicas)) spec.replicas = 1;
  if (!isSet(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  // v1.32's StatefulSetSpec.serviceName has no omitempty: an unset name is stored as "".
  if (!isSet(spec.serviceName)) spec.serviceName = '';
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
  for (const pvc of asObjs(spec.volumeClaimTemplates)) defaultVolumeClaimTemplate(pvc);
}

/** dropStatefulSetDisabledFields: rollingUpdate.maxUnavailable is alpha (MaxUnavailableStatefulSet) in v1.32. */
function dropDisabledFields(obj: KObject, old?: KObject): void {
  const oldRU = old ? asObj(asObj(specOf(old).updateStrategy)?.rollingUpdate) : undefined;
  if (oldRU && isSet(oldRU.maxUnavailable)) return;
  const ru = asObj(asObj(specOf(obj).updateStrategy)?.rollingUpdate);
  if (ru) delete ru.maxUnavailable;
}

export const statefulsets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'StatefulSet',
  listKind: 'StatefulSetList',
  resource: 'statefulsets',
  singular: 'statefulset',
  shortNames: ['sts'],
  categories: ['all'],
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.apps.v1.StatefulSet',
  validateName: nameIsDNSLabel,
  strategy: {
    default: defaultStatefulSet,
    prepareForCreate(obj) {
      resetStatusForCreate(obj);
      dropDisabledFields(obj);
    },
    prepareForUpdate(obj, old) {
      dropDisabledFields(obj, old);
      keepStatusForUpdate(obj, old, !semanticEqual(obj.spec, old.spec));
    },
    validate: (obj) => validateStatefulSetSpec(specOf(obj), newPath('spec')),
    validateUpdate: (obj, old) => [
      ...validateStatefulSetSpec(specOf(obj), newPath('spec')),
      ...validateStatefulSetUpdate(specOf(obj), specOf(old)),
    ],
    warnings(obj, old) {
      const path = newPath('spec', 'template');
      if (old === undefined) return podTemplateWarnings(asObj(specOf(obj).template), path);
      if (obj.metadata?.generation === old.metadata?.generation) return [];
      return podTemplateWarnings(asObj(specOf(obj).template), path, asObj(specOf(old).template));
    },
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  status: {
    prepareForUpdate: (obj, old) => keepSpecForStatusUpdate(obj, old),
    validateUpdate: (obj, old) => validateStatefulSetStatusUpdate(asObj(obj.status) ?? {}, asObj(old.status) ?? {}),
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
      column('Ready', 'string', 'Number of the pod with ready state'),
      ageColumn,
      column('Containers', 'string', 'Names of each container in the template.', 1),
      column('Images', 'string', 'Images referenced by each container in the template.', 1),
    ],
    row(obj, nowMs) {
      const spec = specOf(obj);
      const status = asObj(obj.status) ?? {};
      const [names, images] = layoutContainerCells(asObjs(asObj(asObj(spec.template)?.spec)?.containers));
      return [objectName(obj), `${asNum(status.readyReplicas)}/${asNum(spec.replicas)}`, objectAge(obj, nowMs), names, images];
    },
  },
  selectableFields: (obj) => objectMetaFields(obj, true),
};
