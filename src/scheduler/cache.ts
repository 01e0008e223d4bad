/**
 * The scheduler cache (upstream pkg/scheduler/backend/cache): every node's NodeInfo with
 * the pods on it, fed by the node and pod informers, plus the pods the scheduler has
 * *assumed* onto a node — counted right after Reserve, before the API server has the
 * binding, so the next pod sees the node's resources as taken. An assumed pod is
 * confirmed when the informer delivers it with spec.nodeName set, and forgotten if its
 * binding fails.
 *
 * The cache is also the cycle's snapshot: scheduling cycles run synchronously on one
 * thread, so no informer event can change it between a cycle's Filter and Reserve.
 */
import type { Node, Pod } from '../client/objects.js';
import { hasPodAffinity, NodeInfo, podInfoOf, type ImageStateSummary, type NodeInfoLister, type PodInfo } from './framework/nodeinfo.js';

interface PodState {
  pi: PodInfo;
  nodeName: string;
  assumed: boolean;
  bindingFinished: boolean;
}

interface ImageState {
  summary: ImageStateSummary;
  nodes: Set<string>;
}

/** A node entry: NodeInfo and whether the Node object itself is known yet. */
interface NodeEntry {
  info: NodeInfo;
  hasNode: boolean;
}

/** Whether a pod still occupies its node (not Succeeded/Failed). */
export function podIsTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Nodes and the pods placed on them, assumed or confirmed (see the module comment). */
export class SchedulerCache implements NodeInfoLister {
  private readonly nodes = new Map<string, NodeEntry>();
  private readonly pods = new Map<string, PodState>();
  private readonly images = new Map<string, ImageState>();
  private nodeList: NodeInfo[] | undefined;
  private affinityList: NodeInfo[] | undefined;
  private antiAffinityList: NodeInfo[] | undefined;
  /** Bumped when any node's pods with (anti-)affinity may have changed. */
  private affinityDirty = true;

  // -- NodeInfoLister --------------------------------------------------------------------

  /** Every known node, in a stable order (insertion order). */
  list(): readonly NodeInfo[] {
    if (!this.nodeList) {
      this.nodeList = [];
      for (const e of this.nodes.values()) if (e.hasNode) this.nodeList.push(e.info);
    }
    return this.nodeList;
  }

  get(name: string): NodeInfo | undefined {
    const e = this.nodes.get(name);
    return e?.hasNode ? e.info : undefined;
  }

  havePodsWithAffinityList(): readonly NodeInfo[] {
    this.refreshAffinity();
    return this.affinityList!;
  }

  havePodsWithRequiredAntiAffinityList(): readonly NodeInfo[] {
    this.refreshAffinity();
    return this.antiAffinityList!;
  }

  private refreshAffinity(): void {
    if (!this.affinityDirty && this.affinityList) return;
    const all = this.list();
    this.affinityList = all.filter((n) => n.podsWithAffinity.length > 0);
    this.antiAffinityList = all.filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
    this.affinityDirty = false;
  }

  nodeCount(): number {
    return this.list().length;
  }

  podCount(): number {
    return this.pods.size;
  }

  // -- nodes -----------------------------------------------------------------------------

  addNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const e = this.nodes.get(name);
    if (e) {
      this.removeImages(e.info);
      e.info.setNode(node);
      if (!e.hasNode) this.invalidateList();
      e.hasNode = true;
    } else {
      this.nodes.set(name, { info: new NodeInfo(node), hasNode: true });
      this.invalidateList();
    }
    this.addImages(this.nodes.get(name)!.info);
  }

  updateNode(node: Node): void {
    this.addNode(node);
  }

  removeNode(node: Node): void {
    const name = node.metadata?.name ?? '';
    const e = this.nodes.get(name);
    if (!e) return;
    this.removeImages(e.info);
    // Pods still bound to the node keep an entry until their deletion arrives (upstream does too).
    if (e.info.pods.length > 0) e.hasNode = false;
    else this.nodes.delete(name);
    this.invalidateList();
  }

  private invalidateList(): void {
    this.nodeList = undefined;
    this.affinityDirty = true;
  }

  private addImages(info: NodeInfo): void {
    info.imageStates = new Map();
    for (const img of info.node.status?.images ?? []) {
      for (const name of img.names ?? []) {
        let st = this.images.get(name);
        if (!st) this.images.set(name, (st = { summary: { size: img.sizeBytes ?? 0, numNodes: 0 }, nodes: new Set() }));
        st.nodes.add(info.name);
        st.summary.size = img.sizeBytes ?? 0;
        st.summary.numNodes = st.nodes.size;
        info.imageStates.set(name, st.summary);
      }
    }
  }

  private removeImages(info: NodeInfo): void {
    for (const name of info.imageStates.keys()) {
      const st = this.images.get(name);
      if (!st) continue;
      st.nodes.delete(info.name);
      st.summary.numNodes = st.nodes.size;
      if (st.nodes.size === 0) this.images.delete(name);
    }
  }

  private entryFor(nodeName: string): NodeEntry {
    let e = this.nodes.get(nodeName);
    if (!e) {
      e = { info: new NodeInfo({ apiVersion: 'v1', kind: 'Node', metadata: { name: nodeName } }), hasNode: false };
      this.nodes.set(nodeName, e);
    }
    return e;
  }

  // -- pods ------------------------------------------------------------------------------

  private place(pi: PodInfo, nodeName: string): void {
    this.entryFor(nodeName).info.addPod(pi);
    if (hasPodAffinity(pi)) this.affinityDirty = true;
  }

  private unplace(pi: PodInfo, nodeName: string): void {
    const e = this.nodes.get(nodeName);
    if (!e) return;
    e.info.removePod(pi);
    if (hasPodAffinity(pi)) this.affinityDirty = true;
    if (!e.hasNode && e.info.pods.length === 0) this.nodes.delete(nodeName);
  }

  /** Whether the pod (by uid) is assumed and not yet confirmed by the informer. */
  isAssumed(uid: string): boolean {
    return this.pods.get(uid)?.assumed ?? false;
  }

  /** Counts pod on nodeName before its binding is confirmed. */
  assumePod(pi: PodInfo, nodeName: string): void {
    if (this.pods.has(pi.uid)) throw new Error(`pod ${pi.key} (${pi.uid}) is in the cache, so can't be assumed`);
    this.place(pi, nodeName);
    this.pods.set(pi.uid, { pi, nodeName, assumed: true, bindingFinished: false });
  }

  finishBinding(uid: string): void {
    const s = this.pods.get(uid);
    if (s?.assumed) s.bindingFinished = true;
  }

  /** Undoes assumePod (binding failed). */
  forgetPod(uid: string): void {
    const s = this.pods.get(uid);
    if (!s || !s.assumed) return;
    this.unplace(s.pi, s.nodeName);
    this.pods.delete(uid);
  }

  /** An assigned, non-terminal pod from the informer (confirms an assumed one). */
  addPod(pod: Pod): void {
    const pi = podInfoOf(pod);
    const nodeName = pod.spec?.nodeName ?? '';
    const s = this.pods.get(pi.uid);
    if (s) {
      // Assumed (or already known): replace with the informer's version, on its node.
      this.unplace(s.pi, s.nodeName);
    }
    this.place(pi, nodeName);
    this.pods.set(pi.uid, { pi, nodeName, assumed: false, bindingFinished: true });
  }

  updatePod(pod: Pod): void {
    this.addPod(pod);
  }

  removePod(pod: Pod): void {
    const uid = podInfoOf(pod).uid;
    const s = this.pods.get(uid);
    if (!s) return;
    this.unplace(s.pi, s.nodeName);
    this.pods.delete(uid);
  }

  /** The node a known pod is on. */
  nodeOf(uid: string): string | undefined {
    return this.pods.get(uid)?.nodeName;
  }
}
