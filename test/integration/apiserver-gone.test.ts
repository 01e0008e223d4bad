/**
 * Clients when the API server goes away or restarts, against the real API server: a
 * simulated kubelet and its REST client stop cleanly with the server gone; requests made
 * while it is down fail with a connection error instead of waiting; once it is back on the
 * same address and store, informers (the kubelet's and a plain one) watch again, node
 * status and Lease heartbeats resume, and a new pod runs. A server that vanishes without
 * closing its connections (behind a proxy that goes silent) is found out by the client's
 * HTTP/2 PING health check, and the kubelet recovers once the address answers again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isNotFound } from '../../src/apimachinery/errors.js';
import { startApiServer, type RunningApiServer } from '../../src/apiserver/index.js';
import { newInformer } from '../../src/client/informer.js';
import { Resources } from '../../src/client/interface.js';
import type { Lease, Node, Pod } from '../../src/client/objects.js';
import { loadKubeconfig } from '../../src/client/kubeconfig.js';
import { newRestClient, restClientFromKubeconfig, type RestClient } from '../../src/client/rest.js';
import { SimulatedRuntime, simulatedMachineInfo, startKubelet, startSimulatedNodes, type RunningKubelet } from '../../src/kubelet/index.js';
import { realClock } from '../../src/util/clock.js';
import { pino } from 'pino';
import type { Logger } from '../../src/util/log.js';
import { backends, type Backend } from '../util/backends.js';
import { startEtcd } from '../util/etcd.js';
import { testResources } from '../util/kubectl.js';
import { eventually } from '../util/wait.js';

/** How long a stop or close may take before the test calls it a hang (a guard, not a speed check). */
const HANG_GUARD_MS = 30_000;

/** p, or a clear failure once HANG_GUARD_MS pass first. */
async function settlesWithin<T>(what: string, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${HANG_GUARD_MS / 1000} s (hang)`)), HANG_GUARD_MS);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** Records unhandled rejections while a test runs; check() fails on any. */
function watchUnhandled(t: { after(fn: () => unknown): void }): { check(): void } {
  const seen: unknown[] = [];
  const onUnhandled = (reason: unknown) => seen.push(reason);
  process.on('unhandledRejection', onUnhandled);
  t.after(() => process.off('unhandledRejection', onUnhandled));
  return {
    check() {
      assert.deepEqual(seen.map((r) => (r instanceof Error ? r.stack : String(r))), [], 'unhandled rejections');
    },
  };
}

/**
 * An API server that can be stopped and started again on the same address, data dir (PKI,
 * kubeconfig) and store: the embedded store reopened from its directory, or the same etcd.
 */
interface RestartableApiServer {
  readonly kubeconfigPath: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function restartableApiServer(t: { after(fn: () => unknown): void }, backend: Backend): Promise<RestartableApiServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-apiserver-gone-'));
  const etcd = backend.name === 'etcd' ? await startEtcd() : undefined;
  const open = (port: number) => startApiServer({ dataDir, storeDir: join(dataDir, 'store'), etcdServers: etcd?.endpoints, port, resources: testResources() });
  let api: RunningApiServer | undefined;
  const stop = async () => {
    const a = api;
    api = undefined;
    await a?.stop();
  };
  // One hook, in order: the API server, the etcd under it, then their files.
  t.after(async () => {
    await stop();
    await etcd?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  api = await open(0);
  const port = api.port;
  return {
    kubeconfigPath: api.kubeconfigPath,
    port,
    stop,
    async start() {
      api ??= await open(port);
    },
  };
}

function boundPod(name: string, nodeName: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { nodeName, containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10' }] },
  } as Pod;
}

async function runningPod(client: RestClient, name: string): Promise<boolean> {
  const p = await client.resource<Pod>(Resources.pods, 'default').get(name);
  return p.status?.phase === 'Running';
}

function readyHeartbeat(node: Node): number {
  const c = node.status?.conditions?.find((x) => x.type === 'Ready');
  return c?.lastHeartbeatTime ? Date.parse(c.lastHeartbeatTime) : 0;
}

/** A logger that keeps the messages of warnings and errors, to see what a component noticed. */
function recordingLogger(): { logger: Logger; messages: string[] } {
  const messages: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void messages.push((JSON.parse(line) as { msg: string }).msg) });
  return { logger, messages };
}

async function simulatedKubelet(client: RestClient, nodeName: string, index: number, logger = recordingLogger().logger): Promise<RunningKubelet> {
  const podCIDR = `10.244.${index}.0/24`;
  return startKubelet({
    client,
    nodeName,
    runtime: new SimulatedRuntime({ clock: realClock, podCIDR }),
    clock: realClock,
    logger,
    podCIDR,
    machine: simulatedMachineInfo({ name: nodeName, internalIP: `172.16.0.${index}` }),
    // Written every second even when unchanged, so heartbeats show at once after a restart.
    nodeStatusUpdateFrequencyMs: 1000,
    nodeStatusReportFrequencyMs: 1000,
  });
}

// Both orders a teardown may use once the control plane is gone: the node first, as a
// cluster shuts down, or the client first (the kubelet then finds its client closed).
for (const order of ['kubelet, then client', 'client, then kubelet'] as const) test(`with the API server gone, requests fail instead of hanging, and the kubelet and its client stop (${order})`, async (t) => {
  const unhandled = watchUnhandled(t);
  const api = await restartableApiServer(t, backends[0]!);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet/v1.32.0 flotilla');
  t.after(() => client.close());
  const kubelet = await simulatedKubelet(client, 'gone-1', 31);
  t.after(() => kubelet.stop());
  const pods = client.resource<Pod>(Resources.pods, 'default');
  for (const name of ['a', 'b', 'c']) await pods.create(boundPod(name, 'gone-1'));
  for (const name of ['a', 'b', 'c']) await eventually(`pod ${name} Running`, () => runningPod(client, name));

  await api.stop();

  // Refused (or cut off, when sent just as the old connection closed), not left waiting.
  await settlesWithin('a get while the API server is down', assert.rejects(pods.get('a'), /ECONNREFUSED|the connection closed before the answer/));

  if (order === 'kubelet, then client') {
    await settlesWithin('kubelet.stop()', kubelet.stop());
    await settlesWithin('client.close()', client.close());
  } else {
    await settlesWithin('client.close()', client.close());
    await settlesWithin('kubelet.stop()', kubelet.stop());
  }
  // Requests after close() are refused at once.
  await assert.rejects(pods.get('a'), /client is closed/);
  unhandled.check();
});

test('with the API server gone, simulated nodes sharing one pod informer stop, and their client closes', async (t) => {
  const unhandled = watchUnhandled(t);
  const api = await restartableApiServer(t, backends[0]!);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet/v1.32.0 flotilla');
  t.after(() => client.close());
  const sim = await startSimulatedNodes({ client, count: 3, namePrefix: 'gone-sim-', clock: realClock, logger: recordingLogger().logger, noEvents: true });
  t.after(() => sim.stop());
  const pods = client.resource<Pod>(Resources.pods, 'default');
  for (const i of [0, 1, 2]) await pods.create(boundPod(`s${i}`, `gone-sim-${i}`));
  for (const i of [0, 1, 2]) await eventually(`pod s${i} Running`, () => runningPod(client, `s${i}`));

  await api.stop();
  await settlesWithin('simulated nodes stop()', sim.stop());
  await settlesWithin('client.close()', client.close());
  unhandled.check();
});

for (const backend of backends) test(`after the API server restarts, the kubelet and informers resume (${backend.name})`, { skip: backend.skip }, async (t) => {
  const unhandled = watchUnhandled(t);
  const api = await restartableApiServer(t, backend);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet/v1.32.0 flotilla');
  t.after(() => client.close());
  const log = recordingLogger();
  const kubelet = await simulatedKubelet(client, 'restart-1', 32, log.logger);
  t.after(() => kubelet.stop());
  const pods = client.resource<Pod>(Resources.pods, 'default');
  const nodes = client.resource<Node>(Resources.nodes);
  const leases = client.resource<Lease>(Resources.leases, 'kube-node-lease');
  for (const name of ['before-1', 'before-2']) await pods.create(boundPod(name, 'restart-1'));
  for (const name of ['before-1', 'before-2']) await eventually(`pod ${name} Running`, () => runningPod(client, name));

  // A plain informer over the same client, to see a watch recover.
  const abort = new AbortController();
  t.after(() => abort.abort());
  const cms = newInformer<{ metadata?: { name?: string } }>({ client, gvr: Resources.configmaps, clock: realClock, namespace: 'default' });
  const informerDone = cms.run(abort.signal);
  await settlesWithin('configmap informer sync', cms.whenSynced());
  await client.resource(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'before' }, data: {} });
  await eventually('informer sees configmap before', () => cms.lister.get('default/before') !== undefined);

  await eventually('a lease renewal', async () => (await leases.get('restart-1')).spec?.renewTime !== undefined);
  await api.stop();
  await assert.rejects(pods.get('before-1'), /ECONNREFUSED|the connection closed before the answer/);
  const downSince = Date.now();
  // Down until the kubelet has seen it: a node status write and its pod watch failed.
  await eventually('the kubelet noticing the API server is down', () =>
    log.messages.includes('Error updating node status, will retry') && log.messages.includes('list/watch failed, retrying'));
  await api.start();

  await eventually('node heartbeat after the restart', async () => readyHeartbeat(await nodes.get('restart-1')) > downSince, 60_000);
  await eventually('lease renewal after the restart', async () => {
    const renew = (await leases.get('restart-1')).spec?.renewTime;
    return renew !== undefined && Date.parse(renew as string) > downSince;
  }, 60_000);

  await client.resource(Resources.configmaps, 'default').create({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'after' }, data: {} });
  await eventually('informer sees configmap after', () => cms.lister.get('default/after') !== undefined, 60_000);

  await pods.create(boundPod('after', 'restart-1'));
  await eventually('pod after Running', () => runningPod(client, 'after'), 60_000);
  // Deletion through the kubelet's watch: the worker finishes it.
  await pods.delete('before-1');
  await eventually('pod before-1 gone', async () => {
    try {
      await pods.get('before-1');
      return false;
    } catch (err) {
      return isNotFound(err);
    }
  }, 60_000);

  abort.abort();
  await settlesWithin('informer run()', informerDone);
  await settlesWithin('kubelet.stop()', kubelet.stop());
  await settlesWithin('client.close()', client.close());
  unhandled.check();
});

/**
 * A TCP forwarder in front of the API server that can make it vanish as a dead host or a
 * dropped network path does: vanish() stops forwarding on every open connection without
 * closing it (no FIN, no RST: the peers just hear nothing) and holds new ones unanswered;
 * reappear() forwards new connections again. The vanished connections stay silent.
 */
async function vanishingProxy(t: { after(fn: () => unknown): void }, targetPort: number): Promise<{ port: number; vanish(): void; reappear(): void }> {
  let down = false;
  const open = new Set<Socket>();
  const pairs: [Socket, Socket][] = [];
  const server = createServer((downstream) => {
    open.add(downstream);
    downstream.on('close', () => open.delete(downstream));
    downstream.on('error', () => downstream.destroy());
    if (down) {
      downstream.pause();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    open.add(upstream);
    upstream.on('close', () => { open.delete(upstream); downstream.destroy(); });
    upstream.on('error', () => upstream.destroy());
    downstream.on('close', () => upstream.destroy());
    downstream.pipe(upstream);
    upstream.pipe(downstream);
    pairs.push([downstream, upstream]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    for (const s of open) s.destroy();
    server.close(() => resolve());
  }));
  return {
    port: (server.address() as { port: number }).port,
    vanish() {
      down = true;
      for (const [d, u] of pairs.splice(0)) {
        d.unpipe(u);
        u.unpipe(d);
        d.pause();
        u.pause();
      }
    },
    reappear() {
      down = false;
    },
  };
}

test('an API server that vanishes without closing connections is noticed by HTTP/2 pings; the kubelet recovers when it is reachable again', async (t) => {
  const unhandled = watchUnhandled(t);
  const api = await restartableApiServer(t, backends[0]!);
  const proxy = await vanishingProxy(t, api.port);
  const creds = await loadKubeconfig(api.kubeconfigPath);
  // A short health check (upstream: 30 s idle, 15 s for the answer) so the test runs
  // quickly; the answer's 3 s is still ample for a loaded machine's loopback.
  const client = newRestClient({
    server: `https://127.0.0.1:${proxy.port}`,
    ca: creds.ca,
    cert: creds.cert,
    key: creds.key,
    userAgent: 'kubelet/v1.32.0 flotilla',
    readIdleTimeoutMs: 1000,
    pingTimeoutMs: 3000,
  });
  t.after(() => client.close());
  const kubelet = await simulatedKubelet(client, 'vanish-1', 33);
  t.after(() => kubelet.stop());
  const pods = client.resource<Pod>(Resources.pods, 'default');
  const nodes = client.resource<Node>(Resources.nodes);
  await pods.create(boundPod('before', 'vanish-1'));
  await eventually('pod before Running', () => runningPod(client, 'before'));

  proxy.vanish();
  // No answer, and no closed connection either: the request fails once the connection is
  // found dead, instead of waiting for its 60 s timeout or forever.
  await settlesWithin('a get while the API server is unreachable', assert.rejects(pods.get('before'), /no answer to an HTTP\/2 PING|not connected after/));
  const downSince = Date.now();
  proxy.reappear();

  await eventually('node heartbeat after the API server is reachable again', async () => readyHeartbeat(await nodes.get('vanish-1')) > downSince, 60_000);
  // The kubelet's pod watch was on the dead connection: a pod created now runs only if it
  // watches again.
  await pods.create(boundPod('after', 'vanish-1'));
  await eventually('pod after Running', () => runningPod(client, 'after'), 60_000);

  proxy.vanish();
  await settlesWithin('kubelet.stop() with the API server unreachable', kubelet.stop());
  await settlesWithin('client.close() with the API server unreachable', client.close());
  unhandled.check();
});
