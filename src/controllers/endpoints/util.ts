/**
 * What the Endpoints and EndpointSlice controllers share (upstream's
 * pkg/controller/util/endpoint and staging endpointslice/util): which pods back a
 * Service, port resolution, hostname rules and the last-change-trigger-time tracker.
 */
import { selectorFromSet } from '../../apimachinery/labels.js';
import { formatRFC3339, type KObject } from '../../apimachinery/meta.js';
import type { Lister } from '../../client/interface.js';
import type { Pod, Service, ServicePort } from '../../client/objects.js';
import { isPodReady, timeOf } from '../util/pod.js';

/** v1.EndpointsLastChangeTriggerTime. */
export const LAST_CHANGE_TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
/** v1.EndpointsOverCapacity. */
export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';
/** v1.IsHeadlessService: set on Endpoints and EndpointSlices of headless Services. */
export const HEADLESS_SERVICE_LABEL = 'service.kubernetes.io/headless';
/** The Endpoints the API server maintains itself (the `kubernetes` Service in `default`). */
export const MASTER_SERVICE_KEY = 'default/kubernetes';

/** helper.IsServiceIPSet: a cluster IP other than None. */
export function isServiceIPSet(svc: Service): boolean {
  const ip = svc.spec?.clusterIP;
  return !!ip && ip !== 'None';
}

/**
 * The Service's selector when this controller manages its endpoints; undefined for
 * Services without one (their endpoints are written by someone else). An empty selector
 * is treated as none: it cannot survive a round trip through the API (omitempty).
 */
export function serviceSelector(svc: Service): Record<string, string> | undefined {
  const sel = svc.spec?.selector;
  return sel && Object.keys(sel).length > 0 ? sel : undefined;
}

/** podutil.IsPodTerminal: Succeeded or Failed. */
export function isPodTerminal(pod: Pod): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/**
 * endpointutil.ShouldPodBeInEndpoints: not terminal, has an IP, and not terminating
 * unless includeTerminating.
 */
export function shouldPodBeInEndpoints(pod: Pod, includeTerminating: boolean): boolean {
  if (isPodTerminal(pod)) return false;
  if (!pod.status?.podIP && (pod.status?.podIPs?.length ?? 0) === 0) return false;
  if (!includeTerminating && pod.metadata?.deletionTimestamp) return false;
  return true;
}

/** endpointutil.ShouldSetHostname: the pod's subdomain is this Service, in its namespace. */
export function shouldSetHostname(pod: Pod, svc: Service): boolean {
  return !!pod.spec?.hostname && pod.spec.subdomain === svc.metadata?.name && svc.metadata?.namespace === pod.metadata?.namespace;
}

/**
 * podutil.FindPort: the container port a Service port's targetPort selects — a number as
 * is, a name looked up (with the Service port's protocol) in the containers and then the
 * restartable init containers (sidecars). Undefined when a name matches nothing.
 */
export function findPort(pod: Pod, svcPort: ServicePort): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === 'number') return target;
  const proto = svcPort.protocol ?? 'TCP';
  const containers = [
    ...(pod.spec?.containers ?? []),
    ...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'),
  ];
  for (const c of containers) {
    for (const p of c.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
    }
  }
  return undefined;
}

/** Whether an IP string is IPv6 (utilnet.IsIPv6String, enough for valid addresses). */
export function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/** The pod's IPs (status.podIPs, or status.podIP when that is empty). */
export function podIPs(pod: Pod): string[] {
  const ips = (pod.status?.podIPs ?? []).map((p) => p.ip).filter((ip): ip is string => !!ip);
  if (ips.length > 0) return ips;
  return pod.status?.podIP ? [pod.status.podIP] : [];
}

/**
 * Keys of the Services in the pod's namespace whose selector matches the pod
 * (endpointutil.GetPodServiceMemberships).
 */
export function podServiceMemberships(services: Lister<Service>, pod: Pod): Set<string> {
  const out = new Set<string>();
  const ns = pod.metadata?.namespace ?? '';
  for (const svc of services.list(ns)) {
    const sel = serviceSelector(svc);
    if (!sel) continue;
    if (selectorFromSet(sel).matches(pod.metadata?.labels)) out.add(`${ns}/${svc.metadata?.name ?? ''}`);
  }
  return out;
}

function sameJSON(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * endpointutil.podEndpointsChanged: whether the pod's endpoint-relevant state changed
 * (podChanged) and whether its labels changed.
 */
export function podEndpointsChanged(oldPod: Pod, newPod: Pod): { podChanged: boolean; labelsChanged: boolean } {
  const labelsChanged = !sameJSON(sortedEntries(oldPod.metadata?.labels), sortedEntries(newPod.metadata?.labels));
  const podChanged =
    !!oldPod.metadata?.deletionTimestamp !== !!newPod.metadata?.deletionTimestamp ||
    isPodReady(oldPod) !== isPodReady(newPod) ||
    isPodTerminal(oldPod) !== isPodTerminal(newPod) ||
    !sameJSON(podIPs(oldPod), podIPs(newPod)) ||
    oldPod.spec?.nodeName !== newPod.spec?.nodeName ||
    oldPod.spec?.hostname !== newPod.spec?.hostname ||
    oldPod.spec?.subdomain !== newPod.spec?.subdomain ||
    oldPod.metadata?.uid !== newPod.metadata?.uid ||
    !sameJSON(containerPorts(oldPod), containerPorts(newPod));
  return { podChanged, labelsChanged };
}

function sortedEntries(m: Record<string, string> | undefined): [string, string][] {
  return Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function containerPorts(pod: Pod): unknown {
  return [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => c.ports ?? []);
}

/**
 * Services to resync after a pod update (endpointutil.GetServicesToUpdateOnPodChange):
 * none when nothing relevant changed; with changed labels, the union of old and new
 * memberships when the pod also changed, else only the services it joined or left.
 */
export function servicesToUpdateOnPodChange(services: Lister<Service>, oldPod: Pod, newPod: Pod): Set<string> {
  if (oldPod.metadata?.resourceVersion === newPod.metadata?.resourceVersion) return new Set();
  const { podChanged, labelsChanged } = podEndpointsChanged(oldPod, newPod);
  if (!podChanged && !labelsChanged) return new Set();
  const current = podServiceMemberships(services, newPod);
  if (!labelsChanged) return current;
  const old = podServiceMemberships(services, oldPod);
  const out = new Set<string>();
  if (podChanged) {
    for (const k of [...old, ...current]) out.add(k);
  } else {
    for (const k of old) if (!current.has(k)) out.add(k);
    for (const k of current) if (!old.has(k)) out.add(k);
  }
  return out;
}

interface TriggerState {
  lastPodTriggerTimes: Map<string, number>;
  lastServiceTriggerTime: number;
}

/**
 * endpointutil.TriggerTimeTracker: the time of the earliest change (a pod's Ready
 * transition, or the Service's creation) not yet reflected in the Service's endpoints,
 * for the `endpoints.kubernetes.io/last-change-trigger-time` annotation.
 */
export class TriggerTimeTracker {
  private readonly states = new Map<string, TriggerState>();

  /**
   * The trigger time for this sync (ms), or undefined when none changed. A Service seen
   * for the first time yields its creationTimestamp.
   */
  computeEndpointLastChangeTriggerTime(svc: Service, pods: readonly Pod[]): number | undefined {
    const key = `${svc.metadata?.namespace ?? ''}/${svc.metadata?.name ?? ''}`;
    const state = this.states.get(key);
    const next: TriggerState = { lastPodTriggerTimes: new Map(), lastServiceTriggerTime: timeOf(svc.metadata?.creationTimestamp) ?? 0 };
    let minChanged: number | undefined;
    for (const pod of pods) {
      const ready = pod.status?.conditions?.find((c) => c.type === 'Ready');
      const t = timeOf(ready?.lastTransitionTime);
      if (t === undefined) continue;
      const name = pod.metadata?.name ?? '';
      next.lastPodTriggerTimes.set(name, t);
      if (t > (state?.lastPodTriggerTimes.get(name) ?? Number.NEGATIVE_INFINITY)) minChanged = minChanged === undefined ? t : Math.min(minChanged, t);
    }
    if (next.lastServiceTriggerTime > (state?.lastServiceTriggerTime ?? Number.NEGATIVE_INFINITY)) {
      minChanged = minChanged === undefined ? next.lastServiceTriggerTime : Math.min(minChanged, next.lastServiceTriggerTime);
    }
    this.states.set(key, next);
    if (!state) return timeOf(svc.metadata?.creationTimestamp);
    return minChanged;
  }

  deleteService(namespace: string, name: string): void {
    this.states.delete(`${namespace}/${name}`);
  }
}

/** The annotation value for a trigger time: RFC 3339 in UTC (metav1.Time has whole seconds). */
export function formatTriggerTime(ms: number): string {
  return formatRFC3339(ms);
}

/** The object an informer delete handler received, unwrapped from a tombstone. */
export function unwrapTombstone<T extends KObject>(obj: T | { tombstone: true; obj: T }): T {
  return (obj as { tombstone?: unknown }).tombstone === true ? (obj as { obj: T }).obj : (obj as T);
}
