/**
 * The StatefulSet controller (upstream pkg/controller/statefulset/stateful_set.go):
 * informer handlers that enqueue the owning set, and a level-triggered sync that adopts
 * orphaned revisions, claims the set's pods (by selector and by name `<set>-<ordinal>`)
 * and runs one step of {@link StatefulSetControl}.
 */
import {
  Resources, isTombstone, keyOf,
  type Client, type DeletedFinalStateUnknown, type EventRecorder, type Informer, type Lister, type WorkQueue,
} from '../../client/interface.js';
import type { ControllerRevision, Pod, StatefulSet } from '../../client/objects.js';
import { labelSelectorAsSelector, labelsEqual, type LabelSelector, type Selector } from '../../apimachinery/labels.js';
import { deepEqual, PatchType, type KObject, type OwnerReference } from '../../apimachinery/meta.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { Controller, ControllerContext } from '../types.js';
import { ControllerRefManager, controllerRefOf, isPodReady, recheckDeletionTimestamp, runWorkers } from '../util/index.js';
import { History } from '../history/index.js';
import { RealStatefulPodControl, StatefulSetControl, type StatefulPodControl } from './control.js';
import { isMemberOf, replicasOf, statefulSetControllerRef, statefulSetKind } from './utils.js';

/** The events' source component (upstream's "statefulset-controller"). */
export const STATEFULSET_CONTROLLER_COMPONENT = 'statefulset-controller';

export interface StatefulSetControllerOptions {
  client: Client;
  setInformer: Informer<StatefulSet>;
  podInformer: Informer<Pod>;
  revisionInformer: Informer<ControllerRevision>;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  queue: WorkQueue<string>;
  /** Defaults to a RealStatefulPodControl over client and recorder. */
  podControl?: StatefulPodControl;
  workers?: number;
  /** Waits for the informers before workers start. */
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

/** The StatefulSet controller ("statefulset"). */
export class StatefulSetController implements Controller {
  readonly name = 'statefulset';
  readonly queue: WorkQueue<string>;
  readonly control: StatefulSetControl;
  private readonly client: Client;
  private readonly setLister: Lister<StatefulSet>;
  private readonly podLister: Lister<Pod>;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;

  constructor(opts: StatefulSetControllerOptions) {
    this.client = opts.client;
    this.setLister = opts.setInformer.lister;
    this.podLister = opts.podInformer.lister;
    this.logger = opts.logger;
    this.queue = opts.queue;
    this.workers = opts.workers ?? 5;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
    this.control = new StatefulSetControl({
      client: opts.client,
      podControl: opts.podControl ?? new RealStatefulPodControl({ client: opts.client, recorder: opts.recorder }),
      history: new History({ client: opts.client, lister: opts.revisionInformer.lister }),
      recorder: opts.recorder,
      clock: opts.clock,
      logger: opts.logger,
    });

    opts.setInformer.addEventHandler({
      add: (set) => this.enqueue(set),
      update: (_old, cur) => this.enqueue(cur),
      delete: (obj) => this.enqueue(isTombstone(obj) ? obj.obj : obj),
    });
    opts.podInformer.addEventHandler({
      add: (pod) => this.addPod(pod),
      update: (oldPod, curPod) => this.updatePod(oldPod, curPod),
      delete: (obj) => this.deletePod(obj),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    await this.waitForCacheSync(signal);
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (k) => this.sync(k), logger: this.logger, signal });
  }

  // ---- event handlers ----------------------------------------------------------------------

  private enqueue(set: StatefulSet): void {
    this.queue.add(keyOf(set));
  }

  private resolveControllerRef(namespace: string, ref: OwnerReference): StatefulSet | undefined {
    if (ref.kind !== statefulSetKind.kind) return undefined;
    const set = this.setLister.get(`${namespace}/${ref.name}`);
    return set && set.metadata?.uid === ref.uid ? set : undefined;
  }

  /** getStatefulSetsForPod: the sets whose selector matches an orphan pod. */
  private setsForPod(pod: Pod): StatefulSet[] {
    return this.setLister.list(pod.metadata?.namespace ?? '').filter((set) => {
      try {
        const sel = labelSelectorAsSelector(set.spec?.selector as LabelSelector | undefined);
        return !sel.empty() && sel.matches(pod.metadata?.labels);
      } catch {
        return false;
      }
    });
  }

  private addPod(pod: Pod): void {
    if (pod.metadata?.deletionTimestamp) {
      this.deletePod(pod);
      return;
    }
    const ref = controllerRefOf(pod);
    if (ref) {
      const set = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
      if (set) this.enqueue(set);
      return;
    }
    for (const set of this.setsForPod(pod)) this.enqueue(set);
  }

  private updatePod(oldPod: Pod, curPod: Pod): void {
    if (curPod.metadata?.resourceVersion === oldPod.metadata?.resourceVersion) return;
    const curRef = controllerRefOf(curPod);
    const oldRef = controllerRefOf(oldPod);
    const refChanged = !deepEqual(curRef, oldRef);
    if (refChanged && oldRef) {
      const set = this.resolveControllerRef(oldPod.metadata?.namespace ?? '', oldRef);
      if (set) this.enqueue(set);
    }
    if (curRef) {
      const set = this.resolveControllerRef(curPod.metadata?.namespace ?? '', curRef);
      if (!set) return;
      this.enqueue(set);
      const minReady = set.spec?.minReadySeconds ?? 0;
      if (!isPodReady(oldPod) && isPodReady(curPod) && minReady > 0) this.queue.addAfter(keyOf(set), minReady * 1000 + 1000);
      return;
    }
    if (refChanged || !labelsEqual(curPod.metadata?.labels, oldPod.metadata?.labels)) {
      for (const set of this.setsForPod(curPod)) this.enqueue(set);
    }
  }

  private deletePod(obj: Pod | DeletedFinalStateUnknown<Pod>): void {
    const pod = isTombstone(obj) ? obj.obj : obj;
    const ref = controllerRefOf(pod);
    if (!ref) return;
    const set = this.resolveControllerRef(pod.metadata?.namespace ?? '', ref);
    if (set) this.enqueue(set);
  }

  // ---- sync ----------------------------------------------------------------------------------

  private owner(set: StatefulSet): KObject {
    return { ...(set as KObject), ...statefulSetKind };
  }

  private canAdopt(set: StatefulSet): () => Promise<void> {
    const client = this.client.resource<StatefulSet>(Resources.statefulsets, set.metadata?.namespace);
    return recheckDeletionTimestamp(this.owner(set), async () => (await client.get(set.metadata?.name ?? '')) as KObject);
  }

  /** sync: one step for the set; rejects to retry with backoff. */
  async sync(key: string): Promise<void> {
    const set = this.setLister.get(key);
    if (!set) {
      this.logger.debug({ key }, 'StatefulSet has been deleted');
      return;
    }
    let selector: Selector;
    try {
      selector = labelSelectorAsSelector(set.spec?.selector as LabelSelector | undefined);
    } catch (err) {
      // A bad selector does not fix itself by retrying.
      this.logger.error({ key, err }, 'error converting StatefulSet selector');
      return;
    }
    await this.adoptOrphanRevisions(set);
    const pods = await this.getPodsForStatefulSet(set, selector);
    const status = await this.control.updateStatefulSet(set, pods);
    // Come back when ready pods have been ready long enough to count as available.
    const minReady = set.spec?.minReadySeconds ?? 0;
    if (minReady > 0 && (status.availableReplicas ?? 0) !== replicasOf(set)) this.queue.addAfter(key, minReady * 1000);
  }

  private async adoptOrphanRevisions(set: StatefulSet): Promise<void> {
    const orphans = this.control.listRevisions(set).filter((r) => !controllerRefOf(r));
    if (orphans.length === 0) return;
    try {
      await this.canAdopt(set)();
    } catch (err) {
      throw new Error(`can't adopt ControllerRevisions: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    await this.control.adoptOrphanRevisions(set, orphans);
  }

  /**
   * getPodsForStatefulSet: the pods the set owns after adopting orphans that match its
   * selector and name pattern and releasing owned pods that no longer match.
   */
  private async getPodsForStatefulSet(set: StatefulSet, selector: Selector): Promise<Pod[]> {
    const ns = set.metadata?.namespace ?? '';
    const pods = this.client.resource<Pod>(Resources.pods, ns);
    const manager = new ControllerRefManager<Pod>({
      controller: this.owner(set),
      controllerRef: statefulSetControllerRef(set),
      selector,
      canAdopt: this.canAdopt(set),
      patch: (pod, patch) => pods.patch(pod.metadata?.name ?? '', PatchType.StrategicMergePatch, patch),
      filters: [(pod) => isMemberOf(set, pod)],
    });
    return manager.claim(this.podLister.list(ns));
  }
}

/** Builds the controller from a ControllerContext (shared informers, queue, recorder). */
export function newController(ctx: ControllerContext, queue: WorkQueue<string>): StatefulSetController {
  return new StatefulSetController({
    client: ctx.client,
    setInformer: ctx.informers.forResource<StatefulSet>(Resources.statefulsets),
    podInformer: ctx.informers.forResource<Pod>(Resources.pods),
    revisionInformer: ctx.informers.forResource<ControllerRevision>(Resources.controllerrevisions),
    recorder: ctx.recorder(STATEFULSET_CONTROLLER_COMPONENT),
    clock: ctx.clock,
    logger: ctx.logger,
    queue,
    workers: ctx.options.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
}
