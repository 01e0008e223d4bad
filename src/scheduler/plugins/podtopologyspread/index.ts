/**
 * PodTopologySpread: spreads matching pods across topology domains (zones, hosts …) per
 * spec.topologySpreadConstraints. DoNotSchedule constraints filter: placing the pod must
 * keep (matching pods in the node's domain + 1 if the pod itself matches − the global
 * minimum) ≤ maxSkew. ScheduleAnyway constraints score: fewer matching pods in the
 * node's domains ranks higher.
 *
 * A pod without constraints of its own gets the system defaults for scoring (upstream
 * defaultingType System): ScheduleAnyway on kubernetes.io/hostname (maxSkew 3) and
 * topology.kubernetes.io/zone (maxSkew 5), counting the pods selected by the Services,
 * ReplicationController, ReplicaSet or StatefulSet that select it (handle.defaultSpreadSelector).
 */
import { labelSelectorAsSelector, newRequirement, type LabelSelector, type Selector } from '../../../apimachinery/labels.js';
import type { Node, NodeSelectorTerm, Pod, TopologySpreadConstraint } from '../../../client/objects.js';
import { findUntoleratedTaint, nodeSelectorMapMatches, nodeSelectorMatches } from '../../framework/helpers.js';
import type { NodeInfo, PodInfo } from '../../framework/nodeinfo.js';
import type { Handle, PluginFactory } from '../../framework/registry.js';
import {
  asStatus, Code, MAX_NODE_SCORE, newStatus, SKIP, stateKey, SUCCESS, type ClusterEvent, type CycleState, type FilterPlugin, type NodeScore,
  type PreFilterPlugin, type PreScorePlugin, type ScorePlugin, type StateData, type Status,
} from '../../framework/types.js';

export const NAME = 'PodTopologySpread';
export const ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints";
export const ERR_REASON_NODE_LABEL_NOT_MATCH = `${ERR_REASON_CONSTRAINTS_NOT_MATCH} (missing required label)`;
const HOSTNAME = 'kubernetes.io/hostname';
const ZONE = 'topology.kubernetes.io/zone';

/** PodTopologySpreadArgs. */
export interface PodTopologySpreadArgs {
  /** System (default): the built-in soft constraints; List: defaultConstraints. */
  defaultingType?: 'System' | 'List';
  defaultConstraints?: TopologySpreadConstraint[];
}

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: Selector;
  minDomains: number;
  honorNodeAffinity: boolean;
  honorTaints: boolean;
}

function buildConstraints(pod: Pod, list: readonly TopologySpreadConstraint[], action: 'DoNotSchedule' | 'ScheduleAnyway'): Constraint[] {
  const out: Constraint[] = [];
  const labels = pod.metadata?.labels ?? {};
  for (const c of list) {
    if (c.whenUnsatisfiable !== action) continue;
    let selector = labelSelectorAsSelector((c.labelSelector ?? null) as LabelSelector | null);
    for (const k of c.matchLabelKeys ?? []) {
      const v = labels[k];
      if (v !== undefined) selector = selector.add(newRequirement(k, 'in', [v]));
    }
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      selector,
      minDomains: c.minDomains ?? 1,
      honorNodeAffinity: (c.nodeAffinityPolicy ?? 'Honor') === 'Honor',
      honorTaints: c.nodeTaintsPolicy === 'Honor',
    });
  }
  return out;
}

function hasAllKeys(node: Node, constraints: readonly Constraint[]): boolean {
  const labels = node.metadata?.labels;
  if (!labels) return constraints.length === 0;
  for (const c of constraints) if (!(c.topologyKey in labels)) return false;
  return true;
}

interface RequiredAffinity {
  selector: Readonly<Record<string, string>> | undefined;
  terms: readonly NodeSelectorTerm[] | undefined;
}

function inclusion(c: Constraint, pod: Pod, node: Node, req: RequiredAffinity): boolean {
  if (c.honorNodeAffinity) {
    if (!nodeSelectorMapMatches(req.selector, node)) return false;
    if (req.terms !== undefined && !nodeSelectorMatches(req.terms, node)) return false;
  }
  if (c.honorTaints) {
    const t = findUntoleratedTaint(node.spec?.taints, pod.spec?.tolerations, (x) => x.effect === 'NoSchedule' || x.effect === 'NoExecute');
    if (t) return false;
  }
  return true;
}

/** Pods of namespace on the node that the selector matches, ignoring terminating ones. */
function countMatching(pods: readonly PodInfo[], selector: Selector, namespace: string): number {
  let n = 0;
  for (const p of pods) {
    if (p.namespace !== namespace || p.pod.metadata?.deletionTimestamp) continue;
    if (selector.matches(p.labels)) n++;
  }
  return n;
}

class PreFilterState implements StateData {
  constructor(
    readonly constraints: Constraint[],
    /** Per constraint: domain value → matching pods. */
    readonly matchNum: Map<string, number>[],
    /** Per constraint: the smallest count over its domains. */
    readonly minMatch: number[],
    readonly required: RequiredAffinity,
  ) {}

  recomputeMin(i: number): void {
    let m = Number.MAX_SAFE_INTEGER;
    for (const v of this.matchNum[i]!.values()) if (v < m) m = v;
    this.minMatch[i] = m;
  }

  clone(): PreFilterState {
    return new PreFilterState(this.constraints, this.matchNum.map((m) => new Map(m)), [...this.minMatch], this.required);
  }
}

interface PreScoreState {
  constraints: Constraint[];
  ignored: Set<string>;
  valueCounts: Map<string, number>[];
  weights: number[];
}

const preFilterKey = stateKey<PreFilterState>(`PreFilter${NAME}`);
const preScoreKey = stateKey<PreScoreState>(`PreScore${NAME}`);

function requiredAffinityOf(pod: Pod): RequiredAffinity {
  return {
    selector: pod.spec?.nodeSelector,
    terms: pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms,
  };
}

export class PodTopologySpread implements PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;

  private readonly systemDefaulted: boolean;
  private readonly defaults: readonly { maxSkew: number; topologyKey: string; whenUnsatisfiable: 'DoNotSchedule' | 'ScheduleAnyway' }[];

  constructor(private readonly handle: Handle, args: PodTopologySpreadArgs = {}) {
    this.systemDefaulted = (args.defaultingType ?? 'System') === 'System';
    this.defaults = this.systemDefaulted
      ? [{ maxSkew: 3, topologyKey: HOSTNAME, whenUnsatisfiable: 'ScheduleAnyway' }, { maxSkew: 5, topologyKey: ZONE, whenUnsatisfiable: 'ScheduleAnyway' }]
      : (args.defaultConstraints ?? []).map((c) => ({ maxSkew: c.maxSkew, topologyKey: c.topologyKey, whenUnsatisfiable: c.whenUnsatisfiable as 'DoNotSchedule' | 'ScheduleAnyway' }));
  }

  /** The pod's constraints for action, or the defaults when it has none (upstream getConstraints). */
  private constraintsFor(pod: Pod, action: 'DoNotSchedule' | 'ScheduleAnyway'): { constraints: Constraint[]; defaulted: boolean } {
    const own = pod.spec?.topologySpreadConstraints ?? [];
    if (own.length > 0) return { constraints: buildConstraints(pod, own, action), defaulted: false };
    const defaults = this.defaults.filter((d) => d.whenUnsatisfiable === action);
    if (defaults.length === 0) return { constraints: [], defaulted: true };
    const selector = this.handle.defaultSpreadSelector?.(pod);
    if (!selector || selector.empty()) return { constraints: [], defaulted: true };
    return {
      constraints: defaults.map((d) => ({ maxSkew: d.maxSkew, topologyKey: d.topologyKey, selector, minDomains: 1, honorNodeAffinity: true, honorTaints: false })),
      defaulted: true,
    };
  }

  eventsToRegister(): readonly ClusterEvent[] {
    return ['AssignedPodAdd', 'AssignedPodUpdate', 'AssignedPodDelete', 'NodeAdd', 'NodeUpdate', 'NodeDelete'];
  }

  preFilter(state: CycleState, pod: Pod): Status {
    const { constraints } = this.constraintsFor(pod, 'DoNotSchedule');
    if (constraints.length === 0) return SKIP;
    const required = requiredAffinityOf(pod);
    const ns = pod.metadata?.namespace ?? 'default';
    const matchNum = constraints.map(() => new Map<string, number>());
    for (const n of this.handle.snapshot().list()) {
      if (!hasAllKeys(n.node, constraints)) continue;
      for (let i = 0; i < constraints.length; i++) {
        const c = constraints[i]!;
        if (!inclusion(c, pod, n.node, required)) continue;
        const v = n.node.metadata!.labels![c.topologyKey]!;
        const m = matchNum[i]!;
        m.set(v, (m.get(v) ?? 0) + countMatching(n.pods, c.selector, ns));
      }
    }
    const s = new PreFilterState(constraints, matchNum, [], required);
    for (let i = 0; i < constraints.length; i++) s.recomputeMin(i);
    state.write(preFilterKey, s);
    return SUCCESS;
  }

  private update(state: CycleState, pod: Pod, other: PodInfo, nodeInfo: NodeInfo, delta: number): Status {
    const s = state.read(preFilterKey);
    if (!s) return SUCCESS;
    const ns = pod.metadata?.namespace ?? 'default';
    if (other.namespace !== ns || !hasAllKeys(nodeInfo.node, s.constraints)) return SUCCESS;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      if (!inclusion(c, pod, nodeInfo.node, s.required) || !c.selector.matches(other.labels)) continue;
      const v = nodeInfo.node.metadata!.labels![c.topologyKey]!;
      s.matchNum[i]!.set(v, (s.matchNum[i]!.get(v) ?? 0) + delta);
      s.recomputeMin(i);
    }
    return SUCCESS;
  }

  addPod(state: CycleState, pod: Pod, toAdd: PodInfo, nodeInfo: NodeInfo): Status {
    return this.update(state, pod, toAdd, nodeInfo, 1);
  }

  removePod(state: CycleState, pod: Pod, toRemove: PodInfo, nodeInfo: NodeInfo): Status {
    return this.update(state, pod, toRemove, nodeInfo, -1);
  }

  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    const s = state.read(preFilterKey);
    if (!s) return asStatus(new Error(`reading "${preFilterKey.name}" from cycleState: not found`));
    const labels = nodeInfo.node.metadata?.labels ?? {};
    const podLabels = pod.metadata?.labels ?? {};
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      const v = labels[c.topologyKey];
      if (v === undefined) return newStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_NODE_LABEL_NOT_MATCH);
      const m = s.matchNum[i]!;
      const min = m.size < c.minDomains ? 0 : s.minMatch[i]!;
      const self = c.selector.matches(podLabels) ? 1 : 0;
      const skew = (m.get(v) ?? 0) + self - min;
      if (skew > c.maxSkew) return newStatus(Code.Unschedulable, ERR_REASON_CONSTRAINTS_NOT_MATCH);
    }
    return SUCCESS;
  }

  preScore(state: CycleState, pod: Pod, filtered: readonly NodeInfo[]): Status {
    const { constraints, defaulted } = this.constraintsFor(pod, 'ScheduleAnyway');
    if (constraints.length === 0) return SKIP;
    // System-defaulted constraints do not require every topology label on a node.
    const requireAll = !(defaulted && this.systemDefaulted);
    const required = requiredAffinityOf(pod);
    const ns = pod.metadata?.namespace ?? 'default';
    const ignored = new Set<string>();
    const valueCounts = constraints.map(() => new Map<string, number>());
    const sizes = constraints.map(() => 0);
    for (const n of filtered) {
      if (requireAll && !hasAllKeys(n.node, constraints)) {
        ignored.add(n.name);
        continue;
      }
      for (let i = 0; i < constraints.length; i++) {
        const c = constraints[i]!;
        if (c.topologyKey === HOSTNAME) {
          sizes[i]!++;
          continue;
        }
        const v = n.node.metadata?.labels?.[c.topologyKey];
        if (v === undefined) continue;
        if (!valueCounts[i]!.has(v)) {
          valueCounts[i]!.set(v, 0);
          sizes[i]!++;
        }
      }
    }
    for (const n of this.handle.snapshot().list()) {
      if (requireAll && !hasAllKeys(n.node, constraints)) continue;
      for (let i = 0; i < constraints.length; i++) {
        const c = constraints[i]!;
        if (c.topologyKey === HOSTNAME) continue;
        const v = n.node.metadata?.labels?.[c.topologyKey];
        if (v === undefined) continue;
        const m = valueCounts[i]!;
        const cur = m.get(v);
        if (cur === undefined || !inclusion(c, pod, n.node, required)) continue;
        m.set(v, cur + countMatching(n.pods, c.selector, ns));
      }
    }
    state.write(preScoreKey, { constraints, ignored, valueCounts, weights: sizes.map((sz) => Math.log(sz + 2)) });
    return SUCCESS;
  }

  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number | Status {
    const s = state.read(preScoreKey);
    if (!s) return asStatus(new Error(`reading "${preScoreKey.name}" from cycleState: not found`));
    if (s.ignored.has(nodeInfo.name)) return 0;
    const labels = nodeInfo.node.metadata?.labels ?? {};
    const ns = pod.metadata?.namespace ?? 'default';
    let score = 0;
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      const v = labels[c.topologyKey];
      if (v === undefined) continue;
      const cnt = c.topologyKey === HOSTNAME ? countMatching(nodeInfo.pods, c.selector, ns) : (s.valueCounts[i]!.get(v) ?? 0);
      score += cnt * s.weights[i]! + (c.maxSkew - 1);
    }
    return Math.round(score);
  }

  normalizeScore(state: CycleState, _pod: Pod, scores: NodeScore[]): Status {
    const s = state.read(preScoreKey);
    if (!s) return SUCCESS;
    let min = Number.MAX_SAFE_INTEGER;
    let max = 0;
    for (const sc of scores) {
      if (s.ignored.has(sc.name)) continue;
      if (sc.score < min) min = sc.score;
      if (sc.score > max) max = sc.score;
    }
    for (const sc of scores) {
      if (s.ignored.has(sc.name)) {
        sc.score = 0;
        continue;
      }
      sc.score = max === 0 ? MAX_NODE_SCORE : Math.trunc((MAX_NODE_SCORE * (max + min - sc.score)) / max);
    }
    return SUCCESS;
  }
}

export const factory: PluginFactory = (args, handle) => new PodTopologySpread(handle, (args ?? {}) as PodTopologySpreadArgs);
