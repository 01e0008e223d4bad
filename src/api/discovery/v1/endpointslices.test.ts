import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../../apimachinery/meta.js';
import { deepClone } from '../../../apimachinery/meta.js';
import { endpointslices } from './endpointslices.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function newEndpointSlice(mutate: (s: any) => void = () => {}): KObject {
  const s: any = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc12', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.244.0.5'], conditions: { ready: true } }],
    ports: [{ port: 80 }],
  };
  mutate(s);
  return s;
}

function create(obj: KObject): string[] {
  endpointslices.strategy.default!(obj);
  endpointslices.strategy.prepareForCreate!(obj);
  return endpointslices.strategy.validate(obj).map((e) => e.message);
}

test('discovery metadata', () => {
  assert.equal(endpointslices.group, 'discovery.k8s.io');
  assert.equal(endpointslices.shortNames, undefined);
  assert.equal(endpointslices.categories, undefined);
  assert.equal(endpointslices.namespaced, true);
});

test('defaults: ports get name "" and protocol TCP', () => {
  const s: any = newEndpointSlice((x) => { x.ports.push({ name: 'dns', port: 53, protocol: 'UDP' }); });
  endpointslices.strategy.default!(s);
  assert.deepEqual(s.ports, [{ name: '', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }]);
});

test('validation: upstream messages', () => {
  const cases: { name: string; mutate: (s: any) => void; errs: string[] }[] = [
    { name: 'valid', mutate: () => {}, errs: [] },
    { name: 'addressType missing', mutate: (s) => { delete s.addressType; }, errs: ['addressType: Required value'] },
    {
      name: 'addressType unsupported',
      mutate: (s) => { s.addressType = 'IP'; },
      errs: ['addressType: Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'],
    },
    {
      name: 'no addresses',
      mutate: (s) => { s.endpoints = [{ addresses: [] }]; },
      errs: ['endpoints[0].addresses: Required value: must contain at least 1 address'],
    },
    {
      name: 'bad and special IPs',
      mutate: (s) => { s.endpoints = [{ addresses: ['1.2.3', '127.0.0.1', '0.0.0.0', '169.254.1.1'] }]; },
      errs: [
        'endpoints[0].addresses[0]: Invalid value: "1.2.3": must be a valid IPv4 address',
        'endpoints[0].addresses[1]: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)',
        'endpoints[0].addresses[2]: Invalid value: "0.0.0.0": may not be unspecified (0.0.0.0)',
        'endpoints[0].addresses[3]: Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)',
      ],
    },
    {
      name: 'too many endpoints',
      mutate: (s) => { s.endpoints = Array.from({ length: 1001 }, () => ({ addresses: ['10.0.0.1'] })); },
      errs: ['endpoints: Too many: 1001: must have at most 1000 items'],
    },
    {
      name: 'duplicate port names and bad protocol',
      mutate: (s) => { s.ports = [{ name: 'http', port: 80 }, { name: 'http', port: 81, protocol: 'ICMP' }]; },
      errs: [
        'ports[1].name: Duplicate value: "http"',
        'ports[1].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
      ],
    },
    {
      name: 'FQDN with one label',
      mutate: (s) => { s.addressType = 'FQDN'; s.endpoints = [{ addresses: ['localhost'] }]; },
      errs: ['endpoints[0].addresses[0]: Invalid value: "localhost": should be a domain with at least two segments separated by dots'],
    },
  ];
  for (const tc of cases) assert.deepEqual(create(newEndpointSlice(tc.mutate)), tc.errs, tc.name);
});

test('update: addressType is immutable; generation tracks everything but metadata (and labels)', () => {
  const old = newEndpointSlice();
  create(old);
  assert.equal(old.metadata?.generation, 1);
  const cases: { name: string; mutate: (s: any) => void; generation: number; errs?: string[] }[] = [
    { name: 'annotations only', mutate: (s) => { s.metadata.annotations = { a: 'b' }; }, generation: 1 },
    { name: 'labels', mutate: (s) => { s.metadata.labels.x = 'y'; }, generation: 2 },
    { name: 'endpoints', mutate: (s) => { s.endpoints[0].conditions.ready = false; }, generation: 2 },
    {
      name: 'addressType', mutate: (s) => { s.addressType = 'IPv6'; s.endpoints = [{ addresses: ['2001:db8::1'] }]; }, generation: 2,
      errs: ['addressType: Invalid value: "IPv6": field is immutable'],
    },
  ];
  for (const tc of cases) {
    const obj = deepClone(old);
    tc.mutate(obj);
    endpointslices.strategy.default!(obj);
    endpointslices.strategy.prepareForUpdate!(obj, old);
    assert.equal(obj.metadata?.generation, tc.generation, tc.name);
    assert.deepEqual(endpointslices.strategy.validateUpdate(obj, old).map((e) => e.message), tc.errs ?? [], tc.name);
  }
});

test('table: NAME ADDRESSTYPE PORTS ENDPOINTS AGE', () => {
  assert.deepEqual(endpointslices.table.columns.map((c) => c.name), ['Name', 'AddressType', 'Ports', 'Endpoints', 'Age']);
  const s = newEndpointSlice((x) => {
    x.metadata.creationTimestamp = '2026-11-22T10:00:00Z';
    x.endpoints = [{ addresses: ['10.0.0.1', '10.0.0.2'] }, { addresses: ['10.0.0.3', '10.0.0.4', '10.0.0.5'] }];
    x.ports = [{ port: 80 }, { port: 443 }];
  });
  endpointslices.strategy.default!(s);
  assert.deepEqual(endpointslices.table.row(s, NOW), ['web-abc12', 'IPv4', '80,443', '10.0.0.1,10.0.0.2,10.0.0.3 + 2 more...', '120m']);
  const empty = newEndpointSlice((x) => { x.endpoints = []; x.ports = []; });
  assert.deepEqual(endpointslices.table.row(empty, NOW).slice(2, 4), ['<unset>', '<unset>']);
});
