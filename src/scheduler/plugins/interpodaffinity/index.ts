/**
 * InterPodAffinity: required pod affinity / anti-affinity as a Filter (the pod's own
 * terms, and existing pods' anti-affinity against it), preferred terms (both ways) as a
 * Score over topology domains.
 */
import type { Node, Pod } from '../../../client/objects.js';
import { affinityTermMatches, podInfoOf, type AffinityTerm, type NodeInfo, type PodInfo } from '../../framework/nodeinfo.js';
import type { Handle, PluginFactory } from '../../framework/registry.js';
import {
  asStatus, Code, MAX_NODE_SCORE, newStatus, SKIP, stateKey, SUCCESS, type ClusterEvent, type CycleState, type FilterPlugin, type NodeScore,
  type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type StateData, type Status,
} from '../../framework/types.js';

export const NAME = 'InterPodAffinity';
export const ERR_REASON_EXISTING_ANTI_AFFINITY = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ERR_REASON_AFFINITY = "node(s) didn't match pod affinity rules";
export const ERR_REASON_ANTI_AFFINITY = "node(s) didn't match pod anti-affinity rules";

/** config.InterPodAffinityArgs. */
export interface InterPodAffinityArgs {
  /** Score weight of existing pods' required affinity towards the incoming pod (default 1). */
  hardPodAffinityWeight?: number;
  ignorePreferredTermsOfExistingPods?: boolean;
}

type Counts = Map<string, number>;
const pairKey = (k: string, v: string) => `${k}\u0000${v}`;

function add(counts: Counts, node: Node, term: AffinityTerm, delta: number): void {
  const v = node.metadata?.labels?.[term.topologyKey];
  if (v === undefined) return;
  const k = pairKey(term.topologyKey, v);
  const n = (counts.get(k) ?? 0) + delta;
  if (n === 0) counts.delete(k);
  else counts.set(k, n);
}

class PreFilterState implements StateData {
  constructor(
    readonly podInfo: PodInfo,
    readonly existingAntiAffinityCounts: Counts,
    readonly affinityCounts: Counts,
    readonly antiAffinityCounts: Counts,
    readonly nsLabels: Readonly<Record<string, string>> | undefined,
  ) {}

  clone(): PreFilterState {
    return new PreFilterState(this.podInfo, new Map(this.existingAntiAffinityCounts), new Map(this.affinityCounts), new Map(this.antiAffinityCounts), this.nsLabels);
  }
}

const preFilterKey = stateKey<PreFilterState>(`PreFilter${NAME}`);
const preScoreKey = stateKey<Map<string, number>>(`PreScore${NAME}`);

export class InterPodAffinity implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;
  private readonly hardWeight: number;
  private readonly ignoreExistingPreferred: boolean;

  constructor(private readonly handle: Handle, args: InterPodAffinityArgs = {}) {
    this.hardWeight = args.hardPodAffinityWeight ?? 1;
    this.ignoreExistingPreferred = args.ignorePreferredTermsOfExistingPods ?? false;
  }

  eventsToRegister(): readonly ClusterEvent[] {
    return ['AssignedPodAdd', 'AssignedPodUpdate', 'AssignedPodDelete', 'NodeAdd', 'NodeUpdate', 'NamespaceChange'];
  }

  /** Counts what `other` (on node) contributes to the incoming pod's state. */
  private updateWith(s: PreFilterState, other: PodInfo, node: Node, delta: number): void {
    const nsOther = this.handle.namespaceLabels(other.namespace);
    for (const t of other.requiredAntiAffinityTerms) {
      if (affinityTermMatches(t, s.podInfo, s.nsLabels)) add(s.existingAntiAffinityCounts, node, t, delta);
    }
    for (const t of s.podInfo.requiredAffinityTerms) if (affinityTermMatches(t, other, nsOther)) add(s.affinityCounts, node, t, delta);
    for (const t of s.podInfo.requiredAntiAffinityTerms) if (affinityTermMatches(t, other, nsOther)) add(s.antiAffinityCounts, node, t, delta);
  }

  preFilter(state: CycleState, pod: Pod, pi: PodInfo): Status {
    if (pi.parseError) return newStatus(Code.UnschedulableAndUnresolvable, pi.parseError);
    const snap = this.handle.snapshot();
    const withAnti = snap.havePodsWithRequiredAntiAffinityList();
    const hasOwn = pi.requiredAffinityTerms.length > 0 || pi.requiredAntiAffinityTerms.length > 0;
    if (!hasOwn && withAnti.length === 0) return SKIP;
    const s = new PreFilterState(pi, new Map(), new Map(), new Map(), this.handle.namespaceLabels(pi.namespace));
    for (const n of withAnti) {
      for (const other of n.podsWithRequiredAntiAffinity) {
        for (const t of other.requiredAntiAffinityTerms) if (affinityTermMatches(t, pi, s.nsLabels)) add(s.existingAntiAffinityCounts, n.node, t, 1);
      }
    }
    if (hasOwn) {
      for (const n of snap.list()) {
        for (const other of n.pods) {
          const nsOther = this.handle.namespaceLabels(other.namespace);
          for (const t of pi.requiredAffinityTerms) if (affinityTermMatches(t, other, nsOther)) add(s.affinityCounts, n.node, t, 1);
          for (const t of pi.requiredAntiAffinityTerms) if (affinityTermMatches(t, other, nsOther)) add(s.antiAffinityCounts, n.node, t, 1);
        }
      }
    }
    state.write(preFilterKey, s);
    return SUCCESS;
  }

  addPod(state: CycleState, _pod: Pod, toAdd: PodInfo, nodeInfo: NodeInfo): Status {
    const s = state.read(preFilterKey);
    if (s) this.updateWith(s, toAdd, nodeInfo.node, 1);
    return SUCCESS;
  }

  removePod(state: CycleState, _pod: Pod, toRemove: PodInfo, nodeInfo: NodeInfo): Status {
    const s = state.read(preFilterKey);
    if (s) this.updateWith(s, toRemove, nodeInfo.node, -1);
    return SUCCESS;
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): Status {
    const s = state.read(preFilterKey);
    if (!s) return asStatus(new Error(`reading "${preFilterKey.name}" from cycleState: not found`));
    const labels = nodeInfo.node.metadata?.labels ?? {};
    // Affinity: the node must carry every term's topology key, and each domain must already
    // hold a matching pod, unless no pod matches anywhere and the pod matches its own terms
    // (the first pod of a group with affinity to itself).
    let podsExist = true;
    for (const t of s.podInfo.requiredAffinityTerms) {
      const v = labels[t.topologyKey];
      if (v === undefined) return newStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_AFFINITY);
      if ((s.affinityCounts.get(pairKey(t.topologyKey, v)) ?? 0) <= 0) podsExist = false;
    }
    if (!podsExist) {
      const selfMatch = s.affinityCounts.size === 0 && s.podInfo.requiredAffinityTerms.every((t) => affinityTermMatches(t, s.podInfo, s.nsLabels));
      if (!selfMatch) return newStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_AFFINITY);
    }
    if (s.antiAffinityCounts.size > 0) {
      for (const t of s.podInfo.requiredAntiAffinityTerms) {
        const v = labels[t.topologyKey];
        if (v !== undefined && (s.antiAffinityCounts.get(pairKey(t.topologyKey, v)) ?? 0) > 0) {
          return newStatus(Code.Unschedulable, ERR_REASON_ANTI_AFFINITY);
        }
      }
    }
    if (s.existingAntiAffinityCounts.size > 0) {
      for (const k in labels) {
        if ((s.existingAntiAffinityCounts.get(pairKey(k, labels[k]!)) ?? 0) > 0) return newStatus(Code.Unschedulable, ERR_REASON_EXISTING_ANTI_AFFINITY);
      }
    }
    return SUCCESS;
  }

  preScore(state: CycleState, pod: Pod): Status {
    const pi = podInfoOf(pod);
    const hasConstraints = pi.preferredAffinityTerms.length > 0 || pi.preferredAntiAffinityTerms.length > 0;
    if (this.ignoreExistingPreferred && !hasConstraints) return SKIP;
    const snap = this.handle.snapshot();
    const nodes = hasConstraints ? snap.list() : snap.havePodsWithAffinityList();
    if (nodes.length === 0) return SKIP;
    const scores = new Map<string, number>();
    const nsIncoming = this.handle.namespaceLabels(pi.namespace);
    const bump = (node: Node, term: AffinityTerm, w: number) => {
      const v = node.metadata?.labels?.[term.topologyKey];
      if (v === undefined) return;
      const k = pairKey(term.topologyKey, v);
      scores.set(k, (scores.get(k) ?? 0) + w);
    };
    for (const n of nodes) {
      const candidates = hasConstraints ? n.pods : n.podsWithAffinity;
      for (const other of candidates) {
        const nsOther = this.handle.namespaceLabels(other.namespace);
        for (const t of pi.preferredAffinityTerms) if (affinityTermMatches(t, other, nsOther)) bump(n.node, t, t.weight);
        for (const t of pi.preferredAntiAffinityTerms) if (affinityTermMatches(t, other, nsOther)) bump(n.node, t, -t.weight);
        if (this.hardWeight > 0) {
          for (const t of other.requiredAffinityTerms) if (affinityTermMatches(t, pi, nsIncoming)) bump(n.node, t, this.hardWeight);
        }
        if (!this.ignoreExistingPreferred) {
          for (const t of other.preferredAffinityTerms) if (affinityTermMatches(t, pi, nsIncoming)) bump(n.node, t, t.weight);
          for (const t of other.preferredAntiAffinityTerms) if (affinityTermMatches(t, pi, nsIncoming)) bump(n.node, t, -t.weight);
        }
      }
    }
    if (scores.size === 0) return SKIP;
    state.write(preScoreKey, scores);
    return SUCCESS;
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): number {
    const scores = state.read(preScoreKey);
    if (!scores) return 0;
    const labels = nodeInfo.node.metadata?.labels ?? {};
    let sum = 0;
    for (const k in labels) sum += scores.get(pairKey(k, labels[k]!)) ?? 0;
    return sum;
  }

  normalizeScore(state: CycleState, _pod: Pod, scores: NodeScore[]): Status {
    if (!state.read(preScoreKey)) return SUCCESS;
    let min = Infinity;
    let max = -Infinity;
    for (const s of scores) {
      if (s.score > max) max = s.score;
      if (s.score < min) min = s.score;
    }
    const diff = max - min;
    for (const s of scores) s.score = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((s.score - min) / diff)) : 0;
    return SUCCESS;
  }
}

export const factory: PluginFactory = (args, handle) => new InterPodAffinity(handle, (args ?? {}) as InterPodAffinityArgs);
