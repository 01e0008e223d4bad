/**
 * {@link Runtime} over the CRI (runtime.v1 RuntimeService + ImageService) on a unix
 * socket: containerd's CRI plugin, or any CRI runtime. The messages are our own subset of
 * the published API (api.proto beside this file, copied next to the compiled JavaScript).
 *
 * Times arrive as int64 nanoseconds and leave as milliseconds; gRPC errors become
 * {@link RuntimeError}s whose message is the status details, as the kubelet shows them.
 * The CRI's container list carries no exit codes, so listContainers asks ContainerStatus
 * for each container (upstream getPodContainerStatuses does the same).
 */
import type { Duplex } from 'node:stream';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, loadPackageDefinition, status as grpcStatus, type Client as GrpcClient, type GrpcObject, type ServiceClientConstructor, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import {
  RuntimeError,
  type ContainerConfig,
  type ContainerFilter,
  type ContainerListItem,
  type ContainerState,
  type ContainerStatus,
  type ExecSyncResult,
  type StreamOptions,
  type StreamSession,
  type ImageInfo,
  type PodSandboxConfig,
  type PodSandboxListItem,
  type PodSandboxState,
  type PodSandboxStatus,
  type Runtime,
  type RuntimeErrorCode,
  type RuntimeVersion,
} from '../runtime.js';
import { criPortForward, criStreamSession } from './stream.js';

const protoPath = join(dirname(fileURLToPath(import.meta.url)), 'api.proto');

type Call = (req: unknown, opts: { deadline: number }, cb: (err: ServiceError | null, res: unknown) => void) => void;

export interface CriRuntimeOptions {
  /** "unix:///run/containerd/containerd.sock" or a bare socket path. */
  endpoint: string;
  /** Per-call timeout (default 2 min; image pulls take up to 10 min). */
  timeoutMs?: number;
}

// ---- wire shapes (keepCase, longs as strings, enums as names) ----

interface PbMetadata {
  name: string;
  uid?: string;
  namespace?: string;
  attempt: number;
}
interface PbPodSandbox {
  id: string;
  metadata: PbMetadata | null;
  state: 'SANDBOX_READY' | 'SANDBOX_NOTREADY';
  created_at: string;
  labels: Record<string, string>;
}
interface PbSandboxStatus extends PbPodSandbox {
  network: { ip: string; additional_ips: Array<{ ip: string }> } | null;
}

/** The fields a ListPodSandbox item and a PodSandboxStatus share. */
function sandboxListItem(s: PbPodSandbox): PodSandboxListItem {
  return {
    id: s.id,
    name: s.metadata?.name ?? '',
    namespace: s.metadata?.namespace ?? '',
    uid: s.metadata?.uid ?? '',
    attempt: s.metadata?.attempt ?? 0,
    state: s.state === 'SANDBOX_READY' ? 'ready' : 'notready',
    createdAt: nsToMs(s.created_at),
    labels: s.labels ?? {},
  };
}
interface PbContainerStatus {
  id: string;
  metadata: PbMetadata | null;
  state: 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';
  created_at: string;
  started_at: string;
  finished_at: string;
  exit_code: number;
  image: { image: string } | null;
  image_ref: string;
  reason: string;
  message: string;
  labels: Record<string, string>;
  log_path: string;
}
interface PbImage {
  id: string;
  repo_tags: string[];
  repo_digests: string[];
  size: string;
}

function nsToMs(ns: string | number | undefined): number {
  if (ns === undefined || ns === '' || ns === '0' || ns === 0) return 0;
  return Number(BigInt(ns) / 1_000_000n);
}

const containerStates: Record<PbContainerStatus['state'], ContainerState> = {
  CONTAINER_CREATED: 'created',
  CONTAINER_RUNNING: 'running',
  CONTAINER_EXITED: 'exited',
  CONTAINER_UNKNOWN: 'unknown',
};
const containerStateNames: Record<ContainerState, PbContainerStatus['state']> = {
  created: 'CONTAINER_CREATED',
  running: 'CONTAINER_RUNNING',
  exited: 'CONTAINER_EXITED',
  unknown: 'CONTAINER_UNKNOWN',
};

function toRuntimeError(err: ServiceError): RuntimeError {
  const codes: Partial<Record<number, RuntimeErrorCode>> = {
    [grpcStatus.NOT_FOUND]: 'NotFound',
    [grpcStatus.INVALID_ARGUMENT]: 'InvalidArgument',
    [grpcStatus.UNAVAILABLE]: 'Unavailable',
    [grpcStatus.FAILED_PRECONDITION]: 'FailedPrecondition',
  };
  return new RuntimeError(codes[err.code] ?? 'Unknown', err.details || err.message);
}

/** See the module comment. */
export class CriRuntime implements Runtime {
  readonly #runtime: GrpcClient;
  readonly #images: GrpcClient;
  readonly #timeoutMs: number;

  constructor(opts: CriRuntimeOptions) {
    const def = loadSync(protoPath, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
    const pkg = (loadPackageDefinition(def).runtime as GrpcObject).v1 as GrpcObject;
    const target = opts.endpoint.startsWith('unix:') ? opts.endpoint : `unix://${opts.endpoint}`;
    const Runtime = pkg.RuntimeService as ServiceClientConstructor;
    const Images = pkg.ImageService as ServiceClientConstructor;
    this.#runtime = new Runtime(target, credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 << 20 });
    this.#images = new Images(target, credentials.createInsecure(), { 'grpc.max_receive_message_length': 16 << 20 });
    this.#timeoutMs = opts.timeoutMs ?? 120_000;
  }

  close(): void {
    this.#runtime.close();
    this.#images.close();
  }

  #call<T>(client: GrpcClient, method: string, req: unknown, timeoutMs = this.#timeoutMs): Promise<T> {
    const fn = (client as unknown as Record<string, Call>)[method]!.bind(client);
    return new Promise((resolve, reject) => {
      fn(req, { deadline: Date.now() + timeoutMs }, (err, res) => {
        if (err) reject(toRuntimeError(err));
        else resolve(res as T);
      });
    });
  }

  async version(): Promise<RuntimeVersion> {
    const r = await this.#call<{ runtime_name: string; runtime_version: string; runtime_api_version: string }>(this.#runtime, 'Version', { version: 'v1' });
    return { runtimeName: r.runtime_name, runtimeVersion: r.runtime_version, runtimeApiVersion: r.runtime_api_version };
  }

  #sandboxConfig(c: PodSandboxConfig): unknown {
    return {
      metadata: { name: c.name, uid: c.uid, namespace: c.namespace, attempt: c.attempt },
      hostname: c.hostname ?? '',
      log_directory: c.logDirectory ?? '',
      dns_config: c.dnsConfig ? { servers: c.dnsConfig.servers, searches: c.dnsConfig.searches, options: c.dnsConfig.options } : null,
      port_mappings: (c.portMappings ?? []).map((p) => ({ protocol: p.protocol, container_port: p.containerPort, host_port: p.hostPort, host_ip: p.hostIp ?? '' })),
      labels: c.labels,
      annotations: c.annotations ?? {},
      linux: {
        cgroup_parent: c.cgroupParent ?? '',
        security_context: {
          namespace_options: namespaceOptions(c),
          privileged: c.privileged === true,
        },
      },
    };
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const r = await this.#call<{ pod_sandbox_id: string }>(this.#runtime, 'RunPodSandbox', { config: this.#sandboxConfig(config) });
    return r.pod_sandbox_id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.#call(this.#runtime, 'StopPodSandbox', { pod_sandbox_id: id });
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.#call(this.#runtime, 'RemovePodSandbox', { pod_sandbox_id: id });
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const r = await this.#call<{ status: PbSandboxStatus }>(this.#runtime, 'PodSandboxStatus', { pod_sandbox_id: id });
    const s = r.status;
    return { ...sandboxListItem(s), ip: s.network?.ip ?? '', additionalIPs: (s.network?.additional_ips ?? []).map((x) => x.ip) };
  }

  async #listPodSandbox(filter: { labelSelector?: Record<string, string>; state?: PodSandboxState }): Promise<PbPodSandbox[]> {
    const f: Record<string, unknown> = {};
    if (filter.labelSelector) f.label_selector = filter.labelSelector;
    if (filter.state) f.state = { state: filter.state === 'ready' ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY' };
    const r = await this.#call<{ items: PbPodSandbox[] }>(this.#runtime, 'ListPodSandbox', { filter: f });
    return r.items ?? [];
  }

  async listPodSandboxStates(filter: { labelSelector?: Record<string, string>; state?: PodSandboxState } = {}): Promise<PodSandboxListItem[]> {
    return (await this.#listPodSandbox(filter)).map(sandboxListItem);
  }

  async listPodSandbox(filter: { labelSelector?: Record<string, string>; state?: PodSandboxState } = {}): Promise<PodSandboxStatus[]> {
    const out: PodSandboxStatus[] = [];
    for (const item of await this.#listPodSandbox(filter)) {
      try {
        out.push(await this.podSandboxStatus(item.id));
      } catch (err) {
        if (!(err instanceof RuntimeError && err.code === 'NotFound')) throw err;
      }
    }
    return out;
  }

  async pullImage(image: string): Promise<string> {
    const r = await this.#call<{ image_ref: string }>(this.#images, 'PullImage', { image: { image } }, 10 * 60_000);
    return r.image_ref;
  }

  async imageStatus(image: string): Promise<ImageInfo | undefined> {
    const r = await this.#call<{ image: PbImage | null }>(this.#images, 'ImageStatus', { image: { image } });
    return r.image ? toImageInfo(r.image) : undefined;
  }

  async listImages(): Promise<ImageInfo[]> {
    const r = await this.#call<{ images: PbImage[] }>(this.#images, 'ListImages', {});
    return (r.images ?? []).map(toImageInfo);
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    const r = await this.#call<{ container_id: string }>(this.#runtime, 'CreateContainer', {
      pod_sandbox_id: podSandboxId,
      config: {
        metadata: { name: config.name, attempt: config.attempt },
        image: { image: config.image, user_specified_image: config.userImage },
        command: config.command,
        args: config.args,
        working_dir: config.workingDir ?? '',
        envs: config.env,
        mounts: (config.mounts ?? []).map((m) => ({ container_path: m.containerPath, host_path: m.hostPath, readonly: m.readonly, selinux_relabel: m.selinuxRelabel === true })),
        labels: config.labels,
        annotations: config.annotations ?? {},
        log_path: config.logPath ?? '',
        stdin: config.stdin === true,
        stdin_once: config.stdinOnce === true,
        tty: config.tty === true,
        linux: linuxContainerConfig(config, sandboxConfig),
      },
      sandbox_config: this.#sandboxConfig(sandboxConfig),
    });
    return r.container_id;
  }

  async startContainer(id: string): Promise<void> {
    await this.#call(this.#runtime, 'StartContainer', { container_id: id });
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    await this.#call(this.#runtime, 'StopContainer', { container_id: id, timeout: String(timeoutSeconds) }, this.#timeoutMs + timeoutSeconds * 1000);
  }

  async removeContainer(id: string): Promise<void> {
    await this.#call(this.#runtime, 'RemoveContainer', { container_id: id });
  }

  async #listContainers(filter: ContainerFilter): Promise<Array<{ id: string; pod_sandbox_id: string; state: PbContainerStatus['state']; labels: Record<string, string> }>> {
    const f: Record<string, unknown> = {};
    if (filter.podSandboxId) f.pod_sandbox_id = filter.podSandboxId;
    if (filter.labelSelector) f.label_selector = filter.labelSelector;
    if (filter.state) f.state = { state: containerStateNames[filter.state] };
    const r = await this.#call<{ containers: Array<{ id: string; pod_sandbox_id: string; state: PbContainerStatus['state']; labels: Record<string, string> }> }>(this.#runtime, 'ListContainers', { filter: f });
    return r.containers ?? [];
  }

  async listContainerStates(filter: ContainerFilter = {}): Promise<ContainerListItem[]> {
    return (await this.#listContainers(filter)).map((c) => ({ id: c.id, podSandboxId: c.pod_sandbox_id, state: containerStates[c.state] ?? 'unknown', labels: c.labels ?? {} }));
  }

  async listContainers(filter: ContainerFilter = {}): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    for (const c of await this.#listContainers(filter)) {
      try {
        out.push({ ...(await this.containerStatus(c.id)), podSandboxId: c.pod_sandbox_id });
      } catch (err) {
        // Removed between the list and the status: as if the list had not seen it.
        if (!(err instanceof RuntimeError && err.code === 'NotFound')) throw err;
      }
    }
    return out;
  }

  /**
   * CRI ExecSync. timeoutSeconds 0 means no limit on the runtime's side; the gRPC deadline
   * still allows the per-call timeout beyond it.
   */
  async execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResult> {
    const r = await this.#call<{ stdout: Buffer | null; stderr: Buffer | null; exit_code: number }>(
      this.#runtime,
      'ExecSync',
      { container_id: containerId, cmd, timeout: String(Math.max(0, Math.ceil(timeoutSeconds))) },
      this.#timeoutMs + Math.max(0, timeoutSeconds) * 1000,
    );
    return { stdout: Buffer.from(r.stdout ?? []), stderr: Buffer.from(r.stderr ?? []), exitCode: r.exit_code ?? 0 };
  }

  /** CRI Exec: the one-use URL on the runtime's stream server for this command. */
  async execUrl(containerId: string, cmd: string[], opts: StreamOptions): Promise<string> {
    const r = await this.#call<{ url: string }>(this.#runtime, 'Exec', {
      container_id: containerId,
      cmd,
      tty: opts.tty,
      stdin: opts.stdin,
      stdout: opts.stdout,
      // The CRI forbids stderr with a TTY (both arrive on stdout).
      stderr: opts.stderr && !opts.tty,
    });
    return r.url;
  }

  /** CRI Attach: the one-use URL on the runtime's stream server for attaching to the container. */
  async attachUrl(containerId: string, opts: StreamOptions): Promise<string> {
    const r = await this.#call<{ url: string }>(this.#runtime, 'Attach', {
      container_id: containerId,
      stdin: opts.stdin,
      tty: opts.tty,
      stdout: opts.stdout,
      stderr: opts.stderr && !opts.tty,
    });
    return r.url;
  }

  /** CRI PortForward: the one-use URL on the runtime's stream server for the sandbox's ports. */
  async portForwardUrl(podSandboxId: string, ports: number[]): Promise<string> {
    const r = await this.#call<{ url: string }>(this.#runtime, 'PortForward', { pod_sandbox_id: podSandboxId, port: ports });
    return r.url;
  }

  /** CRI Exec, then the stream server's URL over SPDY (stream.ts). */
  async exec(containerId: string, cmd: string[], opts: StreamOptions): Promise<StreamSession> {
    return criStreamSession(await this.execUrl(containerId, cmd, opts), opts);
  }

  /** CRI Attach, then the stream server's URL over SPDY (stream.ts). */
  async attach(containerId: string, opts: StreamOptions): Promise<StreamSession> {
    return criStreamSession(await this.attachUrl(containerId, opts), opts);
  }

  /** CRI PortForward: the runtime dials the port inside the sandbox's network namespace. */
  async portForward(podSandboxId: string, port: number): Promise<Duplex> {
    return criPortForward(await this.portForwardUrl(podSandboxId, [port]), port);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const r = await this.#call<{ status: PbContainerStatus }>(this.#runtime, 'ContainerStatus', { container_id: id });
    const s = r.status;
    return {
      id: s.id,
      podSandboxId: '',
      name: s.metadata?.name ?? '',
      attempt: s.metadata?.attempt ?? 0,
      state: containerStates[s.state] ?? 'unknown',
      createdAt: nsToMs(s.created_at),
      startedAt: nsToMs(s.started_at),
      finishedAt: nsToMs(s.finished_at),
      exitCode: s.exit_code,
      reason: s.reason,
      message: s.message,
      image: s.image?.image ?? '',
      imageRef: s.image_ref,
      labels: s.labels ?? {},
      logPath: s.log_path ?? '',
    };
  }
}

/** CRI NamespaceOption of a sandbox (and its containers): pod network unless host network, own PID namespace. */
function namespaceOptions(c: PodSandboxConfig): unknown {
  return { network: c.hostNetwork ? 'NODE' : 'POD', pid: 'CONTAINER', ipc: 'POD' };
}

/** CRI LinuxContainerConfig (resources, security context) of a container. */
function linuxContainerConfig(config: ContainerConfig, sandbox: PodSandboxConfig): unknown {
  const r = config.resources;
  const sc = config.securityContext ?? {};
  return {
    resources: r
      ? { cpu_period: String(r.cpuPeriod), cpu_quota: String(r.cpuQuota), cpu_shares: String(r.cpuShares), memory_limit_in_bytes: String(r.memoryLimitInBytes), oom_score_adj: String(r.oomScoreAdj ?? 0) }
      : null,
    security_context: {
      capabilities: sc.capabilities ? { add_capabilities: sc.capabilities.add, drop_capabilities: sc.capabilities.drop } : null,
      privileged: sc.privileged === true,
      namespace_options: namespaceOptions(sandbox),
      run_as_user: sc.runAsUser !== undefined ? { value: String(sc.runAsUser) } : null,
      run_as_username: sc.runAsUsername ?? '',
      readonly_rootfs: sc.readonlyRootfs === true,
      supplemental_groups: (sc.supplementalGroups ?? []).map(String),
      no_new_privs: sc.noNewPrivs === true,
      run_as_group: sc.runAsGroup !== undefined ? { value: String(sc.runAsGroup) } : null,
    },
  };
}

function toImageInfo(i: PbImage): ImageInfo {
  return { id: i.id, repoTags: i.repo_tags ?? [], repoDigests: i.repo_digests ?? [], size: Number(i.size) };
}
