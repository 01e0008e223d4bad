/**
 * apps/v1 DaemonSet: defaults, the registry strategy (pkg/registry/apps/daemonset), the
 * status subresource and the table (NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE
 * NODE SELECTOR AGE, wide CONTAINERS IMAGES SELECTOR).
 *
 * The internal DaemonSet has spec.templateGeneration, which apps/v1 carries in the
 * `deprecated.daemonset.template.generation` annotation: 1 on create, +1 whenever the
 * template changes, and never taken from the request.
 */
import { newPath } from '../../../apimachinery/errors.js';
import { formatLabelSelector, formatLabels, type LabelSelector } from '../../../apimachinery/labels.js';
import type { KObject } from '../../../apimachinery/meta.js';
import { ageColumn, column, layoutContainerCells, nameColumn, objectAge, objectName } from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import {
  asNum, asObj, asObjs, ensureObj, isSet, keepSpecForStatusUpdate, keepStatusForUpdate, metaOf, objectMetaFields,
  resetStatusForCreate, semanticEqual, standardVerbs, type Obj,
} from './helpers.js';
import { defaultPodTemplateSpec, podTemplateWarnings } from './podtemplate.js';
import { validateDaemonSetSpec, validateDaemonSetStatusUpdate, validateSelectorImmutable } from './validation.js';

/** appsv1.DeprecatedTemplateGeneration. */
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

function specOf(obj: KObject): Obj {
  return asObj(obj.spec) ?? {};
}

/** The templateGeneration the annotation carries (0 when absent or not an integer). */
export function templateGeneration(obj: KObject): number {
  const v = obj.metadata?.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  return Number.parseInt(v, 10);
}

function setTemplateGeneration(obj: KObject, gen: number): void {
  const meta = metaOf(obj);
  meta.annotations = { ...(meta.annotations ?? {}), [TEMPLATE_GENERATION_ANNOTATION]: String(gen) };
}

/** SetDefaults_DaemonSet plus the pod template's defaults. */
export function defaultDaemonSet(obj: KObject): void {
  const spec = ensureObj(obj, 'spec');
  const us = ensureObj(spec, 'updateStrategy');
  if (!us.type) us.type = 'RollingUpdate';
  if (us.type === 'RollingUpdate') {
    const ru = ensureObj(us, 'rollingUpdate');
    if (!isSet(ru.maxUnavailable)) ru.maxUnavailable = 1;
    if (!isSet(ru.maxSurge)) ru.maxSurge = 0;
  }
  if (!isSet(spec.revisionHistoryLimit)) spec.revisionHistoryLimit = 10;
  defaultPodTemplateSpec(ensureObj(spec, 'template'));
}

export const daemonsets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  listKind: 'DaemonSetList',
  resource: 'daemonsets',
  singular: 'daemonset',
  shortNames: ['ds'],
  categories: ['all'],
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.apps.v1.DaemonSet',
  strategy: {
    default: defaultDaemonSet,
    prepareForCreate(obj) {
      resetStatusForCreate(obj);
      setTemplateGeneration(obj, Math.max(templateGeneration(obj), 1));
    },
    prepareForUpdate(obj, old) {
      const oldGen = templateGeneration(old);
      if (!semanticEqual(specOf(obj).template, specOf(old).template)) {
        setTemplateGeneration(obj, oldGen + 1);
        keepStatusForUpdate(obj, old, true);
        return;
      }
      setTemplateGeneration(obj, oldGen);
      keepStatusForUpdate(obj, old, !semanticEqual(obj.spec, old.spec));
    },
    validate: (obj) => validateDaemonSetSpec(specOf(obj), templateGeneration(obj), newPath('spec')),
    validateUpdate: (obj, old) => [
      ...validateDaemonSetSpec(specOf(obj), templateGeneration(obj), newPath('spec')),
      ...validateDaemonSetSpec(specOf(obj), templateGeneration(obj), newPath('spec')),
      ...validateSelectorImmutable(specOf(obj), specOf(old)),
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
    prepareForUpdate(obj, old) {
      // The template generation is part of the (internal) spec, so a status write keeps it too.
      keepSpecForStatusUpdate(obj, old);
      setTemplateGeneration(obj, templateGeneration(old));
    },
    validateUpdate: (obj, old) => validateDaemonSetStatusUpdate(asObj(obj.status) ?? {}, asObj(old.status) ?? {}),
  },
  table: {
    columns: [
      nameColumn,
      column('Desired', 'integer', 'The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/'),
      column('Current', 'integer', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/'),
      column('Ready', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.'),
      column('Up-to-date', 'integer', 'The total number of nodes that are running updated daemon pod'),
      column('Available', 'integer', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)'),
      column('Node Selector', 'string', "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/"),
      ageColumn,
      column('Containers', 'string', 'Names of each container in the template.', 1),
      column('Images', 'string', 'Images referenced by each container in the template.', 1),
      column('Selector', 'string', 'A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors', 1),
    ],
    row(obj, nowMs) {
      const spec = specOf(obj);
      const status = asObj(obj.status) ?? {};
      const podSpec = asObj(asObj(spec.template)?.spec) ?? {};
      const [names, images] = layoutContainerCells(asObjs(podSpec.containers));
      return [
        objectName(obj),
        asNum(status.desiredNumberScheduled),
        asNum(status.currentNumberScheduled),
        asNum(status.numberReady),
        asNum(status.updatedNumberScheduled),
        asNum(status.numberAvailable),
        formatLabels(asObj(podSpec.nodeSelector) as Record<string, string> | undefined),
        objectAge(obj, nowMs),
        names,
        images,
        formatLabelSelector(spec.selector as LabelSelector | null | undefined),
      ];
    },
  },
  selectableFields: (obj) => objectMetaFields(obj, true),
};
