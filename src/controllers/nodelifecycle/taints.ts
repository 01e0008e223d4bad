/**
 * Taints, tolerations and node conditions as the node lifecycle and taint eviction
 * controllers read them (upstream's pkg/util/taints, core/v1 helper GetMatchingTolerations,
 * Toleration.ToleratesTaint and controller/util/node GetNodeCondition).
 */
import type { Node, NodeCondition, Taint, Toleration } from '../../client/objects.js';

/** Well-known taint keys (k8s.io/api/core/v1 well_known_taints.go). */
export const TaintKeys = {
  notReady: 'node.kubernetes.io/not-ready',
  unreachable: 'node.kubernetes.io/unreachable',
  unschedulable: 'node.kubernetes.io/unschedulable',
  memoryPressure: 'node.kubernetes.io/memory-pressure',
  diskPressure: 'node.kubernetes.io/disk-pressure',
  networkUnavailable: 'node.kubernetes.io/network-unavailable',
  pidPressure: 'node.kubernetes.io/pid-pressure',
  outOfService: 'node.kubernetes.io/out-of-service',
} as const;

/** The NoExecute taint the node lifecycle controller puts on a node whose Ready is Unknown. */
export const UNREACHABLE_TAINT: Taint = { key: TaintKeys.unreachable, effect: 'NoExecute' };
/** The NoExecute taint the node lifecycle controller puts on a node whose Ready is False. */
export const NOT_READY_TAINT: Taint = { key: TaintKeys.notReady, effect: 'NoExecute' };

/**
 * TaintNodesByCondition: which NoSchedule taint a node condition in a given status maps to
 * (nodeConditionToTaintKeyStatusMap).
 */
export const nodeConditionToTaintKey: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  Ready: { False: TaintKeys.notReady, Unknown: TaintKeys.unreachable },
  MemoryPressure: { True: TaintKeys.memoryPressure },
  DiskPressure: { True: TaintKeys.diskPressure },
  NetworkUnavailable: { True: TaintKeys.networkUnavailable },
  PIDPressure: { True: TaintKeys.pidPressure },
};

/** The taint keys of {@link nodeConditionToTaintKey} (taintKeyToNodeConditionMap's keys). */
export const conditionTaintKeys: ReadonlySet<string> = new Set(
  Object.values(nodeConditionToTaintKey).flatMap((m) => Object.values(m)),
);

/** Taint.MatchTaint: same key and effect (value and timeAdded do not matter). */
export function matchTaint(a: Taint, b: Taint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

/** taints.TaintExists: a taint with the same key and effect is present. */
export function taintExists(taints: readonly Taint[] | undefined, t: Taint): boolean {
  return (taints ?? []).some((x) => matchTaint(x, t));
}

/** taints.TaintKeyExists. */
export function taintKeyExists(taints: readonly Taint[] | undefined, key: string): boolean {
  return (taints ?? []).some((x) => x.key === key);
}

/** The node's NoExecute taints (getNoExecuteTaints). */
export function noExecuteTaints(taints: readonly Taint[] | undefined): Taint[] {
  return (taints ?? []).filter((t) => t.effect === 'NoExecute');
}

/**
 * taints.TaintSetDiff: taints in `desired` not in `current` (to add) and taints in
 * `current` not in `desired` (to remove), compared by key and effect.
 */
export function taintSetDiff(desired: readonly Taint[], current: readonly Taint[]): { add: Taint[]; remove: Taint[] } {
  return {
    add: desired.filter((t) => !taintExists(current, t)),
    remove: current.filter((t) => !taintExists(desired, t)),
  };
}

/** Toleration.ToleratesTaint. An empty operator means Equal; an empty key with Exists tolerates every key. */
export function toleratesTaint(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  switch (tol.operator ?? '') {
    case '':
    case 'Equal':
      return (tol.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/**
 * v1helper.GetMatchingTolerations: whether every taint is tolerated, and for each taint the
 * first toleration that tolerates it.
 */
export function getMatchingTolerations(taints: readonly Taint[], tolerations: readonly Toleration[] | undefined): { allTolerated: boolean; used: Toleration[] } {
  if (taints.length === 0) return { allTolerated: true, used: [] };
  const tols = tolerations ?? [];
  const used: Toleration[] = [];
  for (const taint of taints) {
    const tol = tols.find((t) => toleratesTaint(t, taint));
    if (!tol) return { allTolerated: false, used: [] };
    used.push(tol);
  }
  return { allTolerated: true, used };
}

/**
 * getMinTolerationTime: the shortest tolerationSeconds among `tolerations` in ms, 0 when
 * there are none (or one is ≤ 0), and -1 when none carries tolerationSeconds (tolerated
 * forever).
 */
export function minTolerationTimeMs(tolerations: readonly Toleration[]): number {
  if (tolerations.length === 0) return 0;
  let min = Infinity;
  for (const t of tolerations) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}

/** GetNodeCondition: the node's condition of `type`, if any. */
export function getNodeCondition(node: Node, type: string): NodeCondition | undefined {
  return node.status?.conditions?.find((c) => c.type === type);
}

/** nodeutil.IsNodeReady: the Ready condition is True. */
export function isNodeReady(node: Node): boolean {
  return getNodeCondition(node, 'Ready')?.status === 'True';
}

/** The zone key of a node (nodetopology.GetZoneKey): "region:\x00:zone", "" without either label. */
export function zoneKeyOf(node: Node): string {
  const labels = node.metadata?.labels ?? {};
  const region = labels['topology.kubernetes.io/region'] ?? labels['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = labels['topology.kubernetes.io/zone'] ?? labels['failure-domain.beta.kubernetes.io/zone'] ?? '';
  if (region === '' && zone === '') return '';
  return `${region}:\x00:${zone}`;
}
