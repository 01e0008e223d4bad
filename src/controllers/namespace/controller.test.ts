import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newNotFound } from '../../apimachinery/errors.js';
import { formatRFC3339, type KObject } from '../../apimachinery/meta.js';
import { FakeClient } from '../../client/fake.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources, type GroupVersionResource } from '../../client/interface.js';
import type { Namespace } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { NamespaceController } from './controller.js';
import { NamespacedResourcesDeleter, type NamespaceCondition } from './deleter.js';

async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

function obj(gvr: GroupVersionResource, namespace: string, name: string, extra: Record<string, unknown> = {}): KObject {
  return { metadata: { name, namespace }, ...extra, apiVersion: gvr.group ? `${gvr.group}/${gvr.version}` : gvr.version };
}

/**
 * A FakeClient that behaves like the API server for namespaces: spec.finalizers hold a
 * deleted namespace, and namespaces/finalize (which the fake does not serve) sets them,
 * removing the namespace once none are left. Batch is not served (404), as on a server
 * without it.
 */
function newCluster(clock: FakeClock) {
  const client = new FakeClient({ clock });
  const namespaces = client.resource<Namespace>(Resources.namespaces);
  client.prependReactor('patch', 'namespaces', (a) => {
    if (a.subresource !== 'finalize') return undefined;
    const body = a.object as { metadata?: { resourceVersion?: string }; spec: { finalizers: string[] } };
    const store = (client as unknown as { store(g: GroupVersionResource): Map<string, KObject> }).store(Resources.namespaces);
    const cur = store.get(a.name!) as Namespace | undefined;
    if (!cur) return { error: newNotFound({ group: '', resource: 'namespaces' }, a.name!) };
    const next: Namespace = structuredClone(cur);
    next.spec = { ...next.spec, finalizers: body.spec.finalizers };
    // The fake removes a deleting object once metadata.finalizers is empty; the hold below stands in for spec.finalizers.
    if (body.spec.finalizers.length === 0) next.metadata = { ...next.metadata, finalizers: [] };
    void namespaces.update(next);
    return { result: next };
  });
  for (const verb of ['list', 'deletecollection', 'delete']) {
    client.prependReactor(verb, 'jobs', () => ({ error: newNotFound({ group: 'batch', resource: 'jobs' }, '') }));
  }
  return client;
}

function newTerminatingNamespace(name: string, deletedAt: number): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, deletionTimestamp: formatRFC3339(deletedAt), finalizers: ['flotilla.test/spec-finalizers-stand-in'] },
    spec: { finalizers: ['kubernetes'] },
    status: { phase: 'Active' },
  };
}

test('namespace deletion removes the content, waits for terminating pods, then finalizes', async (t) => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const client = newCluster(clock);
  const ac = new AbortController();
  const informers = newInformerFactory({ client, clock });
  client.seed(Resources.namespaces, newTerminatingNamespace('x', clock.now()), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'y' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  client.seed(Resources.configmaps, obj(Resources.configmaps, 'x', 'cm'), obj(Resources.configmaps, 'y', 'keep'));
  client.seed(Resources.secrets, obj(Resources.secrets, 'x', 's'));
  client.seed(Resources.services, obj(Resources.services, 'x', 'svc'));
  client.seed(Resources.deployments, obj(Resources.deployments, 'x', 'web'));
  client.seed(Resources.serviceaccounts, obj(Resources.serviceaccounts, 'x', 'default'));
  client.seed(Resources.leases, obj(Resources.leases, 'x', 'l'));
  // A pod whose deletion does not finish at once (the kubelet is still stopping it).
  client.seed(Resources.pods, obj(Resources.pods, 'x', 'slow', { metadata: { name: 'slow', namespace: 'x', finalizers: ['flotilla.test/terminating'] }, spec: { terminationGracePeriodSeconds: 30 } }));

  const ctl = new NamespaceController({
    namespaceInformer: informers.forResource<Namespace>(Resources.namespaces),
    deleter: new NamespacedResourcesDeleter({ client, clock, logger: silentLogger() }),
    queue: newWorkQueue<string>({ name: 'namespace', clock }),
    logger: silentLogger(),
    waitForCacheSync: (s) => informers.waitForCacheSync(s),
  });
  informers.start(ac.signal);
  const run = ctl.run(ac.signal);
  t.after(async () => {
    ac.abort();
    await run;
  });
  await settle();

  // Nothing before the 5 s namespace deletion grace period.
  clock.step(4_000);
  await settle();
  assert.equal((await client.resource(Resources.configmaps, 'x').list()).items.length, 1);

  clock.step(1_000);
  await settle();
  for (const gvr of [Resources.configmaps, Resources.secrets, Resources.services, Resources.deployments, Resources.serviceaccounts, Resources.leases]) {
    assert.deepEqual((await client.resource(gvr, 'x').list()).items, [], gvr.resource);
  }
  assert.equal((await client.resource(Resources.configmaps, 'y').list()).items.length, 1, 'another namespace is untouched');
  const pending = await client.resource<Namespace>(Resources.namespaces).get('x');
  assert.equal(pending.status?.phase, 'Terminating');
  const conds = (pending.status as { conditions?: NamespaceCondition[] }).conditions ?? [];
  const byType = Object.fromEntries(conds.map((c) => [c.type, `${c.status} ${c.reason} ${c.message}`]));
  assert.deepEqual(byType, {
    NamespaceDeletionDiscoveryFailure: 'False ResourcesDiscovered All resources successfully discovered',
    NamespaceDeletionGroupVersionParsingFailure: 'False ParsedGroupVersions All legacy kube types successfully parsed',
    NamespaceDeletionContentFailure: 'False ContentDeleted All content successfully deleted, may be waiting on finalization',
    NamespaceContentRemaining: 'True SomeResourcesRemain Some resources are remaining: pods. has 1 resource instances',
    NamespaceFinalizersRemaining: 'True SomeFinalizersRemain Some content in the namespace has finalizers remaining: flotilla.test/terminating in 1 resource instances',
  });
  assert.deepEqual(pending.spec?.finalizers, ['kubernetes']);

  // The pod finishes terminating; the next look (after half the 30 s estimate) finalizes the namespace.
  const pods = client.resource(Resources.pods, 'x');
  const slow = await pods.get('slow');
  await pods.update({ ...slow, metadata: { ...slow.metadata, finalizers: [] } });
  for (let i = 0; i < 20; i++) {
    clock.step(1_000);
    await settle();
  }
  const left = (await client.resource<Namespace>(Resources.namespaces).list()).items.map((n) => n.metadata?.name);
  assert.deepEqual(left, ['y']);
  const finalize = client.actions().filter((a) => a.verb === 'patch' && a.subresource === 'finalize');
  assert.equal(finalize.length, 1);
  assert.deepEqual((finalize[0]!.object as { spec: unknown }).spec, { finalizers: [] });
});

test('a namespace that is not being deleted is left alone', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const client = newCluster(clock);
  client.seed(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'y' }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });
  client.seed(Resources.configmaps, obj(Resources.configmaps, 'y', 'keep'));
  const deleter = new NamespacedResourcesDeleter({ client, clock, logger: silentLogger() });
  await deleter.delete('y');
  await deleter.delete('missing');
  assert.deepEqual(client.actions().map((a) => a.verb), ['get', 'get']);
});

test('content without finalizers that will not go away is a ContentDeletionFailed error', async () => {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const client = newCluster(clock);
  client.seed(Resources.namespaces, newTerminatingNamespace('x', clock.now()));
  client.seed(Resources.configmaps, obj(Resources.configmaps, 'x', 'stuck'));
  // The server accepts the deletes but the object stays (e.g. a misbehaving store).
  client.prependReactor('deletecollection', 'configmaps', () => ({ result: undefined }));
  const deleter = new NamespacedResourcesDeleter({ client, clock, logger: silentLogger() });
  await assert.rejects(deleter.delete('x'), /unexpected items still remain in namespace: x for gvr: \/v1, Resource=configmaps/);
  const ns = await client.resource<Namespace>(Resources.namespaces).get('x');
  const failure = ((ns.status as { conditions?: NamespaceCondition[] }).conditions ?? []).find((c) => c.type === 'NamespaceDeletionContentFailure');
  assert.equal(failure?.status, 'True');
  assert.equal(failure?.reason, 'ContentDeletionFailed');
  assert.match(failure?.message ?? '', /^Failed to delete all resource types, 1 remaining: unexpected items still remain/);
  assert.deepEqual(ns.spec?.finalizers, ['kubernetes']);
});
