/**
 * Pods on real containers: `flotilla up --runtime cri` (its own containerd, CNI bridge,
 * images from the air-gap folder) driven by the real kubectl, as issue 5's "tests that
 * must exist" list them. One cluster serves every test of this file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { skipWithoutContainers, startCluster, type Cluster } from '../util/cluster.js';
import { testImageSpecs } from '../util/images.js';
import { eventually } from '../util/wait.js';
import { haveRegistry, startRegistry } from '../util/registry.js';

function httpGet(host: string, port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function jsonpath(c: Cluster, what: string, path: string): string {
  return c.ok('get', what, '-o', `jsonpath=${path}`);
}

async function waitPhase(c: Cluster, pod: string, phase: string): Promise<void> {
  await eventually(`pod ${pod} ${phase}`, () => jsonpath(c, `pod/${pod}`, '{.status.phase}') === phase, 60_000);
}

async function waitReason(c: Cluster, pod: string, reason: RegExp, field = 'containerStatuses'): Promise<string> {
  let last = '';
  await eventually(`pod ${pod} waiting reason ${reason}`, () => {
    last = jsonpath(c, `pod/${pod}`, `{.status.${field}[0].state.waiting.reason}`);
    return reason.test(last);
  }, 60_000);
  return last;
}

describe('pods on containerd through flotilla up', { skip: skipWithoutContainers }, () => {
  let c: Cluster;
  const hooks: Array<() => unknown> = [];
  before(async () => {
    const t = { after: (fn: () => unknown) => hooks.push(fn) };
    // docker.io mirrored to a local registry holding nginx, so imagePullPolicy Always pulls.
    const extraArgs: string[] = [];
    if (haveRegistry) {
      const reg = await startRegistry(t);
      await reg.push(testImageSpecs.nginx);
      extraArgs.push('--registry-mirror', `docker.io=${reg.url}`);
    }
    c = await startCluster(t, { runtime: 'cri', extraArgs });
  });
  after(async () => {
    for (const fn of hooks.reverse()) await fn();
  });

  test('the node is Ready and says it runs containerd', () => {
    assert.match(c.up.stdout(), /✓ containerd\s+pid \d+/);
    assert.equal(jsonpath(c, 'node/node-1', '{.status.conditions[?(@.type=="Ready")].status}'), 'True');
    assert.match(jsonpath(c, 'node/node-1', '{.status.nodeInfo.containerRuntimeVersion}'), /^containerd:\/\/1\./);
  });

  test('a pod serving HTTP is Running and answers on its pod IP', async () => {
    c.ok('run', 'web', '--image=nginx', '--image-pull-policy=IfNotPresent', '--port=80');
    await waitPhase(c, 'web', 'Running');
    const ip = jsonpath(c, 'pod/web', '{.status.podIP}');
    const prefix = c.podCIDR.split('.').slice(0, 3).join('.') + '.';
    assert.ok(ip.startsWith(prefix), `pod IP ${ip} not in ${c.podCIDR}`);
    assert.match(jsonpath(c, 'pod/web', '{.status.containerStatuses[0].containerID}'), /^containerd:\/\/[0-9a-f]{64}$/);
    assert.match(jsonpath(c, 'pod/web', '{.status.containerStatuses[0].imageID}'), /^(docker\.io\/library\/nginx@)?sha256:[0-9a-f]{64}$/);
    let res: { status: number; body: string } | undefined;
    await eventually('HTTP answer', async () => (res = await httpGet(ip, 80).catch(() => undefined)) !== undefined, 20_000);
    assert.equal(res!.status, 200);
    assert.match(res!.body, /Welcome to nginx!/);
  });

  test('imagePullPolicy Always pulls through the registry mirror', { skip: !haveRegistry && 'docker-registry not installed' }, async () => {
    c.ok('create', 'deployment', 'pulled', '--image=nginx');
    c.ok('rollout', 'status', 'deployment/pulled', '--timeout=60s');
    const pod = c.ok('get', 'pods', '-l', 'app=pulled', '-o', 'jsonpath={.items[0].metadata.name}');
    const events = c.ok('get', 'events', '--field-selector', `involvedObject.name=${pod}`, '-o', 'jsonpath={.items[*].message}');
    assert.match(events, /Successfully pulled image "nginx"/);
  });

  test('a missing image yields ErrImagePull then ImagePullBackOff; Never yields ErrImageNeverPull', async () => {
    c.ok('run', 'nope', '--image=registry.invalid/nope:1');
    await waitReason(c, 'nope', /^(ErrImagePull|ImagePullBackOff)$/);
    await waitReason(c, 'nope', /^ImagePullBackOff$/);
    c.ok('run', 'never', '--image=busybox:not-here', '--image-pull-policy=Never');
    await waitReason(c, 'never', /^ErrImageNeverPull$/);
    const msg = jsonpath(c, 'pod/never', '{.status.containerStatuses[0].state.waiting.message}');
    assert.equal(msg, 'Container image "busybox:not-here" is not present with pull policy of Never');
  });

  test('a crashing container reaches CrashLoopBackOff and counts restarts', async () => {
    c.ok('run', 'crash', '--image=busybox', '--image-pull-policy=IfNotPresent', '--', 'sh', '-c', 'echo crashing; exit 3');
    await waitReason(c, 'crash', /^CrashLoopBackOff$/);
    assert.equal(jsonpath(c, 'pod/crash', '{.status.containerStatuses[0].lastState.terminated.exitCode}'), '3');
    assert.equal(jsonpath(c, 'pod/crash', '{.status.containerStatuses[0].lastState.terminated.reason}'), 'Error');
    assert.ok(Number(jsonpath(c, 'pod/crash', '{.status.containerStatuses[0].restartCount}')) >= 1);
  });

  test('a pod that exits 0 with restartPolicy Never is Succeeded/Completed', async () => {
    c.ok('run', 'once', '--image=busybox', '--image-pull-policy=IfNotPresent', '--restart=Never', '--', 'sh', '-c', 'echo done');
    await waitPhase(c, 'once', 'Succeeded');
    assert.equal(jsonpath(c, 'pod/once', '{.status.containerStatuses[0].state.terminated.reason}'), 'Completed');
  });
});
