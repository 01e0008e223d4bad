/**
 * StatefulSet identity, revision and readiness helpers, after upstream's
 * pkg/controller/statefulset/stateful_set_utils.go.
 *
 * A StatefulSet's pods have stable names `<set>-<ordinal>` (ordinals from
 * spec.ordinals.start, default 0), hostname = pod name and subdomain = spec.serviceName
 * (so `<pod>.<service>` resolves through a headless Service), and labels
 * statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and
 * controller-revision-hash (the name of the ControllerRevision they were made from).
 *
 * Departure from upstream: PersistentVolumeClaims are not served, so volumeClaimTemplates
 * get no claims; each template becomes an emptyDir volume of the same name in the pod
 * (so the containers' volumeMounts resolve and the pod runs, without persistence).
 */
import type { ControllerRevision, Pod, StatefulSet } from '../../client/objects.js';
import { deepClone, type OwnerReference } from '../../apimachinery/meta.js';
import { getPodFromTemplate, isPodAvailable, isPodReady } from '../util/index.js';
import {
  CONTROLLER_REVISION_HASH_LABEL_KEY, newControllerRevision, templateFromRevision, templatePatch,
} from '../history/index.js';

/** apps.StatefulSetPodNameLabel. */
export const STATEFULSET_POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
/** apps.PodIndexLabel (the PodIndexLabel feature, on by default since 1.28). */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** apps.StatefulSetRevisionLabel. */
export const STATEFULSET_REVISION_LABEL = CONTROLLER_REVISION_HASH_LABEL_KEY;

/** The controller reference fields of a StatefulSet. */
export const statefulSetKind = { apiVersion: 'apps/v1', kind: 'StatefulSet' } as const;

const statefulPodRegex = /^(.*)-([0-9]+)$/;

/** getParentNameAndOrdinal: `web-3` → web, 3; ordinal -1 when the name has none. */
export function getParentNameAndOrdinal(pod: Pod): { parent: string; ordinal: number } {
  const m = statefulPodRegex.exec(pod.metadata?.name ?? '');
  if (!m) return { parent: '', ordinal: -1 };
  const n = Number(m[2]);
  return { parent: m[1]!, ordinal: Number.isSafeInteger(n) && n <= 0x7fffffff ? n : -1 };
}

/** getOrdinal: the pod's ordinal, -1 when it has none. */
export function getOrdinal(pod: Pod): number {
  return getParentNameAndOrdinal(pod).ordinal;
}

/** getPodName: `<set>-<ordinal>`. */
export function getPodName(set: StatefulSet, ordinal: number): string {
  return `${set.metadata?.name ?? ''}-${ordinal}`;
}

/** isMemberOf: the pod's name says it belongs to set. */
export function isMemberOf(set: StatefulSet, pod: Pod): boolean {
  return getParentNameAndOrdinal(pod).parent === set.metadata?.name;
}

/** spec.replicas (default 1). */
export function replicasOf(set: StatefulSet): number {
  return set.spec?.replicas ?? 1;
}

/** getStartOrdinal: spec.ordinals.start (default 0). */
export function getStartOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

/** getEndOrdinal: the last ordinal in range (start + replicas - 1). */
export function getEndOrdinal(set: StatefulSet): number {
  return getStartOrdinal(set) + replicasOf(set) - 1;
}

/** podInOrdinalRange: the pod's ordinal lies in [start, end]. */
export function podInOrdinalRange(pod: Pod, set: StatefulSet): boolean {
  const ordinal = getOrdinal(pod);
  return ordinal >= getStartOrdinal(set) && ordinal <= getEndOrdinal(set);
}

/** identityMatches: name, namespace and identity labels are the set's for the pod's ordinal. */
export function identityMatches(set: StatefulSet, pod: Pod): boolean {
  const { parent, ordinal } = getParentNameAndOrdinal(pod);
  const labels = pod.metadata?.labels ?? {};
  return ordinal >= 0 &&
    parent === set.metadata?.name &&
    pod.metadata?.name === getPodName(set, ordinal) &&
    pod.metadata?.namespace === set.metadata?.namespace &&
    labels[STATEFULSET_POD_NAME_LABEL] === pod.metadata?.name &&
    labels[POD_INDEX_LABEL] === String(ordinal);
}

/** updateIdentity: sets name, namespace and identity labels from the ordinal. Mutates pod. */
export function updateIdentity(set: StatefulSet, pod: Pod): void {
  const ordinal = getOrdinal(pod);
  pod.metadata ??= {};
  pod.metadata.name = getPodName(set, ordinal);
  pod.metadata.namespace = set.metadata?.namespace;
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [STATEFULSET_POD_NAME_LABEL]: pod.metadata.name, [POD_INDEX_LABEL]: String(ordinal) };
}

/** initIdentity: updateIdentity plus the immutable hostname and subdomain. Mutates pod. */
function initIdentity(set: StatefulSet, pod: Pod): void {
  updateIdentity(set, pod);
  pod.spec ??= { containers: [] };
  pod.spec.hostname = pod.metadata?.name;
  if (set.spec?.serviceName) pod.spec.subdomain = set.spec.serviceName;
}

/** The names of the volumes volumeClaimTemplates stand for. */
function claimTemplateNames(set: StatefulSet): string[] {
  return (set.spec?.volumeClaimTemplates ?? []).map((c) => c.metadata?.name ?? '').filter((n) => n !== '');
}

/** storageMatches: every claim template has its volume in the pod (see the module comment). */
export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  if (getOrdinal(pod) < 0) return false;
  const volumes = new Set((pod.spec?.volumes ?? []).map((v) => v.name));
  return claimTemplateNames(set).every((n) => volumes.has(n));
}

/** updateStorage: adds an emptyDir volume for each claim template the pod lacks. Mutates pod. */
export function updateStorage(set: StatefulSet, pod: Pod): void {
  pod.spec ??= { containers: [] };
  const have = new Set((pod.spec.volumes ?? []).map((v) => v.name));
  const missing = claimTemplateNames(set).filter((n) => !have.has(n));
  if (missing.length === 0) return;
  pod.spec.volumes = [...(pod.spec.volumes ?? []), ...missing.map((name) => ({ name, emptyDir: {} }))];
}

/** The set's controller reference. */
export function statefulSetControllerRef(set: StatefulSet): OwnerReference {
  return { ...statefulSetKind, name: set.metadata?.name ?? '', uid: set.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** newStatefulSetPod: the pod for ordinal from the set's template, with its identity and storage. */
export function newStatefulSetPod(set: StatefulSet, ordinal: number): Pod {
  const owner = { ...statefulSetKind, metadata: { name: set.metadata?.name } };
  const pod = getPodFromTemplate(set.spec?.template ?? {}, owner, statefulSetControllerRef(set));
  pod.metadata!.name = getPodName(set, ordinal);
  initIdentity(set, pod);
  updateStorage(set, pod);
  return pod;
}

/** getPodRevision: the controller-revision-hash label ("" when absent). */
export function getPodRevision(pod: Pod): string {
  return pod.metadata?.labels?.[STATEFULSET_REVISION_LABEL] ?? '';
}

/** setPodRevision. Mutates pod. */
export function setPodRevision(pod: Pod, revision: string): void {
  pod.metadata ??= {};
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [STATEFULSET_REVISION_LABEL]: revision };
}

/**
 * newVersionedStatefulSetPod: the pod for ordinal at the current revision when a rolling
 * update has not reached it yet (below the partition), else at the update revision.
 */
export function newVersionedStatefulSetPod(
  currentSet: StatefulSet,
  updateSet: StatefulSet,
  currentRevision: string,
  updateRevision: string,
  ordinal: number,
): Pod {
  const strategy = currentSet.spec?.updateStrategy;
  const start = getStartOrdinal(currentSet);
  const rollingUpdate = strategy?.rollingUpdate;
  // Go's precedence in upstream's condition: (RollingUpdate && nil-rollingUpdate case) || partition case.
  const atCurrent = ((strategy?.type ?? 'RollingUpdate') === 'RollingUpdate' && !rollingUpdate && ordinal < start + (currentSet.status?.currentReplicas ?? 0)) ||
    (rollingUpdate !== undefined && ordinal < start + (rollingUpdate.partition ?? 0));
  const pod = newStatefulSetPod(atCurrent ? currentSet : updateSet, ordinal);
  setPodRevision(pod, atCurrent ? currentRevision : updateRevision);
  return pod;
}

/** newRevision: the set's template as a ControllerRevision numbered `revision`. */
export function newRevision(set: StatefulSet, revision: number, collisionCount: number): ControllerRevision {
  return newControllerRevision({
    owner: set,
    controllerRef: statefulSetControllerRef(set),
    labels: set.spec?.template?.metadata?.labels,
    data: templatePatch(set),
    revision,
    collisionCount,
  });
}

/** ApplyRevision: a copy of set with the template the revision records. */
export function applyRevision(set: StatefulSet, revision: ControllerRevision): StatefulSet {
  const clone = deepClone(set);
  const template = templateFromRevision(revision);
  if (template && clone.spec) clone.spec.template = template;
  return clone;
}

/**
 * isCreated: the pod exists in the API. Upstream tests status.phase (which the API server
 * sets to Pending on create); a pod we have only built has neither phase nor UID.
 */
export function isCreated(pod: Pod): boolean {
  return (pod.status?.phase ?? '') !== '' || (pod.metadata?.uid ?? '') !== '';
}

/** isPending: phase Pending. */
export function isPending(pod: Pod): boolean {
  return pod.status?.phase === 'Pending';
}

/** isFailed: phase Failed. */
export function isFailed(pod: Pod): boolean {
  return pod.status?.phase === 'Failed';
}

/** isSucceeded: phase Succeeded. */
export function isSucceeded(pod: Pod): boolean {
  return pod.status?.phase === 'Succeeded';
}

/** isTerminating: deletionTimestamp is set. */
export function isTerminating(pod: Pod): boolean {
  return !!pod.metadata?.deletionTimestamp;
}

/** isRunningAndReady: phase Running and the Ready condition True. */
export function isRunningAndReady(pod: Pod): boolean {
  return pod.status?.phase === 'Running' && isPodReady(pod);
}

/** isRunningAndAvailable: running, and ready for at least minReadySeconds. */
export function isRunningAndAvailable(pod: Pod, minReadySeconds: number, nowMs: number): boolean {
  return pod.status?.phase === 'Running' && isPodAvailable(pod, minReadySeconds, nowMs);
}

/** isHealthy: running and ready and not being deleted. */
export function isHealthy(pod: Pod): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}

/** allowsBurst: Parallel pod management. */
export function allowsBurst(set: StatefulSet): boolean {
  return set.spec?.podManagementPolicy === 'Parallel';
}
