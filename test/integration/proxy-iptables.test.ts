/**
 * kube-proxy's iptables mode against a real API server, on real iptables (nft) inside a
 * network namespace the test makes (test/util/netns.ts): a node namespace with a bridge
 * and three "pods" (namespaces on veths) running busybox httpd. The proxy programs the
 * node namespace through `ip netns exec`, so the host's rules are never touched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/apimachinery/meta.js';
import { Resources, type Client } from '../../src/client/interface.js';
import type { EndpointSlice, Service } from '../../src/client/objects.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { startProxy, type RunningProxy } from '../../src/proxy/index.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { runFlotilla } from '../util/flotilla.js';
import { NetnsLab, netnsSkip } from '../util/netns.js';
import { eventually } from '../util/wait.js';

const PODS = [
  { name: 'pod-a', host: 2 },
  { name: 'pod-b', host: 3 },
  { name: 'pod-c', host: 4 },
];

function slice(lab: NetnsLab, ready: Record<string, boolean> = {}): EndpointSlice & KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'web-abc', namespace: 'default', labels: { 'kubernetes.io/service-name': 'web' } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: PODS.map((p) => ({
      addresses: [lab.pods.get(p.name)!.ip],
      conditions: { ready: ready[p.name] ?? true },
      nodeName: 'node-1',
      targetRef: { kind: 'Pod', namespace: 'default', name: p.name },
    })),
  };
}

async function setSlice(client: Client, s: EndpointSlice & KObject): Promise<void> {
  const rc = client.resource<EndpointSlice & KObject>(Resources.endpointslices, 'default');
  const cur = await rc.get('web-abc').catch(() => undefined);
  if (cur) await rc.update({ ...s, metadata: { ...s.metadata, resourceVersion: cur.metadata!.resourceVersion } });
  else await rc.create(s);
}

for (const backend of backends) test(`kube-proxy iptables mode in a network namespace (${backend.name})`, { skip: netnsSkip || backend.skip }, async (t) => {
  const id = `${process.pid.toString(36)}${backend.name[0]}`;
  const lab = await NetnsLab.create(id, 1);
  let proxy: RunningProxy | undefined;
  const closers: (() => Promise<void>)[] = [];
  t.after(async () => {
    await proxy?.stop();
    for (const c of closers) await c();
    await lab.destroy();
  });
  const api = await startBackendApiServer(t, backend);
  for (const p of PODS) {
    const { ns } = await lab.addPod(p.name, p.host);
    lab.serveHTTP(ns, 8080, p.name);
  }
  for (const p of PODS) {
    await eventually(`${p.name} serving`, async () => (await lab.httpGet(lab.node, `http://${lab.pods.get(p.name)!.ip}:8080/`, 1)).counts[p.name] === 1, 10_000);
  }

  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kube-proxy-test/v0.0.0');
  closers.push(() => client.close());
  const services = client.resource<Service & KObject>(Resources.services, 'default');
  const svc = await services.create({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
  });
  const clusterIP = svc.spec!.clusterIP!;
  const nodePort = svc.spec!.ports![0]!.nodePort!;
  await setSlice(client, slice(lab));

  proxy = await startProxy({
    client,
    nodeName: 'node-1',
    mode: 'iptables',
    commandPrefix: ['ip', 'netns', 'exec', lab.node],
    clusterCIDR: '10.244.0.0/16',
    minSyncPeriodMs: 0,
    logger: silentLogger(),
  });
  await proxy.synced;

  const save = await lab.iptablesSave();
  assert.match(save, /-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/);
  assert.match(save, /-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/);
  const postrouting = save.split('\n').filter((l) => l.startsWith('-A POSTROUTING'));
  assert.equal(postrouting[0], '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING');
  assert.equal((await lab.exec(lab.node, ['sysctl', '-n', 'net.ipv4.conf.all.route_localnet'])).stdout.trim(), '1');

  await t.test('the cluster IP answers and 100 requests reach all three backends', async () => {
    const tally = await lab.httpGet(lab.node, `http://${clusterIP}/`, 100);
    assert.equal(tally.errors, 0, JSON.stringify(tally.errs));
    assert.deepEqual(Object.keys(tally.counts).sort(), ['pod-a', 'pod-b', 'pod-c']);
  });

  await t.test('the NodePort answers on 127.0.0.1 and on the node IP', async () => {
    for (const host of ['127.0.0.1', lab.nodeIP]) {
      const tally = await lab.httpGet(lab.node, `http://${host}:${nodePort}/`, 30);
      assert.equal(tally.errors, 0, `${host}: ${JSON.stringify(tally.errs)}`);
      assert.equal(Object.keys(tally.counts).length, 3, `${host}: ${JSON.stringify(tally.counts)}`);
    }
  });

  await t.test('a pod reaches its own service (hairpin)', async () => {
    const tally = await lab.httpGet(lab.pods.get('pod-a')!.ns, `http://${clusterIP}/`, 30);
    assert.equal(tally.errors, 0, JSON.stringify(tally.errs));
    assert.ok((tally.counts['pod-a'] ?? 0) > 0, `pod-a never reached itself: ${JSON.stringify(tally.counts)}`);
  });

  await t.test('a load-balancer ingress IP answers', async () => {
    const cur = await services.get('web');
    await services.updateStatus({ ...cur, status: { loadBalancer: { ingress: [{ ip: lab.nodeIP, ipMode: 'VIP' } as never] } } });
    await eventually('the LB IP rule', async () => (await lab.iptablesSave()).includes('"default/web:http loadbalancer IP"'), 10_000);
    const tally = await lab.httpGet(lab.node, `http://${lab.nodeIP}/`, 10);
    assert.equal(tally.errors, 0, JSON.stringify(tally.errs));
  });

  await t.test('an un-readied endpoint leaves the rotation', async () => {
    await setSlice(client, slice(lab, { 'pod-c': false }));
    await eventually('pod-c out of the rules', async () => !(await lab.iptablesSave()).includes(`--to-destination ${lab.pods.get('pod-c')!.ip}:8080`), 10_000);
    const tally = await lab.httpGet(lab.node, `http://${clusterIP}/`, 60);
    assert.equal(tally.errors, 0, JSON.stringify(tally.errs));
    assert.equal(tally.counts['pod-c'], undefined);
    assert.deepEqual(Object.keys(tally.counts).sort(), ['pod-a', 'pod-b']);
  });

  await t.test('sessionAffinity ClientIP sticks to one backend', async () => {
    await services.patch('web', 'application/merge-patch+json', { spec: { sessionAffinity: 'ClientIP' } });
    await eventually('affinity rules', async () => (await lab.iptablesSave()).includes('--rcheck --seconds 10800 --reap'), 10_000);
    const tally = await lab.httpGet(lab.node, `http://${clusterIP}/`, 30);
    assert.equal(tally.errors, 0, JSON.stringify(tally.errs));
    assert.equal(Object.keys(tally.counts).length, 1, JSON.stringify(tally.counts));
  });

  await t.test('a service without endpoints is rejected', async () => {
    const empty = await services.create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'empty', namespace: 'default' },
      spec: { ports: [{ port: 80, protocol: 'TCP' }] },
    });
    await eventually('the REJECT rule', async () => (await lab.iptablesSave()).includes('"default/empty has no endpoints"'), 10_000);
    const tally = await lab.httpGet(lab.node, `http://${empty.spec!.clusterIP}/`, 1);
    assert.deepEqual(tally.errs, { ECONNREFUSED: 1 });
  });

  await t.test('a deleted service leaves no chains behind', async () => {
    const before = await lab.iptablesSave();
    const svcChain = /KUBE-SVC-[A-Z0-9]{16}/.exec(before)![0];
    await services.delete('web');
    await eventually('the service chains gone', async () => !(await lab.iptablesSave()).includes(svcChain), 10_000);
    assert.doesNotMatch(await lab.iptablesSave(), /KUBE-SEP-/);
  });

  await t.test('flotilla proxy --cleanup removes every KUBE- chain and jump', async () => {
    await proxy!.stop();
    proxy = undefined;
    const r = runFlotilla(['proxy', '--cleanup', '--netns', lab.node]);
    assert.equal(r.status, 0, r.stderr);
    assert.doesNotMatch(await lab.iptablesSave(), /KUBE-/);
  });
});
