/**
 * Static pods against a real API server (both storage backends) on the simulated runtime: a
 * manifest file becomes a mirror pod `<name>-<node>` that kubectl shows Running; deleting
 * the mirror pod through the API brings it back; editing the file replaces it; removing the
 * file removes it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { Resources } from '../../src/client/interface.js';
import type { Node, Pod } from '../../src/client/objects.js';
import { SimulatedRuntime, startKubelet, simulatedMachineInfo } from '../../src/kubelet/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { tempDir } from '../util/tmp.js';
import { eventually } from '../util/wait.js';

const manifest = (image: string) => `apiVersion: v1
kind: Pod
metadata:
  name: web
  namespace: kube-system
  labels:
    tier: control-plane
spec:
  containers:
  - name: web
    image: ${image}
    imagePullPolicy: IfNotPresent
`;

for (const backend of backends) {
  test(`a static pod shows as a Running mirror pod that follows its manifest (${backend.name})`, { skip: backend.skip }, async (t) => {
    const api = await startBackendApiServer(t, backend);
    const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet');
    t.after(() => client.close());
    const dir = tempDir(t, 'flotilla-manifests-');
    const file = join(dir, 'web.yaml');
    writeFileSync(file, manifest('nginx:1.27'));
    const podCIDR = '10.244.9.0/24';
    const kubelet = await startKubelet({
      client,
      nodeName: 'static-1',
      runtime: new SimulatedRuntime({ clock: realClock, podCIDR }),
      clock: realClock,
      logger: silentLogger(),
      podCIDR,
      machine: simulatedMachineInfo({ name: 'static-1', internalIP: '172.16.0.9' }),
      staticPodPath: dir,
    });
    t.after(() => kubelet.stop());
    const pods = client.resource<Pod>(Resources.pods, 'kube-system');

    // The manifest → a mirror pod named <name>-<node>, Running, status written by the kubelet.
    await eventually('mirror pod Running in kubectl', async () => /^web-static-1\s+1\/1\s+Running\s+0\s/m.test(await api.ok(['get', 'pods', '-n', 'kube-system'])));
    const mirror = await pods.get('web-static-1');
    const ann = mirror.metadata!.annotations!;
    assert.equal(ann['kubernetes.io/config.source'], 'file');
    assert.match(ann['kubernetes.io/config.hash']!, /^[0-9a-f]{32}$/);
    assert.equal(ann['kubernetes.io/config.mirror'], ann['kubernetes.io/config.hash']);
    assert.ok(ann['kubernetes.io/config.seen']);
    assert.notEqual(mirror.metadata!.uid, ann['kubernetes.io/config.hash']);
    assert.equal(mirror.spec!.nodeName, 'static-1');
    assert.deepEqual(mirror.metadata!.labels, { tier: 'control-plane' });
    const node = await client.resource<Node>(Resources.nodes).get('static-1');
    assert.deepEqual(mirror.metadata!.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: 'static-1', uid: node.metadata!.uid, controller: true }]);
    assert.equal(mirror.status!.phase, 'Running');
    assert.match(mirror.status!.podIP!, /^10\.244\.9\./);
    // Mirror pods get no service account token.
    assert.equal((mirror.spec!.volumes ?? []).length, 0);
    const hash = ann['kubernetes.io/config.hash'];

    // Deleting the mirror pod through the API: it comes back (a new object, same hash).
    // --wait=false: kubectl 1.32 waits for a DELETED event of whatever object its list
    // finds by name, and the kubelet may have recreated the mirror pod by then (upstream too).
    await api.ok(['delete', 'pod', '-n', 'kube-system', 'web-static-1', '--wait=false']);
    await eventually('mirror pod recreated and Running', async () => {
      const p = await pods.get('web-static-1');
      return p.metadata!.uid !== mirror.metadata!.uid && !p.metadata!.deletionTimestamp && p.status?.phase === 'Running';
    });
    assert.equal((await pods.get('web-static-1')).metadata!.annotations!['kubernetes.io/config.mirror'], hash);

    // Editing the manifest: the mirror pod is replaced with the new spec and hash.
    writeFileSync(file, manifest('nginx:1.28'));
    await eventually('mirror pod updated', async () => {
      const p = await pods.get('web-static-1');
      return p.spec!.containers[0]!.image === 'nginx:1.28' && p.metadata!.annotations!['kubernetes.io/config.mirror'] !== hash && p.status?.phase === 'Running';
    });
    const updated = await pods.get('web-static-1');
    assert.equal(updated.metadata!.annotations!['kubernetes.io/config.mirror'], updated.metadata!.annotations!['kubernetes.io/config.hash']);

    // Removing the manifest: the mirror pod goes.
    rmSync(file);
    await eventually('mirror pod deleted', async () => {
      const r = await api.kubectl(['get', 'pod', '-n', 'kube-system', 'web-static-1']);
      return /NotFound/.test(r.stderr);
    });
    // Its sandbox is gone from the runtime too.
    await eventually('runtime empty', async () => kubelet.workers.size === 0);
  });
}

test('a broken manifest is skipped while the good ones run; a missing namespace is retried (embedded)', async (t) => {
  const api = await startBackendApiServer(t, backends[0]!);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet');
  t.after(() => client.close());
  const dir = tempDir(t, 'flotilla-manifests-');
  writeFileSync(join(dir, 'bad.yaml'), 'apiVersion: v1\nkind: Pod\nspec: {}\n');
  writeFileSync(join(dir, 'later.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: later, namespace: later}\nspec: {containers: [{name: c, image: busybox:1.36, imagePullPolicy: IfNotPresent}]}\n');
  writeFileSync(join(dir, 'good.json'), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'good' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent' }] } }));
  const podCIDR = '10.244.10.0/24';
  const kubelet = await startKubelet({
    client,
    nodeName: 'static-2',
    runtime: new SimulatedRuntime({ clock: realClock, podCIDR }),
    clock: realClock,
    logger: silentLogger(),
    podCIDR,
    machine: simulatedMachineInfo({ name: 'static-2', internalIP: '172.16.0.10' }),
    staticPodPath: dir,
  });
  t.after(() => kubelet.stop());
  await eventually('good mirror pod Running', async () => /^good-static-2\s+1\/1\s+Running\s/m.test(await api.ok(['get', 'pods'])));
  const all = await client.resource<Pod>(Resources.pods).list();
  assert.deepEqual(all.items.map((p) => p.metadata!.name), ['good-static-2']);
  // The mirror pod of a namespace that does not exist yet appears once it does.
  await api.ok(['create', 'namespace', 'later']);
  await eventually('mirror pod in the new namespace Running', async () => /^later-static-2\s+1\/1\s+Running\s/m.test(await api.ok(['get', 'pods', '-n', 'later'])));
});

test('a pod holding the mirror pod name keeps the mirror out until it is deleted; other pods on the node do not disturb the mirror (embedded)', async (t) => {
  const api = await startBackendApiServer(t, backends[0]!);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet');
  t.after(() => client.close());
  const dir = tempDir(t, 'flotilla-manifests-');
  writeFileSync(join(dir, 'web.yaml'), manifest('nginx:1.27'));
  const pods = client.resource<Pod>(Resources.pods, 'kube-system');
  // An ordinary pod already has the name the mirror pod would get.
  await pods.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web-static-3', namespace: 'kube-system' },
    spec: { nodeName: 'static-3', terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent' }] },
  });
  const podCIDR = '10.244.11.0/24';
  const kubelet = await startKubelet({
    client,
    nodeName: 'static-3',
    runtime: new SimulatedRuntime({ clock: realClock, podCIDR }),
    clock: realClock,
    logger: silentLogger(),
    podCIDR,
    machine: simulatedMachineInfo({ name: 'static-3', internalIP: '172.16.0.11' }),
    staticPodPath: dir,
  });
  t.after(() => kubelet.stop());
  await eventually('the ordinary pod Running', async () => (await pods.get('web-static-3')).status?.phase === 'Running');
  assert.equal((await pods.get('web-static-3')).metadata!.annotations?.['kubernetes.io/config.mirror'], undefined);

  // Once it is deleted, the mirror pod takes the name.
  await api.ok(['delete', 'pod', '-n', 'kube-system', 'web-static-3', '--wait=false']);
  await eventually('mirror pod created and Running', async () => {
    const p = await pods.get('web-static-3').catch(() => undefined);
    return p?.metadata!.annotations?.['kubernetes.io/config.mirror'] !== undefined && p.status?.phase === 'Running';
    // Sooner than the 20 s file check: the deletion itself must bring the mirror.
  }, 15_000);
  const mirror = await pods.get('web-static-3');

  // Another pod coming and going on the node leaves the mirror pod as it is.
  const other = client.resource<Pod>(Resources.pods, 'default');
  await other.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'other' }, spec: { nodeName: 'static-3', terminationGracePeriodSeconds: 0, containers: [{ name: 'c', image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent' }] } });
  await eventually('the other pod Running', async () => (await other.get('other')).status?.phase === 'Running');
  await api.ok(['delete', 'pod', 'other']);
  assert.equal((await pods.get('web-static-3')).metadata!.uid, mirror.metadata!.uid);
});
