/**
 * The records of the cluster zone, built from Services, EndpointSlices and Namespaces the
 * way CoreDNS's kubernetes plugin builds them (with `pods insecure` and
 * `fallthrough in-addr.arpa ip6.arpa`, as in the default kubeadm Corefile):
 *
 *  - A/AAAA `<svc>.<ns>.svc.<zone>`: the ClusterIPs; for a headless service the addresses of
 *    its ready endpoints; an ExternalName service is a CNAME to its external name.
 *  - `<endpoint>.<svc>.<ns>.svc.<zone>`: one endpoint, named by its hostname or dashed IP.
 *  - SRV `_<port>._<proto>.<svc>.<ns>.svc.<zone>` (or `<svc>.<ns>.svc.<zone>` for every
 *    port): priority 0, weight 100/n, the service (or each endpoint) as target, with the
 *    target's address in the additional section.
 *  - PTR for ClusterIPs and endpoint addresses; other reverse names are not ours.
 *  - `<a-b-c-d>.<ns>.pod.<zone>`: the dashed address, for any existing namespace.
 *  - A name the zone cannot hold is NXDOMAIN, a name that exists without the asked type is
 *    NODATA; both carry the zone's SOA in the authority section. Before the caches have
 *    synced, NXDOMAIN becomes SERVFAIL, so a starting server never denies a real name.
 *
 * Every record has the plugin's default TTL of 5 s (the SOA: min(ttl, 300)).
 */
import { isIP } from 'node:net';
import type { Answer } from 'dns-packet';
import type { Lister } from '../client/interface.js';
import type { EndpointSlice, Namespace, Service } from '../client/objects.js';
import { addressFromReverse, canonicalIP, endpointLabel, inZone, isReverse, normalizeName, parseRequest, podLabelToIP, type RecordRequest } from './names.js';

/** The kubernetes plugin's default `ttl`. */
export const DEFAULT_TTL = 5;

/** The TXT answer of `dns-version.<zone>`: the version of the DNS schema specification. */
export const DNS_SCHEMA_VERSION = '1.1.0';

/** The label on an EndpointSlice naming its Service. */
export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** What the records are built from: read-only views of the informers' caches. */
export interface ClusterState {
  service(namespace: string, name: string): Service | undefined;
  /** Services with ip (canonical) among their ClusterIPs. */
  servicesByIP(ip: string): Service[];
  /** The EndpointSlices of a service. */
  endpointSlices(namespace: string, service: string): EndpointSlice[];
  /** EndpointSlices with a ready endpoint at ip (canonical). */
  endpointSlicesByIP(ip: string): EndpointSlice[];
  namespaceExists(name: string): boolean;
  /** True once every cache has its initial list. */
  hasSynced(): boolean;
  /** The SOA serial: Unix seconds of the last change seen. */
  serial(): number;
}

export const ServiceIPIndex = 'dns/clusterIP';
export const SliceServiceIndex = 'dns/service';
export const SliceIPIndex = 'dns/readyIP';

/** A service's ClusterIPs (canonical), none for headless and ExternalName services. */
export function clusterIPsOf(svc: Service): string[] {
  const spec = svc.spec ?? {};
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => isIP(ip) !== 0).map(canonicalIP);
}

/** "namespace/service" of an EndpointSlice, from its kubernetes.io/service-name label. */
export function sliceServiceKey(slice: EndpointSlice): string | undefined {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return svc ? `${slice.metadata?.namespace ?? ''}/${svc}` : undefined;
}

/** One address of an EndpointSlice that DNS publishes. */
export interface ReadyAddress {
  ip: string;
  hostname: string;
  ports: PortSpec[];
}

interface PortSpec {
  name: string;
  protocol: string;
  /** -1: none declared (CoreDNS's sentinel: such records have no SRV). */
  port: number;
}

/**
 * The ready addresses of a slice (ready unset counts as ready, as upstream), IPv4/IPv6
 * slices only, with the slice's ports (or the no-port sentinel).
 */
export function readyAddresses(slice: EndpointSlice): ReadyAddress[] {
  if (slice.addressType !== 'IPv4' && slice.addressType !== 'IPv6') return [];
  const ports: PortSpec[] = (slice.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port ?? -1 }));
  if (ports.length === 0) ports.push({ name: '', protocol: '', port: -1 });
  const out: ReadyAddress[] = [];
  for (const ep of slice.endpoints ?? []) {
    if (ep.conditions?.ready === false) continue;
    for (const ip of ep.addresses ?? []) if (isIP(ip)) out.push({ ip: canonicalIP(ip), hostname: ep.hostname ?? '', ports });
  }
  return out;
}

/** The indexers {@link ListerState} needs, to add to the informers before they run. */
export const serviceIndexers = { [ServiceIPIndex]: (s: Service) => clusterIPsOf(s) };
export const sliceIndexers = {
  [SliceServiceIndex]: (s: EndpointSlice) => {
    const k = sliceServiceKey(s);
    return k ? [k] : [];
  },
  [SliceIPIndex]: (s: EndpointSlice) => [...new Set(readyAddresses(s).map((a) => a.ip))],
};

/** {@link ClusterState} over informer listers carrying {@link serviceIndexers} and {@link sliceIndexers}. */
export class ListerState implements ClusterState {
  constructor(
    private readonly opts: {
      services: Lister<Service>;
      slices: Lister<EndpointSlice>;
      namespaces: Lister<Namespace>;
      hasSynced: () => boolean;
      serial: () => number;
    },
  ) {}

  service(namespace: string, name: string): Service | undefined {
    return this.opts.services.get(`${namespace}/${name}`);
  }
  servicesByIP(ip: string): Service[] {
    return this.opts.services.byIndex(ServiceIPIndex, ip);
  }
  endpointSlices(namespace: string, service: string): EndpointSlice[] {
    return this.opts.slices.byIndex(SliceServiceIndex, `${namespace}/${service}`);
  }
  endpointSlicesByIP(ip: string): EndpointSlice[] {
    return this.opts.slices.byIndex(SliceIPIndex, ip);
  }
  namespaceExists(name: string): boolean {
    return this.opts.namespaces.get(name) !== undefined;
  }
  hasSynced(): boolean {
    return this.opts.hasSynced();
  }
  serial(): number {
    return this.opts.serial();
  }
}

/** What a name in the zone resolves to before the record type is applied (CoreDNS msg.Service). */
interface Found {
  /** An IP, or a domain for an ExternalName service (a CNAME). */
  host: string;
  port: number;
  /** The domain this record belongs to: the SRV target for address hosts. */
  name: string;
}

type Rcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL' | 'REFUSED';

/** The answer for a name the cluster zone (or a reverse zone) holds. */
export interface ZoneAnswer {
  rcode: Rcode;
  authoritative: boolean;
  answers: Answer[];
  authorities: Answer[];
  additionals: Answer[];
  /**
   * An ExternalName CNAME whose target is outside the zone: the server resolves `name`
   * (type `type`) upstream and, if that succeeds, appends `cname` and the upstream answers.
   * If the lookup fails the CNAME is left out, as CoreDNS does.
   */
  chase?: { cname: Answer; name: string; type: 'A' | 'AAAA' };
}

export interface ClusterRecordsOptions {
  state: ClusterState;
  /** e.g. "cluster.local" (any case, trailing dot optional). */
  zone: string;
  ttl?: number;
  /**
   * The server's own addresses, for `ns.dns.<zone>` and NS answers when the kube-dns
   * Service is not there (CoreDNS uses the local IPs it listens on).
   */
  localAddresses?: () => string[];
}

/** Builds answers for the cluster zone from a {@link ClusterState}. Synchronous and allocation-light: it is the hot path. */
export class ClusterRecords {
  readonly zone: string;
  private readonly state: ClusterState;
  private readonly ttl: number;
  private readonly localAddresses: () => string[];

  constructor(opts: ClusterRecordsOptions) {
    this.zone = normalizeName(opts.zone);
    this.state = opts.state;
    this.ttl = opts.ttl ?? DEFAULT_TTL;
    this.localAddresses = opts.localAddresses ?? (() => []);
  }

  /**
   * The answer to (qname, qtype) if it is ours: any name in the zone, and PTR queries for
   * the addresses of services and ready endpoints. undefined means "not ours": the server
   * forwards it (including reverse names we do not know, CoreDNS's fallthrough).
   */
  resolve(qname: string, qtype: string): ZoneAnswer | undefined {
    const lname = normalizeName(qname);
    if (inZone(lname, this.zone)) return this.zoneAnswer(qname, lname, qtype);
    if (qtype === 'PTR' && isReverse(lname)) {
      const ip = addressFromReverse(lname);
      const targets = ip ? this.reverse(ip) : [];
      if (targets.length === 0) return undefined;
      return this.reply(targets.map((t) => ({ type: 'PTR', name: qname, ttl: this.ttl, class: 'IN', data: t })), []);
    }
    return undefined;
  }

  private zoneAnswer(qname: string, lname: string, qtype: string): ZoneAnswer {
    // The zone as the asker spelled it, for the SOA and NS owner names.
    const zoneName = this.zone === '' ? '' : qname.replace(/\.$/, '').slice(-this.zone.length);
    let records: Answer[] = [];
    let extra: Answer[] = [];
    let nameError = false;
    let chase: ZoneAnswer['chase'];
    switch (qtype) {
      case 'A':
      case 'AAAA': {
        const r = this.address(qname, lname, qtype, 0);
        ({ records, nameError, chase } = r);
        break;
      }
      case 'SRV':
        ({ records, extra, nameError } = this.srv(qname, lname));
        break;
      case 'TXT':
        if (lname === `dns-version.${this.zone}`) records = [{ type: 'TXT', name: qname, ttl: this.ttl, class: 'IN', data: DNS_SCHEMA_VERSION }];
        else nameError = this.services(lname).nameError;
        break;
      case 'CNAME': {
        const r = this.services(lname);
        nameError = r.nameError;
        for (const s of r.found) if (isIP(s.host) === 0) records.push({ type: 'CNAME', name: qname, ttl: this.ttl, class: 'IN', data: s.host });
        break;
      }
      case 'SOA':
        if (lname === this.zone) records = [this.soa(zoneName)];
        break;
      case 'AXFR':
      case 'IXFR':
        return { rcode: 'REFUSED', authoritative: false, answers: [], authorities: [], additionals: [] };
      case 'NS':
        if (lname === this.zone) {
          ({ records, extra } = this.ns(zoneName));
          break;
        }
        nameError = this.services(lname).nameError;
        break;
      default:
        // Any other type: whether the name exists decides NODATA or NXDOMAIN.
        nameError = this.services(lname).nameError;
    }
    if (nameError) {
      const rcode: Rcode = this.state.hasSynced() ? 'NXDOMAIN' : 'SERVFAIL';
      return { rcode, authoritative: true, answers: [], authorities: [this.soa(zoneName)], additionals: [] };
    }
    if (records.length === 0 && !chase) return { rcode: 'NOERROR', authoritative: true, answers: [], authorities: [this.soa(zoneName)], additionals: [] };
    const out = this.reply(records, extra);
    if (chase) out.chase = chase;
    return out;
  }

  private reply(answers: Answer[], additionals: Answer[]): ZoneAnswer {
    return { rcode: 'NOERROR', authoritative: true, answers, authorities: [], additionals };
  }

  /** The zone's SOA (CoreDNS: ns.dns.<zone>, hostmaster.<zone>, serial = last change). */
  soa(zoneName = this.zone): Answer {
    return {
      type: 'SOA',
      name: zoneName,
      ttl: Math.min(this.ttl, 300),
      class: 'IN',
      data: {
        mname: `ns.dns.${zoneName}`,
        rname: `hostmaster.${zoneName}`,
        serial: this.state.serial() >>> 0,
        refresh: 7200,
        retry: 1800,
        expire: 86400,
        minimum: this.ttl,
      },
    };
  }

  /** A/AAAA: addresses of the family asked, CNAMEs for ExternalName (chased inside the zone). */
  private address(qname: string, lname: string, qtype: 'A' | 'AAAA', depth: number): { records: Answer[]; nameError: boolean; chase?: ZoneAnswer['chase'] } {
    const { found, nameError } = this.services(lname);
    if (nameError) return { records: [], nameError };
    const family = qtype === 'A' ? 4 : 6;
    const records: Answer[] = [];
    const seen = new Set<string>();
    let chase: ZoneAnswer['chase'];
    for (const s of found) {
      const f = isIP(s.host);
      if (f === 0) {
        if (s.host === lname || depth >= 7) continue; // a CNAME to itself, or a chain too long
        const cname: Answer = { type: 'CNAME', name: qname, ttl: this.ttl, class: 'IN', data: s.host };
        if (inZone(s.host, this.zone)) {
          const next = this.address(s.host, s.host, qtype, depth + 1);
          if (!next.nameError && (next.records.length > 0 || next.chase)) {
            records.push(cname, ...next.records);
            chase ??= next.chase;
          }
        } else chase ??= { cname, name: s.host, type: qtype };
        continue;
      }
      if (f !== family || seen.has(s.host)) continue;
      seen.add(s.host);
      records.push({ type: qtype, name: qname, ttl: this.ttl, class: 'IN', data: s.host });
    }
    return { records, nameError: false, chase };
  }

  private srv(qname: string, lname: string): { records: Answer[]; extra: Answer[]; nameError: boolean } {
    const { found, nameError } = this.services(lname);
    if (nameError) return { records: [], extra: [], nameError };
    const weight = Math.max(1, Math.floor(100 / Math.max(1, found.length)));
    const records: Answer[] = [];
    const extra: Answer[] = [];
    const seenSRV = new Set<string>();
    const seenAddr = new Set<string>();
    for (const s of found) {
      if (s.port === -1) continue;
      const external = isIP(s.host) === 0;
      const target = external ? s.host : s.name;
      const k = `${target}/${s.port}`;
      if (!seenSRV.has(k)) {
        seenSRV.add(k);
        records.push({ type: 'SRV', name: qname, ttl: this.ttl, class: 'IN', data: { priority: 0, weight, port: s.port, target } });
      }
      if (external) continue;
      const a = `${target}/${s.host}`;
      if (seenAddr.has(a)) continue;
      seenAddr.add(a);
      extra.push({ type: isIP(s.host) === 4 ? 'A' : 'AAAA', name: target, ttl: this.ttl, class: 'IN', data: s.host });
    }
    return { records, extra, nameError: false };
  }

  /** NS at the apex: the kube-dns Service when it exists (as CoreDNS finds its own), else ns.dns.<zone>. */
  private ns(zoneName: string): { records: Answer[]; extra: Answer[] } {
    const { name, ips } = this.nameserver();
    const target = name ?? `ns.dns.${zoneName}`;
    return {
      records: [{ type: 'NS', name: zoneName, ttl: this.ttl, class: 'IN', data: target }],
      extra: ips.map((ip) => ({ type: isIP(ip) === 4 ? 'A' : 'AAAA', name: target, ttl: this.ttl, class: 'IN', data: ip }) as Answer),
    };
  }

  private nameserver(): { name?: string; ips: string[] } {
    const svc = this.state.service('kube-system', 'kube-dns');
    const ips = svc ? clusterIPsOf(svc) : [];
    if (ips.length > 0) return { name: `kube-dns.kube-system.svc.${this.zone}`, ips };
    return { ips: this.localAddresses().filter((ip) => isIP(ip) !== 0) };
  }

  /**
   * What a name in the zone points at, before the record type is applied (CoreDNS's
   * Services/Records/findServices/findPods); nameError means NXDOMAIN.
   */
  private services(lname: string): { found: Found[]; nameError: boolean } {
    if (lname === `ns.dns.${this.zone}`) {
      return { found: this.nameserver().ips.map((ip) => ({ host: ip, port: 0, name: lname })), nameError: false };
    }
    const r = parseRequest(lname, this.zone);
    if (!r) return { found: [], nameError: true };
    if (r.podOrSvc === '') return { found: [], nameError: false };
    if (!this.state.namespaceExists(r.namespace)) return { found: [], nameError: true };
    if (r.podOrSvc === 'pod') return this.pods(r, lname);
    return this.findServices(r);
  }

  private pods(r: RecordRequest, lname: string): { found: Found[]; nameError: boolean } {
    if (r.service === '') return { found: [], nameError: false };
    const ip = podLabelToIP(r.service);
    if (!ip) return { found: [], nameError: true };
    return { found: [{ host: canonicalIP(ip), port: 0, name: lname }], nameError: false };
  }

  private findServices(r: RecordRequest): { found: Found[]; nameError: boolean } {
    if (r.service === '') return { found: [], nameError: false };
    const svc = this.state.service(r.namespace, r.service);
    if (!svc) return { found: [], nameError: true };
    const spec = svc.spec ?? {};
    const base = `${r.service}.${r.namespace}.svc.${this.zone}`;
    const found: Found[] = [];
    if (spec.type === 'ExternalName') {
      // An ExternalName service has no endpoints, and only a domain makes a CNAME.
      const host = normalizeName(spec.externalName ?? '');
      if (r.endpoint !== '' || host === '' || isIP(host) !== 0) return { found, nameError: true };
      found.push({ host, port: 0, name: base });
      return { found, nameError: false };
    }
    let nameError = true;
    if (spec.clusterIP === 'None' || r.endpoint !== '') {
      for (const slice of this.state.endpointSlices(r.namespace, r.service)) {
        for (const addr of readyAddresses(slice)) {
          const label = endpointLabel(addr.ip, addr.hostname);
          if (r.endpoint !== '' && r.endpoint !== label) continue;
          for (const p of addr.ports) {
            if (!matchPortAndProtocol(r, p)) continue;
            nameError = false;
            found.push({ host: addr.ip, port: p.port, name: `${label}.${base}` });
          }
        }
      }
      return { found, nameError };
    }
    const ports: PortSpec[] = (spec.ports ?? []).map((p) => ({ name: p.name ?? '', protocol: p.protocol ?? 'TCP', port: p.port }));
    if (ports.length === 0) ports.push({ name: '', protocol: '', port: -1 });
    const ips = clusterIPsOf(svc);
    for (const p of ports) {
      if (!matchPortAndProtocol(r, p)) continue;
      nameError = false;
      for (const ip of ips) found.push({ host: ip, port: p.port, name: base });
    }
    return { found, nameError };
  }

  /** PTR targets for ip: the service owning it as a ClusterIP, else every ready endpoint at it. */
  private reverse(ip: string): string[] {
    const canonical = canonicalIP(ip);
    for (const svc of this.state.servicesByIP(canonical)) {
      return [`${svc.metadata?.name}.${svc.metadata?.namespace}.svc.${this.zone}`];
    }
    const out: string[] = [];
    for (const slice of this.state.endpointSlicesByIP(canonical)) {
      const service = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (!service) continue;
      for (const addr of readyAddresses(slice)) {
        if (addr.ip !== canonical) continue;
        const name = `${endpointLabel(addr.ip, addr.hostname)}.${service}.${slice.metadata?.namespace}.svc.${this.zone}`;
        if (!out.includes(name)) out.push(name);
      }
    }
    return out;
  }
}

/** CoreDNS's matchPortAndProtocol: an empty request part matches anything; case-insensitive. */
function matchPortAndProtocol(r: RecordRequest, p: PortSpec): boolean {
  return (r.port === '' || r.port === p.name.toLowerCase()) && (r.protocol === '' || r.protocol === p.protocol.toLowerCase());
}
