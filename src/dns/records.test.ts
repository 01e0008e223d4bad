import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EndpointSlice, Service } from '../client/objects.js';
import { canonicalIP } from './names.js';
import { ClusterRecords, clusterIPsOf, readyAddresses, sliceServiceKey, type ClusterState } from './records.js';

/** A ClusterState over plain arrays (the informer-backed one is exercised by the integration test). */
class StaticState implements ClusterState {
  synced = true;
  constructor(
    public services: Service[],
    public slices: EndpointSlice[],
    public namespaces = ['default', 'kube-system', 'other'],
  ) {}
  service(ns: string, name: string) {
    return this.services.find((s) => s.metadata?.namespace === ns && s.metadata?.name === name);
  }
  servicesByIP(ip: string) {
    return this.services.filter((s) => clusterIPsOf(s).includes(ip));
  }
  endpointSlices(ns: string, svc: string) {
    return this.slices.filter((s) => sliceServiceKey(s) === `${ns}/${svc}`);
  }
  endpointSlicesByIP(ip: string) {
    return this.slices.filter((s) => readyAddresses(s).some((a) => a.ip === canonicalIP(ip)));
  }
  namespaceExists(n: string) {
    return this.namespaces.includes(n);
  }
  hasSynced() {
    return this.synced;
  }
  serial() {
    return 1767225600;
  }
}

function newService(name: string, spec: Service['spec'], namespace = 'default'): Service {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec };
}

function newSlice(service: string, endpoints: { ip: string; hostname?: string; ready?: boolean }[], ports: EndpointSlice['ports'] = [{ name: 'http', port: 8080, protocol: 'TCP' }], namespace = 'default'): EndpointSlice {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${service}-abcde`, namespace, labels: { 'kubernetes.io/service-name': service } },
    addressType: endpoints[0]?.ip.includes(':') ? 'IPv6' : 'IPv4',
    endpoints: endpoints.map((e) => ({ addresses: [e.ip], ...(e.hostname ? { hostname: e.hostname } : {}), conditions: e.ready === undefined ? {} : { ready: e.ready } })),
    ports,
  };
}

function setup() {
  const state = new StaticState(
    [
      newService('web', { type: 'ClusterIP', clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }] }),
      newService('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }),
      newService('ext', { type: 'ExternalName', externalName: 'example.com' }),
      newService('alias', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }),
      newService('empty', { clusterIP: 'None' }),
      newService('kube-dns', { clusterIP: '10.96.0.10', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }, 'kube-system'),
    ],
    [
      newSlice('web', [{ ip: '10.244.0.10' }]),
      newSlice('db', [{ ip: '10.244.1.5', hostname: 'db-0' }, { ip: '10.244.1.6' }, { ip: '10.244.1.7', ready: false }], [{ name: 'pg', port: 5432, protocol: 'TCP' }]),
    ],
  );
  return { state, records: new ClusterRecords({ state, zone: 'cluster.local', localAddresses: () => ['192.0.2.1'] }) };
}

function data(answer: ReturnType<ClusterRecords['resolve']>) {
  return answer?.answers.map((a) => `${a.name} ${(a as { ttl?: number }).ttl} ${a.type} ${typeof (a as { data: unknown }).data === 'string' ? (a as { data: string }).data : JSON.stringify((a as { data: unknown }).data)}`);
}

test('records: a ClusterIP service answers A with its ClusterIP, TTL 5, authoritative, in the asker\'s case', () => {
  const { records } = setup();
  const r = records.resolve('Web.Default.svc.Cluster.Local', 'A')!;
  assert.equal(r.rcode, 'NOERROR');
  assert.equal(r.authoritative, true);
  assert.deepEqual(data(r), ['Web.Default.svc.Cluster.Local 5 A 10.96.0.20']);
});

test('records: NODATA carries the zone SOA (CoreDNS fields), NXDOMAIN too', () => {
  const { records } = setup();
  const nodata = records.resolve('web.default.svc.cluster.local', 'AAAA')!;
  assert.equal(nodata.rcode, 'NOERROR');
  assert.deepEqual(nodata.answers, []);
  assert.deepEqual(nodata.authorities, [
    { type: 'SOA', name: 'cluster.local', ttl: 5, class: 'IN', data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 1767225600, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 } },
  ]);
  for (const name of ['nope.default.svc.cluster.local', 'web.nowhere.svc.cluster.local', 'web.default.cluster.local', 'a.b.c.web.default.svc.cluster.local', 'x.web.default.svc.cluster.local']) {
    const nx = records.resolve(name, 'A')!;
    assert.equal(nx.rcode, 'NXDOMAIN', name);
    assert.equal(nx.authorities[0]?.type, 'SOA', name);
  }
  for (const name of ['default.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'default.pod.cluster.local']) {
    const r = records.resolve(name, 'A')!;
    assert.equal(r.rcode, 'NOERROR', name);
    assert.deepEqual(r.answers, [], name);
  }
  assert.equal(records.resolve('nowhere.svc.cluster.local', 'A')!.rcode, 'NXDOMAIN');
  assert.equal(records.resolve('web.default.svc.cluster.local', 'MX')!.rcode, 'NOERROR', 'other types of an existing name: NODATA');
  assert.equal(records.resolve('nope.default.svc.cluster.local', 'MX')!.rcode, 'NXDOMAIN');
});

test('records: before the caches sync, a name the zone lacks is SERVFAIL, not NXDOMAIN', () => {
  const { state, records } = setup();
  state.synced = false;
  assert.equal(records.resolve('nope.default.svc.cluster.local', 'A')!.rcode, 'SERVFAIL');
});

test('records: a headless service answers its ready endpoints (ready unset counts as ready)', () => {
  const { records } = setup();
  assert.deepEqual(data(records.resolve('db.default.svc.cluster.local', 'A')), ['db.default.svc.cluster.local 5 A 10.244.1.5', 'db.default.svc.cluster.local 5 A 10.244.1.6']);
  assert.equal(records.resolve('empty.default.svc.cluster.local', 'A')!.rcode, 'NXDOMAIN', 'a headless service without endpoints is NXDOMAIN, as CoreDNS');
});

test('records: endpoint names — hostname, else dashed IP; also for ClusterIP services', () => {
  const { records } = setup();
  assert.deepEqual(data(records.resolve('db-0.db.default.svc.cluster.local', 'A')), ['db-0.db.default.svc.cluster.local 5 A 10.244.1.5']);
  assert.deepEqual(data(records.resolve('10-244-1-6.db.default.svc.cluster.local', 'A')), ['10-244-1-6.db.default.svc.cluster.local 5 A 10.244.1.6']);
  assert.equal(records.resolve('10-244-1-5.db.default.svc.cluster.local', 'A')!.rcode, 'NXDOMAIN', 'an endpoint with a hostname is known by it only');
  assert.equal(records.resolve('10-244-1-7.db.default.svc.cluster.local', 'A')!.rcode, 'NXDOMAIN', 'not ready');
  assert.deepEqual(data(records.resolve('10-244-0-10.web.default.svc.cluster.local', 'A')), ['10-244-0-10.web.default.svc.cluster.local 5 A 10.244.0.10']);
});

test('records: ExternalName is a CNAME; an outside target is left to the server to chase, an inside one is followed', () => {
  const { records } = setup();
  const ext = records.resolve('ext.default.svc.cluster.local', 'A')!;
  assert.deepEqual(ext.answers, []);
  assert.deepEqual(ext.chase, { cname: { type: 'CNAME', name: 'ext.default.svc.cluster.local', ttl: 5, class: 'IN', data: 'example.com' }, name: 'example.com', type: 'A' });
  assert.deepEqual(data(records.resolve('ext.default.svc.cluster.local', 'CNAME')), ['ext.default.svc.cluster.local 5 CNAME example.com']);
  assert.deepEqual(data(records.resolve('alias.default.svc.cluster.local', 'A')), [
    'alias.default.svc.cluster.local 5 CNAME web.default.svc.cluster.local',
    'web.default.svc.cluster.local 5 A 10.96.0.20',
  ]);
});

test('records: SRV for a named port, for every port, and per endpoint of a headless service, with addresses in additional', () => {
  const { records } = setup();
  const one = records.resolve('_http._tcp.web.default.svc.cluster.local', 'SRV')!;
  assert.deepEqual(data(one), ['_http._tcp.web.default.svc.cluster.local 5 SRV {"priority":0,"weight":100,"port":80,"target":"web.default.svc.cluster.local"}']);
  assert.deepEqual(one.additionals, [{ type: 'A', name: 'web.default.svc.cluster.local', ttl: 5, class: 'IN', data: '10.96.0.20' }]);
  assert.deepEqual(data(records.resolve('web.default.svc.cluster.local', 'SRV')), [
    'web.default.svc.cluster.local 5 SRV {"priority":0,"weight":50,"port":80,"target":"web.default.svc.cluster.local"}',
    'web.default.svc.cluster.local 5 SRV {"priority":0,"weight":50,"port":9090,"target":"web.default.svc.cluster.local"}',
  ]);
  const headless = records.resolve('_pg._tcp.db.default.svc.cluster.local', 'SRV')!;
  assert.deepEqual(data(headless), [
    '_pg._tcp.db.default.svc.cluster.local 5 SRV {"priority":0,"weight":50,"port":5432,"target":"db-0.db.default.svc.cluster.local"}',
    '_pg._tcp.db.default.svc.cluster.local 5 SRV {"priority":0,"weight":50,"port":5432,"target":"10-244-1-6.db.default.svc.cluster.local"}',
  ]);
  assert.deepEqual(headless.additionals.map((a) => `${a.name} ${(a as { data: string }).data}`), ['db-0.db.default.svc.cluster.local 10.244.1.5', '10-244-1-6.db.default.svc.cluster.local 10.244.1.6']);
  assert.equal(records.resolve('_nope._tcp.web.default.svc.cluster.local', 'SRV')!.rcode, 'NXDOMAIN');
  assert.equal(records.resolve('_http._udp.web.default.svc.cluster.local', 'SRV')!.rcode, 'NXDOMAIN');
});

test('records: PTR for ClusterIPs and ready endpoint addresses; unknown addresses are not ours (forwarded)', () => {
  const { records } = setup();
  assert.deepEqual(data(records.resolve('20.0.96.10.in-addr.arpa', 'PTR')), ['20.0.96.10.in-addr.arpa 5 PTR web.default.svc.cluster.local']);
  assert.deepEqual(data(records.resolve('5.1.244.10.in-addr.arpa', 'PTR')), ['5.1.244.10.in-addr.arpa 5 PTR db-0.db.default.svc.cluster.local']);
  assert.deepEqual(data(records.resolve('6.1.244.10.in-addr.arpa', 'PTR')), ['6.1.244.10.in-addr.arpa 5 PTR 10-244-1-6.db.default.svc.cluster.local']);
  assert.equal(records.resolve('7.1.244.10.in-addr.arpa', 'PTR'), undefined, 'not ready');
  assert.equal(records.resolve('1.2.0.192.in-addr.arpa', 'PTR'), undefined);
  assert.equal(records.resolve('20.0.96.10.in-addr.arpa', 'A'), undefined);
});

test('records: pod names (pods insecure) in existing namespaces', () => {
  const { records } = setup();
  assert.deepEqual(data(records.resolve('10-244-3-4.default.pod.cluster.local', 'A')), ['10-244-3-4.default.pod.cluster.local 5 A 10.244.3.4']);
  assert.deepEqual(data(records.resolve('fd00--4.default.pod.cluster.local', 'AAAA')), ['fd00--4.default.pod.cluster.local 5 AAAA fd00::4']);
  assert.equal(records.resolve('10-244-3-4.nowhere.pod.cluster.local', 'A')!.rcode, 'NXDOMAIN');
  assert.equal(records.resolve('not-an-ip.default.pod.cluster.local', 'A')!.rcode, 'NXDOMAIN');
  assert.equal(records.resolve('10-244-3-4.default.pod.cluster.local', 'AAAA')!.rcode, 'NOERROR');
});

test('records: apex SOA and NS (the kube-dns service), dns-version TXT, AXFR refused, names outside the zone are not ours', () => {
  const { records, state } = setup();
  assert.equal(records.resolve('cluster.local', 'SOA')!.answers[0]?.type, 'SOA');
  const ns = records.resolve('cluster.local', 'NS')!;
  assert.deepEqual(data(ns), ['cluster.local 5 NS kube-dns.kube-system.svc.cluster.local']);
  assert.deepEqual(ns.additionals.map((a) => (a as { data: string }).data), ['10.96.0.10']);
  state.services = state.services.filter((s) => s.metadata?.name !== 'kube-dns');
  assert.deepEqual(data(records.resolve('cluster.local', 'NS')), ['cluster.local 5 NS ns.dns.cluster.local']);
  assert.deepEqual(data(records.resolve('ns.dns.cluster.local', 'A')), ['ns.dns.cluster.local 5 A 192.0.2.1']);
  assert.deepEqual(data(records.resolve('dns-version.cluster.local', 'TXT')), ['dns-version.cluster.local 5 TXT 1.1.0']);
  assert.equal(records.resolve('cluster.local', 'AXFR')!.rcode, 'REFUSED');
  assert.equal(records.resolve('example.com', 'A'), undefined);
});

test('records: a configurable zone', () => {
  const { state } = setup();
  const records = new ClusterRecords({ state, zone: 'Flotilla.Test.' });
  assert.deepEqual(data(records.resolve('web.default.svc.flotilla.test', 'A')), ['web.default.svc.flotilla.test 5 A 10.96.0.20']);
  assert.equal(records.resolve('web.default.svc.cluster.local', 'A'), undefined);
});
