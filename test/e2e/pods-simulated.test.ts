/**
 * The pod tests of pods-cri / pods-lifecycle-cri on the simulated runtime (`flotilla up
 * --runtime simulated`: no containers; pods get IPs from the pod CIDR, images "pull" unless
 * their name says missing, shell scripts exit as written, probes fail when the pod's
 * simulated.flotilla.dev/probe-fail annotation names them), with the real kubectl.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useCluster, type Cluster } from '../util/cluster.js';
import { eventually } from '../util/wait.js';

async function waitFor(c: Cluster, what: string, path: string, want: RegExp, timeoutMs = 60_000): Promise<void> {
  let last = '';
  await eventually(`${what} ${path} ~ ${want} (last: ${last})`, () => want.test((last = c.jsonpath(what, path))), timeoutMs);
}

describe('pods on the simulated runtime through flotilla up', () => {
  const cluster = useCluster({ runtime: 'simulated' });
  let c: Cluster;
  before(() => { c = cluster(); });

  test('a pod is Running with an IP from the pod CIDR and says which runtime runs it', async () => {
    assert.match(c.up.stdout(), /simulated runtime \(--runtime simulated\)/);
    c.ok('run', 'web', '--image=nginx');
    await waitFor(c, 'pod/web', '{.status.phase}', /^Running$/);
    const prefix = c.podCIDR.split('.').slice(0, 3).join('.') + '.';
    assert.ok(c.jsonpath('pod/web', '{.status.podIP}').startsWith(prefix));
    assert.match(c.jsonpath('pod/web', '{.status.containerStatuses[0].containerID}'), /^simulated:\/\//);
  });

  test('image errors: ErrImagePull then ImagePullBackOff; Never yields ErrImageNeverPull', async () => {
    c.ok('run', 'nope', '--image=registry.example/missing:1');
    await waitFor(c, 'pod/nope', '{.status.containerStatuses[0].state.waiting.reason}', /^ImagePullBackOff$/);
    c.ok('run', 'never', '--image=busybox:not-here', '--image-pull-policy=Never');
    await waitFor(c, 'pod/never', '{.status.containerStatuses[0].state.waiting.reason}', /^ErrImageNeverPull$/);
  });

  test('a crashing container reaches CrashLoopBackOff; exit 0 with Never is Completed', async () => {
    c.ok('run', 'crash', '--image=busybox', '--', 'sh', '-c', 'exit 3');
    await waitFor(c, 'pod/crash', '{.status.containerStatuses[0].state.waiting.reason}', /^CrashLoopBackOff$/);
    assert.equal(c.jsonpath('pod/crash', '{.status.containerStatuses[0].lastState.terminated.exitCode}'), '3');
    c.ok('run', 'once', '--image=busybox', '--restart=Never', '--', 'true');
    await waitFor(c, 'pod/once', '{.status.phase}', /^Succeeded$/);
    assert.equal(c.jsonpath('pod/once', '{.status.containerStatuses[0].state.terminated.reason}'), 'Completed');
  });

  test('kubectl logs and exec reach the simulated node; a deleted pod takes its log files along', async () => {
    assert.match(c.ok('logs', 'web'), /simulated container web started/);
    const logs = () => readdirSync(join(c.dir, 'pod-logs'));
    assert.ok(logs().some((d) => d.startsWith('default_once_')), logs().join(' '));
    c.ok('delete', 'pod', 'once');
    await eventually('log folder removed', () => !logs().some((d) => d.startsWith('default_once_')), 30_000);
    assert.equal(c.ok('exec', 'web', '--', 'echo', 'ahoy').trim(), 'ahoy');
    const refused = c.kubectl(['exec', 'web', '--', 'ls', '/']);
    assert.notEqual(refused.status, 0);
    assert.match(refused.stderr, /simulated runtime runs no processes/);
  });

  test('probes: a failing liveness probe restarts the container; readiness flips Ready', async () => {
    writeFileSync(join(c.dir, 'probes.yaml'), `apiVersion: v1
kind: Pod
metadata:
  name: live
  annotations:
    simulated.flotilla.dev/probe-fail: liveness
spec:
  containers:
  - name: c
    image: busybox
    command: ["sleep", "3600"]
    livenessProbe:
      tcpSocket: {port: 80}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: ready
  annotations:
    simulated.flotilla.dev/probe-fail: readiness
spec:
  containers:
  - name: c
    image: nginx
    readinessProbe:
      httpGet: {path: /, port: 80}
      periodSeconds: 1
`);
    c.ok('apply', '-f', join(c.dir, 'probes.yaml'));
    await eventually('liveness restart', () => Number(c.jsonpath('pod/live', '{.status.containerStatuses[0].restartCount}')) >= 1, 60_000);
    await waitFor(c, 'pod/ready', '{.status.phase}', /^Running$/);
    assert.equal(c.jsonpath('pod/ready', '{.status.conditions[?(@.type=="Ready")].status}'), 'False');
    c.ok('annotate', 'pod', 'ready', 'simulated.flotilla.dev/probe-fail-');
    await waitFor(c, 'pod/ready', '{.status.conditions[?(@.type=="Ready")].status}', /^True$/, 30_000);
  });

  test('a static pod appears as a mirror pod', async () => {
    mkdirSync(join(c.dir, 'manifests'), { recursive: true });
    writeFileSync(join(c.dir, 'manifests', 'static-web.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: static-web\nspec:\n  containers:\n  - name: web\n    image: nginx\n');
    await eventually('mirror pod', () => c.kubectl(['get', 'pod', 'static-web-node-1']).status === 0, 60_000);
    await waitFor(c, 'pod/static-web-node-1', '{.status.phase}', /^Running$/);
  });
});
