import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Pod, StatefulSet } from '../../client/objects.js';
import {
  applyRevision, getParentNameAndOrdinal, identityMatches, isCreated, newRevision, newStatefulSetPod,
  newVersionedStatefulSetPod, podInOrdinalRange, storageMatches, updateIdentity,
} from './utils.js';

function newSet(spec: Partial<NonNullable<StatefulSet['spec']>> = {}, status?: StatefulSet['status']): StatefulSet {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-web' },
    spec: {
      replicas: 3,
      serviceName: 'nginx',
      selector: { matchLabels: { app: 'nginx' } },
      template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1' }] } },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

function podNamed(name: string): Pod {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' } };
}

for (const tc of [
  { name: 'web-0', want: { parent: 'web', ordinal: 0 } },
  { name: 'my-web-12', want: { parent: 'my-web', ordinal: 12 } },
  { name: 'web', want: { parent: '', ordinal: -1 } },
  { name: 'web-x', want: { parent: '', ordinal: -1 } },
  { name: 'web-99999999999', want: { parent: 'web', ordinal: -1 } },
]) {
  test(`getParentNameAndOrdinal(${tc.name})`, () => {
    assert.deepEqual(getParentNameAndOrdinal(podNamed(tc.name)), tc.want);
  });
}

test('podInOrdinalRange honours spec.ordinals.start', () => {
  const set = newSet({ replicas: 2, ordinals: { start: 5 } });
  assert.deepEqual(['web-4', 'web-5', 'web-6', 'web-7'].map((n) => podInOrdinalRange(podNamed(n), set)), [false, true, true, false]);
});

test('newStatefulSetPod gives the pod its stable identity', () => {
  const pod = newStatefulSetPod(newSet(), 2);
  assert.equal(pod.metadata?.name, 'web-2');
  assert.equal(pod.metadata?.namespace, 'default');
  assert.equal(pod.spec?.hostname, 'web-2');
  assert.equal(pod.spec?.subdomain, 'nginx');
  assert.ok(identityMatches(newSet(), pod));
  assert.ok(storageMatches(newSet(), pod));
  assert.ok(!isCreated(pod), 'built in memory, not created');
  assert.deepEqual(pod.metadata?.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'uid-web', controller: true, blockOwnerDeletion: true }]);
});

test('identity is repaired by updateIdentity', () => {
  const set = newSet();
  const pod: Pod = { ...podNamed('web-1'), metadata: { name: 'web-1', namespace: 'default', labels: { app: 'nginx' } } };
  assert.ok(!identityMatches(set, pod));
  updateIdentity(set, pod);
  assert.ok(identityMatches(set, pod));
  assert.equal(pod.metadata?.labels?.['apps.kubernetes.io/pod-index'], '1');
});

test('newVersionedStatefulSetPod: below the partition at the current revision, else the update revision', () => {
  const current = newSet({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } });
  const update = newSet({ template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:2' }] } } });
  const at = (ord: number) => {
    const p = newVersionedStatefulSetPod(current, update, 'web-a', 'web-b', ord);
    return [p.metadata?.labels?.['controller-revision-hash'], p.spec?.containers[0]?.image];
  };
  assert.deepEqual([at(0), at(1), at(2)], [['web-a', 'nginx:1'], ['web-a', 'nginx:1'], ['web-b', 'nginx:2']]);

  // Without rollingUpdate, currentReplicas plays the partition's part (upstream's precedence).
  const noRU = newSet({ updateStrategy: { type: 'RollingUpdate' } }, { replicas: 3, currentReplicas: 1 });
  assert.equal(newVersionedStatefulSetPod(noRU, update, 'web-a', 'web-b', 0).metadata?.labels?.['controller-revision-hash'], 'web-a');
  assert.equal(newVersionedStatefulSetPod(noRU, update, 'web-a', 'web-b', 1).metadata?.labels?.['controller-revision-hash'], 'web-b');
  // OnDelete recreates at the update revision.
  const onDelete = newSet({ updateStrategy: { type: 'OnDelete' } });
  assert.equal(newVersionedStatefulSetPod(onDelete, update, 'web-a', 'web-b', 0).metadata?.labels?.['controller-revision-hash'], 'web-b');
});

test('newRevision and applyRevision round-trip the template', () => {
  const v1 = newSet();
  const rev = newRevision(v1, 1, 0);
  assert.match(rev.metadata?.name ?? '', /^web-[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  const v2 = newSet({ template: { metadata: { labels: { app: 'nginx' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:2' }] } } });
  assert.deepEqual(applyRevision(v2, rev).spec?.template, v1.spec?.template);
  assert.notEqual(newRevision(v1, 1, 1).metadata?.name, rev.metadata?.name, 'the collision count changes the name');
});
