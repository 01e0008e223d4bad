/**
 * NodeResourcesBalancedAllocation: prefers nodes where, with the pod placed, the
 * fractions of cpu and memory requested are close to each other (score = (1 − std) × 100).
 * Best-effort pods (no requests) are skipped.
 */
import type { Pod } from '../../../client/objects.js';
import { podInfoOf, type NodeInfo } from '../../framework/nodeinfo.js';
import type { PluginFactory } from '../../framework/registry.js';
import type { Resource } from '../../framework/resources.js';
import { MAX_NODE_SCORE, SKIP, stateKey, SUCCESS, type ClusterEvent, type CycleState, type PreScorePlugin, type ScorePlugin, type Status } from '../../framework/types.js';
import { allocatableAndRequested, DEFAULT_RESOURCES, type ResourceSpec } from './resource_allocation.js';

export const NAME = 'NodeResourcesBalancedAllocation';

/** config.NodeResourcesBalancedAllocationArgs. */
export interface BalancedAllocationArgs {
  resources?: ResourceSpec[];
}

const preScoreKey = stateKey<Resource>(`PreScore${NAME}`);

/** (1 − standard deviation of the requested fractions) × 100, fractions capped at 1. */
export function balancedResourceScore(requested: readonly number[], allocatable: readonly number[]): number {
  const fractions: number[] = [];
  let total = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    const f = Math.min(1, requested[i]! / allocatable[i]!);
    total += f;
    fractions.push(f);
  }
  let std = 0;
  if (fractions.length === 2) {
    std = Math.abs((fractions[0]! - fractions[1]!) / 2);
  } else if (fractions.length > 2) {
    const mean = total / fractions.length;
    let variance = 0;
    for (const f of fractions) variance += (f - mean) * (f - mean);
    std = Math.sqrt(variance / fractions.length);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}

export class BalancedAllocation implements PreScorePlugin, ScorePlugin {
  readonly name = NAME;
  private readonly resources: readonly ResourceSpec[];
  private readonly allocScratch: number[];
  private readonly reqScratch: number[];

  constructor(args: BalancedAllocationArgs = {}) {
    this.resources = args.resources?.length ? args.resources : DEFAULT_RESOURCES;
    this.allocScratch = new Array<number>(this.resources.length).fill(0);
    this.reqScratch = new Array<number>(this.resources.length).fill(0);
  }

  eventsToRegister(): readonly ClusterEvent[] {
    return ['NodeAdd', 'NodeUpdate', 'AssignedPodDelete'];
  }

  preScore(state: CycleState, pod: Pod): Status {
    const req = podInfoOf(pod).requests;
    if (this.resources.every((r) => req.get(r.name) === 0)) return SKIP;
    state.write(preScoreKey, req);
    return SUCCESS;
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number {
    const req = state.read(preScoreKey) ?? podInfoOf(pod).requests;
    allocatableAndRequested(this.resources, nodeInfo, req, true, this.allocScratch, this.reqScratch);
    return balancedResourceScore(this.reqScratch, this.allocScratch);
  }
}

export const factory: PluginFactory = (args) => new BalancedAllocation((args ?? {}) as BalancedAllocationArgs);
