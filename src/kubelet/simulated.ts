/**
 * A container runtime with no processes (kwok's idea, behind the CRI-shaped
 * {@link Runtime}): sandboxes get IPs from the node's pod CIDR, images "pull" instantly,
 * containers "run" on the injected clock. Enough behaviour to show the kubelet's whole
 * pod lifecycle without containerd:
 *  - images whose name matches `missingImages` fail to pull (→ ErrImagePull, then
 *    ImagePullBackOff);
 *  - a container whose command is a known shell script exits as the script would:
 *    `sh -c "exit 1"` exits 1 at once, `sleep 5` exits 0 after 5 s, `sh -c "sleep 2; exit 3"`
 *    exits 3 after 2 s, `true`/`false` exit 0/1; anything else runs until stopped;
 *  - exit code 0 → reason Completed, otherwise Error (containerd's reasons);
 *  - ExecSync (exec probes, hooks) runs the small shell of simscript.ts against files the
 *    container's own script creates and removes over time (`touch /tmp/healthy; sleep 30;
 *    rm -f /tmp/healthy; …`); unknown commands succeed;
 *  - httpGet and tcpSocket probes and hooks ({@link SimulatedRuntime.probeTransport}) reach a
 *    pod whose sandbox is ready and whose probed container runs, and succeed (HTTP 200, TCP
 *    connects) unless the pod's annotation `simulated.flotilla.dev/probe-fail` lists the
 *    probe, comma-separated (`liveness,readiness`, also `startup`, `postStart`, `preStop`):
 *    then HTTP answers 500 and TCP is refused. The annotation is read at each probe, so
 *    `kubectl annotate` flips a simulated pod's readiness or liveness;
 *  - StopContainer: a script's `trap 'exit N' TERM` exits N, `trap '' TERM` is killed (137)
 *    when the grace period ends; otherwise the container exits 0 at once.
 */
import type { Duplex } from 'node:stream';
import { createHash, randomBytes } from 'node:crypto';
import type { Clock, TimerHandle } from '../util/clock.js';
import { joinHostPort, type ProbeContext, type ProbeTransport } from './prober.js';
import { SimFiles, scriptFileOps, simExec, termTrap } from './simscript.js';
import { SimulatedStreams } from './simulated-exec.js';
import {
  LabelPodUID,
  RuntimeError,
  imageRepository,
  normalizeImageName,
  type ContainerConfig,
  type ContainerEvent,
  type ContainerFilter,
  type ContainerStatus,
  type ExecSyncResult,
  type StreamOptions,
  type StreamSession,
  type ImageInfo,
  type PodSandboxConfig,
  type PodSandboxState,
  type PodSandboxStatus,
  type Runtime,
  type RuntimeVersion,
} from './runtime.js';

export interface SimulatedRuntimeOptions {
  clock: Clock;
  /** The node's pod CIDR (IPv4, e.g. 10.244.1.0/24); sandboxes get addresses from it. */
  podCIDR: string;
  /** Time from StartContainer until the container runs (ms, default 0). */
  startDelayMs?: number;
  /** Images that fail to pull (default: names containing "missing", "nonexistent" or "does-not-exist"). */
  missingImages?: RegExp;
  /** Images present before any pull (as given in pod specs; normalized here). */
  preloadedImages?: string[];
  /** Size every simulated image reports (bytes, default 50 MB). */
  imageSize?: number;
  /** IDs; default random 64-hex like containerd. Tests pass a counter for stable names. */
  newID?: () => string;
  /**
   * Where simulated containers write CRI-format logs for `kubectl logs`:
   * `<logDir>/<ns>_<pod>_<uid>/<container>/<attempt>.log` ("simulated container <name>
   * started" plus what its `echo` statements print). Unset: no log files.
   */
  logDir?: string;
  /** Where port-forwards to a pod's port go (kwok's PortForward idea); unset or undefined refuses. */
  portForward?: (sandbox: PodSandboxStatus, port: number) => { host: string; port: number } | undefined;
}

export const SIMULATED_RUNTIME_NAME = 'simulated';
export const SIMULATED_RUNTIME_VERSION = '0.1';

const defaultMissing = /missing|nonexistent|does-not-exist|doesnotexist/;

interface SimSandbox {
  status: PodSandboxStatus;
  containers: Set<string>;
}

interface SimContainer {
  status: ContainerStatus;
  script: Script;
  timer?: TimerHandle;
  files: SimFiles;
  /** What SIGTERM does to it (simscript.ts termTrap). */
  term: ReturnType<typeof termTrap>;
}

/** Pod annotation listing the network probes and hooks that fail on a simulated pod (see the module comment). */
export const ProbeFailAnnotation = 'simulated.flotilla.dev/probe-fail';

/** What a container's command does when run without a process. */
interface Script {
  /** ms until it exits on its own; undefined = runs until stopped. */
  runsForMs: number | undefined;
  exitCode: number;
}

/** Parses an IPv4 CIDR into [network as uint32, prefix length]. */
function parseCIDR(cidr: string): { base: number; bits: number } {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr.trim());
  if (!m) throw new Error(`invalid pod CIDR ${JSON.stringify(cidr)}: want an IPv4 CIDR like 10.244.1.0/24`);
  const octets = m.slice(1, 5).map(Number);
  const bits = Number(m[5]);
  if (octets.some((o) => o > 255) || bits < 8 || bits > 30) throw new Error(`invalid pod CIDR ${JSON.stringify(cidr)}`);
  const ip = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { base: (ip & mask) >>> 0, bits };
}

function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * What a command line does, for the scripts the simulated runtime understands. Statements
 * of `sh -c` are split on `;` and `&&`: `sleep N` adds N seconds, `exit N` ends with N,
 * `true`/`false`/`echo …`/`:` are instant; anything else (a server, a loop) runs forever.
 */
export function parseScript(command: string[], args: string[]): Script {
  const argv = [...command, ...args];
  if (argv.length === 0) return { runsForMs: undefined, exitCode: 0 };
  const base = (s: string) => s.slice(s.lastIndexOf('/') + 1);
  let statements: string[][];
  if (['sh', 'bash', 'ash'].includes(base(argv[0]!)) && argv[1] === '-c' && argv.length >= 3) {
    statements = argv[2]!.split(/;|&&|\n/).map((s) => s.trim().split(/\s+/).filter(Boolean)).filter((s) => s.length > 0);
  } else {
    statements = [argv];
  }
  let ms = 0;
  let code = 0;
  for (const st of statements) {
    const cmd = base(st[0]!);
    if (cmd === 'sleep' && st.length === 2) {
      const m = /^(\d+(?:\.\d+)?)(s|m|h)?$/.exec(st[1]!);
      if (!m) return { runsForMs: undefined, exitCode: 0 };
      const unit = m[2] === 'm' ? 60_000 : m[2] === 'h' ? 3_600_000 : 1000;
      ms += Number(m[1]) * unit;
      code = 0;
    } else if (cmd === 'exit') {
      const n = Number(st[1] ?? '0');
      return { runsForMs: ms, exitCode: Number.isInteger(n) ? ((n % 256) + 256) % 256 : 2 };
    } else if (cmd === 'true' || cmd === ':' || cmd === 'touch' || cmd === 'rm' || cmd === 'mkdir') {
      code = 0;
    } else if (cmd === 'false') {
      code = 1;
    } else if (cmd === 'echo' || cmd === 'printf' || cmd === 'date' || cmd === 'env' || cmd === 'hostname') {
      code = 0;
    } else {
      return { runsForMs: undefined, exitCode: 0 };
    }
  }
  return { runsForMs: ms, exitCode: code };
}

function digestOf(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

/** See the module comment. */
export class SimulatedRuntime implements Runtime {
  readonly #clock: Clock;
  readonly #base: number;
  readonly #size: number;
  readonly #startDelayMs: number;
  readonly #missing: RegExp;
  readonly #imageSize: number;
  readonly #newID: () => string;
  /** Offsets within the CIDR in use (1 is the gateway, as the bridge plugin's). */
  readonly #usedIPs = new Set<number>();
  #nextIP = 2;
  readonly #sandboxes = new Map<string, SimSandbox>();
  readonly #containers = new Map<string, SimContainer>();
  readonly #images = new Map<string, ImageInfo>();
  readonly #handlers = new Set<(ev: ContainerEvent) => void>();
  /** exec, attach, port-forward and log files (simulated-exec.ts). */
  readonly #streams: SimulatedStreams;

  constructor(opts: SimulatedRuntimeOptions) {
    this.#clock = opts.clock;
    const { base, bits } = parseCIDR(opts.podCIDR);
    this.#base = base;
    this.#size = 2 ** (32 - bits);
    this.#startDelayMs = opts.startDelayMs ?? 0;
    this.#missing = opts.missingImages ?? defaultMissing;
    this.#imageSize = opts.imageSize ?? 50_000_000;
    this.#newID = opts.newID ?? (() => randomBytes(32).toString('hex'));
    for (const img of opts.preloadedImages ?? []) this.#addImage(img);
    this.#streams = new SimulatedStreams({ clock: opts.clock, logDir: opts.logDir, portForward: opts.portForward });
  }

  async version(): Promise<RuntimeVersion> {
    return { runtimeName: SIMULATED_RUNTIME_NAME, runtimeVersion: SIMULATED_RUNTIME_VERSION, runtimeApiVersion: 'v1' };
  }

  // ---- sandboxes ----------------------------------------------------------------------

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = this.#newID();
    const ip = config.hostNetwork ? '' : this.#allocateIP();
    this.#sandboxes.set(id, {
      status: {
        id,
        name: config.name,
        namespace: config.namespace,
        uid: config.uid,
        attempt: config.attempt,
        state: 'ready',
        createdAt: this.#clock.now(),
        ip,
        additionalIPs: [],
        labels: { ...config.labels },
      },
      containers: new Set(),
    });
    this.#streams.sandboxCreated(id, config);
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    const sb = this.#sandboxes.get(id);
    if (!sb) return;
    for (const cid of sb.containers) this.#exit(cid, 137, 'Error', true);
    if (sb.status.state === 'ready') {
      sb.status.state = 'notready';
      this.#releaseIP(sb.status.ip);
    }
  }

  async removePodSandbox(id: string): Promise<void> {
    const sb = this.#sandboxes.get(id);
    if (!sb) return;
    await this.stopPodSandbox(id);
    for (const cid of sb.containers) await this.removeContainer(cid);
    this.#sandboxes.delete(id);
    this.#streams.sandboxRemoved(id);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const sb = this.#sandboxes.get(id);
    if (!sb) throw new RuntimeError('NotFound', `an error occurred when try to find sandbox: not found`);
    return { ...sb.status, labels: { ...sb.status.labels } };
  }

  async listPodSandbox(filter: { labelSelector?: Record<string, string>; state?: PodSandboxState } = {}): Promise<PodSandboxStatus[]> {
    const out: PodSandboxStatus[] = [];
    for (const sb of this.#sandboxes.values()) {
      if (filter.state && sb.status.state !== filter.state) continue;
      if (!labelsMatch(sb.status.labels, filter.labelSelector)) continue;
      out.push({ ...sb.status, labels: { ...sb.status.labels } });
    }
    return out;
  }

  /** Number of pod IPs in use (for tests and metrics). */
  allocatedIPs(): number {
    return this.#usedIPs.size;
  }

  #allocateIP(): string {
    const usable = this.#size - 3; // network, gateway, broadcast
    if (this.#usedIPs.size >= usable) throw new RuntimeError('Unknown', `failed to allocate for range 0: no IP addresses available in range set: ${formatIPv4(this.#base + 1)}-${formatIPv4(this.#base + this.#size - 2)}`);
    for (;;) {
      const off = this.#nextIP;
      this.#nextIP = off + 1 >= this.#size - 1 ? 2 : off + 1;
      if (!this.#usedIPs.has(off)) {
        this.#usedIPs.add(off);
        return formatIPv4(this.#base + off);
      }
    }
  }

  #releaseIP(ip: string): void {
    if (!ip) return;
    const n = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    this.#usedIPs.delete(n - this.#base);
  }

  // ---- images -------------------------------------------------------------------------

  async pullImage(image: string): Promise<string> {
    const name = normalizeImageName(image);
    if (this.#missing.test(image)) {
      throw new RuntimeError(
        'NotFound',
        `failed to pull and unpack image "${name}": failed to resolve reference "${name}": ${name}: not found`,
      );
    }
    return this.#addImage(image).id;
  }

  async imageStatus(image: string): Promise<ImageInfo | undefined> {
    const info = this.#images.get(normalizeImageName(image));
    return info && { ...info, repoTags: [...info.repoTags], repoDigests: [...info.repoDigests] };
  }

  async listImages(): Promise<ImageInfo[]> {
    const byID = new Map<string, ImageInfo>();
    for (const i of this.#images.values()) byID.set(i.id, i);
    return [...byID.values()].map((i) => ({ ...i, repoTags: [...i.repoTags], repoDigests: [...i.repoDigests] }));
  }

  #addImage(image: string): ImageInfo {
    const name = normalizeImageName(image);
    const existing = this.#images.get(name);
    if (existing) return existing;
    const digest = digestOf(name);
    const info: ImageInfo = {
      id: `sha256:${digestOf(`config:${name}`)}`,
      repoTags: name.includes('@') ? [] : [name],
      repoDigests: [`${imageRepository(name)}@sha256:${digest}`],
      size: this.#imageSize,
    };
    this.#images.set(name, info);
    return info;
  }

  // ---- containers ---------------------------------------------------------------------

  async createContainer(podSandboxId: string, config: ContainerConfig, _sandboxConfig: PodSandboxConfig): Promise<string> {
    const sb = this.#sandboxes.get(podSandboxId);
    if (!sb) throw new RuntimeError('NotFound', `failed to get sandbox ${podSandboxId}: not found`);
    if (sb.status.state !== 'ready') throw new RuntimeError('FailedPrecondition', `sandbox container "${podSandboxId}" is not running`);
    const img = this.#images.get(normalizeImageName(config.userImage)) ?? [...this.#images.values()].find((i) => i.id === config.image);
    if (!img) throw new RuntimeError('NotFound', `failed to get image "${config.image}": not found`);
    const id = this.#newID();
    this.#containers.set(id, {
      status: {
        id,
        podSandboxId,
        name: config.name,
        attempt: config.attempt,
        state: 'created',
        createdAt: this.#clock.now(),
        startedAt: 0,
        finishedAt: 0,
        exitCode: 0,
        reason: '',
        message: '',
        image: img.repoTags[0] ?? normalizeImageName(config.userImage),
        imageRef: img.repoDigests[0] ?? img.id,
        labels: { ...config.labels },
      },
      script: parseScript(config.command, config.args),
      files: new SimFiles(scriptFileOps(config.command, config.args)),
      term: termTrap(config.command, config.args),
    });
    sb.containers.add(id);
    this.#containers.get(id)!.status.logPath = this.#streams.containerCreated(id, podSandboxId, config);
    this.#notify(id, 'created');
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.#containers.get(id);
    if (!c) throw new RuntimeError('NotFound', `container "${id}" not found`);
    if (c.status.state !== 'created') throw new RuntimeError('FailedPrecondition', `container "${id}" is not in created state: ${c.status.state.toUpperCase()}`);
    if (this.#startDelayMs > 0) await this.#clock.sleep(this.#startDelayMs);
    if (c.status.state !== 'created') return; // stopped while starting
    c.status.state = 'running';
    c.status.startedAt = this.#clock.now();
    this.#streams.containerStarted(id);
    c.files.started(c.status.startedAt);
    const { runsForMs, exitCode } = c.script;
    if (runsForMs === 0) {
      // The process ended before anyone could look: the runtime reports it exited.
      this.#exit(id, exitCode, exitCode === 0 ? 'Completed' : 'Error', false);
      return;
    }
    this.#notify(id, 'started');
    if (runsForMs !== undefined) {
      c.timer = this.#clock.setTimeout(() => this.#exit(id, exitCode, exitCode === 0 ? 'Completed' : 'Error', true), runsForMs);
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const c = this.#containers.get(id);
    if (!c) throw new RuntimeError('NotFound', `an error occurred when try to find container "${id}": not found`);
    // A simulated process honours SIGTERM at once: exit 0, as nginx and most servers do;
    // a script that traps TERM exits as its handler says, or is SIGKILLed once the grace
    // period is over if it ignores it.
    if (c.status.state === 'running' && c.term && 'ignore' in c.term) {
      if (timeoutSeconds > 0) await this.#clock.sleep(timeoutSeconds * 1000);
      this.#exit(id, 137, 'Error', true);
    } else if (c.status.state === 'running' && c.term && 'exitCode' in c.term) this.#exit(id, c.term.exitCode, c.term.exitCode === 0 ? 'Completed' : 'Error', true);
    else if (c.status.state === 'running') this.#exit(id, 0, 'Completed', true);
    else if (c.status.state === 'created') this.#exit(id, 0, 'Completed', true);
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.#containers.get(id);
    if (!c) return;
    c.timer?.cancel();
    this.#containers.delete(id);
    this.#streams.containerRemoved(id);
    this.#sandboxes.get(c.status.podSandboxId)?.containers.delete(id);
    this.#notify(id, 'deleted', c.status);
  }

  async listContainers(filter: ContainerFilter = {}): Promise<ContainerStatus[]> {
    const out: ContainerStatus[] = [];
    const ids = filter.podSandboxId ? this.#sandboxes.get(filter.podSandboxId)?.containers ?? new Set<string>() : this.#containers.keys();
    for (const id of ids) {
      const c = this.#containers.get(id);
      if (!c) continue;
      if (filter.state && c.status.state !== filter.state) continue;
      if (!labelsMatch(c.status.labels, filter.labelSelector)) continue;
      out.push({ ...c.status, labels: { ...c.status.labels } });
    }
    return out;
  }

  // Streaming and exec: filled in by the streaming/probe work (issue 5).
  async execSync(containerId: string, cmd: string[], timeoutSeconds: number): Promise<ExecSyncResult> {
    const c = this.#containers.get(containerId);
    if (!c) throw new RuntimeError('NotFound', `an error occurred when try to find container "${containerId}": not found`);
    if (c.status.state !== 'running') throw new RuntimeError('Unknown', `failed to exec in container: container is in CONTAINER_${c.status.state.toUpperCase()} state`);
    return simExec(cmd, c.files, this.#clock, timeoutSeconds);
  }

  /** Network probes and hooks against simulated pods (see the module comment). */
  readonly probeTransport: ProbeTransport = {
    httpGet: async (req) => {
      const port = Number(req.url.port) || (req.url.protocol === 'https:' ? 443 : 80);
      const failing = this.#probeFails(req.context, joinHostPort(req.url.hostname.replace(/^\[|\]$/g, ''), port));
      return failing ? { statusCode: 500, body: '' } : { statusCode: 200, body: '' };
    },
    tcpConnect: async (host, port, _signal, context) => {
      const addr = joinHostPort(host, port);
      if (this.#probeFails(context, addr)) throw new Error(`dial tcp ${addr}: connect: connection refused`);
    },
  };

  /** Whether the probe fails by annotation; throws Go's refusal when nothing runs there. */
  #probeFails(ctx: ProbeContext, addr: string): boolean {
    const uid = ctx.pod.metadata?.uid ?? '';
    let running = false;
    for (const sb of this.#sandboxes.values()) {
      if (sb.status.uid !== uid || sb.status.state !== 'ready') continue;
      for (const id of sb.containers) {
        const c = this.#containers.get(id);
        if (c && c.status.name === ctx.containerName && c.status.state === 'running') running = true;
      }
    }
    if (!running) throw new Error(`dial tcp ${addr}: connect: connection refused`);
    const list = ctx.pod.metadata?.annotations?.[ProbeFailAnnotation] ?? '';
    return list.split(',').map((s) => s.trim()).includes(ctx.purpose);
  }

  async exec(containerId: string, cmd: string[], opts: StreamOptions): Promise<StreamSession> {
    this.#runningContainer(containerId);
    return this.#streams.exec(containerId, cmd, opts);
  }

  async attach(containerId: string, opts: StreamOptions): Promise<StreamSession> {
    this.#runningContainer(containerId);
    return this.#streams.attach(containerId, opts);
  }

  async portForward(podSandboxId: string, port: number): Promise<Duplex> {
    const sb = this.#sandboxes.get(podSandboxId);
    if (!sb || sb.status.state !== 'ready') throw new RuntimeError('NotFound', `failed to find sandbox "${podSandboxId}" in store: not found`);
    return this.#streams.portForward({ ...sb.status }, port);
  }

  #runningContainer(id: string): void {
    const c = this.#containers.get(id);
    if (!c) throw new RuntimeError('NotFound', `an error occurred when try to find container "${id}": not found`);
    if (c.status.state !== 'running') throw new RuntimeError('Unknown', `container ${id} is in CONTAINER_${c.status.state.toUpperCase()} state`);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const c = this.#containers.get(id);
    if (!c) throw new RuntimeError('NotFound', `an error occurred when try to find container "${id}": not found`);
    return { ...c.status, labels: { ...c.status.labels } };
  }

  watchContainerEvents(handler: (ev: ContainerEvent) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  #exit(id: string, exitCode: number, reason: string, notify: boolean): void {
    const c = this.#containers.get(id);
    if (!c || c.status.state === 'exited') return;
    c.timer?.cancel();
    c.timer = undefined;
    const now = this.#clock.now();
    if (c.status.startedAt === 0 && c.status.state === 'running') c.status.startedAt = now;
    c.status.state = 'exited';
    c.status.exitCode = exitCode;
    c.status.reason = reason;
    c.status.finishedAt = now;
    this.#streams.containerExited(id);
    if (notify) this.#notify(id, 'stopped');
  }

  #notify(id: string, type: ContainerEvent['type'], status?: ContainerStatus): void {
    if (this.#handlers.size === 0) return;
    const s = status ?? this.#containers.get(id)?.status;
    if (!s) return;
    const ev: ContainerEvent = { containerId: id, podSandboxId: s.podSandboxId, podUID: s.labels[LabelPodUID] ?? '', type };
    for (const h of this.#handlers) h(ev);
  }
}

function labelsMatch(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}
