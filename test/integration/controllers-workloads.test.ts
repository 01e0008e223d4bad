/**
 * The ReplicaSet, ReplicationController and Deployment controllers against a real Flotilla
 * API server, driven and read with the real kubectl: create deployment, rollout
 * status/history/undo/pause/resume, set image, a deleted pod replaced, scale rc. No
 * kubelet runs: the test stands in for it by marking pods Running and Ready.
 */
import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import type { KObject } from '../../src/apimachinery/meta.js';
import { newEventRecorder } from '../../src/client/events.js';
import { newInformerFactory } from '../../src/client/informer.js';
import { Resources, type Client } from '../../src/client/interface.js';
import type { Deployment, Pod, ReplicaSet } from '../../src/client/objects.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { newDeploymentController } from '../../src/controllers/deployment/index.js';
import { newReplicaSetController } from '../../src/controllers/replicaset/index.js';
import { newReplicationController } from '../../src/controllers/replication/index.js';
import { defaultControllerManagerOptions, type ControllerContext } from '../../src/controllers/types.js';
import { formatRFC3339 } from '../../src/apimachinery/meta.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { eventually } from '../util/wait.js';

/** Stands in for the kubelet: every pod not yet Ready becomes Running and Ready. */
function fakeKubelet(client: Client, signal: AbortSignal): Promise<void> {
  const pods = client.resource<Pod & KObject>(Resources.pods);
  return (async () => {
    while (!signal.aborted) {
      try {
        for (const p of (await pods.list()).items) {
          if (p.metadata?.deletionTimestamp) continue;
          if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
          const now = formatRFC3339(Date.now());
          await client.resource<Pod & KObject>(Resources.pods, p.metadata?.namespace).updateStatus({
            ...p,
            status: {
              ...p.status,
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

for (const backend of backends) test(`deployments, replica sets and replication controllers with kubectl (${backend.name})`, { skip: backend.skip }, async (t) => {
  // Teardown in a real cluster's order (after hooks run first-registered first): the
  // controllers and the stand-in kubelet stop, then their client, then the API server.
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
  const client: Client = await restClientFromKubeconfig(api.kubeconfigPath, 'workloads-test/v0.0.0');
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
  const controllers = [newDeploymentController(ctx), newReplicaSetController(ctx), newReplicationController(ctx)];
  assert.deepEqual(controllers.map((c) => c.name), ['deployment', 'replicaset', 'replicationcontroller']);
  informers.start(ac.signal);
  running = Promise.all([...controllers.map((c) => c.run(ac.signal)), fakeKubelet(client, ac.signal)]);

  const rss = client.resource<ReplicaSet & KObject>(Resources.replicasets, 'default');
  const podsOf = async (selector: string) => (await client.resource<Pod & KObject>(Resources.pods, 'default').list({ labelSelector: selector })).items
    .filter((p) => !p.metadata?.deletionTimestamp);
  const rsFor = async (image: string) => (await rss.list({ labelSelector: 'app=web' })).items.find((rs) => rs.spec?.template?.spec?.containers[0]?.image === image);
  const rolloutStatus = () => api.ok(['rollout', 'status', 'deployment/web', '--timeout=60s'], { env: {} });

  await t.test('kubectl create deployment and rollout status', async () => {
    assert.equal(await api.ok(['create', 'deployment', 'web', '--image=nginx:1', '--replicas=3']), 'deployment.apps/web created\n');
    const out = await rolloutStatus();
    assert.match(out, /deployment "web" successfully rolled out\n$/);
    const rs = await rsFor('nginx:1');
    const hash = rs?.metadata?.labels?.['pod-template-hash'] ?? '';
    assert.match(hash, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    assert.equal(rs?.metadata?.name, `web-${hash}`);
    const pods = await podsOf('app=web');
    assert.equal(pods.length, 3);
    for (const p of pods) assert.match(p.metadata?.name ?? '', new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    const get = await api.ok(['get', 'deployment', 'web', '--no-headers']);
    assert.match(get, /^web\s+3\/3\s+3\s+3\s+/);
    const describe = await api.ok(['describe', 'deployment', 'web']);
    assert.match(describe, /Available\s+True\s+MinimumReplicasAvailable/);
    assert.match(describe, /Progressing\s+True\s+NewReplicaSetAvailable/);
    assert.match(describe, new RegExp(`Normal\\s+ScalingReplicaSet\\s+.*deployment-controller\\s+Scaled up replica set web-${hash} from 0 to 3`));
  });

  await t.test('kubectl set image rolls out a second revision; rollout history shows both', async () => {
    await api.ok(['set', 'image', 'deployment/web', 'nginx=nginx:2']);
    assert.match(await rolloutStatus(), /deployment "web" successfully rolled out\n$/);
    const v2 = await rsFor('nginx:2');
    assert.equal(v2?.spec?.replicas, 3);
    assert.equal(v2?.metadata?.annotations?.['deployment.kubernetes.io/revision'], '2');
    assert.equal((await rsFor('nginx:1'))?.spec?.replicas, 0);
    const history = await api.ok(['rollout', 'history', 'deployment/web']);
    assert.match(history, /^deployment\.apps\/web \nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/);
    const rev2 = await api.ok(['rollout', 'history', 'deployment/web', '--revision=2']);
    assert.match(rev2, /Image:\s+nginx:2/);
  });

  await t.test('kubectl rollout undo goes back to revision 1 as revision 3', async () => {
    assert.equal(await api.ok(['rollout', 'undo', 'deployment/web']), 'deployment.apps/web rolled back\n');
    assert.match(await rolloutStatus(), /successfully rolled out/);
    const d = await client.resource<Deployment & KObject>(Resources.deployments, 'default').get('web');
    assert.equal(d.spec?.template.spec?.containers[0]?.image, 'nginx:1');
    const v1 = await rsFor('nginx:1');
    assert.equal(v1?.metadata?.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(v1?.spec?.replicas, 3);
    assert.equal((await rss.list({ labelSelector: 'app=web' })).items.length, 2, 'the old ReplicaSet was re-used');
    await eventually('deployment revision annotation 3', async () =>
      (await client.resource<Deployment & KObject>(Resources.deployments, 'default').get('web')).metadata?.annotations?.['deployment.kubernetes.io/revision'] === '3');
    const history = await api.ok(['rollout', 'history', 'deployment/web']);
    assert.match(history, /REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n/);
  });

  await t.test('kubectl rollout pause holds a template change until resume', async () => {
    assert.equal(await api.ok(['rollout', 'pause', 'deployment/web']), 'deployment.apps/web paused\n');
    await api.ok(['set', 'image', 'deployment/web', 'nginx=nginx:3']);
    const deployments = client.resource<Deployment & KObject>(Resources.deployments, 'default');
    await eventually('paused condition observed', async () => {
      const d = await deployments.get('web');
      return d.status?.observedGeneration === d.metadata?.generation &&
        d.status?.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'DeploymentPaused') === true;
    });
    assert.equal(await rsFor('nginx:3'), undefined, 'no rollout while paused');
    assert.equal(await api.ok(['rollout', 'resume', 'deployment/web']), 'deployment.apps/web resumed\n');
    assert.match(await rolloutStatus(), /successfully rolled out/);
    assert.equal((await rsFor('nginx:3'))?.spec?.replicas, 3);
  });

  await t.test('a deleted pod of a ReplicaSet is replaced', async () => {
    const rs = await rsFor('nginx:3');
    const selector = `pod-template-hash=${rs?.metadata?.labels?.['pod-template-hash'] ?? ''}`;
    const before = await podsOf(selector);
    assert.equal(before.length, 3);
    const victim = before[0]!.metadata!.name!;
    await api.ok(['delete', 'pod', victim, '--wait=false']);
    await eventually('a replacement pod', async () => {
      const now = await podsOf(selector);
      return now.length === 3 && !now.some((p) => p.metadata?.name === victim);
    });
    const events = await api.ok(['get', 'events', '--field-selector', `involvedObject.name=${rs?.metadata?.name ?? ''}`, '-o', 'jsonpath={range .items[*]}{.reason}:{.source.component}{"\\n"}{end}']);
    assert.match(events, /SuccessfulCreate:replicaset-controller/);
  });

  await t.test('a ReplicaSet adopts a matching bare pod, releases it when relabelled; kubectl scale rs', async () => {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare', namespace: 'default', labels: { tier: 'frontend' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } };
    await api.ok(['create', '-f', '-'], { input: JSON.stringify(pod) });
    const rs = {
      apiVersion: 'apps/v1', kind: 'ReplicaSet',
      metadata: { name: 'frontend', namespace: 'default' },
      spec: { replicas: 3, selector: { matchLabels: { tier: 'frontend' } }, template: { metadata: { labels: { tier: 'frontend' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    };
    await api.ok(['create', '-f', '-'], { input: JSON.stringify(rs) });
    await eventually('3 ready replicas', async () => {
      const got = await rss.get('frontend');
      return got.status?.readyReplicas === 3;
    });
    const pods = await podsOf('tier=frontend');
    assert.equal(pods.length, 3, 'the bare pod counts as one of 3');
    const bare = pods.find((p) => p.metadata?.name === 'bare');
    assert.equal(bare?.metadata?.ownerReferences?.[0]?.name, 'frontend');
    assert.equal(bare?.metadata?.ownerReferences?.[0]?.controller, true);
    // Relabelled out of the selector: released (ownerReference removed) and replaced.
    await api.ok(['label', 'pod', 'bare', 'tier=backend', '--overwrite']);
    await eventually('bare released and replaced', async () => {
      const released = await client.resource<Pod & KObject>(Resources.pods, 'default').get('bare');
      return (released.metadata?.ownerReferences ?? []).length === 0 && (await podsOf('tier=frontend')).length === 3;
    });
    assert.equal(await api.ok(['scale', 'rs', 'frontend', '--replicas=1']), 'replicaset.apps/frontend scaled\n');
    await eventually('1 pod', async () => (await podsOf('tier=frontend')).length === 1);
    assert.match(await api.ok(['get', 'rs', 'frontend', '--no-headers']), /^frontend\s+1\s+1\s+1\s+/);
  });

  await t.test('kubectl scale rc', async () => {
    const rc = {
      apiVersion: 'v1', kind: 'ReplicationController',
      metadata: { name: 'legacy', namespace: 'default' },
      spec: { replicas: 2, selector: { app: 'legacy' }, template: { metadata: { labels: { app: 'legacy' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    };
    await api.ok(['create', '-f', '-'], { input: JSON.stringify(rc) });
    await eventually('2 pods', async () => (await podsOf('app=legacy')).length === 2);
    assert.equal(await api.ok(['scale', 'rc', 'legacy', '--replicas=4']), 'replicationcontroller/legacy scaled\n');
    await eventually('4 ready replicas', async () => {
      const got = await client.resource<KObject>(Resources.replicationcontrollers, 'default').get('legacy');
      return (got.status as { readyReplicas?: number } | undefined)?.readyReplicas === 4 && (await podsOf('app=legacy')).length === 4;
    });
    assert.match(await api.ok(['get', 'rc', 'legacy', '--no-headers']), /^legacy\s+4\s+4\s+4\s+/);
    await api.ok(['scale', 'rc', 'legacy', '--replicas=1']);
    await eventually('1 pod', async () => (await podsOf('app=legacy')).length === 1);
    const events = await api.ok(['get', 'events', '--field-selector', 'involvedObject.name=legacy', '-o', 'jsonpath={range .items[*]}{.reason}:{.source.component}{"\\n"}{end}']);
    assert.match(events, /SuccessfulCreate:replication-controller/);
    assert.match(events, /SuccessfulDelete:replication-controller/);
  });
});
