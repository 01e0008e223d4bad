/**
 * DaemonSet placement and pod-shape helpers, after upstream's pkg/controller/daemon/util
 * (daemonset_util.go) and the predicates of daemon_controller.go.
 *
 * Which nodes a DaemonSet runs on is decided here, not by the scheduler: a node is
 * eligible when the pod would fit it by spec.nodeName, nodeSelector and required node
 * affinity, and it tolerates the node's NoSchedule and NoExecute taints — counting the
 * tolerations every daemon pod gets automatically ({@link addOrUpdateDaemonPodTolerations}).
 * Pods are then created unbound with a required node affinity on `metadata.name`
 * (upstream's way since 1.12), and the scheduler binds them.
 */
import type {
  Affinity, Node, NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, Pod, PodSpec, PodTemplateSpec, Taint, Toleration,
} from '../../client/objects.js';
import type { DaemonSet } from '../../client/objects.js';
import { getScaledValueFromIntOrPercent } from '../../apimachinery/intstr.js';
import { deepClone } from '../../apimachinery/meta.js';
import { timeOf } from '../util/index.js';
import { CONTROLLER_REVISION_HASH_LABEL_KEY } from '../history/index.js';

/** extensions.DaemonSetTemplateGenerationKey: the pod label carrying the template generation. */
export const DAEMONSET_TEMPLATE_GENERATION_KEY = 'pod-template-generation';

/** appsv1.DeprecatedTemplateGeneration: the DaemonSet annotation the API server maintains. */
export const DEPRECATED_TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

/** metav1.ObjectNameField: the only field node selectors' matchFields may use. */
export const OBJECT_NAME_FIELD = 'metadata.name';

/** Well-known taints (k8s.io/api/core/v1 well_known_taints.go). */
export const TaintKeys = {
  notReady: 'node.kubernetes.io/not-ready',
  unreachable: 'node.kubernetes.io/unreachable',
  diskPressure: 'node.kubernetes.io/disk-pressure',
  memoryPressure: 'node.kubernetes.io/memory-pressure',
  pidPressure: 'node.kubernetes.io/pid-pressure',
  unschedulable: 'node.kubernetes.io/unschedulable',
  networkUnavailable: 'node.kubernetes.io/network-unavailable',
} as const;

// ---------------------------------------------------------------------------------------
// Tolerations and taints (k8s.io/api/core/v1 toleration.go, component-helpers' taints).

/** Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

/**
 * FindMatchingUntoleratedTaint: the first taint passing `filter` that no toleration
 * tolerates, or undefined when all are tolerated.
 */
export function findMatchingUntoleratedTaint(
  taints: readonly Taint[] | undefined,
  tolerations: readonly Toleration[] | undefined,
  filter: (t: Taint) => boolean,
): Taint | undefined {
  for (const taint of taints ?? []) {
    if (!filter(taint)) continue;
    if (!(tolerations ?? []).some((t) => toleratesTaint(t, taint))) return taint;
  }
  return undefined;
}

/** Toleration.MatchToleration: same key, operator, value and effect (an empty operator is Equal). */
function matchToleration(a: Toleration, b: Toleration): boolean {
  return (a.key ?? '') === (b.key ?? '') &&
    (a.operator || 'Equal') === (b.operator || 'Equal') &&
    (a.value ?? '') === (b.value ?? '') &&
    (a.effect ?? '') === (b.effect ?? '');
}

/**
 * v1helper.AddOrUpdateTolerationInPodSpec: replaces a matching toleration that differs
 * (e.g. in tolerationSeconds) or appends. Mutates spec (callers pass their own copy).
 */
function addOrUpdateToleration(spec: PodSpec, toleration: Toleration): void {
  const tolerations = spec.tolerations ?? [];
  const i = tolerations.findIndex((t) => matchToleration(t, toleration));
  if (i < 0) {
    spec.tolerations = [...tolerations, toleration];
    return;
  }
  const cur = tolerations[i]!;
  if (cur.tolerationSeconds === toleration.tolerationSeconds) return;
  spec.tolerations = tolerations.map((t, j) => (j === i ? toleration : t));
}

/**
 * util.AddOrUpdateDaemonPodTolerations: daemon pods tolerate, with no time limit, the
 * not-ready and unreachable NoExecute taints (so node problems never evict them), the
 * node-condition NoSchedule taints (disk/memory/pid pressure, unschedulable), and, for
 * hostNetwork pods, network-unavailable. Mutates spec.
 */
export function addOrUpdateDaemonPodTolerations(spec: PodSpec): void {
  addOrUpdateToleration(spec, { key: TaintKeys.notReady, operator: 'Exists', effect: 'NoExecute' });
  addOrUpdateToleration(spec, { key: TaintKeys.unreachable, operator: 'Exists', effect: 'NoExecute' });
  addOrUpdateToleration(spec, { key: TaintKeys.diskPressure, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: TaintKeys.memoryPressure, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: TaintKeys.pidPressure, operator: 'Exists', effect: 'NoSchedule' });
  addOrUpdateToleration(spec, { key: TaintKeys.unschedulable, operator: 'Exists', effect: 'NoSchedule' });
  if (spec.hostNetwork) {
    addOrUpdateToleration(spec, { key: TaintKeys.networkUnavailable, operator: 'Exists', effect: 'NoSchedule' });
  }
}

// ---------------------------------------------------------------------------------------
// Node selectors and required node affinity (component-helpers/scheduling/corev1/nodeaffinity).

function requirementMatches(req: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      if (value === undefined || values.length !== 1) return false;
      if (!/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0]!)) return false;
      const have = BigInt(value);
      const want = BigInt(values[0]!);
      return req.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/**
 * Whether a node selector term matches the node: every matchExpressions requirement on
 * its labels and every matchFields requirement (metadata.name only) holds. A term with
 * neither matches nothing, as upstream.
 */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  for (const req of exprs) {
    const v = Object.prototype.hasOwnProperty.call(labels, req.key) ? labels[req.key] : undefined;
    if (!requirementMatches(req, v)) return false;
  }
  for (const req of fields) {
    if (req.key !== OBJECT_NAME_FIELD) return false;
    if (req.operator !== 'In' && req.operator !== 'NotIn') return false;
    if (!requirementMatches(req, node.metadata?.name ?? '')) return false;
  }
  return true;
}

/** NodeSelector: the terms are ORed. */
export function nodeSelectorMatches(sel: NodeSelector, node: Node): boolean {
  return (sel.nodeSelectorTerms ?? []).some((t) => nodeSelectorTermMatches(t, node));
}

/**
 * GetRequiredNodeAffinity(pod).Match(node): the pod's nodeSelector map and its required
 * node affinity both hold for node.
 */
export function podFitsNodeAffinity(spec: PodSpec, node: Node): boolean {
  const labels = node.metadata?.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) {
    if (labels[k] !== v) return false;
  }
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required && !nodeSelectorMatches(required, node)) return false;
  return true;
}

/**
 * util.ReplaceDaemonSetPodNodeNameNodeAffinity: the affinity with its required node
 * selector replaced by one term, `metadata.name In [nodeName]`, so the scheduler places
 * the pod on that node only. The other terms were already checked by the controller.
 */
export function replaceDaemonSetPodNodeNameNodeAffinity(affinity: Affinity | undefined, nodeName: string): Affinity {
  const terms: NodeSelectorTerm[] = [{ matchFields: [{ key: OBJECT_NAME_FIELD, operator: 'In', values: [nodeName] }] }];
  const out: Affinity = affinity ? deepClone(affinity) : {};
  const nodeAffinity = out.nodeAffinity ?? {};
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = {
    ...(nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? {}),
    nodeSelectorTerms: terms,
  };
  out.nodeAffinity = nodeAffinity;
  return out;
}

/**
 * util.GetTargetNodeName: spec.nodeName, else the single value of a `metadata.name In`
 * matchFields requirement of the required node affinity; undefined when neither says.
 */
export function getTargetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const req of term.matchFields ?? []) {
      if (req.key === OBJECT_NAME_FIELD && req.operator === 'In') {
        return (req.values ?? []).length === 1 ? req.values![0] : undefined;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// Eligibility (daemon_controller.go NodeShouldRunDaemonPod / predicates / NewPod).

/** The template generation from the DaemonSet's annotation, or undefined when absent or malformed. */
export function templateGeneration(ds: DaemonSet): number | undefined {
  const v = ds.metadata?.annotations?.[DEPRECATED_TEMPLATE_GENERATION_ANNOTATION];
  if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
  return Number.parseInt(v, 10);
}

/** NewPod: the pod the DaemonSet would run on nodeName (with the daemon tolerations), for predicates. */
export function newDaemonPod(ds: DaemonSet, nodeName: string): Pod {
  const spec = deepClone(ds.spec?.template?.spec ?? { containers: [] });
  spec.nodeName = nodeName;
  addOrUpdateDaemonPodTolerations(spec);
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { ...deepClone(ds.spec?.template?.metadata ?? {}), namespace: ds.metadata?.namespace },
    spec,
  };
}

/** What {@link nodeShouldRunDaemonPod} decides for one node. */
export interface NodePlacement {
  /** A daemon pod should be created on the node if it has none. */
  shouldRun: boolean;
  /** An existing daemon pod may stay (it tolerates the node's NoExecute taints). */
  shouldContinueRunning: boolean;
}

/**
 * NodeShouldRunDaemonPod: shouldRun when the pod fits the node by name, affinity and
 * taints; shouldContinueRunning also when only NoSchedule taints are not tolerated (they
 * keep new pods off but do not evict running ones).
 */
export function nodeShouldRunDaemonPod(node: Node, ds: DaemonSet): NodePlacement {
  const name = node.metadata?.name ?? '';
  const templateNodeName = ds.spec?.template?.spec?.nodeName;
  if (templateNodeName && templateNodeName !== name) return { shouldRun: false, shouldContinueRunning: false };
  const pod = newDaemonPod(ds, name);
  if (!podFitsNodeAffinity(pod.spec!, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints = node.spec?.taints;
  const tolerations = pod.spec?.tolerations;
  const blocking = findMatchingUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute' || t.effect === 'NoSchedule');
  if (!blocking) return { shouldRun: true, shouldContinueRunning: true };
  const evicting = findMatchingUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute');
  return { shouldRun: false, shouldContinueRunning: evicting === undefined };
}

// ---------------------------------------------------------------------------------------
// Pod templates, revisions and update accounting.

/**
 * util.CreatePodTemplate: the DaemonSet's template with the daemon tolerations and the
 * pod-template-generation and controller-revision-hash labels.
 */
export function createPodTemplate(template: PodTemplateSpec | undefined, generation: number | undefined, hash: string): PodTemplateSpec {
  const out: PodTemplateSpec = deepClone(template ?? {});
  out.spec ??= { containers: [] };
  addOrUpdateDaemonPodTolerations(out.spec);
  const labels = { ...(out.metadata?.labels ?? {}) };
  if (generation !== undefined) labels[DAEMONSET_TEMPLATE_GENERATION_KEY] = String(generation);
  if (hash) labels[CONTROLLER_REVISION_HASH_LABEL_KEY] = hash;
  out.metadata = { ...(out.metadata ?? {}), labels };
  return out;
}

/**
 * util.IsPodUpdated: the pod was made from the current template — its revision hash is
 * the current one, or (for pods older than revisions) its template generation is.
 */
export function isPodUpdated(pod: Pod, hash: string, generation: number | undefined): boolean {
  const labels = pod.metadata?.labels ?? {};
  const templateMatches = generation !== undefined && labels[DAEMONSET_TEMPLATE_GENERATION_KEY] === String(generation);
  const hashMatches = hash.length > 0 && labels[CONTROLLER_REVISION_HASH_LABEL_KEY] === hash;
  return hashMatches || templateMatches;
}

/** util.AllowsSurge: a RollingUpdate with a non-zero maxSurge. */
export function allowsSurge(ds: DaemonSet): boolean {
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate' || !ru) return false;
  try {
    return getScaledValueFromIntOrPercent(ru.maxSurge ?? 0, 1, true) !== 0;
  } catch {
    return false;
  }
}

/**
 * util.UnavailableCount / SurgeCount: maxUnavailable and maxSurge scaled against the
 * number of nodes that should run the pod (percentages round up). Throws on a malformed
 * value. maxUnavailable defaults to 1 and maxSurge to 0, as the API server's defaults.
 */
export function updateCounts(ds: DaemonSet, numberToSchedule: number): { maxUnavailable: number; maxSurge: number } {
  if ((ds.spec?.updateStrategy?.type ?? 'RollingUpdate') !== 'RollingUpdate') return { maxUnavailable: 0, maxSurge: 0 };
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  return {
    maxUnavailable: getScaledValueFromIntOrPercent(ru?.maxUnavailable ?? 1, numberToSchedule, true),
    maxSurge: getScaledValueFromIntOrPercent(ru?.maxSurge ?? 0, numberToSchedule, true),
  };
}

/**
 * podByCreationTimestampAndPhase: scheduled pods first, then oldest first, then by name.
 * The first pod of a node's sorted list is the one status counts.
 */
export function comparePodsByCreationTimestampAndPhase(a: Pod, b: Pod): number {
  const sa = (a.spec?.nodeName ?? '') !== '';
  const sb = (b.spec?.nodeName ?? '') !== '';
  if (sa !== sb) return sa ? -1 : 1;
  const ta = timeOf(a.metadata?.creationTimestamp) ?? 0;
  const tb = timeOf(b.metadata?.creationTimestamp) ?? 0;
  if (ta !== tb) return ta - tb;
  const na = a.metadata?.name ?? '';
  const nb = b.metadata?.name ?? '';
  return na < nb ? -1 : na > nb ? 1 : 0;
}
