/**
 * DefaultPreemption (PostFilter): when no node fits, looks for a node where evicting
 * lower-priority pods would make room, deletes the fewest/lowest such victims and
 * nominates that node for the pod. When nothing can help it says why, in upstream's
 * words ("preemption: 0/3 nodes are available: 3 Preemption is not helpful for
 * scheduling.").
 *
 * Simplifications: PodDisruptionBudgets are not consulted, every potential node is dry-run
 * (no random offset / candidate cap), and nominated pods are not reserved on the nominated
 * node by later cycles.
 */
import { PatchType } from '../../../apimachinery/meta.js';
import { Resources, type EventRecorder } from '../../../client/interface.js';
import type { Pod } from '../../../client/objects.js';
import { fitErrorMessage, newDiagnosis } from '../../framework/fiterror.js';
import { podPriority } from '../../framework/helpers.js';
import type { NodeInfo, PodInfo } from '../../framework/nodeinfo.js';
import type { Handle, PluginFactory } from '../../framework/registry.js';
import { Code, CycleState, newStatus, SUCCESS, type PostFilterPlugin, type PostFilterResult, type Status } from '../../framework/types.js';

export const NAME = 'DefaultPreemption';
export const NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_VICTIMS = 'No preemption victims found for incoming pod';

/** config.DefaultPreemptionArgs (accepted; every node is considered regardless). */
export interface DefaultPreemptionArgs {
  minCandidateNodesPercentage?: number;
  minCandidateNodesAbsolute?: number;
}

interface Candidate {
  node: string;
  victims: PodInfo[];
}

function moreImportant(a: PodInfo, b: PodInfo): boolean {
  const pa = podPriority(a.pod);
  const pb = podPriority(b.pod);
  if (pa !== pb) return pa > pb;
  const ta = a.pod.status?.startTime ?? '';
  const tb = b.pod.status?.startTime ?? '';
  return ta < tb;
}

export class DefaultPreemption implements PostFilterPlugin {
  readonly name = NAME;
  /** Set by the scheduler: where "Preempted" events go. */
  recorder: EventRecorder | undefined;

  constructor(private readonly handle: Handle) {}

  eventsToRegister(): readonly [] {
    return [];
  }

  async postFilter(state: CycleState, pod: Pod, statuses: ReadonlyMap<string, Status>): Promise<{ result?: PostFilterResult; status: Status }> {
    if (pod.spec?.preemptionPolicy === 'Never') {
      return { status: newStatus(Code.Unschedulable, 'preemption: not eligible due to preemptionPolicy=Never.') };
    }
    const snap = this.handle.snapshot();
    // Victims of an earlier preemption for this pod are still terminating: wait for them.
    const nominated = pod.status?.nominatedNodeName;
    const nominatedStatus = nominated ? statuses.get(nominated) : undefined;
    if (nominated && nominatedStatus?.code !== Code.UnschedulableAndUnresolvable) {
      const ni = snap.get(nominated);
      const prio = podPriority(pod);
      if (ni?.pods.some((p) => podPriority(p.pod) < prio && terminatingByPreemption(p.pod))) {
        return { status: newStatus(Code.Unschedulable, 'preemption: not eligible due to a terminating pod on the nominated node.') };
      }
    }
    const all = snap.list();
    const d = newDiagnosis();
    const potential: NodeInfo[] = [];
    for (const n of all) {
      const s = statuses.get(n.name);
      if (s && s.code === Code.UnschedulableAndUnresolvable) d.nodeToStatus.set(n.name, newStatus(Code.UnschedulableAndUnresolvable, NOT_HELPFUL));
      else potential.push(n);
    }
    const candidates: Candidate[] = [];
    for (const n of potential) {
      const r = this.selectVictimsOnNode(state, pod, n);
      if (r.status.isSuccess()) candidates.push({ node: n.name, victims: r.victims });
      else d.nodeToStatus.set(n.name, r.status);
    }
    if (candidates.length === 0) {
      return { result: { nominatedNodeName: '' }, status: newStatus(Code.Unschedulable, `preemption: ${fitErrorMessage(d.nodeToStatus.size, d)}`) };
    }
    const best = pickOne(candidates);
    await this.prepareCandidate(best, pod);
    return { result: { nominatedNodeName: best.node }, status: SUCCESS };
  }

  /** The fewest, least important pods to remove from nodeInfo so pod fits (on a copy). */
  private selectVictimsOnNode(state0: CycleState, pod: Pod, nodeInfo0: NodeInfo): { victims: PodInfo[]; status: Status } {
    const fw = this.handle.framework();
    const state = state0.clone();
    const nodeInfo = nodeInfo0.clone();
    const prio = podPriority(pod);
    const potential = nodeInfo.pods.filter((p) => podPriority(p.pod) < prio);
    if (potential.length === 0) return { victims: [], status: newStatus(Code.UnschedulableAndUnresolvable, NO_VICTIMS) };
    for (const p of potential) {
      nodeInfo.removePod(p);
      fw.runPreFilterExtensionRemovePod(state, pod, p, nodeInfo);
    }
    const fits = fw.runFilterPlugins(state, pod, nodeInfo);
    if (!fits.isSuccess()) return { victims: [], status: fits };
    potential.sort((a, b) => (moreImportant(a, b) ? -1 : moreImportant(b, a) ? 1 : 0));
    const victims: PodInfo[] = [];
    for (const p of potential) {
      nodeInfo.addPod(p);
      fw.runPreFilterExtensionAddPod(state, pod, p, nodeInfo);
      if (!fw.runFilterPlugins(state, pod, nodeInfo).isSuccess()) {
        nodeInfo.removePod(p);
        fw.runPreFilterExtensionRemovePod(state, pod, p, nodeInfo);
        victims.push(p);
      }
    }
    return { victims, status: SUCCESS };
  }

  private async prepareCandidate(c: Candidate, pod: Pod): Promise<void> {
    const client = this.handle.client;
    if (!client) return;
    const schedulerName = pod.spec?.schedulerName ?? 'default-scheduler';
    await Promise.all(c.victims.map(async (v) => {
      const pods = client.resource<Pod>(Resources.pods, v.namespace);
      const conditions = (v.pod.status?.conditions ?? []).filter((x) => x.type !== 'DisruptionTarget');
      conditions.push({
        type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler',
        message: `${schedulerName}: preempting to accommodate a higher priority pod`,
        lastTransitionTime: new Date(this.handle.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      });
      try {
        await pods.patch(v.name, PatchType.MergePatch, { status: { conditions } }, { subresource: 'status' });
      } catch (e) {
        this.handle.logger.debug({ err: e, pod: v.key }, 'setting DisruptionTarget on victim failed');
      }
      try {
        await pods.delete(v.name, {});
        this.recorder?.event(v.pod, 'Normal', 'Preempted', `Preempted by pod ${pod.metadata?.uid ?? ''} on node ${c.node}`);
      } catch (e) {
        this.handle.logger.warn({ err: e, pod: v.key }, 'deleting preemption victim failed');
      }
    }));
  }
}

/** A pod the scheduler is evicting: deleting, with DisruptionTarget=True/PreemptionByScheduler. */
function terminatingByPreemption(p: Pod): boolean {
  if (!p.metadata?.deletionTimestamp) return false;
  const c = p.status?.conditions?.find((x) => x.type === 'DisruptionTarget');
  return c?.status === 'True' && c.reason === 'PreemptionByScheduler';
}

function pickOne(cands: Candidate[]): Candidate {
  const highest = (c: Candidate) => c.victims.reduce((m, v) => Math.max(m, podPriority(v.pod)), -Infinity);
  const sum = (c: Candidate) => c.victims.reduce((m, v) => m + podPriority(v.pod) + 2 ** 31, 0);
  let best = cands[0]!;
  for (const c of cands.slice(1)) {
    const hb = highest(best);
    const hc = highest(c);
    if (hc !== hb) {
      if (hc < hb) best = c;
      continue;
    }
    const sb = sum(best);
    const sc = sum(c);
    if (sc !== sb) {
      if (sc < sb) best = c;
      continue;
    }
    if (c.victims.length < best.victims.length) best = c;
  }
  return best;
}

export const factory: PluginFactory = (_args, handle) => new DefaultPreemption(handle);
