/**
 * The userspace back-end, for nodes where iptables can't be used (not root, simulated
 * nodes): a TCP or UDP forwarder per service port and address, in this process. A
 * connection picks a random usable endpoint (or the client's sticky one under
 * sessionAffinity ClientIP) and is piped to it; with no endpoint it is reset, as the
 * iptables mode's REJECT does.
 *
 * Where it listens: NodePorts on `listenAddress:<nodePort>`; a cluster IP on
 * `<clusterIP>:<port>` when `bindClusterIPs` is set (the address must be local), otherwise
 * on `listenAddress` and a port of its own, which {@link UserspaceProxier.addressOf}
 * tells; load-balancer and external IPs on `<ip>:<port>` when that address can be bound.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { ProxyBackend } from '../proxier.js';
import { categorizeEndpoints, endpointString, type EndpointInfo, type ProxyState, type ServicePortInfo } from '../types.js';

export interface UserspaceProxierOptions {
  clock: Clock;
  logger: Logger;
  /** Where NodePorts (and unbindable cluster IPs) listen; default 127.0.0.1. */
  listenAddress?: string;
  /** Listen on the cluster IPs themselves (they must be addresses of this host). */
  bindClusterIPs?: boolean;
  /**
   * Where to really connect for an endpoint; default the endpoint itself. Simulated
   * nodes map their pretend pod IPs onto real local servers with it.
   */
  resolveEndpoint?: (ep: { ip: string; port: number }) => { host: string; port: number };
  /** Random integer in [0, n); default Math.random. */
  random?: (n: number) => number;
  /** Idle time after which a UDP client's flow is dropped (default 30 s). */
  udpIdleTimeoutMs?: number;
}

type Kind = 'cluster' | 'external';

/** Per service port: the endpoints each kind of traffic may use, and ClientIP affinity. */
class ServicePortState {
  internal: EndpointInfo[] = [];
  external: EndpointInfo[] = [];
  sticky: number | undefined;
  readonly affinity = new Map<string, { ep: string; at: number }>();
}

interface Listener {
  key: string;
  sp: string;
  kind: Kind;
  host: string;
  port: number;
  close(): Promise<void>;
}

export class UserspaceProxier implements ProxyBackend {
  readonly mode = 'userspace' as const;
  private readonly o: UserspaceProxierOptions;
  private readonly listenAddress: string;
  private readonly random: (n: number) => number;
  private readonly ports = new Map<string, ServicePortState>();
  private readonly listeners = new Map<string, Listener>();
  private readonly sockets = new Set<Socket>();

  constructor(opts: UserspaceProxierOptions) {
    this.o = opts;
    this.listenAddress = opts.listenAddress ?? '127.0.0.1';
    this.random = opts.random ?? ((n) => Math.floor(Math.random() * n));
  }

  /** Where a service port's cluster traffic is served ("ns/name:port"), if it is. */
  addressOf(servicePortName: string): { host: string; port: number } | undefined {
    for (const l of this.listeners.values()) if (l.sp === servicePortName && l.kind === 'cluster') return { host: l.host, port: l.port };
    return undefined;
  }

  async sync(state: ProxyState): Promise<void> {
    const want = new Map<string, { sp: ServicePortInfo; kind: Kind; host: string; port: number }>();
    for (const sp of state.services.values()) {
      const { cluster, local } = categorizeEndpoints(sp, state.endpoints.get(sp.name) ?? []);
      let st = this.ports.get(sp.name);
      if (!st) this.ports.set(sp.name, (st = new ServicePortState()));
      st.internal = sp.internalPolicyLocal ? local : cluster;
      st.external = sp.externalPolicyLocal ? local : cluster;
      if (st.sticky !== sp.stickyMaxAgeSeconds) st.affinity.clear();
      st.sticky = sp.stickyMaxAgeSeconds;
      const proto = sp.protocol;
      if (proto === 'SCTP') continue;
      const add = (tag: string, kind: Kind, host: string, port: number) => want.set(`${sp.name}|${proto}|${tag}|${host}|${tag === 'cluster' && !this.o.bindClusterIPs ? sp.clusterIP : port}`, { sp, kind, host, port });
      if (this.o.bindClusterIPs) add('cluster', 'cluster', sp.clusterIP, sp.port);
      else add('cluster', 'cluster', this.listenAddress, 0);
      if (sp.nodePort) add('nodeport', 'external', this.listenAddress, sp.nodePort);
      for (const ip of [...sp.loadBalancerVIPs, ...sp.externalIPs]) add('vip', 'external', ip, sp.port);
    }
    for (const name of [...this.ports.keys()]) if (!state.services.has(name)) this.ports.delete(name);
    for (const [key, l] of this.listeners) {
      if (!want.has(key)) {
        this.listeners.delete(key);
        await l.close();
      }
    }
    for (const [key, w] of want) {
      if (this.listeners.has(key)) continue;
      try {
        this.listeners.set(key, await this.open(key, w.sp, w.kind, w.host, w.port));
      } catch (err) {
        this.o.logger.warn({ servicePort: w.sp.name, address: `${w.host}:${w.port}`, err: (err as Error).message }, 'cannot open proxy port');
      }
    }
  }

  /** Picks an endpoint for a client, honouring ClientIP affinity; undefined when there is none. */
  choose(spName: string, kind: Kind, clientIP: string, exclude: ReadonlySet<string> = new Set()): EndpointInfo | undefined {
    const st = this.ports.get(spName);
    if (!st) return undefined;
    const eps = (kind === 'cluster' ? st.internal : st.external).filter((e) => !exclude.has(endpointString(e)));
    if (eps.length === 0) return undefined;
    const now = this.o.clock.now();
    if (st.sticky !== undefined) {
      const a = st.affinity.get(clientIP);
      if (a && now - a.at < st.sticky * 1000) {
        const ep = eps.find((e) => endpointString(e) === a.ep);
        if (ep) {
          a.at = now;
          return ep;
        }
      }
    }
    const ep = eps[this.random(eps.length)]!;
    if (st.sticky !== undefined) st.affinity.set(clientIP, { ep: endpointString(ep), at: now });
    return ep;
  }

  private target(ep: EndpointInfo): { host: string; port: number } {
    return this.o.resolveEndpoint ? this.o.resolveEndpoint(ep) : { host: ep.ip, port: ep.port };
  }

  private async open(key: string, sp: ServicePortInfo, kind: Kind, host: string, port: number): Promise<Listener> {
    return sp.protocol === 'UDP' ? this.openUDP(key, sp.name, kind, host, port) : this.openTCP(key, sp.name, kind, host, port);
  }

  private async openTCP(key: string, spName: string, kind: Kind, host: string, port: number): Promise<Listener> {
    const server: Server = createServer((client) => this.forwardTCP(client, spName, kind));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const bound = (server.address() as AddressInfo).port;
    return {
      key,
      sp: spName,
      kind,
      host,
      port: bound,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    };
  }

  private forwardTCP(client: Socket, spName: string, kind: Kind): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    const clientIP = client.remoteAddress ?? '';
    const tried = new Set<string>();
    const attempt = () => {
      const ep = this.choose(spName, kind, clientIP, tried);
      if (!ep) {
        // No endpoint: refuse, as the iptables mode's REJECT does.
        if (typeof client.resetAndDestroy === 'function') client.resetAndDestroy();
        else client.destroy();
        return;
      }
      tried.add(endpointString(ep));
      const t = this.target(ep);
      const upstream = connect({ host: t.host, port: t.port });
      this.sockets.add(upstream);
      upstream.on('close', () => this.sockets.delete(upstream));
      let connected = false;
      upstream.once('connect', () => {
        connected = true;
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
      upstream.on('error', () => {
        if (!connected) {
          upstream.destroy();
          attempt();
        } else {
          client.destroy();
        }
      });
      client.on('close', () => upstream.destroy());
      upstream.on('end', () => client.end());
    };
    attempt();
  }

  private async openUDP(key: string, spName: string, kind: Kind, host: string, port: number): Promise<Listener> {
    const server: UdpSocket = createSocket('udp4');
    const flows = new Map<string, { sock: UdpSocket; timer: { cancel(): void } }>();
    const idle = this.o.udpIdleTimeoutMs ?? 30_000;
    server.on('message', (msg, rinfo) => {
      const id = `${rinfo.address}:${rinfo.port}`;
      let flow = flows.get(id);
      if (!flow) {
        const ep = this.choose(spName, kind, rinfo.address);
        if (!ep) return;
        const t = this.target(ep);
        const sock = createSocket('udp4');
        sock.on('message', (reply) => {
          server.send(reply, rinfo.port, rinfo.address);
          f.timer.cancel();
          f.timer = this.o.clock.setTimeout(drop, idle);
        });
        sock.on('error', () => drop());
        sock.connect(t.port, t.host);
        const drop = () => {
          f.timer.cancel();
          flows.delete(id);
          try { sock.close(); } catch { /* closed */ }
        };
        const f = { sock, timer: this.o.clock.setTimeout(() => drop(), idle) };
        flows.set(id, (flow = f));
        sock.once('connect', () => sock.send(msg));
        return;
      }
      flow.sock.send(msg);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.bind(port, host, () => resolve());
    });
    const bound = server.address().port;
    return {
      key,
      sp: spName,
      kind,
      host,
      port: bound,
      close: async () => {
        for (const f of flows.values()) {
          f.timer.cancel();
          try { f.sock.close(); } catch { /* closed */ }
        }
        flows.clear();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const ls = [...this.listeners.values()];
    this.listeners.clear();
    await Promise.all(ls.map((l) => l.close()));
  }
}
