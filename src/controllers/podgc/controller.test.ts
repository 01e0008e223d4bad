import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRFC3339, type KObject } from '../../apimachinery/meta.js';
import { FakeClient } from '../../client/fake.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources } from '../../client/interface.js';
import type { Node, Pod } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { PodGCController } from './controller.js';

async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

const T0 = Date.UTC(2026, 0, 1);

function pod(name: string, o: { node?: string; phase?: string; created?: number; deleting?: boolean; reason?: string } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      creationTimestamp: formatRFC3339(o.created ?? T0),
      // The fake removes a deleting object without finalizers at once; this one is still held.
      ...(o.deleting ? { deletionTimestamp: formatRFC3339(T0), finalizers: ['flotilla.test/hold'] } : {}),
    },
    spec: { ...(o.node ? { nodeName: o.node } : {}), containers: [{ name: 'c', image: 'i' }] },
    status: { phase: o.phase ?? 'Running', ...(o.reason ? { reason: o.reason } : {}) },
  };
}

function node(name: string, o: { ready?: string; outOfService?: boolean } = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name },
    spec: o.outOfService ? { taints: [{ key: 'node.kubernetes.io/out-of-service', value: 'nodeshutdown', effect: 'NoExecute' }] } : {},
    status: { conditions: [{ type: 'Ready', status: o.ready ?? 'True' }] },
  };
}

function setup(t: { after(fn: () => unknown): void }, threshold: number) {
  const clock = new FakeClock(T0);
  const client = new FakeClient({ clock });
  const informers = newInformerFactory({ client, clock });
  const ac = new AbortController();
  const gc = new PodGCController({
    client,
    podInformer: informers.forResource<Pod>(Resources.pods),
    nodeInformer: informers.forResource<Node>(Resources.nodes),
    clock,
    logger: silentLogger(),
    terminatedPodThreshold: threshold,
    nodeQueue: newWorkQueue<string>({ name: 'orphaned_pods_nodes', clock }),
    waitForCacheSync: (s) => informers.waitForCacheSync(s),
  });
  const start = async () => {
    informers.start(ac.signal);
    const run = gc.run(ac.signal);
    t.after(async () => {
      ac.abort();
      await run;
    });
    await settle();
  };
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i += 1000) {
      clock.step(1000);
      await settle();
    }
  };
  const names = async () => (await client.resource<Pod>(Resources.pods).list()).items.map((p) => p.metadata?.name).sort();
  return { clock, client, start, advance, names };
}

test('terminated pods beyond the threshold are deleted, evicted and oldest first', async (t) => {
  const { client, start, names } = setup(t, 2);
  client.seed(Resources.nodes, node('n1'));
  client.seed(
    Resources.pods,
    pod('old-succeeded', { node: 'n1', phase: 'Succeeded', created: T0 - 3000 }),
    pod('new-failed', { node: 'n1', phase: 'Failed', created: T0 - 1000 }),
    pod('mid-succeeded', { node: 'n1', phase: 'Succeeded', created: T0 - 2000 }),
    pod('newest-evicted', { node: 'n1', phase: 'Failed', reason: 'Evicted', created: T0 }),
    pod('running', { node: 'n1', created: T0 - 9000 }),
  );
  await start();
  assert.deepEqual(await names(), ['new-failed', 'mid-succeeded', 'running'].sort());
  const deletes = client.actions().filter((a) => a.verb === 'delete').map((a) => a.name);
  assert.deepEqual(deletes.sort(), ['newest-evicted', 'old-succeeded']);
});

test('a threshold of 0 keeps every terminated pod', async (t) => {
  const { client, start, names } = setup(t, 0);
  client.seed(Resources.nodes, node('n1'));
  client.seed(Resources.pods, pod('done', { node: 'n1', phase: 'Succeeded' }));
  await start();
  assert.deepEqual(await names(), ['done']);
});

test('pods bound to a node that is gone are marked Failed and deleted after the 40 s quarantine', async (t) => {
  const { client, start, advance, names } = setup(t, 100);
  client.seed(Resources.nodes, node('n1'));
  client.seed(Resources.pods, pod('orphan', { node: 'gone' }), pod('fine', { node: 'n1' }));
  await start();
  await advance(39_000);
  assert.deepEqual(await names(), ['fine', 'orphan']);
  // The quarantine ends at 40 s; the next 20 s pass collects.
  await advance(21_000);
  assert.deepEqual(await names(), ['fine']);
  const statusPatch = client.actions().find((a) => a.verb === 'patch' && a.name === 'orphan');
  const status = (statusPatch?.object as { status: { phase: string; conditions: { type: string; reason: string; message: string }[] } }).status;
  assert.equal(status.phase, 'Failed');
  assert.deepEqual(status.conditions.map((c) => [c.type, c.reason, c.message]), [['DisruptionTarget', 'DeletionByPodGC', 'PodGC: node no longer exists']]);
  const del = client.actions().find((a) => a.verb === 'delete' && a.name === 'orphan');
  assert.ok(del);
});

test('terminating pods go when unscheduled, or on a not-ready out-of-service node', async (t) => {
  const { client, start, names } = setup(t, 100);
  client.seed(Resources.nodes, node('dead', { ready: 'False', outOfService: true }), node('slow', { ready: 'False' }), node('ok', { outOfService: true }));
  client.seed(
    Resources.pods,
    pod('unscheduled', { deleting: true }),
    pod('on-dead', { node: 'dead', deleting: true }),
    pod('on-slow', { node: 'slow', deleting: true }),
    pod('on-ok', { node: 'ok', deleting: true }),
  );
  await start();
  const deleted = client.actions().filter((a) => a.verb === 'delete').map((a) => a.name).sort();
  assert.deepEqual(deleted, ['on-dead', 'unscheduled']);
  assert.equal((await names()).length, 4, 'held by the test finalizer, but deletion was requested');
});
