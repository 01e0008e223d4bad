/**
 * Node registration, node status and the node Lease, after upstream's kubelet_node_status.go,
 * pkg/kubelet/nodestatus (the setters) and pkg/kubelet/nodelease (component-helpers'
 * lease controller).
 *
 * Heartbeats come in two kinds, as upstream since NodeLease went GA: the Lease in
 * kube-node-lease is renewed every 10 s (a quarter of its 40 s duration); the Node's
 * status is computed every --node-status-update-frequency (10 s) but written only when
 * something other than heartbeat times changed, or when nodeStatusReportFrequency (5 min)
 * has passed since the last write. Both run on a shared {@link TimerWheel}.
 */
import { readFileSync, statfsSync } from 'node:fs';
import { arch, cpus, hostname, networkInterfaces, release, totalmem } from 'node:os';
import { isAlreadyExists, isConflict, isNotFound } from '../apimachinery/errors.js';
import { deepEqual, formatRFC3339, formatRFC3339Micro, PatchType } from '../apimachinery/meta.js';
import type { Client, EventRecorder, ResourceClient } from '../client/interface.js';
import { Resources } from '../client/interface.js';
import type { Lease, Node, NodeCondition, NodeStatus } from '../client/objects.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Runtime } from './runtime.js';
import type { TimerWheel } from './wheel.js';

/** The version every Flotilla kubelet reports (`kubectl get nodes` VERSION). */
export const KUBELET_VERSION = 'v1.32.0-flotilla';

/** Upstream defaults. */
export const NODE_STATUS_UPDATE_FREQUENCY_MS = 10_000;
export const NODE_STATUS_REPORT_FREQUENCY_MS = 5 * 60_000;
export const NODE_LEASE_DURATION_SECONDS = 40;
/** nodelease.NodeLeaseRenewIntervalFraction (0.25) × the lease duration. */
export const NODE_LEASE_RENEW_INTERVAL_MS = NODE_LEASE_DURATION_SECONDS * 250;
export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/** Upstream's --max-pods default. */
export const DEFAULT_MAX_PODS = 110;
/** Images listed in node status (nodeStatusMaxImages). */
const MAX_IMAGES = 50;

/** Resource quantities as the API spells them ("4", "16Gi", "110"). */
export type ResourceList = Record<string, string>;

/** What the node reports about its machine (node.status.nodeInfo and friends). */
export interface MachineInfo {
  /** Capacity (cpu, memory, pods, ephemeral-storage, hugepages-*). */
  capacity: ResourceList;
  /** Allocatable; defaults to capacity. */
  allocatable?: ResourceList;
  internalIP: string;
  hostname: string;
  machineID: string;
  systemUUID: string;
  bootID: string;
  kernelVersion: string;
  osImage: string;
  /** GOARCH spelling: amd64, arm64. */
  architecture: string;
  operatingSystem: string;
}

/** GOARCH for node's process.arch. */
export function goArch(a: string = arch()): string {
  return ({ x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[a] ?? a;
}

function readTrim(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

function osImage(): string {
  const text = readTrim('/etc/os-release');
  const m = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text);
  return m?.[1] ?? 'Linux';
}

/** The first non-internal IPv4 address of this host, else 127.0.0.1. */
export function hostInternalIP(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

/**
 * This host as a node (upstream's cadvisor MachineInfo): capacity from the CPUs, memory
 * and root filesystem; allocatable less the default hard eviction thresholds
 * (memory.available 100Mi, nodefs.available 10%), as a kubeadm node reports.
 */
export function hostMachineInfo(opts: { maxPods?: number; internalIP?: string; hostname?: string } = {}): MachineInfo {
  const memKi = Math.floor(totalmem() / 1024);
  let storageBytes = 0;
  try {
    const s = statfsSync('/');
    storageBytes = Number(s.blocks) * Number(s.bsize);
  } catch {
    storageBytes = 0;
  }
  const storageKi = Math.floor(storageBytes / 1024);
  const pods = String(opts.maxPods ?? DEFAULT_MAX_PODS);
  const capacity: ResourceList = {
    cpu: String(cpus().length),
    'ephemeral-storage': `${storageKi}Ki`,
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: `${memKi}Ki`,
    pods,
  };
  const allocatable: ResourceList = {
    ...capacity,
    'ephemeral-storage': String(Math.floor(storageKi * 1024 * 0.9)),
    memory: `${Math.max(0, memKi - 100 * 1024)}Ki`,
  };
  return {
    capacity,
    allocatable,
    internalIP: opts.internalIP ?? hostInternalIP(),
    hostname: opts.hostname ?? hostname(),
    machineID: readTrim('/etc/machine-id'),
    systemUUID: readTrim('/sys/class/dmi/id/product_uuid'),
    bootID: readTrim('/proc/sys/kernel/random/boot_id'),
    kernelVersion: release(),
    osImage: osImage(),
    architecture: goArch(),
    operatingSystem: 'linux',
  };
}

/** A simulated node's machine (kwok's default fake node: 32 CPUs, 256Gi, 110 pods). */
export function simulatedMachineInfo(opts: { name: string; internalIP: string; capacity?: ResourceList }): MachineInfo {
  const capacity: ResourceList = opts.capacity ?? { cpu: '32', 'ephemeral-storage': '1Ti', memory: '256Gi', pods: String(DEFAULT_MAX_PODS) };
  return {
    capacity,
    allocatable: capacity,
    internalIP: opts.internalIP,
    hostname: opts.name,
    machineID: '',
    systemUUID: '',
    bootID: '',
    kernelVersion: 'simulated',
    osImage: 'Flotilla simulated node',
    architecture: goArch(),
    operatingSystem: 'linux',
  };
}

export interface NodeStatusManagerOptions {
  client: Client;
  nodeName: string;
  machine: MachineInfo;
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  wheel: TimerWheel;
  /** spec.podCIDR (and podCIDRs); '' leaves them to the node IPAM controller. */
  podCIDR?: string;
  /** Extra labels (e.g. type=kwok for simulated nodes). */
  labels?: Record<string, string>;
  /** Extra annotations. */
  annotations?: Record<string, string>;
  /** status.daemonEndpoints.kubeletEndpoint.Port: where the kubelet's server listens (default 10250). */
  kubeletPort?: number;
  /** Delay before the first lease renewal (spreads many nodes over the period). */
  leaseFirstRenewMs?: number;
  /**
   * How often the status is computed and, if it changed, written: the kubelet's
   * nodeStatusUpdateFrequency (--node-status-update-frequency; default 10 s). Positive.
   */
  statusUpdateFrequencyMs?: number;
  /**
   * The longest an unchanged status goes unwritten: nodeStatusReportFrequency (a
   * config-file field upstream, no flag; default 5 min). It is checked at each update, so
   * an unchanged status is written at the first update at or after it. Positive.
   */
  statusReportFrequencyMs?: number;
  /** Called with each successful write (for metrics). */
  onWrite?: (what: 'lease' | 'status') => void;
  /** Node events (Starting, NodeHasSufficientMemory, NodeReady …); none when unset. */
  recorder?: EventRecorder;
}

/** Registers one node and keeps its status and Lease fresh (see module comment). */
export class NodeStatusManager {
  readonly nodeName: string;
  readonly #o: NodeStatusManagerOptions;
  readonly #nodes: ResourceClient<Node>;
  readonly #leases: ResourceClient<Lease>;
  #node: Node | undefined;
  /** The status last written, with heartbeat times blanked, to detect change. */
  #lastReported: unknown;
  #lastReportAt = 0;
  #lease: Lease | undefined;
  #runtimeVersion = '';
  #timers: TimerHandle[] = [];
  #stopped = false;
  #statusInFlight = false;
  #leaseInFlight = false;

  constructor(opts: NodeStatusManagerOptions) {
    // A zero or negative period would resync on every wheel tick (upstream's wait.Until spins).
    for (const key of ['statusUpdateFrequencyMs', 'statusReportFrequencyMs'] as const) {
      const v = opts[key];
      if (v !== undefined && !(v > 0)) throw new RangeError(`node ${opts.nodeName}: ${key} must be greater than 0, got ${v}`);
    }
    this.#o = opts;
    this.nodeName = opts.nodeName;
    this.#nodes = opts.client.resource<Node>(Resources.nodes);
    this.#leases = opts.client.resource<Lease>(Resources.leases, NODE_LEASE_NAMESPACE);
  }

  /** The Node as last written or read. */
  get node(): Node | undefined {
    return this.#node;
  }

  get internalIP(): string {
    return this.#o.machine.internalIP;
  }

  /**
   * Registers the node (create, or adopt an existing one with our labels), writes its
   * first status and Lease, then schedules heartbeats. Rejects if registration fails;
   * later heartbeat failures are logged and retried on the next period.
   */
  async start(): Promise<void> {
    const v = await this.#o.runtime.version();
    this.#runtimeVersion = `${v.runtimeName}://${v.runtimeVersion}`;
    await this.register();
    this.#event('Starting', 'Starting kubelet.');
    await this.syncNodeStatus(true);
    this.#event('NodeAllocatableEnforced', 'Updated Node Allocatable limit across pods');
    await this.renewLease();
    if (this.#stopped) return;
    const period = this.#o.statusUpdateFrequencyMs ?? NODE_STATUS_UPDATE_FREQUENCY_MS;
    this.#timers.push(this.#o.wheel.every(period, () => void this.syncNodeStatus(false)));
    this.#timers.push(this.#o.wheel.every(NODE_LEASE_RENEW_INTERVAL_MS, () => void this.renewLease(), this.#o.leaseFirstRenewMs ?? NODE_LEASE_RENEW_INTERVAL_MS));
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#timers) t.cancel();
    this.#timers = [];
  }

  /** Upstream's node reference for events: the UID is the node name. */
  #event(reason: string, message: string): void {
    this.#o.recorder?.event({ apiVersion: 'v1', kind: 'Node', metadata: { name: this.nodeName, uid: this.nodeName } }, 'Normal', reason, message);
  }

  /** Upstream recordNodeStatusEvent. */
  #statusEvent(event: string): void {
    this.#event(event, `Node ${this.nodeName} status is now: ${event}`);
  }

  /** The Node object the kubelet creates (upstream initialNode). */
  initialNode(): Node {
    const m = this.#o.machine;
    const labels: Record<string, string> = {
      'beta.kubernetes.io/arch': m.architecture,
      'beta.kubernetes.io/os': m.operatingSystem,
      'kubernetes.io/arch': m.architecture,
      'kubernetes.io/hostname': m.hostname,
      'kubernetes.io/os': m.operatingSystem,
      ...this.#o.labels,
    };
    const node: Node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: {
        name: this.nodeName,
        labels,
        annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true', ...this.#o.annotations },
      },
      spec: {},
    };
    if (this.#o.podCIDR) node.spec = { podCIDR: this.#o.podCIDR, podCIDRs: [this.#o.podCIDR] };
    return node;
  }

  /** Creates the Node, or on AlreadyExists adds our default labels to the existing one. */
  async register(): Promise<void> {
    const want = this.initialNode();
    try {
      this.#node = await this.#nodes.create(want);
      this.#o.logger.info({ node: this.nodeName }, 'Successfully registered node');
      return;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    const existing = await this.#nodes.get(this.nodeName);
    const labels = existing.metadata?.labels ?? {};
    const missing: Record<string, string> = {};
    for (const [k, v] of Object.entries(want.metadata!.labels!)) if (labels[k] !== v) missing[k] = v;
    const patch: Record<string, unknown> = {};
    if (Object.keys(missing).length > 0) patch.metadata = { labels: missing };
    if (this.#o.podCIDR && !existing.spec?.podCIDR) patch.spec = want.spec;
    this.#node = Object.keys(patch).length > 0 ? await this.#nodes.patch(this.nodeName, PatchType.MergePatch, patch) : existing;
  }

  /** The node status the setters compute now (upstream setNodeStatus). */
  async computeStatus(now: number): Promise<NodeStatus> {
    const m = this.#o.machine;
    const t = formatRFC3339(now);
    const prev = new Map((this.#node?.status?.conditions ?? []).map((c) => [c.type, c]));
    const cond = (type: string, status: string, reason: string, message: string): NodeCondition => {
      const old = prev.get(type);
      // Upstream's setters: a pressure condition records its reason when it appears or
      // changes; Ready records NodeReady/NodeNotReady only on a change.
      if (type === 'Ready') {
        if (old && old.status !== status) this.#statusEvent(status === 'True' ? 'NodeReady' : 'NodeNotReady');
      } else if (!old || old.status !== status) {
        this.#statusEvent(status === 'False' ? reason.replace(/^Kubelet/, 'Node') : reason);
      }
      return {
        lastHeartbeatTime: t,
        lastTransitionTime: old && old.status === status ? old.lastTransitionTime! : t,
        message,
        reason,
        status,
        type,
      };
    };
    const images = (await this.#o.runtime.listImages())
      .sort((a, b) => b.size - a.size)
      .slice(0, MAX_IMAGES)
      .map((i) => ({ names: [...i.repoDigests, ...i.repoTags], sizeBytes: i.size }));
    const status: NodeStatus = {
      addresses: [
        { address: m.internalIP, type: 'InternalIP' },
        { address: m.hostname, type: 'Hostname' },
      ],
      allocatable: { ...(m.allocatable ?? m.capacity) },
      capacity: { ...m.capacity },
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
        cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: this.#o.kubeletPort ?? 10250 } },
      nodeInfo: {
        architecture: m.architecture,
        bootID: m.bootID,
        containerRuntimeVersion: this.#runtimeVersion,
        kernelVersion: m.kernelVersion,
        kubeProxyVersion: '',
        kubeletVersion: KUBELET_VERSION,
        machineID: m.machineID,
        operatingSystem: m.operatingSystem,
        osImage: m.osImage,
        systemUUID: m.systemUUID,
      },
    };
    if (images.length > 0) status.images = images;
    return status;
  }

  /**
   * Computes the status and writes it when it changed (heartbeat times aside) or when the
   * report frequency has passed; `force` writes regardless. Never rejects.
   */
  async syncNodeStatus(force: boolean): Promise<void> {
    if (this.#stopped || this.#statusInFlight) return;
    this.#statusInFlight = true;
    try {
      const now = this.#o.clock.now();
      const status = await this.computeStatus(now);
      const comparable = withoutHeartbeats(status);
      const due = now - this.#lastReportAt >= (this.#o.statusReportFrequencyMs ?? NODE_STATUS_REPORT_FREQUENCY_MS);
      if (!force && !due && deepEqual(comparable, this.#lastReported)) return;
      try {
        this.#node = await this.#nodes.patch(this.nodeName, PatchType.MergePatch, { status }, { subresource: 'status' });
      } catch (err) {
        if (!isNotFound(err)) throw err;
        // Someone deleted our Node: register again, as the kubelet does on its next sync.
        await this.register();
        this.#node = await this.#nodes.patch(this.nodeName, PatchType.MergePatch, { status }, { subresource: 'status' });
      }
      this.#lastReported = comparable;
      this.#lastReportAt = now;
      this.#o.onWrite?.('status');
    } catch (err) {
      this.#o.logger.warn({ node: this.nodeName, err: (err as Error).message }, 'Error updating node status, will retry');
    } finally {
      this.#statusInFlight = false;
    }
  }

  /** The Lease this node holds, renewed now (upstream newLease). */
  #desiredLease(base: Lease | undefined, now: number): Lease {
    const lease: Lease = base
      ? { ...base, metadata: { ...base.metadata }, spec: { ...base.spec } }
      : { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.nodeName, namespace: NODE_LEASE_NAMESPACE }, spec: {} };
    lease.spec!.holderIdentity = this.nodeName;
    lease.spec!.leaseDurationSeconds = NODE_LEASE_DURATION_SECONDS;
    lease.spec!.renewTime = formatRFC3339Micro(now);
    const uid = this.#node?.metadata?.uid;
    if (uid && !(lease.metadata!.ownerReferences ?? []).some((r) => r.uid === uid)) {
      lease.metadata!.ownerReferences = [{ apiVersion: 'v1', kind: 'Node', name: this.nodeName, uid }];
    }
    return lease;
  }

  /**
   * Renews (or creates) the Lease with an update of the last copy, so a renewal costs one
   * request; a conflict drops the copy and the next attempt reads the Lease first. Never
   * rejects.
   */
  async renewLease(): Promise<void> {
    if (this.#stopped || this.#leaseInFlight) return;
    this.#leaseInFlight = true;
    try {
      const now = this.#o.clock.now();
      if (!this.#lease) {
        try {
          this.#lease = await this.#leases.get(this.nodeName);
        } catch (err) {
          if (!isNotFound(err)) throw err;
          this.#lease = await this.#leases.create(this.#desiredLease(undefined, now));
          this.#o.onWrite?.('lease');
          return;
        }
      }
      this.#lease = await this.#leases.update(this.#desiredLease(this.#lease, now));
      this.#o.onWrite?.('lease');
    } catch (err) {
      if (isConflict(err) || isNotFound(err)) this.#lease = undefined;
      this.#o.logger.warn({ node: this.nodeName, err: (err as Error).message }, 'Failed to update lease');
    } finally {
      this.#leaseInFlight = false;
    }
  }
}

function withoutHeartbeats(status: NodeStatus): unknown {
  return { ...status, conditions: (status.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: undefined })) };
}
