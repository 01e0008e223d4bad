/**
 * Pods on real containers: `flotilla up --runtime cri` (its own containerd, CNI bridge,
 * images from the air-gap folder) driven by the real kubectl, as issue 5's "tests that
 * must exist" list them. One cluster serves every test of this file.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { spawnSync } from 'node:child_process';
import { skipWithoutContainers, useCluster, type Cluster } from '../util/cluster.js';
import { eventually } from '../util/wait.js';
import { haveRegistry } from '../util/registry.js';

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

describe('pods on containerd through flotilla up', { skip: skipWithoutContainers }, () => {
  const cluster = useCluster({ runtime: 'cri', mirrorNginx: true });
  let c: Cluster;
  before(() => { c = cluster(); });

  test('the node is Ready and says it runs containerd', () => {
    assert.match(c.up.stdout(), /✓ containerd\s+pid \d+/);
    assert.equal(c.jsonpath('node/node-1', '{.status.conditions[?(@.type=="Ready")].status}'), 'True');
    assert.match(c.jsonpath('node/node-1', '{.status.nodeInfo.containerRuntimeVersion}'), /^containerd:\/\/1\./);
  });

  test('a pod serving HTTP is Running and answers on its pod IP', async () => {
    c.ok('run', 'web', '--image=nginx', '--image-pull-policy=IfNotPresent', '--port=80');
    await c.waitPhase('web', 'Running');
    const ip = c.jsonpath('pod/web', '{.status.podIP}');
    const prefix = c.podCIDR.split('.').slice(0, 3).join('.') + '.';
    assert.ok(ip.startsWith(prefix), `pod IP ${ip} not in ${c.podCIDR}`);
    assert.match(c.jsonpath('pod/web', '{.status.containerStatuses[0].containerID}'), /^containerd:\/\/[0-9a-f]{64}$/);
    assert.match(c.jsonpath('pod/web', '{.status.containerStatuses[0].imageID}'), /^(docker\.io\/library\/nginx@)?sha256:[0-9a-f]{64}$/);
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
    await c.waitReason('nope', /^(ErrImagePull|ImagePullBackOff)$/);
    await c.waitReason('nope', /^ImagePullBackOff$/);
    c.ok('run', 'never', '--image=busybox:not-here', '--image-pull-policy=Never');
    await c.waitReason('never', /^ErrImageNeverPull$/);
    const msg = c.jsonpath('pod/never', '{.status.containerStatuses[0].state.waiting.message}');
    assert.equal(msg, 'Container image "busybox:not-here" is not present with pull policy of Never');
  });

  test('a crashing container reaches CrashLoopBackOff and counts restarts', async () => {
    c.ok('run', 'crash', '--image=busybox', '--image-pull-policy=IfNotPresent', '--', 'sh', '-c', 'echo crashing; exit 3');
    await c.waitReason('crash', /^CrashLoopBackOff$/);
    assert.equal(c.jsonpath('pod/crash', '{.status.containerStatuses[0].lastState.terminated.exitCode}'), '3');
    assert.equal(c.jsonpath('pod/crash', '{.status.containerStatuses[0].lastState.terminated.reason}'), 'Error');
    assert.ok(Number(c.jsonpath('pod/crash', '{.status.containerStatuses[0].restartCount}')) >= 1);
  });

  test('a pod that exits 0 with restartPolicy Never is Succeeded/Completed', async () => {
    c.ok('run', 'once', '--image=busybox', '--image-pull-policy=IfNotPresent', '--restart=Never', '--', 'sh', '-c', 'echo done');
    await c.waitPhase('once', 'Succeeded');
    assert.equal(c.jsonpath('pod/once', '{.status.containerStatuses[0].state.terminated.reason}'), 'Completed');
  });
  test('kubectl logs: whole, --tail, -f, -c, and --previous after a restart', async () => {
    c.ok('run', 'logger', '--image=busybox', '--image-pull-policy=IfNotPresent', '--', 'sh', '-c', 'i=0; while true; do echo line $i; i=$((i+1)); sleep 1; done');
    await c.waitPhase('logger', 'Running');
    await eventually('two log lines', () => /line 1\n/.test(c.ok('logs', 'logger')), 30_000);
    assert.match(c.ok('logs', 'logger'), /^line 0\nline 1\n/);
    assert.equal(c.ok('logs', 'logger', '--tail=1').split('\n').filter(Boolean).length, 1);
    assert.match(c.ok('logs', 'logger', '-c', 'logger', '--timestamps'), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z line 0$/m);
    // -f keeps streaming as the container writes.
    const f = c.spawnKubectl(['logs', '-f', 'logger']);
    let out = '';
    f.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    const seen = Number(/line (\d+)\n$/.exec(c.ok('logs', 'logger'))?.[1] ?? 0);
    await eventually('logs -f streams new lines', () => out.includes(`line ${seen + 2}\n`), 30_000);
    f.kill();
    // The crash pod restarted: its previous instance's log is still there.
    await eventually('crash restarted', () => Number(c.jsonpath('pod/crash', '{.status.containerStatuses[0].restartCount}')) >= 1, 60_000);
    assert.match(c.ok('logs', 'crash', '--previous'), /^crashing$/m);
  });

  test('kubectl exec: a command, its exit code, stdin with -i, and a terminal with -it', async () => {
    assert.match(c.ok('exec', 'web', '--', 'cat', '/usr/share/nginx/html/index.html'), /Welcome to nginx!/);
    const bad = c.kubectl(['exec', 'web', '--', 'sh', '-c', 'echo oops >&2; exit 7']);
    assert.equal(bad.status, 7, bad.stderr);
    assert.match(bad.stderr, /oops/);
    assert.match(bad.stderr, /command terminated with exit code 7/);
    const piped = c.kubectl(['exec', '-i', 'web', '--', 'sh', '-c', 'read x; echo got:$x'], { input: 'ahoy\n' });
    assert.equal(piped.status, 0, piped.stderr);
    assert.equal(piped.stdout.trim(), 'got:ahoy');
    // -t needs a terminal on kubectl's side: script(1) gives it one.
    const tty = spawnSync('script', ['-qec', `kubectl exec -it web -- sh -c 'tty; echo rows=$(stty size)'`, '/dev/null'], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: c.kubeconfig }, timeout: 60_000, input: '' });
    assert.equal(tty.status, 0, tty.stdout + tty.stderr);
    assert.match(tty.stdout, /\/dev\/pts\/\d+/);
  });

  test('kubectl port-forward reaches the pod', async () => {
    const pf = c.spawnKubectl(['port-forward', 'pod/web', ':80']);
    let out = '';
    pf.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    pf.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      await eventually('port-forward listening', () => /Forwarding from 127\.0\.0\.1:(\d+) -> 80/.test(out), 30_000);
      const port = Number(/Forwarding from 127\.0\.0\.1:(\d+) -> 80/.exec(out)![1]);
      for (let i = 0; i < 3; i++) {
        const res = await httpGet('127.0.0.1', port);
        assert.equal(res.status, 200);
        assert.match(res.body, /Welcome to nginx!/);
      }
    } finally {
      pf.kill();
    }
  });
});
