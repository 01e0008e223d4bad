/**
 * The whole DNS server in-process (startClusterDNS over the fake client) on 127.0.0.1:0:
 * wire behaviour over UDP and TCP, forwarding to a fake upstream, health/ready/metrics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';
import { Registry } from 'prom-client';
import type { KObject } from '../apimachinery/meta.js';
import { FakeClient } from '../client/fake.js';
import { Resources } from '../client/interface.js';
import { realClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import { startFakeUpstream, tcpQuery, udpExchange, udpQuery, type FakeUpstream } from '../../test/util/dns.js';
import { Forwarder } from './forward.js';
import { startClusterDNS } from './index.js';

function seeded(): FakeClient {
  const client = new FakeClient({ clock: realClock });
  client.seed(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  client.seed(Resources.services,
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'www.example.org' } },
    // 40 endpoints: the A answer (~650 bytes) is larger than a plain 512-byte UDP answer may be.
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'many', namespace: 'default' }, spec: { clusterIP: 'None' } },
  );
  client.seed(Resources.endpointslices, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'many-x', namespace: 'default', labels: { 'kubernetes.io/service-name': 'many' } },
    addressType: 'IPv4',
    endpoints: Array.from({ length: 40 }, (_, i) => ({ addresses: [`10.244.2.${i + 1}`], conditions: { ready: true } })),
    ports: [],
  } as KObject);
  return client;
}

async function start(t: { after(fn: () => unknown): void }, upstream: string[] | undefined, extra: Partial<Parameters<typeof startClusterDNS>[0]> = {}) {
  const client = seeded();
  const registry = new Registry();
  const dns = await startClusterDNS({ client, address: '127.0.0.1', port: 0, clusterDomain: 'cluster.local', upstream, logger: silentLogger(), registry, clock: realClock, ...extra });
  t.after(() => dns.stop());
  return { dns, client, registry };
}

async function fakeUpstream(t: { after(fn: () => unknown): void }): Promise<FakeUpstream> {
  const many = Array.from({ length: 60 }, (_, i) => ({ type: 'A' as const, name: 'big.example.org', ttl: 300, class: 'IN' as const, data: `192.0.2.${i + 1}` }));
  const up = await startFakeUpstream(
    {
      'www.example.org A': [{ type: 'A', name: 'www.example.org', ttl: 300, class: 'IN', data: '192.0.2.80' }],
      'big.example.org A': many,
    },
    ['big.example.org'],
  );
  t.after(() => up.close());
  return up;
}

test('dns server: in-zone answers over UDP and TCP on one port, EDNS echoed, RD kept, not RA', async (t) => {
  const { dns } = await start(t, []);
  assert.ok(dns.ready());
  for (const q of [udpQuery, tcpQuery]) {
    const r = await q(dns.port, 'web.default.svc.cluster.local', 'A', { edns: 1232 });
    assert.equal(r.rcode, 'NOERROR');
    assert.equal(r.flag_aa, true);
    assert.equal(r.flag_rd, true);
    assert.equal(r.flag_ra, false);
    assert.deepEqual(r.answers?.map((a) => [a.name, (a as { ttl?: number }).ttl, a.type, (a as { data: string }).data]), [['web.default.svc.cluster.local', 5, 'A', '10.96.0.20']]);
    assert.equal(r.additionals?.[0]?.type, 'OPT');
  }
  const nx = await udpQuery(dns.port, 'nope.default.svc.cluster.local', 'A');
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities?.[0]?.type, 'SOA');
});

test('dns server: a UDP answer too big for the asker is truncated (TC), whole over TCP and with a big enough EDNS buffer', async (t) => {
  const { dns } = await start(t, []);
  const small = await udpQuery(dns.port, 'many.default.svc.cluster.local', 'A');
  assert.equal(small.flag_tc, true);
  assert.deepEqual(small.answers, []);
  assert.equal((await tcpQuery(dns.port, 'many.default.svc.cluster.local', 'A')).answers?.length, 40);
  const edns = await udpQuery(dns.port, 'many.default.svc.cluster.local', 'A', { edns: 1232 });
  assert.equal(edns.flag_tc, false);
  assert.equal(edns.answers?.length, 40);
});

test('dns server: garbage gets FORMERR, other opcodes NOTIMP, responses are ignored', async (t) => {
  const { dns } = await start(t, []);
  const garbage = Buffer.concat([Buffer.from([0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0, 0, 0, 0, 0, 0]), Buffer.from([0x3f, 0x61])]);
  const formerr = dnsPacket.decode(await udpExchange(dns.port, garbage)) as { id?: number; rcode?: string };
  assert.equal(formerr.id, 0x1234);
  assert.equal(formerr.rcode, 'FORMERR');
  const notify = dnsPacket.encode({ type: 'query', id: 7, flags: 4 << 11, questions: [{ type: 'SOA', name: 'cluster.local' }] });
  assert.equal((dnsPacket.decode(await udpExchange(dns.port, notify)) as { rcode?: string }).rcode, 'NOTIMP');
  // A type dns-packet has no name for (65, HTTPS, as modern stub resolvers ask): NODATA, question echoed.
  const https = dnsPacket.encode({ type: 'query', id: 9, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'UNKNOWN_65' as 'A', name: 'web.default.svc.cluster.local' }] });
  const httpsAnswer = dnsPacket.decode(await udpExchange(dns.port, https)) as { rcode?: string; questions?: { type: string }[]; answers?: unknown[]; authorities?: { type: string }[] };
  assert.equal(httpsAnswer.rcode, 'NOERROR');
  assert.equal(httpsAnswer.questions?.[0]?.type, 'UNKNOWN_65');
  assert.deepEqual(httpsAnswer.answers, []);
  assert.equal(httpsAnswer.authorities?.[0]?.type, 'SOA');
  const response = dnsPacket.encode({ type: 'response', id: 8, questions: [{ type: 'A', name: 'web.default.svc.cluster.local' }] });
  await assert.rejects(udpExchange(dns.port, response, 300), /no UDP answer/);
});

test('dns server: names outside the zone go upstream (UDP, TCP after truncation), are cached, ExternalName is chased', async (t) => {
  const up = await fakeUpstream(t);
  const { dns, registry } = await start(t, [`127.0.0.1:${up.port}`]);
  assert.deepEqual(dns.upstreams, [`127.0.0.1:${up.port}`]);
  const www = await udpQuery(dns.port, 'www.example.org', 'A');
  assert.deepEqual(www.answers?.map((a) => (a as { data: string }).data), ['192.0.2.80']);
  assert.equal((await udpQuery(dns.port, 'WWW.example.org', 'A')).answers?.length, 1);
  assert.deepEqual(up.asked, ['udp www.example.org A'], 'the second answer came from the cache');

  const nx = await udpQuery(dns.port, 'nothing.example.org', 'A');
  assert.equal(nx.rcode, 'NXDOMAIN');

  // The upstream truncates over UDP: we retry over TCP, then hand the asker (512-byte UDP) a TC answer.
  const big = await udpQuery(dns.port, 'big.example.org', 'A');
  assert.equal(big.flag_tc, true);
  assert.ok(up.asked.includes('udp big.example.org A') && up.asked.includes('tcp big.example.org A'), up.asked.join(', '));
  assert.equal((await tcpQuery(dns.port, 'big.example.org', 'A')).answers?.length, 60);

  const ext = await udpQuery(dns.port, 'ext.default.svc.cluster.local', 'A');
  assert.deepEqual(ext.answers?.map((a) => `${a.type} ${(a as { data: string }).data}`), ['CNAME www.example.org', 'A 192.0.2.80']);

  const metrics = await registry.metrics();
  assert.match(metrics, /coredns_dns_requests_total\{server="dns:\/\/127\.0\.0\.1:0",zone="cluster\.local\.",view="",proto="udp",family="1",type="A"\} 1/);
  assert.match(metrics, /coredns_dns_responses_total\{[^}]*rcode="NXDOMAIN",plugin="forward"\} 1/);
  assert.match(metrics, /coredns_forward_requests_total\{to="127\.0\.0\.1:\d+"\} \d/);
  assert.match(metrics, /coredns_cache_hits_total\{[^}]*\} [1-9]/);
});

test('dns server: without upstream resolvers names outside the zone get SERVFAIL; the zone still answers', async (t) => {
  const { dns } = await start(t, undefined, { resolvConf: '/nonexistent/resolv.conf' });
  assert.deepEqual(dns.upstreams, []);
  assert.equal((await udpQuery(dns.port, 'www.example.org', 'A')).rcode, 'SERVFAIL');
  assert.equal((await udpQuery(dns.port, 'web.default.svc.cluster.local', 'A')).rcode, 'NOERROR');
  const ext = await udpQuery(dns.port, 'ext.default.svc.cluster.local', 'A');
  assert.equal(ext.rcode, 'NOERROR', 'an ExternalName whose target cannot be resolved is NODATA, the CNAME dropped (CoreDNS)');
  assert.deepEqual(ext.answers, []);
});

test('forwarder: a resolver that never answers is skipped for the next one', async (t) => {
  const silent = createSocket('udp4');
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  t.after(() => silent.close());
  const up = await fakeUpstream(t);
  const f = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: (silent.address() as AddressInfo).port }, { host: '127.0.0.1', port: up.port }], clock: realClock, timeoutMs: 200 });
  const q = dnsPacket.encode({ type: 'query', id: 99, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name: 'www.example.org' }] });
  const answer = await f.forward(q, 'udp', undefined);
  assert.ok(answer);
  const decoded = dnsPacket.decode(answer);
  assert.equal(decoded.id, 99);
  assert.equal(decoded.answers?.length, 1);
  const none = new Forwarder({ upstreams: [{ host: '127.0.0.1', port: (silent.address() as AddressInfo).port }], clock: realClock, timeoutMs: 100 });
  assert.equal(await none.forward(q, 'udp', undefined), undefined);
});

test('dns server: /health, /ready and /metrics on their own ports, CoreDNS style', async (t) => {
  const { dns } = await start(t, [], { health: { host: '127.0.0.1', port: 0 }, ready: { host: '127.0.0.1', port: 0 }, metrics: { host: '127.0.0.1', port: 0 } });
  const health = await fetch(`http://127.0.0.1:${dns.healthPort}/health`);
  assert.equal(health.status, 200);
  assert.equal(await health.text(), 'OK');
  const ready = await fetch(`http://127.0.0.1:${dns.readyPort}/ready`);
  assert.equal(ready.status, 200);
  assert.equal(await ready.text(), 'OK');
  assert.equal((await fetch(`http://127.0.0.1:${dns.readyPort}/health`)).status, 404);
  await udpQuery(dns.port, 'web.default.svc.cluster.local', 'A');
  const metrics = await (await fetch(`http://127.0.0.1:${dns.metricsPort}/metrics`)).text();
  assert.match(metrics, /coredns_dns_request_duration_seconds_bucket/);
});

test('dns server: two servers may share one metrics registry (a restart in one process)', async (t) => {
  const { registry } = await start(t, []);
  const client = seeded();
  const second = await startClusterDNS({ client, address: '127.0.0.1', port: 0, upstream: [], logger: silentLogger(), registry, clock: realClock });
  t.after(() => second.stop());
  assert.equal((await udpQuery(second.port, 'web.default.svc.cluster.local', 'A')).rcode, 'NOERROR');
  assert.match(await registry.metrics(), /coredns_dns_requests_total\{server="dns:\/\/127\.0\.0\.1:0"/);
});
