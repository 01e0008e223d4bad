/**
 * The x-kubernetes-* extensions Flotilla publishes in its OpenAPI documents, which strategic
 * merge patch and server-side apply read back through the apimachinery SchemaResolver.
 *
 * kubernetes-models (the source of our descriptions) does not carry them, so this is our
 * own table, one entry per list/map field of the types we serve, stating what upstream's Go
 * struct tags and markers say for Kubernetes v1.32:
 *
 *   patchStrategy:"merge" patchMergeKey:"name"   → x-kubernetes-patch-strategy / -patch-merge-key
 *   +listType=map  +listMapKey=name              → x-kubernetes-list-type / -list-map-keys
 *   +listType=atomic | set                       → x-kubernetes-list-type
 *   +mapType=atomic (field), +structType=atomic  → x-kubernetes-map-type
 *   +default="TCP"                               → default (v3 only)
 *
 * A field that is absent here gets no extension, which is what upstream publishes for an
 * unmarked field: structured-merge-diff then treats its lists as atomic and maps as granular,
 * and strategic merge patch replaces its lists. Example: `PodSpec.containers` is
 * `mergeListMap('merge', 'name')`, so a strategic merge patch of `[{name: "app", image: "x"}]`
 * changes only the container named app, and server-side apply owns containers by name.
 *
 * The table is checked by extensions.test.ts: every key names a field of a generated
 * definition, and list extensions sit on lists, map ones on maps or structs.
 */

/** The extensions one schema position may carry. */
export interface SchemaExtensions {
  'x-kubernetes-patch-strategy'?: string;
  'x-kubernetes-patch-merge-key'?: string;
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-map-type'?: 'atomic' | 'granular';
}

/** `+listType=atomic`: the list is replaced as a whole. */
const atomicList = { 'x-kubernetes-list-type': 'atomic' } as const satisfies SchemaExtensions;

/** `+listType=set`: a list of unique scalars, merged as a set by server-side apply. */
const setList = { 'x-kubernetes-list-type': 'set' } as const satisfies SchemaExtensions;

/** `patchStrategy:"merge"` on a list of scalars, `+listType=set` (finalizers). */
const mergeSet = { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-list-type': 'set' } as const satisfies SchemaExtensions;

/** `+mapType=atomic` / `+structType=atomic`: one leaf, owned and replaced as a whole. */
const atomicMap = { 'x-kubernetes-map-type': 'atomic' } as const satisfies SchemaExtensions;

/** `+mapType=granular`: the default, stated explicitly upstream on a few fields. */
const granularMap = { 'x-kubernetes-map-type': 'granular' } as const satisfies SchemaExtensions;

/** `patchMergeKey` with `patchStrategy:"merge"`, on a list upstream still marks atomic. */
function patchMerge(key: string): SchemaExtensions {
  return { 'x-kubernetes-patch-strategy': 'merge', 'x-kubernetes-patch-merge-key': key };
}

/** `+listType=map` keyed by `keys`, without a patch strategy (strategic merge replaces it). */
function listMap(...keys: string[]): SchemaExtensions {
  return { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': keys };
}

/**
 * A list merged by key in both patch dialects: `patchStrategy` (e.g. 'merge' or
 * 'merge,retainKeys'), merge key `keys[0]`, and list-map keys `keys` (ports add protocol).
 */
function mergeListMap(strategy: string, ...keys: string[]): SchemaExtensions {
  return { 'x-kubernetes-patch-strategy': strategy, 'x-kubernetes-patch-merge-key': keys[0], ...listMap(...keys) };
}

/** Extensions of properties, keyed `<definition>.<field>`. */
export const fieldExtensions: Readonly<Record<string, SchemaExtensions>> = {
  'io.k8s.api.apps.v1.DaemonSetStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.apps.v1.DeploymentSpec.strategy': { 'x-kubernetes-patch-strategy': 'retainKeys' },

  'io.k8s.api.apps.v1.DeploymentStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.apps.v1.ReplicaSetStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.apps.v1.StatefulSetSpec.volumeClaimTemplates': atomicList,

  'io.k8s.api.apps.v1.StatefulSetStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.batch.v1.CronJobStatus.active': atomicList,

  'io.k8s.api.batch.v1.JobStatus.conditions': { ...patchMerge('type'), ...atomicList },

  'io.k8s.api.batch.v1.PodFailurePolicy.rules': atomicList,

  'io.k8s.api.batch.v1.PodFailurePolicyOnExitCodesRequirement.values': setList,

  'io.k8s.api.batch.v1.PodFailurePolicyRule.onPodConditions': atomicList,

  'io.k8s.api.batch.v1.SuccessPolicy.rules': atomicList,

  'io.k8s.api.batch.v1.UncountedTerminatedPods.failed': setList,
  'io.k8s.api.batch.v1.UncountedTerminatedPods.succeeded': setList,

  'io.k8s.api.core.v1.Capabilities.add': atomicList,
  'io.k8s.api.core.v1.Capabilities.drop': atomicList,

  'io.k8s.api.core.v1.CephFSPersistentVolumeSource.monitors': atomicList,

  'io.k8s.api.core.v1.CephFSVolumeSource.monitors': atomicList,

  'io.k8s.api.core.v1.ComponentStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.core.v1.ConfigMapProjection.items': atomicList,

  'io.k8s.api.core.v1.ConfigMapVolumeSource.items': atomicList,

  'io.k8s.api.core.v1.Container.args': atomicList,
  'io.k8s.api.core.v1.Container.command': atomicList,
  'io.k8s.api.core.v1.Container.env': mergeListMap('merge', 'name'),
  'io.k8s.api.core.v1.Container.envFrom': atomicList,
  'io.k8s.api.core.v1.Container.ports': mergeListMap('merge', 'containerPort', 'protocol'),
  'io.k8s.api.core.v1.Container.resizePolicy': atomicList,
  'io.k8s.api.core.v1.Container.volumeDevices': mergeListMap('merge', 'devicePath'),
  'io.k8s.api.core.v1.Container.volumeMounts': mergeListMap('merge', 'mountPath'),

  'io.k8s.api.core.v1.ContainerImage.names': atomicList,

  'io.k8s.api.core.v1.ContainerStatus.allocatedResourcesStatus': mergeListMap('merge', 'name'),
  'io.k8s.api.core.v1.ContainerStatus.volumeMounts': mergeListMap('merge', 'mountPath'),

  'io.k8s.api.core.v1.DownwardAPIProjection.items': atomicList,

  'io.k8s.api.core.v1.DownwardAPIVolumeSource.items': atomicList,

  'io.k8s.api.core.v1.EndpointSubset.addresses': atomicList,
  'io.k8s.api.core.v1.EndpointSubset.notReadyAddresses': atomicList,
  'io.k8s.api.core.v1.EndpointSubset.ports': atomicList,

  'io.k8s.api.core.v1.Endpoints.subsets': atomicList,

  'io.k8s.api.core.v1.EphemeralContainer.args': atomicList,
  'io.k8s.api.core.v1.EphemeralContainer.command': atomicList,
  'io.k8s.api.core.v1.EphemeralContainer.env': mergeListMap('merge', 'name'),
  'io.k8s.api.core.v1.EphemeralContainer.envFrom': atomicList,
  'io.k8s.api.core.v1.EphemeralContainer.ports': mergeListMap('merge', 'containerPort', 'protocol'),
  'io.k8s.api.core.v1.EphemeralContainer.resizePolicy': atomicList,
  'io.k8s.api.core.v1.EphemeralContainer.volumeDevices': mergeListMap('merge', 'devicePath'),
  'io.k8s.api.core.v1.EphemeralContainer.volumeMounts': mergeListMap('merge', 'mountPath'),

  'io.k8s.api.core.v1.ExecAction.command': atomicList,

  'io.k8s.api.core.v1.FCVolumeSource.targetWWNs': atomicList,
  'io.k8s.api.core.v1.FCVolumeSource.wwids': atomicList,

  'io.k8s.api.core.v1.HTTPGetAction.httpHeaders': atomicList,

  'io.k8s.api.core.v1.HostAlias.hostnames': atomicList,

  'io.k8s.api.core.v1.ISCSIPersistentVolumeSource.portals': atomicList,

  'io.k8s.api.core.v1.ISCSIVolumeSource.portals': atomicList,

  'io.k8s.api.core.v1.LimitRangeSpec.limits': atomicList,

  'io.k8s.api.core.v1.LinuxContainerUser.supplementalGroups': atomicList,

  'io.k8s.api.core.v1.LoadBalancerIngress.ports': atomicList,

  'io.k8s.api.core.v1.LoadBalancerStatus.ingress': atomicList,

  'io.k8s.api.core.v1.NamespaceSpec.finalizers': atomicList,

  'io.k8s.api.core.v1.NamespaceStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.core.v1.NodeAffinity.preferredDuringSchedulingIgnoredDuringExecution': atomicList,

  'io.k8s.api.core.v1.NodeSelector.nodeSelectorTerms': atomicList,

  'io.k8s.api.core.v1.NodeSelectorRequirement.values': atomicList,

  'io.k8s.api.core.v1.NodeSelectorTerm.matchExpressions': atomicList,
  'io.k8s.api.core.v1.NodeSelectorTerm.matchFields': atomicList,

  'io.k8s.api.core.v1.NodeSpec.podCIDRs': mergeSet,
  'io.k8s.api.core.v1.NodeSpec.taints': atomicList,

  'io.k8s.api.core.v1.NodeStatus.addresses': mergeListMap('merge', 'type'),
  'io.k8s.api.core.v1.NodeStatus.conditions': mergeListMap('merge', 'type'),
  'io.k8s.api.core.v1.NodeStatus.images': atomicList,
  'io.k8s.api.core.v1.NodeStatus.runtimeHandlers': atomicList,
  'io.k8s.api.core.v1.NodeStatus.volumesAttached': atomicList,
  'io.k8s.api.core.v1.NodeStatus.volumesInUse': atomicList,

  'io.k8s.api.core.v1.PersistentVolumeClaimSpec.accessModes': atomicList,

  'io.k8s.api.core.v1.PersistentVolumeClaimStatus.accessModes': atomicList,
  'io.k8s.api.core.v1.PersistentVolumeClaimStatus.allocatedResourceStatuses': granularMap,
  'io.k8s.api.core.v1.PersistentVolumeClaimStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.core.v1.PersistentVolumeSpec.accessModes': atomicList,
  'io.k8s.api.core.v1.PersistentVolumeSpec.mountOptions': atomicList,

  'io.k8s.api.core.v1.PodAffinity.preferredDuringSchedulingIgnoredDuringExecution': atomicList,
  'io.k8s.api.core.v1.PodAffinity.requiredDuringSchedulingIgnoredDuringExecution': atomicList,

  'io.k8s.api.core.v1.PodAffinityTerm.matchLabelKeys': atomicList,
  'io.k8s.api.core.v1.PodAffinityTerm.mismatchLabelKeys': atomicList,
  'io.k8s.api.core.v1.PodAffinityTerm.namespaces': atomicList,

  'io.k8s.api.core.v1.PodAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution': atomicList,
  'io.k8s.api.core.v1.PodAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution': atomicList,

  'io.k8s.api.core.v1.PodDNSConfig.nameservers': atomicList,
  'io.k8s.api.core.v1.PodDNSConfig.options': atomicList,
  'io.k8s.api.core.v1.PodDNSConfig.searches': atomicList,

  'io.k8s.api.core.v1.PodSecurityContext.supplementalGroups': atomicList,
  'io.k8s.api.core.v1.PodSecurityContext.sysctls': atomicList,

  'io.k8s.api.core.v1.PodSpec.containers': mergeListMap('merge', 'name'),
  'io.k8s.api.core.v1.PodSpec.ephemeralContainers': mergeListMap('merge', 'name'),
  'io.k8s.api.core.v1.PodSpec.hostAliases': mergeListMap('merge', 'ip'),
  'io.k8s.api.core.v1.PodSpec.imagePullSecrets': mergeListMap('merge', 'name'),
  'io.k8s.api.core.v1.PodSpec.initContainers': mergeListMap('merge', 'name'),
  'io.k8s.api.core.v1.PodSpec.nodeSelector': atomicMap,
  'io.k8s.api.core.v1.PodSpec.readinessGates': atomicList,
  'io.k8s.api.core.v1.PodSpec.resourceClaims': mergeListMap('merge,retainKeys', 'name'),
  'io.k8s.api.core.v1.PodSpec.schedulingGates': mergeListMap('merge', 'name'),
  'io.k8s.api.core.v1.PodSpec.tolerations': atomicList,
  'io.k8s.api.core.v1.PodSpec.topologySpreadConstraints': mergeListMap('merge', 'topologyKey', 'whenUnsatisfiable'),
  'io.k8s.api.core.v1.PodSpec.volumes': mergeListMap('merge,retainKeys', 'name'),

  'io.k8s.api.core.v1.PodStatus.conditions': mergeListMap('merge', 'type'),
  'io.k8s.api.core.v1.PodStatus.containerStatuses': atomicList,
  'io.k8s.api.core.v1.PodStatus.ephemeralContainerStatuses': atomicList,
  'io.k8s.api.core.v1.PodStatus.hostIPs': { ...patchMerge('ip'), ...atomicList },
  'io.k8s.api.core.v1.PodStatus.initContainerStatuses': atomicList,
  'io.k8s.api.core.v1.PodStatus.podIPs': mergeListMap('merge', 'ip'),
  'io.k8s.api.core.v1.PodStatus.resourceClaimStatuses': mergeListMap('merge,retainKeys', 'name'),

  'io.k8s.api.core.v1.ProjectedVolumeSource.sources': atomicList,

  'io.k8s.api.core.v1.RBDPersistentVolumeSource.monitors': atomicList,

  'io.k8s.api.core.v1.RBDVolumeSource.monitors': atomicList,

  'io.k8s.api.core.v1.ReplicationControllerSpec.selector': atomicMap,

  'io.k8s.api.core.v1.ReplicationControllerStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.core.v1.ResourceQuotaSpec.scopes': atomicList,

  'io.k8s.api.core.v1.ResourceRequirements.claims': listMap('name'),

  'io.k8s.api.core.v1.ResourceStatus.resources': listMap('resourceID'),

  'io.k8s.api.core.v1.ScopeSelector.matchExpressions': atomicList,

  'io.k8s.api.core.v1.ScopedResourceSelectorRequirement.values': atomicList,

  'io.k8s.api.core.v1.SecretProjection.items': atomicList,

  'io.k8s.api.core.v1.SecretVolumeSource.items': atomicList,

  'io.k8s.api.core.v1.ServiceAccount.imagePullSecrets': atomicList,
  'io.k8s.api.core.v1.ServiceAccount.secrets': mergeListMap('merge', 'name'),

  'io.k8s.api.core.v1.ServiceSpec.clusterIPs': atomicList,
  'io.k8s.api.core.v1.ServiceSpec.externalIPs': atomicList,
  'io.k8s.api.core.v1.ServiceSpec.ipFamilies': atomicList,
  'io.k8s.api.core.v1.ServiceSpec.loadBalancerSourceRanges': atomicList,
  'io.k8s.api.core.v1.ServiceSpec.ports': mergeListMap('merge', 'port', 'protocol'),
  'io.k8s.api.core.v1.ServiceSpec.selector': atomicMap,

  'io.k8s.api.core.v1.ServiceStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.core.v1.TopologySelectorLabelRequirement.values': atomicList,

  'io.k8s.api.core.v1.TopologySelectorTerm.matchLabelExpressions': atomicList,

  'io.k8s.api.core.v1.TopologySpreadConstraint.matchLabelKeys': atomicList,

  'io.k8s.api.discovery.v1.Endpoint.addresses': setList,

  'io.k8s.api.discovery.v1.EndpointHints.forZones': atomicList,

  'io.k8s.api.discovery.v1.EndpointSlice.endpoints': atomicList,
  'io.k8s.api.discovery.v1.EndpointSlice.ports': atomicList,

  'io.k8s.api.policy.v1.PodDisruptionBudgetSpec.selector': { 'x-kubernetes-patch-strategy': 'replace' },

  'io.k8s.api.policy.v1.PodDisruptionBudgetStatus.conditions': mergeListMap('merge', 'type'),

  'io.k8s.api.rbac.v1.AggregationRule.clusterRoleSelectors': atomicList,

  'io.k8s.api.rbac.v1.ClusterRole.rules': atomicList,

  'io.k8s.api.rbac.v1.ClusterRoleBinding.subjects': atomicList,

  'io.k8s.api.rbac.v1.PolicyRule.apiGroups': atomicList,
  'io.k8s.api.rbac.v1.PolicyRule.nonResourceURLs': atomicList,
  'io.k8s.api.rbac.v1.PolicyRule.resourceNames': atomicList,
  'io.k8s.api.rbac.v1.PolicyRule.resources': atomicList,
  'io.k8s.api.rbac.v1.PolicyRule.verbs': atomicList,

  'io.k8s.api.rbac.v1.Role.rules': atomicList,

  'io.k8s.api.rbac.v1.RoleBinding.subjects': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup.serverAddressByClientCIDRs': atomicList,
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup.versions': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList.groups': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResource.categories': atomicList,
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResource.shortNames': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList.resources': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions.serverAddressByClientCIDRs': atomicList,
  'io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions.versions': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions.dryRun': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldSelectorRequirement.values': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector.matchExpressions': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelectorRequirement.values': atomicList,

  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.finalizers': mergeSet,
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.managedFields': atomicList,
  'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta.ownerReferences': mergeListMap('merge', 'uid'),

  'io.k8s.apimachinery.pkg.apis.meta.v1.StatusDetails.causes': atomicList,
};

/** Extensions of whole definitions: `+structType=atomic` / `+mapType=atomic` types. */
export const definitionExtensions: Readonly<Record<string, SchemaExtensions>> = {
  'io.k8s.api.autoscaling.v1.CrossVersionObjectReference': atomicMap,
  'io.k8s.api.core.v1.ConfigMapKeySelector': atomicMap,
  'io.k8s.api.core.v1.EndpointAddress': atomicMap,
  'io.k8s.api.core.v1.EndpointPort': atomicMap,
  'io.k8s.api.core.v1.LocalObjectReference': atomicMap,
  'io.k8s.api.core.v1.NodeSelector': atomicMap,
  'io.k8s.api.core.v1.NodeSelectorTerm': atomicMap,
  'io.k8s.api.core.v1.ObjectFieldSelector': atomicMap,
  'io.k8s.api.core.v1.ObjectReference': atomicMap,
  'io.k8s.api.core.v1.ResourceFieldSelector': atomicMap,
  'io.k8s.api.core.v1.ScopeSelector': atomicMap,
  'io.k8s.api.core.v1.SecretKeySelector': atomicMap,
  'io.k8s.api.core.v1.SecretReference': atomicMap,
  'io.k8s.api.core.v1.TopologySelectorTerm': atomicMap,
  'io.k8s.api.core.v1.TypedLocalObjectReference': atomicMap,
  'io.k8s.api.discovery.v1.EndpointPort': atomicMap,
  'io.k8s.apimachinery.pkg.apis.meta.v1.LabelSelector': atomicMap,
  'io.k8s.apimachinery.pkg.apis.meta.v1.OwnerReference': atomicMap,
};

/**
 * Defaults upstream declares with `+default=` markers, published in v3 only. Server-side
 * apply reads them for list-map keys an item omits (a container port without `protocol`
 * is keyed as TCP).
 */
export const fieldDefaults: Readonly<Record<string, string | boolean>> = {
  'io.k8s.api.core.v1.AzureDiskVolumeSource.cachingMode': 'ReadWrite',
  'io.k8s.api.core.v1.AzureDiskVolumeSource.fsType': 'ext4',
  'io.k8s.api.core.v1.AzureDiskVolumeSource.kind': 'Shared',
  'io.k8s.api.core.v1.AzureDiskVolumeSource.readOnly': false,
  'io.k8s.api.core.v1.ContainerPort.protocol': 'TCP',
  'io.k8s.api.core.v1.GRPCAction.service': '',
  'io.k8s.api.core.v1.ISCSIPersistentVolumeSource.iscsiInterface': 'default',
  'io.k8s.api.core.v1.ISCSIVolumeSource.iscsiInterface': 'default',
  'io.k8s.api.core.v1.LocalObjectReference.name': '',
  'io.k8s.api.core.v1.RBDPersistentVolumeSource.keyring': '/etc/ceph/keyring',
  'io.k8s.api.core.v1.RBDPersistentVolumeSource.pool': 'rbd',
  'io.k8s.api.core.v1.RBDPersistentVolumeSource.user': 'admin',
  'io.k8s.api.core.v1.RBDVolumeSource.keyring': '/etc/ceph/keyring',
  'io.k8s.api.core.v1.RBDVolumeSource.pool': 'rbd',
  'io.k8s.api.core.v1.RBDVolumeSource.user': 'admin',
  'io.k8s.api.core.v1.ScaleIOPersistentVolumeSource.fsType': 'xfs',
  'io.k8s.api.core.v1.ScaleIOPersistentVolumeSource.storageMode': 'ThinProvisioned',
  'io.k8s.api.core.v1.ScaleIOVolumeSource.fsType': 'xfs',
  'io.k8s.api.core.v1.ScaleIOVolumeSource.storageMode': 'ThinProvisioned',
  'io.k8s.api.core.v1.ServicePort.protocol': 'TCP',
};
