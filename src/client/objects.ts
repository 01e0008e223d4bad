/**
 * Typed views of the objects components read, from the kubernetes-models package's
 * generated interfaces (type-only: nothing of it is loaded at run time). The wire form is
 * still plain JSON; use these to read fields with the compiler's help, e.g.
 * `client.resource<Pod>(Resources.pods, ns)`.
 *
 * kubernetes-models is generated from Kubernetes 1.33: a few fields newer than the 1.32
 * API server serves appear here and are simply never set.
 */
export type {
  IPod as Pod,
  IPodSpec as PodSpec,
  IPodStatus as PodStatus,
  IPodCondition as PodCondition,
  IPodTemplateSpec as PodTemplateSpec,
  IContainer as Container,
  IContainerStatus as ContainerStatus,
  IContainerPort as ContainerPort,
  IResourceRequirements as ResourceRequirements,
  IToleration as Toleration,
  ITaint as Taint,
  IAffinity as Affinity,
  INodeAffinity as NodeAffinity,
  INodeSelector as NodeSelector,
  INodeSelectorTerm as NodeSelectorTerm,
  INodeSelectorRequirement as NodeSelectorRequirement,
  IPodAffinity as PodAffinity,
  IPodAntiAffinity as PodAntiAffinity,
  IPodAffinityTerm as PodAffinityTerm,
  IWeightedPodAffinityTerm as WeightedPodAffinityTerm,
  IPreferredSchedulingTerm as PreferredSchedulingTerm,
  ITopologySpreadConstraint as TopologySpreadConstraint,
  INode as Node,
  INodeSpec as NodeSpec,
  INodeStatus as NodeStatus,
  INodeCondition as NodeCondition,
  INodeAddress as NodeAddress,
  INamespace as Namespace,
  IService as Service,
  IServicePort as ServicePort,
  IEndpoints as Endpoints,
  IEndpointSubset as EndpointSubset,
  IEndpointAddress as EndpointAddress,
  IEndpointPort as EndpointPort,
  IEvent as Event,
  IObjectReference as ObjectReference,
  IReplicationController as ReplicationController,
  IServiceAccount as ServiceAccount,
  IBinding as Binding,
  IConfigMap as ConfigMap,
  ISecret as Secret,
} from 'kubernetes-models/v1';
export type {
  IDeployment as Deployment,
  IDeploymentCondition as DeploymentCondition,
  IReplicaSet as ReplicaSet,
  IReplicaSetCondition as ReplicaSetCondition,
  IDaemonSet as DaemonSet,
  IStatefulSet as StatefulSet,
  IControllerRevision as ControllerRevision,
} from 'kubernetes-models/apps/v1';
export type { IJob as Job, IJobCondition as JobCondition, ICronJob as CronJob } from 'kubernetes-models/batch/v1';
export type { IEndpointSlice as EndpointSlice, IEndpoint as Endpoint } from 'kubernetes-models/discovery.k8s.io/v1';
export type { ILease as Lease } from 'kubernetes-models/coordination.k8s.io/v1';
export type { IObjectMeta as ObjectMeta } from '@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta';
export type { ILabelSelector as LabelSelector } from '@kubernetes-models/apimachinery/apis/meta/v1/LabelSelector';
export type { IOwnerReference as OwnerReference } from '@kubernetes-models/apimachinery/apis/meta/v1/OwnerReference';
