/**
 * FitError: why no node fits a pod, worded exactly as upstream's FitError.Error(), e.g.
 * "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) had untolerated taint
 * {node-role.kubernetes.io/control-plane: }. preemption: 0/3 nodes are available: 3
 * Preemption is not helpful for scheduling."
 */
import type { Status } from './types.js';

/** framework.Diagnosis. */
export interface Diagnosis {
  /** Each filtered node's rejecting status, by node name. */
  nodeToStatus: Map<string, Status>;
  /** Status of the nodes absent from nodeToStatus (a PreFilter rejection applies to all). */
  absentNodesStatus?: Status;
  /** Plugins that rejected the pod somewhere (the queue requeues on their events). */
  unschedulablePlugins: Set<string>;
  /** A PreFilter plugin's rejection message, which then replaces the per-node reasons. */
  preFilterMsg?: string;
  /** What PostFilter (preemption) said. */
  postFilterMsg?: string;
}

export function newDiagnosis(): Diagnosis {
  return { nodeToStatus: new Map(), unschedulablePlugins: new Set() };
}

export class FitError extends Error {
  constructor(
    readonly podKey: string,
    readonly numAllNodes: number,
    readonly diagnosis: Diagnosis,
  ) {
    // No message argument: Error would define an own `message` hiding the getter below,
    // which derives the text at read time (PostFilter adds to the diagnosis afterwards).
    super();
    this.name = 'FitError';
  }

  override get message(): string {
    return fitErrorMessage(this.numAllNodes, this.diagnosis);
  }

  override set message(_v: string) {
    // Error's constructor assigns message; the text is always derived.
  }
}

/** The FitError text: reasons counted per node, "<count> <reason>" sorted as strings. */
export function fitErrorMessage(numAllNodes: number, d: Diagnosis): string {
  let msg = `0/${numAllNodes} nodes are available:`;
  if (d.preFilterMsg) {
    msg += ` ${d.preFilterMsg}.`;
  } else {
    const counts = new Map<string, number>();
    for (const s of d.nodeToStatus.values()) for (const r of s.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
    const absent = numAllNodes - d.nodeToStatus.size;
    if (absent > 0 && d.absentNodesStatus) for (const r of d.absentNodesStatus.reasons) counts.set(r, (counts.get(r) ?? 0) + absent);
    const parts = [...counts].map(([r, n]) => `${n} ${r}`).sort(compareGoStrings);
    if (parts.length > 0) msg += ` ${parts.join(', ')}.`;
  }
  if (d.postFilterMsg) msg += ` ${d.postFilterMsg}.`;
  return msg;
}

/** Go's sort.Strings order (bytewise on UTF-8; equal to UTF-16 order for these texts). */
function compareGoStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
