/**
 * Builders and a harness for this folder's tests: a FakeClient on a FakeClock with the
 * shared informers, and "kubelets" the test drives by hand (status and Lease renewals).
 */
import { formatRFC3339, formatRFC3339Micro } from '../../apimachinery/meta.js';
import { FakeClient } from '../../client/fake.js';
import { newEventRecorder } from '../../client/events.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources, type InformerFactory } from '../../client/interface.js';
import type { Event, Lease, Node, Pod, Toleration } from '../../client/objects.js';
import type { KObject } from '../../apimachinery/meta.js';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** The builders' objects as the fake's seed() takes them. */
export function asKObjects(...objs: object[]): KObject[] {
  return objs as KObject[];
}
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';

/** Lets promise chains and informer deliveries run (the fake clock does not move). */
export async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

export function newNode(name: string, nowMs: number, opts: { ready?: string; labels?: Record<string, string> } = {}): Node {
  const t = formatRFC3339(nowMs);
  const cond = (type: string, status: string) => ({ type, status, lastHeartbeatTime: t, lastTransitionTime: t, reason: `Kubelet${type}`, message: 'ok' });
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...opts.labels } },
    spec: {},
    status: {
      conditions: [cond('MemoryPressure', 'False'), cond('DiskPressure', 'False'), cond('PIDPressure', 'False'), cond('Ready', opts.ready ?? 'True')],
    },
  };
}

export function newLease(name: string, nowMs: number): Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'kube-node-lease' },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: formatRFC3339Micro(nowMs) },
  };
}

export function newPod(name: string, nodeName: string, opts: { tolerations?: Toleration[]; namespace?: string; phase?: PodPhase } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: opts.namespace ?? 'default' },
    spec: { nodeName, containers: [{ name: 'c', image: 'nginx' }], ...(opts.tolerations ? { tolerations: opts.tolerations } : {}) },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    },
  };
}

/** Tolerates the unreachable and not-ready NoExecute taints for `seconds` (forever when undefined). */
export function nodeFailureTolerations(seconds?: number): Toleration[] {
  return ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'].map((key) => ({
    key,
    operator: 'Exists',
    effect: 'NoExecute',
    ...(seconds !== undefined ? { tolerationSeconds: seconds } : {}),
  }));
}

export class Harness {
  readonly clock = new FakeClock(Date.UTC(2026, 0, 1));
  readonly client = new FakeClient({ clock: this.clock });
  readonly informers: InformerFactory = newInformerFactory({ client: this.client, clock: this.clock });
  readonly logger = silentLogger();
  private readonly ac = new AbortController();
  readonly signal = this.ac.signal;
  private readonly runs: Promise<unknown>[] = [];

  recorder(component: string) {
    return newEventRecorder({ client: this.client, component, clock: this.clock, logger: this.logger });
  }

  /** Starts the informers and the given controllers. */
  async start(...controllers: { run(signal: AbortSignal): Promise<void> }[]): Promise<void> {
    this.informers.start(this.signal);
    for (const c of controllers) this.runs.push(c.run(this.signal));
    await settle();
  }

  async stop(): Promise<void> {
    this.ac.abort();
    await Promise.allSettled(this.runs);
  }

  /** Advances the clock in steps of stepMs, settling after each and calling each(). */
  async advance(ms: number, opts: { stepMs?: number; each?: () => Promise<void>; until?: () => Promise<boolean> } = {}): Promise<boolean> {
    const step = opts.stepMs ?? 1000;
    for (let t = 0; t < ms; t += step) {
      this.clock.step(step);
      await settle();
      await opts.each?.();
      await settle();
      if (opts.until && (await opts.until())) return true;
    }
    return false;
  }

  node(name: string): Promise<Node> {
    return this.client.resource<Node>(Resources.nodes).get(name);
  }

  async podExists(namespace: string, name: string): Promise<boolean> {
    const pods = await this.client.resource<Pod>(Resources.pods, namespace).list();
    return pods.items.some((p) => p.metadata?.name === name);
  }

  async events(): Promise<Event[]> {
    return (await this.client.resource<Event>(Resources.events).list()).items;
  }

  /** What a kubelet does: renews its Lease and, optionally, posts Ready=True with a fresh heartbeat. */
  async kubeletHeartbeat(name: string, postStatus: boolean): Promise<void> {
    const now = this.clock.now();
    const leases = this.client.resource<Lease>(Resources.leases, 'kube-node-lease');
    const lease = await leases.get(name);
    await leases.update({ ...lease, spec: { ...lease.spec, renewTime: formatRFC3339Micro(now) } });
    if (!postStatus) return;
    const node = await this.node(name);
    const t = formatRFC3339(now);
    const conditions = (node.status?.conditions ?? []).map((c) => {
      const healthy = c.type === 'Ready' ? 'True' : 'False';
      return { ...c, status: healthy, lastHeartbeatTime: t, lastTransitionTime: c.status === healthy ? c.lastTransitionTime : t, reason: `Kubelet${c.type}`, message: 'ok' };
    });
    await this.client.resource<Node>(Resources.nodes).updateStatus({ ...node, status: { ...node.status, conditions } });
  }
}
