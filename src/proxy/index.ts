/**
 * kube-proxy: keeps this node's data path for Services in step with the API server
 * (Services and EndpointSlices, through informers). Two modes: `iptables` (nat/filter
 * rules applied with iptables-restore, upstream's default) and `userspace` (forwarders in
 * this process, for nodes without root or simulated nodes).
 *
 *   const proxy = await startProxy({ client, nodeName: 'node-1' });
 *   await proxy.synced;   // first full sync done
 *   await proxy.stop();
 */
import { networkInterfaces } from 'node:os';
import type { Registry } from 'prom-client';
import type { Client, InformerFactory } from '../client/interface.js';
import { newInformerFactory } from '../client/informer.js';
import { realClock, type Clock } from '../util/clock.js';
import { newLogger, type Logger } from '../util/log.js';
import { ProxierHealth, serveProxierHealth } from './healthz.js';
import { execRunner, IptablesApplier, type CommandRunner } from './iptables/applier.js';
import { IptablesProxier } from './iptables/proxier.js';
import { newProxyMetrics } from './metrics.js';
import { ProxyLoop, type ProxyBackend } from './proxier.js';
import { UserspaceProxier, type UserspaceProxierOptions } from './userspace/proxier.js';

export { generateRules, restorePayload, portProtoHash, serviceChainNames, endpointChainName, probability, JUMP_RULES, type AppliedRules, type GenerateResult } from './iptables/rules.js';
export { IptablesApplier, execRunner, cleanupPayload, jumpRuleLines, chainsInSave, type CommandRunner, type CommandResult } from './iptables/applier.js';
export { IptablesProxier } from './iptables/proxier.js';
export { UserspaceProxier, type UserspaceProxierOptions } from './userspace/proxier.js';
export { ServiceChangeTracker, EndpointsChangeTracker, servicePorts } from './tracker.js';
export { ProxyLoop, type ProxyBackend } from './proxier.js';
export { ProxierHealth, serveProxierHealth } from './healthz.js';
export type { ServicePortInfo, EndpointInfo, ProxyState } from './types.js';

export type ProxyMode = 'iptables' | 'userspace';

export interface StartProxyOptions {
  client: Client;
  /** This node's name (--hostname-override): endpoints on it are "local". */
  nodeName: string;
  /** Default iptables. */
  mode?: ProxyMode;
  /** A shared informer factory; one is made (and started) from client otherwise. */
  informers?: InformerFactory;
  clock?: Clock;
  logger?: Logger;
  /** Where the kubeproxy_* metrics go; none when unset. */
  registry?: Registry;
  /** --cluster-cidr. */
  clusterCIDR?: string;
  /** --masquerade-all. */
  masqueradeAll?: boolean;
  /** --nodeport-addresses: CIDRs; NodePorts answer only on local addresses inside them. Default: all. */
  nodePortAddresses?: string[];
  /** Local IPv4 addresses to match nodePortAddresses against (default: this host's interfaces). */
  nodeIPs?: string[];
  /** --iptables-sync-period (default 30 s). */
  syncPeriodMs?: number;
  /** --iptables-min-sync-period (default 1 s). */
  minSyncPeriodMs?: number;
  /** iptables mode: prefix for iptables-save/-restore/sysctl, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  commandPrefix?: string[];
  /** iptables mode: runs the commands (default: spawn with commandPrefix). */
  runner?: CommandRunner;
  /** userspace mode options. */
  userspace?: Partial<Omit<UserspaceProxierOptions, 'clock' | 'logger'>>;
  /** kube-proxy's health server (`host:port`, port 0 picks one); off when unset. */
  healthzBindAddress?: string;
}

export interface RunningProxy {
  mode: ProxyMode;
  backend: ProxyBackend;
  loop: ProxyLoop;
  /** Resolves after the first successful sync. */
  synced: Promise<void>;
  /** The health server's port, when one runs. */
  healthzPort?: number;
  /** Stops syncing, closes userspace sockets and the health server (iptables rules stay, as upstream). */
  stop(): Promise<void>;
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** Whether ip lies in cidr ("10.0.0.0/8"); a bare address matches itself. */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, bitsStr] = cidr.split('/');
  const bits = bitsStr === undefined ? 32 : Number(bitsStr);
  if (bits === 0) return true;
  const size = 2 ** (32 - bits);
  return Math.floor(ipv4ToInt(ip) / size) === Math.floor(ipv4ToInt(base!) / size);
}

function localIPv4s(): string[] {
  return Object.values(networkInterfaces()).flatMap((l) => (l ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address));
}

/** The node IPs NodePorts answer on for --nodeport-addresses; undefined: all local addresses. */
export function nodePortIPs(cidrs: readonly string[] | undefined, nodeIPs: readonly string[]): string[] | undefined {
  const list = (cidrs ?? []).filter((c) => c && c.includes('.'));
  if (list.length === 0 || list.some((c) => c.endsWith('/0'))) return undefined;
  return nodeIPs.filter((ip) => list.some((c) => cidrContains(c, ip)));
}

/** Removes every rule and chain kube-proxy's iptables mode made (`flotilla proxy --cleanup`). */
export async function cleanupIptables(opts: { commandPrefix?: string[]; runner?: CommandRunner } = {}): Promise<void> {
  await new IptablesApplier(opts.runner ?? execRunner(opts.commandPrefix)).cleanup();
}

/** Starts kube-proxy; it runs until stop(). */
export async function startProxy(opts: StartProxyOptions): Promise<RunningProxy> {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger ?? newLogger('kube-proxy', { node: opts.nodeName });
  const mode: ProxyMode = opts.mode ?? 'iptables';
  const metrics = opts.registry ? newProxyMetrics(opts.registry) : undefined;
  const syncPeriodMs = opts.syncPeriodMs ?? 30_000;
  const health = new ProxierHealth(clock, 2 * syncPeriodMs, opts.nodeName);
  let backend: ProxyBackend;
  if (mode === 'iptables') {
    const ipt = new IptablesProxier({
      runner: opts.runner ?? execRunner(opts.commandPrefix),
      logger,
      metrics,
      clusterCIDR: opts.clusterCIDR || undefined,
      masqueradeAll: opts.masqueradeAll,
      nodePortIPs: nodePortIPs(opts.nodePortAddresses, opts.nodeIPs ?? localIPv4s()),
    });
    await ipt.init();
    backend = ipt;
  } else {
    backend = new UserspaceProxier({ clock, logger, ...opts.userspace });
  }
  const informers = opts.informers ?? newInformerFactory({ client: opts.client, clock, logger });
  const loop = new ProxyLoop({
    informers,
    nodeName: opts.nodeName,
    backend,
    clock,
    logger,
    metrics,
    health,
    syncPeriodMs,
    minSyncPeriodMs: opts.minSyncPeriodMs,
  });
  const ac = new AbortController();
  const done = loop.run(ac.signal);
  let healthz: Awaited<ReturnType<typeof serveProxierHealth>> | undefined;
  if (opts.healthzBindAddress) {
    const i = opts.healthzBindAddress.lastIndexOf(':');
    healthz = await serveProxierHealth(health, opts.healthzBindAddress.slice(0, i), Number(opts.healthzBindAddress.slice(i + 1)));
  }
  logger.info({ mode, nodeName: opts.nodeName }, 'kube-proxy started');
  return {
    mode,
    backend,
    loop,
    synced: loop.synced,
    healthzPort: healthz?.port,
    async stop() {
      ac.abort();
      await done;
      if (healthz) await new Promise<void>((r) => healthz!.server.close(() => r()));
    },
  };
}
