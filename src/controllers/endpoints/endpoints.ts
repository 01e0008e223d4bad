/**
 * The Endpoints controller (upstream's pkg/controller/endpoint): for every Service with a
 * selector, an Endpoints object of the same name listing the matching pods' IPs — ready
 * pods in `addresses`, the others in `notReadyAddresses` (all in `addresses` with
 * publishNotReadyAddresses) — grouped into subsets by the ports they serve.
 *
 * Services without a selector, and ExternalName Services, are left alone: their Endpoints
 * are someone else's (the API server writes `default/kubernetes`). Endpoints whose Service
 * is gone are deleted.
 */
import type { Registry } from 'prom-client';
import { isForbidden, isNotFound, hasStatusCause } from '../../apimachinery/errors.js';
import { selectorFromSet } from '../../apimachinery/labels.js';
import { deepClone, deepEqual, type KObject } from '../../apimachinery/meta.js';
import { keyOf, Resources, splitKey, type Client, type EventRecorder, type Informer, type InformerFactory, type WorkQueue } from '../../client/interface.js';
import type { EndpointAddress, EndpointPort, EndpointSubset, Endpoints, Pod, Service } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { Controller, ControllerContext } from '../types.js';
import { isPodReady } from '../util/pod.js';
import { runWorkers } from '../util/worker.js';
import {
  HEADLESS_SERVICE_LABEL,
  LAST_CHANGE_TRIGGER_TIME_ANNOTATION,
  MASTER_SERVICE_KEY,
  OVER_CAPACITY_ANNOTATION,
  TriggerTimeTracker,
  findPort,
  formatTriggerTime,
  isIPv6,
  isServiceIPSet,
  podIPs,
  podServiceMemberships,
  serviceSelector,
  servicesToUpdateOnPodChange,
  shouldPodBeInEndpoints,
  shouldSetHostname,
  unwrapTombstone,
} from './util.js';

/** maxCapacity: addresses an Endpoints object keeps before it is truncated. */
export const MAX_ENDPOINTS_CAPACITY = 1000;
/** Annotation marking an Endpoints the leader-election of old components used (never resynced). */
const LEADER_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
/** corev1.NamespaceTerminatingCause. */
const NAMESPACE_TERMINATING_CAUSE = 'NamespaceTerminating';

export interface EndpointsControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  registry?: Registry;
  /** --concurrent-endpoint-syncs. */
  workers: number;
}

export class EndpointsController implements Controller {
  readonly name = 'endpoints-controller';
  readonly queue: WorkQueue<string>;
  private readonly client: Client;
  private readonly informers: InformerFactory;
  private readonly recorder: EventRecorder;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly services: Informer<Service>;
  private readonly pods: Informer<Pod>;
  private readonly endpoints: Informer<Endpoints>;
  private readonly triggerTimeTracker = new TriggerTimeTracker();

  constructor(opts: EndpointsControllerOptions) {
    this.client = opts.client;
    this.informers = opts.informers;
    this.recorder = opts.recorder;
    this.logger = opts.logger;
    this.workers = Math.max(1, opts.workers);
    this.queue = newWorkQueue<string>({ name: 'endpoint', clock: opts.clock, registry: opts.registry });
    this.services = opts.informers.forResource<Service>(Resources.services);
    this.pods = opts.informers.forResource<Pod>(Resources.pods);
    this.endpoints = opts.informers.forResource<Endpoints>(Resources.endpoints);

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
    this.endpoints.addEventHandler({
      // Someone deleted Endpoints we manage: put them back (if the Service still wants them).
      delete: (ep) => this.enqueue(keyOf(unwrapTombstone(ep as Endpoints & KObject))),
    });
  }

  private enqueue(key: string): void {
    if (key === MASTER_SERVICE_KEY) return;
    this.queue.add(key);
  }

  private enqueueAll(keys: Iterable<string>): void {
    for (const k of keys) this.enqueue(k);
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.informers.waitForCacheSync(signal);
    } catch {
      this.queue.shutDown();
      return;
    }
    this.checkLeftoverEndpoints();
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (key) => this.syncService(key), logger: this.logger, signal });
  }

  /**
   * Queues every Endpoints object once at start, so those whose Service was deleted while
   * the controller was down are removed.
   */
  private checkLeftoverEndpoints(): void {
    for (const ep of this.endpoints.lister.list()) {
      if (ep.metadata?.annotations?.[LEADER_ANNOTATION] !== undefined) continue;
      this.enqueue(keyOf(ep));
    }
  }

  /** Reconciles the Endpoints of one Service ("namespace/name"); throws to be retried. */
  async syncService(key: string): Promise<void> {
    if (key === MASTER_SERVICE_KEY) return;
    const { namespace = '', name } = splitKey(key);
    const svc = this.services.lister.get(key);
    if (!svc) {
      // The Service is gone: its Endpoints go too (the API server does not cascade this).
      try {
        await this.client.resource<Endpoints>(Resources.endpoints, namespace).delete(name);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.triggerTimeTracker.deleteService(namespace, name);
      return;
    }
    if (svc.spec?.type === 'ExternalName') return;
    const selector = serviceSelector(svc);
    if (!selector) return;

    const sel = selectorFromSet(selector);
    const pods = this.pods.lister.list(namespace).filter((p) => sel.matches(p.metadata?.labels));
    const triggerTime = this.triggerTimeTracker.computeEndpointLastChangeTriggerTime(svc, pods);
    const subsets = computeSubsets(svc, pods, this.logger);

    const current = this.endpoints.lister.get(key);
    const create = !current?.metadata?.resourceVersion;
    const desiredLabels = endpointsLabels(svc);
    const truncated = countAddresses(subsets) > MAX_ENDPOINTS_CAPACITY;
    if (
      !create &&
      deepEqual(normalizeSubsets(current.subsets), subsets) &&
      deepEqual(current.metadata?.labels ?? {}, desiredLabels) &&
      (current.metadata?.annotations?.[OVER_CAPACITY_ANNOTATION] === 'truncated') === truncated
    ) {
      return;
    }

    const next: Endpoints & KObject = create
      ? { apiVersion: 'v1', kind: 'Endpoints', metadata: { name, namespace } }
      : (deepClone(current) as Endpoints & KObject);
    const meta = (next.metadata ??= {});
    meta.labels = desiredLabels;
    const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
    if (triggerTime !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION] = formatTriggerTime(triggerTime);
    else delete annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION];
    let finalSubsets = subsets;
    if (truncated) {
      finalSubsets = truncateSubsets(subsets, MAX_ENDPOINTS_CAPACITY);
      annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
    } else delete annotations[OVER_CAPACITY_ANNOTATION];
    meta.annotations = annotations;
    if (finalSubsets.length > 0) next.subsets = finalSubsets;
    else delete next.subsets;

    const rc = this.client.resource<Endpoints & KObject>(Resources.endpoints, namespace);
    try {
      if (create) await rc.create(next);
      else await rc.update(next);
    } catch (err) {
      // A terminating namespace refuses creates for good: drop the key.
      if (create && isForbidden(err) && hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) return;
      const msg = err instanceof Error ? err.message : String(err);
      if (create) this.recorder.event(next, 'Warning', 'FailedToCreateEndpoint', `Failed to create endpoint for service ${namespace}/${name}: ${msg}`);
      else this.recorder.event(next, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${namespace}/${name}: ${msg}`);
      throw err;
    }
  }
}

/** Labels of a Service's Endpoints: the Service's, plus the headless marker when it has no cluster IP. */
function endpointsLabels(svc: Service): Record<string, string> {
  const labels: Record<string, string> = { ...(svc.metadata?.labels ?? {}) };
  if (!isServiceIPSet(svc)) labels[HEADLESS_SERVICE_LABEL] = '';
  else delete labels[HEADLESS_SERVICE_LABEL];
  return labels;
}

/** The pod's address for the Service's IP family, or undefined when it has none. */
function podToEndpointAddress(svc: Service, pod: Pod): EndpointAddress | undefined {
  const family = svc.spec?.ipFamilies?.[0] ?? (svc.spec?.clusterIP && isServiceIPSet(svc) && isIPv6(svc.spec.clusterIP) ? 'IPv6' : 'IPv4');
  const ip = podIPs(pod).find((a) => isIPv6(a) === (family === 'IPv6'));
  if (!ip) return undefined;
  const addr: EndpointAddress = {
    ip,
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
  };
  // Upstream always sets nodeName; an empty one would not validate, so it is left out.
  if (pod.spec?.nodeName) addr.nodeName = pod.spec.nodeName;
  if (shouldSetHostname(pod, svc)) addr.hostname = pod.spec!.hostname;
  return addr;
}

/**
 * The Service's subsets from its pods (upstream syncService's loop followed by
 * RepackSubsets): one address per pod, grouped by identical port sets.
 */
export function computeSubsets(svc: Service, pods: readonly Pod[], logger?: Logger): EndpointSubset[] {
  const tolerateUnready = svc.spec?.publishNotReadyAddresses === true;
  const raw: EndpointSubset[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerateUnready)) continue;
    const addr = podToEndpointAddress(svc, pod);
    if (!addr) {
      logger?.debug({ pod: keyOf(pod) }, 'endpoints: pod has no IP of the service family');
      continue;
    }
    const ready = tolerateUnready || isPodReady(pod);
    const ports = svc.spec?.ports ?? [];
    if (ports.length === 0) {
      // A headless Service without ports still lists its pods.
      if (svc.spec?.clusterIP === 'None') raw.push(ready ? { addresses: [addr] } : { notReadyAddresses: [addr] });
      continue;
    }
    for (const sp of ports) {
      const port = findPort(pod, sp);
      if (port === undefined) {
        logger?.debug({ pod: keyOf(pod), port: sp.name }, 'endpoints: failed to find port for service');
        continue;
      }
      const epp: EndpointPort = { name: sp.name, port, protocol: sp.protocol ?? 'TCP' };
      if (sp.appProtocol !== undefined) epp.appProtocol = sp.appProtocol;
      if (!epp.name) delete epp.name;
      raw.push(ready ? { addresses: [addr], ports: [epp] } : { notReadyAddresses: [addr], ports: [epp] });
    }
  }
  return repackSubsets(raw);
}

function addrKey(a: EndpointAddress): string {
  return `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
}

function portKey(p: EndpointPort): string {
  return JSON.stringify([p.name ?? '', p.port, p.protocol ?? '', p.appProtocol ?? null]);
}

function compareStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function compareAddr(a: EndpointAddress, b: EndpointAddress): number {
  return compareStr(a.ip, b.ip) || compareStr(a.targetRef?.uid ?? '', b.targetRef?.uid ?? '');
}

/**
 * endpoints.RepackSubsets: the canonical layout — every address once per port set (ready
 * wins when an address is both), subsets keyed by their set of addresses, addresses sorted
 * by IP then pod uid, so equal inputs give equal objects.
 *
 * Example: a:{80}, a:{443}, b:{80} → [{addresses:[a], ports:[443]}, {addresses:[a,b], ports:[80]}]
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const allAddrs = new Map<string, EndpointAddress>();
  // port key → (address key → ready)
  const portToAddrs = new Map<string, { port: EndpointPort | undefined; addrs: Map<string, boolean> }>();
  const note = (port: EndpointPort | undefined, addr: EndpointAddress, ready: boolean) => {
    const ak = addrKey(addr);
    if (!allAddrs.has(ak)) allAddrs.set(ak, addr);
    const pk = port ? portKey(port) : '';
    let entry = portToAddrs.get(pk);
    if (!entry) portToAddrs.set(pk, (entry = { port, addrs: new Map() }));
    if (entry.addrs.get(ak) !== true) entry.addrs.set(ak, ready);
  };
  for (const ss of subsets) {
    const ports = ss.ports && ss.ports.length > 0 ? ss.ports : [undefined];
    for (const port of ports) {
      for (const a of ss.addresses ?? []) note(port, a, true);
      for (const a of ss.notReadyAddresses ?? []) note(port, a, false);
    }
  }
  // address-set key → ports
  const bySet = new Map<string, { addrs: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, addrs } of portToAddrs.values()) {
    const setKey = [...addrs.entries()].map(([k, r]) => `${k}\u0001${r}`).sort().join('\u0002');
    let entry = bySet.get(setKey);
    if (!entry) bySet.set(setKey, (entry = { addrs, ports: [] }));
    if (port) entry.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const { addrs, ports } of bySet.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [k, r] of addrs) (r ? ready : notReady).push(allAddrs.get(k)!);
    const ss: EndpointSubset = {};
    if (ready.length > 0) ss.addresses = ready.sort(compareAddr);
    if (notReady.length > 0) ss.notReadyAddresses = notReady.sort(compareAddr);
    if (ports.length > 0) ss.ports = ports.sort((a, b) => compareStr(portKey(a), portKey(b)));
    out.push(ss);
  }
  return out.sort((a, b) => compareStr(subsetKey(a), subsetKey(b)));
}

function subsetKey(ss: EndpointSubset): string {
  return JSON.stringify([(ss.ports ?? []).map(portKey), (ss.addresses ?? []).map(addrKey), (ss.notReadyAddresses ?? []).map(addrKey)]);
}

/**
 * Subsets as stored, in the canonical form for comparison (the API server may have
 * reordered nothing, but a manual edit could have).
 */
function normalizeSubsets(subsets: EndpointSubset[] | undefined): EndpointSubset[] {
  return repackSubsets(subsets ?? []);
}

function countAddresses(subsets: readonly EndpointSubset[]): number {
  return subsets.reduce((n, ss) => n + (ss.addresses?.length ?? 0) + (ss.notReadyAddresses?.length ?? 0), 0);
}

/**
 * truncateEndpoints: keeps at most max addresses, spread over subsets in proportion to
 * their size, ready addresses first.
 */
function truncateSubsets(subsets: readonly EndpointSubset[], max: number): EndpointSubset[] {
  const total = countAddresses(subsets);
  const out = subsets.map((ss) => deepClone(ss));
  let remaining = max;
  for (let i = 0; i < out.length; i++) {
    const ss = out[i]!;
    const size = (ss.addresses?.length ?? 0) + (ss.notReadyAddresses?.length ?? 0);
    let keep = i === out.length - 1 ? remaining : Math.min(remaining, Math.floor((size / total) * max));
    remaining -= keep;
    const ready = ss.addresses ?? [];
    if (ready.length >= keep) {
      ss.addresses = ready.slice(0, keep);
      delete ss.notReadyAddresses;
      continue;
    }
    keep -= ready.length;
    if (ss.notReadyAddresses) ss.notReadyAddresses = ss.notReadyAddresses.slice(0, keep);
  }
  return out;
}

/** The controller-manager's factory (upstream's startEndpointsController). */
export function newEndpointsController(ctx: ControllerContext): EndpointsController {
  return new EndpointsController({
    client: ctx.client,
    informers: ctx.informers,
    recorder: ctx.recorder('endpoint-controller'),
    clock: ctx.clock,
    logger: ctx.logger.child({ controller: 'endpoints-controller' }),
    registry: ctx.registry,
    workers: ctx.options.workers,
  });
}
