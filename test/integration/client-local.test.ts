/**
 * The in-process client (src/client/local.ts) against a real API server's handleLocal: the
 * same requests and answers as over HTTPS, without a socket — what `flotilla up` gives its
 * scheduler, controllers and kubelet.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAlreadyExists, isConflict, isNotFound, isResourceExpired } from '../../src/apimachinery/errors.js';
import { PatchType, type WatchEvent } from '../../src/apimachinery/meta.js';
import { realClock } from '../../src/util/clock.js';
import { newLocalClient } from '../../src/client/local.js';
import { newInformer } from '../../src/client/informer.js';
import { Resources } from '../../src/client/interface.js';
import type { Pod } from '../../src/client/objects.js';
import { backends, startBackendApiServer } from '../util/backends.js';

const newPod = (name: string, labels: Record<string, string> = {}): Pod =>
  ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } }) as Pod;

async function eventually(cond: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

for (const backend of backends) test(`in-process client against a real API server (${backend.name})`, { skip: backend.skip }, async (t) => {
  const api = await startBackendApiServer(t, backend);
  const client = newLocalClient({ roundTrip: (r) => api.server.handleLocal(r), userAgent: 'flotilla-local-test/v0' });
  t.after(() => client.close());
  const pods = client.resource<Pod>(Resources.pods, 'default');

  await t.test('CRUD with the server\'s defaults, errors as StatusErrors', async () => {
    const created = await pods.create(newPod('a', { app: 'x' }));
    assert.equal(created.spec?.restartPolicy, 'Always', 'defaulted by the API server, not a fake');
    assert.equal(created.metadata?.managedFields?.[0]?.manager, 'flotilla-local-test');
    await assert.rejects(pods.create(newPod('a')), isAlreadyExists);
    await assert.rejects(pods.get('missing'), isNotFound);
    await assert.rejects(pods.update({ ...created, metadata: { ...created.metadata, resourceVersion: '1' } }), isConflict);
    const patched = await pods.patch('a', PatchType.MergePatch, { metadata: { labels: { tier: 'web' } } });
    assert.deepEqual(patched.metadata?.labels, { app: 'x', tier: 'web' });
    const listed = await pods.list({ labelSelector: 'tier=web' });
    assert.deepEqual(listed.items.map((p) => p.metadata?.name), ['a']);
    await assert.rejects(pods.create({ ...newPod('Bad_Name') }), /Invalid value: "Bad_Name"/);
  });

  await t.test('binding, watch from a resourceVersion, 410 after compaction', async () => {
    const list = await pods.list();
    const abort = new AbortController();
    const events: WatchEvent<Pod>[] = [];
    const done = (async () => { for await (const e of pods.watch({ resourceVersion: list.metadata.resourceVersion }, abort.signal)) events.push(e); })();
    await pods.createSubresource('a', 'binding', { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'a' }, target: { apiVersion: 'v1', kind: 'Node', name: 'n1' } });
    await pods.delete('a', { gracePeriodSeconds: 0 });
    await eventually(() => events.some((e) => e.type === 'DELETED'), 'the DELETED event');
    assert.deepEqual(events.map((e) => e.type), ['MODIFIED', 'DELETED']);
    assert.equal(events[0]!.object.spec?.nodeName, 'n1');
    abort.abort();
    await done;
    await api.storage.compact(await api.storage.currentRevision());
    const expired = pods.watch({ resourceVersion: list.metadata.resourceVersion }, new AbortController().signal);
    const first = (await expired[Symbol.asyncIterator]().next()).value as WatchEvent;
    assert.equal(first.type, 'ERROR');
    assert.ok(isResourceExpired({ status: first.object, reason: (first.object as { reason?: string }).reason }) || (first.object as { code?: number }).code === 410);
  });

  await t.test('an informer over the in-process client syncs and follows 100 concurrent creates', async () => {
    const abort = new AbortController();
    const inf = newInformer<Pod>({ client, gvr: Resources.pods, clock: realClock });
    const run = inf.run(abort.signal);
    await eventually(() => inf.hasSynced(), 'sync');
    await Promise.all(Array.from({ length: 100 }, (_, i) => pods.create(newPod(`many-${i}`))));
    await eventually(() => inf.lister.list('default').length === 100, '100 pods in the cache');
    abort.abort();
    await run;
  });
});
