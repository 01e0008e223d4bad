/**
 * The garbage collector against a real Flotilla API server (in-process, HTTPS), driven by
 * the real kubectl: `kubectl delete rs` with the default background cascade, with
 * `--cascade=orphan` and with `--cascade=foreground`. The API server sets the orphan and
 * foregroundDeletion finalizers; the collector, run in-test over the REST client, does the
 * rest. No ReplicaSet controller runs, so the pods are the test's own.
 */
import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNotFound } from '../../src/apimachinery/errors.js';
import type { KObject, OwnerReference } from '../../src/apimachinery/meta.js';
import { newInformerFactory } from '../../src/client/informer.js';
import { Resources, type Client } from '../../src/client/interface.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { GarbageCollector } from '../../src/controllers/garbagecollector/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';

/** Polls cond on real time (an external server is involved), bounded. */
async function eventually(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function replicaSetManifest(name: string): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name, namespace: 'default' },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
    },
  });
}

function newPod(name: string, app: string, owner: OwnerReference): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { app }, ownerReferences: [owner] },
    spec: { containers: [{ name: 'c', image: 'nginx' }] },
  };
}

async function exists(client: Client, name: string): Promise<KObject | undefined> {
  try {
    return await client.resource(Resources.pods, 'default').get(name);
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

for (const backend of backends) test(`garbage collector with kubectl delete rs: background, orphan, foreground (${backend.name})`, { skip: backend.skip }, async (t) => {
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
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'garbage-collector-test/v0.0.0');
  closeClient = () => client.close();
  const informers = newInformerFactory({ client, clock: realClock });
  informers.start(ac.signal);
  const gc = new GarbageCollector({ client, informers, clock: realClock, logger: silentLogger(), workers: 2 });
  running = gc.run(ac.signal);
  await eventually('the collector watches pods', () => gc.monitoredResources().includes('/pods'));
  // batch/v1 is served now (it was not when this test was written, and jobs were skipped):
  // every resource the collector knows is watched once its list succeeds.
  await eventually('the collector watches jobs', () => gc.monitoredResources().includes('batch/jobs'));

  /** A ReplicaSet and two pods owned by it (blockOwnerDeletion as a controller sets it). */
  async function replicaSetWithPods(name: string): Promise<string[]> {
    await api.ok(['apply', '-f', '-'], { input: replicaSetManifest(name) });
    const rs = await client.resource(Resources.replicasets, 'default').get(name);
    const ref: OwnerReference = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name, uid: rs.metadata!.uid!, controller: true, blockOwnerDeletion: true };
    const pods = [`${name}-a`, `${name}-b`];
    for (const p of pods) await client.resource(Resources.pods, 'default').create(newPod(p, name, ref));
    return pods;
  }

  await t.test('kubectl delete rs: its pods are deleted', async () => {
    const pods = await replicaSetWithPods('bg');
    const out = await api.ok(['delete', 'rs', 'bg']);
    assert.match(out, /replicaset.apps "bg" deleted/);
    await eventually('pods gone', async () => (await Promise.all(pods.map((p) => exists(client, p)))).every((p) => p === undefined));
    const list = await api.ok(['get', 'pods', '-l', 'app=bg', '-o', 'name']);
    assert.equal(list.trim(), '');
  });

  await t.test('kubectl delete rs --cascade=orphan: its pods stay, without the ownerReference', async () => {
    const pods = await replicaSetWithPods('orph');
    await api.ok(['delete', 'rs', 'orph', '--cascade=orphan']);
    await eventually('rs gone', async () => (await api.kubectl(['get', 'rs', 'orph'])).code !== 0);
    for (const p of pods) {
      const pod = await exists(client, p);
      assert.ok(pod, `${p} kept`);
      assert.equal(pod.metadata?.ownerReferences, undefined, `${p} orphaned`);
    }
  });

  await t.test('kubectl delete rs --cascade=foreground: pods go first, then the ReplicaSet', async () => {
    const pods = await replicaSetWithPods('fg');
    // kubectl waits for the ReplicaSet to disappear, which the foregroundDeletion
    // finalizer holds until the collector has removed the pods.
    const out = await api.ok(['delete', 'rs', 'fg', '--cascade=foreground', '--timeout=30s']);
    assert.match(out, /replicaset.apps "fg" deleted/);
    assert.notEqual((await api.kubectl(['get', 'rs', 'fg'])).code, 0);
    for (const p of pods) assert.equal(await exists(client, p), undefined, `${p} deleted`);
  });

  await t.test('kubectl delete deploy: its ReplicaSet and that ReplicaSet’s pods are deleted', async () => {
    await api.ok(['create', 'deployment', 'chain', '--image=nginx']);
    const deploy = await client.resource(Resources.deployments, 'default').get('chain');
    const rs = await client.resource(Resources.replicasets, 'default').create({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: 'chain-5644d7b6d9',
        namespace: 'default',
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'chain', uid: deploy.metadata!.uid!, controller: true, blockOwnerDeletion: true }],
      },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'chain' } },
        template: { metadata: { labels: { app: 'chain' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } },
      },
    });
    const ref: OwnerReference = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: rs.metadata!.name!, uid: rs.metadata!.uid!, controller: true, blockOwnerDeletion: true };
    await client.resource(Resources.pods, 'default').create(newPod('chain-5644d7b6d9-b4dz9', 'chain', ref));
    await api.ok(['delete', 'deploy', 'chain']);
    await eventually('replicaset gone', async () => (await api.kubectl(['get', 'rs', 'chain-5644d7b6d9'])).code !== 0);
    await eventually('pod gone', async () => (await exists(client, 'chain-5644d7b6d9-b4dz9')) === undefined);
  });

  await t.test('a pod whose owner has the same name but another uid is collected', async () => {
    await api.ok(['apply', '-f', '-'], { input: replicaSetManifest('reborn') });
    const stale: OwnerReference = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'reborn', uid: '00000000-0000-0000-0000-000000000001', controller: true };
    await client.resource(Resources.pods, 'default').create(newPod('reborn-stale', 'reborn', stale));
    await eventually('stale pod collected', async () => (await exists(client, 'reborn-stale')) === undefined);
    assert.equal((await api.kubectl(['get', 'rs', 'reborn'])).code, 0, 'the live ReplicaSet stays');
  });
});
