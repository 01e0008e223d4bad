/**
 * NodeAffinity: Filter enforces spec.nodeSelector and requiredDuringScheduling node
 * affinity (plus the profile's addedAffinity); Score sums the weights of the preferred
 * terms a node matches, normalised to 0–100.
 */
import type { NodeAffinity as NodeAffinitySpec, NodeSelectorTerm, Pod, PreferredSchedulingTerm } from '../../../client/objects.js';
import { nodeSelectorMapMatches, nodeSelectorMatches, nodeSelectorTermMatches } from '../../framework/helpers.js';
import type { NodeInfo, PodInfo } from '../../framework/nodeinfo.js';
import type { PluginFactory } from '../../framework/registry.js';
import {
  Code, defaultNormalizeScore, MAX_NODE_SCORE, newStatus, SKIP, stateKey, SUCCESS, type ClusterEvent, type CycleState, type FilterPlugin,
  type NodeScore, type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type Status,
} from '../../framework/types.js';

export const NAME = 'NodeAffinity';
export const ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector";
export const ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity";

/** NodeAffinityArgs. */
export interface NodeAffinityArgs {
  /** Applied to every pod of the profile in addition to its own affinity. */
  addedAffinity?: NodeAffinitySpec;
}

interface Required {
  selector: Readonly<Record<string, string>> | undefined;
  terms: readonly NodeSelectorTerm[] | undefined;
}
const preFilterKey = stateKey<Required>(`PreFilter${NAME}`);
const preScoreKey = stateKey<readonly PreferredSchedulingTerm[]>(`PreScore${NAME}`);

function requiredOf(pod: Pod): Required {
  return {
    selector: pod.spec?.nodeSelector,
    terms: pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
  };
}

export class NodeAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;
  private readonly addedTerms: readonly NodeSelectorTerm[] | undefined;
  private readonly addedPreferred: readonly PreferredSchedulingTerm[];

  constructor(args: NodeAffinityArgs = {}) {
    this.addedTerms = args.addedAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
    this.addedPreferred = args.addedAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  }

  eventsToRegister(): readonly ClusterEvent[] {
    return ['NodeAdd', 'NodeUpdate'];
  }

  preFilter(state: CycleState, pod: Pod, _pi: PodInfo): Status {
    const req = requiredOf(pod);
    const hasSelector = req.selector !== undefined && Object.keys(req.selector).length > 0;
    if (!hasSelector && req.terms === undefined && !this.addedTerms) return SKIP;
    state.write(preFilterKey, req);
    return SUCCESS;
  }

  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    const node = nodeInfo.node;
    if (this.addedTerms && !nodeSelectorMatches(this.addedTerms, node)) return newStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_ENFORCED);
    const req = state.read(preFilterKey) ?? requiredOf(pod);
    if (!nodeSelectorMapMatches(req.selector, node)) return newStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_POD);
    if (req.terms !== undefined && !nodeSelectorMatches(req.terms, node)) return newStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_POD);
    return SUCCESS;
  }

  preScore(state: CycleState, pod: Pod): Status {
    const preferred = [...this.addedPreferred, ...(pod.spec?.affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [])];
    if (preferred.length === 0) return SKIP;
    state.write(preScoreKey, preferred);
    return SUCCESS;
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): number {
    const preferred = state.read(preScoreKey);
    if (!preferred) return 0;
    let sum = 0;
    for (const t of preferred) if (t.weight !== 0 && nodeSelectorTermMatches(t.preference, nodeInfo.node)) sum += t.weight;
    return sum;
  }

  normalizeScore(_state: CycleState, _pod: Pod, scores: NodeScore[]): Status {
    return defaultNormalizeScore(MAX_NODE_SCORE, false, scores);
  }
}

export const factory: PluginFactory = (args) => new NodeAffinity((args ?? {}) as NodeAffinityArgs);
