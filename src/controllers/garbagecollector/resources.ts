/**
 * The garbage collector's REST mapping: which kinds it can look up by ownerReference and
 * which resources it watches to build the dependency graph (upstream discovers every
 * deletable list/watch resource; Flotilla's set is fixed and known here).
 */
import { parseGroupVersion } from '../../apimachinery/meta.js';
import { Resources, type GroupVersionResource } from '../../client/interface.js';

export interface GCResource {
  gvr: GroupVersionResource;
  kind: string;
  namespaced: boolean;
  /**
   * Watched to build the graph. Unwatched kinds (namespaces, leases) can still be owners:
   * the collector looks them up by GET, but their dependents wait for them to be observed.
   */
  monitored: boolean;
}

const r = (gvr: GroupVersionResource, kind: string, namespaced: boolean, monitored = true): GCResource => ({ gvr, kind, namespaced, monitored });

/**
 * Everything that owns or is owned in a Flotilla cluster. Events are left out (high churn,
 * never owners) as are leases (node heartbeats every 10 s) and namespaces (the namespace
 * controller empties those).
 */
export const gcResources: readonly GCResource[] = [
  r(Resources.pods, 'Pod', true),
  r(Resources.replicasets, 'ReplicaSet', true),
  r(Resources.deployments, 'Deployment', true),
  r(Resources.replicationcontrollers, 'ReplicationController', true),
  r(Resources.daemonsets, 'DaemonSet', true),
  r(Resources.statefulsets, 'StatefulSet', true),
  r(Resources.controllerrevisions, 'ControllerRevision', true),
  r(Resources.jobs, 'Job', true),
  r(Resources.cronjobs, 'CronJob', true),
  r(Resources.services, 'Service', true),
  r(Resources.endpoints, 'Endpoints', true),
  r(Resources.endpointslices, 'EndpointSlice', true),
  r(Resources.configmaps, 'ConfigMap', true),
  r(Resources.secrets, 'Secret', true),
  r(Resources.serviceaccounts, 'ServiceAccount', true),
  // Mirror pods are owned by their Node.
  r(Resources.nodes, 'Node', false),
  r(Resources.namespaces, 'Namespace', false, false),
  r(Resources.leases, 'Lease', true, false),
];

/**
 * The resource for an ownerReference's apiVersion and kind, matched by group and kind (any
 * version of the group maps to the version Flotilla serves); undefined when unknown.
 */
export function resourceForKind(apiVersion: string, kind: string): GCResource | undefined {
  let group: string;
  try {
    group = parseGroupVersion(apiVersion).group;
  } catch {
    return undefined;
  }
  return gcResources.find((x) => x.gvr.group === group && x.kind === kind);
}
