import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../../util/clock.js';
import type { Pod } from '../../client/objects.js';
import { formatRFC3339 } from '../../apimachinery/meta.js';
import { selectorFromSet } from '../../apimachinery/labels.js';
import { newNotFound } from '../../apimachinery/errors.js';
import {
  ControllerExpectations, UIDTrackingControllerExpectations, EXPECTATIONS_TIMEOUT_MS, computeHash, fnv32a, safeEncodeString,
  slowStartBatch, sortActivePodsWithRanks, getPodsToDelete, ControllerRefManager, getPodFromTemplate, setDeploymentCondition,
  setCondition, isPodAvailable,
} from './index.js';

const NOW = Date.UTC(2026, 0, 1, 12);

function newPod(name: string, o: { node?: string; phase?: string; ready?: boolean; readyAgoS?: number; createdAgoS?: number; restarts?: number; labels?: Record<string, string>; owner?: string; cost?: string } = {}): Pod {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: 'default', uid: `uid-${name}`, labels: o.labels ?? { app: 'web' },
      creationTimestamp: formatRFC3339(NOW - (o.createdAgoS ?? 1000) * 1000),
      ...(o.cost ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': o.cost } } : {}),
      ...(o.owner ? { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: o.owner, controller: true }] } : {}),
    },
    spec: { containers: [{ name: 'c', image: 'nginx' }], ...(o.node ? { nodeName: o.node } : {}) },
    status: {
      phase: (o.phase ?? 'Running') as 'Running',
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: formatRFC3339(NOW - (o.readyAgoS ?? 500) * 1000) }],
      containerStatuses: [{ name: 'c', image: 'nginx', imageID: '', ready: true, restartCount: o.restarts ?? 0 }],
    },
  };
}

test('computeHash: safe-encoded decimal FNV-32a, stable, changes with collisionCount', () => {
  const tpl = { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx' }] } };
  const h = computeHash(tpl);
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  assert.equal(computeHash(JSON.parse(JSON.stringify(tpl))), h);
  assert.equal(computeHash({ spec: tpl.spec, metadata: tpl.metadata }), h, 'key order does not matter');
  assert.notEqual(computeHash(tpl, 1), h);
  assert.notEqual(computeHash({ ...tpl, spec: { containers: [{ name: 'nginx', image: 'nginx:2' }] } }), h);
  // FNV-1a test vectors and SafeEncodeString's digit mapping ("0123456789" → "456789bcdf").
  assert.equal(fnv32a(new TextEncoder().encode('')), 0x811c9dc5);
  assert.equal(fnv32a(new TextEncoder().encode('a')), 0xe40c292c);
  assert.equal(safeEncodeString('0123456789'), '456789bcdf');
});

test('ControllerExpectations: satisfied when observed or expired', () => {
  const clock = new FakeClock(NOW);
  const e = new ControllerExpectations({ clock });
  assert.equal(e.satisfiedExpectations('ns/a'), true);
  e.expectCreations('ns/a', 2);
  assert.equal(e.satisfiedExpectations('ns/a'), false);
  e.creationObserved('ns/a');
  assert.equal(e.satisfiedExpectations('ns/a'), false);
  e.creationObserved('ns/a');
  assert.equal(e.satisfiedExpectations('ns/a'), true);
  e.expectCreations('ns/a', 1);
  clock.step(EXPECTATIONS_TIMEOUT_MS);
  assert.equal(e.satisfiedExpectations('ns/a'), false);
  clock.step(1);
  assert.equal(e.satisfiedExpectations('ns/a'), true);
});

test('UIDTrackingControllerExpectations: a pod deletion counts once', () => {
  const e = new UIDTrackingControllerExpectations({ clock: new FakeClock(NOW) });
  e.expectDeletionsOf('ns/a', ['ns/p1', 'ns/p2']);
  e.deletionObserved('ns/a', 'ns/p1');
  e.deletionObserved('ns/a', 'ns/p1');
  assert.equal(e.satisfiedExpectations('ns/a'), false);
  e.deletionObserved('ns/a', 'ns/p2');
  assert.equal(e.satisfiedExpectations('ns/a'), true);
});

test('slowStartBatch: 1, 2, 4 … and stops at the first failing batch', async () => {
  const batches: number[] = [];
  let inFlight = 0;
  let calls = 0;
  const r = await slowStartBatch(10, 1, async () => {
    calls++;
    inFlight++;
    await Promise.resolve();
    batches.push(inFlight);
    inFlight--;
  });
  assert.deepEqual(r, { successes: 10 });
  assert.equal(calls, 10);
  let n = 0;
  const failing = await slowStartBatch(10, 1, async () => {
    n++;
    if (n === 3) throw new Error('quota');
  });
  assert.equal(n, 3, 'batches of 1 and 2, then stop');
  assert.equal(failing.successes, 2);
  assert.equal((failing.error as Error).message, 'quota');
});

const orderCases: { name: string; pods: Pod[]; want: string[] }[] = [
  { name: 'unassigned before assigned', pods: [newPod('a', { node: 'n1' }), newPod('b')], want: ['b', 'a'] },
  { name: 'pending < unknown < running', pods: [newPod('r', { node: 'n', phase: 'Running' }), newPod('u', { node: 'n', phase: 'Unknown' }), newPod('p', { node: 'n', phase: 'Pending' })], want: ['p', 'u', 'r'] },
  { name: 'not ready before ready', pods: [newPod('a', { node: 'n' }), newPod('b', { node: 'n', ready: false })], want: ['b', 'a'] },
  { name: 'lower deletion cost first', pods: [newPod('a', { node: 'n', cost: '10' }), newPod('b', { node: 'n', cost: '-5' })], want: ['b', 'a'] },
  { name: 'recently ready first', pods: [newPod('old', { node: 'n', readyAgoS: 10000 }), newPod('new', { node: 'n', readyAgoS: 10 })], want: ['new', 'old'] },
  { name: 'more restarts first', pods: [newPod('a', { node: 'n' }), newPod('b', { node: 'n', restarts: 3 })], want: ['b', 'a'] },
  { name: 'newer first', pods: [newPod('old', { node: 'n', createdAgoS: 100000 }), newPod('new', { node: 'n', createdAgoS: 10 })], want: ['new', 'old'] },
];
for (const tc of orderCases) {
  test(`sortActivePodsWithRanks: ${tc.name}`, () => {
    assert.deepEqual(sortActivePodsWithRanks(tc.pods, undefined, NOW).map((p) => p.metadata!.name), tc.want);
  });
}

test('getPodsToDelete: doubled-up nodes first', () => {
  const pods = [newPod('a', { node: 'n1' }), newPod('b', { node: 'n2' }), newPod('c', { node: 'n2' })];
  assert.deepEqual(getPodsToDelete(pods, pods, 1, NOW).map((p) => p.metadata!.name).sort(), ['b']);
});

test('isPodAvailable honours minReadySeconds', () => {
  const p = newPod('a', { readyAgoS: 5 });
  assert.equal(isPodAvailable(p, 0, NOW), true);
  assert.equal(isPodAvailable(p, 4, NOW), true);
  assert.equal(isPodAvailable(p, 5, NOW), false, 'ready for exactly minReadySeconds is not yet available');
});

test('getPodFromTemplate: generateName, labels, annotations, controllerRef', () => {
  const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'web-abc', namespace: 'default', uid: 'u1' } };
  const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-abc', uid: 'u1', controller: true, blockOwnerDeletion: true };
  const pod = getPodFromTemplate({ metadata: { labels: { app: 'web' }, annotations: { a: 'b' } }, spec: { containers: [{ name: 'c' }] } }, owner, ref);
  assert.equal(pod.metadata!.generateName, 'web-abc-');
  assert.deepEqual(pod.metadata!.labels, { app: 'web' });
  assert.deepEqual(pod.metadata!.annotations, { a: 'b' });
  assert.deepEqual(pod.metadata!.ownerReferences, [ref]);
  assert.deepEqual(pod.spec, { containers: [{ name: 'c' }] });
});

test('ControllerRefManager: adopts matching orphans, releases non-matching, ignores others', async () => {
  const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: 'default', uid: 'me' } };
  const ref = { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'me', controller: true, blockOwnerDeletion: true };
  const patched: [string, unknown][] = [];
  const m = new ControllerRefManager<Pod>({
    controller: owner, controllerRef: ref, selector: selectorFromSet({ app: 'web' }),
    canAdopt: async () => {},
    patch: async (p, patch) => {
      if (p.metadata!.name === 'gone') throw newNotFound({ group: '', resource: 'pods' }, 'gone');
      patched.push([p.metadata!.name!, patch]);
    },
  });
  const claimed = await m.claim([
    newPod('mine', { owner: 'me' }),
    newPod('orphan'),
    newPod('other', { owner: 'someone' }),
    newPod('mismatch', { owner: 'me', labels: { app: 'db' } }),
    newPod('orphan-mismatch', { labels: { app: 'db' } }),
    newPod('gone'),
  ]);
  assert.deepEqual(claimed.map((p) => p.metadata!.name), ['mine', 'orphan']);
  assert.deepEqual(patched, [
    ['orphan', { metadata: { ownerReferences: [ref], uid: 'uid-orphan' } }],
    ['mismatch', { metadata: { ownerReferences: [{ $patch: 'delete', uid: 'me' }], uid: 'uid-mismatch' } }],
  ]);
});

test('ControllerRefManager: no adoption when the fresh owner is gone', async () => {
  const owner = { apiVersion: 'apps/v1', kind: 'ReplicaSet', metadata: { name: 'rs', namespace: 'default', uid: 'me' } };
  const m = new ControllerRefManager<Pod>({
    controller: owner, controllerRef: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'me', controller: true },
    selector: selectorFromSet({ app: 'web' }),
    canAdopt: async () => { throw new Error('original ReplicaSet default/rs is gone'); },
    patch: async () => assert.fail('must not patch'),
  });
  await assert.rejects(m.claim([newPod('orphan')]), /can't adopt default\/orphan/);
});

test('condition helpers keep lastTransitionTime when status is unchanged', () => {
  const c1: { type: string; status: string; reason: string; lastTransitionTime: string; lastUpdateTime: string; message?: string } = { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', lastTransitionTime: 't1', lastUpdateTime: 't1' };
  const c2 = { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', lastTransitionTime: 't2', lastUpdateTime: 't2' };
  assert.deepEqual(setDeploymentCondition([c1], c2), [{ ...c2, lastTransitionTime: 't1' }]);
  assert.deepEqual(setCondition([c1], { ...c1, message: 'x' }), [c1]);
});
