/**
 * Hand-made OpenAPI v3 definitions for the apimachinery tests, mirroring what the
 * Kubernetes API server publishes for the fields used (extensions copied from the
 * upstream `+patchStrategy`/`+listType`/`+mapType`/`+structType` markers of v1.32 types):
 *
 *   ObjectMeta.finalizers        patch merge, listType=set
 *   ObjectMeta.ownerReferences   patch merge on uid, listType=map [uid]
 *   ObjectMeta.managedFields     listType=atomic
 *   LabelSelector                structType=atomic (x-kubernetes-map-type: atomic)
 *   DeploymentSpec.strategy      patch retainKeys
 *   PodSpec.containers           patch merge on name, listType=map [name]
 *   PodSpec.volumes              patch merge,retainKeys on name, listType=map [name]
 *   PodSpec.tolerations          listType=atomic
 *   PodSpec.nodeSelector         mapType=atomic
 *   Container.ports              patch merge on containerPort, listType=map [containerPort, protocol]
 *   Container.env                patch merge on name, listType=map [name]
 *   Container.args/command       listType=atomic
 *   ServiceSpec.ports            patch merge on port, listType=map [port, protocol]
 *   ServiceSpec.selector         mapType=atomic
 */
import type { OpenAPISchema, SchemaDefinitions } from '../schema.js';

const ref = (name: string): OpenAPISchema => ({ allOf: [{ $ref: `#/components/schemas/${name}` }] });
const str: OpenAPISchema = { type: 'string' };
const int: OpenAPISchema = { type: 'integer', format: 'int32' };
const bool: OpenAPISchema = { type: 'boolean' };
const strMap: OpenAPISchema = { type: 'object', additionalProperties: { type: 'string', default: '' } };
const atomicStrings: OpenAPISchema = { type: 'array', items: { type: 'string', default: '' }, 'x-kubernetes-list-type': 'atomic' };
const mergeList = (item: string, key: string, keys: string[] = [key], strategy = 'merge'): OpenAPISchema => ({
  type: 'array',
  items: { default: {}, ...ref(item) },
  'x-kubernetes-patch-strategy': strategy,
  'x-kubernetes-patch-merge-key': key,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': keys,
});

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1.';
const CORE = 'io.k8s.api.core.v1.';
const APPS = 'io.k8s.api.apps.v1.';

export const definitions: SchemaDefinitions = {
  [META + 'ObjectMeta']: {
    type: 'object',
    properties: {
      name: str,
      namespace: str,
      generateName: str,
      uid: str,
      resourceVersion: str,
      generation: { type: 'integer', format: 'int64' },
      creationTimestamp: ref(META + 'Time'),
      deletionTimestamp: ref(META + 'Time'),
      labels: strMap,
      annotations: strMap,
      finalizers: { type: 'array', items: { type: 'string', default: '' }, 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' },
      ownerReferences: mergeList(META + 'OwnerReference', 'uid'),
      managedFields: { type: 'array', items: { default: {}, ...ref(META + 'ManagedFieldsEntry') }, 'x-kubernetes-list-type': 'atomic' },
    },
  },
  [META + 'Time']: { type: 'string', format: 'date-time' },
  [META + 'OwnerReference']: {
    type: 'object',
    required: ['apiVersion', 'kind', 'name', 'uid'],
    properties: { apiVersion: str, kind: str, name: str, uid: str, controller: bool, blockOwnerDeletion: bool },
    'x-kubernetes-map-type': 'atomic',
  },
  [META + 'ManagedFieldsEntry']: {
    type: 'object',
    properties: {
      manager: str,
      operation: str,
      apiVersion: str,
      time: ref(META + 'Time'),
      fieldsType: str,
      fieldsV1: ref(META + 'FieldsV1'),
      subresource: str,
    },
  },
  [META + 'FieldsV1']: { type: 'object' },
  [META + 'LabelSelector']: {
    type: 'object',
    properties: {
      matchLabels: strMap,
      matchExpressions: { type: 'array', items: { default: {}, ...ref(META + 'LabelSelectorRequirement') }, 'x-kubernetes-list-type': 'atomic' },
    },
    'x-kubernetes-map-type': 'atomic',
  },
  [META + 'LabelSelectorRequirement']: {
    type: 'object',
    required: ['key', 'operator'],
    properties: { key: str, operator: str, values: atomicStrings },
  },
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { type: 'string', format: 'int-or-string' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { type: 'string' },

  [APPS + 'Deployment']: {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: { default: {}, ...ref(META + 'ObjectMeta') },
      spec: { default: {}, ...ref(APPS + 'DeploymentSpec') },
      status: { default: {}, ...ref(APPS + 'DeploymentStatus') },
    },
    'x-kubernetes-group-version-kind': [{ group: 'apps', version: 'v1', kind: 'Deployment' }],
  },
  [APPS + 'DeploymentSpec']: {
    type: 'object',
    required: ['selector', 'template'],
    properties: {
      replicas: int,
      selector: ref(META + 'LabelSelector'),
      template: { default: {}, ...ref(CORE + 'PodTemplateSpec') },
      strategy: { default: {}, ...ref(APPS + 'DeploymentStrategy'), 'x-kubernetes-patch-strategy': 'retainKeys' },
      minReadySeconds: int,
      revisionHistoryLimit: int,
      paused: bool,
      progressDeadlineSeconds: int,
    },
  },
  [APPS + 'DeploymentStrategy']: {
    type: 'object',
    properties: { type: str, rollingUpdate: ref(APPS + 'RollingUpdateDeployment') },
  },
  [APPS + 'RollingUpdateDeployment']: {
    type: 'object',
    properties: {
      maxUnavailable: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString'),
      maxSurge: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString'),
    },
  },
  [APPS + 'DeploymentStatus']: {
    type: 'object',
    properties: {
      observedGeneration: { type: 'integer', format: 'int64' },
      replicas: int,
      readyReplicas: int,
      availableReplicas: int,
      conditions: mergeList(APPS + 'DeploymentCondition', 'type'),
    },
  },
  [APPS + 'DeploymentCondition']: {
    type: 'object',
    required: ['type', 'status'],
    properties: { type: str, status: str, reason: str, message: str, lastUpdateTime: ref(META + 'Time') },
  },

  [CORE + 'Pod']: {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: { default: {}, ...ref(META + 'ObjectMeta') },
      spec: { default: {}, ...ref(CORE + 'PodSpec') },
      status: { type: 'object', properties: { phase: str, podIP: str } },
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Pod' }],
  },
  [CORE + 'PodTemplateSpec']: {
    type: 'object',
    properties: {
      metadata: { default: {}, ...ref(META + 'ObjectMeta') },
      spec: { default: {}, ...ref(CORE + 'PodSpec') },
    },
  },
  [CORE + 'PodSpec']: {
    type: 'object',
    required: ['containers'],
    properties: {
      containers: mergeList(CORE + 'Container', 'name'),
      initContainers: mergeList(CORE + 'Container', 'name'),
      volumes: mergeList(CORE + 'Volume', 'name', ['name'], 'merge,retainKeys'),
      imagePullSecrets: mergeList(CORE + 'LocalObjectReference', 'name'),
      tolerations: { type: 'array', items: { default: {}, ...ref(CORE + 'Toleration') }, 'x-kubernetes-list-type': 'atomic' },
      nodeSelector: { ...strMap, 'x-kubernetes-map-type': 'atomic' },
      restartPolicy: str,
      nodeName: str,
      hostNetwork: bool,
      serviceAccountName: str,
      terminationGracePeriodSeconds: { type: 'integer', format: 'int64' },
      dnsPolicy: str,
    },
  },
  [CORE + 'Container']: {
    type: 'object',
    required: ['name'],
    properties: {
      name: str,
      image: str,
      command: atomicStrings,
      args: atomicStrings,
      workingDir: str,
      ports: mergeList(CORE + 'ContainerPort', 'containerPort', ['containerPort', 'protocol']),
      env: mergeList(CORE + 'EnvVar', 'name'),
      resources: { default: {}, ...ref(CORE + 'ResourceRequirements') },
      volumeMounts: mergeList(CORE + 'VolumeMount', 'mountPath'),
      imagePullPolicy: str,
    },
  },
  [CORE + 'ContainerPort']: {
    type: 'object',
    required: ['containerPort'],
    properties: { name: str, hostPort: int, containerPort: int, protocol: { type: 'string', default: 'TCP' }, hostIP: str },
  },
  [CORE + 'EnvVar']: {
    type: 'object',
    required: ['name'],
    properties: { name: str, value: str, valueFrom: ref(CORE + 'EnvVarSource') },
  },
  [CORE + 'EnvVarSource']: {
    type: 'object',
    properties: { configMapKeyRef: ref(CORE + 'ConfigMapKeySelector'), fieldRef: ref(CORE + 'ObjectFieldSelector') },
  },
  [CORE + 'ConfigMapKeySelector']: {
    type: 'object',
    required: ['key'],
    properties: { name: { type: 'string', default: '' }, key: str, optional: bool },
    'x-kubernetes-map-type': 'atomic',
  },
  [CORE + 'ObjectFieldSelector']: {
    type: 'object',
    required: ['fieldPath'],
    properties: { apiVersion: str, fieldPath: str },
    'x-kubernetes-map-type': 'atomic',
  },
  [CORE + 'ResourceRequirements']: {
    type: 'object',
    properties: {
      limits: { type: 'object', additionalProperties: ref('io.k8s.apimachinery.pkg.api.resource.Quantity') },
      requests: { type: 'object', additionalProperties: ref('io.k8s.apimachinery.pkg.api.resource.Quantity') },
    },
  },
  [CORE + 'VolumeMount']: {
    type: 'object',
    required: ['name', 'mountPath'],
    properties: { name: str, readOnly: bool, mountPath: str, subPath: str },
  },
  [CORE + 'Volume']: {
    type: 'object',
    required: ['name'],
    properties: {
      name: str,
      hostPath: ref(CORE + 'HostPathVolumeSource'),
      emptyDir: ref(CORE + 'EmptyDirVolumeSource'),
      configMap: ref(CORE + 'ConfigMapVolumeSource'),
      secret: ref(CORE + 'SecretVolumeSource'),
    },
  },
  [CORE + 'HostPathVolumeSource']: { type: 'object', required: ['path'], properties: { path: str, type: str } },
  [CORE + 'EmptyDirVolumeSource']: {
    type: 'object',
    properties: { medium: str, sizeLimit: ref('io.k8s.apimachinery.pkg.api.resource.Quantity') },
  },
  [CORE + 'ConfigMapVolumeSource']: { type: 'object', properties: { name: str, defaultMode: int, optional: bool } },
  [CORE + 'SecretVolumeSource']: { type: 'object', properties: { secretName: str, defaultMode: int, optional: bool } },
  [CORE + 'LocalObjectReference']: { type: 'object', properties: { name: { type: 'string', default: '' } }, 'x-kubernetes-map-type': 'atomic' },
  [CORE + 'Toleration']: {
    type: 'object',
    properties: { key: str, operator: str, value: str, effect: str, tolerationSeconds: { type: 'integer', format: 'int64' } },
  },

  [CORE + 'Service']: {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: { default: {}, ...ref(META + 'ObjectMeta') },
      spec: { default: {}, ...ref(CORE + 'ServiceSpec') },
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Service' }],
  },
  [CORE + 'ServiceSpec']: {
    type: 'object',
    properties: {
      ports: mergeList(CORE + 'ServicePort', 'port', ['port', 'protocol']),
      selector: { ...strMap, 'x-kubernetes-map-type': 'atomic' },
      clusterIP: str,
      type: str,
    },
  },
  [CORE + 'ServicePort']: {
    type: 'object',
    required: ['port'],
    properties: {
      name: str,
      protocol: { type: 'string', default: 'TCP' },
      port: int,
      targetPort: ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString'),
      nodePort: int,
    },
  },
  [CORE + 'ConfigMap']: {
    type: 'object',
    properties: {
      apiVersion: str,
      kind: str,
      metadata: { default: {}, ...ref(META + 'ObjectMeta') },
      data: strMap,
      binaryData: { type: 'object', additionalProperties: { type: 'string', format: 'byte' } },
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'ConfigMap' }],
  },
};

/** Definition names used by the tests. */
export const DEPLOYMENT = APPS + 'Deployment';
export const POD = CORE + 'Pod';
export const SERVICE = CORE + 'Service';
export const CONFIGMAP = CORE + 'ConfigMap';
