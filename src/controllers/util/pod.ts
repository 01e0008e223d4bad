/**
 * Pod predicates the workload controllers share, after upstream's
 * pkg/api/v1/pod (IsPodReady, IsPodAvailable, GetPodReadyCondition) and
 * pkg/controller/controller_utils.go (IsPodActive, FilterActivePods, PodKey).
 */
import type { Pod, PodCondition } from '../../client/objects.js';
import { parseRFC3339 } from '../../apimachinery/meta.js';

/** podutil.GetPodCondition: the pod's condition of `type`, if any. */
export function getPodCondition(pod: Pod, type: string): PodCondition | undefined {
  return pod.status?.conditions?.find((c) => c.type === type);
}

/** podutil.IsPodReady: the Ready condition is True. */
export function isPodReady(pod: Pod): boolean {
  return getPodCondition(pod, 'Ready')?.status === 'True';
}

/** Epoch ms of an RFC 3339 timestamp, or undefined when absent or malformed. */
export function timeOf(ts: string | null | undefined): number | undefined {
  if (!ts) return undefined;
  try {
    return parseRFC3339(ts);
  } catch {
    return undefined;
  }
}

/**
 * podutil.IsPodAvailable: Ready, and (with minReadySeconds > 0) Ready since more than
 * minReadySeconds before `nowMs` (strictly, as upstream's Time.Before).
 */
export function isPodAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  const c = getPodCondition(pod, 'Ready');
  if (c?.status !== 'True') return false;
  if (minReadySeconds <= 0) return true;
  const since = timeOf(c.lastTransitionTime);
  return since !== undefined && since + minReadySeconds * 1000 < nowMs;
}

/** The lastTransitionTime of the True Ready condition (ms), or undefined. */
export function podReadyTime(pod: Pod): number | undefined {
  const c = getPodCondition(pod, 'Ready');
  return c?.status === 'True' ? timeOf(c.lastTransitionTime) : undefined;
}

/** controller.IsPodActive: not Succeeded, not Failed, not being deleted. */
export function isPodActive(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata?.deletionTimestamp;
}

/** controller.FilterActivePods. */
export function filterActivePods(pods: readonly Pod[]): Pod[] {
  return pods.filter(isPodActive);
}

/** controller.PodKey: "namespace/name". */
export function podKey(pod: Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}
