/**
 * framework/runtime: one Framework per scheduler profile. It instantiates the profile's
 * plugins once, orders them per extension point (multiPoint expansion as upstream), and
 * runs each extension point with upstream's semantics: Filter stops at the first plugin
 * that rejects a node; Score sums weighted, normalised scores; Reserve is undone in
 * reverse order; the first Bind plugin that does not Skip binds.
 */
import type { Pod } from '../../client/objects.js';
import type { NodeInfo, PodInfo } from './nodeinfo.js';
import { EXTENSION_POINTS, type ExtensionPoint, type Handle, type PluginRef, type Profile, type Registry } from './registry.js';
import {
  asStatus, Code, CycleState, isBindPlugin, isFilterPlugin, isPermitPlugin, isPostBindPlugin, isPostFilterPlugin, isPreBindPlugin,
  isPreFilterPlugin, isPreScorePlugin, isReservePlugin, isScorePlugin, MAX_NODE_SCORE, newStatus, SUCCESS, Status,
  type BindPlugin, type ClusterEvent, type FilterPlugin, type NodeScore, type PermitPlugin, type Plugin, type PostBindPlugin,
  type PostFilterPlugin, type PostFilterResult, type PreBindPlugin, type PreFilterPlugin, type PreScorePlugin, type ReservePlugin,
  type ScorePlugin,
} from './types.js';

const implementers: Record<ExtensionPoint, (p: Plugin) => boolean> = {
  preEnqueue: () => false,
  queueSort: (p) => p.name === 'PrioritySort',
  preFilter: isPreFilterPlugin,
  filter: isFilterPlugin,
  postFilter: isPostFilterPlugin,
  preScore: isPreScorePlugin,
  score: isScorePlugin,
  reserve: isReservePlugin,
  permit: isPermitPlugin,
  preBind: isPreBindPlugin,
  bind: isBindPlugin,
  postBind: isPostBindPlugin,
};

/** Plugins that exist only as configuration names here (the queue implements them). */
const builtinNames = new Set(['PrioritySort', 'SchedulingGates']);

interface WeightedScorePlugin {
  plugin: ScorePlugin;
  weight: number;
}

/** A pod held by a Permit plugin's Wait (framework.WaitingPod). */
export class WaitingPod {
  private readonly pending: Set<string>;
  private settle: ((s: Status) => void) | undefined;
  readonly done: Promise<Status>;

  constructor(readonly pod: Pod, plugins: string[]) {
    this.pending = new Set(plugins);
    this.done = new Promise((resolve) => { this.settle = resolve; });
  }

  /** A waiting plugin lets the pod go; binding proceeds once every waiting plugin has. */
  allow(plugin: string): void {
    this.pending.delete(plugin);
    if (this.pending.size === 0) this.settle?.(SUCCESS);
  }

  reject(plugin: string, msg: string): void {
    this.settle?.(newStatus(Code.Unschedulable, msg).withPlugin(plugin));
  }
}

export interface FrameworkOptions {
  profile: Profile;
  registry: Registry;
  handle: Handle;
}

/** The plugins of one profile, ordered per extension point, and the code that runs them. */
export class Framework {
  readonly profileName: string;
  readonly percentageOfNodesToScore: number | undefined;
  readonly plugins = new Map<string, Plugin>();
  readonly preFilterPlugins: PreFilterPlugin[];
  readonly filterPlugins: FilterPlugin[];
  readonly postFilterPlugins: PostFilterPlugin[];
  readonly preScorePlugins: PreScorePlugin[];
  readonly scorePlugins: WeightedScorePlugin[];
  readonly reservePlugins: ReservePlugin[];
  readonly permitPlugins: PermitPlugin[];
  readonly preBindPlugins: PreBindPlugin[];
  readonly bindPlugins: BindPlugin[];
  readonly postBindPlugins: PostBindPlugin[];
  /** Whether the SchedulingGates plugin is enabled (the queue holds gated pods). */
  readonly schedulingGates: boolean;
  readonly waitingPods = new Map<string, WaitingPod>();
  private readonly handle: Handle;

  constructor(opts: FrameworkOptions) {
    const { profile, registry, handle } = opts;
    this.handle = handle;
    this.profileName = profile.schedulerName;
    this.percentageOfNodesToScore = profile.percentageOfNodesToScore;
    const p = profile.plugins;
    const multi = p.multiPoint?.enabled ?? [];
    const names = new Set<string>();
    for (const ref of multi) names.add(ref.name);
    for (const ep of EXTENSION_POINTS) for (const ref of p[ep]?.enabled ?? []) names.add(ref.name);
    for (const name of names) {
      if (builtinNames.has(name)) continue;
      const factory = registry[name];
      if (!factory) throw new Error(`plugin "${name}" does not exist`);
      try {
        this.plugins.set(name, factory(profile.pluginConfig[name], handle));
      } catch (e) {
        throw new Error(`initializing plugin "${name}": ${(e as Error).message}`);
      }
    }
    const point = (ep: ExtensionPoint): PluginRef[] => {
      const explicit = p[ep]?.enabled ?? [];
      const disabled = new Set((p[ep]?.disabled ?? []).map((d) => d.name));
      const explicitNames = new Set(explicit.map((r) => r.name));
      const multiNames = new Set(multi.map((r) => r.name));
      const overrides = explicit.filter((r) => multiNames.has(r.name));
      const fromMulti = multi.filter((r) => {
        if (explicitNames.has(r.name) || disabled.has(r.name) || disabled.has('*')) return false;
        const pl = this.plugins.get(r.name);
        return builtinNames.has(r.name) ? implementers[ep]({ name: r.name }) : pl !== undefined && implementers[ep](pl);
      });
      const rest = explicit.filter((r) => !multiNames.has(r.name));
      const out = [...overrides, ...fromMulti, ...rest];
      for (const r of out) {
        const pl = this.plugins.get(r.name);
        if (builtinNames.has(r.name)) continue;
        if (!pl || !implementers[ep](pl)) throw new Error(`plugin "${r.name}" does not extend ${ep} plugin`);
      }
      return out.filter((r) => !builtinNames.has(r.name));
    };
    const get = <T extends Plugin>(ep: ExtensionPoint) => point(ep).map((r) => this.plugins.get(r.name) as T);
    this.preFilterPlugins = get('preFilter');
    this.filterPlugins = get('filter');
    this.postFilterPlugins = get('postFilter');
    this.preScorePlugins = get('preScore');
    const multiWeight = new Map(multi.map((r) => [r.name, r.weight ?? 0]));
    this.scorePlugins = point('score').map((r) => ({
      plugin: this.plugins.get(r.name) as ScorePlugin,
      weight: (r.weight || multiWeight.get(r.name)) || 1,
    }));
    this.reservePlugins = get('reserve');
    this.permitPlugins = get('permit');
    this.preBindPlugins = get('preBind');
    this.bindPlugins = get('bind');
    this.postBindPlugins = get('postBind');
    const gatesDisabled = (p.preEnqueue?.disabled ?? []).some((d) => d.name === 'SchedulingGates' || d.name === '*');
    this.schedulingGates = !gatesDisabled && (multi.some((r) => r.name === 'SchedulingGates') || (p.preEnqueue?.enabled ?? []).some((r) => r.name === 'SchedulingGates'));
    if (this.bindPlugins.length === 0) throw new Error('at least one bind plugin is needed');
  }

  /** The handle plugins of this framework were built with. */
  getHandle(): Handle {
    return this.handle;
  }

  /** Events each enabled plugin wants, for the queue's requeueing (plugin → events). */
  pluginEvents(): Map<string, readonly ClusterEvent[] | undefined> {
    const m = new Map<string, readonly ClusterEvent[] | undefined>();
    for (const [name, p] of this.plugins) m.set(name, p.eventsToRegister?.());
    return m;
  }

  runPreFilterPlugins(state: CycleState, pod: Pod, pi: PodInfo): Status {
    for (const pl of this.preFilterPlugins) {
      let s: Status;
      try {
        s = pl.preFilter(state, pod, pi);
      } catch (e) {
        s = asStatus(e);
      }
      if (s.isSuccess()) continue;
      if (s.isSkip()) {
        state.skipFilterPlugins.add(pl.name);
        continue;
      }
      return s.withPlugin(pl.name);
    }
    return SUCCESS;
  }

  /** The first rejecting Filter's status (with its plugin), or SUCCESS. */
  runFilterPlugins(state: CycleState, pod: Pod, nodeInfo: NodeInfo): Status {
    const skip = state.skipFilterPlugins;
    const plugins = this.filterPlugins;
    for (let i = 0; i < plugins.length; i++) {
      const pl = plugins[i]!;
      if (skip.size > 0 && skip.has(pl.name)) continue;
      let s: Status;
      try {
        s = pl.filter(state, pod, nodeInfo);
      } catch (e) {
        s = asStatus(e);
      }
      if (s.code !== Code.Success) return s.withPlugin(pl.name);
    }
    return SUCCESS;
  }

  /** PreFilterExtensions.AddPod of every PreFilter plugin (preemption's what-if). */
  runPreFilterExtensionAddPod(state: CycleState, pod: Pod, toAdd: PodInfo, nodeInfo: NodeInfo): Status {
    for (const pl of this.preFilterPlugins) {
      if (!pl.addPod || state.skipFilterPlugins.has(pl.name)) continue;
      const s = pl.addPod(state, pod, toAdd, nodeInfo);
      if (!s.isSuccess()) return s.withPlugin(pl.name);
    }
    return SUCCESS;
  }

  runPreFilterExtensionRemovePod(state: CycleState, pod: Pod, toRemove: PodInfo, nodeInfo: NodeInfo): Status {
    for (const pl of this.preFilterPlugins) {
      if (!pl.removePod || state.skipFilterPlugins.has(pl.name)) continue;
      const s = pl.removePod(state, pod, toRemove, nodeInfo);
      if (!s.isSuccess()) return s.withPlugin(pl.name);
    }
    return SUCCESS;
  }

  async runPostFilterPlugins(state: CycleState, pod: Pod, statuses: ReadonlyMap<string, Status>): Promise<{ result?: PostFilterResult; status: Status }> {
    const reasons: string[] = [];
    let result: PostFilterResult | undefined;
    for (const pl of this.postFilterPlugins) {
      let r: { result?: PostFilterResult; status: Status };
      try {
        r = await pl.postFilter(state, pod, statuses);
      } catch (e) {
        r = { status: asStatus(e) };
      }
      if (r.status.isSuccess()) return { result: r.result, status: r.status.withPlugin(pl.name) };
      if (r.status.code === Code.Error) return { status: r.status.withPlugin(pl.name) };
      if (r.status.code !== Code.UnschedulableAndUnresolvable || r.status.reasons.length) reasons.push(...r.status.reasons);
      result ??= r.result;
    }
    return { result, status: new Status(Code.Unschedulable, reasons) };
  }

  runPreScorePlugins(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status {
    for (const pl of this.preScorePlugins) {
      let s: Status;
      try {
        s = pl.preScore(state, pod, nodes);
      } catch (e) {
        s = asStatus(e);
      }
      if (s.isSkip()) {
        state.skipScorePlugins.add(pl.name);
        continue;
      }
      if (!s.isSuccess()) return s.withPlugin(pl.name);
    }
    return SUCCESS;
  }

  /**
   * Every Score plugin over nodes, normalised and weighted; returns the total per node
   * (same order as nodes), or a failure Status.
   */
  runScorePlugins(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Float64Array | Status {
    const totals = new Float64Array(nodes.length);
    const scores: NodeScore[] = nodes.map((n) => ({ name: n.name, score: 0 }));
    for (const { plugin, weight } of this.scorePlugins) {
      if (state.skipScorePlugins.has(plugin.name)) continue;
      for (let i = 0; i < nodes.length; i++) {
        let r: number | Status;
        try {
          r = plugin.score(state, pod, nodes[i]!);
        } catch (e) {
          r = asStatus(e);
        }
        if (typeof r !== 'number') return r.withPlugin(plugin.name);
        scores[i]!.score = r;
      }
      if (plugin.normalizeScore) {
        const s = plugin.normalizeScore(state, pod, scores);
        if (!s.isSuccess()) return s.withPlugin(plugin.name);
      }
      for (let i = 0; i < nodes.length; i++) {
        const v = scores[i]!.score;
        if (v > MAX_NODE_SCORE || v < 0) {
          return newStatus(Code.Error, `plugin "${plugin.name}" returns an invalid score ${v}, it should in the range of [0, ${MAX_NODE_SCORE}] after normalizing`).withPlugin(plugin.name);
        }
        totals[i]! += v * weight;
      }
    }
    return totals;
  }

  runReservePluginsReserve(state: CycleState, pod: Pod, nodeName: string): Status {
    for (const pl of this.reservePlugins) {
      let s: Status;
      try {
        s = pl.reserve(state, pod, nodeName);
      } catch (e) {
        s = asStatus(e);
      }
      if (!s.isSuccess()) return s.withPlugin(pl.name);
    }
    return SUCCESS;
  }

  runReservePluginsUnreserve(state: CycleState, pod: Pod, nodeName: string): void {
    for (let i = this.reservePlugins.length - 1; i >= 0; i--) {
      try {
        this.reservePlugins[i]!.unreserve(state, pod, nodeName);
      } catch (e) {
        this.handle.logger.error({ err: e, plugin: this.reservePlugins[i]!.name }, 'unreserve failed');
      }
    }
  }

  /** Success, a rejection, or Wait (the pod is then in waitingPods until waitOnPermit settles). */
  runPermitPlugins(state: CycleState, pod: Pod, nodeName: string, podUID: string): Status {
    const waitFor: { plugin: string; timeoutMs: number }[] = [];
    for (const pl of this.permitPlugins) {
      let r: { status: Status; timeoutMs?: number };
      try {
        r = pl.permit(state, pod, nodeName);
      } catch (e) {
        r = { status: asStatus(e) };
      }
      if (r.status.isSuccess()) continue;
      if (r.status.code === Code.Wait) {
        waitFor.push({ plugin: pl.name, timeoutMs: Math.min(r.timeoutMs ?? 0, 15 * 60_000) });
        continue;
      }
      return r.status.withPlugin(pl.name);
    }
    if (waitFor.length === 0) return SUCCESS;
    const wp = new WaitingPod(pod, waitFor.map((w) => w.plugin));
    this.waitingPods.set(podUID, wp);
    for (const w of waitFor) {
      const t = this.handle.clock.setTimeout(() => wp.reject(w.plugin, `rejected due to timeout after waiting ${w.timeoutMs / 1000}s at plugin ${w.plugin}`), w.timeoutMs);
      void wp.done.then(() => t.cancel());
    }
    return new Status(Code.Wait);
  }

  /** Resolves once a waiting pod is allowed or rejected; SUCCESS when it was not waiting. */
  async waitOnPermit(podUID: string): Promise<Status> {
    const wp = this.waitingPods.get(podUID);
    if (!wp) return SUCCESS;
    try {
      return await wp.done;
    } finally {
      this.waitingPods.delete(podUID);
    }
  }

  async runPreBindPlugins(state: CycleState, pod: Pod, nodeName: string, signal: AbortSignal): Promise<Status> {
    for (const pl of this.preBindPlugins) {
      let s: Status;
      try {
        s = await pl.preBind(state, pod, nodeName, signal);
      } catch (e) {
        s = asStatus(e);
      }
      if (!s.isSuccess()) return s.withPlugin(pl.name);
    }
    return SUCCESS;
  }

  async runBindPlugins(state: CycleState, pod: Pod, nodeName: string, signal: AbortSignal): Promise<Status> {
    for (const pl of this.bindPlugins) {
      let s: Status;
      try {
        s = await pl.bind(state, pod, nodeName, signal);
      } catch (e) {
        s = asStatus(e);
      }
      if (s.isSkip()) continue;
      return s.isSuccess() ? s : s.withPlugin(pl.name);
    }
    return newStatus(Code.Skip);
  }

  runPostBindPlugins(state: CycleState, pod: Pod, nodeName: string): void {
    for (const pl of this.postBindPlugins) {
      try {
        pl.postBind(state, pod, nodeName);
      } catch (e) {
        this.handle.logger.error({ err: e, plugin: pl.name }, 'postBind failed');
      }
    }
  }
}
