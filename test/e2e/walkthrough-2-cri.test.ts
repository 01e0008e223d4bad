/**
 * The seeds' journey (the study notes of a Kubernetes course in ../shared/seeds), part 2
 * (part 1 is walkthrough-cri.test.ts), replayed with the real kubectl against
 * `flotilla up --runtime cri`: the course's Deployment (its mismatched selector refused in
 * Kubernetes' words, then fixed), `get all`, rollout status/history/undo, the NodePort
 * service on 30008 answered by curl, and namespaces. docker.io is mirrored to a local
 * registry holding a busybox-built nginx, so `image: nginx` with its default pull policy
 * (Always) pulls as it would from Docker Hub, with no network. Every expectation is what a
 * real cluster prints.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Cluster } from '../util/cluster.js';
import { deploymentDefinition, podDefinition, serviceDefinition, skipWalkthroughCri, startWalkthrough, type Walkthrough } from '../util/seeds.js';
import { eventually } from '../util/wait.js';

describe('the seeds\' walkthrough on flotilla up --runtime cri, part 2: Deployment, NodePort service, namespaces', { skip: skipWalkthroughCri }, () => {
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

  test('deployment-definition.yaml: the mismatched selector refused, fixed, get all, rollout status|history|undo', async () => {
    const f = file('deployment-definition.yaml', deploymentDefinition);
    const bad = c.kubectl(['create', '-f', f]);
    assert.equal(bad.status, 1);
    assert.equal(
      bad.stderr.trim(),
      'The Deployment "myapp-deployment" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"myapp", "tier":"front-end"}: `selector` does not match template `labels`',
    );
    // Fixed: the selector names the template's label.
    writeFileSync(f, deploymentDefinition.replace('    matchLabels:\n      type: front-end\n', '    matchLabels:\n      tier: front-end\n'));
    assert.equal(c.ok('create', '-f', f).trim(), 'deployment.apps/myapp-deployment created');
    assert.equal(c.ok('rollout', 'status', 'deployment/myapp-deployment', '--timeout=90s').trim().split('\n').pop(), 'deployment "myapp-deployment" successfully rolled out');
    assert.match(c.ok('get', 'deployments'), /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nmyapp-deployment\s+3\/3\s+3\s+3\s+\d\S*\n$/);
    assert.match(c.ok('get', 'replicaset'), /^myapp-deployment-[a-z0-9]{8,10}\s+3\s+3\s+3\s+\d\S*$/m);
    const all = c.ok('get', 'all');
    assert.equal(all.match(/^pod\/myapp-deployment-[a-z0-9]{8,10}-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+\d\S*$/gm)?.length, 3, all);
    assert.match(all, /^service\/kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\d\S*$/m);
    assert.match(all, /^deployment\.apps\/myapp-deployment\s+3\/3\s+3\s+3\s+\d\S*$/m);
    assert.match(all, /^replicaset\.apps\/myapp-deployment-[a-z0-9]{8,10}\s+3\s+3\s+3\s+\d\S*$/m);

    // A new revision (the same image by its full name), its history, and the undo.
    assert.equal(c.ok('set', 'image', 'deployment/myapp-deployment', 'nginx-container=docker.io/library/nginx:latest').trim(), 'deployment.apps/myapp-deployment image updated');
    c.ok('rollout', 'status', 'deployment/myapp-deployment', '--timeout=90s');
    assert.match(c.ok('rollout', 'history', 'deployment/myapp-deployment'), /^deployment\.apps\/myapp-deployment \nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n\n$/);
    assert.match(c.ok('rollout', 'history', 'deployment/myapp-deployment', '--revision=1'), /^\s+Image:\s+nginx$/m);
    assert.equal(c.ok('rollout', 'undo', 'deployment/myapp-deployment').trim(), 'deployment.apps/myapp-deployment rolled back');
    c.ok('rollout', 'status', 'deployment/myapp-deployment', '--timeout=90s');
    assert.equal(jsonpath('deployment/myapp-deployment', '{.spec.template.spec.containers[0].image}'), 'nginx');
    assert.match(c.ok('rollout', 'history', 'deployment/myapp-deployment'), /^REVISION\s+CHANGE-CAUSE\n2\s+<none>\n3\s+<none>\n\n$/m);
    assert.match(c.ok('get', 'rs'), /^myapp-deployment-[a-z0-9]{8,10}\s+0\s+0\s+0\s+\d\S*$/m);
    await waitReadyPods('tier=front-end', 3);
    assert.equal(c.ok('delete', '-f', f).trim(), 'deployment.apps "myapp-deployment" deleted');
  });

  test('service-definition.yaml: the NodePort service on 30008 answers curl', async () => {
    // The service selects app: myapp, type: front-end, the labels of pod-definition.yaml.
    c.ok('create', '-f', file('pod-definition.yaml', podDefinition));
    await waitReadyPods('type=front-end', 1);
    assert.equal(c.ok('create', '-f', file('service-definition.yaml', serviceDefinition)).trim(), 'service/myapp-service created');
    assert.match(c.ok('get', 'services'), /^myapp-service\s+NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+80:30008\/TCP\s+\d\S*$/m);
    assert.match(c.ok('get', 'endpoints', 'myapp-service'), /^myapp-service\s+\d+\.\d+\.\d+\.\d+:80\s+\d\S*$/m);
    // "curl http://192.168.1.2:30008": the node's IP here is 127.0.0.1 (--node-ip).
    let out = '';
    await eventually('curl http://127.0.0.1:30008', () => {
      const r = spawnSync('curl', ['-s', '--max-time', '3', 'http://127.0.0.1:30008'], { encoding: 'utf8', timeout: 10_000 });
      out = r.stdout;
      return r.status === 0;
    }, 30_000);
    assert.match(out, /<h1>Welcome to nginx!<\/h1>/);
  });

  test('namespaces: create namespace dev, -n dev, set-context --current --namespace, --all-namespaces', async () => {
    assert.equal(c.ok('create', 'namespace', 'dev').trim(), 'namespace/dev created');
    assert.match(c.ok('get', 'namespaces'), /^dev\s+Active\s+\d\S*$/m);
    const f = file('pod-definition.yaml', podDefinition);
    assert.equal(c.ok('create', '-f', f, '-n', 'dev').trim(), 'pod/myapp-pod created');
    await waitReadyPods('app=myapp', 1, 'dev');
    assert.match(c.ok('get', 'pods', '-n', 'dev'), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nmyapp-pod\s+1\/1\s+Running\s+0\s+\d\S*\n$/);
    // A pod of the same name in another namespace is a different object.
    assert.notEqual(jsonpath('pod/myapp-pod', '{.metadata.uid}'), c.ok('get', 'pod', 'myapp-pod', '-n', 'dev', '-o', 'jsonpath={.metadata.uid}'));

    // Switch the current context's namespace, on a copy of the kubeconfig.
    const copy = join(c.dir, 'kubeconfig-copy');
    copyFileSync(c.kubeconfig, copy);
    const context = c.ok('config', 'current-context').trim();
    const set = sh('kubectl config set-context --current --namespace=dev', { KUBECONFIG: copy });
    assert.equal(set.status, 0, set.stderr);
    assert.equal(set.stdout.trim(), `Context "${context}" modified.`);
    assert.match(sh('kubectl config view --minify | grep namespace:', { KUBECONFIG: copy }).stdout, /^\s+namespace: dev$/m);
    const inDev = sh('kubectl get pods', { KUBECONFIG: copy });
    assert.match(inDev.stdout, /^myapp-pod\s+1\/1\s+Running\s+0\s+\d\S*$/m);
    c.ok('run', 'only-in-dev', '--image=nginx', '-n', 'dev');
    assert.doesNotMatch(c.ok('get', 'pods'), /only-in-dev/);
    assert.match(sh('kubectl get pods', { KUBECONFIG: copy }).stdout, /^only-in-dev\s/m);
    // The original kubeconfig is untouched.
    assert.doesNotMatch(readFileSync(c.kubeconfig, 'utf8'), /namespace: dev/);

    await waitReadyPods('run=only-in-dev', 1, 'dev');
    const all = c.ok('get', 'pods', '--all-namespaces');
    assert.match(all, /^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m);
    assert.match(all, /^default\s+myapp-pod\s+1\/1\s+Running\s+0\s+\d\S*$/m);
    assert.match(all, /^dev\s+myapp-pod\s+1\/1\s+Running\s+0\s+\d\S*$/m);
    assert.match(all, /^dev\s+only-in-dev\s+1\/1\s+Running\s+0\s+\d\S*$/m);
    assert.match(all, /^kube-system\s+coredns-[a-z0-9]{8,10}-[a-z0-9]{5}\s+1\/1\s+Running\s/m);
    assert.equal(c.ok('get', 'pods', '-A', '--no-headers').split('\n').filter(Boolean).length, all.split('\n').filter(Boolean).length - 1);
  });
});
