/**
 * Writes the node lifecycle and taint eviction controllers make (upstream's
 * pkg/controller/controller_utils.go AddOrUpdateTaintOnNode/RemoveTaintOffNode/
 * PatchNodeTaints, pkg/controller/util/node SwapNodeControllerTaint/MarkPodsNotReady/
 * RecordNodeStatusChange, and pkg/api/v1/pod UpdatePodCondition).
 */
import { isConflict, isNotFound } from '../../apimachinery/errors.js';
import { deepClone, formatRFC3339, PatchType } from '../../apimachinery/meta.js';
import { Resources, type Client, type EventRecorder } from '../../client/interface.js';
import type { Node, Pod, PodCondition, PodStatus, Taint } from '../../client/objects.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { matchTaint, taintExists } from './taints.js';

/** Attempts of a taint write on conflict (UpdateTaintBackoff's 5 steps). */
const TAINT_UPDATE_ATTEMPTS = 5;

/** A reference object for events about a node by name (RecordNodeEvent's ObjectReference). */
export function nodeRef(name: string, uid?: string): Node {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, ...(uid ? { uid } : {}) } };
}

/** A reference object for events about a pod known only by name. */
export function podRef(namespace: string, name: string): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace } };
}

/** RecordNodeStatusChange: `Node <name> status is now: <status>` (Normal, reason = status). */
export function recordNodeStatusChange(recorder: EventRecorder, node: Node, newStatus: string): void {
  const name = node.metadata?.name ?? '';
  recorder.event(nodeRef(name, node.metadata?.uid), 'Normal', newStatus, `Node ${name} status is now: ${newStatus}`);
}

/**
 * Writes spec.taints of `nodeName` from the stored node transformed by `change` (which
 * returns undefined when nothing needs to change), retrying on conflict with a fresh read.
 * The patch carries the read resourceVersion so a concurrent writer is never overwritten
 * (PatchNodeTaints).
 */
async function patchNodeTaints(client: Client, nodeName: string, change: (taints: Taint[]) => Taint[] | undefined): Promise<void> {
  const nodes = client.resource<Node>(Resources.nodes);
  for (let attempt = 1; ; attempt++) {
    const node = await nodes.get(nodeName, attempt === 1 ? { resourceVersion: '0' } : undefined);
    const next = change(node.spec?.taints ?? []);
    if (next === undefined) return;
    try {
      await nodes.patch(nodeName, PatchType.MergePatch, {
        metadata: { resourceVersion: node.metadata?.resourceVersion },
        spec: { taints: next.length > 0 ? next : null },
      });
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= TAINT_UPDATE_ATTEMPTS) throw err;
    }
  }
}

/**
 * AddOrUpdateTaintOnNode: adds each taint, replacing one with the same key and effect;
 * no write when every taint is already there exactly.
 */
export async function addOrUpdateTaintOnNode(client: Client, nodeName: string, taints: readonly Taint[]): Promise<void> {
  if (taints.length === 0) return;
  await patchNodeTaints(client, nodeName, (current) => {
    let out = [...current];
    let updated = false;
    for (const t of taints) {
      const i = out.findIndex((x) => matchTaint(x, t));
      if (i >= 0) {
        const same = out[i]!.value === t.value && (out[i]!.timeAdded ?? undefined) === (t.timeAdded ?? undefined);
        if (same) continue;
        out = out.map((x, j) => (j === i ? t : x));
      } else {
        out.push(t);
      }
      updated = true;
    }
    return updated ? out : undefined;
  });
}

/**
 * RemoveTaintOffNode: removes each taint (by key and effect). `node`, when given, short-cuts
 * the call when it carries none of them (saves a read, as upstream).
 */
export async function removeTaintOffNode(client: Client, nodeName: string, node: Node | undefined, taints: readonly Taint[]): Promise<void> {
  if (taints.length === 0) return;
  if (node && !taints.some((t) => taintExists(node.spec?.taints, t))) return;
  await patchNodeTaints(client, nodeName, (current) => {
    const out = current.filter((x) => !taints.some((t) => matchTaint(x, t)));
    return out.length === current.length ? undefined : out;
  });
}

/**
 * SwapNodeControllerTaint: adds `add` (stamped with timeAdded = now) and then removes
 * `remove`. Returns false (and logs) on failure, so callers retry on their next pass.
 */
export async function swapNodeControllerTaint(
  opts: { client: Client; clock: Clock; logger: Logger },
  add: readonly Taint[],
  remove: readonly Taint[],
  node: Node,
): Promise<boolean> {
  const name = node.metadata?.name ?? '';
  const now = formatRFC3339(opts.clock.now());
  try {
    await addOrUpdateTaintOnNode(opts.client, name, add.map((t) => ({ ...t, timeAdded: now })));
  } catch (err) {
    opts.logger.error({ node: name, err: String(err) }, 'Failed to instantly update taints on node');
    return false;
  }
  try {
    await removeTaintOffNode(opts.client, name, node, remove);
  } catch (err) {
    opts.logger.error({ node: name, err: String(err) }, 'Failed to instantly remove taints from node');
    return false;
  }
  return true;
}

/**
 * podutil.UpdatePodCondition: sets `cond` in status (mutating it), keeping the old
 * lastTransitionTime when the status did not change. Returns whether anything changed.
 */
export function updatePodCondition(status: PodStatus, cond: PodCondition, nowMs: number): boolean {
  const next: PodCondition = { ...cond, lastTransitionTime: formatRFC3339(nowMs) };
  const conditions = (status.conditions ??= []);
  const i = conditions.findIndex((c) => c.type === cond.type);
  if (i < 0) {
    conditions.push(next);
    return true;
  }
  const old = conditions[i]!;
  if (next.status === old.status) next.lastTransitionTime = old.lastTransitionTime;
  const equal =
    next.status === old.status &&
    (next.reason ?? '') === (old.reason ?? '') &&
    (next.message ?? '') === (old.message ?? '') &&
    (next.lastProbeTime ?? null) === (old.lastProbeTime ?? null) &&
    (next.lastTransitionTime ?? null) === (old.lastTransitionTime ?? null);
  conditions[i] = next;
  return !equal;
}

/**
 * MarkPodsNotReady: sets Ready=False on every pod of `pods` bound to nodeName whose Ready
 * condition is not False yet, and records NodeNotReady ("Node is not ready") on each.
 * Pods already gone are skipped; other failures are collected and thrown together.
 */
export async function markPodsNotReady(
  opts: { client: Client; recorder: EventRecorder; clock: Clock; logger: Logger },
  pods: readonly Pod[],
  nodeName: string,
): Promise<void> {
  const errs: unknown[] = [];
  for (const cached of pods) {
    if (cached.spec?.nodeName !== nodeName) continue;
    const ready = cached.status?.conditions?.find((c) => c.type === 'Ready');
    if (!ready) continue;
    const pod = deepClone(cached);
    if (!updatePodCondition(pod.status!, { ...ready, status: 'False' }, opts.clock.now())) continue;
    opts.logger.info({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}` }, 'Updating ready status of pod to false');
    try {
      await opts.client.resource<Pod>(Resources.pods, pod.metadata?.namespace).updateStatus(pod);
    } catch (err) {
      if (isNotFound(err)) continue;
      opts.logger.info({ pod: `${pod.metadata?.namespace}/${pod.metadata?.name}`, err: String(err) }, 'Failed to update status for pod');
      errs.push(err);
    }
    // Recorded after the update so the pod is known to exist (as upstream).
    opts.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
  }
  if (errs.length === 1) throw errs[0];
  if (errs.length > 1) throw new AggregateError(errs, errs.map(String).join(', '));
}
