/**
 * The shared scorer of NodeResourcesFit and NodeResourcesBalancedAllocation (upstream
 * resourceAllocationScorer): per configured resource, the node's allocatable and what it
 * would have requested with the pod on it.
 */
import type { NodeInfo } from '../../framework/nodeinfo.js';
import { isScalarResourceName, type Resource } from '../../framework/resources.js';

/** config.ResourceSpec. */
export interface ResourceSpec {
  name: string;
  weight: number;
}

export const DEFAULT_RESOURCES: readonly ResourceSpec[] = [
  { name: 'cpu', weight: 1 },
  { name: 'memory', weight: 1 },
];

/**
 * Fills allocatable[i] and requested[i] for each resource; an extended resource the pod
 * does not request, or one the node does not have, gets allocatable 0 (skipped by scorers).
 * useRequested: count the real requests (BalancedAllocation); otherwise the non-zero ones
 * (100m / 200 MB defaults) for cpu and memory (Fit).
 */
export function allocatableAndRequested(
  resources: readonly ResourceSpec[],
  nodeInfo: NodeInfo,
  podRequest: Resource,
  useRequested: boolean,
  allocatable: number[],
  requested: number[],
): void {
  const nodeRequested = useRequested ? nodeInfo.requested : nodeInfo.nonZeroRequested;
  for (let i = 0; i < resources.length; i++) {
    const name = resources[i]!.name;
    const podReq = podRequest.get(name);
    let alloc = 0;
    let req = 0;
    switch (name) {
      case 'cpu':
        alloc = nodeInfo.allocatable.milliCPU;
        req = nodeRequested.milliCPU + podReq;
        break;
      case 'memory':
        alloc = nodeInfo.allocatable.memory;
        req = nodeRequested.memory + podReq;
        break;
      case 'ephemeral-storage':
        alloc = nodeInfo.allocatable.ephemeralStorage;
        req = nodeInfo.requested.ephemeralStorage + podReq;
        break;
      default:
        if (podReq === 0 && isScalarResourceName(name)) break;
        alloc = nodeInfo.allocatable.get(name);
        req = nodeInfo.requested.get(name) + podReq;
    }
    allocatable[i] = alloc;
    requested[i] = req;
  }
}
