/**
 * Every resource Flotilla serves, by group/version. The API server's discovery, routing
 * and OpenAPI documents are all derived from this one list.
 *
 * Groups are listed in upstream's discovery priority order (kube-apiserver's
 * apiVersionPriorities): core, apps, events.k8s.io, batch, rbac.authorization.k8s.io,
 * coordination.k8s.io, discovery.k8s.io.
 */
import type { ResourceDef } from './types.js';
import { resources as coreV1 } from './core/v1/index.js';
import { resources as appsV1 } from './apps/v1/index.js';
import { resources as eventsV1 } from './events/v1/index.js';
import { resources as batchV1 } from './batch/v1/index.js';
import { resources as rbacV1 } from './rbac/v1/index.js';
import { resources as coordinationV1 } from './coordination/v1/index.js';
import { resources as discoveryV1 } from './discovery/v1/index.js';

export const allResources: ResourceDef[] = [...coreV1, ...appsV1, ...eventsV1, ...batchV1, ...rbacV1, ...coordinationV1, ...discoveryV1];

/** Finds a resource by group and plural name. */
export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return allResources.find((r) => r.group === group && r.version === version && r.resource === resource);
}
