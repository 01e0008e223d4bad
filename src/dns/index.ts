/**
 * Cluster DNS (CoreDNS with the kubeadm Corefile, in TypeScript): the `kubernetes` plugin's
 * records for the cluster zone from Services, EndpointSlices and Namespaces watched through
 * the client; everything else forwarded to the upstream resolvers (`forward . /etc/resolv.conf`,
 * `cache 30`); `health`, `ready` and `prometheus` side doors.
 *
 *   const dns = await startClusterDNS({ client, address: '0.0.0.0', port: 53, clusterDomain: 'cluster.local', logger, registry, clock });
 *   await ensureDNSService(client, { endpointIP: nodeIP, port: dns.port });
 *   ...
 *   await dns.stop();
 */
import { setMaxListeners } from 'node:events';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Registry } from 'prom-client';
import { newInformerFactory } from '../client/informer.js';
import { Resources, type Client } from '../client/interface.js';
import type { EndpointSlice, Namespace, Service } from '../client/objects.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { Forwarder, formatUpstream, parseUpstream, resolversFromResolvConf, type Upstream } from './forward.js';
import { serveDNSHTTP, type Endpoint } from './http.js';
import { newDNSMetrics } from './metrics.js';
import { ClusterRecords, DEFAULT_TTL, ListerState, serviceIndexers, sliceIndexers } from './records.js';
import { DNSHandler, listenDNS } from './server.js';

export { ClusterRecords, ListerState, DEFAULT_TTL, type ClusterState, type ZoneAnswer } from './records.js';
export { DNSHandler, listenDNS } from './server.js';
export { Forwarder, parseUpstream, resolversFromResolvConf, type Upstream } from './forward.js';
export { ensureDNSService, DEFAULT_DNS_CLUSTER_IP, DNS_SERVICE_NAME, DNS_SERVICE_NAMESPACE, type EnsureDNSServiceOptions } from './service.js';

export interface ClusterDNSOptions {
  client: Client;
  /** Listen address for UDP and TCP ("0.0.0.0", "127.0.0.1", "::"). */
  address: string;
  /** Listen port; 0 picks a free one (the same for UDP and TCP). */
  port: number;
  /** Default "cluster.local". */
  clusterDomain?: string;
  /**
   * Upstream resolvers ("1.2.3.4", "1.2.3.4:5353", "[fd00::1]:53"). Unset: the nameservers
   * of `resolvConf`. An empty list: no forwarding (names outside the zone get SERVFAIL).
   */
  upstream?: string[];
  /** Default /etc/resolv.conf. */
  resolvConf?: string;
  /** Record TTL, seconds (default 5, the kubernetes plugin's). */
  ttl?: number;
  logger: Logger;
  /** Where the coredns_* metrics are registered. */
  registry: Registry;
  clock: Clock;
  /** CoreDNS's side doors; each is served only when given (CoreDNS: :8080, :8181, :9153). */
  health?: Endpoint;
  ready?: Endpoint;
  metrics?: Endpoint;
  /** How long start waits for the caches before serving anyway (CoreDNS: 5 s). */
  syncTimeoutMs?: number;
}

export interface ClusterDNS {
  /** The UDP and TCP port. */
  port: number;
  healthPort?: number;
  readyPort?: number;
  metricsPort?: number;
  /** The upstream resolvers in use ("1.2.3.4:53"). */
  upstreams: string[];
  /** True once the Service, EndpointSlice and Namespace caches have synced. */
  ready(): boolean;
  stop(): Promise<void>;
}

/**
 * Starts the informers and the server; resolves once the server listens and the caches
 * have synced (or syncTimeoutMs passed: it then serves, answering SERVFAIL instead of
 * NXDOMAIN in the zone until they sync, as CoreDNS does).
 */
export async function startClusterDNS(opts: ClusterDNSOptions): Promise<ClusterDNS> {
  const zone = (opts.clusterDomain ?? 'cluster.local').replace(/\.$/, '').toLowerCase();
  const logger = opts.logger;
  const ac = new AbortController();
  setMaxListeners(50, ac.signal);
  // A factory of its own: the indexers below must be added before its informers run.
  const informers = newInformerFactory({ client: opts.client, clock: opts.clock, logger });
  const services = informers.forResource<Service>(Resources.services);
  const slices = informers.forResource<EndpointSlice>(Resources.endpointslices);
  const namespaces = informers.forResource<Namespace>(Resources.namespaces);
  services.addIndexers(serviceIndexers);
  slices.addIndexers(sliceIndexers);
  // The SOA serial is the time of the last change (CoreDNS's Modified()).
  let modified = Math.floor(opts.clock.now() / 1000);
  const touch = () => {
    modified = Math.floor(opts.clock.now() / 1000);
  };
  services.addEventHandler({ add: touch, update: touch, delete: touch });
  slices.addEventHandler({ add: touch, update: touch, delete: touch });
  const synced = () => services.hasSynced() && slices.hasSynced() && namespaces.hasSynced();
  const state = new ListerState({ services: services.lister, slices: slices.lister, namespaces: namespaces.lister, hasSynced: synced, serial: () => modified });

  let upstreams: Upstream[];
  if (opts.upstream) upstreams = opts.upstream.map(parseUpstream);
  else upstreams = await resolversFromResolvConf(opts.resolvConf);

  const registry = opts.registry;
  const serverName = `dns://${isIP(opts.address) === 6 ? `[${opts.address}]` : opts.address}:${opts.port}`;
  const metrics = newDNSMetrics(registry, serverName);
  const records = new ClusterRecords({ state, zone, ttl: opts.ttl ?? DEFAULT_TTL, localAddresses: () => localAddresses(opts.address) });

  informers.start(ac.signal);
  let listening: Awaited<ReturnType<typeof listenDNS>> | undefined;
  let http: Awaited<ReturnType<typeof serveDNSHTTP>> | undefined;
  try {
    // Our own address is never an upstream (CoreDNS's `loop` plugin would stop such a server).
    const handler = new DNSHandler({ records, logger, metrics, forwarder: undefined });
    listening = await listenDNS({ handler, address: opts.address, port: opts.port, logger });
    const port = listening.port;
    upstreams = upstreams.filter((u) => !isSelf(u, opts.address, port));
    const forwarder = upstreams.length ? new Forwarder({ upstreams, clock: opts.clock, observer: metrics.forwardObserver }) : undefined;
    handler.forwarder = forwarder;
    http = await serveDNSHTTP({ health: opts.health, ready: opts.ready, metrics: opts.metrics, registry, notReady: () => (synced() ? [] : ['kubernetes']) });
    const wait = new AbortController();
    const timeout = opts.clock.setTimeout(() => wait.abort(new Error('cache sync timeout')), opts.syncTimeoutMs ?? 5000);
    const onStop = () => wait.abort(new Error('stopped'));
    ac.signal.addEventListener('abort', onStop, { once: true });
    try {
      await informers.waitForCacheSync(wait.signal);
    } catch {
      logger.warn('dns: starting server with unsynced Kubernetes API');
    } finally {
      timeout.cancel();
      ac.signal.removeEventListener('abort', onStop);
    }
    logger.info({ address: opts.address, port, zone, upstreams: upstreams.map(formatUpstream) }, 'dns: serving');
    const l = listening;
    const h = http;
    return {
      port,
      healthPort: h.healthPort,
      readyPort: h.readyPort,
      metricsPort: h.metricsPort,
      upstreams: upstreams.map(formatUpstream),
      ready: synced,
      stop: async () => {
        ac.abort();
        await Promise.all([l.close(), h.close()]);
      },
    };
  } catch (err) {
    ac.abort();
    await listening?.close();
    await http?.close();
    throw err;
  }
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/**
 * True when upstream u is this server: same port, and the address it listens on, or any
 * local address when it listens on a wildcard (a resolv.conf naming the node itself).
 */
function isSelf(u: Upstream, address: string, port: number): boolean {
  if (u.port !== port) return false;
  if (u.host === address || (isLoopback(u.host) && isLoopback(address))) return true;
  if (address !== '0.0.0.0' && address !== '::' && address !== '') return false;
  if (isLoopback(u.host)) return true;
  return Object.values(networkInterfaces()).some((list) => (list ?? []).some((a) => a.address === u.host));
}

/** The addresses the server answers on, for NS records when there is no kube-dns Service. */
function localAddresses(address: string): string[] {
  if (address !== '0.0.0.0' && address !== '::' && address !== '') return [address];
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) if (!a.internal && (address === '::' || a.family === 'IPv4')) out.push(a.address);
  return out.length ? out : ['127.0.0.1'];
}
