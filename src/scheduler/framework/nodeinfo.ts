/**
 * NodeInfo and PodInfo (upstream framework/types.go): a node with what the scheduler has
 * placed on it, precomputed once so that filtering thousands of nodes per pod does no
 * parsing and no cloning. PodInfo is built once per pod object and shared read-only.
 */
import { everything, labelSelectorAsSelector, nothing, type LabelSelector, type Selector } from '../../apimachinery/labels.js';
import type { ContainerPort, Node, Pod, PodAffinityTerm } from '../../client/objects.js';
import { podRequests, Resource, type ResourceList } from './resources.js';

/** framework.AffinityTerm: a pod (anti-)affinity term with its selectors parsed. */
export interface AffinityTerm {
  /** Namespaces named by the term (the pod's own when it names none and has no namespaceSelector). */
  namespaces: ReadonlySet<string>;
  selector: Selector;
  topologyKey: string;
  /** Matches namespaces by their labels; `nothing()` when unset. */
  namespaceSelector: Selector;
}

export interface WeightedAffinityTerm extends AffinityTerm {
  weight: number;
}

/** Whether pod (whose namespace has nsLabels) is selected by term. */
export function affinityTermMatches(term: AffinityTerm, pod: PodInfo, nsLabels: Readonly<Record<string, string>> | undefined): boolean {
  if (term.namespaces.has(pod.namespace) || term.namespaceSelector.matches(nsLabels)) return term.selector.matches(pod.labels);
  return false;
}

export interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

/** Everything the plugins read from a pod, computed once. */
export interface PodInfo {
  readonly pod: Pod;
  /** "namespace/name". */
  readonly key: string;
  readonly uid: string;
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly requests: Resource;
  /** CPU and memory with 100m / 200 MB counted for containers that request none. */
  readonly nonZeroRequests: Resource;
  readonly hostPorts: readonly HostPort[];
  readonly requiredAffinityTerms: readonly AffinityTerm[];
  readonly requiredAntiAffinityTerms: readonly AffinityTerm[];
  readonly preferredAffinityTerms: readonly WeightedAffinityTerm[];
  readonly preferredAntiAffinityTerms: readonly WeightedAffinityTerm[];
  /** Parse errors of affinity terms (the pod is then unschedulable with this message). */
  readonly parseError: string | undefined;
}

function selectorOf(ls: LabelSelector | undefined | null): Selector {
  return labelSelectorAsSelector(ls ?? null);
}

function toAffinityTerm(pod: Pod, t: PodAffinityTerm): AffinityTerm {
  const ns = pod.metadata?.namespace ?? 'default';
  const namespaces = new Set(t.namespaces ?? []);
  if (namespaces.size === 0 && t.namespaceSelector == null) namespaces.add(ns);
  return {
    namespaces,
    selector: selectorOf(t.labelSelector as LabelSelector | undefined),
    topologyKey: t.topologyKey,
    namespaceSelector: t.namespaceSelector == null ? nothing() : selectorOf(t.namespaceSelector as LabelSelector),
  };
}

const podInfos = new WeakMap<Pod, PodInfo>();

/** The PodInfo of pod, computed on first use and cached for that object. */
export function podInfoOf(pod: Pod): PodInfo {
  let pi = podInfos.get(pod);
  if (pi === undefined) {
    pi = newPodInfo(pod);
    podInfos.set(pod, pi);
  }
  return pi;
}

function newPodInfo(pod: Pod): PodInfo {
  const meta = pod.metadata ?? {};
  const namespace = meta.namespace ?? 'default';
  const name = meta.name ?? '';
  const hostPorts: HostPort[] = [];
  const addPorts = (ports: ContainerPort[] | undefined) => {
    for (const p of ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      hostPorts.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  };
  for (const c of pod.spec?.containers ?? []) addPorts(c.ports);
  for (const c of pod.spec?.initContainers ?? []) if (c.restartPolicy === 'Always') addPorts(c.ports);
  const aff = pod.spec?.affinity;
  let parseError: string | undefined;
  const terms = (list: PodAffinityTerm[] | undefined): AffinityTerm[] => {
    const out: AffinityTerm[] = [];
    for (const t of list ?? []) {
      try {
        out.push(toAffinityTerm(pod, t));
      } catch (e) {
        parseError ??= (e as Error).message;
      }
    }
    return out;
  };
  const weighted = (list: { weight: number; podAffinityTerm: PodAffinityTerm }[] | undefined): WeightedAffinityTerm[] => {
    const out: WeightedAffinityTerm[] = [];
    for (const w of list ?? []) {
      try {
        out.push({ ...toAffinityTerm(pod, w.podAffinityTerm), weight: w.weight });
      } catch (e) {
        parseError ??= (e as Error).message;
      }
    }
    return out;
  };
  return {
    pod,
    key: `${namespace}/${name}`,
    uid: meta.uid ?? `${namespace}/${name}`,
    namespace,
    name,
    labels: meta.labels ?? {},
    requests: podRequests(pod, false),
    nonZeroRequests: podRequests(pod, true),
    hostPorts,
    requiredAffinityTerms: terms(aff?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    requiredAntiAffinityTerms: terms(aff?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    preferredAffinityTerms: weighted(aff?.podAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    preferredAntiAffinityTerms: weighted(aff?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution),
    parseError,
  };
}

/** Whether the pod has any pod affinity or anti-affinity term. */
export function hasPodAffinity(pi: PodInfo): boolean {
  return pi.requiredAffinityTerms.length > 0 || pi.requiredAntiAffinityTerms.length > 0
    || pi.preferredAffinityTerms.length > 0 || pi.preferredAntiAffinityTerms.length > 0;
}

/** "Matches every pod" selector, exported for plugins building terms of their own. */
export const EVERYTHING = everything();

/**
 * Host ports in use on a node: ip → "protocol/port". 0.0.0.0 conflicts with every IP for
 * the same protocol and port (upstream HostPortInfo).
 */
export class HostPortInfo {
  private readonly byIP = new Map<string, Map<string, number>>();

  add(p: HostPort): void {
    let m = this.byIP.get(p.ip);
    if (!m) this.byIP.set(p.ip, (m = new Map()));
    const k = `${p.protocol}/${p.port}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  remove(p: HostPort): void {
    const m = this.byIP.get(p.ip);
    if (!m) return;
    const k = `${p.protocol}/${p.port}`;
    const n = (m.get(k) ?? 0) - 1;
    if (n <= 0) m.delete(k);
    else m.set(k, n);
    if (m.size === 0) this.byIP.delete(p.ip);
  }

  checkConflict(p: HostPort): boolean {
    const k = `${p.protocol}/${p.port}`;
    if (p.ip === '0.0.0.0') {
      for (const m of this.byIP.values()) if (m.has(k)) return true;
      return false;
    }
    return (this.byIP.get(p.ip)?.has(k) ?? false) || (this.byIP.get('0.0.0.0')?.has(k) ?? false);
  }

  get size(): number {
    return this.byIP.size;
  }

  clone(): HostPortInfo {
    const c = new HostPortInfo();
    for (const [ip, m] of this.byIP) c.byIP.set(ip, new Map(m));
    return c;
  }
}

/** framework.ImageStateSummary: an image's size and on how many nodes it is. */
export interface ImageStateSummary {
  size: number;
  numNodes: number;
}

/**
 * framework.NodeInfo. Mutated only by the scheduler cache (and by preemption's dry runs on
 * a clone); plugins read it.
 */
export class NodeInfo {
  node: Node;
  name: string;
  readonly pods: PodInfo[] = [];
  /** Pods with any (preferred or required) pod affinity or anti-affinity. */
  readonly podsWithAffinity: PodInfo[] = [];
  readonly podsWithRequiredAntiAffinity: PodInfo[] = [];
  usedPorts = new HostPortInfo();
  /** Sum of the pods' requests. */
  requested = new Resource();
  /** Sum with 100m / 200 MB for containers without cpu / memory requests (scoring). */
  nonZeroRequested = new Resource();
  allocatable = new Resource();
  /** Normalised image name → state; numNodes is maintained by the cache across nodes. */
  imageStates = new Map<string, ImageStateSummary>();
  /** Bumped on every change (the cache's snapshot uses it). */
  generation = 0;

  constructor(node: Node) {
    this.node = node;
    this.name = node.metadata?.name ?? '';
    this.setNode(node);
  }

  setNode(node: Node): void {
    this.node = node;
    this.name = node.metadata?.name ?? '';
    this.allocatable = Resource.fromList(node.status?.allocatable as ResourceList | undefined);
    this.generation++;
  }

  addPod(pi: PodInfo): void {
    this.pods.push(pi);
    if (hasPodAffinity(pi)) this.podsWithAffinity.push(pi);
    if (pi.requiredAntiAffinityTerms.length) this.podsWithRequiredAntiAffinity.push(pi);
    this.requested.add(pi.requests);
    this.nonZeroRequested.milliCPU += pi.nonZeroRequests.milliCPU;
    this.nonZeroRequested.memory += pi.nonZeroRequests.memory;
    for (const p of pi.hostPorts) this.usedPorts.add(p);
    this.generation++;
  }

  /** Removes the pod with pi's uid; false when it is not on this node. */
  removePod(pi: PodInfo): boolean {
    const i = this.pods.findIndex((p) => p.uid === pi.uid);
    if (i < 0) return false;
    const old = this.pods[i]!;
    this.pods.splice(i, 1);
    removeFrom(this.podsWithAffinity, old.uid);
    removeFrom(this.podsWithRequiredAntiAffinity, old.uid);
    this.requested.add(old.requests, -1);
    this.nonZeroRequested.milliCPU -= old.nonZeroRequests.milliCPU;
    this.nonZeroRequested.memory -= old.nonZeroRequests.memory;
    for (const p of old.hostPorts) this.usedPorts.remove(p);
    this.generation++;
    return true;
  }

  /** An independent copy (pods arrays and resources copied, PodInfos shared). */
  clone(): NodeInfo {
    const c = Object.create(NodeInfo.prototype) as NodeInfo;
    Object.assign(c, {
      node: this.node,
      name: this.name,
      pods: [...this.pods],
      podsWithAffinity: [...this.podsWithAffinity],
      podsWithRequiredAntiAffinity: [...this.podsWithRequiredAntiAffinity],
      usedPorts: this.usedPorts.clone(),
      requested: this.requested.clone(),
      nonZeroRequested: this.nonZeroRequested.clone(),
      allocatable: this.allocatable.clone(),
      imageStates: this.imageStates,
      generation: this.generation,
    });
    return c;
  }
}

function removeFrom(list: PodInfo[], uid: string): void {
  const i = list.findIndex((p) => p.uid === uid);
  if (i >= 0) list.splice(i, 1);
}

/**
 * The view of the cluster plugins get through the framework handle: every NodeInfo in a
 * stable order, by name, and the subsets with affinity pods (upstream SharedLister).
 */
export interface NodeInfoLister {
  list(): readonly NodeInfo[];
  get(name: string): NodeInfo | undefined;
  havePodsWithAffinityList(): readonly NodeInfo[];
  havePodsWithRequiredAntiAffinityList(): readonly NodeInfo[];
}

/** A lister over a fixed set of NodeInfos (tests, and preemption's what-if). */
export function staticLister(nodes: readonly NodeInfo[]): NodeInfoLister {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  return {
    list: () => nodes,
    get: (name) => byName.get(name),
    havePodsWithAffinityList: () => nodes.filter((n) => n.podsWithAffinity.length > 0),
    havePodsWithRequiredAntiAffinityList: () => nodes.filter((n) => n.podsWithRequiredAntiAffinity.length > 0),
  };
}
