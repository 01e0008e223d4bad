/**
 * Resource definitions of core/v1: the resources the API server serves under /api/v1,
 * in the order upstream's discovery lists them.
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
export { bindPod, podQOSClass, validatePodBinding } from './pods.js';
export { needsClusterIP, needsNodePorts, normalizeClusterIPs } from './services.js';
export { DEFAULT_SERVICE_NODE_PORT_RANGE } from './validation.js';
export { defaultPodTemplate, defaultPodSpec, imageTag } from './defaults.js';
export { validatePodTemplateSpec, validatePodSpec } from './validation.js';
export { podStatusCells } from './table.js';

export const resources: ResourceDef[] = [
  configMaps, endpoints, events, namespaces, nodes, pods, replicationControllers, secrets, serviceAccounts, services,
];
