/**
 * The cluster-housekeeping controllers against a real Flotilla API server, read back with
 * the real kubectl: node lifecycle + taint eviction (with shortened periods), namespace
 * deletion, service accounts, the root CA publisher and pod GC. No kubelet runs: the test
 * plays the kubelets (Lease renewals, node status) itself.
 */
import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatRFC3339, formatRFC3339Micro, type KObject } from '../../src/apimachinery/meta.js';
import { newEventRecorder } from '../../src/client/events.js';
import { newInformerFactory } from '../../src/client/informer.js';
import { Resources, type Client } from '../../src/client/interface.js';
import type { ConfigMap, Event, Lease, Namespace, Node, Pod, ServiceAccount } from '../../src/client/objects.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { newWorkQueue } from '../../src/client/workqueue.js';
import { NamespaceController, NamespacedResourcesDeleter } from '../../src/controllers/namespace/index.js';
import { NodeLifecycleController, TaintEvictionController } from '../../src/controllers/nodelifecycle/index.js';
import { PodGCController } from '../../src/controllers/podgc/index.js';
import { RootCACertPublisher, ServiceAccountsController } from '../../src/controllers/serviceaccount/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { eventually } from '../util/wait.js';

const logger = silentLogger();

/** Registers a node with Ready=True and its Lease, as a kubelet does on start. */
async function registerNode(client: Client, name: string): Promise<void> {
  const nodes = client.resource<Node>(Resources.nodes);
  const created = await nodes.create({ apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
  const t = formatRFC3339(Date.now());
  const cond = (type: string, status: string, reason: string) => ({ type, status, reason, message: reason, lastHeartbeatTime: t, lastTransitionTime: t });
  await nodes.updateStatus({
    ...created,
    status: {
      conditions: [
        cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory'),
        cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure'),
        cond('PIDPressure', 'False', 'KubeletHasSufficientPID'),
        cond('Ready', 'True', 'KubeletReady'),
      ],
    },
  });
  await client.resource<Lease>(Resources.leases, 'kube-node-lease').create({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace: 'kube-node-lease' },
    spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: formatRFC3339Micro(Date.now()) },
  });
}

async function renewLease(client: Client, name: string): Promise<void> {
  const leases = client.resource<Lease>(Resources.leases, 'kube-node-lease');
  const l = await leases.get(name);
  await leases.update({ ...l, spec: { ...l.spec, renewTime: formatRFC3339Micro(Date.now()) } });
}

for (const backend of backends) test(`a node whose Lease stops is NotReady, tainted, and its pod evicted after tolerationSeconds (${backend.name})`, { skip: backend.skip }, async (t) => {
  const api = await startBackendApiServer(t, backend);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kube-controller-manager/v1.32.0');
  t.after(() => client.close());
  const ac = new AbortController();
  setMaxListeners(100, ac.signal);
  const informers = newInformerFactory({ client, clock: realClock });
  const nlc = new NodeLifecycleController({
    client,
    nodeInformer: informers.forResource<Node>(Resources.nodes),
    podInformer: informers.forResource<Pod>(Resources.pods),
    leaseInformer: informers.forResource<Lease>(Resources.leases),
    recorder: newEventRecorder({ client, component: 'node-controller', clock: realClock, logger }),
    clock: realClock,
    logger,
    nodeQueue: newWorkQueue<string>({ name: 'node_lifecycle_controller', clock: realClock }),
    podQueue: newWorkQueue<string>({ name: 'node_lifecycle_controller_pods', clock: realClock }),
    nodeMonitorPeriodMs: 500,
    nodeMonitorGracePeriodMs: 3_000,
    nodeStartupGracePeriodMs: 5_000,
    waitForCacheSync: (s) => informers.waitForCacheSync(s),
  });
  const tec = new TaintEvictionController({
    client,
    podInformer: informers.forResource<Pod>(Resources.pods),
    nodeInformer: informers.forResource<Node>(Resources.nodes),
    recorder: newEventRecorder({ client, component: 'taint-eviction-controller', clock: realClock, logger }),
    clock: realClock,
    logger,
    nodeQueue: newWorkQueue<string>({ name: 'noexec_taint_node', clock: realClock }),
    podQueue: newWorkQueue<string>({ name: 'noexec_taint_pod', clock: realClock }),
    waitForCacheSync: (s) => informers.waitForCacheSync(s),
  });

  await registerNode(client, 'node-good');
  await registerNode(client, 'node-bad');
  // node-good's "kubelet" keeps renewing its Lease; node-bad's never does.
  const kubelet = setInterval(() => void renewLease(client, 'node-good').catch(() => undefined), 500);
  t.after(() => clearInterval(kubelet));

  const tolerationSeconds = 3;
  await api.ok(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'victim', namespace: 'default' },
      spec: {
        nodeName: 'node-bad',
        terminationGracePeriodSeconds: 0,
        containers: [{ name: 'c', image: 'nginx' }],
        tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds }],
      },
    }),
  });

  // As its kubelet reported it while node-bad was still alive.
  const pods = client.resource<Pod>(Resources.pods, 'default');
  const victim = await pods.get('victim');
  const now = formatRFC3339(Date.now());
  await pods.updateStatus({ ...victim, status: { ...victim.status, phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] } });

  informers.start(ac.signal);
  const running = Promise.all([nlc.run(ac.signal), tec.run(ac.signal)]);
  t.after(async () => {
    ac.abort();
    await running;
  });

  await eventually('kubectl get nodes shows node-bad NotReady', async () => /node-bad\s+NotReady/.test(await api.ok(['get', 'nodes'])));
  const nodes = await api.ok(['get', 'nodes']);
  assert.match(nodes, /node-good\s+Ready/);

  const bad = await client.resource<Node>(Resources.nodes).get('node-bad');
  const ready = bad.status?.conditions?.find((c) => c.type === 'Ready');
  assert.deepEqual([ready?.status, ready?.reason, ready?.message], ['Unknown', 'NodeStatusUnknown', 'Kubelet stopped posting node status.']);

  let taintedAt = '';
  await eventually('the unreachable NoExecute taint', async () => {
    const n = await client.resource<Node>(Resources.nodes).get('node-bad');
    const taint = (n.spec?.taints ?? []).find((x) => x.key === 'node.kubernetes.io/unreachable' && x.effect === 'NoExecute');
    taintedAt = taint?.timeAdded ?? '';
    return taint !== undefined;
  });
  const described = await api.ok(['describe', 'node', 'node-bad']);
  assert.match(described, /node\.kubernetes\.io\/unreachable:NoExecute/);
  // Still there within its tolerationSeconds (the taint was seen within the last poll).
  const early = await client.resource<Pod>(Resources.pods, 'default').get('victim');
  assert.equal(early.metadata?.deletionTimestamp, undefined, 'evicted before tolerationSeconds');
  assert.equal(early.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'False', 'marked not ready');

  await eventually('victim evicted', async () => (await api.kubectl(['get', 'pod', 'victim'])).code !== 0, 20_000);

  const all = (await client.resource<Event>(Resources.events, 'default').list()).items;
  const events = all.map((e) => `${e.reason}: ${e.message}`);
  // Recorded times (whole seconds): the eviction came tolerationSeconds after the taint.
  const eviction = all.find((e) => e.message === 'Marking for deletion Pod default/victim');
  const waited = Date.parse(eviction?.firstTimestamp ?? '') - Date.parse(taintedAt);
  assert.ok(waited >= (tolerationSeconds - 1) * 1000, `eviction at ${eviction?.firstTimestamp}, taint added at ${taintedAt}`);
  assert.ok(events.includes('NodeNotReady: Node node-bad status is now: NodeNotReady'), events.join('\n'));
  assert.ok(events.includes('TaintManagerEviction: Marking for deletion Pod default/victim'), events.join('\n'));
  const good = await client.resource<Node>(Resources.nodes).get('node-good');
  assert.deepEqual(good.spec?.taints ?? [], []);
});

for (const backend of backends) test(`kubectl delete namespace removes everything in it and then the namespace (${backend.name})`, { skip: backend.skip }, async (t) => {
  const api = await startBackendApiServer(t, backend);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kube-controller-manager/v1.32.0');
  t.after(() => client.close());
  const ac = new AbortController();
  setMaxListeners(100, ac.signal);
  const informers = newInformerFactory({ client, clock: realClock });
  const controllers = [
    new NamespaceController({
      namespaceInformer: informers.forResource<Namespace>(Resources.namespaces),
      deleter: new NamespacedResourcesDeleter({ client, clock: realClock, logger }),
      queue: newWorkQueue<string>({ name: 'namespace', clock: realClock }),
      logger,
      deletionGracePeriodMs: 200,
      waitForCacheSync: (s) => informers.waitForCacheSync(s),
    }),
    new ServiceAccountsController({
      client,
      serviceAccountInformer: informers.forResource<ServiceAccount>(Resources.serviceaccounts),
      namespaceInformer: informers.forResource<Namespace>(Resources.namespaces),
      queue: newWorkQueue<string>({ name: 'serviceaccount', clock: realClock }),
      logger,
      waitForCacheSync: (s) => informers.waitForCacheSync(s),
    }),
    new RootCACertPublisher({
      client,
      configMapInformer: informers.forResource<ConfigMap>(Resources.configmaps),
      namespaceInformer: informers.forResource<Namespace>(Resources.namespaces),
      rootCA: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
      queue: newWorkQueue<string>({ name: 'root_ca_cert_publisher', clock: realClock }),
      logger,
      waitForCacheSync: (s) => informers.waitForCacheSync(s),
    }),
    new PodGCController({
      client,
      podInformer: informers.forResource<Pod>(Resources.pods),
      nodeInformer: informers.forResource<Node>(Resources.nodes),
      clock: realClock,
      logger,
      terminatedPodThreshold: 12_500,
      nodeQueue: newWorkQueue<string>({ name: 'orphaned_pods_nodes', clock: realClock }),
      gcCheckPeriodMs: 500,
      waitForCacheSync: (s) => informers.waitForCacheSync(s),
    }),
  ];
  informers.start(ac.signal);
  const running = Promise.all(controllers.map((c) => c.run(ac.signal)));
  t.after(async () => {
    ac.abort();
    await running;
  });

  await api.ok(['create', 'namespace', 'x']);
  await eventually('ServiceAccount default in x', async () => (await api.kubectl(['get', 'serviceaccount', 'default', '-n', 'x'])).code === 0);
  await eventually('kube-root-ca.crt in x', async () => (await api.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', 'x'])).code === 0);
  await api.ok(['create', 'configmap', 'settings', '-n', 'x', '--from-literal=a=b']);
  await api.ok(['create', 'secret', 'generic', 'creds', '-n', 'x', '--from-literal=p=q']);
  await api.ok(['create', 'deployment', 'web', '-n', 'x', '--image=nginx']);
  await api.ok(['create', 'service', 'clusterip', 'web', '-n', 'x', '--tcp=80:80']);
  await api.ok(['run', 'solo', '-n', 'x', '--image=nginx']);
  await api.ok(['create', 'role', 'reader', '-n', 'x', '--verb=get', '--resource=pods']);

  // The serviceaccount deleted by hand comes back.
  await api.ok(['delete', 'serviceaccount', 'default', '-n', 'x']);
  await eventually('ServiceAccount default recreated', async () => (await api.kubectl(['get', 'serviceaccount', 'default', '-n', 'x'])).code === 0);

  const del = await api.kubectl(['delete', 'namespace', 'x', '--timeout=60s'], { timeoutMs: 70_000 });
  assert.equal(del.code, 0, del.stderr);
  assert.match(del.stdout, /namespace "x" deleted/);
  const get = await api.kubectl(['get', 'namespace', 'x']);
  assert.notEqual(get.code, 0);
  assert.match(get.stderr, /namespaces "x" not found/);
  for (const gvr of [Resources.pods, Resources.configmaps, Resources.secrets, Resources.services, Resources.deployments, Resources.serviceaccounts]) {
    const left = await client.resource<KObject>(gvr, 'x').list();
    assert.deepEqual(left.items.map((i) => i.metadata?.name), [], gvr.resource);
  }
  // Other namespaces keep their contents.
  await eventually('kube-root-ca.crt in default', async () => (await api.kubectl(['get', 'configmap', 'kube-root-ca.crt', '-n', 'default'])).code === 0);
});
