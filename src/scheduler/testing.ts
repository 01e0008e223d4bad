/**
 * Builders for scheduler tests and benchmarks: newPod()/newNode() with the fields the
 * plugins read, in the shape the API server returns them.
 */
import type { Selector } from '../apimachinery/labels.js';
import type { Container, Node, Pod, PodSpec, Taint, Toleration } from '../client/objects.js';
import { NodeInfo, podInfoOf, staticLister, type NodeInfoLister } from './framework/nodeinfo.js';
import type { Handle } from './framework/registry.js';
import { CycleState, isFilterPlugin, isPreFilterPlugin, isPreScorePlugin, isScorePlugin, type NodeScore, type Plugin, type Status } from './framework/types.js';
import { FakeClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';

export interface NewPodOptions {
  namespace?: string;
  uid?: string;
  /** Requests of the single container, e.g. { cpu: '500m', memory: '1Gi' }. */
  requests?: Record<string, string>;
  labels?: Record<string, string>;
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  tolerations?: Toleration[];
  priority?: number;
  schedulerName?: string;
  hostPorts?: number[];
  image?: string;
  spec?: Partial<PodSpec>;
  creationTimestamp?: string;
}

let uidSeq = 0;

export function newPod(name: string, o: NewPodOptions = {}): Pod {
  const container: Container = {
    name: 'c',
    image: o.image ?? 'registry.k8s.io/pause:3.10',
    ...(o.requests ? { resources: { requests: o.requests } } : {}),
    ...(o.hostPorts ? { ports: o.hostPorts.map((p) => ({ containerPort: p, hostPort: p, protocol: 'TCP' })) } : {}),
  };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'default',
      uid: o.uid ?? `uid-${name}-${++uidSeq}`,
      ...(o.labels ? { labels: o.labels } : {}),
      ...(o.creationTimestamp ? { creationTimestamp: o.creationTimestamp } : {}),
    },
    spec: {
      containers: [container],
      schedulerName: o.schedulerName ?? 'default-scheduler',
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
      ...(o.tolerations ? { tolerations: o.tolerations } : {}),
      ...(o.priority !== undefined ? { priority: o.priority } : {}),
      ...o.spec,
    },
    status: { phase: 'Pending' },
  };
}

export interface NewNodeOptions {
  /** Allocatable (and capacity); defaults cpu 4, memory 32Gi, pods 110. */
  allocatable?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: Taint[];
  unschedulable?: boolean;
  images?: { names: string[]; sizeBytes: number }[];
}

export function newNode(name: string, o: NewNodeOptions = {}): Node {
  const allocatable = { cpu: '4', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi', ...o.allocatable };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: {
      ...(o.taints ? { taints: o.taints } : {}),
      ...(o.unschedulable ? { unschedulable: true } : {}),
    },
    status: {
      capacity: allocatable,
      allocatable,
      conditions: [{ type: 'Ready', status: 'True' }],
      ...(o.images ? { images: o.images } : {}),
    },
  };
}


/** A NodeInfo for node holding pods (their spec.nodeName need not be set). */
export function nodeInfoOf(node: Node, pods: Pod[] = []): NodeInfo {
  const ni = new NodeInfo(node);
  for (const p of pods) ni.addPod(podInfoOf(p));
  return ni;
}

/** A plugin handle over a fixed set of NodeInfos. */
export function testHandle(nodes: NodeInfo[] = [], nsLabels: Record<string, Record<string, string>> = {}, defaultSpreadSelector?: (pod: Pod) => Selector | undefined): Handle {
  const lister: NodeInfoLister = staticLister(nodes);
  return {
    defaultSpreadSelector,
    snapshot: () => lister,
    namespaceLabels: (ns) => nsLabels[ns],
    client: undefined,
    clock: new FakeClock(),
    logger: silentLogger(),
    framework: () => {
      throw new Error('testHandle has no framework');
    },
  };
}

/** Runs the plugin's PreFilter (when it has one; Skip counts as pass) then Filter for pod on ni. */
export function runFilter(plugin: Plugin, pod: Pod, ni: NodeInfo, state = new CycleState()): Status | undefined {
  if (isPreFilterPlugin(plugin)) {
    const s = plugin.preFilter(state, pod, podInfoOf(pod));
    if (s.isSkip()) return undefined;
    if (!s.isSuccess()) return s;
  }
  if (!isFilterPlugin(plugin)) throw new Error(`${plugin.name} has no Filter`);
  const s = plugin.filter(state, pod, ni);
  return s.isSuccess() ? undefined : s;
}

/** PreScore, Score and NormalizeScore of plugin for pod over nodes: final score by node name. */
export function runScore(plugin: Plugin, pod: Pod, nodes: NodeInfo[]): Record<string, number> {
  if (!isScorePlugin(plugin)) throw new Error(`${plugin.name} has no Score`);
  const state = new CycleState();
  if (isPreScorePlugin(plugin)) {
    const s = plugin.preScore(state, pod, nodes);
    if (s.isSkip()) return Object.fromEntries(nodes.map((n) => [n.name, 0]));
    if (!s.isSuccess()) throw new Error(s.message());
  }
  const scores: NodeScore[] = nodes.map((n) => {
    const r = plugin.score(state, pod, n);
    if (typeof r !== 'number') throw new Error(r.message());
    return { name: n.name, score: r };
  });
  plugin.normalizeScore?.(state, pod, scores);
  return Object.fromEntries(scores.map((s) => [s.name, s.score]));
}
