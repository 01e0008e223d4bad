/**
 * The scheduling framework's contracts (upstream pkg/scheduler/framework/interface.go):
 * Status codes, per-cycle state, and one small interface per extension point. A plugin is
 * an object with a `name` that implements any subset of the extension points; the
 * framework finds them by duck typing (see the `is*Plugin` guards).
 *
 * Plugins never throw for scheduling outcomes: they return a {@link Status}. A thrown error
 * is turned into an `Error` status by the framework, as a Go panic would not be.
 */
import type { Pod } from '../../client/objects.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';

/** framework.Code. */
export const Code = {
  Success: 0,
  /** An internal error: the pod is retried after backoff, the reason is not a node's. */
  Error: 1,
  /** The node does not fit now; preemption may help. */
  Unschedulable: 2,
  /** The node does not fit and preemption would not change that. */
  UnschedulableAndUnresolvable: 3,
  /** Permit only: hold the pod until allowed, rejected or timed out. */
  Wait: 4,
  /** PreFilter/PreScore: the plugin has nothing to do for this pod (its Filter/Score are skipped); Bind: not this binder. */
  Skip: 5,
} as const;
export type Code = (typeof Code)[keyof typeof Code];

const codeNames: Record<Code, string> = {
  0: 'Success',
  1: 'Error',
  2: 'Unschedulable',
  3: 'UnschedulableAndUnresolvable',
  4: 'Wait',
  5: 'Skip',
};

/**
 * framework.Status: a code, the reasons (what FitError counts per node) and the plugin
 * that produced it. Immutable; {@link SUCCESS} is shared.
 */
export class Status {
  /** Set by the framework to the plugin that returned the status. */
  plugin: string | undefined;

  constructor(
    readonly code: Code,
    readonly reasons: readonly string[] = [],
    readonly error?: Error,
  ) {}

  isSuccess(): boolean {
    return this.code === Code.Success;
  }

  isSkip(): boolean {
    return this.code === Code.Skip;
  }

  /** Unschedulable or UnschedulableAndUnresolvable. */
  isRejected(): boolean {
    return this.code === Code.Unschedulable || this.code === Code.UnschedulableAndUnresolvable;
  }

  /** The reasons joined by ", ", as upstream's Status.Message(). */
  message(): string {
    return this.reasons.join(', ');
  }

  codeName(): string {
    return codeNames[this.code];
  }

  withPlugin(plugin: string): Status {
    if (this.plugin === plugin) return this;
    const s = new Status(this.code, this.reasons, this.error);
    s.plugin = plugin;
    return s;
  }
}

/** The shared success status (upstream's nil *Status). */
export const SUCCESS = new Status(Code.Success);
/** The shared skip status. */
export const SKIP = new Status(Code.Skip);

export function newStatus(code: Code, ...reasons: string[]): Status {
  return new Status(code, reasons);
}

/** framework.AsStatus: an Error status carrying err. */
export function asStatus(err: unknown): Status {
  const e = err instanceof Error ? err : new Error(String(err));
  return new Status(Code.Error, [e.message], e);
}

/** A typed key into {@link CycleState}: one per plugin, created once at module level. */
export interface StateKey<T> {
  readonly name: string;
  /** Type brand only; never set. */
  readonly __type?: T;
}

export function stateKey<T>(name: string): StateKey<T> {
  return { name };
}

/** State a plugin keeps in a cycle; `clone` is used when preemption copies the cycle state. */
export interface StateData {
  clone?(): StateData;
}

/**
 * framework.CycleState: what plugins compute in PreFilter/PreScore and read in
 * Filter/Score, for one pod's scheduling cycle. Single-threaded, so no locking.
 */
export class CycleState {
  private readonly data = new Map<string, unknown>();
  /** Plugins whose PreFilter returned Skip: their Filter is not run. */
  readonly skipFilterPlugins = new Set<string>();
  /** Plugins whose PreScore returned Skip: their Score is not run. */
  readonly skipScorePlugins = new Set<string>();

  read<T>(key: StateKey<T>): T | undefined {
    return this.data.get(key.name) as T | undefined;
  }

  write<T>(key: StateKey<T>, value: T): void {
    this.data.set(key.name, value);
  }

  delete(key: StateKey<unknown>): void {
    this.data.delete(key.name);
  }

  /** A copy whose plugin states are cloned where they can be (preemption's dry runs). */
  clone(): CycleState {
    const c = new CycleState();
    for (const [k, v] of this.data) {
      const d = v as StateData | undefined;
      c.data.set(k, d && typeof d.clone === 'function' ? d.clone() : v);
    }
    for (const p of this.skipFilterPlugins) c.skipFilterPlugins.add(p);
    for (const p of this.skipScorePlugins) c.skipScorePlugins.add(p);
    return c;
  }
}

/** Kinds of cluster change that may make an unschedulable pod schedulable (framework.ClusterEvent). */
export type ClusterEvent =
  | 'NodeAdd'
  | 'NodeUpdate'
  | 'NodeDelete'
  | 'AssignedPodAdd'
  | 'AssignedPodUpdate'
  | 'AssignedPodDelete'
  | 'NamespaceChange';

export const ALL_EVENTS: readonly ClusterEvent[] = [
  'NodeAdd', 'NodeUpdate', 'NodeDelete', 'AssignedPodAdd', 'AssignedPodUpdate', 'AssignedPodDelete', 'NamespaceChange',
];

/** framework.Plugin. */
export interface Plugin {
  readonly name: string;
  /**
   * EnqueueExtensions: events after which a pod this plugin rejected may fit. A plugin
   * without it is assumed to care about every event.
   */
  eventsToRegister?(): readonly ClusterEvent[];
}

/** The maximum score a Score plugin may give after NormalizeScore. */
export const MAX_NODE_SCORE = 100;
export const MIN_NODE_SCORE = 0;

export interface NodeScore {
  name: string;
  score: number;
}

export interface PreFilterPlugin extends Plugin {
  /** Computes the pod's cycle state; Skip means its Filter is not needed for this pod. */
  preFilter(state: CycleState, pod: Pod, podInfo: PodInfo): Status;
  /** PreFilterExtensions, for preemption's what-if: `podToAdd` joins / `podToRemove` leaves nodeInfo. */
  addPod?(state: CycleState, pod: Pod, podToAdd: PodInfo, nodeInfo: NodeInfo): Status;
  removePod?(state: CycleState, pod: Pod, podToRemove: PodInfo, nodeInfo: NodeInfo): Status;
}

export interface FilterPlugin extends Plugin {
  /** Whether pod fits nodeInfo. Must not modify nodeInfo. */
  filter(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status;
}

export interface PostFilterResult {
  /** Where the pod may go once victims are gone ('' clears it). */
  nominatedNodeName?: string;
}

export interface PostFilterPlugin extends Plugin {
  /** Runs when no node fits; `statuses` is every filtered node's status by node name. */
  postFilter(state: CycleState, pod: Pod, statuses: ReadonlyMap<string, Status>): Promise<{ result?: PostFilterResult; status: Status }>;
}

export interface PreScorePlugin extends Plugin {
  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status;
}

export interface ScorePlugin extends Plugin {
  /** A raw score (any range when normalizeScore exists, else 0–100), or a failure Status. */
  score(state: CycleState, pod: Pod, nodeInfo: NodeInfo): number | Status;
  /** Rewrites scores in place to 0–100. */
  normalizeScore?(state: CycleState, pod: Pod, scores: NodeScore[]): Status;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: Pod, nodeName: string): Status;
  unreserve(state: CycleState, pod: Pod, nodeName: string): void;
}

export interface PermitPlugin extends Plugin {
  /** Success, a rejection, or Wait with how long to wait before rejecting. */
  permit(state: CycleState, pod: Pod, nodeName: string): { status: Status; timeoutMs?: number };
}

export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: Pod, nodeName: string, signal: AbortSignal): Promise<Status>;
}

export interface BindPlugin extends Plugin {
  /** Binds pod to nodeName; Skip hands the pod to the next binder. */
  bind(state: CycleState, pod: Pod, nodeName: string, signal: AbortSignal): Promise<Status>;
}

export interface PostBindPlugin extends Plugin {
  postBind(state: CycleState, pod: Pod, nodeName: string): void;
}

export function isPreFilterPlugin(p: Plugin): p is PreFilterPlugin {
  return typeof (p as Partial<PreFilterPlugin>).preFilter === 'function';
}
export function isFilterPlugin(p: Plugin): p is FilterPlugin {
  return typeof (p as Partial<FilterPlugin>).filter === 'function';
}
export function isPostFilterPlugin(p: Plugin): p is PostFilterPlugin {
  return typeof (p as Partial<PostFilterPlugin>).postFilter === 'function';
}
export function isPreScorePlugin(p: Plugin): p is PreScorePlugin {
  return typeof (p as Partial<PreScorePlugin>).preScore === 'function';
}
export function isScorePlugin(p: Plugin): p is ScorePlugin {
  return typeof (p as Partial<ScorePlugin>).score === 'function';
}
export function isReservePlugin(p: Plugin): p is ReservePlugin {
  return typeof (p as Partial<ReservePlugin>).reserve === 'function';
}
export function isPermitPlugin(p: Plugin): p is PermitPlugin {
  return typeof (p as Partial<PermitPlugin>).permit === 'function';
}
export function isPreBindPlugin(p: Plugin): p is PreBindPlugin {
  return typeof (p as Partial<PreBindPlugin>).preBind === 'function';
}
export function isBindPlugin(p: Plugin): p is BindPlugin {
  return typeof (p as Partial<BindPlugin>).bind === 'function';
}
export function isPostBindPlugin(p: Plugin): p is PostBindPlugin {
  return typeof (p as Partial<PostBindPlugin>).postBind === 'function';
}

/**
 * framework.DefaultNormalizeScore: scales scores so the highest becomes maxPriority
 * (all maxPriority when every score is 0 and reverse, else 0); with reverse, s → max − s.
 */
export function defaultNormalizeScore(maxPriority: number, reverse: boolean, scores: NodeScore[]): Status {
  let max = 0;
  for (const s of scores) if (s.score > max) max = s.score;
  if (max === 0) {
    if (reverse) for (const s of scores) s.score = maxPriority;
    return SUCCESS;
  }
  for (const s of scores) {
    let v = Math.trunc((maxPriority * s.score) / max);
    if (reverse) v = maxPriority - v;
    s.score = v;
  }
  return SUCCESS;
}
