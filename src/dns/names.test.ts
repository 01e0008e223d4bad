import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressFromReverse, canonicalIP, endpointLabel, inZone, normalizeName, parseRequest, podLabelToIP, reverseName } from './names.js';

const zone = 'cluster.local';

const parseCases: { name: string; qname: string; want: ReturnType<typeof parseRequest> }[] = [
  { name: 'service', qname: 'web.default.svc.cluster.local', want: { port: '', protocol: '', endpoint: '', service: 'web', namespace: 'default', podOrSvc: 'svc' } },
  { name: 'endpoint', qname: 'web-0.web.default.svc.cluster.local', want: { port: '', protocol: '', endpoint: 'web-0', service: 'web', namespace: 'default', podOrSvc: 'svc' } },
  { name: 'srv port and protocol', qname: '_http._tcp.web.default.svc.cluster.local', want: { port: 'http', protocol: 'tcp', endpoint: '', service: 'web', namespace: 'default', podOrSvc: 'svc' } },
  { name: 'pod', qname: '10-244-0-5.default.pod.cluster.local', want: { port: '', protocol: '', endpoint: '', service: '10-244-0-5', namespace: 'default', podOrSvc: 'pod' } },
  { name: 'namespace only', qname: 'default.svc.cluster.local', want: { port: '', protocol: '', endpoint: '', service: '', namespace: 'default', podOrSvc: 'svc' } },
  { name: 'apex', qname: 'cluster.local', want: { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' } },
  { name: 'svc apex is NODATA', qname: 'svc.cluster.local', want: { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' } },
  { name: 'pod apex is NODATA', qname: 'pod.cluster.local', want: { port: '', protocol: '', endpoint: '', service: '', namespace: '', podOrSvc: '' } },
  { name: 'neither svc nor pod', qname: 'web.default.cluster.local', want: undefined },
  { name: 'too many labels', qname: 'a.b.c.web.default.svc.cluster.local', want: undefined },
];
for (const tc of parseCases) test(`parseRequest: ${tc.name}`, () => assert.deepEqual(parseRequest(tc.qname, zone), tc.want));

test('normalizeName and inZone: case-insensitive, trailing dot optional, label boundaries respected', () => {
  assert.equal(normalizeName('Web.Default.SVC.Cluster.Local.'), 'web.default.svc.cluster.local');
  assert.ok(inZone('web.default.svc.cluster.local', zone));
  assert.ok(inZone('cluster.local', zone));
  assert.ok(!inZone('notcluster.local', zone));
  assert.ok(!inZone('example.com', zone));
});

test('endpointLabel: hostname first, else the dashed address', () => {
  assert.equal(endpointLabel('10.244.0.5', 'web-0'), 'web-0');
  assert.equal(endpointLabel('10.244.0.5'), '10-244-0-5');
  assert.equal(endpointLabel('fd00::5'), 'fd00--5');
});

test('podLabelToIP: IPv4 and IPv6 dashed forms; anything else is no address', () => {
  assert.equal(podLabelToIP('10-244-0-5'), '10.244.0.5');
  assert.equal(podLabelToIP('fd00--5'), 'fd00::5');
  assert.equal(podLabelToIP('web'), undefined);
  assert.equal(podLabelToIP('10-244-0-300'), undefined);
});

test('reverse names: both directions, IPv4 and IPv6; partial names are no address', () => {
  assert.equal(reverseName('10.96.0.10'), '10.0.96.10.in-addr.arpa');
  assert.equal(addressFromReverse('10.0.96.10.in-addr.arpa'), '10.96.0.10');
  assert.equal(addressFromReverse('0.96.10.in-addr.arpa'), undefined);
  assert.equal(addressFromReverse('x.0.96.10.in-addr.arpa'), undefined);
  const r6 = reverseName('fd00::5');
  assert.equal(r6, '5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa');
  assert.equal(addressFromReverse(r6), 'fd00::5');
});

test('canonicalIP: one spelling per IPv6 address (RFC 5952), IPv4 unchanged', () => {
  assert.equal(canonicalIP('FD00:0:0:0:0:0:0:5'), 'fd00::5');
  assert.equal(canonicalIP('2001:db8:0:0:1:0:0:1'), '2001:db8::1:0:0:1');
  assert.equal(canonicalIP('::1'), '::1');
  assert.equal(canonicalIP('10.0.0.1'), '10.0.0.1');
});
