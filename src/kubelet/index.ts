/**
 * The kubelet: registers its node, keeps node status and the node Lease fresh, and runs
 * the pods bound to the node through a {@link Runtime} (see node.ts and pods.ts).
 *
 * `startKubelet` runs one node (what `flotilla up` and `flotilla kubelet` call);
 * `startSimulatedNodes` hosts many simulated nodes in one process for scale tests, as
 * kwok does: one pod informer for all of them (dispatching by spec.nodeName), one timer
 * wheel for every heartbeat, one {@link SimulatedRuntime} per node.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { newInformer } from '../client/informer.js';
import { newEventRecorder } from '../client/events.js';
import { Resources, isTombstone, type Client, type EventRecorder, type EventType } from '../client/interface.js';
import type { Pod } from '../client/objects.js';
import { realClock, type Clock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/log.js';
import {
  NODE_LEASE_RENEW_INTERVAL_MS,
  NODE_STATUS_UPDATE_FREQUENCY_MS,
  NodeStatusManager,
  hostMachineInfo,
  simulatedMachineInfo,
  type MachineInfo,
  type ResourceList,
} from './node.js';
import { PodWorkers } from './pods.js';
import { startKubeletServer } from './server/index.js';
import type { Runtime } from './runtime.js';
import { SimulatedRuntime } from './simulated.js';
import { StaticPods } from './static.js';
import { TimerWheel } from './wheel.js';

export { KUBELET_VERSION, NodeStatusManager, hostMachineInfo, simulatedMachineInfo } from './node.js';
export type { MachineInfo, ResourceList } from './node.js';
export { PodWorkers } from './pods.js';
export { SimulatedRuntime, type SimulatedRuntimeOptions } from './simulated.js';
export type { Runtime } from './runtime.js';
export { StaticPods, isMirrorPod, isStaticPod } from './static.js';
export { TimerWheel } from './wheel.js';

/** Upstream housekeepingPeriod. */
export const HOUSEKEEPING_PERIOD_MS = 2000;

/** The kubelet's event source component. */
export const KUBELET_COMPONENT = 'kubelet';

/** Counters shared by every node of a process. */
interface KubeletMetrics {
  writes: Counter<'kind'>;
  pods: Gauge;
  nodes: Gauge;
}

function metrics(registry: Registry | undefined): KubeletMetrics | undefined {
  if (!registry) return undefined;
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    writes: get('kubelet_api_writes_total', () => new Counter({ name: 'kubelet_api_writes_total', help: 'Writes the kubelet made, by kind (lease, node_status, pod_status, pod_delete).', labelNames: ['kind'], registers: [registry] })),
    pods: get('kubelet_running_pods', () => new Gauge({ name: 'kubelet_running_pods', help: 'Pods with a pod worker on the nodes of this process.', registers: [registry] })),
    nodes: get('kubelet_nodes', () => new Gauge({ name: 'kubelet_nodes', help: 'Nodes hosted by this process.', registers: [registry] })),
  };
}

export interface StartKubeletOptions {
  client: Client;
  nodeName: string;
  runtime: Runtime;
  clock?: Clock;
  logger?: Logger;
  registry?: Registry;
  /** spec.podCIDR of the node (the simulated runtime allocates from it too). */
  podCIDR?: string;
  /** Overrides the capacity (and allocatable) read from the host. */
  capacity?: ResourceList;
  /** Overrides everything read from the host. */
  machine?: MachineInfo;
  /** Defaults to a core/v1 recorder with source kubelet/<nodeName>. */
  recorder?: EventRecorder;
  /** Extra node labels. */
  labels?: Record<string, string>;
  /** Aborting stops the kubelet, as stop() does. */
  signal?: AbortSignal;
  /** Where containers' log files go (default /var/log/pods, as upstream). */
  podLogsDir?: string;
  /** The kubelet root dir (--root-dir): pod volumes, /etc/hosts. Unset: containers get no mounts. */
  rootDir?: string;
  /** Cluster DNS server IPs for ClusterFirst pods (--cluster-dns; default 10.96.0.10). */
  clusterDNS?: string[];
  /** --cluster-domain (default cluster.local). */
  clusterDomain?: string;
  /** Folder (or file) of static pod manifests, shown as mirror pods (static.ts; --pod-manifest-path). */
  staticPodPath?: string;
  /**
   * Serve logs/exec/attach/port-forward over HTTPS on this port (server/; --port, upstream
   * 10250; 0 = a free port). The bound port becomes status.daemonEndpoints.kubeletEndpoint.
   * Unset: no server.
   */
  serverPort?: number;
  /** Listen address of that server (default 0.0.0.0; --address). */
  serverAddress?: string;
  /** Its certificate and key (PEM; --tls-cert-file/--tls-private-key-file); default self-signed. */
  serverTLS?: { cert: string; key: string };
  /** Only clients with a certificate from this CA (PEM; --client-ca-file); default every client. */
  serverClientCA?: string;
  /**
   * How often the node status is computed and written when it changed
   * (--node-status-update-frequency; default 10 s). The Lease is renewed every 10 s
   * regardless, as upstream, so this sets how soon a change shows, not liveness.
   */
  nodeStatusUpdateFrequencyMs?: number;
  /** The longest an unchanged node status goes unwritten (nodeStatusReportFrequency; default 5 min). */
  nodeStatusReportFrequencyMs?: number;
}

export interface RunningKubelet {
  nodeName: string;
  node: NodeStatusManager;
  workers: PodWorkers;
  /** True once the node is registered and the pod informer has synced. */
  ready(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts the kubelet for one node: registers the Node (rejecting if that fails), then
 * heartbeats and pod workers run until stop().
 */
export async function startKubelet(opts: StartKubeletOptions): Promise<RunningKubelet> {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger ?? silentLogger();
  const m = metrics(opts.registry);
  const wheel = new TimerWheel({ clock });
  let machine = opts.machine ?? hostMachineInfo();
  if (opts.capacity) machine = { ...machine, capacity: opts.capacity, allocatable: opts.capacity };
  const v = await opts.runtime.version();
  const recorder = opts.recorder ?? newEventRecorder({ client: opts.client, component: KUBELET_COMPONENT, host: opts.nodeName, clock, logger });
  // The server starts before registration so the first node status carries its port; it
  // finds pods in the informer's cache once that runs.
  let podLister: { get(key: string): Pod | undefined; list(): Pod[] } | undefined = undefined;
  const server =
    opts.serverPort === undefined
      ? undefined
      : await startKubeletServer({
          address: opts.serverAddress,
          port: opts.serverPort,
          runtime: opts.runtime,
          podLookup: (ns, name) => podLister?.get(`${ns}/${name}`),
          listPods: () => podLister?.list() ?? [],
          logger,
          registry: opts.registry,
          clock,
          tls: opts.serverTLS,
          clientCA: opts.serverClientCA,
          sans: [opts.nodeName, machine.internalIP, machine.hostname],
        });
  const node = new NodeStatusManager({
    client: opts.client,
    nodeName: opts.nodeName,
    recorder,
    machine,
    runtime: opts.runtime,
    clock,
    logger,
    wheel,
    podCIDR: opts.podCIDR,
    labels: opts.labels,
    kubeletPort: server?.port,
    statusUpdateFrequencyMs: opts.nodeStatusUpdateFrequencyMs,
    statusReportFrequencyMs: opts.nodeStatusReportFrequencyMs,
    onWrite: (w) => m?.writes.inc({ kind: w === 'lease' ? 'lease' : 'node_status' }),
  });
  const workers = new PodWorkers({
    client: opts.client,
    nodeName: opts.nodeName,
    runtime: opts.runtime,
    runtimeName: v.runtimeName,
    clock,
    logger,
    recorder,
    hostIP: () => node.internalIP,
    podLogsDir: opts.podLogsDir,
    rootDir: opts.rootDir,
    clusterDNS: opts.clusterDNS,
    clusterDomain: opts.clusterDomain,
    nodeAllocatable: () => machine.allocatable,
    wheel,
    registry: opts.registry,
    onWrite: (w) => m?.writes.inc({ kind: w === 'status' ? 'pod_status' : 'pod_delete' }),
  });
  try {
    await node.start();
  } catch (err) {
    await server?.stop();
    throw err;
  }
  m?.nodes.inc();
  workers.start();
  const abort = new AbortController();
  const informer = newInformer<Pod>({ client: opts.client, gvr: Resources.pods, clock, logger, fieldSelector: `spec.nodeName=${opts.nodeName}` });
  podLister = informer.lister;
  informer.addEventHandler({
    add: (p) => {
      workers.updatePod(p);
      m?.pods.set(workers.size);
    },
    update: (_o, p) => workers.updatePod(p),
    delete: (p) => {
      workers.deletePod(isTombstone(p) ? p.obj : p);
      m?.pods.set(workers.size - 1);
    },
  });
  const running = informer.run(abort.signal).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'pod informer stopped'));
  const staticPods = opts.staticPodPath ? new StaticPods({ client: opts.client, nodeName: opts.nodeName, path: opts.staticPodPath, clock, logger }) : undefined;
  staticPods?.start();
  // Housekeeping (upstream every 2 s): orphaned sandboxes go once the informer has synced.
  let cleaning = false;
  const housekeeping = wheel.every(HOUSEKEEPING_PERIOD_MS, () => {
    if (cleaning || !informer.hasSynced()) return;
    cleaning = true;
    workers
      .cleanupOrphans()
      .catch((err: unknown) => logger.warn({ err: (err as Error).message }, 'Failed cleaning up orphaned pods'))
      .finally(() => { cleaning = false; });
  });
  let stopped: Promise<void> | undefined;
  const kubelet: RunningKubelet = {
    nodeName: opts.nodeName,
    node,
    workers,
    ready: () => node.node !== undefined && informer.hasSynced(),
    stop() {
      stopped ??= (async () => {
        abort.abort();
        await staticPods?.stop();
        housekeeping.cancel();
        node.stop();
        await workers.stop();
        wheel.stop();
        m?.nodes.dec();
        await server?.stop();
        await running;
      })();
      return stopped;
    },
  };
  opts.signal?.addEventListener('abort', () => void kubelet.stop(), { once: true });
  return kubelet;
}

// ---------------------------------------------------------------------------------------
// Simulated nodes.

/** The pod CIDR of simulated node i: 10.244.i.0/24 onwards, wrapping through 10.0.0.0/8. */
export function simulatedPodCIDR(i: number): string {
  const block = 244 * 256 + i;
  return `10.${Math.floor(block / 256) % 256}.${block % 256}.0/24`;
}

/**
 * The InternalIP of simulated node i when no shared server is given: 198.18.0.0/15, the
 * range set aside for benchmarking (RFC 2544), so never a real host's. (172.16.0.0/12 was
 * used before: private, and a real network's on many machines — the API server dialled
 * whatever answered there for `kubectl logs`.)
 */
export function simulatedNodeIP(i: number): string {
  const n = (i + 1) % 131_072;
  return `198.${18 + Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}`;
}

export interface StartSimulatedNodesOptions {
  client: Client;
  count: number;
  /** Node names are `${namePrefix}${i}` (default "sim-node-"). */
  namePrefix?: string;
  /** Index of the first node (default 0); also picks its pod CIDR and IP. */
  firstIndex?: number;
  clock?: Clock;
  logger?: Logger;
  registry?: Registry;
  capacity?: ResourceList;
  /** Extra labels on every node (default type=kwok, as kwok's fake nodes). */
  labels?: Record<string, string>;
  /** SimulatedRuntime: container start delay (ms) and images that fail to pull. */
  startDelayMs?: number;
  missingImages?: RegExp;
  /** Registrations in flight at once (default 32). */
  concurrency?: number;
  /** Write no Events (large scale runs). */
  noEvents?: boolean;
  /** Aborting stops every node, as stop() does. */
  signal?: AbortSignal;
  /** As {@link StartKubeletOptions.nodeStatusUpdateFrequencyMs}, for every node. */
  nodeStatusUpdateFrequencyMs?: number;
  /** As {@link StartKubeletOptions.nodeStatusReportFrequencyMs}, for every node. */
  nodeStatusReportFrequencyMs?: number;
  /**
   * Serve logs/exec/attach/port-forward for every node from one kubelet server on this
   * port of {@link serverAddress} (0 picks one), as kwok's nodes share one: each node then
   * advertises that address as its InternalIP and that port as its kubelet endpoint. Unset:
   * no server, and each node gets its own unroutable address ({@link simulatedNodeIP}).
   */
  serverPort?: number;
  /** The shared server's listen address, which every node advertises (default 127.0.0.1). */
  serverAddress?: string;
  /** Where the nodes' simulated containers write their logs (SimulatedRuntime logDir); unset: none. */
  logDir?: string;
}

export interface SimulatedNodes {
  names: string[];
  nodes: Map<string, { node: NodeStatusManager; workers: PodWorkers; runtime: SimulatedRuntime }>;
  wheel: TimerWheel;
  ready(): boolean;
  stop(): Promise<void>;
}

/**
 * Registers `count` simulated nodes and runs them in this process (see module comment).
 * Resolves once every node is registered; the shared pod informer starts after that.
 */
export async function startSimulatedNodes(opts: StartSimulatedNodesOptions): Promise<SimulatedNodes> {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger ?? silentLogger();
  const m = metrics(opts.registry);
  const wheel = new TimerWheel({ clock });
  const prefix = opts.namePrefix ?? 'sim-node-';
  const first = opts.firstIndex ?? 0;
  const nodes = new Map<string, { node: NodeStatusManager; workers: PodWorkers; runtime: SimulatedRuntime }>();
  const names: string[] = [];
  const silent: EventRecorder = { event: () => {} };
  // The shared server starts first so every node's first status carries its port; it
  // finds pods in the pod informer's cache once that runs.
  let podLister: { get(key: string): Pod | undefined; list(): Pod[] } | undefined;
  const serverAddress = opts.serverAddress ?? '127.0.0.1';
  const server =
    opts.serverPort === undefined
      ? undefined
      : await startKubeletServer({
          address: serverAddress,
          port: opts.serverPort,
          runtime: (pod) => nodes.get(pod.spec?.nodeName ?? '')?.runtime,
          podLookup: (ns, name) => podLister?.get(`${ns}/${name}`),
          listPods: () => podLister?.list() ?? [],
          logger,
          registry: opts.registry,
          clock,
          sans: [serverAddress],
        });
  for (let k = 0; k < opts.count; k++) {
    const i = first + k;
    const name = `${prefix}${i}`;
    names.push(name);
    const podCIDR = simulatedPodCIDR(i);
    const runtime = new SimulatedRuntime({ clock, podCIDR, startDelayMs: opts.startDelayMs, missingImages: opts.missingImages, logDir: opts.logDir });
    // Spread heartbeats evenly over the period so N nodes never renew in one burst.
    const offset = (k / Math.max(1, opts.count)) * NODE_LEASE_RENEW_INTERVAL_MS;
    const node = new NodeStatusManager({
      client: opts.client,
      nodeName: name,
      machine: simulatedMachineInfo({ name, internalIP: server ? serverAddress : simulatedNodeIP(i), capacity: opts.capacity }),
      runtime,
      kubeletPort: server?.port,
      clock,
      logger,
      wheel,
      podCIDR,
      labels: opts.labels ?? { type: 'kwok' },
      leaseFirstRenewMs: NODE_LEASE_RENEW_INTERVAL_MS + offset,
      statusUpdateFrequencyMs: opts.nodeStatusUpdateFrequencyMs ?? NODE_STATUS_UPDATE_FREQUENCY_MS,
      statusReportFrequencyMs: opts.nodeStatusReportFrequencyMs,
      onWrite: (w) => m?.writes.inc({ kind: w === 'lease' ? 'lease' : 'node_status' }),
    });
    let recorder: EventRecorder | undefined;
    const lazyRecorder: EventRecorder = opts.noEvents
      ? silent
      : {
          event(obj: object, type: EventType, reason: string, message: string) {
            recorder ??= newEventRecorder({ client: opts.client, component: KUBELET_COMPONENT, host: name, clock, logger });
            recorder.event(obj, type, reason, message);
          },
        };
    const workers = new PodWorkers({
      client: opts.client,
      nodeName: name,
      runtime,
      runtimeName: 'simulated',
      clock,
      logger,
      recorder: lazyRecorder,
      hostIP: () => node.internalIP,
      wheel,
      onWrite: (w) => m?.writes.inc({ kind: w === 'status' ? 'pod_status' : 'pod_delete' }),
    });
    nodes.set(name, { node, workers, runtime });
  }
  // Register with bounded concurrency.
  const queue = [...nodes.values()];
  const concurrency = opts.concurrency ?? 32;
  let failed: unknown;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let n = queue.shift(); n && failed === undefined; n = queue.shift()) {
        try {
          await n.node.start();
          n.workers.start();
          m?.nodes.inc();
        } catch (err) {
          failed = err;
        }
      }
    }),
  );
  if (failed !== undefined) {
    for (const n of nodes.values()) n.node.stop();
    wheel.stop();
    await server?.stop();
    throw failed;
  }
  const abort = new AbortController();
  const informer = newInformer<Pod>({ client: opts.client, gvr: Resources.pods, clock, logger, fieldSelector: 'spec.nodeName!=' });
  podLister = informer.lister;
  const route = (p: Pod) => nodes.get(p.spec?.nodeName ?? '')?.workers;
  let podCount = 0;
  informer.addEventHandler({
    add: (p) => {
      const w = route(p);
      if (!w) return;
      w.updatePod(p);
      m?.pods.set(++podCount);
    },
    update: (_o, p) => route(p)?.updatePod(p),
    delete: (p) => {
      const pod = isTombstone(p) ? p.obj : p;
      const w = route(pod);
      if (!w) return;
      w.deletePod(pod);
      m?.pods.set(--podCount);
    },
  });
  const running = informer.run(abort.signal).catch((err: unknown) => logger.error({ err: (err as Error).message }, 'pod informer stopped'));
  let stopped: Promise<void> | undefined;
  const sim: SimulatedNodes = {
    names,
    nodes,
    wheel,
    ready: () => informer.hasSynced(),
    stop() {
      stopped ??= (async () => {
        abort.abort();
        for (const n of nodes.values()) {
          n.node.stop();
          void n.workers.stop();
        }
        wheel.stop();
        m?.nodes.dec(nodes.size);
        await running;
        await server?.stop();
      })();
      return stopped;
    },
  };
  opts.signal?.addEventListener('abort', () => void sim.stop(), { once: true });
  return sim;
}
