/**
 * Service and EndpointSlice change tracking (upstream pkg/proxy ServiceChangeTracker and
 * EndpointsChangeTracker with its endpointSliceCache): informer events go in, the
 * trackers keep the current {@link ServicePortInfo}s and {@link EndpointInfo}s, and record
 * which Services ("namespace/name") changed since the back-end last synced, so a sync can
 * rewrite the rules of those Services only.
 */
import type { EndpointSlice, Service } from '../client/objects.js';
import type { EndpointInfo, Protocol, ServicePortInfo } from './types.js';
import { endpointString } from './types.js';

/** Services with this label belong to another proxy (upstream's LabelServiceProxyName). */
export const LABEL_SERVICE_PROXY_NAME = 'service.kubernetes.io/service-proxy-name';
/** Set on the EndpointSlices of headless Services, which kube-proxy ignores. */
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
/** Names a slice's Service. */
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
/** sessionAffinityConfig.clientIP.timeoutSeconds when unset (3 hours). */
export const DEFAULT_CLIENT_IP_SERVICE_AFFINITY_SECONDS = 10800;

/** proxy.ServicePortName.String(). */
export function servicePortNameString(service: string, portName: string): string {
  return portName ? `${service}:${portName}` : service;
}

function isIPv4(ip: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(ip);
}

/** The ports of a Service kube-proxy programs; [] for headless, ExternalName and other proxies' Services. */
export function servicePorts(svc: Service): ServicePortInfo[] {
  const meta = svc.metadata ?? {};
  const spec = svc.spec ?? {};
  if (meta.labels?.[LABEL_SERVICE_PROXY_NAME] !== undefined) return [];
  if (spec.type === 'ExternalName') return [];
  const clusterIP = [spec.clusterIP, ...(spec.clusterIPs ?? [])].find((ip): ip is string => typeof ip === 'string' && isIPv4(ip));
  if (!clusterIP) return [];
  const service = `${meta.namespace ?? ''}/${meta.name ?? ''}`;
  const lbVIPs = (svc.status?.loadBalancer?.ingress ?? [])
    .filter((i) => i.ip && isIPv4(i.ip) && (i as { ipMode?: string }).ipMode !== 'Proxy')
    .map((i) => i.ip!);
  const externalIPs = (spec.externalIPs ?? []).filter(isIPv4);
  const sticky = spec.sessionAffinity === 'ClientIP'
    ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_CLIENT_IP_SERVICE_AFFINITY_SECONDS)
    : undefined;
  const out: ServicePortInfo[] = [];
  for (const p of spec.ports ?? []) {
    const portName = p.name ?? '';
    const nodePort = spec.type === 'NodePort' || spec.type === 'LoadBalancer' ? (p.nodePort ?? 0) : 0;
    const accessible = nodePort !== 0 || externalIPs.length > 0 || lbVIPs.length > 0;
    out.push({
      service,
      portName,
      name: servicePortNameString(service, portName),
      clusterIP,
      port: p.port,
      protocol: (p.protocol ?? 'TCP') as Protocol,
      nodePort,
      externalIPs,
      loadBalancerVIPs: lbVIPs,
      loadBalancerSourceRanges: spec.loadBalancerSourceRanges ?? [],
      stickyMaxAgeSeconds: sticky,
      externalPolicyLocal: accessible && spec.externalTrafficPolicy === 'Local',
      internalPolicyLocal: spec.internalTrafficPolicy === 'Local',
      healthCheckNodePort: spec.healthCheckNodePort ?? 0,
    });
  }
  return out;
}

function sameJSON(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Current service ports, by service port name, and the Services changed since {@link take}. */
export class ServiceChangeTracker {
  private readonly byService = new Map<string, ServicePortInfo[]>();
  readonly ports = new Map<string, ServicePortInfo>();
  private readonly changed = new Set<string>();

  /** Records a Service's current state (undefined: deleted). Returns whether its ports changed. */
  update(key: string, svc: Service | undefined): boolean {
    const next = svc ? servicePorts(svc) : [];
    const prev = this.byService.get(key) ?? [];
    if (sameJSON(prev, next)) return false;
    for (const p of prev) this.ports.delete(p.name);
    for (const p of next) this.ports.set(p.name, p);
    if (next.length) this.byService.set(key, next);
    else this.byService.delete(key);
    this.changed.add(key);
    return true;
  }

  /** The Services changed since the last call; resets the record. */
  take(): Set<string> {
    const out = new Set(this.changed);
    this.changed.clear();
    return out;
  }
}

interface SliceEndpoints {
  service: string;
  /** service port name → endpoints from this slice. */
  byPort: Map<string, EndpointInfo[]>;
}

/**
 * Current endpoints by service port name, merged from every EndpointSlice of a Service
 * (upstream's endpointSliceCache): an address listed by two slices counts once, ready
 * winning over not ready. Endpoints are ordered by address then port, so the rules come
 * out the same whatever order the slices arrived in.
 */
export class EndpointsChangeTracker {
  private readonly slices = new Map<string, SliceEndpoints>();
  private readonly slicesByService = new Map<string, Set<string>>();
  private readonly portsByService = new Map<string, Set<string>>();
  readonly endpoints = new Map<string, EndpointInfo[]>();
  private readonly changed = new Set<string>();

  constructor(private readonly nodeName: string) {}

  /** Records a slice's state (undefined: deleted). Returns the Service whose endpoints changed, if any. */
  update(sliceKey: string, slice: EndpointSlice | undefined): string | undefined {
    const prev = this.slices.get(sliceKey);
    const next = slice ? this.parse(slice) : undefined;
    if (!prev && !next) return undefined;
    if (prev && next && prev.service === next.service && sameJSON([...prev.byPort], [...next.byPort])) return undefined;
    const affected = new Set<string>();
    if (prev) {
      this.slices.delete(sliceKey);
      this.slicesByService.get(prev.service)?.delete(sliceKey);
      affected.add(prev.service);
    }
    if (next) {
      this.slices.set(sliceKey, next);
      let set = this.slicesByService.get(next.service);
      if (!set) this.slicesByService.set(next.service, (set = new Set()));
      set.add(sliceKey);
      affected.add(next.service);
    }
    for (const s of affected) {
      this.recompute(s);
      this.changed.add(s);
    }
    const svc = next?.service ?? prev!.service;
    return svc;
  }

  /** The Services whose endpoints changed since the last call; resets the record. */
  take(): Set<string> {
    const out = new Set(this.changed);
    this.changed.clear();
    return out;
  }

  private parse(slice: EndpointSlice): SliceEndpoints | undefined {
    const meta = slice.metadata ?? {};
    const svcName = meta.labels?.[LABEL_SERVICE_NAME];
    if (!svcName || meta.labels?.[LABEL_HEADLESS] !== undefined) return undefined;
    if (slice.addressType !== 'IPv4') return undefined;
    const service = `${meta.namespace ?? ''}/${svcName}`;
    const byPort = new Map<string, EndpointInfo[]>();
    for (const port of slice.ports ?? []) {
      if (port.port === undefined || port.port === null) continue;
      const list: EndpointInfo[] = [];
      for (const ep of slice.endpoints ?? []) {
        const ip = ep.addresses?.[0];
        if (!ip) continue;
        const c = ep.conditions ?? {};
        const ready = c.ready !== false;
        list.push({
          ip,
          port: port.port,
          ready,
          serving: c.serving ?? ready,
          terminating: c.terminating === true,
          isLocal: !!ep.nodeName && ep.nodeName === this.nodeName,
        });
      }
      byPort.set(servicePortNameString(service, port.name ?? ''), list);
    }
    return { service, byPort };
  }

  private recompute(service: string): void {
    const merged = new Map<string, Map<string, EndpointInfo>>();
    for (const key of this.slicesByService.get(service) ?? []) {
      const s = this.slices.get(key);
      if (!s) continue;
      for (const [portName, eps] of s.byPort) {
        let m = merged.get(portName);
        if (!m) merged.set(portName, (m = new Map()));
        for (const ep of eps) {
          const id = endpointString(ep);
          const have = m.get(id);
          if (!have || (!have.ready && ep.ready)) m.set(id, ep);
        }
      }
    }
    for (const portName of this.portsByService.get(service) ?? []) if (!merged.has(portName)) this.endpoints.delete(portName);
    if (merged.size === 0) this.portsByService.delete(service);
    else this.portsByService.set(service, new Set(merged.keys()));
    for (const [portName, m] of merged) this.endpoints.set(portName, [...m.values()].sort(compareEndpoints));
    if (this.slicesByService.get(service)?.size === 0) this.slicesByService.delete(service);
  }
}

function ipKey(ip: string): string {
  return ip.split('.').map((o) => o.padStart(3, '0')).join('.');
}

function compareEndpoints(a: EndpointInfo, b: EndpointInfo): number {
  const ka = ipKey(a.ip);
  const kb = ipKey(b.ip);
  return ka < kb ? -1 : ka > kb ? 1 : a.port - b.port;
}
