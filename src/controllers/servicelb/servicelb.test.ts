import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../apimachinery/meta.js';
import { FakeClient } from '../../client/fake.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources } from '../../client/interface.js';
import type { Node, Service } from '../../client/objects.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { RecordingEventRecorder } from '../util/testing.js';
import { ingressForNodes, LABEL_EXCLUDE_FROM_LB, ServiceLBController } from './servicelb.js';

async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

function node(name: string, ip: string, o: { ready?: boolean; exclude?: boolean } = {}): Node & KObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: o.exclude ? { [LABEL_EXCLUDE_FROM_LB]: '' } : {} },
    status: {
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
      addresses: [{ type: 'Hostname', address: name }, { type: 'InternalIP', address: ip }],
    },
  };
}

function service(name: string, type: string, extra: Record<string, unknown> = {}): Service & KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type, clusterIP: '10.96.0.20', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }], ...extra } as Service['spec'],
  };
}

const cases: { name: string; nodes: Node[]; want: string[] }[] = [
  { name: 'ready nodes, sorted', nodes: [node('b', '10.0.0.3'), node('a', '10.0.0.2')], want: ['10.0.0.2', '10.0.0.3'] },
  { name: 'not-ready nodes are left out', nodes: [node('a', '10.0.0.2'), node('b', '10.0.0.3', { ready: false })], want: ['10.0.0.2'] },
  { name: 'excluded nodes are left out', nodes: [node('a', '10.0.0.2', { exclude: true }), node('b', '10.0.0.3')], want: ['10.0.0.3'] },
  { name: 'no nodes, no ingress', nodes: [], want: [] },
];
for (const tc of cases) {
  test(`ingressForNodes: ${tc.name}`, () => {
    assert.deepEqual(ingressForNodes(tc.nodes), tc.want.map((ip) => ({ ip, ipMode: 'VIP' })));
  });
}

function setup(t: { after(fn: () => unknown): void }) {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  const informers = newInformerFactory({ client, clock });
  const recorder = new RecordingEventRecorder();
  const c = new ServiceLBController({ client, informers, recorder, clock, logger: silentLogger() });
  const ac = new AbortController();
  const start = async () => {
    informers.start(ac.signal);
    const run = c.run(ac.signal);
    t.after(async () => {
      ac.abort();
      await run;
    });
    await settle();
  };
  const ingress = async (name: string) => (await client.resource<Service>(Resources.services, 'default').get(name)).status?.loadBalancer?.ingress ?? [];
  return { client, recorder, start, ingress };
}

test('a LoadBalancer service gets the ready nodes as ingress, and follows them', async (t) => {
  const { client, recorder, start, ingress } = setup(t);
  const nodes = client.resource<Node & KObject>(Resources.nodes);
  await nodes.create(node('n1', '10.0.0.2'));
  await client.resource(Resources.services, 'default').create(service('lb', 'LoadBalancer'));
  await client.resource(Resources.services, 'default').create(service('plain', 'ClusterIP'));
  await start();
  assert.deepEqual(await ingress('lb'), [{ ip: '10.0.0.2', ipMode: 'VIP' }]);
  assert.deepEqual(await ingress('plain'), []);
  assert.deepEqual(recorder.lines(), ['Normal EnsuredLoadBalancer Ensured load balancer']);

  await nodes.create(node('n2', '10.0.0.3'));
  await settle();
  assert.deepEqual(await ingress('lb'), [{ ip: '10.0.0.2', ipMode: 'VIP' }, { ip: '10.0.0.3', ipMode: 'VIP' }]);

  const n1 = await nodes.get('n1');
  await nodes.updateStatus({ ...n1, status: { ...n1.status, conditions: [{ type: 'Ready', status: 'False' }] } });
  await settle();
  assert.deepEqual(await ingress('lb'), [{ ip: '10.0.0.3', ipMode: 'VIP' }]);

  await nodes.delete('n2');
  await settle();
  assert.deepEqual(await ingress('lb'), []);
  assert.equal(recorder.lines().at(-1), 'Warning UnAvailableLoadBalancer There are no available nodes for LoadBalancer');
});

test('a service that stops being a LoadBalancer has its ingress cleared; other classes are left alone', async (t) => {
  const { client, start, ingress } = setup(t);
  await client.resource(Resources.nodes).create(node('n1', '10.0.0.2'));
  const services = client.resource<Service & KObject>(Resources.services, 'default');
  await services.create(service('lb', 'LoadBalancer'));
  await services.create(service('other', 'LoadBalancer', { loadBalancerClass: 'example.com/lb' }));
  await start();
  assert.deepEqual(await ingress('lb'), [{ ip: '10.0.0.2', ipMode: 'VIP' }]);
  assert.deepEqual(await ingress('other'), []);

  const cur = await services.get('lb');
  await services.update({ ...cur, spec: { ...cur.spec, type: 'ClusterIP' } });
  await settle();
  assert.deepEqual(await ingress('lb'), []);
});
