/**
 * The scheduler (upstream pkg/scheduler/scheduler.go and schedule_one.go). It watches
 * pods without a node whose spec.schedulerName is one of its profiles', and for each, in
 * priority order:
 *  1. scheduling cycle (synchronous, one pod at a time): PreFilter, Filter over the nodes
 *     (stopping after percentageOfNodesToScore feasible ones, rotating the start node),
 *     PreScore/Score, pick the best node (ties broken at random), assume the pod onto
 *     it in the cache, Reserve, Permit;
 *  2. binding cycle (asynchronous, so the next pod is scheduled meanwhile): PreBind, Bind
 *     (POST pods/binding), then the "Scheduled" event.
 * A pod that fits nowhere gets PostFilter (preemption), a "FailedScheduling" event and a
 * PodScheduled=False condition with upstream's FitError text, and goes back to the queue.
 */
import { setImmediate as yieldImmediate } from 'node:timers/promises';
import { Registry as MetricsRegistry } from 'prom-client';
import { PatchType } from '../apimachinery/meta.js';
import { newEventRecorder } from '../client/events.js';
import { isTombstone, Resources, type Client, type DeletedFinalStateUnknown, type EventRecorder, type InformerFactory, type Lister } from '../client/interface.js';
import { labelSelectorAsSelector, selectorFromSet, type LabelSelector, type Selector } from '../apimachinery/labels.js';
import type { Namespace, Node, Pod, PodCondition, ReplicaSet, ReplicationController, Service, StatefulSet } from '../client/objects.js';
import { realClock, type Clock } from '../util/clock.js';
import { silentLogger, type Logger } from '../util/log.js';
import { podIsTerminal, SchedulerCache } from './cache.js';
import { defaultConfiguration, type SchedulerConfiguration } from './config.js';
import { FitError, newDiagnosis, type Diagnosis } from './framework/fiterror.js';
import { podPriority } from './framework/helpers.js';
import { podInfoOf, type NodeInfo, type NodeInfoLister, type PodInfo } from './framework/nodeinfo.js';
import type { Handle, Registry } from './framework/registry.js';
import { Framework } from './framework/runtime.js';
import { Code, CycleState, type ClusterEvent, type Status } from './framework/types.js';
import { newSchedulerMetrics, type SchedulerMetrics } from './metrics.js';
import { DefaultPreemption } from './plugins/defaultpreemption/index.js';
import { inTreeRegistry } from './plugins/registry.js';
import { SchedulingQueue, type QueuedPodInfo } from './queue.js';

export interface SchedulerOptions {
  client: Client;
  /** Shared informers (pods, nodes, namespaces are taken from it). */
  informers: InformerFactory;
  clock?: Clock;
  logger?: Logger;
  /** Prometheus registry for the scheduler_* metrics (default: a private one). */
  registry?: MetricsRegistry;
  /** Defaulted configuration (default: one default-scheduler profile). */
  config?: SchedulerConfiguration;
  /** Out-of-tree plugins, merged over the in-tree registry. */
  plugins?: Registry;
  /** Event recorder per component (profile scheduler name); default: core/v1 Events through client. */
  recorder?: (component: string) => EventRecorder;
  /** Random source in [0, 1) for tie-breaking (tests make it deterministic). */
  random?: () => number;
}

/** Outcome of one scheduling attempt (for tests and benchmarks). */
export interface ScheduleResult {
  pod: string;
  node?: string;
  result: 'scheduled' | 'unschedulable' | 'error';
  message?: string;
}

interface ScheduleSuccess {
  node: string;
  evaluatedNodes: number;
  feasibleNodes: number;
}

const MIN_FEASIBLE_NODES_TO_FIND = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
/** Event messages are cut at 1024 characters as upstream's truncateMessage. */
const MAX_EVENT_MESSAGE = 1024;

function truncateMessage(m: string): string {
  return m.length <= MAX_EVENT_MESSAGE ? m : `${m.slice(0, MAX_EVENT_MESSAGE - 3)}...`;
}

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * How many feasible nodes to look for before scoring: all below 100 nodes; else
 * percentage% of them (adaptive when 0: 50% minus 1% per 125 nodes, at least 5%), and
 * never fewer than 100.
 */
export function numFeasibleNodesToFind(percentage: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = percentage;
  if (pct === 0) {
    pct = 50 - Math.trunc(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

/** ErrNoNodesAvailable: handled as UnschedulableAndUnresolvable, not as an internal error. */
class NoNodesAvailableError extends Error {
  constructor() {
    super('no nodes available to schedule pods');
  }
}

function isAssigned(pod: Pod): boolean {
  return !!pod.spec?.nodeName;
}

function unwrap<T>(x: T | DeletedFinalStateUnknown<T>): T {
  return isTombstone(x) ? x.obj : x;
}

/** Whether a node change may let a pending pod fit (upstream nodeSchedulingPropertiesChange). */
function nodeSchedulingPropertiesChanged(a: Node, b: Node): boolean {
  if (!!a.spec?.unschedulable !== !!b.spec?.unschedulable) return true;
  if (JSON.stringify(a.status?.allocatable) !== JSON.stringify(b.status?.allocatable)) return true;
  if (JSON.stringify(a.metadata?.labels) !== JSON.stringify(b.metadata?.labels)) return true;
  if (JSON.stringify(a.spec?.taints) !== JSON.stringify(b.spec?.taints)) return true;
  if (JSON.stringify(a.metadata?.annotations) !== JSON.stringify(b.metadata?.annotations)) return true;
  return false;
}

/**
 * One scheduler: its profiles' frameworks, the cache and the queue, fed by the shared
 * informers it registers handlers on at construction. Drive it with run(signal).
 */
export class Scheduler {
  readonly cache = new SchedulerCache();
  readonly queue: SchedulingQueue;
  readonly profiles = new Map<string, Framework>();
  readonly metrics: SchedulerMetrics;
  readonly metricsRegistry: MetricsRegistry;
  private readonly client: Client;
  private readonly informers: InformerFactory;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly config: SchedulerConfiguration;
  private readonly random: () => number;
  private readonly recorders = new Map<string, EventRecorder>();
  private readonly podLister: Lister<Pod>;
  private readonly namespaceLister: Lister<Namespace>;
  private nextStartNodeIndex = 0;
  /**
   * Pending pods nominated to a node by preemption (node → uid → pod): filters count them
   * on that node for pods of lower or equal priority, so the room preemption made is
   * kept for them (upstream's nominator).
   */
  private readonly nominatedByNode = new Map<string, Map<string, PodInfo>>();
  private readonly nominatedNodeOf = new Map<string, string>();
  private readonly bindings = new Set<Promise<void>>();
  private bindSignal: AbortSignal = new AbortController().signal;
  /** Called after every attempt (tests and benchmarks observe outcomes here). */
  onResult: ((r: ScheduleResult) => void) | undefined;

  constructor(opts: SchedulerOptions) {
    this.client = opts.client;
    this.informers = opts.informers;
    this.clock = opts.clock ?? realClock;
    this.logger = opts.logger ?? silentLogger();
    this.config = opts.config ?? defaultConfiguration();
    this.random = opts.random ?? Math.random;
    this.metricsRegistry = opts.registry ?? new MetricsRegistry();
    this.metrics = newSchedulerMetrics(this.metricsRegistry);
    const registry: Registry = { ...inTreeRegistry, ...opts.plugins };
    const podInformer = this.informers.forResource<Pod>(Resources.pods);
    const nodeInformer = this.informers.forResource<Node>(Resources.nodes);
    const nsInformer = this.informers.forResource<Namespace>(Resources.namespaces);
    this.podLister = podInformer.lister;
    this.namespaceLister = nsInformer.lister;
    // PodTopologySpread's system defaults count the pods of the pod's Services and controller.
    const wantsSpreadDefaults = this.config.profiles.some((p) => JSON.stringify(p.plugins).includes('"PodTopologySpread"'));
    const defaultSpreadSelector = wantsSpreadDefaults ? this.newDefaultSelector() : undefined;
    const recorderFor = opts.recorder ?? ((component: string) => newEventRecorder({ client: this.client, component, clock: this.clock, logger: this.logger }));
    const pluginEvents = new Map<string, readonly ClusterEvent[] | undefined>();
    let gates = false;
    for (const profile of this.config.profiles) {
      let fw: Framework | undefined;
      const cache = this.cache;
      const handle: Handle = {
        snapshot: (): NodeInfoLister => cache,
        namespaceLabels: (ns) => this.namespaceLister.get(ns)?.metadata?.labels,
        client: this.client,
        clock: this.clock,
        logger: this.logger,
        framework: () => fw!,
        defaultSpreadSelector,
      };
      try {
        fw = new Framework({ profile, registry, handle });
      } catch (e) {
        throw new Error(`initializing profiles: creating profile for scheduler name ${profile.schedulerName}: ${(e as Error).message}`);
      }
      this.profiles.set(profile.schedulerName, fw);
      const recorder = recorderFor(profile.schedulerName);
      this.recorders.set(profile.schedulerName, recorder);
      for (const p of fw.postFilterPlugins) if (p instanceof DefaultPreemption) p.recorder = recorder;
      for (const [k, v] of fw.pluginEvents()) pluginEvents.set(k, v);
      gates ||= fw.schedulingGates;
    }
    this.queue = new SchedulingQueue({
      clock: this.clock,
      initialBackoffMs: this.config.podInitialBackoffSeconds * 1000,
      maxBackoffMs: this.config.podMaxBackoffSeconds * 1000,
      pluginEvents,
      schedulingGates: gates,
      onChange: (l) => {
        this.metrics.pendingPods.set({ queue: 'active' }, l.active);
        this.metrics.pendingPods.set({ queue: 'backoff' }, l.backoff);
        this.metrics.pendingPods.set({ queue: 'unschedulable' }, l.unschedulable);
        this.metrics.pendingPods.set({ queue: 'gated' }, l.gated);
      },
    });
    this.addEventHandlers(podInformer, nodeInformer, nsInformer);
  }

  /** helper.DefaultSelector over informers for Services, RCs, ReplicaSets and StatefulSets. */
  private newDefaultSelector(): (pod: Pod) => Selector | undefined {
    const services = this.informers.forResource<Service>(Resources.services).lister;
    const rcs = this.informers.forResource<ReplicationController>(Resources.replicationcontrollers).lister;
    const rss = this.informers.forResource<ReplicaSet>(Resources.replicasets).lister;
    const sss = this.informers.forResource<StatefulSet>(Resources.statefulsets).lister;
    return (pod) => {
      const ns = pod.metadata?.namespace ?? 'default';
      const podLabels = pod.metadata?.labels ?? {};
      let set: Record<string, string> = {};
      for (const svc of services.list(ns)) {
        const sel = svc.spec?.selector;
        if (!sel || Object.keys(sel).length === 0) continue;
        if (selectorFromSet(sel).matches(podLabels)) set = { ...set, ...sel };
      }
      let selector = selectorFromSet(set);
      const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
      if (!owner) return selector;
      try {
        if (owner.kind === 'ReplicationController' && owner.apiVersion === 'v1') {
          const rc = rcs.get(`${ns}/${owner.name}`);
          if (rc?.spec?.selector) selector = selectorFromSet({ ...set, ...rc.spec.selector });
        } else if ((owner.kind === 'ReplicaSet' || owner.kind === 'StatefulSet') && owner.apiVersion === 'apps/v1') {
          const obj = owner.kind === 'ReplicaSet' ? rss.get(`${ns}/${owner.name}`) : sss.get(`${ns}/${owner.name}`);
          if (obj?.spec?.selector) {
            const other = labelSelectorAsSelector(obj.spec.selector as LabelSelector);
            const r = other.requirements();
            if (r.selectable) selector = selector.add(...r.requirements);
          }
        }
      } catch {
        // An invalid controller selector contributes nothing, as upstream.
      }
      return selector;
    };
  }

  /** Records (or, with node '' / undefined, clears) the node pod is nominated to. */
  private setNominated(pod: Pod, node: string | undefined): void {
    const pi = podInfoOf(pod);
    const prev = this.nominatedNodeOf.get(pi.uid);
    if (prev !== undefined) {
      const m = this.nominatedByNode.get(prev);
      m?.delete(pi.uid);
      if (m && m.size === 0) this.nominatedByNode.delete(prev);
      this.nominatedNodeOf.delete(pi.uid);
    }
    if (!node) return;
    let m = this.nominatedByNode.get(node);
    if (!m) this.nominatedByNode.set(node, (m = new Map()));
    m.set(pi.uid, pi);
    this.nominatedNodeOf.set(pi.uid, node);
  }

  /**
   * RunFilterPluginsWithNominatedPods: when pods of at least this pod's priority are
   * nominated to the node, the pod must fit with them placed there too (and without them,
   * since they may still go elsewhere).
   */
  private filterWithNominated(fw: Framework, state: CycleState, pod: Pod, ni: NodeInfo): Status {
    const noms = this.nominatedByNode.size > 0 ? this.nominatedByNode.get(ni.name) : undefined;
    if (noms) {
      const prio = podPriority(pod);
      const uid = podInfoOf(pod).uid;
      let withNoms: NodeInfo | undefined;
      let stateWithNoms: CycleState | undefined;
      for (const npi of noms.values()) {
        if (npi.uid === uid || podPriority(npi.pod) < prio) continue;
        withNoms ??= ni.clone();
        stateWithNoms ??= state.clone();
        withNoms.addPod(npi);
        fw.runPreFilterExtensionAddPod(stateWithNoms, pod, npi, withNoms);
      }
      if (withNoms && stateWithNoms) {
        const s = fw.runFilterPlugins(stateWithNoms, pod, withNoms);
        if (!s.isSuccess()) return s;
      }
    }
    return fw.runFilterPlugins(state, pod, ni);
  }

  private responsibleFor(pod: Pod): boolean {
    return this.profiles.has(pod.spec?.schedulerName ?? 'default-scheduler');
  }

  private addEventHandlers(
    pods: ReturnType<InformerFactory['forResource']>,
    nodes: ReturnType<InformerFactory['forResource']>,
    namespaces: ReturnType<InformerFactory['forResource']>,
  ): void {
    const q = this.queue;
    const cache = this.cache;
    nodes.addEventHandler({
      add: (o) => {
        cache.addNode(o as Node);
        q.moveAllToActiveOrBackoffQueue('NodeAdd');
      },
      update: (oldO, newO) => {
        cache.updateNode(newO as Node);
        if (oldO !== newO && nodeSchedulingPropertiesChanged(oldO as Node, newO as Node)) q.moveAllToActiveOrBackoffQueue('NodeUpdate');
      },
      delete: (o) => cache.removeNode(unwrap(o) as Node),
    });
    pods.addEventHandler({
      add: (o) => {
        const pod = o as Pod;
        if (isAssigned(pod)) {
          if (podIsTerminal(pod)) return;
          cache.addPod(pod);
          q.moveAllToActiveOrBackoffQueue('AssignedPodAdd');
        } else if (this.responsibleFor(pod) && !pod.metadata?.deletionTimestamp && !podIsTerminal(pod)) {
          q.add(pod);
          if (pod.status?.nominatedNodeName) this.setNominated(pod, pod.status.nominatedNodeName);
        }
      },
      update: (oldO, newO) => {
        const oldPod = oldO as Pod;
        const pod = newO as Pod;
        if (isAssigned(pod)) {
          if (!isAssigned(oldPod)) {
            q.delete(oldPod);
            this.setNominated(pod, undefined);
          }
          if (podIsTerminal(pod)) {
            cache.removePod(pod);
            q.moveAllToActiveOrBackoffQueue('AssignedPodDelete');
            return;
          }
          cache.updatePod(pod);
          q.moveAllToActiveOrBackoffQueue(isAssigned(oldPod) ? 'AssignedPodUpdate' : 'AssignedPodAdd');
          return;
        }
        if (!this.responsibleFor(pod)) return;
        if (pod.metadata?.deletionTimestamp || podIsTerminal(pod)) {
          q.delete(pod);
          this.setNominated(pod, undefined);
          return;
        }
        if ((oldPod.status?.nominatedNodeName ?? '') !== (pod.status?.nominatedNodeName ?? '')) this.setNominated(pod, pod.status?.nominatedNodeName);
        q.update(oldPod, pod);
      },
      delete: (o) => {
        const pod = unwrap(o) as Pod;
        if (isAssigned(pod) || cache.nodeOf(podInfoOf(pod).uid) !== undefined) {
          cache.removePod(pod);
          q.moveAllToActiveOrBackoffQueue('AssignedPodDelete');
        }
        q.delete(pod);
        this.setNominated(pod, undefined);
        const uid = pod.metadata?.uid ?? '';
        for (const fw of this.profiles.values()) fw.waitingPods.get(uid)?.reject('', 'pod was deleted');
      },
    });
    namespaces.addEventHandler({
      add: () => q.moveAllToActiveOrBackoffQueue('NamespaceChange'),
      update: (a, b) => {
        if (a !== b) q.moveAllToActiveOrBackoffQueue('NamespaceChange');
      },
    });
  }

  /**
   * Starts informers, waits for their caches, then schedules until signal aborts; resolves
   * once in-flight bindings have settled.
   */
  async run(signal: AbortSignal): Promise<void> {
    this.bindSignal = signal;
    this.informers.start(signal);
    await this.informers.waitForCacheSync(signal);
    this.queue.run(signal);
    this.logger.info({ profiles: [...this.profiles.keys()] }, 'scheduler started');
    while (!signal.aborted) {
      const qpi = await this.queue.pop();
      if (!qpi || signal.aborted) break;
      await this.scheduleOne(qpi);
      // Let informer events (the bindings' confirmations, new pods) in between pods.
      await yieldImmediate();
    }
    await Promise.allSettled([...this.bindings]);
  }

  /** Schedules every pod in activeQ now, without yielding (tests). Returns how many. */
  async scheduleAllPending(): Promise<number> {
    let n = 0;
    for (;;) {
      const qpi = this.queue.tryPop();
      if (!qpi) return n;
      await this.scheduleOne(qpi);
      n++;
    }
  }

  /** Waits for every binding in flight (tests). */
  async waitForBindings(): Promise<void> {
    while (this.bindings.size > 0) await Promise.allSettled([...this.bindings]);
  }

  /** One pod's scheduling cycle; its binding cycle continues in the background. */
  async scheduleOne(qpi: QueuedPodInfo): Promise<void> {
    const pod = qpi.pod;
    const fw = this.profiles.get(pod.spec?.schedulerName ?? 'default-scheduler');
    if (!fw || this.skipPodSchedule(pod)) {
      this.queue.done(qpi.uid);
      return;
    }
    const start = performance.now();
    const cycle = this.queue.cycle();
    const state = new CycleState();
    const pi = podInfoOf(pod);
    let result: ScheduleSuccess | FitError | Error;
    try {
      result = this.schedulePod(fw, state, pod);
    } catch (e) {
      result = e instanceof Error ? e : new Error(String(e));
    }
    this.metrics.algorithmDuration.observe((performance.now() - start) / 1000);
    if (!(result instanceof Error)) {
      const node = result.node;
      this.cache.assumePod(pi, node);
      this.setNominated(pod, undefined);
      const rs = fw.runReservePluginsReserve(state, pod, node);
      if (!rs.isSuccess()) {
        fw.runReservePluginsUnreserve(state, pod, node);
        this.cache.forgetPod(pi.uid);
        this.failed(fw, qpi, rs.isRejected() ? rs.message() : `running Reserve plugin "${rs.plugin}": ${rs.message()}`, rs.isRejected() ? 'Unschedulable' : 'SchedulerError', cycle, start, rs.plugin);
        return;
      }
      const ps = fw.runPermitPlugins(state, pod, node, pi.uid);
      if (!ps.isSuccess() && ps.code !== Code.Wait) {
        fw.runReservePluginsUnreserve(state, pod, node);
        this.cache.forgetPod(pi.uid);
        this.failed(fw, qpi, ps.isRejected() ? ps.message() : `running Permit plugin "${ps.plugin}": ${ps.message()}`, ps.isRejected() ? 'Unschedulable' : 'SchedulerError', cycle, start, ps.plugin);
        return;
      }
      this.queue.done(qpi.uid);
      const p = this.bindingCycle(fw, state, qpi, node, cycle, start).catch((err: unknown) => {
        // Plugins' failures are Statuses; anything thrown here is a bug: log it, undo the assumption.
        this.logger.error({ err, pod: pi.key }, 'binding cycle failed');
        this.cache.forgetPod(pi.uid);
      });
      this.bindings.add(p);
      void p.finally(() => this.bindings.delete(p));
      return;
    }
    if (result instanceof FitError) {
      const d = result.diagnosis;
      let nominated: string | undefined;
      if (fw.postFilterPlugins.length > 0) {
        const pf = await fw.runPostFilterPlugins(state, pod, d.nodeToStatus);
        if (pf.status.code !== Code.Success && pf.status.message()) d.postFilterMsg = pf.status.message();
        nominated = pf.result?.nominatedNodeName;
        // Reserve the room at once; the status update that records it comes back later.
        if (nominated !== undefined) this.setNominated(pod, nominated);
      }
      qpi.unschedulablePlugins = d.unschedulablePlugins;
      qpi.lastFailureWasError = false;
      this.failed(fw, qpi, result.message, 'Unschedulable', cycle, start, undefined, nominated);
      return;
    }
    if (result instanceof NoNodesAvailableError) {
      qpi.unschedulablePlugins = new Set();
      qpi.lastFailureWasError = false;
      this.failed(fw, qpi, result.message, 'Unschedulable', cycle, start);
      return;
    }
    qpi.lastFailureWasError = true;
    this.failed(fw, qpi, result.message, 'SchedulerError', cycle, start);
  }

  /** A pod deleted or already bound (assumed) since it was queued is not scheduled again. */
  private skipPodSchedule(pod: Pod): boolean {
    if (pod.metadata?.deletionTimestamp) return true;
    const uid = podInfoOf(pod).uid;
    return this.cache.nodeOf(uid) !== undefined;
  }

  /** The scheduling algorithm: a node for pod, or why there is none. */
  schedulePod(fw: Framework, state: CycleState, pod: Pod): ScheduleSuccess | FitError {
    const nodes = this.cache.list();
    if (nodes.length === 0) throw new NoNodesAvailableError();
    const pi = podInfoOf(pod);
    const podKey = pi.key;
    const d = newDiagnosis();
    const pre = fw.runPreFilterPlugins(state, pod, pi);
    if (!pre.isSuccess()) {
      if (!pre.isRejected()) throw new Error(`running PreFilter plugin "${pre.plugin}": ${pre.message()}`);
      d.absentNodesStatus = pre;
      d.preFilterMsg = pre.message();
      if (pre.plugin) d.unschedulablePlugins.add(pre.plugin);
      return new FitError(podKey, nodes.length, d);
    }
    // A pod that preempted others tries its nominated node first.
    const nominated = pod.status?.nominatedNodeName;
    if (nominated) {
      const ni = this.cache.get(nominated);
      if (ni && this.filterWithNominated(fw, state, pod, ni).isSuccess()) return { node: nominated, evaluatedNodes: 1, feasibleNodes: 1 };
    }
    const feasible = this.findNodesThatPassFilters(fw, state, pod, d, nodes);
    if (feasible.length === 0) return new FitError(podKey, nodes.length, d);
    const evaluated = feasible.length + d.nodeToStatus.size;
    if (feasible.length === 1) return { node: feasible[0]!.name, evaluatedNodes: evaluated, feasibleNodes: 1 };
    const ps = fw.runPreScorePlugins(state, pod, feasible);
    if (!ps.isSuccess()) throw new Error(`running PreScore plugin "${ps.plugin}": ${ps.message()}`);
    const totals = fw.runScorePlugins(state, pod, feasible);
    if (!(totals instanceof Float64Array)) throw new Error(`running Score plugin "${totals.plugin}": ${totals.message()}`);
    return { node: this.selectHost(feasible, totals), evaluatedNodes: evaluated, feasibleNodes: feasible.length };
  }

  private findNodesThatPassFilters(fw: Framework, state: CycleState, pod: Pod, d: Diagnosis, nodes: readonly NodeInfo[]): NodeInfo[] {
    const n = nodes.length;
    const pct = fw.percentageOfNodesToScore ?? this.config.percentageOfNodesToScore;
    const want = numFeasibleNodesToFind(pct, n);
    const feasible: NodeInfo[] = [];
    const start = this.nextStartNodeIndex % n;
    let processed = 0;
    for (let i = 0; i < n; i++) {
      const ni = nodes[(start + i) % n]!;
      processed++;
      const s = this.filterWithNominated(fw, state, pod, ni);
      if (s.code === Code.Success) {
        feasible.push(ni);
        if (feasible.length >= want) break;
      } else if (s.isRejected()) {
        d.nodeToStatus.set(ni.name, s);
        if (s.plugin) d.unschedulablePlugins.add(s.plugin);
      } else {
        throw new Error(`running Filter plugin "${s.plugin}": ${s.message()}`);
      }
    }
    this.nextStartNodeIndex = (start + processed) % n;
    return feasible;
  }

  /** The node with the highest total; among equals, each is equally likely (reservoir sampling). */
  private selectHost(nodes: readonly NodeInfo[], totals: Float64Array): string {
    let best = 0;
    let ties = 1;
    for (let i = 1; i < nodes.length; i++) {
      const t = totals[i]!;
      if (t > totals[best]!) {
        best = i;
        ties = 1;
      } else if (t === totals[best]!) {
        ties++;
        if (this.random() * ties < 1) best = i;
      }
    }
    return nodes[best]!.name;
  }

  private async bindingCycle(fw: Framework, state: CycleState, qpi: QueuedPodInfo, node: string, cycle: number, start: number): Promise<void> {
    const pod = qpi.pod;
    const uid = podInfoOf(pod).uid;
    let s: Status = await fw.waitOnPermit(uid);
    if (s.isSuccess()) s = await fw.runPreBindPlugins(state, pod, node, this.bindSignal);
    if (s.isSuccess()) s = await fw.runBindPlugins(state, pod, node, this.bindSignal);
    if (!s.isSuccess()) {
      fw.runReservePluginsUnreserve(state, pod, node);
      this.cache.forgetPod(uid);
      // The binding may have been refused because the cluster changed: let others retry too.
      this.queue.moveAllToActiveOrBackoffQueue('AssignedPodDelete');
      const rejected = s.isRejected();
      qpi.lastFailureWasError = !rejected;
      if (rejected && s.plugin) qpi.unschedulablePlugins = new Set([s.plugin]);
      const msg = rejected ? s.message()
        : s.code === Code.Skip ? 'no bind plugin bound the pod'
          : `running ${s.plugin && fw.preBindPlugins.some((p) => p.name === s.plugin) ? 'PreBind' : 'Bind'} plugin "${s.plugin ?? ''}": ${s.message()}`;
      this.failed(fw, qpi, msg, rejected ? 'Unschedulable' : 'SchedulerError', cycle, start);
      return;
    }
    this.cache.finishBinding(uid);
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    this.recorders.get(fw.profileName)!.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${node}`);
    this.metrics.scheduleAttempts.inc({ result: 'scheduled', profile: fw.profileName });
    this.metrics.attemptDuration.observe({ result: 'scheduled', profile: fw.profileName }, (performance.now() - start) / 1000);
    this.metrics.podSchedulingAttempts.observe(qpi.attempts);
    fw.runPostBindPlugins(state, pod, node);
    this.onResult?.({ pod: `${ns}/${name}`, node, result: 'scheduled' });
  }

  /** handleSchedulingFailure: event, pod condition, requeue. */
  private failed(
    fw: Framework, qpi: QueuedPodInfo, message: string, reason: 'Unschedulable' | 'SchedulerError', cycle: number, start: number,
    plugin?: string, nominatedNodeName?: string,
  ): void {
    const pod = qpi.pod;
    const result = reason === 'Unschedulable' ? 'unschedulable' : 'error';
    this.metrics.scheduleAttempts.inc({ result, profile: fw.profileName });
    this.metrics.attemptDuration.observe({ result, profile: fw.profileName }, (performance.now() - start) / 1000);
    if (plugin && reason === 'Unschedulable') qpi.unschedulablePlugins = new Set([plugin]);
    const ns = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    // Requeue only a pod that still exists unassigned (it may have been deleted or bound meanwhile).
    const current = this.podLister.get(`${ns}/${name}`);
    if (current && current.metadata?.uid === pod.metadata?.uid && !isAssigned(current)) {
      qpi.pod = current;
      this.queue.addUnschedulableIfNotPresent(qpi, cycle);
    } else {
      this.queue.done(qpi.uid);
    }
    const msg = truncateMessage(message);
    this.logger.debug({ pod: `${ns}/${name}`, reason, msg }, 'unable to schedule pod');
    this.recorders.get(fw.profileName)!.event(pod, 'Warning', 'FailedScheduling', msg);
    if (current) void this.updatePodStatus(current, reason, message, nominatedNodeName);
    this.onResult?.({ pod: `${ns}/${name}`, result, message });
  }

  /** Sets PodScheduled=False (and nominatedNodeName) when it differs from what the pod has. */
  private async updatePodStatus(pod: Pod, reason: string, message: string, nominatedNodeName: string | undefined): Promise<void> {
    const conditions: PodCondition[] = [...(pod.status?.conditions ?? [])];
    const i = conditions.findIndex((c) => c.type === 'PodScheduled');
    const old = i >= 0 ? conditions[i] : undefined;
    const nnnChanged = nominatedNodeName !== undefined && (pod.status?.nominatedNodeName ?? '') !== nominatedNodeName;
    if (old && old.status === 'False' && old.reason === reason && old.message === message && !nnnChanged) return;
    const cond: PodCondition = {
      type: 'PodScheduled',
      status: 'False',
      lastProbeTime: null as unknown as string,
      lastTransitionTime: old && old.status === 'False' ? old.lastTransitionTime : rfc3339(this.clock.now()),
      reason,
      message,
    };
    if (i >= 0) conditions[i] = cond;
    else conditions.push(cond);
    const status: Record<string, unknown> = { conditions };
    if (nnnChanged) status.nominatedNodeName = nominatedNodeName || null;
    try {
      await this.client.resource<Pod>(Resources.pods, pod.metadata?.namespace ?? 'default').patch(
        pod.metadata?.name ?? '', PatchType.MergePatch, { status }, { subresource: 'status' },
      );
    } catch (e) {
      this.logger.debug({ err: e, pod: pod.metadata?.name }, 'updating pod status failed');
    }
  }
}

/** Builds a scheduler (upstream scheduler.New). Call run(signal) to start it. */
export function newScheduler(opts: SchedulerOptions): Scheduler {
  return new Scheduler(opts);
}
