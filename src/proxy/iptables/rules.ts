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
    let bits = 0n;
    for (let j = 0; j < 5; j++) bits = (bits << 8n) | BigInt(buf[i + j]!);
    for (let k = 7; k >= 0; k--) out += BASE32[Number((bits >> BigInt(k * 5)) & 31n)];
  }
  return out;
}

/** Upstream portProtoHash: base32(sha256(servicePortName + protocol))[:16]. */
export function portProtoHash(servicePortName: string, protocol: string): string {
  return base32First16(createHash('sha256').update(servicePortName + protocol).digest());
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
  return `KUBE-SEP-${base32First16(createHash('sha256').update(sp.name + sp.protocol.toLowerCase() + endpointString(ep)).digest())}`;
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

/** What a sync left on the host, handed back to the next sync. */
export interface AppliedRules {
  /** "table/chain" → the chain's rules as written. */
  chains: Map<string, string>;
  /** Service ("ns/name") → the per-service nat chains it owns. */
  serviceChains: Map<string, Set<string>>;
  largeClusterMode: boolean;
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
  /** "-A …" lines of the declared chains. */
  ruleLines: string[];
  /** "-X CHAIN" lines. */
  deleteLines: string[];
}

export interface GenerateResult {
  tables: Record<Table, TableDelta>;
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

class ChainSet {
  readonly chains = new Map<string, string[]>();
  rules(chain: string): string[] {
    let r = this.chains.get(chain);
    if (!r) this.chains.set(chain, (r = []));
    return r;
  }
  add(chain: string, ...words: string[]): void {
    this.rules(chain).push(`-A ${chain} ${words.join(' ')}`);
  }
}

/**
 * Renders the rules for state and the restore payload from `previous` to them. Pure: it
 * runs nothing; the applier feeds {@link restorePayload} of the result to iptables-restore
 * and keeps `applied` only if that succeeds.
 */
export function generateRules(input: GenerateInput, opts: RuleGeneratorOptions = {}): GenerateResult {
  const { state } = input;
  const markBit = 1 << (opts.masqueradeBit ?? 14);
  const mark = `0x${markBit.toString(16)}`;
  const filter = new ChainSet();
  const nat = new ChainSet();
  for (const c of BASE_CHAINS.filter) filter.rules(c);
  for (const c of BASE_CHAINS.nat) nat.rules(c);

  // Shared chains, rendered whole every sync.
  filter.add(KUBE_FORWARD, '-m', 'conntrack', '--ctstate', 'INVALID', '-j', 'DROP');
  filter.add(KUBE_FORWARD, '-m', 'comment', '--comment', quote('kubernetes forwarding rules'), '-m', 'mark', '--mark', `${mark}/${mark}`, '-j', 'ACCEPT');
  filter.add(KUBE_FORWARD, '-m', 'comment', '--comment', quote('kubernetes forwarding conntrack rule'), '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT');
  nat.add(KUBE_POSTROUTING, '-m', 'mark', '!', '--mark', `${mark}/${mark}`, '-j', 'RETURN');
  nat.add(KUBE_POSTROUTING, '-j', 'MARK', '--xor-mark', mark);
  nat.add(KUBE_POSTROUTING, '-m', 'comment', '--comment', quote('kubernetes service traffic requiring SNAT'), '-j', 'MASQUERADE', '--random-fully');
  nat.add(KUBE_MARK_MASQ, '-j', 'MARK', '--or-mark', mark);

  const ports = [...state.services.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.protocol < b.protocol ? -1 : 1));
  const categorized = ports.map((sp) => categorizeEndpoints(sp, state.endpoints.get(sp.name) ?? []));
  const totalEndpoints = categorized.reduce((n, c) => n + c.allReachable.length, 0);
  const largeClusterMode = totalEndpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD;
  const prev = input.previous;
  const full = !input.changedServices || !prev || prev.largeClusterMode !== largeClusterMode;
  const renderService = (svc: string) => full || input.changedServices!.has(svc);
  const comment = (c: string): string[] => (largeClusterMode ? [] : ['-m', 'comment', '--comment', quote(c)]);

  const serviceChains = new Map<string, Set<string>>();
  let noLocalInternal = 0;
  let noLocalExternal = 0;

  ports.forEach((sp, i) => {
    const { cluster, local, allReachable, hasAny: hasEndpoints } = categorized[i]!;
    const names = serviceChainNames(sp);
    const proto = sp.protocol.toLowerCase();
    const match = ['-m', proto, '-p', proto];
    const port = String(sp.port);
    const svcName = sp.name;
    const render = renderService(sp.service);
    let owned = serviceChains.get(sp.service);
    if (!owned) serviceChains.set(sp.service, (owned = new Set()));
    // Per-service chains go to `chains` only when rendered; otherwise just their names are recorded.
    const chains = render ? nat : undefined;

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
      nat.add(KUBE_SERVICES, ...clusterIPArgs, '-j', internalPolicyChain);
    } else {
      filter.add(KUBE_SERVICES, '-m', 'comment', '--comment', quote(internalFilterComment), ...match, '-d', sp.clusterIP, '--dport', port, '-j', internalFilterTarget);
    }
    // External IPs.
    for (const ip of sp.externalIPs) {
      if (hasEndpoints) nat.add(KUBE_SERVICES, '-m', 'comment', '--comment', quote(`${svcName} external IP`), ...match, '-d', ip, '--dport', port, '-j', names.external);
      if (!hasExternalEndpoints) filter.add(KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', quote(externalFilterComment), ...match, '-d', ip, '--dport', port, '-j', externalFilterTarget);
    }
    // Load-balancer ingress IPs.
    for (const ip of sp.loadBalancerVIPs) {
      if (hasEndpoints) nat.add(KUBE_SERVICES, '-m', 'comment', '--comment', quote(`${svcName} loadbalancer IP`), ...match, '-d', ip, '--dport', port, '-j', loadBalancerTrafficChain);
      if (usesFWChain) {
        filter.add(KUBE_PROXY_FIREWALL, '-m', 'comment', '--comment', quote(`${svcName} traffic not accepted by ${names.firewall}`), ...match, '-d', ip, '--dport', port, '-j', 'DROP');
      }
    }
    if (!hasExternalEndpoints) {
      for (const ip of sp.loadBalancerVIPs) {
        filter.add(KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', quote(externalFilterComment), ...match, '-d', ip, '--dport', port, '-j', externalFilterTarget);
      }
    }
    // The node port.
    if (sp.nodePort !== 0) {
      if (hasEndpoints) nat.add(KUBE_NODEPORTS, '-m', 'comment', '--comment', quote(svcName), ...match, '--dport', String(sp.nodePort), '-j', names.external);
      if (!hasExternalEndpoints) {
        filter.add(KUBE_EXTERNAL_SERVICES, '-m', 'comment', '--comment', quote(externalFilterComment), '-m', 'addrtype', '--dst-type', 'LOCAL', ...match, '--dport', String(sp.nodePort), '-j', externalFilterTarget);
      }
    }
    if (sp.healthCheckNodePort !== 0) {
      filter.add(KUBE_NODEPORTS, '-m', 'comment', '--comment', quote(`${svcName} health check node port`), '-m', 'tcp', '-p', 'tcp', '--dport', String(sp.healthCheckNodePort), '-j', 'ACCEPT');
    }

    // Per-service chains.
    if (hasInternalEndpoints) {
      if (opts.masqueradeAll) chains?.add(internalPolicyChain, ...clusterIPArgs, '-j', KUBE_MARK_MASQ);
      else if (opts.clusterCIDR) chains?.add(internalPolicyChain, ...clusterIPArgs, '!', '-s', opts.clusterCIDR, '-j', KUBE_MARK_MASQ);
    }
    if (usesExternalTrafficChain) {
      owned.add(names.external);
      chains?.rules(names.external);
      if (!sp.externalPolicyLocal) {
        chains?.add(names.external, '-m', 'comment', '--comment', quote(`masquerade traffic for ${svcName} external destinations`), '-j', KUBE_MARK_MASQ);
      } else {
        if (opts.clusterCIDR) {
          chains?.add(names.external, '-m', 'comment', '--comment', quote(`pod traffic for ${svcName} external destinations`), '-s', opts.clusterCIDR, '-j', names.cluster);
        }
        chains?.add(names.external, '-m', 'comment', '--comment', quote(`masquerade LOCAL traffic for ${svcName} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', KUBE_MARK_MASQ);
        chains?.add(names.external, '-m', 'comment', '--comment', quote(`route LOCAL traffic for ${svcName} external destinations`), '-m', 'addrtype', '--src-type', 'LOCAL', '-j', names.cluster);
      }
      if (hasExternalEndpoints) chains?.add(names.external, '-j', externalPolicyChain);
    }
    if (usesFWChain) {
      owned.add(names.firewall);
      chains?.rules(names.firewall);
      for (const src of sp.loadBalancerSourceRanges) {
        chains?.add(names.firewall, '-m', 'comment', '--comment', quote(`${svcName} loadbalancer IP`), '-s', src, '-j', names.external);
      }
    }
    const writeServiceToEndpoints = (chain: string, eps: EndpointInfo[]) => {
      owned.add(chain);
      if (!chains) return;
      chains.rules(chain);
      if (sp.stickyMaxAgeSeconds !== undefined) {
        for (const ep of eps) {
          const sep = endpointChainName(sp, ep);
          chains.add(chain, ...comment(`${svcName} -> ${endpointString(ep)}`), '-m', 'recent', '--name', sep, '--rcheck', '--seconds', String(sp.stickyMaxAgeSeconds), '--reap', '-j', sep);
        }
      }
      eps.forEach((ep, k) => {
        const stat = k < eps.length - 1 ? ['-m', 'statistic', '--mode', 'random', '--probability', probability(eps.length - k)] : [];
        chains.add(chain, ...comment(`${svcName} -> ${endpointString(ep)}`), ...stat, '-j', endpointChainName(sp, ep));
      });
    };
    // The cluster/local policy chains must exist before the masquerade rule above is kept:
    // declare them first so that rule lands at the top of the chain.
    if (usesClusterPolicyChain) writeServiceToEndpoints(names.cluster, cluster);
    if (usesLocalPolicyChain) writeServiceToEndpoints(names.local, local);
    for (const ep of allReachable) {
      const sep = endpointChainName(sp, ep);
      owned.add(sep);
      if (!chains) continue;
      chains.rules(sep);
      chains.add(sep, ...comment(svcName), '-s', `${ep.ip}/32`, '-j', KUBE_MARK_MASQ);
      const affinity = sp.stickyMaxAgeSeconds !== undefined ? ['-m', 'recent', '--name', sep, '--set'] : [];
      chains.add(sep, ...comment(svcName), ...affinity, ...match, '-j', 'DNAT', '--to-destination', endpointString(ep));
    }
  });

  // NodePorts: the last rule of KUBE-SERVICES.
  const npComment = quote('kubernetes service nodeports; NOTE: this must be the last rule in this chain');
  if (opts.nodePortIPs === undefined) {
    nat.add(KUBE_SERVICES, '-m', 'comment', '--comment', npComment, '-m', 'addrtype', '--dst-type', 'LOCAL', '-j', KUBE_NODEPORTS);
  } else {
    for (const ip of opts.nodePortIPs) nat.add(KUBE_SERVICES, '-m', 'comment', '--comment', npComment, '-d', ip, '-j', KUBE_NODEPORTS);
  }

  return diff({ filter, nat, serviceChains, full, largeClusterMode, input, noLocalInternal, noLocalExternal });
}

function diff(d: {
  filter: ChainSet;
  nat: ChainSet;
  serviceChains: Map<string, Set<string>>;
  full: boolean;
  largeClusterMode: boolean;
  input: GenerateInput;
  noLocalInternal: number;
  noLocalExternal: number;
}): GenerateResult {
  const prev = d.input.previous;
  const chains = new Map<string, string>();
  const tables: Record<Table, TableDelta> = {
    filter: { chainLines: [], ruleLines: [], deleteLines: [] },
    nat: { chainLines: [], ruleLines: [], deleteLines: [] },
  };
  let written = 0;
  let deleted = 0;
  const rules: Record<Table, number> = { filter: 0, nat: 0 };
  for (const table of ['filter', 'nat'] as const) {
    const set = table === 'filter' ? d.filter : d.nat;
    const out = tables[table];
    for (const [chain, lines] of set.chains) {
      const key = `${table}/${chain}`;
      const text = lines.join('\n');
      chains.set(key, text);
      if (!d.full && prev?.chains.get(key) === text) continue;
      out.chainLines.push(`:${chain} - [0:0]`);
      if (lines.length) out.ruleLines.push(text);
      written++;
    }
  }
  // Unchanged services keep their chains, as last applied.
  const active = new Set<string>();
  for (const [svc, owned] of d.serviceChains) {
    const rendered = d.full || d.input.changedServices!.has(svc);
    for (const c of owned) {
      active.add(c);
      if (!rendered) {
        const key = `nat/${c}`;
        const text = prev?.chains.get(key);
        if (text !== undefined) chains.set(key, text);
      }
    }
  }
  const stale = new Set<string>();
  if (d.full) {
    for (const c of d.input.existingNatChains ?? []) if (isServiceChainName(c) && !active.has(c)) stale.add(c);
    if (prev) for (const k of prev.chains.keys()) if (k.startsWith('nat/') && isServiceChainName(k.slice(4)) && !active.has(k.slice(4))) stale.add(k.slice(4));
  } else {
    for (const svc of d.input.changedServices!) for (const c of prev?.serviceChains.get(svc) ?? []) if (!active.has(c)) stale.add(c);
  }
  for (const c of stale) {
    tables.nat.chainLines.push(`:${c} - [0:0]`);
    tables.nat.deleteLines.push(`-X ${c}`);
    deleted++;
  }
  for (const [k, text] of chains) if (text) rules[k.startsWith('nat/') ? 'nat' : 'filter'] += text.split('\n').length;
  const serviceChains = new Map([...d.serviceChains].filter(([, s]) => s.size > 0));
  return {
    tables,
    applied: { chains, serviceChains, largeClusterMode: d.largeClusterMode },
    full: d.full,
    stats: { rules, chainsWritten: written, chainsDeleted: deleted, noLocalEndpointsInternal: d.noLocalInternal, noLocalEndpointsExternal: d.noLocalExternal },
  };
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
