/**
 * The cluster DNS Service as kubeadm installs it — kube-system/kube-dns at a fixed ClusterIP
 * (10.96.0.10), labels k8s-app=kube-dns and kubernetes.io/name=CoreDNS, ports dns 53/UDP,
 * dns-tcp 53/TCP and metrics 9153/TCP — except that it has no selector: the DNS server is
 * not a pod here but a node component, so its Endpoints and EndpointSlice are written to
 * point at where that server really listens (kube-proxy then DNATs the ClusterIP to it).
 */
import { isAlreadyExists, isConflict, isNotFound } from '../apimachinery/errors.js';
import type { KObject } from '../apimachinery/meta.js';
import { Resources, type Client } from '../client/interface.js';
import type { EndpointSlice, Endpoints, Service } from '../client/objects.js';
import { SERVICE_NAME_LABEL } from './records.js';

export const DNS_SERVICE_NAMESPACE = 'kube-system';
export const DNS_SERVICE_NAME = 'kube-dns';
export const DEFAULT_DNS_CLUSTER_IP = '10.96.0.10';
/** The value of endpointslice.kubernetes.io/managed-by on the slice written here. */
export const DNS_SLICE_MANAGER = 'flotilla-dns';

export interface EnsureDNSServiceOptions {
  /** Default 10.96.0.10. */
  clusterIP?: string;
  /**
   * Where the DNS server listens (a node IP), for the Endpoints and EndpointSlice. Not a
   * loopback address: the API server refuses those in Endpoints, as upstream's does.
   */
  endpointIP: string;
  /** The DNS server's port, UDP and TCP (default 53). */
  port?: number;
  /** The metrics port behind the Service's 9153 (default 9153). */
  metricsPort?: number;
}

/**
 * Creates (or brings up to date) the kube-dns Service, its Endpoints and its EndpointSlice.
 * Safe to call on every start: existing objects are updated in place, so the Service keeps
 * its ClusterIP while the endpoints follow the server.
 */
export async function ensureDNSService(client: Client, opts: EnsureDNSServiceOptions): Promise<Service> {
  const clusterIP = opts.clusterIP ?? DEFAULT_DNS_CLUSTER_IP;
  const port = opts.port ?? 53;
  const metricsPort = opts.metricsPort ?? 9153;
  const labels = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' };
  const service: Service & KObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: DNS_SERVICE_NAME,
      namespace: DNS_SERVICE_NAMESPACE,
      labels,
      annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' },
    },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP', targetPort: port },
        { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: port },
        { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: metricsPort },
      ],
    },
  };
  const svc = await upsert(client.resource<Service & KObject>(Resources.services, DNS_SERVICE_NAMESPACE), service, (cur, want) => ({
    ...cur,
    metadata: { ...cur.metadata, labels: { ...cur.metadata?.labels, ...want.metadata?.labels } },
    // clusterIP is immutable: keep what the Service already has.
    spec: { ...cur.spec, ports: want.spec?.ports },
  }));

  const endpoints: Endpoints & KObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: DNS_SERVICE_NAME, namespace: DNS_SERVICE_NAMESPACE, labels },
    subsets: [
      {
        addresses: [{ ip: opts.endpointIP }],
        ports: [
          { name: 'dns', port, protocol: 'UDP' },
          { name: 'dns-tcp', port, protocol: 'TCP' },
          { name: 'metrics', port: metricsPort, protocol: 'TCP' },
        ],
      },
    ],
  };
  await upsert(client.resource<Endpoints & KObject>(Resources.endpoints, DNS_SERVICE_NAMESPACE), endpoints, (cur, want) => ({ ...cur, subsets: want.subsets }));

  const slice: EndpointSlice & KObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: DNS_SERVICE_NAME,
      namespace: DNS_SERVICE_NAMESPACE,
      labels: { ...labels, [SERVICE_NAME_LABEL]: DNS_SERVICE_NAME, 'endpointslice.kubernetes.io/managed-by': DNS_SLICE_MANAGER },
      ...(svc.metadata?.uid
        ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: DNS_SERVICE_NAME, uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }] }
        : {}),
    },
    addressType: opts.endpointIP.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: [{ addresses: [opts.endpointIP], conditions: { ready: true, serving: true, terminating: false } }],
    ports: [
      { name: 'dns', port, protocol: 'UDP' },
      { name: 'dns-tcp', port, protocol: 'TCP' },
      { name: 'metrics', port: metricsPort, protocol: 'TCP' },
    ],
  };
  await upsert(client.resource<EndpointSlice & KObject>(Resources.endpointslices, DNS_SERVICE_NAMESPACE), slice, (cur, want) => ({
    ...cur,
    metadata: { ...cur.metadata, labels: want.metadata?.labels, ownerReferences: want.metadata?.ownerReferences },
    addressType: want.addressType,
    endpoints: want.endpoints,
    ports: want.ports,
  }));
  return svc;
}

/** Create, or get-merge-update until no conflict. */
async function upsert<T extends KObject>(rc: { get(n: string): Promise<T>; create(o: T): Promise<T>; update(o: T): Promise<T> }, want: T, merge: (cur: T, want: T) => T): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await rc.create(want);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    try {
      const cur = await rc.get(want.metadata!.name!);
      return await rc.update(merge(structuredClone(cur), want));
    } catch (err) {
      if ((!isConflict(err) && !isNotFound(err)) || attempt >= 5) throw err;
    }
  }
}
