/**
 * Which pods a controller deletes first when it scales down: upstream's
 * ActivePodsWithRanks ordering (pkg/controller/controller_utils.go) with the
 * PodDeletionCost and LogarithmicScaleDown behaviour of v1.32 (both on by default).
 *
 * Sorting with {@link compareActivePodsWithRanks} puts the pods to delete first at the
 * front:
 *  1. unassigned (no nodeName) before assigned;
 *  2. Pending before Unknown before Running;
 *  3. not ready before ready;
 *  4. lower `controller.kubernetes.io/pod-deletion-cost` before higher;
 *  5. higher rank (more related pods on the same node) before lower;
 *  6. among ready pods, ready more recently before ready longer (timestamps compared in
 *     log2 buckets of their age, ties broken by UID);
 *  7. more container restarts before fewer;
 *  8. created more recently before older (log2 buckets again, ties by UID); a pod with no
 *     timestamp counts as newest.
 */
import type { Pod } from '../../client/objects.js';
import { isPodActive, isPodReady, podReadyTime, timeOf } from './pod.js';

/** The annotation that lets users order scale-down (lower cost goes first). */
export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

const phaseOrdinal: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** A pod with its rank (e.g. number of related pods on its node) for {@link sortActivePodsWithRanks}. */
export interface RankedPod {
  pod: Pod;
  rank: number;
}

/** helper.GetDeletionCostFromPodAnnotations: the int32 cost, 0 when absent or invalid. */
export function podDeletionCost(pod: Pod): number {
  const v = pod.metadata?.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -2147483648 && n <= 2147483647 ? n : 0;
}

/** Largest restart count among regular containers, and among restartable (sidecar) init containers. */
function maxContainerRestarts(pod: Pod): { regular: number; sidecar: number } {
  let regular = 0;
  let sidecar = 0;
  for (const c of pod.status?.containerStatuses ?? []) regular = Math.max(regular, c.restartCount ?? 0);
  const sidecars = new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always').map((c) => c.name));
  for (const c of pod.status?.initContainerStatuses ?? []) {
    if (sidecars.has(c.name)) sidecar = Math.max(sidecar, c.restartCount ?? 0);
  }
  return { regular, sidecar };
}

/** t1 after t2, with an absent time counting as latest (afterOrZero). */
function afterOrZero(t1: number | undefined, t2: number | undefined): boolean {
  if (t1 === undefined || t2 === undefined) return t1 === undefined;
  return t1 > t2;
}

/** floor(log2(age in ns)) of t1 minus that of t2; -1 for a non-positive age. */
function logarithmicRankDiff(t1: number, t2: number, now: number): number {
  const bucket = (t: number) => {
    const dNs = (now - t) * 1e6;
    return dNs > 0 ? Math.floor(Math.log2(dNs)) : -1;
  };
  return bucket(t1) - bucket(t2);
}

function uidLess(a: Pod, b: Pod): boolean {
  return (a.metadata?.uid ?? '') < (b.metadata?.uid ?? '');
}

/** `less(i, j)` of ActivePodsWithRanks: true when a should be deleted before b. */
export function activePodLess(a: RankedPod, b: RankedPod, nowMs: number | undefined): boolean {
  const pa = a.pod;
  const pb = b.pod;
  const na = pa.spec?.nodeName ?? '';
  const nb = pb.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '';
  const oa = phaseOrdinal[pa.status?.phase ?? ''] ?? 0;
  const ob = phaseOrdinal[pb.status?.phase ?? ''] ?? 0;
  if (oa !== ob) return oa < ob;
  const ra = isPodReady(pa);
  const rb = isPodReady(pb);
  if (ra !== rb) return !ra;
  const ca = podDeletionCost(pa);
  const cb = podDeletionCost(pb);
  if (ca !== cb) return ca < cb;
  if (a.rank !== b.rank) return a.rank > b.rank;
  if (ra && rb) {
    const ta = podReadyTime(pa);
    const tb = podReadyTime(pb);
    if (ta !== tb) {
      if (nowMs === undefined || ta === undefined || tb === undefined) return afterOrZero(ta, tb);
      const diff = logarithmicRankDiff(ta, tb, nowMs);
      return diff === 0 ? uidLess(pa, pb) : diff < 0;
    }
  }
  const ma = maxContainerRestarts(pa);
  const mb = maxContainerRestarts(pb);
  if (ma.regular !== mb.regular) return ma.regular > mb.regular;
  if (ma.sidecar !== mb.sidecar) return ma.sidecar > mb.sidecar;
  const cta = timeOf(pa.metadata?.creationTimestamp);
  const ctb = timeOf(pb.metadata?.creationTimestamp);
  if (cta !== ctb) {
    if (nowMs === undefined || cta === undefined || ctb === undefined) return afterOrZero(cta, ctb);
    const diff = logarithmicRankDiff(cta, ctb, nowMs);
    return diff === 0 ? uidLess(pa, pb) : diff < 0;
  }
  return false;
}

/** A comparator for Array.prototype.sort from {@link activePodLess}. */
export function compareActivePodsWithRanks(nowMs: number | undefined): (a: RankedPod, b: RankedPod) => number {
  return (a, b) => (activePodLess(a, b, nowMs) ? -1 : activePodLess(b, a, nowMs) ? 1 : 0);
}

/** Sorts pods (a copy) so those to delete first come first; ranks default to 0. */
export function sortActivePodsWithRanks(pods: readonly Pod[], ranks: readonly number[] | undefined, nowMs: number | undefined): Pod[] {
  const ranked = pods.map((pod, i) => ({ pod, rank: ranks?.[i] ?? 0 }));
  ranked.sort(compareActivePodsWithRanks(nowMs));
  return ranked.map((r) => r.pod);
}

/** controller.ActivePods order without ranks: the pods to delete first come first. */
export function sortActivePods(pods: readonly Pod[], nowMs: number | undefined): Pod[] {
  return sortActivePodsWithRanks(pods, undefined, nowMs);
}

/**
 * getPodsRankedByRelatedPodsOnSameNode: each pod's rank is the number of active related
 * pods (this controller's and its siblings') on the pod's node, so scale-down first
 * thins out nodes that carry several copies.
 */
export function ranksByRelatedPodsOnSameNode(podsToRank: readonly Pod[], relatedPods: readonly Pod[]): number[] {
  const onNode = new Map<string, number>();
  for (const p of relatedPods) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  return podsToRank.map((p) => onNode.get(p.spec?.nodeName ?? '') ?? 0);
}

/**
 * The upstream ReplicaSet controller's getPodsToDelete: the first `diff` pods in deletion
 * order (ranked by related pods on the same node).
 */
export function getPodsToDelete(filteredPods: readonly Pod[], relatedPods: readonly Pod[], diff: number, nowMs: number): Pod[] {
  if (diff >= filteredPods.length) return [...filteredPods];
  const sorted = sortActivePodsWithRanks(filteredPods, ranksByRelatedPodsOnSameNode(filteredPods, relatedPods), nowMs);
  return sorted.slice(0, diff);
}
