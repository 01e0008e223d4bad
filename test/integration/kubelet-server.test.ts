/**
 * The kubelet's HTTPS server behind a real API server, driven by the real kubectl, on the
 * simulated runtime (no containers): `kubectl logs` (--tail, --timestamps, -f, --previous),
 * `kubectl exec` (output, exit codes, stdin, -it, refused commands), `kubectl attach` and
 * `kubectl port-forward` (to a local HTTP server standing in for the pod's port) all go
 * kubectl → API server → kubelet and back.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { SimulatedRuntime, simulatedMachineInfo, startKubelet } from '../../src/kubelet/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { portForward, type TestApiServer } from '../util/kubectl.js';
import { fetchText } from '../util/net.js';
import { tempDir } from '../util/tmp.js';
import { eventuallyValue } from '../util/wait.js';

type T = { after(fn: () => unknown): void };

/** A local HTTP server standing in for port 80 of every simulated pod. */
async function backendHTTP(t: T): Promise<number> {
  const srv = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello from the pod, path ${req.url}\n`);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  // Connections the kubelet's port-forwards opened may still be up (the kubelet stops after
  // this hook): close them too, or close() would wait for them forever.
  t.after(() => new Promise<void>((resolve) => {
    srv.close(() => resolve());
    srv.closeAllConnections();
  }));
  srv.unref();
  return (srv.address() as { port: number }).port;
}

async function simulatedNode(t: T, api: TestApiServer, nodeName: string) {
  const httpPort = await backendHTTP(t);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet');
  const podCIDR = '10.244.9.0/24';
  const runtime = new SimulatedRuntime({
    clock: realClock,
    podCIDR,
    logDir: tempDir(t, 'flotilla-kubelet-logs-'),
    portForward: (_sb, port) => (port === 80 ? { host: '127.0.0.1', port: httpPort } : undefined),
  });
  const kubelet = await startKubelet({
    client,
    nodeName,
    runtime,
    clock: realClock,
    logger: silentLogger(),
    podCIDR,
    machine: simulatedMachineInfo({ name: nodeName, internalIP: '127.0.0.1' }),
    serverPort: 0,
    serverAddress: '127.0.0.1',
  });
  // The node goes before the control plane, as a cluster shuts down: the caller runs stop()
  // first (stopped after the API server, the kubelet's stop and its client's close waited
  // on a connection to a server that was gone, and the file hung in its after-hooks).
  const stop = async () => {
    await kubelet.stop();
    await client.close();
  };
  return { client, kubelet, stop };
}

async function runPod(api: TestApiServer, name: string, node: string, args: string[], extra: string[] = []): Promise<void> {
  await api.ok(['run', name, '--image', 'busybox', '--overrides', JSON.stringify({ spec: { nodeName: node } }), ...extra, '--', ...args]);
}

async function waitRunning(api: TestApiServer, name: string, restarts = 0): Promise<void> {
  await eventuallyValue(`pod ${name} Running`, async () => {
    const out = await api.ok(['get', 'pod', name, '--no-headers']);
    const m = /\s1\/1\s+Running\s+(\d+)/.exec(out);
    return m && Number(m[1]) >= restarts ? out : undefined;
  });
}

for (const backend of backends) {
  test(`kubectl logs, exec, attach and port-forward through the API server to a simulated kubelet (${backend.name})`, { skip: backend.skip }, async (t) => {
    const simNode: { stop?: () => Promise<void> } = {};
    // Registered first, so it runs first (after-hooks run in registration order).
    t.after(() => simNode.stop?.());
    const api = await startBackendApiServer(t, backend);
    simNode.stop = (await simulatedNode(t, api, 'sim-srv')).stop;
    const node = await api.ok(['get', 'node', 'sim-srv', '-o', 'jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}']);
    assert.match(node, /^\d+$/);
    assert.notEqual(node, '10250');

    await runPod(api, 'web', 'sim-srv', ['sh', '-c', 'echo hello from web; echo second line; sleep 3600'], ['--env', 'GREETING=hi there']);
    await waitRunning(api, 'web');

    // logs
    assert.equal(await api.ok(['logs', 'web']), 'simulated container web started\nhello from web\nsecond line\n');
    assert.equal(await api.ok(['logs', 'web', '--tail=1']), 'second line\n');
    assert.equal(await api.ok(['logs', 'pod/web', '-c', 'web', '--limit-bytes=5']), 'simul');
    assert.match(await api.ok(['logs', 'web', '--timestamps']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z simulated container web started\n/);
    assert.equal(await api.ok(['logs', 'web', '--since=1h']), 'simulated container web started\nhello from web\nsecond line\n');
    const prev = await api.kubectl(['logs', 'web', '--previous']);
    assert.notEqual(prev.code, 0);
    assert.match(prev.stderr, /previous terminated container "web" in pod "web" not found/);
    const badContainer = await api.kubectl(['logs', 'web', '-c', 'nope']);
    assert.match(badContainer.stderr, /container nope is not valid for pod web/);

    // exec
    assert.equal(await api.ok(['exec', 'web', '--', 'echo', 'hi', 'there']), 'hi there\n');
    assert.equal(await api.ok(['exec', 'web', '--', 'hostname']), 'web\n');
    assert.match(await api.ok(['exec', 'web', '--', 'env']), /^GREETING=hi there$/m);
    const failed = await api.kubectl(['exec', 'web', '--', 'sh', '-c', 'exit 3']);
    assert.equal(failed.code, 3);
    assert.match(failed.stderr, /command terminated with exit code 3/);
    const refused = await api.kubectl(['exec', 'web', '--', 'nginx', '-t']);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /simulated runtime runs no processes: "nginx -t" cannot be executed/);
    const cat = await api.kubectl(['exec', '-i', 'web', '--', 'cat'], { input: 'line one\nline two\n' });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'line one\nline two\n');
    // -it with a pipe for stdin: kubectl says it cannot use a TTY and runs without one.
    const it = await api.kubectl(['exec', '-it', 'web', '--', 'cat'], { input: 'typed\n' });
    assert.equal(it.code, 0, it.stderr);
    assert.equal(it.stdout, 'typed\n');
    assert.match(it.stderr, /Unable to use a TTY/);
    // exec over SPDY, what kubectl before 1.30 speaks (and 1.32 with websockets turned off)
    const spdyEnv = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
    assert.equal(await api.ok(['exec', 'web', '--', 'echo', 'over', 'spdy'], { env: spdyEnv }), 'over spdy\n');
    const spdyFailed = await api.kubectl(['exec', 'web', '--', 'sh', '-c', 'exit 5'], { env: spdyEnv });
    assert.equal(spdyFailed.code, 5);
    assert.match(spdyFailed.stderr, /command terminated with exit code 5/);
    const spdyCat = await api.kubectl(['exec', '-i', 'web', '--', 'cat'], { input: 'spdy stdin\n', env: spdyEnv });
    assert.equal(spdyCat.code, 0, spdyCat.stderr);
    assert.equal(spdyCat.stdout, 'spdy stdin\n');

    // port-forward (WebSocket-tunnelled SPDY, kubectl 1.32's default)
    const { pf, localPorts: [localPort] } = await portForward(t, api.kubeconfigPath, 'pod/web', [80]);
    assert.equal(await fetchText(localPort, '/one'), 'hello from the pod, path /one\n');
    assert.equal(await fetchText(localPort, '/two'), 'hello from the pod, path /two\n');
    await pf.waitFor(/Handling connection for \d+\n[\s\S]*Handling connection for \d+/);
    await pf.kill();

    // port-forward over plain SPDY (kubectl's fallback), and a port nothing listens on
    const { pf: spdy, localPorts: ports } = await portForward(t, api.kubeconfigPath, 'pod/web', [80, 81], { env: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, timeoutMs: 30_000 });
    assert.equal(await fetchText(ports[0]!, '/spdy'), 'hello from the pod, path /spdy\n');
    await fetchText(ports[1]!, '/').catch(() => '');
    await eventuallyValue('port-forward error for port 81', async () => /error forwarding port 81 to pod .*simulated runtime runs no processes: nothing listens on port 81/.test(spdy.stderr()));
    await spdy.kill();

    // logs -f follows until the container exits; --previous after a restart
    await runPod(api, 'short', 'sim-srv', ['sh', '-c', 'echo short lived; sleep 3']);
    await waitRunning(api, 'short');
    const follow = await api.kubectl(['logs', '-f', 'short'], { timeoutMs: 30_000 });
    assert.equal(follow.code, 0, follow.stderr);
    assert.equal(follow.stdout, 'simulated container short started\nshort lived\n');

    await runPod(api, 'crashy', 'sim-srv', ['sh', '-c', 'echo attempt; sleep 1; exit 1']);
    await eventuallyValue('crashy restarted', async () => {
      const out = await api.ok(['get', 'pod', 'crashy', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']);
      return Number(out) >= 1 ? out : undefined;
    }, 60_000);
    assert.equal(await api.ok(['logs', 'crashy', '--previous']), 'simulated container crashy started\nattempt\n');

    // attach: nothing new to show; it ends when the container exits.
    await runPod(api, 'attachme', 'sim-srv', ['sh', '-c', 'echo a; sleep 2']);
    await waitRunning(api, 'attachme');
    const attach = await api.kubectl(['attach', 'attachme'], { timeoutMs: 30_000 });
    assert.equal(attach.code, 0, attach.stderr);

  });
}
