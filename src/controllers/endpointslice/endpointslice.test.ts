import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newUID, type KObject } from '../../apimachinery/meta.js';
import { FakeClient } from '../../client/fake.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources } from '../../client/interface.js';
import type { EndpointSlice, Pod, Service } from '../../client/objects.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { EndpointSliceController } from './endpointslice.js';

interface PodOpts {
  ip?: string;
  ready?: boolean;
  node?: string;
  deleting?: boolean;
  labels?: Record<string, string>;
}

function newPod(name: string, o: PodOpts = {}): Pod & KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: o.labels ?? { app: 'web' }, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
    spec: { nodeName: o.node ?? 'node-1', containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: {
      phase: 'Running',
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: '2026-01-01T00:00:00Z' }],
    },
  };
}

function newService(name: string, spec: Partial<NonNullable<Service['spec']>> = {}): Service & KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', uid: `uid-svc-${name}`, labels: { tier: 'front' }, creationTimestamp: '2025-12-31T00:00:00Z' },
    spec: { clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], ...spec },
  };
}

function newNode(name: string, zone?: string): KObject {
  return { apiVersion: 'v1', kind: 'Node', metadata: { name, uid: newUID(), labels: zone ? { 'topology.kubernetes.io/zone': zone } : {} } };
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (await cond()) return;
    await tick();
  }
  assert.fail(`condition never held: ${what}`);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await tick();
}

function setup(t: { after(fn: () => void): void }, services: KObject[], pods: KObject[], nodes: KObject[] = [newNode('node-1', 'zone-a')]) {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  client.seed(Resources.services, ...services);
  client.seed(Resources.pods, ...pods);
  client.seed(Resources.nodes, ...nodes);
  const informers = newInformerFactory({ client, clock });
  const ctrl = new EndpointSliceController({ client, informers, clock, logger: silentLogger(), workers: 1 });
  const ac = new AbortController();
  setMaxListeners(50, ac.signal);
  t.after(() => ac.abort());
  informers.start(ac.signal);
  void ctrl.run(ac.signal);
  const slicesOf = async (svc: string): Promise<EndpointSlice[]> =>
    (await client.resource<EndpointSlice & KObject>(Resources.endpointslices, 'default').list({ labelSelector: `kubernetes.io/service-name=${svc}` })).items;
  const addresses = async (svc: string) => (await slicesOf(svc)).flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses)).sort();
  const writes = () => client.actions().filter((a) => ['create', 'update', 'delete'].includes(a.verb) && a.gvr.resource === 'endpointslices').map((a) => a.verb);
  return { clock, client, slicesOf, addresses, writes };
}

test('endpointslice: one slice per service with labels, owner, address type, endpoint conditions, node, zone, ports', async (t) => {
  const h = setup(t, [newService('web')], [newPod('a', { ip: '10.0.0.1' }), newPod('b', { ip: '10.0.0.2', ready: false }), newPod('c', { ip: '10.0.0.3', deleting: true })]);
  await until('slice', async () => (await h.slicesOf('web')).length === 1);
  const [s] = await h.slicesOf('web');
  assert.match(s!.metadata!.name!, /^web-/);
  assert.equal(s!.metadata!.generateName, 'web-');
  assert.deepEqual(s!.metadata!.labels, { tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
  assert.deepEqual(s!.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'uid-svc-web', controller: true, blockOwnerDeletion: true }]);
  assert.equal(s!.addressType, 'IPv4');
  assert.deepEqual(s!.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  assert.equal(s!.metadata!.annotations?.['endpoints.kubernetes.io/last-change-trigger-time'], '2025-12-31T00:00:00Z');
  const byName = Object.fromEntries((s!.endpoints ?? []).map((e) => [e.targetRef?.name, e]));
  assert.deepEqual(byName.a, {
    addresses: ['10.0.0.1'],
    conditions: { ready: true, serving: true, terminating: false },
    targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' },
    nodeName: 'node-1',
    zone: 'zone-a',
  });
  assert.deepEqual(byName.b?.conditions, { ready: false, serving: false, terminating: false });
  assert.deepEqual(byName.c?.conditions, { ready: false, serving: true, terminating: true }, 'terminating pods stay, never ready');
});

test('endpointslice: pod churn updates the slice in place', async (t) => {
  const h = setup(t, [newService('web')], [newPod('a', { ip: '10.0.0.1' })]);
  await until('a', async () => JSON.stringify(await h.addresses('web')) === '["10.0.0.1"]');
  const name = (await h.slicesOf('web'))[0]!.metadata!.name;
  const pods = h.client.resource<Pod & KObject>(Resources.pods, 'default');
  await pods.create(newPod('b', { ip: '10.0.0.2' }));
  await until('b', async () => JSON.stringify(await h.addresses('web')) === '["10.0.0.1","10.0.0.2"]');
  await pods.delete('a');
  await until('a gone', async () => JSON.stringify(await h.addresses('web')) === '["10.0.0.2"]');
  const b = await pods.get('b');
  b.status!.conditions = [{ type: 'Ready', status: 'False', lastTransitionTime: '2026-01-01T00:01:00Z' }];
  await pods.updateStatus(b);
  await until('b not ready', async () => (await h.slicesOf('web'))[0]?.endpoints?.[0]?.conditions?.ready === false);
  const slices = await h.slicesOf('web');
  assert.deepEqual(slices.map((s) => s.metadata?.name), [name]);
  assert.deepEqual(h.writes(), ['create', 'update', 'update', 'update']);
});

test('endpointslice: at most 100 endpoints per slice', async (t) => {
  const pods = Array.from({ length: 150 }, (_, i) => newPod(`p${i}`, { ip: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}` }));
  const h = setup(t, [newService('web')], pods);
  await until('150 endpoints', async () => (await h.addresses('web')).length === 150);
  const sizes = (await h.slicesOf('web')).map((s) => s.endpoints?.length).sort();
  assert.deepEqual(sizes, [100, 50]);
});

test('endpointslice: no pods: one empty placeholder; pods on unknown nodes are left out', async (t) => {
  const h = setup(t, [newService('web')], [newPod('lost', { ip: '10.0.0.9', node: 'node-9' })]);
  await until('placeholder', async () => (await h.slicesOf('web')).length === 1);
  await settle();
  const [s] = await h.slicesOf('web');
  assert.deepEqual(s!.endpoints, []);
  assert.deepEqual(s!.ports, []);
  await h.client.resource(Resources.nodes).create(newNode('node-9'));
  // The service is retried with backoff while the node is missing: let the backoff elapse.
  await until('pod on node-9', async () => {
    h.clock.step(1_000);
    return JSON.stringify(await h.addresses('web')) === '["10.0.0.9"]';
  });
});

test('endpointslice: selectorless services and `kubernetes` are left alone; a slice deleted by someone else comes back', async (t) => {
  const h = setup(t, [newService('web'), newService('manual', { selector: undefined }), newService('kubernetes', { selector: undefined })], [newPod('a', { ip: '10.0.0.1' })]);
  await until('web slice', async () => (await h.slicesOf('web')).length === 1);
  await settle();
  assert.deepEqual(await h.slicesOf('manual'), []);
  assert.deepEqual(await h.slicesOf('kubernetes'), []);
  const name = (await h.slicesOf('web'))[0]!.metadata!.name!;
  await h.client.resource(Resources.endpointslices, 'default').delete(name);
  await until('recreated', async () => (await h.slicesOf('web')).length === 1);
});

test('endpointslice: a service label change and a port change update the existing slice, never create+delete', async (t) => {
  const h = setup(t, [newService('web')], [newPod('a', { ip: '10.0.0.1' })]);
  await until('slice', async () => (await h.addresses('web')).length === 1);
  const name = (await h.slicesOf('web'))[0]!.metadata!.name;
  const services = h.client.resource<Service & KObject>(Resources.services, 'default');
  const svc = await services.get('web');
  await services.update({ ...svc, metadata: { ...svc.metadata, labels: { tier: 'back' } } });
  await until('labels', async () => (await h.slicesOf('web'))[0]?.metadata?.labels?.tier === 'back');
  const svc2 = await services.get('web');
  await services.update({ ...svc2, spec: { ...svc2.spec, ports: [{ name: 'http', port: 80, targetPort: 9090, protocol: 'TCP' }] } });
  await until('port', async () => (await h.slicesOf('web'))[0]?.ports?.[0]?.port === 9090);
  assert.deepEqual((await h.slicesOf('web')).map((s) => s.metadata?.name), [name]);
  assert.deepEqual(h.writes(), ['create', 'update', 'update']);
});

test('endpointslice: a dual-stack service gets a slice per address family', async (t) => {
  const pod = newPod('a', { ip: '10.0.0.1' });
  pod.status!.podIPs = [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }];
  const h = setup(t, [newService('web', { ipFamilies: ['IPv4', 'IPv6'] })], [pod]);
  await until('two slices', async () => (await h.slicesOf('web')).length === 2);
  await until('both addresses', async () => JSON.stringify(await h.addresses('web')) === '["10.0.0.1","fd00::1"]');
  const byType = Object.fromEntries((await h.slicesOf('web')).map((s) => [s.addressType, s.endpoints?.[0]?.addresses]));
  assert.deepEqual(byType, { IPv4: ['10.0.0.1'], IPv6: ['fd00::1'] });
});
