/**
 * Cluster DNS against a real API server (both storage backends): Services, EndpointSlices
 * and Namespaces written through the API, the server on 127.0.0.1:0 asked with dns-packet
 * over UDP and TCP and with the real `busybox nslookup` (which takes SERVER:PORT), names
 * outside the zone forwarded to a fake upstream resolver on 127.0.0.1; then the kube-dns
 * Service, and `flotilla dns` as its own process.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { KObject } from '../../src/apimachinery/meta.js';
import { Resources } from '../../src/client/interface.js';
import type { EndpointSlice, Service } from '../../src/client/objects.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { ensureDNSService, startClusterDNS } from '../../src/dns/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { startFakeUpstream, tcpQuery, udpQuery } from '../util/dns.js';
import { spawnFlotilla } from '../util/flotilla.js';
import { freePort } from '../util/net.js';
import { eventually } from '../util/wait.js';

const BUSYBOX = '/bin/busybox';
const haveBusybox = existsSync(BUSYBOX);
const run = promisify(execFile);

/** `busybox nslookup [-type=T] name 127.0.0.1:port`: its output, and whether it exited 0. */
async function nslookup(port: number, name: string, type?: string): Promise<{ ok: boolean; out: string }> {
  const args = ['nslookup', ...(type ? [`-type=${type}`] : []), name, `127.0.0.1:${port}`];
  try {
    const r = await run(BUSYBOX, args, { timeout: 20_000 });
    return { ok: true, out: r.stdout };
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    return { ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

const values = (r: { answers?: unknown[] }) => (r.answers ?? []).map((a) => {
  const d = (a as { data: unknown }).data;
  return `${(a as { type: string }).type} ${typeof d === 'string' ? d : JSON.stringify(d)}`;
});

for (const backend of backends) test(`cluster DNS from a real API server: services, headless endpoints, SRV, PTR, ExternalName, forwarding, busybox nslookup (${backend.name})`, { skip: backend.skip }, async (t) => {
  let closeClient: () => Promise<void> = async () => {};
  let stopDNS: () => Promise<void> = async () => {};
  t.after(async () => {
    await stopDNS();
    await closeClient();
  });
  const api = await startBackendApiServer(t, backend);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'dns-test/v0.0.0');
  closeClient = () => client.close();

  const upstream = await startFakeUpstream({
    'www.example.org A': [{ type: 'A', name: 'www.example.org', ttl: 300, class: 'IN', data: '192.0.2.80' }],
    'example.net A': [{ type: 'A', name: 'example.net', ttl: 300, class: 'IN', data: '198.51.100.7' }],
  });
  t.after(() => upstream.close());
  const registry = new Registry();
  const dns = await startClusterDNS({ client, address: '127.0.0.1', port: 0, clusterDomain: 'cluster.local', upstream: [`127.0.0.1:${upstream.port}`], logger: silentLogger(), registry, clock: realClock });
  stopDNS = () => dns.stop();
  assert.ok(dns.ready(), 'caches synced before startClusterDNS resolved');

  for (const manifest of [
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'metrics', port: 9090 }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'ext', namespace: 'default' }, spec: { type: 'ExternalName', externalName: 'www.example.org' } },
  ]) await api.ok(['create', '-f', '-'], { input: JSON.stringify(manifest) });
  const slice: EndpointSlice & KObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'db-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } },
    addressType: 'IPv4',
    endpoints: [
      { addresses: ['10.244.1.5'], hostname: 'db-0', conditions: { ready: true } },
      { addresses: ['10.244.1.6'], conditions: { ready: true } },
      { addresses: ['10.244.1.7'], hostname: 'db-2', conditions: { ready: false } },
    ],
    ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }],
  };
  await client.resource<EndpointSlice & KObject>(Resources.endpointslices, 'default').create(slice);
  const web = await client.resource<Service & KObject>(Resources.services, 'default').get('web');
  const clusterIP = web.spec!.clusterIP!;
  assert.match(clusterIP, /^10\.\d+\.\d+\.\d+$/);

  await eventually('web and the db endpoints in DNS', async () =>
    (await udpQuery(dns.port, 'web.default.svc.cluster.local', 'A')).rcode === 'NOERROR' &&
    (await udpQuery(dns.port, 'db.default.svc.cluster.local', 'A')).answers?.length === 2);

  // A ClusterIP service, over UDP and TCP; NODATA for AAAA; NXDOMAIN for names the zone lacks.
  for (const q of [udpQuery, tcpQuery]) {
    const r = await q(dns.port, 'web.default.svc.cluster.local', 'A');
    assert.deepEqual(values(r), [`A ${clusterIP}`]);
    assert.equal((r.answers![0] as { ttl?: number }).ttl, 5);
    assert.equal(r.flag_aa, true);
  }
  const aaaa = await udpQuery(dns.port, 'web.default.svc.cluster.local', 'AAAA');
  assert.equal(aaaa.rcode, 'NOERROR');
  assert.deepEqual(aaaa.answers, []);
  assert.equal(aaaa.authorities?.[0]?.type, 'SOA');
  const nx = await tcpQuery(dns.port, 'nope.default.svc.cluster.local', 'A');
  assert.equal(nx.rcode, 'NXDOMAIN');
  assert.equal(nx.authorities?.[0]?.name, 'cluster.local');
  assert.equal((await udpQuery(dns.port, 'web.nowhere.svc.cluster.local', 'A')).rcode, 'NXDOMAIN');
  assert.equal((await udpQuery(dns.port, 'default.svc.cluster.local', 'A')).rcode, 'NOERROR', 'an existing namespace is NODATA');

  // SRV for named ports.
  assert.deepEqual(values(await udpQuery(dns.port, '_http._tcp.web.default.svc.cluster.local', 'SRV')), ['SRV {"priority":0,"weight":100,"port":80,"target":"web.default.svc.cluster.local"}']);
  const pg = await tcpQuery(dns.port, '_pg._tcp.db.default.svc.cluster.local', 'SRV');
  assert.deepEqual(values(pg).sort(), [
    'SRV {"priority":0,"weight":50,"port":5432,"target":"10-244-1-6.db.default.svc.cluster.local"}',
    'SRV {"priority":0,"weight":50,"port":5432,"target":"db-0.db.default.svc.cluster.local"}',
  ]);
  assert.deepEqual(pg.additionals?.map((a) => `${a.name} ${(a as { data: string }).data}`).sort(), ['10-244-1-6.db.default.svc.cluster.local 10.244.1.6', 'db-0.db.default.svc.cluster.local 10.244.1.5']);

  // Headless: the ready endpoints, each by hostname or dashed address.
  assert.deepEqual(values(await udpQuery(dns.port, 'db.default.svc.cluster.local', 'A')).sort(), ['A 10.244.1.5', 'A 10.244.1.6']);
  assert.deepEqual(values(await udpQuery(dns.port, 'db-0.db.default.svc.cluster.local', 'A')), ['A 10.244.1.5']);
  assert.deepEqual(values(await udpQuery(dns.port, '10-244-1-6.db.default.svc.cluster.local', 'A')), ['A 10.244.1.6']);
  assert.equal((await udpQuery(dns.port, 'db-2.db.default.svc.cluster.local', 'A')).rcode, 'NXDOMAIN', 'not ready');

  // PTR, pods, ExternalName (CNAME + the target's address from upstream), forwarding.
  assert.deepEqual(values(await udpQuery(dns.port, clusterIP.split('.').reverse().join('.') + '.in-addr.arpa', 'PTR')), ['PTR web.default.svc.cluster.local']);
  assert.deepEqual(values(await udpQuery(dns.port, '5.1.244.10.in-addr.arpa', 'PTR')), ['PTR db-0.db.default.svc.cluster.local']);
  assert.deepEqual(values(await udpQuery(dns.port, '10-244-7-9.default.pod.cluster.local', 'A')), ['A 10.244.7.9']);
  assert.deepEqual(values(await udpQuery(dns.port, 'ext.default.svc.cluster.local', 'A')), ['CNAME www.example.org', 'A 192.0.2.80']);
  assert.deepEqual(values(await udpQuery(dns.port, 'example.net', 'A')), ['A 198.51.100.7']);
  assert.deepEqual(values(await tcpQuery(dns.port, 'example.net', 'A')), ['A 198.51.100.7']);
  assert.equal((await udpQuery(dns.port, 'missing.example.net', 'A')).rcode, 'NXDOMAIN');
  assert.ok(upstream.asked.includes('udp example.net A'), upstream.asked.join(', '));
  assert.ok(!upstream.asked.some((q) => q.includes('cluster.local')), 'the cluster zone is never forwarded');

  // The real busybox resolver.
  if (haveBusybox) {
    const a = await nslookup(dns.port, 'web.default.svc.cluster.local');
    assert.ok(a.ok, a.out);
    assert.match(a.out, new RegExp(`Address: ${clusterIP.replaceAll('.', '\\.')}`));
    const headless = await nslookup(dns.port, 'db.default.svc.cluster.local');
    assert.match(headless.out, /Address: 10\.244\.1\.5/);
    assert.match(headless.out, /Address: 10\.244\.1\.6/);
    const srv = await nslookup(dns.port, '_pg._tcp.db.default.svc.cluster.local', 'srv');
    assert.match(srv.out, /service = 0 50 5432 db-0\.db\.default\.svc\.cluster\.local/);
    const ptr = await nslookup(dns.port, '5.1.244.10.in-addr.arpa', 'ptr');
    assert.match(ptr.out, /name = db-0\.db\.default\.svc\.cluster\.local/);
    const ext = await nslookup(dns.port, 'ext.default.svc.cluster.local');
    assert.match(ext.out, /canonical name = www\.example\.org/);
    assert.match(ext.out, /Address: 192\.0\.2\.80/);
    const missing = await nslookup(dns.port, 'nope.default.svc.cluster.local');
    assert.match(missing.out, /NXDOMAIN/);
  } else t.diagnostic(`${BUSYBOX} missing: busybox nslookup checks skipped`);

  // Changes follow the watch: a deleted service goes, a deleted endpoint goes.
  await api.ok(['delete', 'service', 'web']);
  await eventually('web gone from DNS', async () => (await udpQuery(dns.port, 'web.default.svc.cluster.local', 'A')).rcode === 'NXDOMAIN');
  const s = await client.resource<EndpointSlice & KObject>(Resources.endpointslices, 'default').get('db-1');
  s.endpoints = s.endpoints!.filter((e) => e.hostname !== 'db-0');
  await client.resource<EndpointSlice & KObject>(Resources.endpointslices, 'default').update(s);
  await eventually('db-0 gone from DNS', async () => (await udpQuery(dns.port, 'db-0.db.default.svc.cluster.local', 'A')).rcode === 'NXDOMAIN');
  assert.deepEqual(values(await udpQuery(dns.port, 'db.default.svc.cluster.local', 'A')), ['A 10.244.1.6']);

  // The kube-dns Service, pointing at a node address (the API refuses loopback endpoints);
  // a second call updates it in place. The apex NS names it.
  await api.ok(['create', 'namespace', 'kube-system']).catch(() => '');
  await ensureDNSService(client, { endpointIP: '192.0.2.53', port: dns.port });
  await ensureDNSService(client, { endpointIP: '192.0.2.54', port: dns.port, metricsPort: 19153 });
  const svc = JSON.parse(await api.ok(['get', 'service', 'kube-dns', '-n', 'kube-system', '-o', 'json'])) as Service;
  assert.equal(svc.spec?.clusterIP, '10.96.0.10');
  assert.deepEqual(svc.metadata?.labels, { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' });
  assert.equal(svc.spec?.selector, undefined);
  assert.deepEqual(svc.spec?.ports?.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 53/UDP', 'dns-tcp 53/TCP', 'metrics 9153/TCP']);
  const kubeSlice = await client.resource<EndpointSlice & KObject>(Resources.endpointslices, 'kube-system').get('kube-dns');
  assert.deepEqual(kubeSlice.endpoints?.map((e) => e.addresses), [['192.0.2.54']]);
  assert.deepEqual(kubeSlice.ports?.map((p) => `${p.name} ${p.port}/${p.protocol}`), [`dns ${dns.port}/UDP`, `dns-tcp ${dns.port}/TCP`, 'metrics 19153/TCP']);
  const eps = JSON.parse(await api.ok(['get', 'endpoints', 'kube-dns', '-n', 'kube-system', '-o', 'json'])) as { subsets: { addresses: { ip: string }[] }[] };
  assert.equal(eps.subsets[0]?.addresses[0]?.ip, '192.0.2.54');
  await eventually('kube-dns in DNS', async () => values(await udpQuery(dns.port, 'kube-dns.kube-system.svc.cluster.local', 'A'))[0] === 'A 10.96.0.10');
  assert.deepEqual(values(await udpQuery(dns.port, 'cluster.local', 'NS')), ['NS kube-dns.kube-system.svc.cluster.local']);
  assert.deepEqual(values(await udpQuery(dns.port, '10.0.96.10.in-addr.arpa', 'PTR')), ['PTR kube-dns.kube-system.svc.cluster.local']);

  assert.match(await registry.metrics(), /coredns_dns_requests_total\{[^}]*proto="tcp"[^}]*\} [1-9]/);
});

test('flotilla dns: kubeconfig, --listen, --upstream none, /health /ready /metrics, --ensure-service, exits 0 on SIGTERM', async (t) => {
  const api = await startBackendApiServer(t, backends[0]!);
  await api.ok(['create', 'namespace', 'kube-system']).catch(() => '');
  await api.ok(['create', 'service', 'clusterip', 'shop', '--tcp=80:8080']);
  const [health, ready, metrics] = [await freePort(), await freePort(), await freePort()];
  const p = spawnFlotilla([
    'dns', '--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--upstream', 'none', '--bind-address', '127.0.0.1',
    '--health-port', String(health), '--ready-port', String(ready), '--metrics-port', String(metrics),
    '--ensure-service', '--advertise-address', '192.0.2.53',
  ], { FLOTILLA_LOG_LEVEL: 'warn' });
  t.after(() => p.kill());
  let port = 0;
  await eventually('the serving line', () => {
    const m = /on 127\.0\.0\.1:(\d+) \(udp, tcp\)/.exec(p.stdout());
    if (m) port = Number(m[1]);
    if (p.proc.exitCode !== null) assert.fail(`flotilla dns exited ${p.proc.exitCode}: ${p.stderr()}`);
    return port !== 0;
  });
  assert.match(p.stdout(), /upstream none/);
  const shop = JSON.parse(await api.ok(['get', 'service', 'shop', '-o', 'json'])) as Service;
  await eventually('shop in DNS', async () => {
    if (p.proc.exitCode !== null) assert.fail(`flotilla dns exited ${p.proc.exitCode}: ${p.stderr()}`);
    return values(await udpQuery(port, 'shop.default.svc.cluster.local', 'A'))[0] === `A ${shop.spec?.clusterIP}`;
  });
  assert.equal((await udpQuery(port, 'www.example.org', 'A')).rcode, 'SERVFAIL');
  assert.equal(await (await fetch(`http://127.0.0.1:${health}/health`)).text(), 'OK');
  assert.equal((await fetch(`http://127.0.0.1:${ready}/ready`)).status, 200);
  assert.match(await (await fetch(`http://127.0.0.1:${metrics}/metrics`)).text(), /coredns_dns_requests_total/);
  await eventually('the kube-dns endpoints', async () => JSON.parse(await api.ok(['get', 'endpointslice', 'kube-dns', '-n', 'kube-system', '-o', 'json'])).ports?.[0]?.port === port);
  p.proc.kill('SIGTERM');
  assert.equal(await p.exited, 0, p.stderr());
});
