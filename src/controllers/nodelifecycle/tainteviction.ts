/**
 * The taint eviction controller (upstream pkg/controller/tainteviction,
 * "taint-eviction-controller"): deletes pods from nodes with NoExecute taints they do not
 * tolerate.
 *
 * A pod that does not tolerate every NoExecute taint of its node is deleted at once. One
 * that tolerates them all is deleted after the smallest tolerationSeconds among the
 * tolerations used (never, when none of them has tolerationSeconds). The countdown starts
 * when this controller sees the taint (or the pod), runs on the injected clock, and is
 * cancelled when the taints go, the tolerations change to tolerate forever, or the pod is
 * deleted. Before deleting, the pod gets the DisruptionTarget condition
 * (DeletionByTaintManager); events: TaintManagerEviction "Marking for deletion Pod ns/name"
 * and "Cancelling deletion of Pod ns/name".
 */
import { deepClone, deepEqual, PatchType } from '../../apimachinery/meta.js';
import { isTombstone, keyOf, Resources, splitKey, type Client, type EventRecorder, type Informer, type Lister, type WorkQueue } from '../../client/interface.js';
import type { Node, Pod, Taint, Toleration } from '../../client/objects.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import { runWorkers } from '../util/index.js';
import { ensureNodeNameIndex, NODE_NAME_INDEX } from './controller.js';
import { podRef, updatePodCondition } from './nodeutil.js';
import { getMatchingTolerations, minTolerationTimeMs, noExecuteTaints } from './taints.js';

/** Attempts at the condition-and-delete of one pod (retries). */
const DELETE_RETRIES = 5;

interface TimedWorker {
  createdAt: number;
  fireAt: number;
  /** undefined once the work ran (the key stays so the pod is not deleted twice). */
  timer: TimerHandle | undefined;
}

/**
 * TimedWorkerQueue: at most one pending deletion per pod key. A key whose work has run
 * stays until cancelled, so later updates of the terminating pod do not schedule it again.
 */
export class TimedWorkerQueue {
  private readonly workers = new Map<string, TimedWorker>();

  constructor(
    private readonly clock: Clock,
    private readonly work: (key: string, fireAt: number) => Promise<void>,
    private readonly logger: Logger,
  ) {}

  /** Schedules work for key at fireAt unless some is already scheduled (or done). */
  addWork(key: string, createdAt: number, fireAt: number): void {
    if (this.workers.has(key)) {
      this.logger.debug({ key }, 'Trying to add already existing work');
      return;
    }
    const w: TimedWorker = { createdAt, fireAt, timer: undefined };
    this.workers.set(key, w);
    const fire = () => {
      w.timer = undefined;
      this.work(key, fireAt).then(
        () => undefined,
        (err: unknown) => {
          this.logger.error({ key, err: String(err) }, 'NoExecuteTaintManager: timed worker failed');
          // A failed deletion may be scheduled again by the next update.
          if (this.workers.get(key) === w) this.workers.delete(key);
        },
      );
    };
    const delay = fireAt - this.clock.now();
    if (delay <= 0) {
      queueMicrotask(fire);
      return;
    }
    w.timer = this.clock.setTimeout(fire, delay);
  }

  /** Cancels and forgets key's work; true when there was any (pending or done). */
  cancelWork(key: string): boolean {
    const w = this.workers.get(key);
    if (!w) return false;
    w.timer?.cancel();
    this.workers.delete(key);
    return true;
  }

  /** The scheduled work for key, if any. */
  get(key: string): { createdAt: number; fireAt: number } | undefined {
    const w = this.workers.get(key);
    return w ? { createdAt: w.createdAt, fireAt: w.fireAt } : undefined;
  }
}

export interface TaintEvictionControllerOptions {
  client: Client;
  podInformer: Informer<Pod>;
  nodeInformer: Informer<Node>;
  /** Events with source "taint-eviction-controller". */
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  /** Node names whose NoExecute taints changed. */
  nodeQueue: WorkQueue<string>;
  /** Pod keys whose node or tolerations changed. */
  podQueue: WorkQueue<string>;
  workers?: number;
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

export class TaintEvictionController {
  readonly name = 'taint-eviction-controller';
  private readonly client: Client;
  private readonly podLister: Lister<Pod>;
  private readonly nodeLister: Lister<Node>;
  private readonly recorder: EventRecorder;
  private readonly clock: Clock;
  private readonly logger: Logger;
  readonly nodeQueue: WorkQueue<string>;
  readonly podQueue: WorkQueue<string>;
  private readonly workers: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;
  /** Node name → its NoExecute taints, for nodes that have any. */
  private readonly taintedNodes = new Map<string, Taint[]>();
  readonly evictionQueue: TimedWorkerQueue;

  constructor(opts: TaintEvictionControllerOptions) {
    this.client = opts.client;
    this.podLister = opts.podInformer.lister;
    this.nodeLister = opts.nodeInformer.lister;
    this.recorder = opts.recorder;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.nodeQueue = opts.nodeQueue;
    this.podQueue = opts.podQueue;
    this.workers = opts.workers ?? 1;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
    this.evictionQueue = new TimedWorkerQueue(opts.clock, (key, fireAt) => this.deletePod(key, fireAt), opts.logger);

    ensureNodeNameIndex(opts.podInformer);
    opts.podInformer.addEventHandler({
      add: (pod) => this.podUpdated(undefined, pod),
      update: (oldPod, pod) => this.podUpdated(oldPod, pod),
      delete: (obj) => this.podUpdated(isTombstone(obj) ? obj.obj : obj, undefined),
    });
    opts.nodeInformer.addEventHandler({
      add: (node) => this.nodeUpdated(undefined, node),
      update: (oldNode, node) => this.nodeUpdated(oldNode, node),
      delete: (obj) => this.nodeUpdated(isTombstone(obj) ? obj.obj : obj, undefined),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.logger.info({ controller: this.name }, 'Starting controller');
    try {
      await this.waitForCacheSync(signal);
    } catch {
      this.nodeQueue.shutDown();
      this.podQueue.shutDown();
      return;
    }
    await Promise.all([
      runWorkers({ queue: this.nodeQueue, workers: this.workers, sync: async (k) => this.handleNodeUpdate(k), logger: this.logger, signal }),
      runWorkers({ queue: this.podQueue, workers: this.workers, sync: async (k) => this.handlePodUpdate(k), logger: this.logger, signal }),
    ]);
    this.logger.info({ controller: this.name }, 'Shutting down controller');
  }

  private podUpdated(oldPod: Pod | undefined, pod: Pod | undefined): void {
    if (oldPod && pod && deepEqual(oldPod.spec?.tolerations ?? [], pod.spec?.tolerations ?? []) && oldPod.spec?.nodeName === pod.spec?.nodeName) return;
    this.podQueue.add(keyOf((pod ?? oldPod)!));
  }

  private nodeUpdated(oldNode: Node | undefined, node: Node | undefined): void {
    if (oldNode && node && deepEqual(noExecuteTaints(oldNode.spec?.taints), noExecuteTaints(node.spec?.taints))) return;
    this.nodeQueue.add(keyOf((node ?? oldNode)!));
  }

  private cancelWorkWithEvent(key: string): void {
    if (this.evictionQueue.cancelWork(key)) {
      const { namespace, name } = splitKey(key);
      this.recorder.event(podRef(namespace ?? '', name), 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
    }
  }

  private processPodOnNode(key: string, nodeName: string, tolerations: readonly Toleration[] | undefined, taints: readonly Taint[], now: number): void {
    if (taints.length === 0) this.cancelWorkWithEvent(key);
    const { allTolerated, used } = getMatchingTolerations(taints, tolerations);
    if (!allTolerated) {
      this.logger.info({ pod: key, node: nodeName }, 'Not all taints are tolerated after update for pod on node');
      this.cancelWorkWithEvent(key);
      this.evictionQueue.addWork(key, now, now);
      return;
    }
    const min = minTolerationTimeMs(used);
    if (min < 0) {
      this.cancelWorkWithEvent(key);
      return;
    }
    let start = now;
    const scheduled = this.evictionQueue.get(key);
    if (scheduled) {
      // Keep an earlier deadline; a later one restarts from the original start.
      start = scheduled.createdAt;
      if (start + min < now + min) return;
      this.cancelWorkWithEvent(key);
    }
    this.evictionQueue.addWork(key, start, start + min);
  }

  /** handlePodUpdate: a pod's node or tolerations changed, or it was deleted. */
  handlePodUpdate(key: string): void {
    const pod = this.podLister.get(key);
    if (!pod) {
      this.cancelWorkWithEvent(key);
      return;
    }
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) return;
    const taints = this.taintedNodes.get(nodeName);
    if (!taints) return;
    this.processPodOnNode(key, nodeName, pod.spec?.tolerations, taints, this.clock.now());
  }

  /** handleNodeUpdate: a node's NoExecute taints changed, or it was deleted. */
  handleNodeUpdate(nodeName: string): void {
    const node = this.nodeLister.get(nodeName);
    if (!node) {
      this.taintedNodes.delete(nodeName);
      return;
    }
    const taints = noExecuteTaints(node.spec?.taints);
    if (taints.length === 0) this.taintedNodes.delete(nodeName);
    else this.taintedNodes.set(nodeName, taints);
    const pods = this.podLister.byIndex(NODE_NAME_INDEX, nodeName);
    if (pods.length === 0) return;
    if (taints.length === 0) {
      this.logger.info({ node: nodeName }, 'All taints were removed from the node. Cancelling all evictions...');
      for (const p of pods) this.cancelWorkWithEvent(keyOf(p));
      return;
    }
    const now = this.clock.now();
    for (const p of pods) this.processPodOnNode(keyOf(p), nodeName, p.spec?.tolerations, taints, now);
  }

  /** deletePodHandler: event, DisruptionTarget condition, delete; a few attempts. */
  private async deletePod(key: string, _fireAt: number): Promise<void> {
    const { namespace, name } = splitKey(key);
    this.logger.info({ pod: key }, 'Deleting pod');
    this.recorder.event(podRef(namespace ?? '', name), 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    let lastErr: unknown;
    for (let i = 0; i < DELETE_RETRIES; i++) {
      try {
        await this.addConditionAndDeletePod(namespace ?? '', name);
        return;
      } catch (err) {
        lastErr = err;
      }
    }
    throw lastErr;
  }

  private async addConditionAndDeletePod(namespace: string, name: string): Promise<void> {
    const pods = this.client.resource<Pod>(Resources.pods, namespace);
    const pod = await pods.get(name);
    const status = deepClone(pod.status ?? {});
    const changed = updatePodCondition(
      status,
      { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint' },
      this.clock.now(),
    );
    if (changed) {
      await pods.patch(
        name,
        PatchType.MergePatch,
        { metadata: { uid: pod.metadata?.uid, resourceVersion: pod.metadata?.resourceVersion }, status: { conditions: status.conditions } },
        { subresource: 'status' },
      );
    }
    await pods.delete(name, {});
  }
}
