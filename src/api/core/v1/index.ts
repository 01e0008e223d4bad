/**
 * Resource definitions of core/v1: the resources the API server serves under /api/v1.
 *
 * What stays with the API server (hooks these definitions leave open, as upstream keeps
 * them in REST storage and admission rather than in strategies):
 * - services: allocate spec.clusterIP(s) when {@link needsClusterIP} and unset, node ports
 *   (30000-32767) for ports of services that {@link needsNodePorts}; release on delete.
 *   Validation already reports an out-of-range nodePort with the allocator's message.
 * - pods: the `kube-api-access-*` projected token volume and its mounts (ServiceAccount
 *   admission: call {@link mountServiceAccountToken} on create once the account exists); binding ({@link validatePodBinding}, {@link bindPod}); eviction, log,
 *   exec, attach, portforward.
 * - namespaces: DELETE sets deletionTimestamp and status.phase Terminating while
 *   spec.finalizers is non-empty; `finalize` uses subresourceStrategies.finalize.
 * - replicationcontrollers: the scale subresource (scale.selector gives Scale.status.selector).
 */
import type { ResourceDef } from '../../types.js';
import { configMaps } from './configmaps.js';
import { endpoints } from './endpoints.js';
import { events } from './events.js';
import { namespaces } from './namespaces.js';
import { nodes } from './nodes.js';
import { pods } from './pods.js';
import { replicationControllers } from './replicationcontrollers.js';
import { secrets } from './secrets.js';
import { serviceAccounts } from './serviceaccounts.js';
import { services } from './services.js';

export { configMaps, endpoints, events, namespaces, nodes, pods, replicationControllers, secrets, serviceAccounts, services };
export { bindPod, mountServiceAccountToken, podQOSClass, SERVICE_ACCOUNT_TOKEN_MOUNT_PATH, validatePodBinding } from './pods.js';
export { needsClusterIP, needsNodePorts, normalizeClusterIPs, patchAllocatedValues } from './services.js';
export { DEFAULT_SERVICE_NODE_PORT_RANGE } from './validation.js';
export { defaultPodTemplate, defaultPodSpec, imageTag } from './defaults.js';
export { validatePodTemplateSpec, validatePodSpec } from './validation.js';
export { podStatusCells } from './table.js';

export const resources: ResourceDef[] = [
  configMaps, endpoints, events, namespaces, nodes, pods, replicationControllers, secrets, serviceAccounts, services,
];
