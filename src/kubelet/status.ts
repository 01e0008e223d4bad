/**
 * Pod status as the kubelet reports it, after upstream kubelet_pods.go
 * (generateAPIPodStatus, convertToAPIContainerStatuses, getPhase), pkg/kubelet/status
 * (generate.go's conditions; status_manager.go's lastTransitionTime and merge rules) and
 * pkg/apis/core/v1/helper/qos. Pure functions: the pod workers feed them what the runtime
 * reports and write the result.
 */
import { deepEqual, formatRFC3339 } from '../apimachinery/meta.js';
import { parseQuantity } from '../apimachinery/quantity.js';
import type { Container, ContainerStatus as APIContainerStatus, Pod, PodCondition, PodStatus } from '../client/objects.js';
import type { ContainerStatus, PodSandboxStatus } from './runtime.js';

/** Waiting reasons (upstream's kubecontainer/kuberuntime errors and kubelet constants). */
export const ContainerCreating = 'ContainerCreating';
export const PodInitializing = 'PodInitializing';
export const ErrImagePull = 'ErrImagePull';
export const ImagePullBackOff = 'ImagePullBackOff';
export const ErrImageNeverPull = 'ErrImageNeverPull';
export const InvalidImageName = 'InvalidImageName';
export const CrashLoopBackOff = 'CrashLoopBackOff';
export const CreateContainerError = 'CreateContainerError';
export const CreateContainerConfigError = 'CreateContainerConfigError';
export const RunContainerError = 'RunContainerError';

/** Condition reasons (pkg/kubelet/status/generate.go). */
const PodCompleted = 'PodCompleted';
const PodFailed = 'PodFailed';
const ContainersNotReady = 'ContainersNotReady';
const ContainersNotInitialized = 'ContainersNotInitialized';
const ReadinessGatesNotReady = 'ReadinessGatesNotReady';

/** Conditions the kubelet owns (kubetypes.PodConditionByKubelet); others are kept as found. */
const kubeletConditions = new Set(['PodScheduled', 'Ready', 'Initialized', 'ContainersReady', 'PodReadyToStartContainers']);

export type PodPhase = NonNullable<PodStatus['phase']>;
export type QOSClass = NonNullable<PodStatus['qosClass']>;

/** Why a container could not be started on the last sync (upstream's reasonCache entry). */
export interface StartFailure {
  reason: string;
  message: string;
}

/**
 * What the prober knows of a running container (upstream prober manager's UpdatePodStatus
 * reads its results caches). `containerID` is the runtime's bare ID.
 */
export interface ContainerProbes {
  /** The startup probe has succeeded, or the container has none. */
  started(containerName: string, containerID: string): boolean;
  /** The readiness probe has succeeded, or the container has none. */
  ready(containerName: string, containerID: string): boolean;
}

export interface PodStatusInput {
  pod: Pod;
  /** The pod's newest sandbox, if any. */
  sandbox: PodSandboxStatus | undefined;
  /** Every container the runtime has for the pod (all attempts). */
  containers: ContainerStatus[];
  /** Last start failures by container name. */
  failures: ReadonlyMap<string, StartFailure>;
  /** The node's InternalIP. */
  hostIP: string;
  /** Runtime name for container IDs ("simulated", "containerd"). */
  runtimeName: string;
  /** All containers have been stopped for good (deleted or finished pod). */
  podIsTerminal: boolean;
  now: number;
  /** Probe results; without them a running container counts as started and ready. */
  probes?: ContainerProbes;
}

function isRestartableInit(c: Container): boolean {
  return c.restartPolicy === 'Always';
}

/** Newest first, by attempt then creation time. */
function byName(containers: ContainerStatus[]): Map<string, ContainerStatus[]> {
  const m = new Map<string, ContainerStatus[]>();
  for (const c of containers) {
    const l = m.get(c.name);
    if (l) l.push(c);
    else m.set(c.name, [c]);
  }
  for (const l of m.values()) l.sort((a, b) => b.attempt - a.attempt || b.createdAt - a.createdAt);
  return m;
}

function terminatedOf(c: ContainerStatus, runtimeName: string): NonNullable<APIContainerStatus['state']>['terminated'] {
  const t: NonNullable<NonNullable<APIContainerStatus['state']>['terminated']> = {
    containerID: `${runtimeName}://${c.id}`,
    exitCode: c.exitCode,
    finishedAt: formatRFC3339(c.finishedAt),
    reason: c.reason,
    startedAt: formatRFC3339(c.startedAt || c.createdAt),
  };
  if (c.message) t.message = c.message;
  return t;
}

/** A runtime container as an API ContainerStatus (upstream convertContainerStatus). */
function convertContainerStatus(c: ContainerStatus, spec: Container, runtimeName: string): APIContainerStatus {
  const s: APIContainerStatus = {
    containerID: `${runtimeName}://${c.id}`,
    image: c.image,
    imageID: c.imageRef,
    lastState: {},
    name: c.name,
    ready: false,
    restartCount: c.attempt,
    state: {},
  };
  if (c.state === 'running') s.state = { running: { startedAt: formatRFC3339(c.startedAt) } };
  else if (c.state === 'exited') s.state = { terminated: terminatedOf(c, runtimeName) };
  else s.state = { waiting: {} };
  const mounts = (spec.volumeMounts ?? []).map((v) => ({
    mountPath: v.mountPath,
    name: v.name,
    ...(v.readOnly ? { readOnly: true, recursiveReadOnly: 'Disabled' } : {}),
  }));
  if (mounts.length > 0) s.volumeMounts = mounts;
  return s;
}

/**
 * Whether the container should run (again) under the pod's restart policy (upstream
 * ShouldContainerBeRestarted, for a pod not being deleted).
 */
export function shouldRestart(latest: ContainerStatus | undefined, restartPolicy: string, restartableInit = false): boolean {
  if (!latest) return true;
  if (latest.state === 'running' || latest.state === 'created') return false;
  if (restartableInit) return true;
  if (restartPolicy === 'Never') return false;
  if (restartPolicy === 'OnFailure') return latest.exitCode !== 0;
  return true;
}

/** Upstream convertToAPIContainerStatuses, for init or regular containers. */
function containerStatuses(
  input: PodStatusInput,
  specs: Container[],
  old: APIContainerStatus[] | undefined,
  hasInit: boolean,
  isInit: boolean,
): APIContainerStatus[] {
  const { pod, runtimeName } = input;
  const oldByName = new Map((old ?? []).map((s) => [s.name, s]));
  const runtime = byName(input.containers);
  const restartPolicy = pod.spec?.restartPolicy ?? 'Always';
  const out: APIContainerStatus[] = [];
  for (const spec of specs) {
    const history = runtime.get(spec.name) ?? [];
    const latest = history[0];
    let s: APIContainerStatus;
    if (!latest) {
      const prev = oldByName.get(spec.name);
      if (prev?.state?.terminated) {
        s = structuredClone(prev);
      } else {
        s = {
          image: spec.image ?? '',
          imageID: '',
          lastState: prev?.lastState ?? {},
          name: spec.name,
          ready: false,
          restartCount: prev?.restartCount ?? 0,
          state: { waiting: { reason: hasInit ? PodInitializing : ContainerCreating } },
        };
      }
    } else {
      s = convertContainerStatus(latest, spec, runtimeName);
      const previous = history[1];
      if (previous && previous.state === 'exited') s.lastState = { terminated: terminatedOf(previous, runtimeName) };
    }
    // A container that will be started again shows why it is not running yet.
    const failure = input.failures.get(spec.name);
    const willRun = !input.podIsTerminal && shouldRestart(latest, restartPolicy, isInit && isRestartableInit(spec));
    if (failure && willRun) {
      if (s.state?.terminated) s.lastState = { terminated: s.state.terminated };
      s.state = { waiting: { message: failure.message || undefined, reason: failure.reason } };
      if (!failure.message) delete s.state.waiting!.message;
    }
    // Upstream prober UpdatePodStatus: started = running and the startup probe passed (or
    // there is none); ready = started, running and the readiness probe passed (or there is
    // none); a finished init container is ready when it succeeded.
    const running = s.state?.running !== undefined;
    const probes = latest && running ? input.probes : undefined;
    if (isInit && !isRestartableInit(spec)) {
      s.started = running;
      s.ready = s.state?.terminated?.exitCode === 0;
    } else {
      s.started = running && (probes ? probes.started(spec.name, latest!.id) : true);
      s.ready = s.started && (probes ? probes.ready(spec.name, latest!.id) : true);
    }
    out.push(s);
  }
  return out;
}

/** Upstream getPhase. */
export function podPhase(pod: Pod, init: APIContainerStatus[], regular: APIContainerStatus[], podIsTerminal: boolean): PodPhase {
  const spec = pod.spec!;
  const restartPolicy = spec.restartPolicy ?? 'Always';
  let pendingInit = 0;
  let failedInit = 0;
  const find = (list: APIContainerStatus[], name: string) => list.find((s) => s.name === name);
  for (const c of spec.initContainers ?? []) {
    if (isRestartableInit(c)) continue;
    const s = find(init, c.name);
    if (!s) {
      pendingInit++;
      continue;
    }
    if (s.state?.running) pendingInit++;
    else if (s.state?.terminated) {
      if (s.state.terminated.exitCode !== 0) failedInit++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) {
        if (s.lastState.terminated.exitCode !== 0) failedInit++;
      } else pendingInit++;
    } else pendingInit++;
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.initContainers ?? []) {
    if (!isRestartableInit(c)) continue;
    const s = find(init, c.name);
    if (!s) unknown++;
    else if (s.state?.running) running++;
    else if (s.state?.terminated) stopped++;
    else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  for (const c of spec.containers) {
    const s = find(regular, c.name);
    if (!s) {
      unknown++;
      continue;
    }
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    } else unknown++;
  }
  if (failedInit > 0 && restartPolicy === 'Never') return 'Failed';
  const anyRegularStarted = regular.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated);
  if ((pendingInit > 0 && !anyRegularStarted) || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (podIsTerminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

function cond(type: string, status: 'True' | 'False', reason?: string, message?: string): PodCondition {
  const c: PodCondition = { type, status };
  if (reason) c.reason = reason;
  if (message) c.message = message;
  return c;
}

function goList(names: string[]): string {
  return `[${names.join(' ')}]`;
}

/** Upstream GenerateContainersReadyCondition. */
function containersReadyCondition(pod: Pod, all: APIContainerStatus[], phase: string): PodCondition {
  const unknown: string[] = [];
  const unready: string[] = [];
  const consider = [...(pod.spec?.initContainers ?? []).filter(isRestartableInit), ...(pod.spec?.containers ?? [])];
  for (const c of consider) {
    const s = all.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  }
  if (phase === 'Succeeded' && unknown.length === 0) return cond('ContainersReady', 'False', PodCompleted);
  if (phase === 'Failed') return cond('ContainersReady', 'False', PodFailed);
  const msgs: string[] = [];
  if (unknown.length > 0) msgs.push(`containers with unknown status: ${goList(unknown)}`);
  if (unready.length > 0) msgs.push(`containers with unready status: ${goList(unready)}`);
  if (msgs.length > 0) return cond('ContainersReady', 'False', ContainersNotReady, msgs.join(', '));
  return cond('ContainersReady', 'True');
}

/** Upstream GeneratePodReadyCondition (readiness gates read from the pod's conditions). */
function readyCondition(pod: Pod, containersReady: PodCondition): PodCondition {
  if (containersReady.status !== 'True') return { ...containersReady, type: 'Ready' };
  const unready: string[] = [];
  for (const g of pod.spec?.readinessGates ?? []) {
    const c = (pod.status?.conditions ?? []).find((x) => x.type === g.conditionType);
    if (!c) unready.push(`corresponding condition of pod readiness gate "${g.conditionType}" does not exist.`);
    else if (c.status !== 'True') unready.push(`the status of pod readiness gate "${g.conditionType}" is not "True", but ${c.status}`);
  }
  if (unready.length > 0) return cond('Ready', 'False', ReadinessGatesNotReady, unready.join(', '));
  return cond('Ready', 'True');
}

/** Upstream GeneratePodInitializedCondition. */
function initializedCondition(pod: Pod, init: APIContainerStatus[], regular: APIContainerStatus[], phase: string): PodCondition {
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of pod.spec?.initContainers ?? []) {
    const s = init.find((x) => x.name === c.name);
    if (!s) unknown.push(c.name);
    else if (!s.state?.terminated || s.state.terminated.exitCode !== 0) {
      if (!isRestartableInit(c) || !s.started) incomplete.push(c.name);
    }
  }
  if (phase === 'Succeeded' && unknown.length === 0) return cond('Initialized', 'True', PodCompleted);
  if (regular.some((s) => s.state?.running || s.state?.terminated || s.lastState?.terminated)) return cond('Initialized', 'True');
  const msgs: string[] = [];
  if (unknown.length > 0) msgs.push(`containers with unknown status: ${goList(unknown)}`);
  if (incomplete.length > 0) msgs.push(`containers with incomplete status: ${goList(incomplete)}`);
  if (msgs.length > 0) return cond('Initialized', 'False', ContainersNotInitialized, msgs.join(', '));
  return cond('Initialized', 'True');
}

/** Upstream GetPodQOS. */
export function podQOSClass(pod: Pod): QOSClass {
  const requests = new Map<string, number>();
  const limits = new Map<string, number>();
  let guaranteed = true;
  const all = [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])];
  const val = (q: unknown) => {
    try {
      return parseQuantity(String(q)).milliValue();
    } catch {
      return 0;
    }
  };
  for (const c of all) {
    for (const [k, q] of Object.entries(c.resources?.requests ?? {})) {
      if (k !== 'cpu' && k !== 'memory') continue;
      const v = val(q);
      if (v > 0) requests.set(k, (requests.get(k) ?? 0) + v);
    }
    const lim = c.resources?.limits ?? {};
    let qosLimits = 0;
    for (const [k, q] of Object.entries(lim)) {
      if (k !== 'cpu' && k !== 'memory') continue;
      const v = val(q);
      if (v > 0) {
        qosLimits++;
        limits.set(k, (limits.get(k) ?? 0) + v);
      }
    }
    if (qosLimits !== 2) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [k, v] of requests) if (limits.get(k) !== v) guaranteed = false;
  }
  return guaranteed && limits.size === 2 ? 'Guaranteed' : 'Burstable';
}

/**
 * The status the kubelet reports for the pod now (upstream generateAPIPodStatus followed by
 * the status manager's merge): kubelet-owned conditions regenerated, others kept,
 * lastTransitionTime carried over while a condition's status is unchanged, startTime
 * kept once set.
 */
export function generatePodStatus(input: PodStatusInput): PodStatus {
  const { pod, sandbox, now } = input;
  const old = pod.status ?? {};
  const hasInit = (pod.spec?.initContainers ?? []).length > 0;
  const init = containerStatuses(input, pod.spec?.initContainers ?? [], old.initContainerStatuses, hasInit, true);
  const regular = containerStatuses(input, pod.spec?.containers ?? [], old.containerStatuses, hasInit, false);
  const phase = podPhase(pod, init, regular, input.podIsTerminal);

  const containersReady = containersReadyCondition(pod, [...init, ...regular], phase);
  const generated: PodCondition[] = [
    cond('PodReadyToStartContainers', sandbox && sandbox.state === 'ready' ? 'True' : 'False'),
    initializedCondition(pod, init, regular, phase),
    readyCondition(pod, containersReady),
    containersReady,
    cond('PodScheduled', 'True'),
  ];
  const stamp = formatRFC3339(now);
  const oldConds = new Map((old.conditions ?? []).map((c) => [c.type, c]));
  const conditions: PodCondition[] = [];
  for (const c of old.conditions ?? []) if (!kubeletConditions.has(c.type)) conditions.push(c);
  for (const c of generated) {
    const prev = oldConds.get(c.type);
    conditions.push({
      lastProbeTime: null as unknown as undefined,
      lastTransitionTime: prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : stamp,
      ...c,
    });
  }
  const status: PodStatus = {
    conditions,
    containerStatuses: regular,
    hostIP: input.hostIP,
    hostIPs: [{ ip: input.hostIP }],
    phase,
    qosClass: old.qosClass ?? podQOSClass(pod),
    startTime: old.startTime ?? stamp,
  };
  if (hasInit) status.initContainerStatuses = init;
  const ip = sandbox?.ip || (pod.spec?.hostNetwork ? input.hostIP : '') || old.podIP || '';
  if (ip) {
    status.podIP = ip;
    status.podIPs = [{ ip }, ...(sandbox?.additionalIPs ?? []).map((a) => ({ ip: a }))];
  }
  // Fields other writers own survive.
  for (const k of ['nominatedNodeName', 'resize', 'resourceClaimStatuses'] as const) {
    if (old[k] !== undefined) (status as Record<string, unknown>)[k] = old[k];
  }
  return status;
}

/** Whether two statuses differ in anything the kubelet would write. */
export function statusChanged(a: PodStatus | undefined, b: PodStatus): boolean {
  return !deepEqual(normalize(a ?? {}), normalize(b));
}

function normalize(s: PodStatus): unknown {
  return JSON.parse(JSON.stringify(s)) as unknown;
}

/**
 * An RFC 7386 JSON merge patch turning `from` into `to`: changed and added keys with their
 * new values, removed keys as null; arrays are replaced whole. undefined when equal.
 */
export function mergePatchDiff(from: unknown, to: unknown): unknown {
  if (deepEqual(from, to)) return undefined;
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObj(from) || !isObj(to)) return to;
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(from)) if (!(k in to) || to[k] === undefined) out[k] = null;
  for (const [k, v] of Object.entries(to)) {
    if (v === undefined) continue;
    const d = mergePatchDiff(from[k], v);
    if (d !== undefined) out[k] = d;
  }
  return out;
}
