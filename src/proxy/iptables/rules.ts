/**
 * The iptables rule generator (upstream pkg/proxy/iptables syncProxyRules, as a pure
 * function): from the proxy state it renders the `filter` and `nat` chains kube-proxy owns,
 * with upstream's chain names, rule shapes and comments, and the `iptables-restore
 * --noflush` payload that brings the host from the last applied rules to the new ones.
 *
 * Incremental by construction: the caller hands in what was applied last time and the
 * Services changed since; per-service chains (KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-FW-,
 * KUBE-SEP-) are rendered only for those, the shared chains (KUBE-SERVICES, KUBE-NODEPORTS,
 * …) always, and a chain goes into the payload only when its rules differ from what is on
 * the host. Chains no longer used are flushed and deleted in the same atomic restore.
 *
 *   KUBE-SERVICES  -d <clusterIP> --dport <port>      -j KUBE-SVC-<hash>   (internal traffic)
 *                  -d <lb/external IP> --dport <port> -j KUBE-EXT-<hash>   (external traffic)
 *                  -m addrtype --dst-type LOCAL       -j KUBE-NODEPORTS   (last rule)
 *   KUBE-NODEPORTS --dport <nodePort>                 -j KUBE-EXT-<hash>
 *   KUBE-EXT-<hash> -j KUBE-MARK-MASQ; -j KUBE-SVC-<hash> (or KUBE-SVL- for Local policy)
 *   KUBE-SVC-<hash> ! -s <clusterCIDR> -j KUBE-MARK-MASQ;
 *                  -m statistic --mode random --probability 1/n -j KUBE-SEP-<hash(ep)> …
 *   KUBE-SEP-<hash> -s <ep>/32 -j KUBE-MARK-MASQ (hairpin); -j DNAT --to-destination <ep>
 */
import { createHash } from 'node:crypto';
import { categorizeEndpoints, endpointString, externallyAccessible, type EndpointInfo, type ProxyState, type ServicePortInfo } from '../types.js';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';

/** Above this many endpoints, per-endpoint comments are left out (upstream's largeClusterEndpointsThreshold). */
export const LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000;

export type Table = 'filter' | 'nat';

/** Chains kube-proxy always keeps, per table (declared on every full sync). */
export const BASE_CHAINS: Record<Table, readonly string[]> = {
  filter: [KUBE_NODEPORTS, KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_PROXY_FIREWALL],
  nat: [KUBE_NODEPORTS, KUBE_SERVICES, KUBE_MARK_MASQ, KUBE_POSTROUTING],
};

/** A rule in a built-in chain that sends packets into one of ours (upstream's iptablesJumpChains). */
export interface JumpRule {
  table: Table;
  /** The built-in chain (PREROUTING, OUTPUT, …). */
  from: string;
  to: string;
  comment: string;
  extra: readonly string[];
}

const ctNew = ['-m', 'conntrack', '--ctstate', 'NEW'];
export const JUMP_RULES: readonly JumpRule[] = [
  { table: 'filter', from: 'INPUT', to: KUBE_EXTERNAL_SERVICES, comment: 'kubernetes externally-visible service portals', extra: ctNew },
  { table: 'filter', from: 'FORWARD', to: KUBE_EXTERNAL_SERVICES, comment: 'kubernetes externally-visible service portals', extra: ctNew },
  { table: 'filter', from: 'INPUT', to: KUBE_NODEPORTS, comment: 'kubernetes health check service ports', extra: [] },
  { table: 'filter', from: 'FORWARD', to: KUBE_SERVICES, comment: 'kubernetes service portals', extra: ctNew },
  { table: 'filter', from: 'OUTPUT', to: KUBE_SERVICES, comment: 'kubernetes service portals', extra: ctNew },
  { table: 'filter', from: 'FORWARD', to: KUBE_FORWARD, comment: 'kubernetes forwarding rules', extra: [] },
  { table: 'filter', from: 'INPUT', to: KUBE_PROXY_FIREWALL, comment: 'kubernetes load balancer firewall', extra: ctNew },
  { table: 'filter', from: 'OUTPUT', to: KUBE_PROXY_FIREWALL, comment: 'kubernetes load balancer firewall', extra: ctNew },
  { table: 'filter', from: 'FORWARD', to: KUBE_PROXY_FIREWALL, comment: 'kubernetes load balancer firewall', extra: ctNew },
  { table: 'nat', from: 'OUTPUT', to: KUBE_SERVICES, comment: 'kubernetes service portals', extra: [] },
  { table: 'nat', from: 'PREROUTING', to: KUBE_SERVICES, comment: 'kubernetes service portals', extra: [] },
  { table: 'nat', from: 'POSTROUTING', to: KUBE_POSTROUTING, comment: 'kubernetes postrouting rules', extra: [] },
];

/** The rule's arguments after `-I <from>` / `-D <from>`. */
export function jumpRuleArgs(j: JumpRule): string {
  return [...j.extra, '-m', 'comment', '--comment', quote(j.comment), '-j', j.to].join(' ');
}

/** Per-service chain prefixes: the chains a sync may delete. */
const SERVICE_CHAIN = /^KUBE-(SVC|SVL|EXT|FW|SEP)-/;

export function isServiceChainName(chain: string): boolean {
  return SERVICE_CHAIN.test(chain);
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** base32.StdEncoding of the first 10 bytes of buf: exactly the 16 characters upstream keeps. */
function base32First16(buf: Buffer): string {
  let out = '';
  for (let i = 0; i < 10; i += 5) {
    // 40 bits fit a double exactly.
    let bits = buf[i]! * 2 ** 32 + buf.readUInt32BE(i + 1);
    const chunk: string[] = new Array(8);
    for (let k = 7; k >= 0; k--) {
      chunk[k] = BASE32[bits % 32]!;
      bits = Math.floor(bits / 32);
    }
    out += chunk.join('');
  }
  return out;
}

// Chain names are hashed on every sync for every endpoint; memoized, bounded.
const hashCache = new Map<string, string>();

function hash16(input: string): string {
  let h = hashCache.get(input);
  if (h === undefined) {
    if (hashCache.size >= 500_000) hashCache.clear();
    h = base32First16(createHash('sha256').update(input).digest());
    hashCache.set(input, h);
  }
  return h;
}

/** Upstream portProtoHash: base32(sha256(servicePortName + protocol))[:16]. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return hash16(servicePortName + protocol);
}

export interface ServiceChains {
  cluster: string;
  local: string;
  external: string;
  firewall: string;
}

/** KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-FW- names of a service port. */
export function serviceChainNames(sp: ServicePortInfo): ServiceChains {
  const h = portProtoHash(sp.name, sp.protocol.toLowerCase());
  return { cluster: `KUBE-SVC-${h}`, local: `KUBE-SVL-${h}`, external: `KUBE-EXT-${h}`, firewall: `KUBE-FW-${h}` };
}

/** KUBE-SEP-: base32(sha256(servicePortName + protocol + "ip:port"))[:16]. */
export function endpointChainName(sp: ServicePortInfo, ep: EndpointInfo): string {
  return `KUBE-SEP-${hash16(sp.name + sp.protocol.toLowerCase() + endpointString(ep))}`;
}

/** fmt.Sprintf("%0.10f", 1/n), as upstream's probability(). */
export function probability(n: number): string {
  return (1 / n).toFixed(10);
}

/** iptables-restore tokenisation: a comment with spaces is double-quoted, as upstream writes it. */
function quote(s: string): string {
  return /[\s"]/.test(s) ? `"${s.replace(/"/g, '\\"')}"` : s;
}

export interface RuleGeneratorOptions {
  /** --cluster-cidr: traffic to a cluster IP from outside it is masqueraded. */
  clusterCIDR?: string;
  /** --masquerade-all: masquerade all traffic to cluster IPs. */
  masqueradeAll?: boolean;
  /** --iptables-masquerade-bit (default 14 → mark 0x4000). */
  masqueradeBit?: number;
  /**
   * Node IPs NodePorts answer on (from --nodeport-addresses); undefined: every local
   * address (`-m addrtype --dst-type LOCAL`), upstream's default.
   */
  nodePortIPs?: readonly string[];
}

/** Shared chains a Service adds rules to, as "table/chain". */
const SHARED_KEYS = [
  `nat/${KUBE_SERVICES}`,
  `nat/${KUBE_NODEPORTS}`,
  `filter/${KUBE_SERVICES}`,
  `filter/${KUBE_EXTERNAL_SERVICES}`,
  `filter/${KUBE_NODEPORTS}`,
  `filter/${KUBE_PROXY_FIREWALL}`,
] as const;
type SharedKey = (typeof SHARED_KEYS)[number];

/** What one Service contributed to the last sync. */
export interface ServiceRecord {
  /** Its own nat chains (KUBE-SVC-, KUBE-SVL-, KUBE-EXT-, KUBE-FW-, KUBE-SEP-) → their rules, as written. */
  chains: Map<string, string>;
  /** Its rules in the shared chains, by "table/chain". */
  shared: Partial<Record<SharedKey, string[]>>;
  /** Endpoints its rules use (for the large-cluster threshold). */
  endpoints: number;
  natRules: number;
  noLocalInternal: number;
  noLocalExternal: number;
}

/** What a sync left on the host, handed back to the next sync (never mutated). */
export interface AppliedRules {
  /** By Service ("namespace/name"). */
  services: Map<string, ServiceRecord>;
  /** The shared chains' rules as written, by "table/chain". */
  shared: Map<string, string>;
  /** Rules in each shared chain (counted once, when the chain's text is built). */
  sharedRules: Map<string, number>;
  /** Service keys, sorted: the order their rules appear in the shared chains. */
  order: string[];
  largeClusterMode: boolean;
}

/** A chain's rules in an applied state ('' when it has none), or undefined when kube-proxy has no such chain. */
export function appliedChain(a: AppliedRules, table: Table, chain: string): string | undefined {
  const shared = a.shared.get(`${table}/${chain}`);
  if (shared !== undefined || table === 'filter') return shared;
  for (const r of a.services.values()) {
    const text = r.chains.get(chain);
    if (text !== undefined) return text;
  }
  return undefined;
}

export interface GenerateInput {
  state: ProxyState;
  /** Services whose chains to render; undefined for a full sync (every chain re-written). */
  changedServices?: ReadonlySet<string>;
  /** The previous sync's result; required for a partial sync. */
  previous?: AppliedRules;
  /** nat chains present on the host (from iptables-save) on a full sync, so stale ones are deleted. */
  existingNatChains?: ReadonlySet<string>;
}

export interface TableDelta {
  /** ":CHAIN - [0:0]" lines: chains (re)declared, which flushes them. */
  chainLines: string[];
  /** "-A …" lines of the declared chains (one string per chain). */
  ruleLines: string[];
  /** "-X CHAIN" lines. */
  deleteLines: string[];
}

/** The written chains of one Service: they only reference each other (and KUBE-MARK-MASQ), so they can be restored on their own. */
export interface ServiceChunk {
  chains: string[];
  chainLines: string[];
  ruleLines: string[];
}

export interface GenerateResult {
  tables: Record<Table, TableDelta>;
  /** The per-service part of tables.nat, by Service, for restoring a large sync in batches. */
  serviceChunks: ServiceChunk[];
  applied: AppliedRules;
  /** The sync rewrote every chain. */
  full: boolean;
  stats: {
    /** Rules in each table after the sync (kubeproxy_sync_proxy_rules_iptables_total). */
    rules: Record<Table, number>;
    chainsWritten: number;
    chainsDeleted: number;
    noLocalEndpointsInternal: number;
    noLocalEndpointsExternal: number;
  };
}

type Categorized = ReturnType<typeof categorizeEndpoints>;

/** Renders one Service's ports into its record. */
function renderService(ports: ServicePortInfo[], cats: Categorized[], largeClusterMode: boolean, opts: RuleGeneratorOptions): ServiceRecord {
  const chains = new Map<string, string[]>();
  const shared: Partial<Record<SharedKey, string[]>> = {};
  const rules = (chain: string) => {
    let r = chains.get(chain);
    if (!r) chains.set(chain, (r = []));
    return r;
  };
  const add = (chain: string, ...words: string[]) => rules(chain).push(`-A ${chain} ${words.join(' ')}`);
  const addShared = (key: SharedKey, ...words: string[]) => (shared[key] ??= []).push(`-A ${key.slice(key.indexOf('/') + 1)} ${words.join(' ')}`);
  const comment = (c: string): string[] => (largeClusterMode ? [] : ['-m', 'comment', '--comment', quote(c)]);
  let endpoints = 0;
  let noLocalInternal = 0;
  let noLocalExternal = 0;

  ports.forEach((sp, i) => {
    const { cluster, local, allReachable, hasAny: hasEndpoints } = cats[i]!;
    endpoints += allReachable.length;
    const names = serviceChainNames(sp);
    const proto = sp.protocol.toLowerCase();
    const match = ['-m', proto, '-p', proto];
    const port = String(sp.port);
    const svcName = sp.name;

    const internalPolicyChain = sp.internalPolicyLocal ? names.local : names.cluster;
    const hasInternalEndpoints = hasEndpoints && (!sp.internalPolicyLocal || local.length > 0);
    const externalPolicyChain = sp.externalPolicyLocal ? names.local : names.cluster;
    const hasExternalEndpoints = hasEndpoints && (!sp.externalPolicyLocal || local.length > 0);
    const usesExternalTrafficChain = hasEndpoints && externallyAccessible(sp);
    const usesFWChain = hasEndpoints && sp.loadBalancerVIPs.length > 0 && sp.loadBalancerSourceRanges.length > 0;
    const loadBalancerTrafficChain = usesFWChain ? names.firewall : names.external;
    const usesClusterPolicyChain = cluster.length > 0 && (!sp.internalPolicyLocal || (externallyAccessible(sp) && !sp.externalPolicyLocal));
    const usesLocalPolicyChain = local.length > 0 && (sp.internalPolicyLocal || (externallyAccessible(sp) && sp.externalPolicyLocal));

    let internalFilterTarget = '';
    let internalFilterComment = '';
    let externalFilterTarget = '';
    let externalFilterComment = '';
    if (!hasEndpoints) {
      internalFilterTarget = externalFilterTarget = 'REJECT';
      internalFilterComment = externalFilterComment = `${svcName} has no endpoints`;
    } else {
      if (!hasInternalEndpoints) {
        internalFilterTarget = 'DROP';
        internalFilterComment = `${svcName} has no local endpoints`;
        noLocalInternal++;
      }
      if (!hasExternalEndpoints) {
        externalFilterTarget = 'DROP';
        externalFilterComment = `${svcName} has no local endpoints`;
        noLocalExternal++;
      }
    }

    // The cluster IP.
    const clusterIPArgs = ['-m', 'comment', '--comment', quote(`${svcName} cluster IP`), ...match, '-d', sp.clusterIP, '--dport', port];
    if (hasInternalEndpoints) {
      addShared(`nat/${KUBE_SERVICES}`, ...clusterIPArgs, '-j', internalPolicyChain);
    } else {
      addShared(`filter/${KUBE_SERVICES}`, '-m', 'comment', '--comment', quote(internalFilterComment), ...match, '-d', sp.clusterIP, '--dport', port, '-j', internalFilterTarget);
    }
    // External IPs.
    for (const ip of sp.externalIPs) {
      if (hasEndpoints) addShared(`nat/${KUBE_SERVICES}`, '-m', 'comment', '--comment', quote(`${svcName} external IP`), ...match, '-d', ip, '--dport', port, '-j', names.external);
      if (!hasExternalEndpoints) addShared(`filter/${KUBE_EXTERNAL_SERVICES}`, '-m', 'comment', '--comment', quote(externalFilterComment), ...match, '-d', ip, '--dport', port, '-j', externalFilterTarget);
    }
    // Load-balancer ingress IPs.
    for (const ip of sp.loadBalancerVIPs) {
      if (hasEndpoints) addShared(`nat/${KUBE_SERVICES}`, '-m', 'comment', '--comment', quote(`${svcName} loadbalancer IP`), ...match, '-d', ip, '--dport', port, '-j', loadBalancerTrafficChain);
      if (usesFWChain) {
        addShared(`filter/${KUBE_PROXY_FIREWALL}`, '-m', 'comment', '--comment', quote(`${svcName} traffic not accepted by ${names.firewall}`), ...match, '-d', ip, '--dport', port, '-j', 'DROP');
      }
    }
    if (!hasExternalEndpoints) {
      for (const ip of sp.loadBalancerVIPs) {
        addShared(`filter/${KUBE_EXTERNAL_SERVICES}`, '-m', 'comment', '--comment', quote(externalFilterComment), ...match, '-d', ip, '--dport', port, '-j', externalFilterTarget);
      }
    }
    // The node port.
    if (sp.nodePort !== 0) {
      if (hasEndpoints) addShared(`nat/${KUBE_NODEPORTS}`, '-m', 'comment', '--comment', quote(svcName), ...match, '--dport', String(sp.nodePort), '-j', names.external);
      if (!hasExternalEndpoints) {
        addShared(`filter/${KUBE_EXTERNAL_SERVICES}`, '-m', 'comment', '--comment', quote(externalFilterComment), '-m', 'addrtype', '--dst-type', 'LOCAL', ...match, '--dport', String(sp.nodePort), '-j', externalFilterTarget);
      }
    }
    if (sp.healthCheckNodePort !== 0) {
      addShared(`filter/${KUBE_NODEPORTS}`, '-m', 'comment', '--comment', quote(`${svcName} health check node port`), '-m', 'tcp', '-p', 'tcp', '--dport', String(sp.healthCheckNodePort), '-j', 'ACCEPT');
    }

    // The service's own chains. The masquerade rule comes first in the internal policy chain.
    if (hasInternalEndpoints) {
      if (opts.masqueradeAll) add(internalPolicyChain, ...clusterIPArgs, '-j', KUBE_MARK_MASQ);
      else if (opts.clusterCIDR) add(internalPolicyChain, ...clusterIPArgs, '!', '-s', opts.clusterCIDR, '-j', KUBE_MARK_MASQ);
    }
    if (usesExternalTrafficChain) {
      rules(names.external);
      if (!sp.externalPolicyLocal) {
        add(names.external, '-m', 'comment', '--comment', quote(`masquerade traffic for ${svcName} external destinations`), '-j', KUBE_MARK_MASQ);
      } else {
        if (opts.clusterCIDR) {
          add(names.external, '-m', 'comment', '--comment', quote(`pod traffic for ${svcName} external destinations`), '-s', opts.clusterCIDR, '-j', names.cluster);
        }
        add(names.external, '-m', 'comment', '--comment', quote(`masquerade LOCAL traffic for ${svcName} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', KUBE_MARK_MASQ);
        add(names.external, '-m', 'comment', '--comment', quote(`route LOCAL traffic for ${svcName} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', names.cluster);
      }
      if (hasExternalEndpoints) add(names.external, '-j', externalPolicyChain);
    }
    if (usesFWChain) {
      rules(names.firewall);
      for (const src of sp.loadBalancerSourceRanges) {
        add(names.firewall, '-m', 'comment', '--comment', quote(`${svcName} loadbalancer IP`), '-s', src, '-j', names.external);
      }
    }
    const writeServiceToEndpoints = (chain: string, eps: EndpointInfo[]) => {
      rules(chain);
      if (sp.stickyMaxAgeSeconds !== undefined) {
        for (const ep of eps) {
          const sep = endpointChainName(sp, ep);
          add(chain, ...comment(`${svcName} -> ${endpointString(ep)}`), '-m', 'recent', '--name', sep, '--rcheck', '--seconds', String(sp.stickyMaxAgeSeconds), '--reap', '-j', sep);
        }
      }
      eps.forEach((ep, k) => {
        const stat = k < eps.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(eps.length - k)] : [];
        add(chain, ...comment(`${svcName} -> ${endpointString(ep)}`), ...stat, '-j', endpointChainName(sp, ep));
      });
    };
    if (usesClusterPolicyChain) writeServiceToEndpoints(names.cluster, cluster);
    if (usesLocalPolicyChain) writeServiceToEndpoints(names.local, local);
    for (const ep of allReachable) {
      const sep = endpointChainName(sp, ep);
      rules(sep);
      add(sep, ...comment(svcName), '-s', `${ep.ip}/32`, '-j', KUBE_MARK_MASQ);
      const affinity = sp.stickyMaxAgeSeconds !== undefined ? ['-m', 'recent', '--name', sep, '--set'] : [];
      add(sep, ...comment(svcName), ...affinity, ...match, '-j', 'DNAT', '--to-destination', endpointString(ep));
    }
  });

  const texts = new Map<string, string>();
  let natRules = 0;
  for (const [c, lines] of chains) {
    texts.set(c, lines.join('\n'));
    natRules += lines.length;
  }
  return { chains: texts, shared, endpoints, natRules, noLocalInternal, noLocalExternal };
}

function byName(a: ServicePortInfo, b: ServicePortInfo): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : 0;
}

/**
 * Renders the rules for state and the restore payload from `previous` to them. Pure: it
 * runs nothing and changes none of its inputs; the applier feeds {@link restorePayloads}
 * of the result to iptables-restore and keeps `applied` only if that succeeds.
 *
 * Cost: a partial sync renders only the changed Services; the rest is reused from
 * `previous` (the shared chains are re-joined from each Service's cached lines), so a
 * one-service change at 10,000 services does no per-endpoint work for the others.
 */
export function generateRules(input: GenerateInput, opts: RuleGeneratorOptions = {}): GenerateResult {
  const { state } = input;
  const prev = input.previous;
  const mark = `0x${(1 << (opts.masqueradeBit ?? 14)).toString(16)}`;

  const portsByService = new Map<string, ServicePortInfo[]>();
  for (const sp of state.services.values()) {
    let l = portsByService.get(sp.service);
    if (!l) portsByService.set(sp.service, (l = []));
    l.push(sp);
  }
  let full = !input.changedServices || !prev;
  const wanted = (svc: string) => full || input.changedServices!.has(svc) || !prev!.services.has(svc);

  // Phase 1: categorize what is rendered; the endpoint total decides the comment mode.
  const categorize = (svcs: Iterable<string>) => {
    const out = new Map<string, { ports: ServicePortInfo[]; cats: Categorized[] }>();
    for (const svc of svcs) {
      const ports = portsByService.get(svc)!.sort(byName);
      out.set(svc, { ports, cats: ports.map((sp) => categorizeEndpoints(sp, state.endpoints.get(sp.name) ?? [])) });
    }
    return out;
  };
  let toRender = categorize([...portsByService.keys()].filter(wanted));
  let totalEndpoints = 0;
  for (const [svc] of portsByService) {
    const r = toRender.get(svc);
    totalEndpoints += r ? r.cats.reduce((n, c) => n + c.allReachable.length, 0) : prev!.services.get(svc)!.endpoints;
  }
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  if (!full && prev!.largeClusterMode !== largeClusterMode) {
    full = true;
    toRender = categorize(portsByService.keys());
  }

  // Phase 2: render.
  const services = new Map<string, ServiceRecord>();
  for (const [svc] of portsByService) {
    const r = toRender.get(svc);
    services.set(svc, r ? renderService(r.ports, r.cats, largeClusterMode, opts) : prev!.services.get(svc)!);
  }
  const sameSet = !full && prev!.order.length === services.size && [...input.changedServices!].every((s) => services.has(s) === prev!.services.has(s));
  const order = sameSet ? prev!.order : [...services.keys()].sort();

  // Shared chains, in a fixed order. A partial sync whose Services kept their shared
  // rules (an endpoint change) reuses the previous text instead of re-joining 10,000 lines.
  const dirty = new Set<SharedKey>(full || !sameSet ? SHARED_KEYS : []);
  if (!full && sameSet) {
    for (const svc of input.changedServices!) {
      const a = services.get(svc)?.shared ?? {};
      const b = prev!.services.get(svc)?.shared ?? {};
      for (const key of SHARED_KEYS) if ((a[key] ?? []).join('\n') !== (b[key] ?? []).join('\n')) dirty.add(key);
    }
  }
  const shared = new Map<string, string>();
  const sharedRules = new Map<string, number>();
  const join = (key: SharedKey, head: string[] = [], tail: string[] = []) => {
    const kept = dirty.has(key) ? undefined : prev?.shared.get(key);
    if (kept !== undefined) {
      shared.set(key, kept);
      sharedRules.set(key, prev!.sharedRules.get(key) ?? 0);
      return;
    }
    const lines = [...head];
    for (const svc of order) {
      const l = services.get(svc)!.shared[key];
      if (l) for (const x of l) lines.push(x);
    }
    lines.push(...tail);
    shared.set(key, lines.join('\n'));
    sharedRules.set(key, lines.length);
  };
  const npComment = quote('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
  const npRules = opts.nodePortIPs === undefined
    ? [`-A ${KUBE_SERVICES} -m comment --comment ${npComment} -m addrtype --dst-type LOCAL -j ${KUBE_NODEPORTS}`]
    : opts.nodePortIPs.map((ip) => `-A ${KUBE_SERVICES} -m comment --comment ${npComment} -d ${ip} -j ${KUBE_NODEPORTS}`);
  join(`filter/${KUBE_NODEPORTS}`);
  join(`filter/${KUBE_SERVICES}`);
  join(`filter/${KUBE_EXTERNAL_SERVICES}`);
  shared.set(`filter/${KUBE_FORWARD}`, [
    `-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP`,
    `-A ${KUBE_FORWARD} -m comment --comment ${quote('kubernetes forwarding rules')} -m mark --mark ${mark}/${mark} -j ACCEPT`,
    `-A ${KUBE_FORWARD} -m comment --comment ${quote('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  ].join('\n'));
  join(`filter/${KUBE_PROXY_FIREWALL}`);
  join(`nat/${KUBE_NODEPORTS}`);
  join(`nat/${KUBE_SERVICES}`, [], npRules);
  shared.set(`nat/${KUBE_MARK_MASQ}`, `-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${mark}`);
  shared.set(`nat/${KUBE_POSTROUTING}`, [
    `-A ${KUBE_POSTROUTING} -m mark ! --mark ${mark}/${mark} -j RETURN`,
    `-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${mark}`,
    `-A ${KUBE_POSTROUTING} -m comment --comment ${quote('kubernetes service traffic requiring SNAT')} -j MASQUERADE --random-fully`,
  ].join('\n'));

  // The delta.
  const tables: Record<Table, TableDelta> = {
    filter: { chainLines: [], ruleLines: [], deleteLines: [] },
    nat: { chainLines: [], ruleLines: [], deleteLines: [] },
  };
  let written = 0;
  const write = (table: Table, chain: string, text: string, chunk?: ServiceChunk) => {
    const t = tables[table];
    t.chainLines.push(`:${chain} - [0:0]`);
    if (text) t.ruleLines.push(text);
    written++;
    if (chunk) {
      chunk.chains.push(chain);
      chunk.chainLines.push(`:${chain} - [0:0]`);
      if (text) chunk.ruleLines.push(text);
    }
  };
  for (const table of ['filter', 'nat'] as const) {
    for (const chain of BASE_CHAINS[table]) {
      const key = `${table}/${chain}`;
      const text = shared.get(key)!;
      if (full || prev!.shared.get(key) !== text) write(table, chain, text);
    }
  }
  const serviceChunks: ServiceChunk[] = [];
  const stale = new Set<string>();
  for (const svc of full ? order : [...input.changedServices!].sort()) {
    const rec = services.get(svc);
    const old = prev?.services.get(svc);
    if (rec && toRender.has(svc)) {
      const chunk: ServiceChunk = { chains: [], chainLines: [], ruleLines: [] };
      for (const [chain, text] of rec.chains) if (full || old?.chains.get(chain) !== text) write('nat', chain, text, chunk);
      if (chunk.chains.length) serviceChunks.push(chunk);
    }
    if (old) for (const chain of old.chains.keys()) if (!rec?.chains.has(chain)) stale.add(chain);
  }
  if (full) {
    const active = new Set<string>();
    for (const r of services.values()) for (const c of r.chains.keys()) active.add(c);
    for (const c of input.existingNatChains ?? []) if (isServiceChainName(c) && !active.has(c)) stale.add(c);
    if (prev) for (const r of prev.services.values()) for (const c of r.chains.keys()) if (!active.has(c)) stale.add(c);
  }
  for (const c of stale) {
    tables.nat.chainLines.push(`:${c} - [0:0]`);
    tables.nat.deleteLines.push(`-X ${c}`);
  }

  const rules: Record<Table, number> = { filter: 0, nat: 0 };
  let noLocalInternal = 0;
  let noLocalExternal = 0;
  for (const r of services.values()) {
    rules.nat += r.natRules;
    noLocalInternal += r.noLocalInternal;
    noLocalExternal += r.noLocalExternal;
  }
  for (const [key, text] of shared) rules[key.charCodeAt(0) === 110 /* n */ ? 'nat' : 'filter'] += sharedRules.get(key) ?? (text ? countLines(text) : 0);

  return {
    tables,
    serviceChunks,
    applied: { services, shared, sharedRules, order, largeClusterMode },
    full,
    stats: { rules, chainsWritten: written, chainsDeleted: stale.size, noLocalEndpointsInternal: noLocalInternal, noLocalEndpointsExternal: noLocalExternal },
  };
}

function countLines(text: string): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * The iptables-restore input for a result, with extra lines (jump-rule inserts) per table
 * placed after the chain declarations; '' when there is nothing to change.
 */
export function restorePayload(r: Pick<GenerateResult, 'tables'>, extra: Partial<Record<Table, string[]>> = {}): string {
  let out = '';
  for (const table of ['filter', 'nat'] as const) {
    const t = r.tables[table];
    const x = extra[table] ?? [];
    if (!t.chainLines.length && !t.ruleLines.length && !t.deleteLines.length && !x.length) continue;
    out += `*${table}\n`;
    if (t.chainLines.length) out += t.chainLines.join('\n') + '\n';
    if (x.length) out += x.join('\n') + '\n';
    if (t.ruleLines.length) out += t.ruleLines.join('\n') + '\n';
    if (t.deleteLines.length) out += t.deleteLines.join('\n') + '\n';
    out += 'COMMIT\n';
  }
  return out;
}

/** Chains per iptables-restore call when a sync is split (iptables-nft slows down sharply on larger transactions). */
export const DEFAULT_MAX_CHAINS_PER_RESTORE = 1000;

/**
 * The restore inputs for a result, in order. A sync that writes at most maxChains chains
 * is one atomic payload ({@link restorePayload}). A larger one (a full sync of thousands
 * of services) is split, because iptables-nft's restore time grows much faster than
 * linearly with the chains in one transaction: first KUBE-MARK-MASQ and the per-service chains, a batch of
 * whole Services at a time (a Service's chains only reference each other, so each Service
 * switches atomically), then one last payload with the filter table, the shared nat
 * chains that reference them, the jump rules and the deletions. No rule ever points at a
 * chain that does not exist yet.
 */
export function restorePayloads(r: GenerateResult, extra: Partial<Record<Table, string[]>> = {}, maxChains = DEFAULT_MAX_CHAINS_PER_RESTORE): string[] {
  const total = r.tables.filter.chainLines.length + r.tables.nat.chainLines.length;
  if (total <= maxChains) {
    const p = restorePayload(r, extra);
    return p ? [p] : [];
  }
  const out: string[] = [];
  let chainLines: string[] = [];
  let ruleLines: string[] = [];
  const flush = () => {
    if (!chainLines.length) return;
    out.push(`*nat\n${chainLines.join('\n')}\n${ruleLines.length ? ruleLines.join('\n') + '\n' : ''}COMMIT\n`);
    chainLines = [];
    ruleLines = [];
  };
  const inChunks = new Set<string>();
  // Service chains jump to KUBE-MARK-MASQ: it goes first, whole (it never changes).
  const masq = r.tables.nat.chainLines.indexOf(`:${KUBE_MARK_MASQ} - [0:0]`);
  if (masq >= 0) {
    inChunks.add(KUBE_MARK_MASQ);
    chainLines.push(`:${KUBE_MARK_MASQ} - [0:0]`);
    const rules = r.tables.nat.ruleLines.find((l) => l.startsWith(`-A ${KUBE_MARK_MASQ} `));
    if (rules) ruleLines.push(rules);
  }
  for (const c of r.serviceChunks) {
    for (const name of c.chains) inChunks.add(name);
    chainLines.push(...c.chainLines);
    ruleLines.push(...c.ruleLines);
    if (chainLines.length >= maxChains) flush();
  }
  flush();
  const chainOf = (line: string) => line.slice(line.startsWith(':') ? 1 : 3, line.indexOf(' ', 3));
  const rest: GenerateResult['tables'] = {
    filter: r.tables.filter,
    nat: {
      chainLines: r.tables.nat.chainLines.filter((l) => !inChunks.has(chainOf(l))),
      ruleLines: r.tables.nat.ruleLines.filter((l) => !inChunks.has(chainOf(l))),
      deleteLines: r.tables.nat.deleteLines,
    },
  };
  const last = restorePayload({ tables: rest }, extra);
  if (last) out.push(last);
  return out;
}
