/**
 * NodeResourcesFit: Filter checks that the pod's requests (cpu, memory,
 * ephemeral-storage, extended resources, and one more pod) fit in what the node has left;
 * Score ranks nodes by the configured strategy: LeastAllocated (default: more free
 * resources after placement ranks higher), MostAllocated (bin packing), or
 * RequestedToCapacityRatio (a piecewise-linear shape over utilisation).
 */
import type { Pod } from '../../../client/objects.js';
import { podInfoOf, type NodeInfo, type PodInfo } from '../../framework/nodeinfo.js';
import type { PluginFactory } from '../../framework/registry.js';
import { isExtendedResourceName, type Resource } from '../../framework/resources.js';
import {
  asStatus, Code, MAX_NODE_SCORE, Status, stateKey, SUCCESS, type ClusterEvent, type CycleState, type FilterPlugin,
  type PreFilterPlugin, type PreScorePlugin, type ScorePlugin,
} from '../../framework/types.js';
import { allocatableAndRequested, DEFAULT_RESOURCES, type ResourceSpec } from './resource_allocation.js';

export const NAME = 'NodeResourcesFit';

export type ScoringStrategyType = 'LeastAllocated' | 'MostAllocated' | 'RequestedToCapacityRatio';

/** config.UtilizationShapePoint: utilization 0–100 → score 0–10. */
export interface UtilizationShapePoint {
  utilization: number;
  score: number;
}

/** config.NodeResourcesFitArgs. */
export interface NodeResourcesFitArgs {
  ignoredResources?: string[];
  ignoredResourceGroups?: string[];
  scoringStrategy?: {
    type?: ScoringStrategyType;
    resources?: ResourceSpec[];
    requestedToCapacityRatio?: { shape?: UtilizationShapePoint[] };
  };
}

/** One reason a pod does not fit (framework InsufficientResource). */
export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
}

interface PreFilterState {
  request: Resource;
}
const preFilterKey = stateKey<PreFilterState>(`PreFilter${NAME}`);
const preScoreKey = stateKey<Resource>(`PreScore${NAME}`);

/**
 * fitsRequest: every resource the pod lacks on nodeInfo, in upstream's order (pods, cpu,
 * memory, ephemeral-storage, then extended resources).
 */
export function fitsRequest(
  podRequest: Resource,
  nodeInfo: NodeInfo,
  ignored: ReadonlySet<string> = new Set(),
  ignoredGroups: ReadonlySet<string> = new Set(),
): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  const allowedPods = nodeInfo.allocatable.allowedPodNumber;
  if (nodeInfo.pods.length + 1 > allowedPods) {
    out.push({ resourceName: 'pods', reason: 'Too many pods', requested: 1, used: nodeInfo.pods.length, capacity: allowedPods });
  }
  if (podRequest.isZero()) return out;
  const alloc = nodeInfo.allocatable;
  const used = nodeInfo.requested;
  if (podRequest.milliCPU > 0 && podRequest.milliCPU > alloc.milliCPU - used.milliCPU) {
    out.push({ resourceName: 'cpu', reason: 'Insufficient cpu', requested: podRequest.milliCPU, used: used.milliCPU, capacity: alloc.milliCPU });
  }
  if (podRequest.memory > 0 && podRequest.memory > alloc.memory - used.memory) {
    out.push({ resourceName: 'memory', reason: 'Insufficient memory', requested: podRequest.memory, used: used.memory, capacity: alloc.memory });
  }
  if (podRequest.ephemeralStorage > 0 && podRequest.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) {
    out.push({
      resourceName: 'ephemeral-storage', reason: 'Insufficient ephemeral-storage',
      requested: podRequest.ephemeralStorage, used: used.ephemeralStorage, capacity: alloc.ephemeralStorage,
    });
  }
  if (podRequest.scalar) {
    for (const [name, q] of podRequest.scalar) {
      if (q === 0) continue;
      if (isExtendedResourceName(name)) {
        if (ignored.has(name)) continue;
        const slash = name.indexOf('/');
        if (slash >= 0 && ignoredGroups.has(name.slice(0, slash))) continue;
      }
      const free = alloc.get(name) - used.get(name);
      if (q > free) out.push({ resourceName: name, reason: `Insufficient ${name}`, requested: q, used: used.get(name), capacity: alloc.get(name) });
    }
  }
  return out;
}

type Scorer = (requested: readonly number[], allocatable: readonly number[]) => number;

function leastAllocatedScorer(resources: readonly ResourceSpec[]): Scorer {
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      const cap = allocatable[i]!;
      if (cap === 0) continue;
      const w = resources[i]!.weight;
      const req = requested[i]!;
      const s = req > cap ? 0 : Math.trunc(((cap - req) * MAX_NODE_SCORE) / cap);
      nodeScore += s * w;
      weightSum += w;
    }
    return weightSum === 0 ? 0 : Math.trunc(nodeScore / weightSum);
  };
}

function mostAllocatedScorer(resources: readonly ResourceSpec[]): Scorer {
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      const cap = allocatable[i]!;
      if (cap === 0) continue;
      const w = resources[i]!.weight;
      const req = Math.min(requested[i]!, cap);
      nodeScore += Math.trunc((req * MAX_NODE_SCORE) / cap) * w;
      weightSum += w;
    }
    return weightSum === 0 ? 0 : Math.trunc(nodeScore / weightSum);
  };
}

/** helper.BuildBrokenLinearFunction over (utilization, score) points, scores scaled ×10. */
function requestedToCapacityRatioScorer(resources: readonly ResourceSpec[], shape: readonly UtilizationShapePoint[]): Scorer {
  const pts = shape.map((p) => ({ x: p.utilization, y: p.score * (MAX_NODE_SCORE / 10) }));
  const f = (x: number): number => {
    for (let i = 0; i < pts.length; i++) {
      if (x <= pts[i]!.x) {
        if (i === 0) return pts[0]!.y;
        const a = pts[i - 1]!;
        const b = pts[i]!;
        return a.y + Math.trunc(((b.y - a.y) * (x - a.x)) / (b.x - a.x));
      }
    }
    return pts[pts.length - 1]!.y;
  };
  return (requested, allocatable) => {
    let nodeScore = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      const cap = allocatable[i]!;
      if (cap === 0) continue;
      const w = resources[i]!.weight;
      const req = requested[i]!;
      const s = req > cap ? f(MAX_NODE_SCORE) : f(Math.trunc((req * MAX_NODE_SCORE) / cap));
      nodeScore += s * w;
      weightSum += w;
    }
    return weightSum === 0 ? 0 : Math.round(nodeScore / weightSum);
  };
}

export class NodeResourcesFit implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;
  readonly strategy: ScoringStrategyType;
  private readonly resources: readonly ResourceSpec[];
  private readonly scorer: Scorer;
  private readonly ignored: ReadonlySet<string>;
  private readonly ignoredGroups: ReadonlySet<string>;
  private readonly allocScratch: number[];
  private readonly reqScratch: number[];

  constructor(args: NodeResourcesFitArgs = {}) {
    this.strategy = args.scoringStrategy?.type ?? 'LeastAllocated';
    this.resources = args.scoringStrategy?.resources?.length ? args.scoringStrategy.resources : DEFAULT_RESOURCES;
    this.ignored = new Set(args.ignoredResources ?? []);
    this.ignoredGroups = new Set(args.ignoredResourceGroups ?? []);
    switch (this.strategy) {
      case 'LeastAllocated': this.scorer = leastAllocatedScorer(this.resources); break;
      case 'MostAllocated': this.scorer = mostAllocatedScorer(this.resources); break;
      case 'RequestedToCapacityRatio': {
        const shape = args.scoringStrategy?.requestedToCapacityRatio?.shape ?? [{ utilization: 0, score: 10 }, { utilization: 100, score: 0 }];
        this.scorer = requestedToCapacityRatioScorer(this.resources, shape);
        break;
      }
      default: throw new Error(`scoring strategy ${String(this.strategy)} is not supported`);
    }
    this.allocScratch = new Array<number>(this.resources.length).fill(0);
    this.reqScratch = new Array<number>(this.resources.length).fill(0);
  }

  eventsToRegister(): readonly ClusterEvent[] {
    return ['NodeAdd', 'NodeUpdate', 'AssignedPodDelete', 'AssignedPodUpdate'];
  }

  preFilter(state: CycleState, _pod: Pod, pi: PodInfo): Status {
    state.write(preFilterKey, { request: pi.requests });
    return SUCCESS;
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): Status {
    const s = state.read(preFilterKey);
    if (!s) return asStatus(new Error(`reading "${preFilterKey.name}" from cycleState: not found`));
    // Fast path for the common case (runs for every node of every pod): no allocation.
    const r = s.request;
    const alloc = nodeInfo.allocatable;
    const used = nodeInfo.requested;
    if (
      !r.scalar && nodeInfo.pods.length + 1 <= alloc.allowedPodNumber
      && r.milliCPU <= alloc.milliCPU - used.milliCPU && r.memory <= alloc.memory - used.memory
      && r.ephemeralStorage <= alloc.ephemeralStorage - used.ephemeralStorage
    ) return SUCCESS;
    const insufficient = fitsRequest(s.request, nodeInfo, this.ignored, this.ignoredGroups);
    if (insufficient.length === 0) return SUCCESS;
    return new Status(Code.Unschedulable, insufficient.map((r) => r.reason));
  }

  preScore(state: CycleState, pod: Pod): Status {
    // The scorer counts 100m / 200 MB for containers without cpu / memory requests.
    state.write(preScoreKey, podInfoRequests(pod));
    return SUCCESS;
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number | Status {
    const req = state.read(preScoreKey) ?? podInfoRequests(pod);
    allocatableAndRequested(this.resources, nodeInfo, req, false, this.allocScratch, this.reqScratch);
    return this.scorer(this.reqScratch, this.allocScratch);
  }
}

function podInfoRequests(pod: Pod): Resource {
  const pi = podInfoOf(pod);
  // Non-zero cpu/memory with the real values of every other resource.
  const r = pi.requests.clone();
  r.milliCPU = pi.nonZeroRequests.milliCPU;
  r.memory = pi.nonZeroRequests.memory;
  return r;
}

export const factory: PluginFactory = (args) => new NodeResourcesFit((args ?? {}) as NodeResourcesFitArgs);
