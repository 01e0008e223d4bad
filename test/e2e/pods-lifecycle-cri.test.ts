/**
 * Pods on real containers, second part (see pods-cri.test.ts): containers working
 * together and ending — a shared emptyDir and localhost, probes, SIGTERM and the grace
 * period, OOMKilled, env from ConfigMaps and the downward API, memory-backed volumes and
 * fsGroup, static pods.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipWithoutContainers, useCluster, type Cluster } from '../util/cluster.js';
import { eventually } from '../util/wait.js';

describe('pod lifecycle on containerd through flotilla up', { skip: skipWithoutContainers }, () => {
  const cluster = useCluster({ runtime: 'cri', mirrorNginx: true });
  let c: Cluster;
  before(() => { c = cluster(); });

  test('a two-container pod shares localhost and an emptyDir (helper containers)', async () => {
    writeFileSync(join(c.dir, 'pair.yaml'), `apiVersion: v1
kind: Pod
metadata:
  name: pair
spec:
  volumes:
  - name: html
    emptyDir: {}
  containers:
  - name: server
    image: nginx
    imagePullPolicy: IfNotPresent
    volumeMounts:
    - name: html
      mountPath: /usr/share/nginx/html
  - name: writer
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo written-by-helper > /data/index.html; sleep 3600"]
    volumeMounts:
    - name: html
      mountPath: /data
`);
    c.ok('apply', '-f', join(c.dir, 'pair.yaml'));
    await c.waitPhase('pair', 'Running');
    await eventually('helper serves what the other wrote', () => /written-by-helper/.test(c.kubectl(['exec', 'pair', '-c', 'writer', '--', 'wget', '-qO-', 'http://localhost/']).stdout), 30_000);
  });

  test('probes: a failing liveness probe restarts the container; a readiness probe flips Ready', async () => {
    writeFileSync(join(c.dir, 'probes.yaml'), `apiVersion: v1
kind: Pod
metadata:
  name: live
spec:
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'exit 0' TERM; touch /tmp/healthy; sleep 4; rm -f /tmp/healthy; sleep 600 & wait"]
    livenessProbe:
      exec:
        command: ["cat", "/tmp/healthy"]
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: ready
spec:
  containers:
  - name: c
    image: nginx
    imagePullPolicy: IfNotPresent
    readinessProbe:
      httpGet:
        path: /ready.html
        port: 80
      periodSeconds: 1
`);
    c.ok('apply', '-f', join(c.dir, 'probes.yaml'));
    await eventually('liveness restart', () => Number(c.jsonpath('pod/live', '{.status.containerStatuses[0].restartCount}')) >= 1, 60_000);
    const events = c.ok('get', 'events', '--field-selector', 'involvedObject.name=live', '-o', 'jsonpath={.items[*].message}');
    assert.match(events, /Liveness probe failed/);
    assert.match(events, /Container c failed liveness probe, will be restarted/);
    await c.waitPhase('ready', 'Running');
    assert.equal(c.jsonpath('pod/ready', '{.status.conditions[?(@.type=="Ready")].status}'), 'False');
    c.ok('exec', 'ready', '--', 'sh', '-c', 'echo ok > /usr/share/nginx/html/ready.html');
    await eventually('Ready after the probe passes', () => c.jsonpath('pod/ready', '{.status.conditions[?(@.type=="Ready")].status}') === 'True', 30_000);
    c.ok('exec', 'ready', '--', 'rm', '/usr/share/nginx/html/ready.html');
    await eventually('not Ready after it fails', () => c.jsonpath('pod/ready', '{.status.conditions[?(@.type=="Ready")].status}') === 'False', 30_000);
  });

  test('deletion sends SIGTERM and honours the grace period', async () => {
    const out = join(c.dir, 'term');
    mkdirSync(out);
    writeFileSync(join(c.dir, 'term.yaml'), `apiVersion: v1
kind: Pod
metadata:
  name: term
spec:
  terminationGracePeriodSeconds: 30
  volumes:
  - name: out
    hostPath:
      path: ${out}
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "trap 'echo TERM >> /out/log; sleep 2; echo still-here >> /out/log; exit 0' TERM; echo started >> /out/log; while true; do sleep 1; done"]
    volumeMounts:
    - name: out
      mountPath: /out
`);
    c.ok('apply', '-f', join(c.dir, 'term.yaml'));
    await c.waitPhase('term', 'Running');
    await eventually('started', () => existsSync(join(out, 'log')), 30_000);
    c.ok('delete', 'pod', 'term', '--wait=true', '--timeout=60s');
    // TERM arrived, and the container was let finish its handler before being stopped.
    assert.deepEqual(readFileSync(join(out, 'log'), 'utf8').trim().split('\n'), ['started', 'TERM', 'still-here']);
  });

  test('a memory limit yields OOMKilled', async () => {
    writeFileSync(join(c.dir, 'oom.yaml'), `apiVersion: v1
kind: Pod
metadata:
  name: oom
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["tail", "/dev/zero"]
    resources:
      limits:
        memory: 16Mi
`);
    c.ok('apply', '-f', join(c.dir, 'oom.yaml'));
    await c.waitPhase('oom', 'Failed');
    assert.equal(c.jsonpath('pod/oom', '{.status.containerStatuses[0].state.terminated.reason}'), 'OOMKilled');
    assert.equal(c.jsonpath('pod/oom', '{.status.containerStatuses[0].state.terminated.exitCode}'), '137');
  });

  test('env from a ConfigMap and the downward API; a missing one is CreateContainerConfigError', async () => {
    c.ok('create', 'configmap', 'settings', '--from-literal=color=blue');
    writeFileSync(join(c.dir, 'env.yaml'), `apiVersion: v1
kind: Pod
metadata:
  name: envy
spec:
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sh", "-c", "echo color=$COLOR pod=$POD_NAME; sleep 3600"]
    env:
    - name: COLOR
      valueFrom:
        configMapKeyRef: {name: settings, key: color}
    - name: POD_NAME
      valueFrom:
        fieldRef: {fieldPath: metadata.name}
---
apiVersion: v1
kind: Pod
metadata:
  name: envless
spec:
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    envFrom:
    - configMapRef: {name: not-there}
`);
    c.ok('apply', '-f', join(c.dir, 'env.yaml'));
    await c.waitPhase('envy', 'Running');
    await eventually('env printed', () => /color=blue pod=envy/.test(c.ok('logs', 'envy')), 30_000);
    await c.waitReason('envless', /^CreateContainerConfigError$/);
    assert.equal(c.jsonpath('pod/envless', '{.status.containerStatuses[0].state.waiting.message}'), 'configmap "not-there" not found');
  });

  test('memory-backed volumes are tmpfs; fsGroup owns the volumes and joins the groups; nothing stays mounted after deletion', async () => {
    c.ok('create', 'secret', 'generic', 'creds', '--from-literal=password=s3cret');
    writeFileSync(join(c.dir, 'tmpfs.yaml'), `apiVersion: v1
kind: Pod
metadata:
  name: tmpfs
spec:
  terminationGracePeriodSeconds: 1
  securityContext:
    runAsUser: 1000
    fsGroup: 2000
    supplementalGroups: [3000]
  volumes:
  - name: creds
    secret:
      secretName: creds
  - name: scratch
    emptyDir:
      medium: Memory
      sizeLimit: 16Mi
  containers:
  - name: c
    image: busybox
    imagePullPolicy: IfNotPresent
    command: ["sleep", "3600"]
    volumeMounts:
    - name: creds
      mountPath: /etc/creds
    - name: scratch
      mountPath: /scratch
`);
    c.ok('apply', '-f', join(c.dir, 'tmpfs.yaml'));
    await c.waitPhase('tmpfs', 'Running');
    const exec = (...cmd: string[]) => c.ok('exec', 'tmpfs', '--', ...cmd);
    const mounts = exec('cat', '/proc/mounts');
    const at = (path: string) => mounts.split('\n').map((l) => l.split(' ')).find((f) => f[1] === path);
    const sa = '/var/run/secrets/kubernetes.io/serviceaccount';
    for (const path of ['/etc/creds', '/scratch', sa]) assert.equal(at(path)?.[2], 'tmpfs', `${path} in:\n${mounts}`);
    assert.match(at('/scratch')![3]!, /(^|,)size=16384k(,|$)/, 'sizeLimit 16Mi');
    const id = exec('id');
    assert.match(id, /^uid=1000\b/);
    assert.match(id, /groups=\S*\b2000\b/, id);
    assert.match(id, /groups=\S*\b3000\b/, id);
    // The emptyDir belongs to the group, setgid: what uid 1000 writes there is the group's too.
    assert.equal(exec('stat', '-c', '%g %a', '/scratch'), '2000 3777\n');
    assert.equal(exec('sh', '-c', 'echo hi > /scratch/f && stat -c "%u %g" /scratch/f'), '1000 2000\n');
    assert.equal(exec('cat', '/etc/creds/password'), 's3cret');
    assert.equal(exec('stat', '-L', '-c', '%a %g', '/etc/creds/password'), '644 2000\n');
    assert.equal(exec('stat', '-L', '-c', '%a %u %g', `${sa}/token`), '640 1000 2000\n', 'the token: 0600 for the pod user, group-readable');

    // On the host: the pod's volume tmpfs, gone with the pod.
    const uid = c.jsonpath('pod/tmpfs', '{.metadata.uid}');
    const hostMounts = () => readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.includes(`/pods/${uid}/`));
    assert.equal(hostMounts().filter((l) => l.split(' ')[2] === 'tmpfs').length, 3, hostMounts().join('\n'));
    c.ok('delete', 'pod', 'tmpfs', '--wait=true', '--timeout=60s');
    await eventually('pod volumes unmounted and removed', () => hostMounts().length === 0 && !existsSync(join(c.dir, 'kubelet', 'pods', uid)), 30_000);
  });

  test('a static pod in the manifests folder appears as a mirror pod <name>-<node>', async () => {
    const manifests = join(c.dir, 'manifests');
    mkdirSync(manifests, { recursive: true });
    writeFileSync(join(manifests, 'static-web.yaml'), `apiVersion: v1
kind: Pod
metadata:
  name: static-web
spec:
  containers:
  - name: web
    image: nginx
    imagePullPolicy: IfNotPresent
`);
    await eventually('mirror pod', () => c.kubectl(['get', 'pod', 'static-web-node-1']).status === 0, 60_000);
    await c.waitPhase('static-web-node-1', 'Running');
    assert.equal(c.jsonpath('pod/static-web-node-1', '{.metadata.annotations.kubernetes\\.io/config\\.source}'), 'file');
    assert.equal(c.jsonpath('pod/static-web-node-1', '{.metadata.ownerReferences[0].kind}'), 'Node');
  });
});
