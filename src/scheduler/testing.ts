/**
 * Builders for scheduler tests and benchmarks: newPod()/newNode() with the fields the
 * plugins read, in the shape the API server returns them.
 */
import type { Container, Node, Pod, PodSpec, Taint, Toleration } from '../client/objects.js';

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
