/**
 * The EndpointSlice reconciler (upstream's staging/src/k8s.io/endpointslice/reconciler.go):
 * turns a Service and its pods into the smallest set of slice writes.
 *
 * Endpoints are grouped by the ports they serve (a pod resolving a named targetPort
 * differently lands in another group); each group is kept in slices of at most
 * maxEndpointsPerSlice. Existing slices are updated in place — endpoints removed or
 * changed, then topped up — and new ones created only for what does not fit; a create
 * that would pair with a delete becomes an update of that slice. A Service with nothing
 * to publish keeps one empty placeholder slice.
 */
import { deepClone, type KObject } from '../../apimachinery/meta.js';
import { hasStatusCause } from '../../apimachinery/errors.js';
import { Resources, type Client, type Lister } from '../../client/interface.js';
import type { Endpoint, EndpointSlice, Node, Pod, Service } from '../../client/objects.js';
import type { Logger } from '../../util/log.js';
import { isPodReady } from '../util/pod.js';
import {
  HEADLESS_SERVICE_LABEL,
  LAST_CHANGE_TRIGGER_TIME_ANNOTATION,
  findPort,
  formatTriggerTime,
  isIPv6,
  isServiceIPSet,
  podIPs,
  shouldPodBeInEndpoints,
  shouldSetHostname,
} from '../endpoints/util.js';
import { SERVICE_NAME_LABEL, type EndpointSliceTracker } from './tracker.js';

export { SERVICE_NAME_LABEL };
/** discovery.LabelManagedBy. */
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
/** The managed-by value of slices this controller owns. */
export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
/** --max-endpoints-per-slice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;
/** v1.LabelTopologyZone. */
export const TOPOLOGY_ZONE_LABEL = 'topology.kubernetes.io/zone';
const NAMESPACE_TERMINATING_CAUSE = 'NamespaceTerminating';

export type Slice = EndpointSlice & KObject;
export type SlicePort = NonNullable<EndpointSlice['ports']>[number];
type AddressType = 'IPv4' | 'IPv6';

/** endpointutil.NewPortMapKey: ports in a canonical order, as one string. */
export function portMapKey(ports: readonly SlicePort[] | null | undefined): string {
  return JSON.stringify(
    (ports ?? []).map((p) => JSON.stringify([p.name ?? '', p.port ?? null, p.protocol ?? 'TCP', p.appProtocol ?? null])).sort(),
  );
}

/** hashEndpoint: the identity of an endpoint within a slice — addresses, hostname, target pod. */
function endpointKey(ep: Endpoint): string {
  return JSON.stringify([[...(ep.addresses ?? [])].sort(), ep.hostname ?? '', ep.targetRef?.namespace ?? '', ep.targetRef?.name ?? '']);
}

/** EndpointsEqualBeyondHash: what the key leaves out — node, zone, conditions, hints, targetRef. */
function endpointsEqualBeyondKey(a: Endpoint, b: Endpoint): boolean {
  return (
    a.nodeName === b.nodeName &&
    a.zone === b.zone &&
    a.conditions?.ready === b.conditions?.ready &&
    a.conditions?.serving === b.conditions?.serving &&
    a.conditions?.terminating === b.conditions?.terminating &&
    JSON.stringify(a.hints ?? null) === JSON.stringify(b.hints ?? null) &&
    JSON.stringify(targetRefOf(a)) === JSON.stringify(targetRefOf(b))
  );
}

function targetRefOf(ep: Endpoint): unknown {
  const r = ep.targetRef;
  return r ? [r.kind ?? '', r.namespace ?? '', r.name ?? '', r.uid ?? '', r.apiVersion ?? '', r.fieldPath ?? ''] : null;
}

/** getAddressTypesForService: from spec.ipFamilies, else the cluster IP's family, else both. */
export function addressTypesForService(svc: Service): Set<AddressType> {
  const out = new Set<AddressType>();
  for (const f of svc.spec?.ipFamilies ?? []) {
    if (f === 'IPv4') out.add('IPv4');
    if (f === 'IPv6') out.add('IPv6');
  }
  if (out.size > 0) return out;
  if (isServiceIPSet(svc)) {
    out.add(isIPv6(svc.spec!.clusterIP!) ? 'IPv6' : 'IPv4');
    return out;
  }
  out.add('IPv4');
  out.add('IPv6');
  return out;
}

/** getEndpointPorts: the Service's ports as this pod serves them (unresolvable names skipped). */
export function endpointPorts(svc: Service, pod: Pod): SlicePort[] {
  const ports = svc.spec?.ports ?? [];
  if (ports.length === 0 && svc.spec?.clusterIP === 'None') return [];
  const out: SlicePort[] = [];
  for (const sp of ports) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const p: SlicePort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
    if (sp.appProtocol !== undefined) p.appProtocol = sp.appProtocol;
    out.push(p);
  }
  return out;
}

/** podToEndpoint: a pod's endpoint with its conditions, node, zone and hostname. */
export function podToEndpoint(pod: Pod, node: Node | undefined, svc: Service, addressType: AddressType): Endpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata?.deletionTimestamp;
  // Never "ready" while terminating, unless the Service publishes not-ready addresses.
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: Endpoint = {
    addresses: podIPs(pod).filter((ip) => isIPv6(ip) === (addressType === 'IPv6')),
    conditions: { ready, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata?.labels?.[TOPOLOGY_ZONE_LABEL];
  if (zone) ep.zone = zone;
  if (shouldSetHostname(pod, svc)) ep.hostname = pod.spec!.hostname;
  return ep;
}

/** The labels a slice of svc carries: the Service's (minus reserved ones), headless marker, ownership. */
export function sliceLabels(svc: Service): Record<string, string> {
  const reserved = new Set([SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_SERVICE_LABEL]);
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata?.labels ?? {})) if (!reserved.has(k)) labels[k] = v;
  if (!isServiceIPSet(svc)) labels[HEADLESS_SERVICE_LABEL] = '';
  labels[SERVICE_NAME_LABEL] = svc.metadata?.name ?? '';
  labels[MANAGED_BY_LABEL] = CONTROLLER_NAME;
  return labels;
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  const ak = Object.keys(a ?? {});
  return ak.length === Object.keys(b).length && ak.every((k) => a![k] === b[k]);
}

/** Whether the slice's controller reference is this Service (same uid). */
export function ownedBy(slice: EndpointSlice, svc: Service): boolean {
  return (slice.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Service' && r.apiVersion === 'v1' && r.uid === svc.metadata?.uid);
}

/** newEndpointSlice: an empty slice of svc for one address type and port set. */
function newEndpointSlice(svc: Service, ports: SlicePort[], addressType: AddressType): Slice {
  const name = svc.metadata?.name ?? '';
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${name}-`,
      namespace: svc.metadata?.namespace,
      labels: sliceLabels(svc),
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: svc.metadata?.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    addressType,
    endpoints: [],
    ports,
  };
}

/** A placeholder matches another when both are empty with the same labels and address type. */
function isSamePlaceholder(a: Slice, b: Slice): boolean {
  return (
    a.metadata?.namespace === b.metadata?.namespace &&
    sameLabels(a.metadata?.labels, b.metadata?.labels ?? {}) &&
    a.addressType === b.addressType &&
    (a.endpoints ?? []).length === 0 &&
    (b.endpoints ?? []).length === 0 &&
    (a.ports ?? []).length === 0 &&
    (b.ports ?? []).length === 0
  );
}

/** An insertion-ordered set of endpoints keyed by {@link endpointKey}. */
class EndpointSet {
  private readonly items = new Map<string, Endpoint>();
  get size(): number {
    return this.items.size;
  }
  insert(ep: Endpoint): void {
    this.items.set(endpointKey(ep), ep);
  }
  get(ep: Endpoint): Endpoint | undefined {
    return this.items.get(endpointKey(ep));
  }
  delete(ep: Endpoint): void {
    this.items.delete(endpointKey(ep));
  }
  popAny(): Endpoint {
    const [k, v] = this.items.entries().next().value as [string, Endpoint];
    this.items.delete(k);
    return v;
  }
}

export interface ReconcilerOptions {
  client: Client;
  nodes: Lister<Node>;
  tracker: EndpointSliceTracker;
  logger: Logger;
  maxEndpointsPerSlice?: number;
}

interface Changes {
  create: Slice[];
  update: Slice[];
  delete: Slice[];
}

export class Reconciler {
  private readonly client: Client;
  private readonly nodes: Lister<Node>;
  private readonly tracker: EndpointSliceTracker;
  private readonly logger: Logger;
  private readonly maxEndpointsPerSlice: number;

  constructor(opts: ReconcilerOptions) {
    this.client = opts.client;
    this.nodes = opts.nodes;
    this.tracker = opts.tracker;
    this.logger = opts.logger;
    this.maxEndpointsPerSlice = opts.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  }

  /**
   * Brings svc's slices in line with pods. existing are the slices this controller
   * manages for svc (none pending deletion). Throws an aggregate error to be retried;
   * writes that succeeded stay done.
   */
  async reconcile(svc: Service, pods: readonly Pod[], existing: readonly Slice[], triggerTime: number | undefined): Promise<void> {
    const errs: string[] = [];
    const supported = addressTypesForService(svc);
    const byType = new Map<string, Slice[]>();
    const toDelete: Slice[] = [];
    for (const s of existing) {
      if (!supported.has(s.addressType as AddressType)) {
        toDelete.push(s);
        continue;
      }
      const list = byType.get(s.addressType) ?? [];
      list.push(s);
      byType.set(s.addressType, list);
    }
    for (const t of supported) {
      try {
        await this.reconcileByAddressType(svc, pods, byType.get(t) ?? [], triggerTime, t);
      } catch (err) {
        errs.push(err instanceof Error ? err.message : String(err));
      }
    }
    const ns = svc.metadata?.namespace ?? '';
    for (const s of toDelete) {
      try {
        await this.client.resource(Resources.endpointslices, ns).delete(s.metadata?.name ?? '');
        this.tracker.expectDeletion(s);
      } catch (err) {
        errs.push(`error deleting ${s.metadata?.name ?? ''} EndpointSlice for Service ${ns}/${svc.metadata?.name ?? ''}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (errs.length > 0) throw new Error(errs.join('; '));
  }

  private async reconcileByAddressType(svc: Service, pods: readonly Pod[], existing: readonly Slice[], triggerTime: number | undefined, addressType: AddressType): Promise<void> {
    const errs: string[] = [];
    const changes: Changes = { create: [], update: [], delete: [] };

    const existingByPortMap = new Map<string, Slice[]>();
    for (const s of existing) {
      if (ownedBy(s, svc)) {
        const k = portMapKey(s.ports);
        existingByPortMap.set(k, [...(existingByPortMap.get(k) ?? []), s]);
      } else changes.delete.push(s);
    }

    const desiredByPortMap = new Map<string, { ports: SlicePort[]; endpoints: EndpointSet }>();
    for (const pod of pods) {
      if (!shouldPodBeInEndpoints(pod, true)) continue;
      const ports = endpointPorts(svc, pod);
      const k = portMapKey(ports);
      let desired = desiredByPortMap.get(k);
      if (!desired) desiredByPortMap.set(k, (desired = { ports, endpoints: new EndpointSet() }));
      let node: Node | undefined;
      const nodeName = pod.spec?.nodeName;
      if (nodeName) {
        node = this.nodes.get(nodeName);
        // A pod on an unknown node is left out (and the Service retried), unless the
        // Service asks for every address to be published.
        if (!node && svc.spec?.publishNotReadyAddresses !== true) {
          errs.push(`skipping Pod ${pod.metadata?.name ?? ''} for Service ${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}: Node ${nodeName} Not Found`);
          continue;
        }
      }
      const ep = podToEndpoint(pod, node, svc, addressType);
      if ((ep.addresses ?? []).length > 0) desired.endpoints.insert(ep);
    }

    for (const [k, desired] of desiredByPortMap) {
      const r = this.reconcileByPortMapping(svc, existingByPortMap.get(k) ?? [], desired.endpoints, desired.ports, addressType);
      changes.create.push(...r.create);
      changes.update.push(...r.update);
      changes.delete.push(...r.delete);
    }
    // Slices for port sets no pod serves any more.
    for (const [k, slices] of existingByPortMap) if (!desiredByPortMap.has(k)) changes.delete.push(...slices);

    // A Service with nothing to publish keeps one empty placeholder slice.
    if (existing.length === changes.delete.length && changes.create.length === 0) {
      const placeholder = newEndpointSlice(svc, [], addressType);
      if (changes.delete.length === 1 && isSamePlaceholder(changes.delete[0]!, placeholder)) changes.delete = [];
      else changes.create.push(placeholder);
    }

    try {
      await this.finalize(svc, changes, triggerTime);
    } catch (err) {
      errs.push(err instanceof Error ? err.message : String(err));
    }
    if (errs.length > 0) throw new Error(errs.join('; '));
  }

  /** reconcileByPortMapping: the creates, updates and deletes for one port set. */
  private reconcileByPortMapping(svc: Service, existing: readonly Slice[], desired: EndpointSet, ports: SlicePort[], addressType: AddressType): Changes {
    const max = this.maxEndpointsPerSlice;
    const labels = sliceLabels(svc);
    const byName = new Map<string, Slice>();
    const unchanged = new Set<string>();
    const toUpdate = new Set<string>();
    const toDelete = new Set<string>();

    // 1. Drop endpoints no longer wanted and refresh changed ones in existing slices.
    for (const s of existing) {
      const name = s.metadata?.name ?? '';
      byName.set(name, s);
      const kept: Endpoint[] = [];
      let changed = false;
      for (const ep of s.endpoints ?? []) {
        const want = desired.get(ep);
        if (!want) continue;
        kept.push(want);
        if (!endpointsEqualBeyondKey(want, ep)) changed = true;
        desired.delete(ep);
      }
      const labelsChanged = !sameLabels(s.metadata?.labels, labels);
      if (changed || kept.length !== (s.endpoints ?? []).length) {
        if (kept.length === 0) toDelete.add(name);
        else {
          const copy = deepClone(s);
          copy.endpoints = kept;
          copy.metadata!.labels = labels;
          byName.set(name, copy);
          toUpdate.add(name);
        }
      } else if (labelsChanged) {
        const copy = deepClone(s);
        copy.metadata!.labels = labels;
        byName.set(name, copy);
        toUpdate.add(name);
      } else unchanged.add(name);
    }

    // 2. Top up slices already being updated, fullest first.
    if (desired.size > 0 && toUpdate.size > 0) {
      const slices = [...toUpdate].map((n) => byName.get(n)!).sort((a, b) => (b.endpoints ?? []).length - (a.endpoints ?? []).length);
      for (const s of slices) {
        while (desired.size > 0 && s.endpoints!.length < max) s.endpoints!.push(desired.popAny());
      }
    }

    // 3. What is left goes into the unchanged slice it fits best, else into new slices.
    const create: Slice[] = [];
    while (desired.size > 0) {
      let fill: Slice | undefined;
      if (desired.size < max && unchanged.size > 0) {
        const candidate = sliceToFill([...unchanged].map((n) => byName.get(n)!), desired.size, max);
        if (candidate) {
          fill = deepClone(candidate);
          fill.endpoints = [...(fill.endpoints ?? [])];
          byName.set(fill.metadata!.name!, fill);
        }
      }
      fill ??= newEndpointSlice(svc, ports, addressType);
      while (desired.size > 0 && fill.endpoints!.length < max) fill.endpoints!.push(desired.popAny());
      const name = fill.metadata?.name;
      if (name) {
        toUpdate.add(name);
        unchanged.delete(name);
      } else create.push(fill);
    }
    return {
      create,
      update: [...toUpdate].map((n) => byName.get(n)!),
      delete: [...toDelete].map((n) => byName.get(n)!),
    };
  }

  /** Writes the changes: creates paired with deletes become updates of those slices. */
  private async finalize(svc: Service, changes: Changes, triggerTime: number | undefined): Promise<void> {
    const ns = svc.metadata?.namespace ?? '';
    const svcName = svc.metadata?.name ?? '';
    const rc = this.client.resource<Slice>(Resources.endpointslices, ns);
    const { create, update } = changes;
    const del = [...changes.delete];
    for (let i = 0; i < del.length && create.length > 0; ) {
      const old = del[i]!;
      const slice = create[create.length - 1]!;
      // Only reuse a slice of this Service (not one of an older Service of that name
      // awaiting garbage collection) with the same (immutable) address type.
      if (old.addressType === slice.addressType && ownedBy(old, svc)) {
        slice.metadata!.name = old.metadata!.name;
        // Upstream sends this update unconditionally; the slice's resourceVersion makes it
        // a guarded one (a stale cache then conflicts and the Service is retried).
        slice.metadata!.resourceVersion = old.metadata!.resourceVersion;
        delete slice.metadata!.generateName;
        create.pop();
        update.push(slice);
        del.splice(i, 1);
      } else i++;
    }

    // No new slices for a Service being deleted: the garbage collector is removing them.
    if (!svc.metadata?.deletionTimestamp) {
      for (const s of create) {
        setTriggerTime(s, triggerTime);
        let created: Slice;
        try {
          created = await rc.create(s);
        } catch (err) {
          if (hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) return;
          throw new Error(`failed to create EndpointSlice for Service ${ns}/${svcName}: ${err instanceof Error ? err.message : String(err)}`);
        }
        this.tracker.update(created);
      }
    }
    for (const s of update) {
      setTriggerTime(s, triggerTime);
      let updated: Slice;
      try {
        updated = await rc.update(s);
      } catch (err) {
        throw new Error(`failed to update ${s.metadata?.name ?? ''} EndpointSlice for Service ${ns}/${svcName}: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.tracker.update(updated);
    }
    for (const s of del) {
      try {
        await rc.delete(s.metadata?.name ?? '');
      } catch (err) {
        throw new Error(`failed to delete ${s.metadata?.name ?? ''} EndpointSlice for Service ${ns}/${svcName}: ${err instanceof Error ? err.message : String(err)}`);
      }
      this.tracker.expectDeletion(s);
    }
    if (create.length + update.length + del.length > 0) {
      this.logger.debug({ service: `${ns}/${svcName}`, created: create.length, updated: update.length, deleted: del.length }, 'endpointslice: reconciled');
    }
  }
}

/** getSliceToFill: the slice closest to full once numEndpoints are added, if any fits. */
function sliceToFill(slices: readonly Slice[], numEndpoints: number, max: number): Slice | undefined {
  let closestDiff = max;
  let closest: Slice | undefined;
  for (const s of slices) {
    const diff = max - (numEndpoints + (s.endpoints ?? []).length);
    if (diff >= 0 && diff < closestDiff) {
      closestDiff = diff;
      closest = s;
      if (diff === 0) return s;
    }
  }
  return closest;
}

function setTriggerTime(slice: Slice, triggerTime: number | undefined): void {
  const meta = (slice.metadata ??= {});
  const annotations: Record<string, string> = { ...(meta.annotations ?? {}) };
  if (triggerTime !== undefined) annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION] = formatTriggerTime(triggerTime);
  else delete annotations[LAST_CHANGE_TRIGGER_TIME_ANNOTATION];
  if (Object.keys(annotations).length > 0) meta.annotations = annotations;
  else delete meta.annotations;
}
