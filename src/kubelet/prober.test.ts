/**
 * Probes, lifecycle hooks and graceful termination on the simulated runtime with a fake
 * clock and client, plus the HTTP/TCP probe actions against local servers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { deepClone, formatRFC3339, type KObject } from '../apimachinery/meta.js';
import { FakeClient } from '../client/fake.js';
import { deepFreeze } from '../client/freeze.js';
import { Resources } from '../client/interface.js';
import type { Container, Pod } from '../client/objects.js';
import { FakeClock, realClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import { Registry } from 'prom-client';
import { PodWorkers } from './pods.js';
import { TimerWheel } from './wheel.js';
import { httpGetRequest, netTransport, resolveContainerPort, runProbe } from './prober.js';
import { SimFiles, scriptFileOps, simExec } from './simscript.js';
import { SimulatedRuntime } from './simulated.js';
import { flush, startSimulatedKubelet, TestNodeName as NODE, type SimulatedKubelet } from './testing.js';

function newPod(name: string, containers: Partial<Container>[], extra: { restartPolicy?: string; grace?: number; annotations?: Record<string, string>; hostNetwork?: boolean } = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', ...(extra.annotations ? { annotations: extra.annotations } : {}) },
    spec: {
      nodeName: NODE,
      restartPolicy: (extra.restartPolicy ?? 'Always') as 'Always',
      terminationGracePeriodSeconds: extra.grace ?? 30,
      ...(extra.hostNetwork ? { hostNetwork: true } : {}),
      containers: containers.map((c, i) => ({ name: c.name ?? `c${i}`, image: 'busybox:1.36', imagePullPolicy: 'IfNotPresent', ...c })),
    },
    status: { phase: 'Pending' },
  };
}

interface Env extends SimulatedKubelet {
  /** The runtime's stops of running containers: which, with what grace period, when. */
  stops: Array<{ name: string; grace: number; at: number }>;
}

async function setup(t: { after(fn: () => unknown): void }): Promise<Env> {
  const stops: Env['stops'] = [];
  const env = await startSimulatedKubelet(t, {
    prepare(runtime, clock) {
      const stop = runtime.stopContainer.bind(runtime);
      runtime.stopContainer = async (id, grace) => {
        const c = await runtime.containerStatus(id).catch(() => undefined);
        if (c?.state === 'running') stops.push({ name: c.name, grace, at: clock.now() });
        return stop(id, grace);
      };
    },
  });
  return Object.assign(env, { stops });
}

function condition(pod: Pod, type: string): string | undefined {
  return pod.status?.conditions?.find((c) => c.type === type)?.status;
}

const catHealthy = "cat: can't open '/tmp/healthy': No such file or directory\n";

test('a failing exec liveness probe restarts the container after failureThreshold failures', async (t) => {
  const env = await setup(t);
  await env.create(
    newPod('live', [
      {
        command: ['sh', '-c', 'touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600'],
        livenessProbe: { exec: { command: ['cat', '/tmp/healthy'] }, initialDelaySeconds: 5, periodSeconds: 5 },
      },
    ]),
  );
  let pod = await env.pod('live');
  assert.equal(pod.status!.phase, 'Running');
  assert.equal(pod.status!.containerStatuses![0]!.ready, true, 'no readiness probe: ready once running');
  await env.step(29_000);
  assert.deepEqual(env.messages('Unhealthy'), [], 'healthy for 30 s');
  await env.step(2_000);
  assert.deepEqual(env.messages('Unhealthy'), [`Liveness probe failed: ${catHealthy}`]);
  assert.equal((await env.pod('live')).status!.containerStatuses![0]!.restartCount, 0, 'one failure is below the threshold');
  await env.step(10_000);
  assert.deepEqual(env.messages('Unhealthy'), Array(3).fill(`Liveness probe failed: ${catHealthy}`));
  assert.ok(env.messages('Killing').includes('Container c0 failed liveness probe, will be restarted'));
  pod = await env.pod('live');
  const cs = pod.status!.containerStatuses![0]!;
  assert.equal(cs.restartCount, 1);
  assert.ok(cs.state!.running, 'restarted at once: no earlier dead instance to back off from');
  assert.ok(cs.lastState!.terminated);
  assert.equal(env.stops.at(-1)!.grace, 30, "the pod's terminationGracePeriodSeconds");
  // The new container's script creates the file again: healthy for another 30 s.
  const unhealthy = env.messages('Unhealthy').length;
  await env.step(20_000);
  assert.equal(env.messages('Unhealthy').length, unhealthy);
  assert.equal(env.kubelet.workers.prober.workerCount, 1);
});

test("a liveness restart uses the probe's own terminationGracePeriodSeconds; restartPolicy Never kills without restart", async (t) => {
  const env = await setup(t);
  await env.create(
    newPod('never', [{ command: ['sleep', '3600'], livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 2, terminationGracePeriodSeconds: 7 } }], { restartPolicy: 'Never' }),
  );
  await env.step(3_000);
  assert.deepEqual(env.messages('Killing'), ['Container c0 failed liveness probe']);
  assert.equal(env.stops.at(-1)!.grace, 7);
  const pod = await env.pod('never');
  assert.equal(pod.status!.containerStatuses![0]!.restartCount, 0);
  assert.ok(pod.status!.containerStatuses![0]!.state!.terminated);
  assert.equal(env.messages('Unhealthy')[0], 'Liveness probe failed: ');
});

test('repeated liveness restarts back off like crashes (CrashLoopBackOff)', async (t) => {
  const env = await setup(t);
  await env.create(newPod('loop', [{ command: ['sleep', '3600'], livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 1 } }]));
  await env.step(8_000);
  const pod = await env.pod('loop');
  const cs = pod.status!.containerStatuses![0]!;
  assert.ok(cs.restartCount >= 2 && cs.restartCount <= 4, `restarts ${cs.restartCount}`);
  await env.step(60_000);
  const later = (await env.pod('loop')).status!.containerStatuses![0]!;
  assert.ok(later.restartCount < cs.restartCount + 6, 'back-off slows the restarts');
  assert.ok(env.messages('BackOff').some((m) => m.startsWith('Back-off restarting failed container c0')));
});

test('a readiness probe flips Ready and ContainersReady without restarting', async (t) => {
  const env = await setup(t);
  await env.create(
    newPod('ready', [
      {
        command: ['sh', '-c', 'sleep 10; touch /tmp/ready; sleep 20; rm /tmp/ready; sleep 600'],
        readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 2, failureThreshold: 2 },
      },
    ]),
  );
  let pod = await env.pod('ready');
  assert.equal(pod.status!.phase, 'Running');
  assert.equal(pod.status!.containerStatuses![0]!.ready, false, 'readiness defaults to false');
  assert.equal(pod.status!.containerStatuses![0]!.started, true);
  const ready = pod.status!.conditions!.find((c) => c.type === 'Ready')!;
  assert.deepEqual([ready.status, ready.reason, ready.message], ['False', 'ContainersNotReady', 'containers with unready status: [c0]']);
  await env.step(11_000);
  pod = await env.pod('ready');
  assert.equal(pod.status!.containerStatuses![0]!.ready, true);
  assert.equal(condition(pod, 'Ready'), 'True');
  assert.equal(condition(pod, 'ContainersReady'), 'True');
  await env.step(20_000);
  assert.equal(condition(await env.pod('ready'), 'Ready'), 'True', 'one failure is below failureThreshold');
  await env.step(3_000);
  pod = await env.pod('ready');
  assert.equal(condition(pod, 'Ready'), 'False');
  assert.equal(pod.status!.containerStatuses![0]!.restartCount, 0);
  assert.ok(env.messages('Unhealthy').every((m) => m === "Readiness probe failed: cat: can't open '/tmp/ready': No such file or directory\n"));
});

test('readiness successThreshold needs that many successes in a row', async (t) => {
  const env = await setup(t);
  await env.create(newPod('succ', [{ command: ['sleep', '3600'], readinessProbe: { exec: { command: ['true'] }, periodSeconds: 5, successThreshold: 3 } }]));
  // Probes at 0 (right after the start), 5, 10 s.
  await env.step(6_000);
  assert.equal(condition(await env.pod('succ'), 'Ready'), 'False');
  await env.step(5_000);
  assert.equal(condition(await env.pod('succ'), 'Ready'), 'True');
});

test('httpGet and tcpSocket probes on a simulated pod follow the probe-fail annotation', async (t) => {
  const env = await setup(t);
  await env.create(
    newPod(
      'web',
      [
        {
          command: ['httpd', '-f'],
          ports: [{ name: 'http', containerPort: 80 }],
          readinessProbe: { httpGet: { port: 'http', path: '/healthz' }, periodSeconds: 1, failureThreshold: 1 },
          livenessProbe: { tcpSocket: { port: 80 }, periodSeconds: 1 },
        },
      ],
      { annotations: { 'simulated.flotilla.dev/probe-fail': 'readiness' } },
    ),
  );
  await env.step(2_000);
  assert.equal(condition(await env.pod('web'), 'Ready'), 'False');
  assert.ok(env.messages('Unhealthy').includes('Readiness probe failed: HTTP probe failed with statuscode: 500'));
  const pods = env.fake.resource<Pod>(Resources.pods, 'default');
  await pods.patch('web', 'application/merge-patch+json' as never, { metadata: { annotations: { 'simulated.flotilla.dev/probe-fail': 'liveness' } } });
  await env.step(1_500);
  const pod = await env.pod('web');
  assert.equal(condition(pod, 'Ready'), 'True');
  await env.step(3_000);
  assert.ok(env.messages('Unhealthy').some((m) => /^Liveness probe failed: dial tcp 10\.244\.1\.\d+:80: connect: connection refused$/.test(m)));
  assert.ok(env.messages('Killing').includes('Container c0 failed liveness probe, will be restarted'));
});

test('a startup probe holds liveness and readiness until it passes', async (t) => {
  const env = await setup(t);
  await env.create(
    newPod('slow', [
      {
        command: ['sh', '-c', 'sleep 6; touch /tmp/started; sleep 3600'],
        startupProbe: { exec: { command: ['test', '-f', '/tmp/started'] }, periodSeconds: 1, failureThreshold: 30 },
        livenessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
        readinessProbe: { exec: { command: ['true'] }, periodSeconds: 1 },
      },
    ]),
  );
  await env.step(4_000);
  let cs = (await env.pod('slow')).status!.containerStatuses![0]!;
  assert.equal(cs.started, false);
  assert.equal(cs.ready, false);
  assert.deepEqual(env.messages('Unhealthy'), Array(env.messages('Unhealthy').length).fill('Startup probe failed: '));
  await env.step(4_000);
  cs = (await env.pod('slow')).status!.containerStatuses![0]!;
  assert.equal(cs.started, true);
  assert.equal(cs.ready, true);
  assert.equal(cs.restartCount, 0);
});

test('a startup probe that never passes restarts the container', async (t) => {
  const env = await setup(t);
  await env.create(newPod('stuck', [{ command: ['sleep', '3600'], startupProbe: { exec: { command: ['cat', '/tmp/never'] }, periodSeconds: 1, failureThreshold: 3 } }]));
  await env.step(3_500);
  assert.ok(env.messages('Killing').includes('Container c0 failed startup probe, will be restarted'));
  assert.equal((await env.pod('stuck')).status!.containerStatuses![0]!.restartCount, 1);
});

test('an exec probe past its timeout fails with "command … timed out"', async (t) => {
  const env = await setup(t);
  await env.create(newPod('to', [{ command: ['sleep', '3600'], readinessProbe: { exec: { command: ['sh', '-c', 'sleep 5'] }, timeoutSeconds: 2, periodSeconds: 10 } }]));
  await env.step(3_000);
  assert.deepEqual(env.messages('Unhealthy'), ['Readiness probe failed: command "sh -c sleep 5" timed out']);
});

test('a failing postStart hook kills the container (FailedPostStartHook, PostStartHookError)', async (t) => {
  const env = await setup(t);
  await env.create(newPod('hook', [{ command: ['sleep', '3600'], lifecycle: { postStart: { exec: { command: ['sh', '-c', 'echo oops; exit 3'] } } } }]));
  const pod = await env.pod('hook');
  const uid = pod.metadata!.uid!;
  assert.deepEqual(env.messages('FailedPostStartHook').slice(0, 1), [
    `Exec lifecycle hook ([sh -c echo oops; exit 3]) for Container "c0" in Pod "hook_default(${uid})" failed - error: command 'sh -c echo oops; exit 3' exited with 3: , message: "oops\\n"`,
  ]);
  assert.ok(env.messages('Killing').includes('FailedPostStartHook'));
  // The first failure restarts at once (no back-off yet), the next ones back off.
  assert.equal(new Set(env.messages('FailedPostStartHook')).size, 1);
  assert.ok(['PostStartHookError', 'CrashLoopBackOff'].includes(pod.status!.containerStatuses![0]!.state!.waiting?.reason ?? ''));
  await env.step(100);
  assert.equal((await env.pod('hook')).status!.containerStatuses![0]!.state!.waiting?.reason, 'CrashLoopBackOff');
});

test('postStart exec and httpGet hooks that succeed let the container run', async (t) => {
  const env = await setup(t);
  await env.create(
    newPod('okhook', [
      { name: 'a', command: ['sleep', '3600'], lifecycle: { postStart: { exec: { command: ['touch', '/tmp/x'] } } }, readinessProbe: { exec: { command: ['cat', '/tmp/x'] } } },
      { name: 'b', command: ['sleep', '3600'], lifecycle: { postStart: { httpGet: { port: 8080, path: '/start' } } } },
    ]),
  );
  await env.step(500);
  const pod = await env.pod('okhook');
  assert.deepEqual(env.messages('FailedPostStartHook'), []);
  assert.equal(condition(pod, 'Ready'), 'True', 'the hook created the file the readiness probe reads');
});

test('deletion runs preStop inside the grace period, then stops with what is left (at least 2 s)', async (t) => {
  const env = await setup(t);
  await env.create(
    newPod('bye', [
      { name: 'short', command: ['sleep', '3600'], lifecycle: { preStop: { exec: { command: ['sleep', '5'] } } } },
      { name: 'long', command: ['sleep', '3600'], lifecycle: { preStop: { sleep: { seconds: 100 } } } },
      { name: 'bad', command: ['sleep', '3600'], lifecycle: { preStop: { exec: { command: ['false'] } } } },
      { name: 'none', command: ['sleep', '3600'] },
    ]),
  );
  const uid = (await env.pod('bye')).metadata!.uid!;
  const t0 = env.clock.now();
  env.markDeleted('bye', 20);
  await flush(60);
  await env.step(25_000);
  await assert.rejects(env.pod('bye'), /not found/);
  const byName = Object.fromEntries(env.stops.map((s) => [s.name, { grace: s.grace, after: (s.at - t0) / 1000 }]));
  assert.deepEqual(byName, {
    short: { grace: 15, after: 5 },
    long: { grace: 2, after: 20 },
    bad: { grace: 20, after: 0 },
    none: { grace: 20, after: 0 },
  });
  assert.deepEqual(env.messages('Killing').sort(), ['Stopping container bad', 'Stopping container long', 'Stopping container none', 'Stopping container short']);
  assert.deepEqual(env.messages('FailedPreStopHook'), [`Exec lifecycle hook ([false]) for Container "bad" in Pod "bye_default(${uid})" failed - error: command 'false' exited with 1: , message: ""`]);
});

test("deletion honours the pod's terminationGracePeriodSeconds when the delete gave none", async (t) => {
  const env = await setup(t);
  await env.create(newPod('tg', [{ command: ['sleep', '3600'] }], { grace: 45 }));
  const store = env.fake.store(Resources.pods);
  const cur = store.get('default/tg')!;
  const next = deepClone(cur) as KObject;
  next.metadata!.deletionTimestamp = formatRFC3339(env.clock.now());
  next.metadata!.resourceVersion = String(env.fake.nextRV());
  store.set('default/tg', deepFreeze(next));
  env.fake.emit(Resources.pods, 'MODIFIED', next, cur);
  await env.step(100);
  assert.deepEqual(env.stops.map((s) => s.grace), [45]);
});

test('simulated exec: files from the container script, busybox messages, && and ||', async () => {
  const clock = new FakeClock();
  const files = new SimFiles(scriptFileOps(['sh', '-c'], ['echo hi > /tmp/a; sleep 10; rm -f /tmp/a; touch /tmp/b; nginx; touch /tmp/never']));
  files.started(clock.now());
  const run = async (cmd: string[]) => {
    const r = await simExec(cmd, files, clock, 0);
    return [r.exitCode, r.stdout.toString(), r.stderr.toString()];
  };
  assert.deepEqual(await run(['cat', '/tmp/a']), [0, 'hi\n', '']);
  assert.deepEqual(await run(['sh', '-c', 'test -f /tmp/b || echo missing']), [0, 'missing\n', '']);
  clock.step(10_000);
  assert.deepEqual(await run(['cat', '/tmp/a']), [1, '', "cat: can't open '/tmp/a': No such file or directory\n"]);
  assert.deepEqual(await run(['ls', '/tmp/b']), [0, '/tmp/b\n', '']);
  assert.deepEqual(await run(['cat', '/tmp/never']), [1, '', "cat: can't open '/tmp/never': No such file or directory\n"]);
  assert.deepEqual(await run(['sh', '-c', 'touch /tmp/c && cat /tmp/c && exit 4']), [4, '', '']);
  assert.deepEqual(await run(['rm', '/tmp/zz']), [1, '', "rm: can't remove '/tmp/zz': No such file or directory\n"]);
  assert.deepEqual(await run(['[', '-e', '/tmp/c', ']']), [0, '', '']);
  assert.deepEqual(await run(['pg_isready', '-h', 'localhost']), [0, '', ''], 'unknown commands succeed');
});

test('httpGetRequest: named ports, host, path with query, headers, User-Agent', () => {
  const c: Container = { name: 'c', ports: [{ name: 'web', containerPort: 8080 }] };
  const r = httpGetRequest({ port: 'web', path: '/healthz?full=1', scheme: 'HTTPS', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] }, c, '10.0.0.5', 'probe');
  assert.equal(r.url.href, 'https://10.0.0.5:8080/healthz?full=1');
  assert.deepEqual(r.headers, [['X-Probe', 'yes'], ['User-Agent', 'kube-probe/1.32'], ['Accept', '*/*']]);
  const h = httpGetRequest({ port: 80, host: 'example.test', httpHeaders: [{ name: 'Accept', value: '' }, { name: 'User-Agent', value: 'me' }] }, c, '10.0.0.5', 'lifecycle');
  assert.equal(h.url.href, 'http://example.test/');
  assert.deepEqual(h.headers, [['User-Agent', 'me']]);
  assert.equal(resolveContainerPort('8081', c), 8081);
  assert.throws(() => resolveContainerPort('nope', c), /port nope not found/);
  assert.throws(() => resolveContainerPort(0, c), /invalid port number: 0/);
});

test('httpGet and tcpSocket probe actions against real local servers', async (t) => {
  const seen: Array<Record<string, string | string[] | undefined>> = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    if (req.url === '/ok') res.end('fine');
    else if (req.url === '/bad') {
      res.statusCode = 503;
      res.end('down');
    } else if (req.url === '/hop') {
      res.statusCode = 302;
      res.setHeader('Location', '/ok');
      res.end();
    } else if (req.url === '/away') {
      res.statusCode = 301;
      res.setHeader('Location', 'http://other.invalid/ok');
      res.end('moved');
    } else if (req.url === '/loop') {
      res.statusCode = 302;
      res.setHeader('Location', '/loop');
      res.end();
    } else if (req.url === '/slow') setTimeout(() => res.end('late'), 3000).unref();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    server.closeAllConnections();
    server.close();
  });
  const port = (server.address() as net.AddressInfo).port;
  const closed = net.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const closedPort = (closed.address() as net.AddressInfo).port;
  await new Promise<void>((r) => closed.close(() => r()));
  const c: Container = { name: 'c', ports: [{ name: 'http', containerPort: port }] };
  const pod: Pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'd', uid: 'u' } };
  const probe = async (p: Parameters<typeof runProbe>[0]['probe']) => {
    const r = await runProbe({ probe: p, pod, container: c, containerID: 'x', podIP: '127.0.0.1', purpose: 'readiness', runtime: undefined as never, transport: netTransport, clock: realClock });
    return [r.outcome, r.output];
  };
  assert.deepEqual(await probe({ httpGet: { port: 'http', path: '/ok' } }), ['Success', 'fine']);
  assert.equal(seen[0]!['user-agent'], 'kube-probe/1.32');
  assert.equal(seen[0]!.accept, '*/*');
  assert.deepEqual(await probe({ httpGet: { port, path: '/bad' } }), ['Failure', 'HTTP probe failed with statuscode: 503']);
  assert.deepEqual(await probe({ httpGet: { port, path: '/hop' } }), ['Success', 'fine']);
  assert.deepEqual(await probe({ httpGet: { port, path: '/away' } }), ['Warning', 'Probe terminated redirects, Response body: moved']);
  assert.deepEqual(await probe({ httpGet: { port, path: '/loop' } }), ['Failure', `Get "http://127.0.0.1:${port}/loop": stopped after 10 redirects`]);
  assert.deepEqual(await probe({ httpGet: { port, path: '/slow' }, timeoutSeconds: 1 }), [
    'Failure',
    `Get "http://127.0.0.1:${port}/slow": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
  ]);
  assert.deepEqual(await probe({ httpGet: { port: closedPort, path: '/' } }), ['Failure', `Get "http://127.0.0.1:${closedPort}/": dial tcp 127.0.0.1:${closedPort}: connect: connection refused`]);
  assert.deepEqual(await probe({ tcpSocket: { port } }), ['Success', '']);
  assert.deepEqual(await probe({ tcpSocket: { port: closedPort } }), ['Failure', `dial tcp 127.0.0.1:${closedPort}: connect: connection refused`]);
});

test('simulated SIGTERM: a trap exits with its code, an ignored TERM is SIGKILLed when the grace period ends', async (t) => {
  const env = await setup(t);
  await env.create(
    newPod(
      'term',
      [
        { name: 'polite', command: ['sh', '-c', "trap 'exit 42' TERM; while true; do sleep 1; done"] },
        { name: 'stubborn', command: ['sh', '-c', "trap '' TERM; while true; do sleep 1; done"] },
      ],
      { grace: 3 },
    ),
  );
  env.fake.clearActions();
  const t0 = env.clock.now();
  env.markDeleted('term', 3);
  await flush(60);
  await env.step(2_000);
  assert.ok(await env.pod('term'), 'still terminating inside the grace period');
  await env.step(2_000);
  await assert.rejects(env.pod('term'), /not found/);
  const finals = env.fake
    .actions()
    .filter((a) => a.verb === 'patch' && a.subresource === 'status')
    .map((a) => (a.object as { status?: Pod['status'] }).status?.containerStatuses)
    .filter((s) => s !== undefined)
    .at(-1)!;
  assert.deepEqual(Object.fromEntries(finals.map((c) => [c.name, c.state?.terminated?.exitCode])), { polite: 42, stubborn: 137 });
  assert.equal((env.stops.find((s) => s.name === 'stubborn')!.at - t0) / 1000, 0);
});

test("probe periods run on the node's timer wheel when the pod workers are given one", async (t) => {
  const clock = new FakeClock();
  const fake = new FakeClient({ clock });
  const runtime = new SimulatedRuntime({ clock, podCIDR: '10.244.2.0/24' });
  const wheel = new TimerWheel({ clock });
  const registry = new Registry();
  const events: string[] = [];
  const workers = new PodWorkers({
    client: fake,
    nodeName: NODE,
    runtime,
    runtimeName: 'simulated',
    clock,
    logger: silentLogger(),
    recorder: { event: (_o, _type, reason, message) => events.push(`${reason}: ${message}`) },
    hostIP: () => '192.168.0.10',
    wheel,
    registry,
  });
  workers.start();
  t.after(() => {
    workers.stop();
    wheel.stop();
  });
  const pods = fake.resource<Pod>(Resources.pods, 'default');
  workers.updatePod(await pods.create(newPod('w', [{ command: ['sleep', '3600'], livenessProbe: { exec: { command: ['false'] }, periodSeconds: 2, failureThreshold: 2 } }])));
  await flush(60);
  assert.equal(wheel.size, 1, 'one wheel entry for the probe');
  for (let i = 0; i < 50; i++) {
    clock.step(100);
    await flush(5);
  }
  await flush(60);
  assert.ok(events.includes('Killing: Container c0 failed liveness probe, will be restarted'), events.join('\n'));
  const metrics = await registry.metrics();
  assert.match(metrics, /prober_probe_total\{probe_type="Liveness",result="failed",container="c0",pod="w",namespace="default",pod_uid="[^"]+"\} [2-9]/);
});

test("a sidecar's startup probe holds the pod's containers until it passes; its readiness counts for Ready", async (t) => {
  const env = await setup(t);
  const pod = newPod('side', [{ name: 'app', command: ['sleep', '3600'] }]);
  pod.spec!.initContainers = [
    {
      name: 'proxy',
      image: 'busybox:1.36',
      imagePullPolicy: 'IfNotPresent',
      restartPolicy: 'Always',
      command: ['sh', '-c', 'sleep 3; touch /tmp/up; sleep 3600'],
      startupProbe: { exec: { command: ['cat', '/tmp/up'] }, periodSeconds: 1, failureThreshold: 10 },
      readinessProbe: { exec: { command: ['cat', '/tmp/up'] }, periodSeconds: 1 },
    },
  ];
  await env.create(pod);
  await env.step(1_500);
  let p = await env.pod('side');
  assert.equal(p.status!.initContainerStatuses![0]!.started, false);
  assert.ok(p.status!.containerStatuses![0]!.state!.waiting, 'app waits for the sidecar to start');
  await env.step(3_000);
  p = await env.pod('side');
  assert.equal(p.status!.initContainerStatuses![0]!.started, true);
  assert.ok(p.status!.containerStatuses![0]!.state!.running);
  await env.step(1_500);
  p = await env.pod('side');
  assert.equal(p.status!.initContainerStatuses![0]!.ready, true);
  assert.equal(condition(p, 'Ready'), 'True');
});
