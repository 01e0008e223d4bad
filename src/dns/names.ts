/**
 * Name handling for the cluster zone, as CoreDNS's kubernetes plugin reads names (the
 * Kubernetes DNS-Based Service Discovery specification):
 *
 *   <service>.<namespace>.svc.<zone>                 the service
 *   <endpoint>.<service>.<namespace>.svc.<zone>      one endpoint (hostname or dashed IP)
 *   _<port>._<proto>.<service>.<namespace>.svc.<zone> a named port (SRV)
 *   <a-b-c-d>.<namespace>.pod.<zone>                 a pod ("pods insecure")
 *
 * Every function here is pure; names are compared case-insensitively (DNS is), so callers
 * pass lower-cased names and keep the asker's spelling only for the answer's owner name.
 */
import { isIP } from 'node:net';

/** A query name split into the parts the kubernetes plugin matches on. */
export interface RecordRequest {
  /** The named port of an SRV query, underscore stripped ("http"), or ''. */
  port: string;
  /** The protocol of an SRV query, underscore stripped ("tcp"), or ''. */
  protocol: string;
  /** The endpoint label of `<endpoint>.<svc>.<ns>.svc.<zone>`, or ''. */
  endpoint: string;
  service: string;
  namespace: string;
  /** 'svc', 'pod', or '' for the zone apex, `svc.<zone>` and `pod.<zone>` (NODATA names). */
  podOrSvc: '' | 'svc' | 'pod';
}

/** Lower-cases and drops a trailing dot, so "Web.Default.svc.Cluster.Local." → "web.default.svc.cluster.local". */
export function normalizeName(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/** True when name (normalized) is zone or below it. */
export function inZone(name: string, zone: string): boolean {
  return name === zone || (zone === '' ? true : name.endsWith('.' + zone));
}

/**
 * The labels of name below zone ("a.b.cluster.local" in "cluster.local" → ["a", "b"]).
 * name must be in the zone (see {@link inZone}).
 */
export function labelsBelow(name: string, zone: string): string[] {
  if (name === zone) return [];
  const base = zone === '' ? name : name.slice(0, name.length - zone.length - 1);
  return base === '' ? [] : base.split('.');
}

/**
 * Parses a name in the zone as CoreDNS's parseRequest does: undefined for names the plugin
 * can never hold (anything not under `svc.` or `pod.`, or with too many labels), which are
 * NXDOMAIN; a request with podOrSvc '' for the apex, `svc.<zone>` and `pod.<zone>`, which
 * exist but hold no records (NODATA).
 */
export function parseRequest(name: string, zone: string): RecordRequest | undefined {
  const r: RecordRequest = { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' };
  const segs = labelsBelow(name, zone);
  let last = segs.length - 1;
  if (last < 0) return r;
  const kind = segs[last];
  if (kind !== 'svc' && kind !== 'pod') return undefined;
  if (last === 0) return r;
  r.podOrSvc = kind;
  r.namespace = segs[--last]!;
  if (--last < 0) return r;
  r.service = segs[last]!;
  if (--last < 0) return r;
  // What is left is ambiguous: one label is an endpoint, two are _port._protocol.
  if (last === 0) r.endpoint = segs[0]!;
  else if (last === 1) {
    r.port = stripUnderscore(segs[0]!);
    r.protocol = stripUnderscore(segs[1]!);
  } else return undefined;
  return r;
}

function stripUnderscore(s: string): string {
  return s.startsWith('_') ? s.slice(1) : s;
}

/**
 * An endpoint's DNS label: its hostname when set, else its IP with dots (or colons) as
 * dashes ("10.244.0.5" → "10-244-0-5", "fd00::5" → "fd00--5"), as CoreDNS names endpoints.
 */
export function endpointLabel(ip: string, hostname?: string): string {
  if (hostname) return hostname.toLowerCase();
  if (ip.includes('.')) return ip.replaceAll('.', '-');
  return ip.replaceAll(':', '-').toLowerCase();
}

/**
 * The IP a pod label stands for ("10-244-0-5" → "10.244.0.5"; three dashes and no "--" is
 * IPv4, anything else is IPv6 with dashes for colons), or undefined when it is no IP.
 */
export function podLabelToIP(label: string): string | undefined {
  const dashes = label.split('-').length - 1;
  const ip = dashes === 3 && !label.includes('--') ? label.replaceAll('-', '.') : label.replaceAll('-', ':');
  return isIP(ip) ? ip : undefined;
}

/** The reverse zones the plugin answers PTR queries in (and falls through from). */
export const reverseZones = ['in-addr.arpa', 'ip6.arpa'] as const;

/** True when name (normalized) is in in-addr.arpa or ip6.arpa. */
export function isReverse(name: string): boolean {
  return reverseZones.some((z) => inZone(name, z));
}

/**
 * The address a full reverse name stands for ("5.0.244.10.in-addr.arpa" → "10.244.0.5",
 * 32 nibbles under ip6.arpa → the IPv6 address in canonical form), or undefined for a
 * partial or malformed reverse name.
 */
export function addressFromReverse(name: string): string | undefined {
  if (inZone(name, 'in-addr.arpa')) {
    const labels = labelsBelow(name, 'in-addr.arpa');
    if (labels.length !== 4) return undefined;
    if (!labels.every((l) => /^(0|[1-9]\d{0,2})$/.test(l) && Number(l) <= 255)) return undefined;
    return labels.reverse().join('.');
  }
  if (inZone(name, 'ip6.arpa')) {
    const labels = labelsBelow(name, 'ip6.arpa');
    if (labels.length !== 32 || !labels.every((l) => /^[0-9a-f]$/.test(l))) return undefined;
    const hex = labels.reverse().join('');
    const groups: string[] = [];
    for (let i = 0; i < 32; i += 4) groups.push(hex.slice(i, i + 4));
    return canonicalIP(groups.join(':'));
  }
  return undefined;
}

/** The reverse name of an IP ("10.244.0.5" → "5.0.244.10.in-addr.arpa"). */
export function reverseName(ip: string): string {
  if (isIP(ip) === 4) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  const hex = expandIPv6(ip).replaceAll(':', '');
  return [...hex].reverse().join('.') + '.ip6.arpa';
}

/** An IP in one spelling, so indexes and lookups agree ("FD00:0::5" → "fd00::5"). */
export function canonicalIP(ip: string): string {
  if (isIP(ip) !== 6) return ip;
  const groups = expandIPv6(ip).split(':').map((g) => g.replace(/^0+(?=.)/, ''));
  // RFC 5952: the longest run (of two or more) of zero groups becomes "::".
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** The eight four-digit groups of an IPv6 address. */
function expandIPv6(ip: string): string {
  let s = ip.toLowerCase();
  // An embedded IPv4 tail ("::ffff:10.0.0.1") becomes two hex groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split('.').map(Number) as [number, number, number, number];
    s = s.slice(0, -v4[1]!.length) + ((a << 8) | b).toString(16) + ':' + ((c << 8) | d).toString(16);
  }
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail === undefined ? [] : tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0')).join(':');
}
