/**
 * Pod workers for one node, after upstream pod_workers.go, kuberuntime_manager.go
 * (computePodActions/SyncPod), kuberuntime_container.go (startContainer, killContainer),
 * images/image_manager.go and status/status_manager.go.
 *
 * Each pod bound to the node gets one worker; a worker never runs two syncs at once and
 * coalesces requests that arrive meanwhile. A sync is level-triggered: it reads what the
 * runtime has for the pod, writes the status that implies, starts what should run (sandbox,
 * then init containers one at a time in order, then containers), honouring the restart
 * policy and the crash-loop and image-pull back-offs, and writes the status again. Syncs
 * are requested by pod updates, runtime container events (or a 1 s relist when the runtime
 * has none), back-off expiry and changed probe results (prober.ts): a liveness or startup
 * failure kills and restarts the container, readiness drives Ready.
 *
 * A pod with a deletionTimestamp has its containers stopped within the grace period (each
 * container's preStop hook first, counted inside it), its final status written, and is
 * then deleted with gracePeriodSeconds=0, as the kubelet's status manager does, so
 * `kubectl delete pod` returns.
 */
import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { isConflict, isNotFound } from '../apimachinery/errors.js';
import { PatchType, deepEqual } from '../apimachinery/meta.js';
import { Resources, type Client, type EventRecorder, type EventType } from '../client/interface.js';
import type { Container, Pod } from '../client/objects.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { Backoff, goDuration } from './backoff.js';
import { runLifecycleHandler } from './lifecycle.js';
import { ProberManager, transportFor, type ProbeTransport } from './prober.js';
import { CriRuntime } from './cri/runtime.js';
import { ContainerConfigError, invalidEnvKeysMessage } from './podconfig.js';
import { PodSetup, type ContainerExtras } from './podsetup.js';
import {
  LabelContainerName,
  LabelPodName,
  LabelPodNamespace,
  LabelPodUID,
  type ContainerStatus,
  type PodSandboxConfig,
  type PodSandboxStatus,
  type Runtime,
} from './runtime.js';
import {
  CrashLoopBackOff,
  CreateContainerError,
  ErrImageNeverPull,
  ErrImagePull,
  ImagePullBackOff,
  RunContainerError,
  generatePodStatus,
  mergePatchDiff,
  shouldRestart,
  statusChanged,
  type PodStatusInput,
  type StartFailure,
} from './status.js';
import type { TimerWheel } from './wheel.js';
import type { Registry } from 'prom-client';

/** How soon a pod whose image pull failed is synced again (to report ImagePullBackOff). */
export const PULL_ERROR_RESYNC_MS = 1000;
/** Retry delay after a sync that failed outright (upstream workerBackOffPeriod). */
export const SYNC_ERROR_RESYNC_MS = 10_000;
/** PLEG relist period for runtimes without container events (upstream 1 s). */
export const RELIST_PERIOD_MS = 1000;
/** Dead containers kept per container name (upstream MaxPerPodContainer). */
const DEAD_CONTAINERS_KEPT = 1;
/** Upstream minimumGracePeriodInSeconds: the least time a container gets between SIGTERM and SIGKILL. */
export const MINIMUM_GRACE_PERIOD_SECONDS = 2;
/** Upstream ErrPostStartHook, the waiting reason after a failed postStart hook. */
export const PostStartHookError = 'PostStartHookError';

export interface PodWorkersOptions {
  client: Client;
  nodeName: string;
  runtime: Runtime;
  /** Scheme of container IDs in status ("simulated", "containerd"). */
  runtimeName: string;
  clock: Clock;
  logger: Logger;
  recorder: EventRecorder;
  /** The node's InternalIP (status.hostIP). */
  hostIP: () => string;
  /** Called after each status write and pod delete (for metrics). */
  onWrite?: (what: 'status' | 'delete') => void;
  /** Drives probe periods (the node's wheel); default: the clock's own timers. */
  wheel?: TimerWheel;
  /** How probes and hooks reach pods; default: the runtime's probeTransport, else the network. */
  probeTransport?: ProbeTransport;
  /** Prober metrics (prober_probe_total, prober_probe_duration_seconds) go here when set. */
  registry?: Registry;
  /** Where containers' log files go (upstream /var/log/pods, the default). */
  podLogsDir?: string;
  /**
   * The kubelet root directory (upstream --root-dir, e.g. /var/lib/kubelet): volumes,
   * /etc/hosts and termination logs live in <rootDir>/pods/<uid>. Unset (the simulated
   * runtime), containers get no mounts.
   */
  rootDir?: string;
  /** Cluster DNS server IPs for ClusterFirst pods (default [10.96.0.10]). */
  clusterDNS?: string[];
  /** Cluster domain (default cluster.local). */
  clusterDomain?: string;
  /** The node's resolver file (default /etc/resolv.conf). */
  resolvConf?: string;
  /** Node allocatable, for downward-API limits left unset and OOM scores. */
  nodeAllocatable?: () => Record<string, string> | undefined;
  /** Capabilities containers may not add (default: those this process's bounding set lacks, e.g. SYS_RESOURCE on VMs). */
  unavailableCapabilities?: string[];
}

/** How soon a pod whose volumes failed to set up is synced again (upstream's volume manager retries within seconds). */
export const VOLUME_RETRY_MS = 2000;

/** `name_namespace(uid)`, upstream format.Pod. */
export function formatPod(pod: Pod): string {
  const m = pod.metadata ?? {};
  return `${m.name ?? ''}_${m.namespace ?? ''}(${m.uid ?? ''})`;
}

/** The Event reference for a pod (list items carry no apiVersion/kind). */
function podRef(pod: Pod): object {
  const m = pod.metadata ?? {};
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion } };
}

function rvNumber(rv: string | undefined): number {
  const n = Number(rv);
  return Number.isFinite(n) ? n : -1;
}

/** Label carrying a hash of the container's spec, to notice changes (upstream's io.kubernetes.container.hash). */
export const LabelContainerHash = 'io.kubernetes.container.hash';

/** A hash of what a running container was made from; a change means replace it. */
export function containerHash(c: Container): string {
  const basis = JSON.stringify([c.name, c.image, c.command ?? [], c.args ?? [], c.workingDir ?? '', c.env ?? [], c.ports ?? []]);
  return createHash('sha256').update(basis).digest('hex').slice(0, 8);
}

/** Upstream's default pull policy when the API server did not default it. */
function pullPolicy(c: Container): string {
  if (c.imagePullPolicy) return c.imagePullPolicy;
  const image = c.image ?? '';
  const name = image.slice(image.lastIndexOf('/') + 1);
  if (image.includes('@')) return 'IfNotPresent';
  return !name.includes(':') || name.endsWith(':latest') ? 'Always' : 'IfNotPresent';
}

interface RuntimeState {
  sandbox: PodSandboxStatus | undefined;
  sandboxes: PodSandboxStatus[];
  containers: ContainerStatus[];
}

/** The pod workers of one node (see the module comment). */
export class PodWorkers {
  readonly #o: PodWorkersOptions;
  readonly #workers = new Map<string, PodWorker>();
  #unsubscribe: (() => void) | undefined;
  #relist: TimerHandle | undefined;
  #lastSeen = new Map<string, string>();
  #relisting = false;
  readonly #prober: ProberManager;
  readonly #setup: PodSetup;

  constructor(opts: PodWorkersOptions) {
    this.#o = opts;
    this.#setup = new PodSetup({
      client: opts.client,
      clock: opts.clock,
      logger: opts.logger,
      rootDir: opts.rootDir,
      clusterDNS: opts.clusterDNS,
      clusterDomain: opts.clusterDomain,
      resolvConf: opts.resolvConf,
      nodeAllocatable: opts.nodeAllocatable,
      unavailableCapabilities: opts.unavailableCapabilities,
      // tmpfs for memory-backed volumes only where containers really bind-mount them.
      memoryBackedVolumes: opts.runtime instanceof CriRuntime,
    });
    this.#prober = new ProberManager({
      runtime: opts.runtime,
      clock: opts.clock,
      wheel: opts.wheel,
      recorder: opts.recorder,
      logger: opts.logger,
      transport: opts.probeTransport,
      registry: opts.registry,
      onUpdate: (uid) => this.#workers.get(uid)?.requestSync(),
    });
  }

  /** The node's prober (tests, metrics). */
  get prober(): ProberManager {
    return this.#prober;
  }

  get nodeName(): string {
    return this.#o.nodeName;
  }

  /** Starts listening to the runtime (events, else a relist every second). */
  start(): void {
    const rt = this.#o.runtime;
    if (rt.watchContainerEvents) {
      this.#unsubscribe = rt.watchContainerEvents((ev) => this.#workers.get(ev.podUID)?.requestSync());
    } else {
      this.#relist = this.#o.clock.setInterval(() => void this.#relistOnce(), RELIST_PERIOD_MS);
    }
  }

  /**
   * Stops every worker; resolves once their in-flight syncs have finished the runtime call
   * they were in (bounded at 10 s), so whoever stops the runtime next — up stopping its
   * containerd — finds every sandbox they made (one still being created would otherwise
   * outlive the node).
   */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#relist?.cancel();
    const inFlight = [...this.#workers.values()].map((w) => {
      w.stop();
      return w.settled();
    });
    this.#workers.clear();
    this.#prober.stop();
    let timer: TimerHandle | undefined;
    await Promise.race([
      Promise.allSettled(inFlight),
      new Promise<void>((resolve) => { timer = this.#o.clock.setTimeout(resolve, 10_000); }),
    ]);
    timer?.cancel();
  }

  /** Pods with a worker (for metrics and tests). */
  get size(): number {
    return this.#workers.size;
  }

  /** A pod bound to this node was added or changed. */
  updatePod(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid || pod.spec?.nodeName !== this.#o.nodeName) return;
    const w = this.#workers.get(uid);
    if (!w) {
      const prober = this.#prober;
      const worker = new PodWorker(this.#o, pod, () => {
        this.#workers.delete(uid);
        prober.removePod(uid);
      }, prober, this.#setup);
      this.#workers.set(uid, worker);
      prober.addPod(uid, { pod: () => worker.pod, status: () => worker.pod.status });
      worker.requestSync();
      return;
    }
    // Status-only changes (our own writes among them) need no sync, as upstream's pod
    // config source reconciles them without a SyncPod.
    if (w.setPod(pod)) w.requestSync();
  }

  /** A pod was removed from the API server: stop and remove what runs for it. */
  deletePod(pod: Pod): void {
    const uid = pod.metadata?.uid;
    if (!uid) return;
    const w = this.#workers.get(uid);
    if (!w) return;
    w.markGone();
    w.requestSync();
  }

  /**
   * Stops and removes sandboxes (and their containers) of pods this node no longer has,
   * e.g. pods deleted while the kubelet was down (upstream HandlePodCleanups). Call only
   * once the pod informer has synced, or pods not yet delivered would be killed.
   */
  async cleanupOrphans(): Promise<number> {
    const rt = this.#o.runtime;
    let removed = 0;
    // The list alone, as upstream's GetPods: no PodSandboxStatus per sandbox every 2 s.
    for (const sb of rt.listPodSandboxStates ? await rt.listPodSandboxStates() : await rt.listPodSandbox()) {
      const uid = sb.labels[LabelPodUID];
      if (uid === undefined || this.#workers.has(uid)) continue;
      this.#o.logger.info({ pod: `${sb.namespace}/${sb.name}`, uid }, 'Removing orphaned pod sandbox');
      await rt.stopPodSandbox(sb.id);
      await rt.removePodSandbox(sb.id);
      removed++;
    }
    await this.#setup.cleanupOrphans(new Set(this.#workers.keys()));
    return removed;
  }

  /** Resolves once no worker has a sync running or requested (tests). */
  async idle(): Promise<void> {
    for (;;) {
      const busy = [...this.#workers.values()].filter((w) => w.busy);
      if (busy.length === 0) return;
      await Promise.all(busy.map((w) => w.settled()));
    }
  }

  async #relistOnce(): Promise<void> {
    if (this.#relisting) return;
    this.#relisting = true;
    try {
      const seen = new Map<string, string>();
      // The list's states suffice (a container's state only moves forward, and a restart is
      // a new container): no ContainerStatus per container each second, as upstream's PLEG.
      const rt = this.#o.runtime;
      for (const c of rt.listContainerStates ? await rt.listContainerStates() : await rt.listContainers()) {
        const state = c.state;
        seen.set(c.id, state);
        if (this.#lastSeen.get(c.id) !== state) this.#workers.get(c.labels[LabelPodUID] ?? '')?.requestSync();
      }
      this.#lastSeen = seen;
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message }, 'PLEG relist failed');
    } finally {
      this.#relisting = false;
    }
  }
}

/** One pod's worker. */
class PodWorker {
  readonly #o: PodWorkersOptions;
  readonly #uid: string;
  readonly #onDone: () => void;
  #pod: Pod;
  #gone = false;
  #finished = false;
  #stopped = false;
  #dirty = false;
  #running: Promise<void> | undefined;
  #timer: TimerHandle | undefined;
  #timerAt = Infinity;
  readonly #failures = new Map<string, StartFailure>();
  readonly #crashBackoff = new Backoff();
  readonly #imageBackoff = new Backoff();
  readonly #prober: ProberManager;
  readonly #setup: PodSetup;

  constructor(opts: PodWorkersOptions, pod: Pod, onDone: () => void, prober: ProberManager, setup: PodSetup) {
    this.#o = opts;
    this.#setup = setup;
    this.#pod = pod;
    this.#uid = pod.metadata!.uid!;
    this.#onDone = onDone;
    this.#prober = prober;
  }

  /** The newest pod seen. */
  get pod(): Pod {
    return this.#pod;
  }

  get busy(): boolean {
    return this.#running !== undefined;
  }

  settled(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /** Takes pod if newer than what we have; true when more than its status changed. */
  setPod(pod: Pod): boolean {
    // Keep whichever is newer: our own status write may have returned a later version.
    if (rvNumber(pod.metadata?.resourceVersion) < rvNumber(this.#pod.metadata?.resourceVersion)) return false;
    const old = this.#pod;
    this.#pod = pod;
    return (
      !deepEqual(old.spec, pod.spec) ||
      old.metadata?.deletionTimestamp !== pod.metadata?.deletionTimestamp ||
      old.metadata?.deletionGracePeriodSeconds !== pod.metadata?.deletionGracePeriodSeconds
    );
  }

  markGone(): void {
    this.#gone = true;
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }

  requestSync(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    this.#running ??= this.#loop();
  }

  async #loop(): Promise<void> {
    // Let the caller's synchronous work (and more requests) finish first.
    await Promise.resolve();
    try {
      while (this.#dirty && !this.#stopped) {
        this.#dirty = false;
        try {
          await this.#sync();
        } catch (err) {
          this.#o.logger.warn({ pod: formatPod(this.#pod), err: (err as Error).message }, 'Error syncing pod, skipping');
          this.#resyncAfter(SYNC_ERROR_RESYNC_MS);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }

  /** Requests a sync in ms unless one is already due sooner. */
  #resyncAfter(ms: number): void {
    const at = this.#o.clock.now() + ms;
    if (this.#timer && this.#timerAt <= at) return;
    this.#timer?.cancel();
    this.#timerAt = at;
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = Infinity;
      this.requestSync();
    }, Math.max(0, ms));
  }

  #event(type: EventType, reason: string, message: string): void {
    this.#o.recorder.event(podRef(this.#pod), type, reason, message);
  }

  async #state(): Promise<RuntimeState> {
    const sel = { [LabelPodUID]: this.#uid };
    const [sandboxes, containers] = await Promise.all([
      this.#o.runtime.listPodSandbox({ labelSelector: sel }),
      this.#o.runtime.listContainers({ labelSelector: sel }),
    ]);
    sandboxes.sort((a, b) => b.createdAt - a.createdAt || b.attempt - a.attempt);
    return { sandbox: sandboxes[0], sandboxes, containers: await this.#setup.withTerminationMessages(this.#pod, containers) };
  }

  async #sync(): Promise<void> {
    const rt = this.#o.runtime;
    if (this.#gone) {
      const st = await this.#state();
      await this.#killPod(st, 0, false);
      for (const sb of st.sandboxes) await rt.removePodSandbox(sb.id);
      await this.#setup.tearDown(this.#uid);
      // containerd leaves the log files behind (RUNTIME.md): the pod's log folder goes with it.
      if (this.#o.podLogsDir) await rm(this.#logDirectory(), { recursive: true, force: true });
      this.stop();
      this.#onDone();
      return;
    }
    const pod = this.#pod;
    if (pod.metadata?.deletionTimestamp) {
      await this.#terminate();
      return;
    }
    let st = await this.#state();
    const phase = pod.status?.phase;
    if ((phase === 'Succeeded' || phase === 'Failed') && st.containers.length === 0) {
      // Finished before we met it (e.g. after a kubelet restart): nothing to run.
      this.#finished = true;
      return;
    }
    if (this.#finished) {
      await this.#writeStatus(st, true);
      return;
    }
    await this.#writeStatus(st, false);
    await this.#syncContainers(st);
    st = await this.#state();
    const status = generatePodStatus(this.#statusInput(st, false));
    if (status.phase === 'Succeeded' || status.phase === 'Failed') {
      // Nothing will run again: release the sandbox (and its IP), as the pod worker's
      // terminating → terminated path does for a finished pod.
      this.#finished = true;
      await this.#killPod(st, 0, false);
      st = await this.#state();
      await this.#writeStatus(st, true);
      return;
    }
    await this.#writeStatus(st, false);
  }

  #statusInput(st: RuntimeState, podIsTerminal: boolean): PodStatusInput {
    return {
      pod: this.#pod,
      sandbox: st.sandbox,
      containers: st.containers,
      failures: this.#failures,
      hostIP: this.#o.hostIP(),
      runtimeName: this.#o.runtimeName,
      podIsTerminal,
      now: this.#o.clock.now(),
      probes: this.#prober.podProbes(this.#uid),
    };
  }

  /** Writes the status the runtime state implies, if it differs from what was written. */
  async #writeStatus(st: RuntimeState, podIsTerminal: boolean): Promise<void> {
    const input = this.#statusInput(st, podIsTerminal);
    const status = generatePodStatus(input);
    this.#prober.setPodStatus(this.#uid, status);
    const base = input.pod.status;
    if (!statusChanged(base, status)) return;
    const diff = mergePatchDiff(JSON.parse(JSON.stringify(base ?? {})), JSON.parse(JSON.stringify(status)));
    if (diff === undefined) return;
    const m = this.#pod.metadata!;
    try {
      const out = await this.#o.client
        .resource<Pod>(Resources.pods, m.namespace)
        .patch(m.name!, PatchType.MergePatch, { status: diff }, { subresource: 'status' });
      // The answer is at least as new as anything the informer will still deliver.
      this.setPod(out);
      this.#o.onWrite?.('status');
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
  }

  /**
   * Stops every running container and the sandbox. With `events` (graceful deletion) each
   * running container goes through #killContainer (Killing event, preStop, grace period).
   */
  async #killPod(st: RuntimeState, graceSeconds: number, events: boolean): Promise<void> {
    const rt = this.#o.runtime;
    await Promise.all(
      st.containers
        .filter((c) => c.state === 'running' || c.state === 'created')
        .map(async (c) => {
          if (events && c.state === 'running') {
            await this.#killContainer(c, { grace: graceSeconds });
            return;
          }
          try {
            await rt.stopContainer(c.id, graceSeconds);
          } catch (err) {
            this.#o.logger.warn({ pod: formatPod(this.#pod), container: c.name, err: (err as Error).message }, 'Failed to stop container');
          }
        }),
    );
    for (const sb of st.sandboxes) if (sb.state === 'ready') await rt.stopPodSandbox(sb.id);
  }

  /**
   * Upstream killContainer: a Killing event, the preStop hook bounded by the grace period,
   * then StopContainer (SIGTERM, SIGKILL when it expires) with what is left of the grace
   * period, never less than {@link MINIMUM_GRACE_PERIOD_SECONDS}. The grace period is the
   * pod's deletionGracePeriodSeconds, else (for a probe restart) the probe's own
   * terminationGracePeriodSeconds, else the pod's terminationGracePeriodSeconds.
   */
  async #killContainer(c: { id: string; name: string }, opts: { message?: string; reason?: 'liveness' | 'startup'; grace?: number } = {}): Promise<void> {
    const pod = this.#pod;
    const spec = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((x) => x.name === c.name);
    const probe = opts.reason === 'liveness' ? spec?.livenessProbe : opts.reason === 'startup' ? spec?.startupProbe : undefined;
    let grace = opts.grace ?? pod.metadata?.deletionGracePeriodSeconds ?? probe?.terminationGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
    this.#event('Normal', 'Killing', opts.message ?? `Stopping container ${c.name}`);
    const preStop = spec?.lifecycle?.preStop;
    if (spec && preStop && grace > 0) {
      const clock = this.#o.clock;
      const start = clock.now();
      let timer: TimerHandle | undefined;
      const expired = new Promise<'expired'>((resolve) => {
        timer = clock.setTimeout(() => resolve('expired'), grace * 1000);
      });
      const hook = runLifecycleHandler(preStop, { pod, container: spec, containerID: c.id, podIP: this.#podIP(), kind: 'preStop' }, this.#hookDeps()).catch((err: Error) => err.message);
      const outcome = await Promise.race([hook, expired]);
      timer?.cancel();
      if (outcome === 'expired') this.#o.logger.info({ pod: formatPod(pod), container: c.name, gracePeriod: grace }, 'PreStop hook not completed in grace period');
      else if (outcome !== undefined) this.#event('Warning', 'FailedPreStopHook', outcome);
      grace -= Math.trunc((clock.now() - start) / 1000);
    }
    grace = Math.max(grace, MINIMUM_GRACE_PERIOD_SECONDS);
    try {
      await this.#o.runtime.stopContainer(c.id, grace);
    } catch (err) {
      this.#o.logger.warn({ pod: formatPod(pod), container: c.name, err: (err as Error).message }, 'Container termination failed with gracePeriod');
    }
  }

  /** The pod's IP for hooks (the node's for hostNetwork pods). */
  #podIP(sandbox?: PodSandboxStatus): string {
    if (this.#pod.spec?.hostNetwork) return this.#o.hostIP();
    return sandbox?.ip || this.#pod.status?.podIP || '';
  }

  #hookDeps(): Parameters<typeof runLifecycleHandler>[2] {
    return { runtime: this.#o.runtime, transport: this.#o.probeTransport ?? transportFor(this.#o.runtime), clock: this.#o.clock, recorder: this.#o.recorder };
  }

  /**
   * Upstream's postStart step of startContainer: on failure a FailedPostStartHook event, the
   * container killed, and PostStartHookError until the next start. False when it failed.
   */
  async #postStart(c: Container, id: string, sandbox: PodSandboxStatus): Promise<boolean> {
    const hook = c.lifecycle?.postStart;
    if (!hook) return true;
    const msg = await runLifecycleHandler(hook, { pod: this.#pod, container: c, containerID: id, podIP: this.#podIP(sandbox), kind: 'postStart' }, this.#hookDeps()).catch((err: Error) => err.message);
    if (msg === undefined) return true;
    this.#event('Warning', 'FailedPostStartHook', msg);
    await this.#killContainer({ id, name: c.name }, { message: 'FailedPostStartHook' });
    this.#failures.set(c.name, { reason: PostStartHookError, message: msg });
    return false;
  }

  /**
   * A running container whose liveness or startup probe failed: killed and, unless the
   * restart policy is Never, started again (upstream computePodActions). The back-off counts
   * from the previous dead instance, as upstream doBackOff reads the status from before the
   * kill.
   */
  async #restartUnhealthy(st: RuntimeState, c: Container, l: ContainerStatus, restart: boolean): Promise<void> {
    const probe = this.#prober.failedProbe(l.id)!;
    await this.#killContainer(l, { message: `Container ${c.name} failed ${probe} probe${restart ? ', will be restarted' : ''}`, reason: probe });
    if (!restart) return;
    let previous: ContainerStatus | undefined;
    for (const x of st.containers) if (x.name === c.name && x.id !== l.id && x.state === 'exited' && (!previous || x.attempt > previous.attempt)) previous = x;
    await this.#restartWithBackoff(st, c, l, previous ?? null);
  }

  /** The graceful deletion path (see the module comment); upstream's grace period: deletion's, else the spec's, at least 1 s. */
  async #terminate(): Promise<void> {
    const pod = this.#pod;
    const grace = Math.max(1, pod.metadata?.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30);
    this.#prober.stopLivenessAndStartup(this.#uid);
    let st = await this.#state();
    await this.#killPod(st, grace, true);
    st = await this.#state();
    await this.#writeStatus(st, true);
    const m = pod.metadata!;
    try {
      await this.#o.client.resource<Pod>(Resources.pods, m.namespace).delete(m.name!, { gracePeriodSeconds: 0, preconditions: { uid: this.#uid } });
      this.#o.onWrite?.('delete');
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    // The informer's DELETED event removes the runtime state and this worker.
    this.#finished = true;
  }

  async #ensureSandbox(st: RuntimeState): Promise<RuntimeState> {
    if (st.sandbox && st.sandbox.state === 'ready') return st;
    const rt = this.#o.runtime;
    if (st.sandbox) {
      // The sandbox died: everything in it goes, and a new one starts (upstream
      // computePodActions' "sandbox changed" path).
      this.#event('Normal', 'SandboxChanged', 'Pod sandbox changed, it will be killed and re-created.');
      await this.#killPod(st, 0, false);
    }
    if (this.#setup.sandboxExtras(this.#pod).missingClusterDNS) {
      const policy = this.#pod.spec?.dnsPolicy ?? 'ClusterFirst';
      this.#event('Warning', 'MissingClusterDNS', `pod: "${formatPod(this.#pod)}". kubelet does not have ClusterDNS IP configured and cannot create Pod using "${policy}" policy. Falling back to "Default" policy.`);
    }
    try {
      await rt.runPodSandbox(this.#sandboxConfig((st.sandbox?.attempt ?? -1) + 1));
    } catch (err) {
      this.#event('Warning', 'FailedCreatePodSandBox', `Failed to create pod sandbox: ${(err as Error).message}`);
      throw err;
    }
    // The dead sandbox stays (stopped) with its exited containers, so restart counts carry
    // on; older ones go.
    for (const sb of st.sandboxes.slice(1)) await rt.removePodSandbox(sb.id);
    return this.#state();
  }

  /** kubelet convention: <podLogsDir>/<ns>_<pod>_<uid>. */
  #logDirectory(): string {
    const m = this.#pod.metadata!;
    return `${this.#o.podLogsDir ?? '/var/log/pods'}/${m.namespace}_${m.name}_${this.#uid}`;
  }

  #sandboxConfig(attempt: number): PodSandboxConfig {
    const m = this.#pod.metadata!;
    return {
      name: m.name!,
      namespace: m.namespace!,
      uid: this.#uid,
      attempt,
      // Host-network pods keep the node's hostname (upstream generatePodSandboxConfig).
      hostname: this.#pod.spec?.hostNetwork ? undefined : (this.#pod.spec?.hostname ?? m.name),
      logDirectory: this.#logDirectory(),
      labels: { [LabelPodName]: m.name!, [LabelPodNamespace]: m.namespace!, [LabelPodUID]: this.#uid },
      annotations: { ...(m.annotations ?? {}) },
      hostNetwork: this.#pod.spec?.hostNetwork === true,
      ...this.#setup.sandboxExtras(this.#pod).extras,
    };
  }

  /** Upstream WaitForAttachAndMount: false (FailedMount events, a retry soon) while a volume is not set up. */
  async #mountVolumes(): Promise<boolean> {
    const failures = await this.#setup.setUpVolumes(this.#pod);
    for (const f of failures) this.#event('Warning', 'FailedMount', f.message);
    if (failures.length === 0) {
      // API-backed volumes (ConfigMap/Secret edits, token renewal) refresh on a periodic sync, as upstream's.
      const refreshMs = this.#setup.refreshPeriodMs(this.#pod);
      if (refreshMs !== undefined) this.#resyncAfter(refreshMs);
      return true;
    }
    this.#resyncAfter(VOLUME_RETRY_MS);
    return false;
  }

  /** Starts what should run (upstream computePodActions + SyncPod, without resizes). */
  async #syncContainers(initial: RuntimeState): Promise<void> {
    if (!(await this.#mountVolumes())) return;
    const st = await this.#ensureSandbox(initial);
    const pod = this.#pod;
    const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
    const latest = (name: string): ContainerStatus | undefined => {
      let best: ContainerStatus | undefined;
      for (const c of st.containers) if (c.name === name && (!best || c.attempt > best.attempt || (c.attempt === best.attempt && c.createdAt > best.createdAt))) best = c;
      return best;
    };
    for (const c of pod.spec?.initContainers ?? []) {
      const sidecar = c.restartPolicy === 'Always';
      const l = latest(c.name);
      if (!l) {
        await this.#startContainer(st, c, 0);
        // A sidecar with a startup probe holds what follows until it has started.
        if (!sidecar || c.startupProbe) return;
        continue;
      }
      if (l.state === 'running') {
        if (!sidecar) return;
        if (this.#prober.failedProbe(l.id)) await this.#restartUnhealthy(st, c, l, true);
        // Later containers wait until the sidecar's startup probe has passed.
        else if (c.startupProbe && this.#prober.result('startup', l.id) !== 'Success') return;
        continue;
      }
      if (l.state !== 'exited') return;
      if (!sidecar && l.exitCode === 0) continue;
      if (!sidecar && restartPolicy === 'Never') return;
      await this.#restartWithBackoff(st, c, l);
      if (!sidecar) return;
    }
    for (const c of pod.spec?.containers ?? []) {
      const l = latest(c.name);
      if (!l) await this.#startContainer(st, c, 0);
      else if (l.state === 'running' && this.#prober.failedProbe(l.id)) await this.#restartUnhealthy(st, c, l, restartPolicy !== 'Never');
      else if ((l.state === 'running' || l.state === 'created') && l.labels[LabelContainerHash] !== undefined && l.labels[LabelContainerHash] !== containerHash(c)) {
        // The spec changed (e.g. a new image): replace the container, as upstream
        // computePodActions does when the container hash differs.
        await this.#killContainer(l, { message: `Container ${c.name} definition changed, will be restarted` });
        await this.#startContainer(st, c, l.attempt + 1);
      } else if (l.state === 'exited' && shouldRestart(l, restartPolicy)) await this.#restartWithBackoff(st, c, l);
    }
  }

  /**
   * Upstream doBackOff, then a start: CrashLoopBackOff while the back-off runs. The back-off
   * counts from `since` (default: last); null = no dead instance to count from, start now.
   */
  async #restartWithBackoff(st: RuntimeState, c: Container, last: ContainerStatus, since: ContainerStatus | null = last): Promise<void> {
    if (since === null) {
      await this.#startContainer(st, c, last.attempt + 1);
      return;
    }
    const now = this.#o.clock.now();
    const key = c.name;
    const finishedAt = since.finishedAt || now;
    if (this.#crashBackoff.isInBackOffSince(key, finishedAt, now)) {
      const delay = this.#crashBackoff.get(key);
      const pod = formatPod(this.#pod);
      this.#event('Warning', 'BackOff', `Back-off restarting failed container ${c.name} in pod ${pod}`);
      this.#failures.set(c.name, { reason: CrashLoopBackOff, message: `back-off ${goDuration(delay)} restarting failed container=${c.name} pod=${pod}` });
      this.#resyncAfter(finishedAt + delay - now);
      return;
    }
    this.#crashBackoff.next(key, finishedAt, now);
    await this.#startContainer(st, c, last.attempt + 1);
  }

  /** Upstream EnsureImageExists: the image ref, or undefined with the failure recorded. */
  async #ensureImage(c: Container): Promise<string | undefined> {
    const rt = this.#o.runtime;
    const image = c.image ?? '';
    const fail = (reason: string, message: string) => {
      this.#failures.set(c.name, { reason, message });
      this.#event('Warning', 'Failed', `Error: ${reason}`);
      return undefined;
    };
    const present = await rt.imageStatus(image);
    const policy = pullPolicy(c);
    if (policy === 'Never' || (policy === 'IfNotPresent' && present)) {
      if (present) {
        this.#event('Normal', 'Pulled', `Container image "${image}" already present on machine`);
        return present.repoDigests[0] ?? present.id;
      }
      const msg = `Container image "${image}" is not present with pull policy of Never`;
      this.#event('Warning', ErrImageNeverPull, msg);
      return fail(ErrImageNeverPull, msg);
    }
    const key = `${this.#uid}_${image}`;
    const now = this.#o.clock.now();
    if (this.#imageBackoff.isInBackOffSinceUpdate(key, now)) {
      const msg = `Back-off pulling image "${image}"`;
      this.#event('Normal', 'BackOff', msg);
      this.#resyncAfter((this.#imageBackoff.releaseAt(key) ?? now) - now);
      return fail(ImagePullBackOff, msg);
    }
    this.#event('Normal', 'Pulling', `Pulling image "${image}"`);
    const start = this.#o.clock.now();
    let ref: string;
    try {
      ref = await rt.pullImage(image);
    } catch (err) {
      const msg = (err as Error).message;
      this.#event('Warning', 'Failed', `Failed to pull image "${image}": ${msg}`);
      this.#imageBackoff.next(key, this.#o.clock.now(), this.#o.clock.now());
      this.#resyncAfter(PULL_ERROR_RESYNC_MS);
      return fail(ErrImagePull, msg);
    }
    const took = goDuration(this.#o.clock.now() - start);
    const size = (await rt.imageStatus(image))?.size ?? 0;
    this.#event('Normal', 'Pulled', `Successfully pulled image "${image}" in ${took} (${took} including waiting). Image size: ${size} bytes.`);
    return ref;
  }

  async #startContainer(st: RuntimeState, c: Container, attempt: number): Promise<void> {
    const rt = this.#o.runtime;
    const sandbox = st.sandbox;
    if (!sandbox) return;
    const imageRef = await this.#ensureImage(c);
    if (imageRef === undefined) return;
    const m = this.#pod.metadata!;
    const sandboxConfig = this.#sandboxConfig(sandbox.attempt);
    let extras: ContainerExtras;
    try {
      extras = await this.#setup.containerExtras(this.#pod, c, attempt, sandbox, this.#o.hostIP(), (k) => this.#event('Warning', 'InvalidEnvironmentVariableNames', invalidEnvKeysMessage(k)));
    } catch (err) {
      if (!(err instanceof ContainerConfigError)) throw err;
      // Upstream generateContainerConfig failed: the pod worker retries after its back-off.
      this.#event('Warning', 'Failed', `Error: ${err.message}`);
      this.#failures.set(c.name, { reason: err.reason, message: err.message });
      this.#resyncAfter(SYNC_ERROR_RESYNC_MS);
      return;
    }
    let id: string;
    try {
      id = await rt.createContainer(
        sandbox.id,
        {
          name: c.name,
          attempt,
          image: imageRef,
          userImage: c.image ?? '',
          ...extras,
          workingDir: c.workingDir,
          // `kubectl run -i` / `attach -i` need the container's stdin kept open.
          stdin: c.stdin === true,
          stdinOnce: c.stdinOnce === true,
          tty: c.tty === true,
          labels: {
            [LabelPodName]: m.name!,
            [LabelPodNamespace]: m.namespace!,
            [LabelPodUID]: this.#uid,
            [LabelContainerName]: c.name,
            [LabelContainerHash]: containerHash(c),
          },
          logPath: `${c.name}/${attempt}.log`,
        },
        sandboxConfig,
      );
    } catch (err) {
      const msg = (err as Error).message;
      this.#event('Warning', 'Failed', `Error: ${msg}`);
      this.#failures.set(c.name, { reason: CreateContainerError, message: msg });
      return;
    }
    this.#event('Normal', 'Created', `Created container: ${c.name}`);
    try {
      await rt.startContainer(id);
    } catch (err) {
      const msg = (err as Error).message;
      this.#event('Warning', 'Failed', `Error: ${msg}`);
      this.#failures.set(c.name, { reason: RunContainerError, message: msg });
      return;
    }
    this.#event('Normal', 'Started', `Started container ${c.name}`);
    if (!(await this.#postStart(c, id, sandbox))) return;
    this.#failures.delete(c.name);
    // Container GC: keep the newest dead instances only.
    const dead = st.containers
      .filter((x) => x.name === c.name && x.state === 'exited')
      .sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt)
      .slice(DEAD_CONTAINERS_KEPT);
    for (const d of dead) await rt.removeContainer(d.id);
  }
}
