/**
 * The DaemonSet and StatefulSet controllers against a real Flotilla API server, driven and
 * read with the real kubectl: get ds, rollout status/history/undo for ds and sts, scale
 * sts. No scheduler or kubelet runs: the test stands in for both, binding each daemon pod
 * to the node its affinity names, marking pods Running and Ready, and finishing graceful
 * deletions.
 */
import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { formatRFC3339, type KObject } from '../../src/apimachinery/meta.js';
import { newEventRecorder } from '../../src/client/events.js';
import { newInformerFactory } from '../../src/client/informer.js';
import { Resources, type Client } from '../../src/client/interface.js';
import type { ControllerRevision, Node, Pod, Taint } from '../../src/client/objects.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { getTargetNodeName, newDaemonSetController } from '../../src/controllers/daemonset/index.js';
import { newStatefulSetController } from '../../src/controllers/statefulset/index.js';
import { defaultControllerManagerOptions, type ControllerContext } from '../../src/controllers/types.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { eventually } from '../util/wait.js';

/**
 * Stands in for the scheduler and the kubelets: binds pods pinned to a node by affinity,
 * marks pods Running and Ready, and completes graceful deletions.
 */
function fakeNodeAgents(client: Client, signal: AbortSignal): Promise<void> {
  const all = client.resource<Pod & KObject>(Resources.pods);
  return (async () => {
    while (!signal.aborted) {
      try {
        for (const p of (await all.list()).items) {
          const pods = client.resource<Pod & KObject>(Resources.pods, p.metadata?.namespace);
          const name = p.metadata?.name ?? '';
          if (p.metadata?.deletionTimestamp) {
            await pods.delete(name, { gracePeriodSeconds: 0 }).catch(() => undefined);
            continue;
          }
          const target = getTargetNodeName(p);
          if (!p.spec?.nodeName && target) {
            await pods.createSubresource(name, 'binding', {
              apiVersion: 'v1', kind: 'Binding', metadata: { name }, target: { apiVersion: 'v1', kind: 'Node', name: target },
            }).catch(() => undefined);
          }
          if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
          const now = formatRFC3339(Date.now());
          const fresh = await pods.get(name);
          await pods.updateStatus({
            ...fresh,
            status: {
              ...fresh.status,
              phase: 'Running',
              conditions: [
                { type: 'Initialized', status: 'True', lastTransitionTime: now },
                { type: 'Ready', status: 'True', lastTransitionTime: now },
                { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
                { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
              ],
            },
          }).catch(() => undefined);
        }
      } catch { /* the next round retries */ }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
}

function newNode(name: string, taints: Taint[] = []): Node & KObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, 'kubernetes.io/os': 'linux' } },
    spec: { taints },
    status: { conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

const daemonSetYAML = (image: string) => `
apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: kube-proxy
  namespace: kube-system
  labels:
    k8s-app: kube-proxy
spec:
  selector:
    matchLabels:
      k8s-app: kube-proxy
  template:
    metadata:
      labels:
        k8s-app: kube-proxy
    spec:
      hostNetwork: true
      containers:
      - name: kube-proxy
        image: ${image}
`;

const statefulSetYAML = `
apiVersion: v1
kind: Service
metadata:
  name: nginx
spec:
  clusterIP: None
  selector:
    app: nginx
  ports:
  - port: 80
    name: web
---
apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  serviceName: nginx
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
          name: web
        volumeMounts:
        - name: www
          mountPath: /usr/share/nginx/html
  volumeClaimTemplates:
  - metadata:
      name: www
    spec:
      accessModes: ["ReadWriteOnce"]
      resources:
        requests:
          storage: 1Gi
`;

for (const backend of backends) test(`daemon sets and stateful sets with kubectl (${backend.name})`, { skip: backend.skip }, async (t) => {
  // Teardown in a real cluster's order (after hooks run first-registered first): the
  // controllers stop, then their client, then the API server.
  const ac = new AbortController();
  setMaxListeners(100, ac.signal);
  let running: Promise<unknown> = Promise.resolve();
  let closeClient: () => Promise<void> = async () => {};
  t.after(async () => {
    ac.abort();
    await running;
    await closeClient();
  });
  const api = await startBackendApiServer(t, backend);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'sets-test/v0.0.0');
  closeClient = () => client.close();
  const logger = silentLogger();
  const informers = newInformerFactory({ client, clock: realClock, logger });
  const ctx: ControllerContext = {
    client,
    informers,
    recorder: (component) => newEventRecorder({ client, component, clock: realClock, logger }),
    clock: realClock,
    logger,
    registry: new Registry(),
    options: { ...defaultControllerManagerOptions, workers: 2 },
  };
  const controllers = [newDaemonSetController(ctx), newStatefulSetController(ctx)];
  assert.deepEqual(controllers.map((c) => c.name), ['daemonset', 'statefulset']);
  informers.start(ac.signal);
  running = Promise.all([...controllers.map((c) => c.run(ac.signal)), fakeNodeAgents(client, ac.signal)]);

  const nodes = client.resource<Node & KObject>(Resources.nodes);
  for (const n of [newNode('worker-1'), newNode('worker-2'), newNode('control-plane', [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }])]) {
    await nodes.create(n);
  }
  const livePods = async (ns: string, selector: string) => (await client.resource<Pod & KObject>(Resources.pods, ns).list({ labelSelector: selector })).items
    .filter((p) => !p.metadata?.deletionTimestamp);

  await t.test('a DaemonSet runs one pod per untainted node: kubectl get ds, rollout status', async () => {
    assert.equal(await api.ok(['apply', '-f', '-'], { input: daemonSetYAML('kube-proxy:v1.32.0') }), 'daemonset.apps/kube-proxy created\n');
    const status = await api.ok(['rollout', 'status', 'ds/kube-proxy', '-n', 'kube-system', '--timeout=60s']);
    assert.match(status, /daemon set "kube-proxy" successfully rolled out\n$/);
    // The node informer may trail the DaemonSet's by a moment: wait for both workers.
    await eventually('pods bound to both workers', async () => {
      const pods = await livePods('kube-system', 'k8s-app=kube-proxy');
      return pods.map((p) => p.spec?.nodeName).sort().join() === 'worker-1,worker-2';
    });
    // NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE
    await eventually('kubectl get ds shows 2 everywhere', async () => /^kube-proxy\s+2\s+2\s+2\s+2\s+2\s+<none>\s+\S+\n$/.test(await api.ok(['get', 'ds', '-n', 'kube-system', '--no-headers'])));
    const describe = await api.ok(['describe', 'ds', 'kube-proxy', '-n', 'kube-system']);
    assert.match(describe, /Normal\s+SuccessfulCreate\s+.*daemonset-controller\s+Created pod: kube-proxy-/);
  });

  await t.test('a node joining gets a daemon pod', async () => {
    await nodes.create(newNode('worker-3'));
    await eventually('a pod on worker-3', async () => (await livePods('kube-system', 'k8s-app=kube-proxy')).some((p) => p.spec?.nodeName === 'worker-3'));
    await api.ok(['rollout', 'status', 'ds/kube-proxy', '-n', 'kube-system', '--timeout=60s']);
    await eventually('kubectl get ds shows 3 everywhere', async () => /^kube-proxy\s+3\s+3\s+3\s+3\s+3\s/.test(await api.ok(['get', 'ds', 'kube-proxy', '-n', 'kube-system', '--no-headers'])));
  });

  await t.test('kubectl set image rolls the DaemonSet; rollout history lists both revisions', async () => {
    await api.ok(['set', 'image', 'ds/kube-proxy', 'kube-proxy=kube-proxy:v1.32.1', '-n', 'kube-system']);
    const status = await api.ok(['rollout', 'status', 'ds/kube-proxy', '-n', 'kube-system', '--timeout=60s']);
    assert.match(status, /daemon set "kube-proxy" successfully rolled out\n$/);
    await eventually('only new pods', async () => {
      const pods = await livePods('kube-system', 'k8s-app=kube-proxy');
      return pods.length === 3 && pods.every((p) => p.spec?.containers[0]?.image === 'kube-proxy:v1.32.1');
    });
    const history = await api.ok(['rollout', 'history', 'ds/kube-proxy', '-n', 'kube-system']);
    assert.match(history, /^daemonset\.apps\/kube-proxy \nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n\n$/);
    const revs = (await client.resource<ControllerRevision & KObject>(Resources.controllerrevisions, 'kube-system').list()).items;
    for (const r of revs) assert.match(r.metadata?.name ?? '', /^kube-proxy-[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    const one = await api.ok(['rollout', 'history', 'ds/kube-proxy', '-n', 'kube-system', '--revision=1']);
    assert.match(one, /^daemonset\.apps\/kube-proxy with revision #1\nPod Template:\n/);
    assert.match(one, /Image:\s+kube-proxy:v1\.32\.0\n/);
  });

  await t.test('kubectl rollout undo ds goes back to the first template as revision 3', async () => {
    assert.equal(await api.ok(['rollout', 'undo', 'ds/kube-proxy', '-n', 'kube-system']), 'daemonset.apps/kube-proxy rolled back\n');
    await eventually('only v1.32.0 pods', async () => {
      const pods = await livePods('kube-system', 'k8s-app=kube-proxy');
      return pods.length === 3 && pods.every((p) => p.spec?.containers[0]?.image === 'kube-proxy:v1.32.0');
    });
    await api.ok(['rollout', 'status', 'ds/kube-proxy', '-n', 'kube-system', '--timeout=60s']);
    const history = await api.ok(['rollout', 'history', 'ds/kube-proxy', '-n', 'kube-system']);
    assert.match(history, /\n2\s+<none>\n3\s+<none>\n\n$/);
  });

  await t.test('a StatefulSet comes up in order: kubectl rollout status sts/web', async () => {
    await api.ok(['apply', '-f', '-'], { input: statefulSetYAML });
    const status = await api.ok(['rollout', 'status', 'sts/web', '--timeout=60s']);
    assert.match(status, /partitioned roll out complete: 3 new pods have been updated\.\.\.\n$/);
    const pods = await livePods('default', 'app=nginx');
    assert.deepEqual(pods.map((p) => p.metadata?.name).sort(), ['web-0', 'web-1', 'web-2']);
    const created = pods.map((p) => [p.metadata?.name, Date.parse(p.metadata?.creationTimestamp ?? '')] as const).sort((a, b) => a[1] - b[1]);
    assert.deepEqual(created.map(([n]) => n), ['web-0', 'web-1', 'web-2']);
    const web1 = pods.find((p) => p.metadata?.name === 'web-1')!;
    assert.equal(web1.spec?.hostname, 'web-1');
    assert.equal(web1.spec?.subdomain, 'nginx');
    assert.equal(web1.metadata?.labels?.['statefulset.kubernetes.io/pod-name'], 'web-1');
    assert.equal(web1.metadata?.labels?.['apps.kubernetes.io/pod-index'], '1');
    assert.ok(web1.spec?.volumes?.some((v) => v.name === 'www'));
    assert.match(await api.ok(['get', 'sts', 'web', '--no-headers']), /^web\s+3\/3\s/);
  });

  await t.test('kubectl set image rolls the StatefulSet from the top; undo rolls it back', async () => {
    await api.ok(['set', 'image', 'sts/web', 'nginx=nginx:1.26']);
    await eventually('all pods at nginx:1.26', async () => {
      const pods = await livePods('default', 'app=nginx');
      return pods.length === 3 && pods.every((p) => p.spec?.containers[0]?.image === 'nginx:1.26');
    }, 60_000);
    await api.ok(['rollout', 'status', 'sts/web', '--timeout=60s']);
    const history = await api.ok(['rollout', 'history', 'sts/web']);
    assert.match(history, /^statefulset\.apps\/web \nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n\n$/);
    const sts = JSON.parse(await api.ok(['get', 'sts', 'web', '-o', 'json'])) as { status: Record<string, unknown> };
    assert.equal(sts.status.currentRevision, sts.status.updateRevision);
    assert.equal(sts.status.updatedReplicas, 3);

    await api.ok(['rollout', 'undo', 'sts/web']);
    await eventually('all pods back at nginx:1.25', async () => {
      const pods = await livePods('default', 'app=nginx');
      return pods.length === 3 && pods.every((p) => p.spec?.containers[0]?.image === 'nginx:1.25');
    }, 60_000);
    const after = await api.ok(['rollout', 'history', 'sts/web']);
    assert.match(after, /\n2\s+<none>\n3\s+<none>\n\n$/);
  });

  await t.test('kubectl scale sts removes pods from the highest ordinal', async () => {
    await api.ok(['scale', 'sts', 'web', '--replicas=1']);
    await eventually('only web-0 left', async () => (await livePods('default', 'app=nginx')).map((p) => p.metadata?.name).join() === 'web-0');
    await api.ok(['rollout', 'status', 'sts/web', '--timeout=60s']);
    const describe = await api.ok(['describe', 'sts', 'web']);
    assert.match(describe, /SuccessfulDelete\s+.*statefulset-controller\s+delete Pod web-2 in StatefulSet web successful/);
  });
});
