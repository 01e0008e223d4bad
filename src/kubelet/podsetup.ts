/**
 * The glue between the pod workers and {@link podconfig} / {@link VolumeManager}: one per
 * node, holding the node's DNS settings, capabilities and volume manager, and answering
 * the two questions the workers ask — what goes into this pod's sandbox config, and what
 * goes into this container's config (upstream generatePodSandboxConfig and
 * generateContainerConfig).
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Client } from '../client/interface.js';
import type { Container, Pod, Service } from '../client/objects.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import {
  MASTER_SERVICE_NAMESPACE,
  clientObjectGetter,
  containerSecurityContext,
  expandCommandAndArgs,
  linuxContainerResources,
  makeEnvironment,
  missingCapabilities,
  parseResolvConf,
  podDNSConfig,
  portMappings,
  sandboxPrivileged,
  type ClusterDNSOptions,
  type InvalidEnvKeys,
  type ObjectGetter,
} from './podconfig.js';
import type { ContainerConfig, ContainerStatus, PodSandboxConfig, PodSandboxStatus } from './runtime.js';
import { VOLUME_REFRESH_MS, VolumeManager, type VolumeFailure } from './volumes.js';
import { parseQuantity } from '../apimachinery/quantity.js';

/** The cluster DNS Service IP kubeadm clusters use (upstream --cluster-dns has no default). */
export const DEFAULT_CLUSTER_DNS = '10.96.0.10';
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export interface PodSetupOptions {
  client: Client;
  clock: Clock;
  logger: Logger;
  /**
   * The kubelet root directory (upstream --root-dir). Volumes, /etc/hosts and termination
   * logs are managed only when set; without it (the simulated runtime) containers get no mounts.
   */
  rootDir?: string;
  /** Cluster DNS server IPs (default [10.96.0.10]); [] makes ClusterFirst pods use the host's resolver. */
  clusterDNS?: string[];
  /** Default cluster.local. */
  clusterDomain?: string;
  /** The host resolver file for Default pods and search paths (default /etc/resolv.conf). */
  resolvConf?: string;
  /** Node allocatable, for downward-API limits left unset and the OOM score of burstable pods. */
  nodeAllocatable?: () => Record<string, string> | undefined;
  /** Capabilities no container may add here (default: those missing from this process's bounding set). */
  unavailableCapabilities?: string[];
  /** ConfigMaps, Secrets and Services (default: reads through client). */
  getter?: ObjectGetter;
  /**
   * Give containers the service environment variables (KUBERNETES_SERVICE_HOST, …).
   * Default: when rootDir is set, i.e. for real containers; the simulated runtime skips
   * the Service reads.
   */
  serviceEnv?: boolean;
  /**
   * Back emptyDir medium Memory and Secret, downward API and projected volumes by tmpfs
   * (VolumeManagerOptions.memoryBacked): for real containers. Honoured only when this
   * process runs as root on Linux, else they stay plain directories. Default false.
   */
  memoryBackedVolumes?: boolean;
}

/** What a container's config gets from its pod spec beyond name, image and labels. */
export type ContainerExtras = Pick<ContainerConfig, 'command' | 'args' | 'env' | 'mounts' | 'resources' | 'securityContext' | 'stdin' | 'stdinOnce' | 'tty'>;

/** Upstream MaxContainerTerminationMessageLength and the log fallback's limits. */
const MAX_TERMINATION_MESSAGE = 4096;
const MAX_TERMINATION_LOG_LINES = 80;
const MAX_TERMINATION_LOG_BYTES = 2048;

async function readHead(path: string, max: number): Promise<string> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return '';
  }
  try {
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

/**
 * The text of a CRI log file's last `lines` lines (`<time> <stream> <P|F> <text>`; P
 * marks a partial line continued by the next), at most `maxBytes` from the end.
 */
export async function lastLogText(path: string, lines: number, maxBytes: number): Promise<string> {
  let raw: string;
  try {
    const fh = await open(path, 'r');
    try {
      const { size } = await fh.stat();
      // Enough of the file's end for `lines` full entries of typical length.
      const want = Math.min(size, Math.max(maxBytes * 4, 64 * 1024));
      const buf = Buffer.alloc(want);
      const { bytesRead } = await fh.read(buf, 0, want, size - want);
      raw = buf.subarray(0, bytesRead).toString('utf8');
      if (want < size) raw = raw.slice(raw.indexOf('\n') + 1);
    } finally {
      await fh.close();
    }
  } catch {
    return '';
  }
  const out: string[] = [];
  let partial = '';
  for (const line of raw.split('\n')) {
    const m = /^\S+ (?:stdout|stderr) ([PF]) ?(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'P') {
      partial += m[2];
      continue;
    }
    out.push(partial + m[2]);
    partial = '';
  }
  const text = out.slice(-lines).map((l) => `${l}\n`).join('');
  const b = Buffer.from(text);
  return b.length <= maxBytes ? text : b.subarray(b.length - maxBytes).toString('utf8');
}

/** Host files read once per process (one PodSetup per node, thousands with simulated nodes). */
const hostFiles = new Map<string, string>();

function readOr(path: string, fallback: string): string {
  let v = hostFiles.get(path);
  if (v === undefined) {
    try {
      v = readFileSync(path, 'utf8');
    } catch {
      v = fallback;
    }
    hostFiles.set(path, v);
  }
  return v;
}

/** See the module comment. */
export class PodSetup {
  readonly #o: PodSetupOptions;
  readonly #getter: ObjectGetter;
  readonly #unavailableCaps: string[];
  readonly volumes: VolumeManager | undefined;
  #dns: ClusterDNSOptions | undefined;
  /** Termination messages by pod UID and container ID (an exited container's never changes). */
  readonly #terminationMessages = new Map<string, Map<string, string>>();

  constructor(opts: PodSetupOptions) {
    this.#o = opts;
    this.#getter = opts.getter ?? clientObjectGetter(opts.client);
    this.#unavailableCaps = opts.unavailableCapabilities ?? missingCapabilities(readOr('/proc/self/status', ''));
    this.volumes = opts.rootDir
      ? new VolumeManager({
          rootDir: opts.rootDir,
          client: opts.client,
          getter: this.#getter,
          clock: opts.clock,
          logger: opts.logger,
          clusterDomain: opts.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
          nodeAllocatable: opts.nodeAllocatable,
          memoryBacked: opts.memoryBackedVolumes === true && process.platform === 'linux' && process.getuid?.() === 0,
        })
      : undefined;
  }

  #dnsOptions(): ClusterDNSOptions {
    // The host resolver is read once, as upstream reads --resolv-conf at start.
    this.#dns ??= {
      clusterDNS: this.#o.clusterDNS ?? [DEFAULT_CLUSTER_DNS],
      clusterDomain: this.#o.clusterDomain ?? DEFAULT_CLUSTER_DOMAIN,
      hostDNS: parseResolvConf(readOr(this.#o.resolvConf ?? '/etc/resolv.conf', '')),
    };
    return this.#dns;
  }

  /** The Services whose variables the pod's containers get (upstream reads them from the service lister). */
  async #services(pod: Pod): Promise<Service[] | undefined> {
    const list = this.#getter.services?.bind(this.#getter);
    if (!(this.#o.serviceEnv ?? this.#o.rootDir !== undefined) || !list) return undefined;
    const ns = pod.metadata?.namespace ?? '';
    const out = pod.spec?.enableServiceLinks === false ? [] : await list(ns);
    if (ns !== MASTER_SERVICE_NAMESPACE || pod.spec?.enableServiceLinks === false) out.push(...(await list(MASTER_SERVICE_NAMESPACE)).filter((s) => s.metadata?.name === 'kubernetes'));
    return out;
  }

  /** Sets up the pod's volumes (nothing without a root dir); the failures, for FailedMount events. */
  async setUpVolumes(pod: Pod): Promise<VolumeFailure[]> {
    return this.volumes ? this.volumes.setUpPod(pod) : [];
  }

  /**
   * How soon the pod should sync again to refresh its ConfigMap/Secret/projected/downward
   * API volumes; undefined when it has none (or volumes are not managed).
   */
  refreshPeriodMs(pod: Pod): number | undefined {
    if (!this.volumes) return undefined;
    const refreshable = (pod.spec?.volumes ?? []).some((v) => v.configMap || v.secret || v.projected || v.downwardAPI);
    return refreshable ? VOLUME_REFRESH_MS : undefined;
  }

  /**
   * Exited containers with the message they left (upstream getTerminationMessage): the
   * termination-message file (first 4096 bytes), or with FallbackToLogsOnError and a
   * failure, the end of the log (last 80 lines, at most 2048 bytes); appended to the
   * runtime's own message after ": ". Read once per container.
   */
  async withTerminationMessages(pod: Pod, containers: ContainerStatus[]): Promise<ContainerStatus[]> {
    const volumes = this.volumes;
    if (!volumes) return containers;
    const uid = pod.metadata?.uid ?? '';
    let cache = this.#terminationMessages.get(uid);
    if (!cache) this.#terminationMessages.set(uid, (cache = new Map()));
    const specs = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    return Promise.all(
      containers.map(async (c) => {
        if (c.state !== 'exited') return c;
        let msg = cache.get(c.id);
        if (msg === undefined) {
          const spec = specs.find((x) => x.name === c.name);
          msg = '';
          if (spec && spec.terminationMessagePath !== '') msg = await readHead(volumes.terminationLogPath(uid, c.name, c.attempt), MAX_TERMINATION_MESSAGE);
          if (msg === '' && spec?.terminationMessagePolicy === 'FallbackToLogsOnError' && c.exitCode !== 0 && c.reason !== 'ContainerCannotRun' && c.logPath) {
            msg = await lastLogText(c.logPath, MAX_TERMINATION_LOG_LINES, MAX_TERMINATION_LOG_BYTES);
          }
          cache.set(c.id, msg);
        }
        if (msg === '') return c;
        return { ...c, message: c.message ? `${c.message}: ${msg}` : msg };
      }),
    );
  }

  /** Removes what the pod had on disk. */
  async tearDown(uid: string): Promise<void> {
    this.#terminationMessages.delete(uid);
    await this.volumes?.tearDownPod(uid);
  }

  /** Removes pod directories of pods not in `active`. */
  async cleanupOrphans(active: ReadonlySet<string>): Promise<number> {
    return this.volumes ? this.volumes.cleanupOrphans(active) : 0;
  }

  /** DNS, host ports and the privileged flag of the pod's sandbox; `missingClusterDNS` for upstream's event. */
  sandboxExtras(pod: Pod): { extras: Pick<PodSandboxConfig, 'dnsConfig' | 'portMappings' | 'privileged'>; missingClusterDNS: boolean } {
    const dns = podDNSConfig(pod, this.#dnsOptions());
    return { extras: { dnsConfig: dns.config, portMappings: portMappings(pod), privileged: sandboxPrivileged(pod) }, missingClusterDNS: dns.missingClusterDNS };
  }

  /**
   * The container's environment, command/args with $(VAR) expanded, mounts, cgroup
   * resources and security context. Rejects with a ContainerConfigError (the waiting
   * reason and upstream message) when the spec cannot be satisfied.
   */
  async containerExtras(pod: Pod, c: Container, attempt: number, sandbox: PodSandboxStatus, hostIP: string, onInvalidKeys?: (k: InvalidEnvKeys) => void): Promise<ContainerExtras> {
    const podIPs = pod.spec?.hostNetwork ? [hostIP] : [sandbox.ip, ...sandbox.additionalIPs].filter((ip) => ip !== '');
    const allocatable = this.#o.nodeAllocatable?.();
    const services = await this.#services(pod);
    const env = await makeEnvironment(pod, c, { podIPs, hostIPs: hostIP ? [hostIP] : [], nodeAllocatable: allocatable, services }, this.#getter, onInvalidKeys);
    const { command, args } = expandCommandAndArgs(c, env);
    const securityContext = containerSecurityContext(pod, c, this.#unavailableCaps);
    let memoryCapacity: number | undefined;
    try {
      memoryCapacity = allocatable?.memory ? parseQuantity(allocatable.memory).value() : undefined;
    } catch {
      memoryCapacity = undefined;
    }
    let mounts: ContainerExtras['mounts'];
    if (this.volumes) {
      const hosts = podIPs.length > 0 ? await this.volumes.writeHostsFile(pod, podIPs) : undefined;
      mounts = await this.volumes.mountsFor(pod, c, attempt, env, hosts);
    }
    return {
      command,
      args,
      env,
      mounts,
      resources: linuxContainerResources(pod, c, memoryCapacity),
      securityContext,
      stdin: c.stdin === true,
      stdinOnce: c.stdinOnce === true,
      tty: c.tty === true,
    };
  }
}
