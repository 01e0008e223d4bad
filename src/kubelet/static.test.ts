import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pod } from '../client/objects.js';
import {
  ConfigFirstSeenAnnotationKey,
  ConfigHashAnnotationKey,
  ConfigMirrorAnnotationKey,
  ConfigSourceAnnotationKey,
  applyStaticPodDefaults,
  decodeStaticPodManifest,
  isMirrorPod,
  isStaticPod,
  readManifests,
  rfc3339Nano,
  staticPodName,
  staticPodUID,
} from './static.js';

const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: etcd
  labels:
    component: etcd
spec:
  containers:
  - name: etcd
    image: registry.k8s.io/etcd:3.5.16-0
`;

test('a YAML manifest is defaulted as the kubelet file source does', () => {
  const pod = decodeStaticPodManifest(manifest);
  const out = applyStaticPodDefaults(pod, { source: '/etc/kubernetes/manifests/etcd.yaml', nodeName: 'Node-A', seen: '2026-01-02T03:04:05.5Z' });
  const uid = staticPodUID(pod, '/etc/kubernetes/manifests/etcd.yaml', 'Node-A');
  assert.match(uid, /^[0-9a-f]{32}$/);
  assert.equal(out.metadata!.uid, uid);
  assert.equal(out.metadata!.name, 'etcd-node-a');
  assert.equal(out.metadata!.namespace, 'default');
  assert.equal(out.spec!.nodeName, 'Node-A');
  assert.deepEqual(out.spec!.tolerations, [{ operator: 'Exists', effect: 'NoExecute' }]);
  assert.deepEqual(out.metadata!.annotations, {
    [ConfigHashAnnotationKey]: uid,
    [ConfigFirstSeenAnnotationKey]: '2026-01-02T03:04:05.5Z',
    [ConfigSourceAnnotationKey]: 'file',
  });
  assert.deepEqual(out.metadata!.labels, { component: 'etcd' });
  assert.equal(out.status!.phase, 'Pending');
  assert.equal(isStaticPod(out), true);
  assert.equal(isMirrorPod(out), false);
  // The input is not modified.
  assert.equal(pod.metadata!.name, 'etcd');
});

test('a namespace and a UID in the manifest are kept', () => {
  const pod = decodeStaticPodManifest(JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'x', namespace: 'kube-system', uid: 'fixed' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } }));
  const out = applyStaticPodDefaults(pod, { source: '/m/x.json', nodeName: 'n', seen: 's' });
  assert.equal(out.metadata!.namespace, 'kube-system');
  assert.equal(out.metadata!.uid, 'fixed');
  assert.equal(out.metadata!.annotations![ConfigHashAnnotationKey], 'fixed');
});

test('the UID depends on the content, the file and the node, not on key order', () => {
  const a = decodeStaticPodManifest(manifest);
  const reordered = decodeStaticPodManifest(JSON.stringify({ spec: a.spec, metadata: a.metadata, kind: 'Pod', apiVersion: 'v1' }));
  const uid = staticPodUID(a, '/m/etcd.yaml', 'n1');
  assert.equal(staticPodUID(reordered, '/m/etcd.yaml', 'n1'), uid);
  assert.notEqual(staticPodUID(a, '/m/other.yaml', 'n1'), uid);
  assert.notEqual(staticPodUID(a, '/m/etcd.yaml', 'n2'), uid);
  const changed = decodeStaticPodManifest(manifest.replace('3.5.16-0', '3.5.17-0'));
  assert.notEqual(staticPodUID(changed, '/m/etcd.yaml', 'n1'), uid);
});

for (const tc of [
  { name: 'empty', text: '', err: /empty/ },
  { name: 'not a pod', text: 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\n', err: /invalid pod: want apiVersion v1, kind Pod/ },
  { name: 'no name', text: 'apiVersion: v1\nkind: Pod\nspec: {containers: [{name: c, image: i}]}\n', err: /metadata.name: Required value/ },
  { name: 'no containers', text: 'apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec: {}\n', err: /spec.containers: Required value/ },
  { name: 'two documents', text: `${manifest}---\n${manifest}`, err: /several documents/ },
  { name: 'broken YAML', text: 'apiVersion: v1\nkind: [Pod\n', err: /invalid YAML/ },
]) {
  test(`decodeStaticPodManifest rejects: ${tc.name}`, () => {
    assert.throws(() => decodeStaticPodManifest(tc.text), tc.err);
  });
}

test('readManifests reads regular non-hidden files in order and reports broken ones', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flotilla-static-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'b.yaml'), manifest);
  writeFileSync(join(dir, 'a.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'a' }, spec: { containers: [{ name: 'c', image: 'i' }] } }));
  writeFileSync(join(dir, '.swp'), 'junk');
  writeFileSync(join(dir, 'c.txt'), 'not: a pod');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'sub', 'd.yaml'), manifest);
  const r = readManifests(dir);
  assert.deepEqual(r.map((x) => [x.file.slice(dir.length + 1), x.pod?.metadata?.name ?? x.error]), [
    ['a.json', 'a'],
    ['b.yaml', 'etcd'],
    ['c.txt', 'invalid pod: want apiVersion v1, kind Pod; got undefined, undefined'],
  ]);
  assert.deepEqual(readManifests(join(dir, 'b.yaml')).map((x) => x.pod?.metadata?.name), ['etcd']);
  assert.deepEqual(readManifests(join(dir, 'missing')), []);
});

test('helpers: staticPodName, rfc3339Nano, isMirrorPod', () => {
  assert.equal(staticPodName('kube-apiserver', 'Control-Plane'), 'kube-apiserver-control-plane');
  assert.equal(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 120)), '2026-01-02T03:04:05.12Z');
  assert.equal(rfc3339Nano(Date.UTC(2026, 0, 2, 3, 4, 5, 0)), '2026-01-02T03:04:05Z');
  const mirror: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { annotations: { [ConfigMirrorAnnotationKey]: 'h', [ConfigSourceAnnotationKey]: 'file' } } };
  assert.equal(isMirrorPod(mirror), true);
  assert.equal(isStaticPod({ apiVersion: 'v1', kind: 'Pod', metadata: { annotations: { [ConfigSourceAnnotationKey]: 'api' } } }), false);
});
