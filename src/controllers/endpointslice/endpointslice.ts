/**
 * The EndpointSlice controller (upstream's pkg/controller/endpointslice): for every
 * Service with a selector, discovery.k8s.io/v1 EndpointSlices (named `<service>-xxxxx`,
 * labelled with the Service name and `managed-by: endpointslice-controller.k8s.io`, owned
 * by the Service) listing its pods with ready/serving/terminating conditions, node, zone
 * and ports — at most 100 endpoints per slice.
 *
 * Slices of a deleted Service are removed by the garbage collector (their ownerReference);
 * Services without a selector (like `default/kubernetes`, whose slice the API server
 * writes) are left alone.
 */
import type { Registry } from 'prom-client';
import { selectorFromSet } from '../../apimachinery/labels.js';
import type { KObject } from '../../apimachinery/meta.js';
import { keyOf, Resources, splitKey, type Client, type Informer, type InformerFactory, type WorkQueue } from '../../client/interface.js';
import type { EndpointSlice, Node, Pod, Service } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { Controller, ControllerContext } from '../types.js';
import { runWorkers } from '../util/worker.js';
import {
  MASTER_SERVICE_KEY,
  TriggerTimeTracker,
  podServiceMemberships,
  serviceSelector,
  servicesToUpdateOnPodChange,
  unwrapTombstone,
} from '../endpoints/util.js';
import { CONTROLLER_NAME, MANAGED_BY_LABEL, MAX_ENDPOINTS_PER_SLICE, Reconciler, SERVICE_NAME_LABEL, type Slice } from './reconciler.js';
import { EndpointSliceTracker } from './tracker.js';

export interface EndpointSliceControllerOptions {
  client: Client;
  informers: InformerFactory;
  clock: Clock;
  logger: Logger;
  registry?: Registry;
  /** --concurrent-service-endpoint-syncs. */
  workers: number;
  /** --max-endpoints-per-slice (default 100). */
  maxEndpointsPerSlice?: number;
}

function managedByController(slice: EndpointSlice): boolean {
  return slice.metadata?.labels?.[MANAGED_BY_LABEL] === CONTROLLER_NAME;
}

/** The key of the Service a slice belongs to, from its service-name label. */
function serviceKeyForSlice(slice: EndpointSlice): string | undefined {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return svc ? `${slice.metadata?.namespace ?? ''}/${svc}` : undefined;
}

export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice-controller';
  readonly queue: WorkQueue<string>;
  private readonly informers: InformerFactory;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly slices: Informer<Slice>;
  private readonly nodes: Informer<Node>;
  private readonly tracker = new EndpointSliceTracker();
  private readonly triggerTimeTracker = new TriggerTimeTracker();
  private readonly reconciler: Reconciler;

  constructor(opts: EndpointSliceControllerOptions) {
    this.informers = opts.informers;
    this.logger = opts.logger;
    this.workers = Math.max(1, opts.workers);
    this.queue = newWorkQueue<string>({ name: 'endpoint_slice', clock: opts.clock, registry: opts.registry });
    this.services = opts.informers.forResource<Service>(Resources.services);
    this.pods = opts.informers.forResource<Pod>(Resources.pods);
    this.slices = opts.informers.forResource<Slice>(Resources.endpointslices);
    this.nodes = opts.informers.forResource<Node>(Resources.nodes);
    this.reconciler = new Reconciler({
      client: opts.client,
      nodes: this.nodes.lister,
      tracker: this.tracker,
      logger: opts.logger,
      maxEndpointsPerSlice: opts.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE,
    });

    this.services.addEventHandler({
      add: (svc) => this.enqueue(keyOf(svc)),
      update: (_old, svc) => this.enqueue(keyOf(svc)),
      delete: (svc) => this.enqueue(keyOf(unwrapTombstone(svc as Service & KObject))),
    });
    this.pods.addEventHandler({
      add: (pod) => this.enqueueAll(podServiceMemberships(this.services.lister, pod)),
      update: (oldPod, pod) => this.enqueueAll(servicesToUpdateOnPodChange(this.services.lister, oldPod, pod)),
      delete: (pod) => this.enqueueAll(podServiceMemberships(this.services.lister, unwrapTombstone(pod as Pod & KObject))),
    });
    this.slices.addEventHandler({
      add: (slice) => {
        if (managedByController(slice) && this.tracker.shouldSync(slice)) this.enqueueForSlice(slice);
      },
      update: (oldSlice, slice) => {
        // A slice that changed hands or Services: both Services take a look.
        if (
          oldSlice.metadata?.labels?.[MANAGED_BY_LABEL] !== slice.metadata?.labels?.[MANAGED_BY_LABEL] ||
          oldSlice.metadata?.labels?.[SERVICE_NAME_LABEL] !== slice.metadata?.labels?.[SERVICE_NAME_LABEL]
        ) {
          if (managedByController(oldSlice)) this.enqueueForSlice(oldSlice);
          if (managedByController(slice)) this.enqueueForSlice(slice);
          return;
        }
        if (managedByController(slice) && this.tracker.shouldSync(slice)) this.enqueueForSlice(slice);
      },
      delete: (obj) => {
        const slice = unwrapTombstone(obj);
        // Someone else deleted a slice we wrote: write it again.
        if (managedByController(slice) && this.tracker.has(slice) && !this.tracker.handleDeletion(slice)) this.enqueueForSlice(slice);
      },
    });
  }

  private enqueue(key: string): void {
    if (key === MASTER_SERVICE_KEY) return;
    this.queue.add(key);
  }

  private enqueueAll(keys: Iterable<string>): void {
    for (const k of keys) this.enqueue(k);
  }

  private enqueueForSlice(slice: EndpointSlice): void {
    const key = serviceKeyForSlice(slice);
    if (key !== undefined) this.enqueue(key);
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.informers.waitForCacheSync(signal);
    } catch {
      this.queue.shutDown();
      return;
    }
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (key) => this.syncService(key), logger: this.logger, signal });
  }

  /** Reconciles the slices of one Service ("namespace/name"); throws to be retried. */
  async syncService(key: string): Promise<void> {
    if (key === MASTER_SERVICE_KEY) return;
    const { namespace = '', name } = splitKey(key);
    const svc = this.services.lister.get(key);
    if (!svc) {
      // The slices go with the Service, through the garbage collector.
      this.triggerTimeTracker.deleteService(namespace, name);
      this.tracker.deleteService(namespace, name);
      return;
    }
    if (svc.spec?.type === 'ExternalName') return;
    const selector = serviceSelector(svc);
    if (!selector) return;

    const sel = selectorFromSet(selector);
    const pods = this.pods.lister.list(namespace).filter((p) => sel.matches(p.metadata?.labels));
    const slices = this.slices.lister
      .list(namespace)
      .filter((s) => s.metadata?.labels?.[SERVICE_NAME_LABEL] === name && managedByController(s) && !s.metadata?.deletionTimestamp);
    if (this.tracker.staleSlices(namespace, name, slices)) {
      throw new Error(`EndpointSlice informer cache is out of date for Service ${key}`);
    }
    const triggerTime = this.triggerTimeTracker.computeEndpointLastChangeTriggerTime(svc, pods);
    await this.reconciler.reconcile(svc, pods, slices, triggerTime);
  }
}

/** The controller-manager's factory (upstream's startEndpointSliceController). */
export function newEndpointSliceController(ctx: ControllerContext): EndpointSliceController {
  return new EndpointSliceController({
    client: ctx.client,
    informers: ctx.informers,
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: 'endpointslice-controller' }),
    registry: ctx.registry,
    workers: ctx.options.workers,
  });
}
