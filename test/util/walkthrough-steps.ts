/**
 * The seeds' walkthrough as steps, each a test the e2e suites run in order on one cluster:
 * walkthrough-cri.test.ts (part 1) and walkthrough-2-cri.test.ts (part 2) on real
 * containers, walkthrough-simulated.test.ts (both parts, minus what needs real containers)
 * on the simulated runtime. Each step leaves the cluster as the next one expects.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { demoPod, deploymentDefinition, podDefinition, rcDefinition, replicaSetDefinition, serviceDefinition, skipWalkthroughCri, startWalkthrough, type Walkthrough } from './seeds.js';
import { eventually } from './wait.js';

export interface WalkthroughStep {
  name: string;
  /** Which cri file runs it (each file stays within its time budget). */
  part: 1 | 2;
  /** Needs real containers (pull errors, serving HTTP). */
  realContainersOnly?: boolean;
  run(w: Walkthrough): Promise<void>;
}

export const walkthroughSteps: WalkthroughStep[] = [
  {
    name: 'kubectl run nginx --image nginx',
    part: 1,
    async run({ c, waitReadyPods }) {
      assert.equal(c.ok('run', 'nginx', '--image', 'nginx').trim(), 'pod/nginx created');
      await waitReadyPods('run=nginx', 1);
      assert.match(c.ok('get', 'pods'), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nnginx\s+1\/1\s+Running\s+0\s+\d\S*\n$/);
      assert.equal(c.ok('delete', 'pod', 'nginx').trim(), 'pod "nginx" deleted');
    },
  },
  {
    name: 'pod-definition.yaml: create -f, get pods -o wide, describe pod | grep, apply -f',
    part: 1,
    async run({ c, file, sh, jsonpath, waitReadyPods, realContainers }) {
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
      if (realContainers) assert.match(grep.stdout, /^\s+Image ID:\s+docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/m);
      const node = sh('kubectl describe pod myapp-pod | grep Node:');
      assert.match(node.stdout, /^Node:\s+node-1\/127\.0\.0\.1$/m);

      // apply on an object made by create: kubectl's own warning, then the annotation is added.
      const applied = c.kubectl(['apply', '-f', f]);
      assert.equal(applied.status, 0, applied.stderr);
      assert.equal(applied.stdout.trim(), 'pod/myapp-pod configured');
      assert.match(applied.stderr, /^Warning: resource pods\/myapp-pod is missing the kubectl\.kubernetes\.io\/last-applied-configuration annotation/);
      assert.match(jsonpath('pod/myapp-pod', '{.metadata.annotations}'), /kubectl\.kubernetes\.io\/last-applied-configuration/);
      assert.equal(c.ok('apply', '-f', f).trim(), 'pod/myapp-pod unchanged');
      // Gone before the ReplicationController, which would adopt it (same labels).
      assert.equal(c.ok('delete', 'pod', 'myapp-pod').trim(), 'pod "myapp-pod" deleted');
    },
  },
  {
    name: 'pod.yaml with a wrong image, fixed by editing the file and applying again',
    part: 1,
    // The simulated runtime pulls any name.
    realContainersOnly: true,
    async run({ c, file, sh, jsonpath, waitReadyPods }) {
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
    },
  },
  {
    name: 'rc-definition.yaml: create -f, get replicationcontroller, delete',
    part: 1,
    async run({ c, file, waitReadyPods }) {
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
    },
  },
  {
    name: 'replicaset-definition.yaml: create, scale -f and by name, replace -f, edit, explain, delete',
    part: 1,
    async run({ c, file, sh, jsonpath, waitReadyPods }) {
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
    },
  },
  {
    name: 'deployment-definition.yaml: the mismatched selector refused, fixed, get all, rollout status|history|undo',
    part: 2,
    async run({ c, file, jsonpath, waitReadyPods }) {
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
    },
  },
  {
    name: 'service-definition.yaml: the NodePort service on 30008 answers curl',
    part: 2,
    // Simulated pods serve nothing.
    realContainersOnly: true,
    async run({ c, file, waitReadyPods }) {
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
    },
  },
  {
    name: 'namespaces: create namespace dev, -n dev, set-context --current --namespace, --all-namespaces',
    part: 2,
    async run({ c, file, sh, jsonpath, waitReadyPods }) {
      assert.equal(c.ok('create', 'namespace', 'dev').trim(), 'namespace/dev created');
      assert.match(c.ok('get', 'namespaces'), /^dev\s+Active\s+\d\S*$/m);
      const f = file('pod-definition.yaml', podDefinition);
      // myapp-pod in default too (the service step made it where it ran).
      if (c.kubectl(['get', 'pod', 'myapp-pod']).status !== 0) c.ok('create', '-f', f);
      await waitReadyPods('app=myapp', 1);
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
    },
  },
];

/**
 * One describe() running a part of the walkthrough on its own `flotilla up --runtime cri`
 * (the walkthrough-cri files differ only in which part they run).
 */
export function describeWalkthroughPart(part: 1 | 2, title: string): void {
  describe(`the seeds' walkthrough on flotilla up --runtime cri, part ${part}: ${title}`, { skip: skipWalkthroughCri }, () => {
    let w: Walkthrough;
    const hooks: Array<() => unknown> = [];
    before(async () => {
      w = await startWalkthrough({ after: (fn) => hooks.push(fn) });
    });
    beforeEach((t) => {
      if (process.env.WALKTHROUGH_TRACE) process.stderr.write(`${new Date().toISOString()} ${t.name}\n`);
    });
    after(async () => {
      for (const fn of hooks) await fn();
    });
    for (const step of walkthroughSteps.filter((s) => s.part === part)) test(step.name, () => step.run(w));
  });
}
