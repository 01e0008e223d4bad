/**
 * The seeds' journey (the study notes of a Kubernetes course in ../shared/seeds), replayed
 * step by step with the real kubectl against `flotilla up --runtime cri`: `kubectl run`,
 * the course's pod, ReplicationController, ReplicaSet and Deployment files as it writes
 * them, scaling, replacing, editing, rolling back, the NodePort service on 30008 answered by
 * curl, and namespaces. docker.io is mirrored to a local registry holding a busybox-built
 * nginx, so `image: nginx` with its default pull policy (Always) pulls as it would from
 * Docker Hub, with no network. Every expectation is what a real cluster prints.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Cluster } from '../util/cluster.js';
import { demoPod, podDefinition, rcDefinition, replicaSetDefinition, skipWalkthroughCri, startWalkthrough, type Walkthrough } from '../util/seeds.js';
import { eventually } from '../util/wait.js';

describe('the seeds\' walkthrough on flotilla up --runtime cri, part 1: pods, ReplicationController, ReplicaSet', { skip: skipWalkthroughCri }, () => {
  let w: Walkthrough;
  let c: Cluster;
  const hooks: Array<() => unknown> = [];
  const file = (name: string, text: string) => w.file(name, text);
  const sh = (line: string, env?: Record<string, string>) => w.sh(line, env);
  const jsonpath = (what: string, path: string) => w.jsonpath(what, path);
  const waitReadyPods = (selector: string, n: number, ns?: string) => w.waitReadyPods(selector, n, ns);

  before(async () => {
    w = await startWalkthrough({ after: (fn) => hooks.push(fn) });
    c = w.c;
  });
  beforeEach((t) => {
    if (process.env.WALKTHROUGH_TRACE) process.stderr.write(`${new Date().toISOString()} ${t.name}\n`);
  });
  after(async () => {
    for (const fn of hooks) await fn();
  });

  test('kubectl run nginx --image nginx', async () => {
    assert.equal(c.ok('run', 'nginx', '--image', 'nginx').trim(), 'pod/nginx created');
    await waitReadyPods('run=nginx', 1);
    assert.match(c.ok('get', 'pods'), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nnginx\s+1\/1\s+Running\s+0\s+\d\S*\n$/);
    assert.equal(c.ok('delete', 'pod', 'nginx').trim(), 'pod "nginx" deleted');
  });

  test('pod-definition.yaml: create -f, get pods -o wide, describe pod | grep, apply -f', async () => {
    const f = file('pod-definition.yaml', podDefinition);
    assert.equal(c.ok('create', '-f', f).trim(), 'pod/myapp-pod created');
    await waitReadyPods('app=myapp', 1);
    const wide = c.ok('get', 'pods', '-o', 'wide');
    assert.match(wide, /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m);
    assert.match(wide, /^myapp-pod\s+1\/1\s+Running\s+0\s+\d\S*\s+\d+\.\d+\.\d+\.\d+\s+node-1\s+<none>\s+<none>$/m);
    const ip = jsonpath('pod/myapp-pod', '{.status.podIP}');
    assert.ok(ip.startsWith(c.podCIDR.split('.').slice(0, 3).join('.') + '.'), `pod IP ${ip} not in ${c.podCIDR}`);

    // "kubectl describe pod [POD NAME] | grep [보고 싶은 단어]"
    const grep = sh('kubectl describe pod myapp-pod | grep Image');
    assert.equal(grep.status, 0, grep.stderr);
    assert.match(grep.stdout, /^\s+Image:\s+nginx$/m);
    assert.match(grep.stdout, /^\s+Image ID:\s+docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/m);
    const node = sh('kubectl describe pod myapp-pod | grep Node:');
    assert.match(node.stdout, /^Node:\s+node-1\/127\.0\.0\.1$/m);

    // apply on an object made by create: kubectl's own warning, then the annotation is added.
    const applied = c.kubectl(['apply', '-f', f]);
    assert.equal(applied.status, 0, applied.stderr);
    assert.equal(applied.stdout.trim(), 'pod/myapp-pod configured');
    assert.match(applied.stderr, /^Warning: resource pods\/myapp-pod is missing the kubectl\.kubernetes\.io\/last-applied-configuration annotation/);
    assert.match(jsonpath('pod/myapp-pod', '{.metadata.annotations}'), /kubectl\.kubernetes\.io\/last-applied-configuration/);
    assert.equal(c.ok('apply', '-f', f).trim(), 'pod/myapp-pod unchanged');
  });

  test('pod.yaml with a wrong image, fixed by editing the file and applying again', async () => {
    // "kubectl apply -f pod.yaml으로 잘못된 이미지 사용 후 수정하려면 pod.yaml 수정 후 다시 kubectl apply -f pod.yaml"
    const f = file('pod.yaml', demoPod.replace('image: nginx #', 'image: nginx123 #'));
    assert.equal(sh('cat pod.yaml').stdout, readFileSync(f, 'utf8'));
    assert.equal(c.ok('apply', '-f', f).trim(), 'pod/nginx created');
    await eventually('nginx ImagePullBackOff', () => /^nginx\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0\s+\d\S*$/m.test(c.ok('get', 'pods')), 60_000);
    const events = sh('kubectl describe pod nginx | grep Failed');
    assert.match(events.stdout, /Failed to pull image "nginx123"/);

    writeFileSync(f, demoPod);
    assert.equal(c.ok('apply', '-f', f).trim(), 'pod/nginx configured');
    await waitReadyPods('app=nginx', 1);
    assert.equal(jsonpath('pod/nginx', '{.spec.containers[0].image}'), 'nginx');
    assert.equal(jsonpath('pod/nginx', '{.metadata.labels.tier}'), 'frontend');
    assert.equal(c.ok('delete', '-f', f).trim(), 'pod "nginx" deleted');
    assert.equal(c.ok('delete', 'pod', 'myapp-pod').trim(), 'pod "myapp-pod" deleted');
  });

  test('rc-definition.yaml: create -f, get replicationcontroller, delete', async () => {
    const f = file('rc-definition.yaml', rcDefinition);
    assert.equal(c.ok('create', '-f', f).trim(), 'replicationcontroller/myapp-rc created');
    await waitReadyPods('app=myapp', 3);
    assert.match(c.ok('get', 'replicationcontroller'), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nmyapp-rc\s+3\s+3\s+3\s+\d\S*\n$/);
    // "pod 이름은 모두 ReplicationController name(현재는 myapp-rc)으로 시작"
    const pods = c.ok('get', 'pods', '--no-headers').split('\n').filter(Boolean);
    assert.equal(pods.length, 3, pods.join('\n'));
    for (const p of pods) assert.match(p, /^myapp-rc-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+\d\S*$/);
    assert.equal(c.ok('delete', 'replicationcontroller', 'myapp-rc').trim(), 'replicationcontroller "myapp-rc" deleted');
    await eventually('the rc\'s pods gone', () => c.ok('get', 'pods', '-l', 'app=myapp', '-o', 'name').trim() === '', 60_000);
  });

  test('replicaset-definition.yaml: create, scale -f and by name, replace -f, edit, explain, delete', async () => {
    const f = file('replicaset-definition.yaml', replicaSetDefinition);
    assert.equal(c.ok('create', '-f', f).trim(), 'replicaset.apps/myapp-replicaset created');
    await waitReadyPods('type=front-end', 3);
    assert.match(c.ok('get', 'replicaset'), /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nmyapp-replicaset\s+3\s+3\s+3\s+\d\S*\n$/);

    // "kubectl scale --replicas=6 -f replicaset-definition.yaml": the file keeps saying 3.
    assert.equal(c.ok('scale', '--replicas=6', '-f', f).trim(), 'replicaset.apps/myapp-replicaset scaled');
    await waitReadyPods('type=front-end', 6);
    assert.match(c.ok('get', 'rs'), /^myapp-replicaset\s+6\s+6\s+6\s+\d\S*$/m);

    // "kubectl scale --replicas=6 replicaset myapp-replicaset" (by type and name), here down to 2.
    assert.equal(c.ok('scale', '--replicas=2', 'replicaset', 'myapp-replicaset').trim(), 'replicaset.apps/myapp-replicaset scaled');
    await waitReadyPods('type=front-end', 2);

    // "definition file에서 replicas 수 변경 후 kubectl replace -f replicaset-definition.yaml"
    writeFileSync(f, replicaSetDefinition.replace('  replicas: 3\n', '  replicas: 6 #기존 3에서 6으로 변경\n'));
    assert.equal(c.ok('replace', '-f', f).trim(), 'replicaset.apps/myapp-replicaset replaced');
    await waitReadyPods('type=front-end', 6);

    // "k edit replicaset [REPLICASET NAME]으로 정의 파일 들어가서 replicas 변경", the editor being sed.
    const edited = sh('kubectl edit replicaset myapp-replicaset', { EDITOR: "sed -i 's/^  replicas: 6$/  replicas: 4/'" });
    assert.equal(edited.status, 0, edited.stderr);
    assert.equal(edited.stdout.trim(), 'replicaset.apps/myapp-replicaset edited');
    await waitReadyPods('type=front-end', 4);
    assert.equal(jsonpath('rs/myapp-replicaset', '{.spec.replicas}'), '4');
    // "k edit -f [YAML FILE]": the live object named by the file.
    const editedFromFile = sh(`kubectl edit -f ${f}`, { EDITOR: "sed -i 's/^  replicas: 4$/  replicas: 3/'" });
    assert.equal(editedFromFile.status, 0, editedFromFile.stderr);
    assert.equal(editedFromFile.stdout.trim(), 'replicaset.apps/myapp-replicaset edited');
    await waitReadyPods('type=front-end', 3);

    // "kubectl explain replicaset": kind, version, fields.
    const explain = c.ok('explain', 'replicaset');
    assert.match(explain, /^KIND:\s+ReplicaSet$/m);
    assert.match(explain, /^VERSION:\s+v1$/m);
    assert.match(explain, /ReplicaSet ensures that a specified number of pod replicas are running at\s+any given time\./);
    assert.match(explain, /^FIELDS:$/m);
    assert.match(explain, /^\s+spec\s+<ReplicaSetSpec>$/m);

    assert.equal(c.ok('delete', 'replicaset', 'myapp-replicaset').trim(), 'replicaset.apps "myapp-replicaset" deleted');
    await eventually('the replicaset\'s pods gone', () => c.ok('get', 'pods', '-l', 'type=front-end', '-o', 'name').trim() === '', 60_000);
  });
});
