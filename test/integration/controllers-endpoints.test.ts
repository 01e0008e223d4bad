/**
 * The Endpoints and EndpointSlice controllers (and the garbage collector, which removes a
 * deleted Service's slices) against a real Flotilla API server, read back with the real
 * kubectl. No kubelet runs: the test writes the pods' status (IP, Ready) itself.
 */
import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/apimachinery/meta.js';
import { newEventRecorder } from '../../src/client/events.js';
import { newInformerFactory } from '../../src/client/informer.js';
import { Resources } from '../../src/client/interface.js';
import type { Pod } from '../../src/client/objects.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { EndpointsController } from '../../src/controllers/endpoints/index.js';
import { EndpointSliceController } from '../../src/controllers/endpointslice/index.js';
import { GarbageCollector } from '../../src/controllers/garbagecollector/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { eventually } from '../util/wait.js';

const serviceManifest = JSON.stringify({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', labels: { tier: 'front' } },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
});

function newPod(name: string): Pod & KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app: 'web' } },
    spec: { nodeName: 'node-1', containers: [{ name: 'c', image: 'nginx', ports: [{ name: 'http', containerPort: 8080 }] }] },
  };
}

for (const backend of backends) test(`endpoints and endpointslices for a service, read with kubectl (${backend.name})`, { skip: backend.skip }, async (t) => {
  // Teardown in a real cluster's order (after hooks run first-registered first): the
  // controllers stop, then their client, then the API server.
  const ac = new AbortController();
  setMaxListeners(50, ac.signal);
  let running: Promise<unknown> = Promise.resolve();
  let closeClient: () => Promise<void> = async () => {};
  t.after(async () => {
    ac.abort();
    await running;
    await closeClient();
  });
  const api = await startBackendApiServer(t, backend);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'endpoints-test/v0.0.0');
  closeClient = () => client.close();
  const informers = newInformerFactory({ client, clock: realClock });
  const logger = silentLogger();
  const recorder = newEventRecorder({ client, component: 'endpoint-controller', clock: realClock, logger });
  const endpointsController = new EndpointsController({ client, informers, recorder, clock: realClock, logger, workers: 2 });
  const sliceController = new EndpointSliceController({ client, informers, clock: realClock, logger, workers: 2 });
  const controllers = [endpointsController, sliceController, new GarbageCollector({ client, informers, clock: realClock, logger, workers: 2 })];
  informers.start(ac.signal);
  running = Promise.all(controllers.map((c) => c.run(ac.signal)));

  await api.ok(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1', labels: { 'topology.kubernetes.io/zone': 'zone-a' } } }) });
  await api.ok(['apply', '-f', '-'], { input: serviceManifest });
  const pods = client.resource<Pod & KObject>(Resources.pods, 'default');
  const setStatus = async (name: string, ip: string, ready: boolean) => {
    const p = await pods.get(name);
    p.status = {
      ...p.status,
      phase: 'Running',
      podIP: ip,
      podIPs: [{ ip }],
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }],
    };
    await pods.updateStatus(p);
  };
  for (const name of ['web-1', 'web-2', 'web-3']) await pods.create(newPod(name));
  await setStatus('web-1', '10.244.0.11', true);
  await setStatus('web-2', '10.244.0.12', true);
  await setStatus('web-3', '10.244.0.13', false);

  await t.test('kubectl get endpoints lists the ready pods’ IPs and target ports only', async () => {
    await eventually('two ready endpoints', async () => /10\.244\.0\.11:8080,10\.244\.0\.12:8080/.test(await api.ok(['get', 'endpoints', 'web'])));
    const out = await api.ok(['get', 'endpoints', 'web']);
    assert.doesNotMatch(out, /10\.244\.0\.13/, 'the not-ready pod is not served');
    const ep = JSON.parse(await api.ok(['get', 'endpoints', 'web', '-o', 'json'])) as KObject & { subsets: { notReadyAddresses?: { ip: string; targetRef: { name: string } }[] }[] };
    assert.deepEqual(ep.subsets.flatMap((s) => s.notReadyAddresses ?? []).map((a) => [a.ip, a.targetRef.name]), [['10.244.0.13', 'web-3']]);
    assert.equal(ep.metadata?.labels?.tier, 'front');
    assert.ok(ep.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']);
  });

  await t.test('a pod turning ready joins; a deleted pod leaves', async () => {
    await setStatus('web-3', '10.244.0.13', true);
    await eventually('web-3 ready', async () => /10\.244\.0\.13:8080/.test(await api.ok(['get', 'endpoints', 'web'])));
    await api.ok(['delete', 'pod', 'web-1', '--grace-period=0', '--force']);
    await eventually('web-1 gone', async () => !/10\.244\.0\.11/.test(await api.ok(['get', 'endpoints', 'web'])));
  });

  await t.test('kubectl get endpointslices: one slice owned by the service, with zones and conditions', async () => {
    let out = '';
    await eventually('slice current', async () => {
      out = await api.ok(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web']);
      return /web-\S+\s+IPv4\s+8080\s+10\.244\.0\.12,10\.244\.0\.13/.test(out);
    }).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${out}`);
    });
    const list = JSON.parse(await api.ok(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'json'])) as { items: KObject[] };
    assert.equal(list.items.length, 1);
    const slice = list.items[0] as KObject & { endpoints: { zone?: string; conditions: { ready: boolean } }[] };
    assert.equal(slice.metadata?.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(slice.metadata?.ownerReferences?.[0]?.kind, 'Service');
    assert.ok(slice.endpoints.every((e) => e.zone === 'zone-a' && e.conditions.ready));
  });

  await t.test('steady state: syncing again writes nothing (what the server stores compares equal)', async () => {
    const rvs = async () => {
      const ep = await client.resource(Resources.endpoints, 'default').get('web');
      const slices = await client.resource(Resources.endpointslices, 'default').list({ labelSelector: 'kubernetes.io/service-name=web' });
      return JSON.stringify([ep.metadata?.resourceVersion, slices.items.map((x) => x.metadata?.resourceVersion)]);
    };
    // Retried only while the informers catch up with the last write; a perpetual diff never settles.
    await eventually('a sync without writes', async () => {
      const before = await rvs();
      await endpointsController.syncService('default/web');
      await sliceController.syncService('default/web');
      return (await rvs()) === before;
    });
  });

  await t.test('the kubernetes service (no selector) gets nothing from the controllers', async () => {
    // On loopback the API server publishes no kubernetes endpoints, so there must be none.
    assert.notEqual((await api.kubectl(['get', 'endpoints', 'kubernetes'])).code, 0);
    const slices = await api.ok(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=kubernetes', '-o', 'name']);
    assert.equal(slices.trim(), '');
  });

  await t.test('deleting the service removes its endpoints and slices', async () => {
    await api.ok(['delete', 'service', 'web']);
    await eventually('endpoints gone', async () => (await api.kubectl(['get', 'endpoints', 'web'])).code !== 0);
    await eventually('slices gone', async () => (await api.ok(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=web', '-o', 'name'])).trim() === '');
  });
});
