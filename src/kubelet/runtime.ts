/**
 * The container runtime contract the kubelet drives, shaped after the CRI (runtime.v1
 * RuntimeService + ImageService): pod sandboxes, images, containers. A CRI/containerd
 * implementation (src/kubelet/cri/) and {@link SimulatedRuntime} (no processes, for scale
 * tests and machines without containerd) both implement it, so the pod workers never know
 * which one they run on.
 *
 * Names and states follow the CRI messages (PodSandboxStatus, ContainerStatus, Image);
 * times are Unix milliseconds (the CRI uses nanoseconds).
 */

/** CRI PodSandboxState. */
export type PodSandboxState = 'ready' | 'notready';

/** CRI ContainerState. */
export type ContainerState = 'created' | 'running' | 'exited' | 'unknown';

/** The labels the kubelet puts on sandboxes and containers (upstream's io.kubernetes.* labels). */
export const LabelPodName = 'io.kubernetes.pod.name';
export const LabelPodNamespace = 'io.kubernetes.pod.namespace';
export const LabelPodUID = 'io.kubernetes.pod.uid';
export const LabelContainerName = 'io.kubernetes.container.name';

/** CRI PodSandboxMetadata + the parts of PodSandboxConfig a runtime needs. */
export interface PodSandboxConfig {
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  hostname?: string;
  /** kubelet convention: /var/log/pods/<ns>_<pod>_<uid>. */
  logDirectory?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** Use the node's network namespace (no pod IP of its own). */
  hostNetwork?: boolean;
  /** CRI DNSConfig: what the runtime writes into the pod's /etc/resolv.conf. */
  dnsConfig?: DNSConfig;
  /** CRI PortMapping: containers' hostPorts (the CNI portmap plugin). */
  portMappings?: PortMapping[];
  /** CRI LinuxPodSandboxConfig.cgroup_parent (cgroupfs path of the pod's QoS cgroup). */
  cgroupParent?: string;
  /** Any container of the pod is privileged (CRI LinuxSandboxSecurityContext.privileged). */
  privileged?: boolean;
}

/** CRI DNSConfig. */
export interface DNSConfig {
  servers: string[];
  searches: string[];
  options: string[];
}

/** CRI PortMapping. */
export interface PortMapping {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  containerPort: number;
  hostPort: number;
  hostIp?: string;
}

/** CRI Mount: a host path bind-mounted into the container. */
export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly: boolean;
  /** Mount the host path's sub-tree recursively read-only etc. are not modelled. */
  selinuxRelabel?: boolean;
}

/** CRI LinuxContainerResources (cgroup v1 values, as upstream's kuberuntime computes them). */
export interface LinuxContainerResources {
  cpuPeriod: number;
  cpuQuota: number;
  cpuShares: number;
  memoryLimitInBytes: number;
  oomScoreAdj?: number;
}

/** CRI LinuxContainerSecurityContext, the basics. */
export interface LinuxContainerSecurityContext {
  privileged?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  runAsUsername?: string;
  /** Extra groups of the container's processes: the pod's fsGroup, then its supplementalGroups. */
  supplementalGroups?: number[];
  readonlyRootfs?: boolean;
  noNewPrivs?: boolean;
  capabilities?: { add: string[]; drop: string[] };
}

/** CRI PodSandboxStatus. */
export interface PodSandboxStatus {
  id: string;
  name: string;
  namespace: string;
  uid: string;
  attempt: number;
  state: PodSandboxState;
  createdAt: number;
  /** The pod's primary IP ('' for host-network sandboxes). */
  ip: string;
  additionalIPs: string[];
  labels: Record<string, string>;
}

/** One entry of the runtime's sandbox list (CRI PodSandbox). */
export type PodSandboxListItem = Omit<PodSandboxStatus, 'ip' | 'additionalIPs'>;

/** CRI Image. */
export interface ImageInfo {
  /** The image ID (sha256:…). */
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: number;
}

/** CRI ContainerConfig, reduced to what the kubelet sends. */
export interface ContainerConfig {
  name: string;
  /** Restart count of this container name (CRI metadata.attempt). */
  attempt: number;
  /** The image reference resolved by pullImage/imageStatus. */
  image: string;
  /** The image as the pod spec names it. */
  userImage: string;
  command: string[];
  args: string[];
  env: Array<{ key: string; value: string }>;
  workingDir?: string;
  labels: Record<string, string>;
  annotations?: Record<string, string>;
  /** Relative to the sandbox's logDirectory: <container>/<attempt>.log. */
  logPath?: string;
  /** Volumes (emptyDir, hostPath, configMap, secret, projected token, /etc/hosts …). */
  mounts?: Mount[];
  resources?: LinuxContainerResources;
  securityContext?: LinuxContainerSecurityContext;
  /** Keep stdin open (kubectl attach / run -i). */
  stdin?: boolean;
  stdinOnce?: boolean;
  tty?: boolean;
}

/** CRI ContainerStatus (plus the sandbox id, which CRI's Container carries). */
export interface ContainerStatus {
  id: string;
  podSandboxId: string;
  name: string;
  attempt: number;
  state: ContainerState;
  createdAt: number;
  /** 0 until started. */
  startedAt: number;
  /** 0 until exited. */
  finishedAt: number;
  exitCode: number;
  /** "Completed", "Error", "OOMKilled" … for exited containers. */
  reason: string;
  message: string;
  /** The image as the runtime names it (docker.io/library/nginx:latest). */
  image: string;
  /** The image digest reference (docker.io/library/nginx@sha256:…). */
  imageRef: string;
  labels: Record<string, string>;
  /** Absolute path of the container's CRI-format log file ('' when it has none). */
  logPath?: string;
}

/** CRI ContainerFilter. */
export interface ContainerFilter {
  podSandboxId?: string;
  state?: ContainerState;
  /** Every label must match. */
  labelSelector?: Record<string, string>;
}

/** One entry of the runtime's container list (CRI Container). */
export interface ContainerListItem {
  id: string;
  podSandboxId: string;
  state: ContainerState;
  labels: Record<string, string>;
}

/** CRI VersionResponse. */
export interface RuntimeVersion {
  runtimeName: string;
  runtimeVersion: string;
  runtimeApiVersion: string;
}

/** What a container event (CRI ContainerEventResponse, the evented PLEG) reports. */
export interface ContainerEvent {
  containerId: string;
  podSandboxId: string;
  /** The pod the container belongs to (its io.kubernetes.pod.uid label). */
  podUID: string;
  type: 'created' | 'started' | 'stopped' | 'deleted';
}

/** What ExecSync returns (probes, `flotilla crictl exec` without -i). */
export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
}

/** What an interactive exec/attach asks for (upstream remotecommand options). */
export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/**
 * A running exec or attach session. The kubelet's streaming server bridges it to the
 * client (kubectl over the API server). `stdin` ends when the client closes its stdin;
 * `done` settles once the process exits (exec) or the attach ends, with the exit code
 * (undefined for attach) and, on failure, upstream's status message.
 */
export interface StreamSession {
  stdin?: import('node:stream').Writable;
  stdout?: import('node:stream').Readable;
  stderr?: import('node:stream').Readable;
  resize(width: number, height: number): void;
  done: Promise<{ exitCode?: number; message?: string }>;
  /** Tears the session down (client went away). */
  close(): void;
}

/** gRPC-style status codes the kubelet branches on. */
export type RuntimeErrorCode = 'NotFound' | 'InvalidArgument' | 'Unavailable' | 'Unknown' | 'FailedPrecondition';

/** A failed runtime call; `message` is what the kubelet puts into events and statuses. */
export class RuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RuntimeError';
  }
}

/**
 * A container runtime (CRI RuntimeService + ImageService). Calls reject with
 * {@link RuntimeError}. Implementations keep exited containers until removeContainer, as
 * the CRI does, so the kubelet can read exit codes and count restarts.
 */
export interface Runtime {
  version(): Promise<RuntimeVersion>;

  /** Creates and starts a sandbox (network namespace and IP); resolves with its id. */
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /** Stops every container of the sandbox and releases its network; idempotent. */
  stopPodSandbox(id: string): Promise<void>;
  /** Removes a stopped sandbox and its containers; idempotent. */
  removePodSandbox(id: string): Promise<void>;
  podSandboxStatus(id: string): Promise<PodSandboxStatus>;
  listPodSandbox(filter?: { labelSelector?: Record<string, string>; state?: PodSandboxState }): Promise<PodSandboxStatus[]>;
  /**
   * The sandboxes as the runtime's list has them (CRI ListPodSandbox: no network, so no
   * PodSandboxStatus call each) — what housekeeping needs. Optional: without it callers
   * use listPodSandbox.
   */
  listPodSandboxStates?(filter?: { labelSelector?: Record<string, string>; state?: PodSandboxState }): Promise<PodSandboxListItem[]>;

  /** Pulls the image; resolves with its reference (imageRef). */
  pullImage(image: string): Promise<string>;
  /** The image if present on the node, else undefined. */
  imageStatus(image: string): Promise<ImageInfo | undefined>;
  listImages(): Promise<ImageInfo[]>;

  createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Stops the container, waiting up to timeoutSeconds before killing it. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  removeContainer(id: string): Promise<void>;
  listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]>;
  /**
   * The containers as the runtime's list has them (CRI ListContainers: id, sandbox, state,
   * labels), without a ContainerStatus call each — what a relist needs. Optional:
   * without it callers use listContainers.
   */
  listContainerStates?(filter?: ContainerFilter): Promise<ContainerListItem[]>;
  containerStatus(id: string): Promise<ContainerStatus>;

  /** Runs a command in a running container and collects its output (CRI ExecSync). */
  execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResult>;
  /** Starts an interactive command in a running container (CRI Exec + its stream server). */
  exec(containerId: string, cmd: string[], opts: StreamOptions): Promise<StreamSession>;
  /** Attaches to a running container's main process (CRI Attach). */
  attach(containerId: string, opts: StreamOptions): Promise<StreamSession>;
  /**
   * Opens a TCP connection to `port` inside the sandbox's network namespace (CRI
   * PortForward's job; with bridge networking, the pod IP's port).
   */
  portForward(podSandboxId: string, port: number): Promise<import('node:stream').Duplex>;

  /**
   * Subscribes to container state changes (CRI GetContainerEvents). Runtimes that cannot
   * push events leave it undefined and the kubelet relists instead. Returns unsubscribe.
   */
  watchContainerEvents?(handler: (ev: ContainerEvent) => void): () => void;
}

/**
 * The fully qualified name containerd reports for an image reference, after
 * docker/distribution's ParseNormalizedNamed + default tag: "nginx" →
 * "docker.io/library/nginx:latest", "quay.io/x/y" → "quay.io/x/y:latest".
 */
export function normalizeImageName(image: string): string {
  let name = image;
  let suffix = '';
  const at = name.indexOf('@');
  if (at >= 0) {
    suffix = name.slice(at);
    name = name.slice(0, at);
  }
  const slash = name.indexOf('/');
  const first = slash < 0 ? '' : name.slice(0, slash);
  const hasDomain = slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost');
  if (!hasDomain) name = slash < 0 ? `docker.io/library/${name}` : `docker.io/${name}`;
  const lastSlash = name.lastIndexOf('/');
  const hasTag = name.slice(lastSlash + 1).includes(':');
  if (!hasTag && suffix === '') name += ':latest';
  return name + suffix;
}

/** The repository part of a normalized name ("docker.io/library/nginx:1.25" → "docker.io/library/nginx"). */
export function imageRepository(normalized: string): string {
  const at = normalized.indexOf('@');
  const n = at >= 0 ? normalized.slice(0, at) : normalized;
  const lastSlash = n.lastIndexOf('/');
  const colon = n.indexOf(':', lastSlash + 1);
  return colon >= 0 ? n.slice(0, colon) : n;
}
