/**
 * What kube-proxy knows about one service port and its endpoints (upstream pkg/proxy
 * ServicePort / Endpoint), reduced to the fields the back-ends use. Produced by the change
 * trackers from Services and EndpointSlices; consumed by the iptables rule generator and
 * the userspace forwarder, which never look at API objects themselves.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** One port of one Service. */
export interface ServicePortInfo {
  /** "namespace/name" of the Service. */
  readonly service: string;
  /** The port's name ('' for a single unnamed port). */
  readonly portName: string;
  /** proxy.ServicePortName.String(): "ns/name:port", or "ns/name" when the port has no name. */
  readonly name: string;
  readonly clusterIP: string;
  readonly port: number;
  readonly protocol: Protocol;
  /** 0 when the Service has none. */
  readonly nodePort: number;
  readonly externalIPs: readonly string[];
  /** status.loadBalancer.ingress IPs whose ipMode is not Proxy. */
  readonly loadBalancerVIPs: readonly string[];
  readonly loadBalancerSourceRanges: readonly string[];
  /** sessionAffinity ClientIP: how long a client sticks to its endpoint; undefined for None. */
  readonly stickyMaxAgeSeconds: number | undefined;
  /** externalTrafficPolicy Local on an externally reachable Service. */
  readonly externalPolicyLocal: boolean;
  /** internalTrafficPolicy Local. */
  readonly internalPolicyLocal: boolean;
  readonly healthCheckNodePort: number;
}

/** One endpoint (address + port) of one service port. */
export interface EndpointInfo {
  readonly ip: string;
  readonly port: number;
  /** conditions.ready (unset counts as true, as upstream). */
  readonly ready: boolean;
  /** conditions.serving (unset: same as ready). */
  readonly serving: boolean;
  readonly terminating: boolean;
  /** nodeName is this proxy's node. */
  readonly isLocal: boolean;
}

/** "ip:port", the endpoint's identity in chain names and comments. */
export function endpointString(ep: Pick<EndpointInfo, 'ip' | 'port'>): string {
  return ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
}

/** Reachable from outside the cluster: a NodePort, an external IP or a load-balancer IP. */
export function externallyAccessible(sp: ServicePortInfo): boolean {
  return sp.nodePort !== 0 || sp.externalIPs.length > 0 || sp.loadBalancerVIPs.length > 0;
}

/** Some traffic to this port is routed with the Cluster policy (upstream UsesClusterEndpoints). */
export function usesClusterEndpoints(sp: ServicePortInfo): boolean {
  return !sp.internalPolicyLocal || (externallyAccessible(sp) && !sp.externalPolicyLocal);
}

/** Some traffic to this port is routed with the Local policy (upstream UsesLocalEndpoints). */
export function usesLocalEndpoints(sp: ServicePortInfo): boolean {
  return sp.internalPolicyLocal || (externallyAccessible(sp) && sp.externalPolicyLocal);
}

/** A snapshot the back-ends sync from: service ports by name, endpoints by service port name. */
export interface ProxyState {
  services: ReadonlyMap<string, ServicePortInfo>;
  endpoints: ReadonlyMap<string, readonly EndpointInfo[]>;
}

/**
 * Upstream's CategorizeEndpoints (pkg/proxy/topology.go, without topology hints): the
 * endpoints Cluster-policy and Local-policy traffic may use, and whether the service has
 * any usable endpoint at all. Ready endpoints are preferred; when there are none, serving
 * terminating ones are used instead, so connections drain rather than fail.
 */
export function categorizeEndpoints(
  sp: ServicePortInfo,
  endpoints: readonly EndpointInfo[],
): { cluster: EndpointInfo[]; local: EndpointInfo[]; allReachable: EndpointInfo[]; hasAny: boolean } {
  let cluster: EndpointInfo[] = [];
  let local: EndpointInfo[] = [];
  let hasAny = false;
  if (usesClusterEndpoints(sp)) {
    cluster = endpoints.filter((e) => e.ready);
    if (cluster.length === 0) cluster = endpoints.filter((e) => e.serving && e.terminating);
    if (cluster.length > 0) hasAny = true;
  }
  if (!usesLocalEndpoints(sp)) return { cluster, local, allReachable: cluster, hasAny };
  let localReady = false;
  let localServingTerminating = false;
  for (const e of endpoints) {
    if (e.ready) {
      hasAny = true;
      if (e.isLocal) localReady = true;
    } else if (e.serving && e.terminating) {
      hasAny = true;
      if (e.isLocal) localServingTerminating = true;
    }
  }
  if (localReady) local = endpoints.filter((e) => e.isLocal && e.ready);
  else if (localServingTerminating) local = endpoints.filter((e) => e.isLocal && e.serving && e.terminating);
  if (!usesClusterEndpoints(sp)) return { cluster, local, allReachable: local, hasAny };
  const seen = new Set(cluster.map(endpointString));
  const allReachable = [...cluster, ...local.filter((e) => !seen.has(endpointString(e)))];
  return { cluster, local, allReachable, hasAny };
}
