/**
 * apps/v1 Deployment: defaults (pkg/apis/apps/v1/defaults.go), the registry strategy
 * (pkg/registry/apps/deployment/strategy.go), status and scale subresources, and the
 * server-side table (NAME READY UP-TO-DATE AVAILABLE AGE, wide CONTAINERS IMAGES SELECTOR).
 */
import { newPath } from '../../../apimachinery/errors.js';
import { labelSelectorAsSelector, type LabelSelector } from '../../../apimachinery/labels.js';
import type { KObject } from '../../../apimachinery/meta.js';
import { isDNS1123Label } from '../../../apimachinery/validation.js';
import { ageColumn, column, layoutContainerCells, nameColumn, objectAge, objectName } from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import {
  asNum, asObj, asObjs, ensureObj, isSet, keepSpecForStatusUpdate, keepStatusForUpdate, objectMetaFields,
  resetStatusForCreate, semanticEqual, standardVerbs, type Obj,
} from './helpers.js';
import { defaultPodTemplateSpec, podTemplateWarnings } from './podtemplate.js';
import { validateDeploymentSpec, validateDeploymentStatusUpdate, validateSelectorImmutable } from './validation.js';

function specOf(obj: KObject): Obj {
  return asObj(obj.spec) ?? {};
}

/** SetDefaults_Deployment plus the pod template's defaults. */
export function defaultDeployment(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  if (!isSet(spec.replicas)) spec.replicas = 1;
  const strategy = ensureObj(spec, 'strategy');
  if (!strategy.type) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = ensureObj(strategy, 'rollingUpdate');
    if (!isSet(ru.maxUnavailable)) ru.maxUnavailable = '25%';
    if (!isSet(ru.maxSurge)) ru.maxSurge = '25%';
  }
  if (!isSet(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  if (!isSet(spec.progressDeadlineSeconds)) spec.progressDeadlineSeconds = 600;
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
}

/** The selector string of a workload's Scale (and of the wide SELECTOR cell). */
export function selectorString(sel: unknown): string | undefined {
  try {
    return labelSelectorAsSelector(sel as LabelSelector | null | undefined).toString();
  } catch {
    return undefined;
  }
}

/** `metadata.name: this is used in Pod names and hostnames, ...` when the name is not a DNS label. */
export function podNameWarnings(obj: KObject): string[] {
  const msgs = isDNS1123Label(obj.metadata?.name ?? '');
  if (msgs.length === 0) return [];
  return [`metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [${msgs.join(' ')}]`];
}

export const deployments: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  listKind: 'DeploymentList',
  resource: 'deployments',
  singular: 'deployment',
  shortNames: ['deploy'],
  categories: ['all'],
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.apps.v1.Deployment',
  strategy: {
    default: defaultDeployment,
    prepareForCreate: resetStatusForCreate,
    prepareForUpdate(obj, old) {
      // Annotation changes bump the generation too: they are copied to the ReplicaSets.
      const changed = !semanticEqual(obj.spec, old.spec) || !semanticEqual(obj.metadata?.annotations, old.metadata?.annotations);
      keepStatusForUpdate(obj, old, changed);
    },
    validate: (obj) => validateDeploymentSpec(specOf(obj), newPath('spec')),
    validateUpdate: (obj, old) => [
      ...validateDeploymentSpec(specOf(obj), newPath('spec')),
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
    prepareForUpdate: (obj, old) => keepSpecForStatusUpdate(obj, old, true),
    validateUpdate: (obj, old) => validateDeploymentStatusUpdate(asObj(obj.status) ?? {}, asObj(old.status) ?? {}),
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
      column('Up-to-date', 'string', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.'),
      column('Available', 'string', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.'),
      ageColumn,
      column('Containers', 'string', 'Names of each container in the template.', 1),
      column('Images', 'string', 'Images referenced by each container in the template.', 1),
      column('Selector', 'string', 'Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.', 1),
    ],
    row(obj, nowMs) {
      const spec = specOf(obj);
      const status = asObj(obj.status) ?? {};
      const [names, images] = layoutContainerCells(asObjs(asObj(asObj(spec.template)?.spec)?.containers));
      return [
        objectName(obj),
        `${asNum(status.readyReplicas)}/${asNum(spec.replicas)}`,
        asNum(status.updatedReplicas),
        asNum(status.availableReplicas),
        objectAge(obj, nowMs),
        names,
        images,
        selectorString(spec.selector) ?? '<invalid>',
      ];
    },
  },
  selectableFields: (obj) => objectMetaFields(obj, true),
};
