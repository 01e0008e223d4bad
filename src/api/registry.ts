/**
 * Every resource Flotilla serves, by group/version. The API server's discovery, routing
 * and OpenAPI documents are all derived from this one list.
 */
import type { ResourceDef } from './types.js';
import { resources as coreV1 } from './core/v1/index.js';
import { resources as appsV1 } from './apps/v1/index.js';

export const allResources: ResourceDef[] = [...coreV1, ...appsV1];

/** Finds a resource by group and plural name. */
export function findResource(group: string, version: string, resource: string): ResourceDef | undefined {
  return allResources.find((r) => r.group === group && r.version === version && r.resource === resource);
}
