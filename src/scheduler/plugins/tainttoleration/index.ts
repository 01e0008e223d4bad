/**
 * TaintToleration: Filter rejects nodes with a NoSchedule or NoExecute taint the pod does
 * not tolerate; Score prefers nodes with fewer untolerated PreferNoSchedule taints.
 */
import type { Pod, Toleration } from '../../../client/objects.js';
import { findUntoleratedTaint, taintToleratedBy } from '../../framework/helpers.js';
import type { NodeInfo } from '../../framework/nodeinfo.js';
import type { PluginFactory } from '../../framework/registry.js';
import {
  Code, defaultNormalizeScore, MAX_NODE_SCORE, newStatus, stateKey, SUCCESS, type ClusterEvent, type CycleState, type FilterPlugin,
  type NodeScore, type PreScorePlugin, type ScorePlugin, type Status,
} from '../../framework/types.js';

export const NAME = 'TaintToleration';
const preScoreKey = stateKey<readonly Toleration[]>(`PreScore${NAME}`);

/** Upstream's reason text: "node(s) had untolerated taint {key: value}". */
export function untoleratedTaintReason(key: string, value: string | undefined): string {
  return `node(s) had untolerated taint {${key}: ${value ?? ''}}`;
}

export class TaintToleration implements FilterPlugin, PreScorePlugin, ScorePlugin {
  readonly name = NAME;

  eventsToRegister(): readonly ClusterEvent[] {
    return ['NodeAdd', 'NodeUpdate'];
  }

  filter(_state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    const taints = nodeInfo.node.spec?.taints;
    if (!taints || taints.length === 0) return SUCCESS;
    const t = findUntoleratedTaint(taints, pod.spec?.tolerations, (x) => x.effect === 'NoSchedule' || x.effect === 'NoExecute');
    if (!t) return SUCCESS;
    return newStatus(Code.UnschedulableAndUnresolvable, untoleratedTaintReason(t.key, t.value));
  }

  preScore(state: CycleState, pod: Pod): Status {
    const tols = (pod.spec?.tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
    state.write(preScoreKey, tols);
    return SUCCESS;
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): number {
    const taints = nodeInfo.node.spec?.taints;
    if (!taints) return 0;
    const tols = state.read(preScoreKey) ?? [];
    let n = 0;
    for (const t of taints) if (t.effect === 'PreferNoSchedule' && !taintToleratedBy(t, tols)) n++;
    return n;
  }

  normalizeScore(_state: CycleState, _pod: Pod, scores: NodeScore[]): Status {
    return defaultNormalizeScore(MAX_NODE_SCORE, true, scores);
  }
}

export const factory: PluginFactory = () => new TaintToleration();
