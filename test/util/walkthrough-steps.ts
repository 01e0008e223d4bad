/**
 * The seeds' walkthrough as steps, each a test walkthrough-simulated.test.ts runs in order on
 * one `flotilla up --runtime simulated`, with checks beyond what the README's tour prints
 * (`kubectl edit` through $EDITOR, the last-applied annotation, a namespace switch on a
 * kubeconfig copy, UIDs per namespace). Each step leaves the cluster as the next one expects.
 * On real containers the same journey is the README's tour, replayed line by line by
 * walkthrough-cri.test.ts (it also covers what needs real containers: the wrong image's
 * ErrImagePull and its fix, and the NodePort service answering curl).
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deploymentDefinition, podDefinition, rcDefinition, replicaSetDefinition, type Walkthrough } from './seeds.js';
import { eventually } from './wait.js';

export interface WalkthroughStep {
  name: string;
  run(w: Walkthrough): Promise<void>;
}

export const walkthroughSteps: WalkthroughStep[] = [
  {
    name: 'kubectl run nginx --image nginx',
    async run({ c, waitReadyPods }) {
      assert.equal(c.ok('run', 'nginx', '--image', 'nginx').trim(), 'pod/nginx created');
      await waitReadyPods('run=nginx', 1);
      assert.match(c.ok('get', 'pods'), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nnginx\s+1\/1\s+Running\s+0\s+\d\S*\n$/);
      assert.equal(c.ok('delete', 'pod', 'nginx').trim(), 'pod "nginx" deleted');
    },
  },
  {
    name: 'pod-definition.yaml: create -f, get pods -o wide, describe pod | grep, apply -f',
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
    name: 'rc-definition.yaml: create -f, get replicationcontroller, delete',
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
    name: 'namespaces: create namespace dev, -n dev, set-context --current --namespace, --all-namespaces',
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
