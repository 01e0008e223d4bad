/**
 * kube-proxy's userspace mode against a real API server, without root: the same
 * behaviours as the iptables suite. The endpoints are pretend pod IPs (as on simulated
 * nodes) that the proxy maps onto HTTP servers on 127.0.0.1 (`resolveEndpoint`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KObject } from '../../src/apimachinery/meta.js';
import { Resources } from '../../src/client/interface.js';
import type { EndpointSlice, Service } from '../../src/client/objects.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { startProxy, type RunningProxy, type UserspaceProxier } from '../../src/proxy/index.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { spawnFlotilla } from '../util/flotilla.js';
import { eventually } from '../util/wait.js';

const PODS = [
  { name: 'pod-a', ip: '10.244.7.2' },
  { name: 'pod-b', ip: '10.244.7.3' },
  { name: 'pod-c', ip: '10.244.7.4' },
];

function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, agent: false, path: '/', timeout: 3000 }, (res) => {
      let d = '';
      res.on('data', (c) => (d += c));
      res.on('end', () => resolve(d));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

async function tally(host: string, port: number, n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const body = await get(host, port);
    counts[body] = (counts[body] ?? 0) + 1;
  }
  return counts;
}

/** A node port nobody listens on here (bounded tries). */
async function freeNodePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 30000 + Math.floor(Math.random() * 2768);
    const s = createServer();
    const ok = await new Promise<boolean>((r) => {
      s.once('error', () => r(false));
      s.listen(port, '127.0.0.1', () => r(true));
    });
    if (ok) {
      await new Promise<void>((r) => s.close(() => r()));
      return port;
    }
  }
  throw new Error('no free node port');
}

function slice(ready: Record<string, boolean> = {}): EndpointSlice & KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: PODS.map((p) => ({ addresses: [p.ip], conditions: { ready: ready[p.name] ?? true }, nodeName: 'node-1' })),
  };
}

for (const backend of backends) test(`kube-proxy userspace mode (${backend.name})`, { skip: backend.skip }, async (t) => {
  const closers: (() => Promise<void>)[] = [];
  const servers: Server[] = [];
  t.after(async () => {
    for (const c of closers.reverse()) await c();
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  });
  const api = await startBackendApiServer(t, backend);
  const realPort = new Map<string, number>();
  for (const p of PODS) {
    const s = createServer((_req, res) => res.end(p.name));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    servers.push(s);
    realPort.set(p.ip, (s.address() as AddressInfo).port);
  }

  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kube-proxy-test/v0.0.0');
  closers.push(() => client.close());
  const services = client.resource<Service & KObject>(Resources.services, 'default');
  const nodePort = await freeNodePort();
  await services.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP', nodePort }] },
  });
  const slices = client.resource<EndpointSlice & KObject>(Resources.endpointslices, 'default');
  await slices.create(slice());

  const proxy: RunningProxy = await startProxy({
    client,
    nodeName: 'node-1',
    mode: 'userspace',
    minSyncPeriodMs: 0,
    logger: silentLogger(),
    userspace: { listenAddress: '127.0.0.1', resolveEndpoint: (ep) => ({ host: '127.0.0.1', port: realPort.get(ep.ip) ?? 1 }) },
  });
  closers.push(() => proxy.stop());
  await proxy.synced;
  const us = proxy.backend as UserspaceProxier;
  const addr = us.addressOf('default/web:http')!;
  assert.ok(addr, 'the cluster IP forwarder listens');

  await t.test('the cluster address answers and 100 requests reach all three backends', async () => {
    assert.deepEqual(Object.keys(await tally(addr.host, addr.port, 100)).sort(), ['pod-a', 'pod-b', 'pod-c']);
  });

  await t.test('the NodePort answers on 127.0.0.1', async () => {
    assert.equal(Object.keys(await tally('127.0.0.1', nodePort, 30)).length, 3);
  });

  await t.test('an un-readied endpoint leaves the rotation', async () => {
    const cur = await slices.get('web-abc');
    await slices.update({ ...slice({ 'pod-c': false }), metadata: { ...slice().metadata, resourceVersion: cur.metadata!.resourceVersion } });
    await eventually('pod-c out of rotation', async () => (await tally(addr.host, addr.port, 30))['pod-c'] === undefined, 10_000);
    assert.deepEqual(Object.keys(await tally(addr.host, addr.port, 60)).sort(), ['pod-a', 'pod-b']);
  });

  await t.test('sessionAffinity ClientIP sticks to one backend', async () => {
    await services.patch('web', 'application/merge-patch+json', { spec: { sessionAffinity: 'ClientIP' } });
    await eventually('affinity', async () => Object.keys(await tally(addr.host, addr.port, 20)).length === 1, 10_000);
    assert.equal(Object.keys(await tally(addr.host, addr.port, 30)).length, 1);
  });

  await t.test('a service without endpoints refuses connections', async () => {
    await services.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'empty', namespace: 'default' }, spec: { ports: [{ port: 80, protocol: 'TCP' }] } });
    await eventually('the empty service forwarder', () => us.addressOf('default/empty') !== undefined, 10_000);
    const e = us.addressOf('default/empty')!;
    await assert.rejects(get(e.host, e.port));
  });

  await t.test('a deleted service stops listening', async () => {
    await services.delete('web');
    await eventually('the forwarders closed', () => us.addressOf('default/web:http') === undefined, 10_000);
    await assert.rejects(get('127.0.0.1', nodePort));
  });
});

test('flotilla proxy as its own process: healthz JSON, metrics, SIGTERM', async (t) => {
  const api = await startBackendApiServer(t, backends[0]!);
  const proc = spawnFlotilla([
    'proxy', '--kubeconfig', api.kubeconfigPath, '--proxy-mode', 'userspace', '--hostname-override', 'Node-1',
    '--healthz-bind-address', '127.0.0.1:0', '--metrics-bind-address', '127.0.0.1:0', '--iptables-min-sync-period', '0s',
  ]);
  t.after(() => proc.kill());
  let healthz = 0;
  let metrics = 0;
  await eventually('the proxy announcing its ports', () => {
    const m = /\/healthz on 127\.0\.0\.1:(\d+); \/metrics on 127\.0\.0\.1:(\d+)/.exec(proc.stdout());
    if (m) [healthz, metrics] = [Number(m[1]), Number(m[2])];
    return m !== null;
  }, 30_000);
  const fetchText = async (port: number, path: string) => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
  };
  await eventually('a first sync', async () => JSON.parse((await fetchText(healthz, '/healthz')).body).lastUpdated !== '0001-01-01 00:00:00 +0000 UTC', 30_000);
  const h = await fetchText(healthz, '/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.type, 'application/json');
  const body = JSON.parse(h.body) as Record<string, unknown>;
  assert.equal(body.nodeName, 'node-1');
  assert.match(String(body.currentTime), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/);
  const m = await fetchText(metrics, '/metrics');
  assert.match(m.body, /kubeproxy_sync_proxy_rules_duration_seconds_count [1-9]/);
  assert.match(m.body, /kubeproxy_sync_proxy_rules_last_timestamp_seconds /);
  await proc.kill('SIGTERM');
  assert.equal(await proc.exited, 0);
});
