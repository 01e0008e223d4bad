/**
 * discovery.k8s.io/v1 EndpointSlice: defaults (ports get name "" and protocol TCP), the
 * registry strategy (pkg/registry/discovery/endpointslice), validation
 * (pkg/apis/discovery/validation) and the table NAME ADDRESSTYPE PORTS ENDPOINTS AGE.
 */
import {
  fieldDuplicate, fieldInternalError, fieldInvalid, fieldNotSupported, fieldRequired, fieldTooMany, newPath,
  type FieldError, type FieldPath,
} from '../../../apimachinery/errors.js';
import type { KObject } from '../../../apimachinery/meta.js';
import {
  FIELD_IMMUTABLE_ERROR_MSG, isDNS1123Label, isDNS1123Subdomain, isQualifiedName, isValidIPv4Address, isValidIPv6Address,
  isValidLabelValue, parseIPFamily, validateLabels,
} from '../../../apimachinery/validation.js';
import { ageColumn, column, nameColumn, objectAge, objectName } from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import {
  asObj, asObjs, asStr, isSet, metaOf, objectMetaFields, semanticEqual, standardVerbs, type Obj,
} from '../../apps/v1/helpers.js';

const SUPPORTED_ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];
/** The discovery/v1beta1 "IP" address type: still accepted on update of old slices. */
const DEPRECATED_ADDRESS_TYPES = ['IP'];
const SUPPORTED_PORT_PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const MAX_TOPOLOGY_LABELS = 16;
const MAX_ADDRESSES = 100;
const MAX_PORTS = 100;
const MAX_ENDPOINTS = 1000;
const MAX_ZONE_HINTS = 8;
const LABEL_TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';

/** SetDefaults_EndpointPort: a port without a name gets "", without a protocol TCP. */
export function defaultEndpointSlice(obj: KObject): void {
  for (const port of asObjs(obj.ports)) {
    if (!isSet(port.name)) port.name = '';
    if (!isSet(port.protocol)) port.protocol = 'TCP';
  }
}

// ---------------------------------------------------------------------------------------
// IP addresses as Go's net.IP sees them
// ---------------------------------------------------------------------------------------

/** The 16-byte form of an IP (IPv4 as ::ffff:a.b.c.d), as netutils.ParseIPSloppy gives it. */
function ipBytes(s: string): number[] | undefined {
  const fam = parseIPFamily(s);
  if (fam === undefined) return undefined;
  if (!s.includes(':')) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...s.split('.').map((p) => Number.parseInt(p, 10))];
  let str = s.toLowerCase();
  const lastColon = str.lastIndexOf(':');
  const tail = str.slice(lastColon + 1);
  if (tail.includes('.')) {
    const o = tail.split('.').map(Number);
    str = `${str.slice(0, lastColon + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, rest] = str.includes('::') ? (str.split('::') as [string, string]) : [str, undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  return groups.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

function isV4(b: number[]): boolean {
  return b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

/**
 * ValidateEndpointIP (core validation): a valid IP that is not unspecified, loopback,
 * link-local unicast or link-local multicast.
 */
export function validateEndpointIP(ip: string, fldPath: FieldPath): FieldError[] {
  const b = ipBytes(ip);
  if (!b) return [fieldInvalid(fldPath, ip, 'must be a valid IP address')];
  const errs: FieldError[] = [];
  const v4 = isV4(b);
  const unspecified = v4 ? b.slice(12).every((x) => x === 0) : b.every((x) => x === 0);
  const loopback = v4 ? b[12] === 127 : b.slice(0, 15).every((x) => x === 0) && b[15] === 1;
  const linkLocalUnicast = v4 ? b[12] === 169 && b[13] === 254 : b[0] === 0xfe && (b[1]! & 0xc0) === 0x80;
  const linkLocalMulticast = v4 ? b[12] === 224 && b[13] === 0 && b[14] === 0 : b[0] === 0xff && (b[1]! & 0x0f) === 0x02;
  if (unspecified) errs.push(fieldInvalid(fldPath, ip, `may not be unspecified (${ip})`));
  if (loopback) errs.push(fieldInvalid(fldPath, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)'));
  if (linkLocalUnicast) errs.push(fieldInvalid(fldPath, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)'));
  if (linkLocalMulticast) errs.push(fieldInvalid(fldPath, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)'));
  return errs;
}

/** IsFullyQualifiedDomainName: a DNS subdomain of at least two labels (a trailing dot allowed). */
export function isFullyQualifiedDomainName(fldPath: FieldPath, name: string): FieldError[] {
  if (name === '') return [fieldRequired(fldPath, '')];
  const n = name.endsWith('.') ? name.slice(0, -1) : name;
  const sub = isDNS1123Subdomain(n);
  if (sub.length > 0) return [fieldInvalid(fldPath, n, sub.join(','))];
  const labels = n.split('.');
  if (labels.length < 2) return [fieldInvalid(fldPath, n, 'should be a domain with at least two segments separated by dots')];
  for (const label of labels) {
    const errs = isDNS1123Label(label);
    if (errs.length > 0) return [fieldInvalid(fldPath, label, errs.join(','))];
  }
  return [];
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

function validateAddressType(addressType: unknown, valid: readonly string[]): FieldError[] {
  const t = asStr(addressType);
  if (t === '') return [fieldRequired(newPath('addressType'), '')];
  return valid.includes(t) ? [] : [fieldNotSupported(newPath('addressType'), t, [...valid].sort())];
}

function dns1123Label(value: string, fldPath: FieldPath): FieldError[] {
  return isDNS1123Label(value).map((m) => fieldInvalid(fldPath, value, m));
}

function validateHints(hints: Obj, fldPath: FieldPath): FieldError[] {
  const fz = fldPath.child('forZones');
  const zones = asObjs(hints.forZones);
  if (zones.length > MAX_ZONE_HINTS) return [fieldTooMany(fz, zones.length, MAX_ZONE_HINTS)];
  const errs: FieldError[] = [];
  const seen = new Set<string>();
  zones.forEach((z, i) => {
    const p = fz.index(i).child('name');
    const name = asStr(z.name);
    if (seen.has(name)) errs.push(fieldDuplicate(p, name));
    else seen.add(name);
    for (const m of isValidLabelValue(name)) errs.push(fieldInvalid(p, name, m));
  });
  return errs;
}

function validateEndpoints(endpoints: unknown, addressType: string, fldPath: FieldPath): FieldError[] {
  const list = asObjs(endpoints);
  if (list.length > MAX_ENDPOINTS) return [fieldTooMany(fldPath, list.length, MAX_ENDPOINTS)];
  const errs: FieldError[] = [];
  list.forEach((ep, i) => {
    const idx = fldPath.index(i);
    const addrPath = idx.child('addresses');
    const addresses = Array.isArray(ep.addresses) ? ep.addresses.map(asStr) : [];
    if (addresses.length === 0) errs.push(fieldRequired(addrPath, 'must contain at least 1 address'));
    else if (addresses.length > MAX_ADDRESSES) errs.push(fieldTooMany(addrPath, addresses.length, MAX_ADDRESSES));
    addresses.forEach((addr, j) => {
      const p = addrPath.index(j);
      switch (addressType) {
        case 'IPv4': {
          const ipErrs = isValidIPv4Address(p, addr);
          errs.push(...(ipErrs.length > 0 ? ipErrs : validateEndpointIP(addr, p)));
          break;
        }
        case 'IPv6': {
          const ipErrs = isValidIPv6Address(p, addr);
          errs.push(...(ipErrs.length > 0 ? ipErrs : validateEndpointIP(addr, p)));
          break;
        }
        case 'FQDN':
          errs.push(...isFullyQualifiedDomainName(p, addr));
          break;
      }
    });
    if (isSet(ep.nodeName)) {
      const nn = asStr(ep.nodeName);
      for (const m of isDNS1123Subdomain(nn)) errs.push(fieldInvalid(idx.child('nodeName'), nn, m));
    }
    const topoPath = idx.child('deprecatedTopology');
    const topo = asObj(ep.deprecatedTopology) as Record<string, string> | undefined;
    if (topo && Object.keys(topo).length > MAX_TOPOLOGY_LABELS) errs.push(fieldTooMany(topoPath, Object.keys(topo).length, MAX_TOPOLOGY_LABELS));
    errs.push(...validateLabels(topo, topoPath));
    if (topo && LABEL_TOPOLOGY_ZONE in topo) {
      errs.push(fieldInternalError(topoPath.key(LABEL_TOPOLOGY_ZONE), 'reserved key was not removed in conversion'));
    }
    if (isSet(ep.hostname)) errs.push(...dns1123Label(asStr(ep.hostname), idx.child('hostname')));
    const hints = asObj(ep.hints);
    if (hints) errs.push(...validateHints(hints, idx.child('hints')));
  });
  return errs;
}

function validatePorts(ports: unknown, fldPath: FieldPath): FieldError[] {
  const list = asObjs(ports);
  if (list.length > MAX_PORTS) return [fieldTooMany(fldPath, list.length, MAX_PORTS)];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  list.forEach((port, i) => {
    const idx = fldPath.index(i);
    const name = asStr(port.name);
    if (name.length > 0) errs.push(...dns1123Label(name, idx.child('name')));
    if (names.has(name)) errs.push(fieldDuplicate(idx.child('name'), name));
    else names.add(name);
    if (!isSet(port.protocol)) errs.push(fieldRequired(idx.child('protocol'), ''));
    else if (!SUPPORTED_PORT_PROTOCOLS.includes(asStr(port.protocol))) {
      errs.push(fieldNotSupported(idx.child('protocol'), asStr(port.protocol), SUPPORTED_PORT_PROTOCOLS));
    }
    if (isSet(port.appProtocol)) {
      const ap = asStr(port.appProtocol);
      for (const m of isQualifiedName(ap)) errs.push(fieldInvalid(idx.child('appProtocol'), ap, m));
    }
  });
  return errs;
}

/** ValidateEndpointSlice (without ObjectMeta). */
export function validateEndpointSlice(obj: KObject, validAddressTypes: readonly string[]): FieldError[] {
  return [
    ...validateAddressType(obj.addressType, validAddressTypes),
    ...validateEndpoints(obj.endpoints, asStr(obj.addressType), newPath('endpoints')),
    ...validatePorts(obj.ports, newPath('ports')),
  ];
}

// ---------------------------------------------------------------------------------------
// Printing
// ---------------------------------------------------------------------------------------

/** `a,b,c + N more...` with at most three items, `<unset>` for none (listWithMoreString). */
function listWithMore(items: string[]): string {
  const max = 3;
  if (items.length > max) return `${items.slice(0, max).join(',')} + ${items.length - max} more...`;
  return items.length === 0 ? '<unset>' : items.join(',');
}

/** formatDiscoveryPorts: each port's number, else its name, else "*". */
export function formatDiscoveryPorts(ports: unknown): string {
  return listWithMore(asObjs(ports).map((p) => (isSet(p.port) ? String(p.port) : isSet(p.name) ? asStr(p.name) : '*')));
}

/** formatDiscoveryEndpoints: every address of every endpoint. */
export function formatDiscoveryEndpoints(endpoints: unknown): string {
  return listWithMore(asObjs(endpoints).flatMap((e) => (Array.isArray(e.addresses) ? e.addresses.map(asStr) : [])));
}

/** Everything but metadata, which is what an EndpointSlice's generation tracks. */
function withoutMeta(obj: KObject): Obj {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => k !== 'metadata' && k !== 'apiVersion' && k !== 'kind'));
}

export const endpointslices: ResourceDef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  listKind: 'EndpointSliceList',
  resource: 'endpointslices',
  singular: 'endpointslice',
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.discovery.v1.EndpointSlice',
  strategy: {
    default: defaultEndpointSlice,
    prepareForCreate(obj) {
      metaOf(obj).generation = 1;
    },
    prepareForUpdate(obj, old) {
      // Anything but metadata, or the labels, changing bumps the generation.
      const changed = !semanticEqual(withoutMeta(obj), withoutMeta(old)) || !semanticEqual(obj.metadata?.labels, old.metadata?.labels);
      const oldGen = old.metadata?.generation ?? 0;
      metaOf(obj).generation = changed ? oldGen + 1 : oldGen;
    },
    validate: (obj) => validateEndpointSlice(obj, SUPPORTED_ADDRESS_TYPES),
    validateUpdate(obj, old) {
      const errs = validateEndpointSlice(obj, [...SUPPORTED_ADDRESS_TYPES, ...DEPRECATED_ADDRESS_TYPES]);
      if (asStr(obj.addressType) !== asStr(old.addressType)) {
        errs.push(fieldInvalid(newPath('addressType'), asStr(obj.addressType), FIELD_IMMUTABLE_ERROR_MSG));
      }
      return errs;
    },
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  table: {
    columns: [
      nameColumn,
      column('AddressType', 'string', 'addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation. The following address types are currently supported: * IPv4: Represents an IPv4 Address. * IPv6: Represents an IPv6 Address. * FQDN: Represents a Fully Qualified Domain Name.'),
      column('Ports', 'string', 'ports specifies the list of network ports exposed by each endpoint in this slice. Each port must have a unique name. When ports is empty, it indicates that there are no defined ports. When a port is defined with a nil port value, it indicates "all ports". Each slice may include a maximum of 100 ports.'),
      column('Endpoints', 'string', 'endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints.'),
      ageColumn,
    ],
    row: (obj, nowMs) => [
      objectName(obj), asStr(obj.addressType), formatDiscoveryPorts(obj.ports), formatDiscoveryEndpoints(obj.endpoints), objectAge(obj, nowMs),
    ],
  },
  selectableFields: (obj) => objectMetaFields(obj, true),
};
