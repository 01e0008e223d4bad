import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClient } from '../../client/fake.js';
import { Resources, keyOf, type Lister } from '../../client/interface.js';
import type { ControllerRevision } from '../../client/objects.js';
import { labelSelectorAsSelector } from '../../apimachinery/labels.js';
import { newConflict } from '../../apimachinery/errors.js';
import type { KObject } from '../../apimachinery/meta.js';
import { FakeClock } from '../../util/clock.js';
import {
  CONTROLLER_REVISION_HASH_LABEL, History, controllerRevisionName, equalRevision, findEqualRevisions, fnv32,
  goJSON, hashControllerRevision, maxRevision, newControllerRevision, nextRevision, revisionMatchesTemplate,
  revisionsToTruncate, sortControllerRevisions, templateFromRevision, templatePatch, type HistoryOwner,
} from './history.js';

function newOwner(image = 'nginx:1', name = 'web'): HistoryOwner {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: 'default', uid: 'uid-web', annotations: { 'kubernetes.io/change-cause': 'v1' } },
    spec: { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image }] } } },
  };
}

const ref = { apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true };

function newRevision(revision: number, image = 'nginx:1', created = '2026-01-01T00:00:00Z', name?: string): ControllerRevision {
  const owner = newOwner(image);
  const rev = newControllerRevision({ owner, controllerRef: ref, labels: { app: 'web' }, data: templatePatch(owner), revision });
  rev.metadata!.creationTimestamp = created;
  if (name) rev.metadata!.name = name;
  return rev;
}

function seedRevisions(client: FakeClient, ...revs: ControllerRevision[]): void {
  client.seed(Resources.controllerrevisions, ...(revs as unknown as KObject[]));
}

/** A lister over the fake client's current objects (the informer's view, without a watch). */
function listerOf(client: FakeClient): Lister<ControllerRevision> {
  const store = () => client.store(Resources.controllerrevisions) as unknown as Map<string, ControllerRevision>;
  return {
    get: (key) => store().get(key),
    list: (ns) => [...store().values()].filter((r) => ns === undefined || r.metadata?.namespace === ns),
    byIndex: () => [],
  };
}

test('controllerRevisionName cuts the prefix to 223 characters', () => {
  assert.equal(controllerRevisionName('web', 'abc'), 'web-abc');
  const long = 'x'.repeat(300);
  assert.equal(controllerRevisionName(long, 'abc'), `${'x'.repeat(223)}-abc`);
});

for (const tc of [
  { name: 'empty', input: '', want: 0x811c9dc5 },
  { name: 'a', input: 'a', want: 0x050c5d7e },
  { name: 'foobar', input: 'foobar', want: 0x31f0b262 },
]) {
  test(`fnv32 (FNV-1) of ${tc.name}`, () => {
    assert.equal(fnv32(new TextEncoder().encode(tc.input)), tc.want);
  });
}

test('goJSON sorts keys and escapes as Go', () => {
  assert.equal(goJSON({ b: 1, a: { d: '<&>', c: [2, 1] } }), '{"a":{"c":[2,1],"d":"\\u003c\\u0026\\u003e"},"b":1}');
});

test('hashControllerRevision is stable, safe-encoded and changes with the probe', () => {
  const data = templatePatch(newOwner());
  const h = hashControllerRevision(data);
  assert.equal(h, hashControllerRevision(structuredClone(data)));
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  assert.notEqual(hashControllerRevision(data, 1), h);
  assert.notEqual(hashControllerRevision(templatePatch(newOwner('nginx:2'))), h);
});

test('templatePatch replaces the template and templateFromRevision restores it', () => {
  const owner = newOwner();
  const patch = templatePatch(owner);
  assert.deepEqual(patch, { spec: { template: { ...owner.spec!.template, $patch: 'replace' } } });
  const rev = newRevision(1);
  assert.deepEqual(templateFromRevision(rev), owner.spec!.template);
  assert.ok(revisionMatchesTemplate(owner, rev));
  assert.ok(!revisionMatchesTemplate(newOwner('nginx:2'), rev));
});

test('newControllerRevision names, labels, annotates and owns the revision', () => {
  const rev = newRevision(3);
  const hash = rev.metadata!.labels![CONTROLLER_REVISION_HASH_LABEL]!;
  assert.equal(rev.metadata!.name, `web-${hash}`);
  assert.equal(rev.metadata!.labels!.app, 'web');
  assert.equal(rev.metadata!.annotations!['kubernetes.io/change-cause'], 'v1');
  assert.deepEqual(rev.metadata!.ownerReferences, [ref]);
  assert.equal(rev.revision, 3);
});

test('sortControllerRevisions orders by revision, then creation time, then name', () => {
  const a = newRevision(2, 'a', '2026-01-01T00:00:02Z', 'a');
  const b = newRevision(1, 'b', '2026-01-01T00:00:05Z', 'b');
  const c = newRevision(2, 'c', '2026-01-01T00:00:01Z', 'c');
  const d = newRevision(2, 'd', '2026-01-01T00:00:01Z', 'bb');
  assert.deepEqual(sortControllerRevisions([a, b, c, d]).map((r) => r.metadata!.name), ['b', 'bb', 'c', 'a']);
});

test('equalRevision and findEqualRevisions compare data', () => {
  const r1 = newRevision(1);
  const r2 = newRevision(2, 'nginx:2');
  const r3 = newRevision(3);
  assert.ok(equalRevision(undefined, undefined));
  assert.ok(!equalRevision(r1, undefined));
  assert.ok(equalRevision(r1, r3));
  assert.ok(!equalRevision(r1, r2));
  assert.deepEqual(findEqualRevisions([r1, r2, r3], newRevision(9)), [r1, r3]);
});

test('nextRevision and maxRevision', () => {
  assert.equal(nextRevision([]), 1);
  assert.equal(nextRevision(sortControllerRevisions([newRevision(4), newRevision(2)])), 5);
  assert.equal(maxRevision([]), 0);
  assert.equal(maxRevision([newRevision(4), newRevision(7, 'x')]), 7);
});

for (const tc of [
  { name: 'under the limit', revs: [1, 2, 3], live: [3], limit: 10, want: [] as number[] },
  { name: 'oldest non-live go first', revs: [5, 1, 2, 3, 4], live: [5], limit: 2, want: [1, 2] },
  { name: 'live revisions are kept whatever their age', revs: [1, 2, 3, 4], live: [1, 4], limit: 1, want: [2] },
  { name: 'limit 0 keeps only live ones', revs: [1, 2, 3], live: [3], limit: 0, want: [1, 2] },
]) {
  test(`revisionsToTruncate: ${tc.name}`, () => {
    const revs = tc.revs.map((n) => newRevision(n, `img${n}`, '2026-01-01T00:00:00Z', `r${n}`));
    const got = revisionsToTruncate(revs, (r) => tc.live.includes(r.revision), tc.limit);
    assert.deepEqual(got.map((r) => r.revision), tc.want);
  });
}

test('History.createControllerRevision resolves name collisions by bumping the count', async () => {
  const client = new FakeClient({ clock: new FakeClock() });
  const history = new History({ client, lister: listerOf(client) });
  const owner = newOwner();
  const rev = newControllerRevision({ owner, controllerRef: ref, labels: { app: 'web' }, data: templatePatch(owner), revision: 1, collisionCount: 0 });
  // Another template already holds the name the first hash gives.
  const squatter = newRevision(1, 'other', undefined, rev.metadata!.name);
  seedRevisions(client, squatter);
  const { revision, collisionCount } = await history.createControllerRevision(owner, rev, 0);
  assert.equal(collisionCount, 1);
  assert.equal(revision.metadata!.name, `web-${hashControllerRevision(rev.data, 1)}`);
  assert.equal(revision.metadata!.labels![CONTROLLER_REVISION_HASH_LABEL], hashControllerRevision(rev.data, 1));

  // Creating the same data again finds the existing revision instead of colliding.
  const again = await history.createControllerRevision(owner, rev, 1);
  assert.equal(again.collisionCount, 1);
  assert.equal(again.revision.metadata!.uid, revision.metadata!.uid);
});

test('History.listControllerRevisions keeps owned and orphaned revisions matching the selector', () => {
  const client = new FakeClient({ clock: new FakeClock() });
  const owned = newRevision(1, 'a', undefined, 'owned');
  const orphan = { ...newRevision(2, 'b', undefined, 'orphan'), metadata: { ...newRevision(2, 'b').metadata, name: 'orphan', ownerReferences: [] } };
  const foreign = newRevision(3, 'c', undefined, 'foreign');
  foreign.metadata!.ownerReferences = [{ ...ref, uid: 'someone-else' }];
  const unlabelled = newRevision(4, 'd', undefined, 'unlabelled');
  unlabelled.metadata!.labels = {};
  seedRevisions(client, owned, orphan, foreign, unlabelled);
  const history = new History({ client, lister: listerOf(client) });
  const got = history.listControllerRevisions(newOwner(), labelSelectorAsSelector({ matchLabels: { app: 'web' } }));
  assert.deepEqual(got.map((r) => r.metadata!.name).sort(), ['orphan', 'owned']);
});

test('History.updateControllerRevision retries a conflict against a fresh copy', async () => {
  const client = new FakeClient({ clock: new FakeClock() });
  seedRevisions(client, newRevision(1, 'a', undefined, 'r1'));
  const history = new History({ client, lister: listerOf(client) });
  const cached = listerOf(client).get('default/r1')!;
  let conflicts = 1;
  client.prependReactor('update', 'controllerrevisions', () => (conflicts-- > 0 ? { error: newConflict({ group: 'apps', resource: 'controllerrevisions' }, 'r1', 'stale') } : undefined));
  const updated = await history.updateControllerRevision(cached, 5);
  assert.equal(updated.revision, 5);
  assert.equal(listerOf(client).get(keyOf(updated))!.revision, 5);
});

test('History adopt and release patch the controllerRef', async () => {
  const client = new FakeClient({ clock: new FakeClock() });
  const orphan = newRevision(1, 'a', undefined, 'r1');
  orphan.metadata!.ownerReferences = [];
  seedRevisions(client, orphan);
  const history = new History({ client, lister: listerOf(client) });
  const adopted = await history.adoptControllerRevision(ref, listerOf(client).get('default/r1')!);
  assert.equal(adopted.metadata!.ownerReferences?.[0]?.uid, 'uid-web');
  await assert.rejects(history.adoptControllerRevision(ref, adopted), /attempt to adopt revision owned by/);
  client.clearActions();
  await history.releaseControllerRevision('uid-web', adopted);
  // The fake merges lists like JSON merge patch, so check the patch sent rather than its result.
  const patch = client.actions().find((a) => a.verb === 'patch');
  assert.deepEqual(patch?.object, { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'uid-web' }], uid: adopted.metadata!.uid } });
});
