/**
 * The seeds' walkthrough on real containers, as the README's tour tells it: the tour replayed
 * command by command against `flotilla up` with real containerd, with the real kubectl,
 * etcdctl, curl and iptables — the README is the script. (walkthrough-simulated.test.ts
 * runs the same journey on the simulated runtime, with the node controller's part.)
 *
 * Every line of every `sh` block between the README's tour markers is run, in order, by bash
 * in a folder laid out like a checkout (./flotilla, examples/course, flotilla-data → the
 * cluster's data dir), carrying exported variables and the working directory from one line
 * to the next as a terminal would. `steps` below holds, for each line, what it must print.
 * The two lists must match line for line, so a command added to the README without a check
 * here (or a check left here for a command the README dropped) fails the test.
 *
 * The cluster is started the way tests start clusters (test/util/cluster.ts), on the ports a
 * newcomer's `npm start` uses (2379, 6443), so the README's endpoints are literal; with no
 * internet here, docker.io is mirrored to a local registry holding busybox-built nginx and
 * busybox images, so `--image nginx` pulls as it would from Docker Hub.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { skipWalkthroughCri } from '../util/seeds.js';
import { startCluster } from '../util/cluster.js';
import { flotillaNodeArgs, repoRoot } from '../util/flotilla.js';
import { eventually } from '../util/wait.js';

interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

interface Step {
  /** The README's line, exactly. */
  run: string;
  /** Expected exit status (default 0). */
  status?: number;
  /** What stdout must match (each pattern). */
  out?: RegExp | RegExp[];
  /** What stderr must match. */
  err?: RegExp;
  /** Any further check. */
  check?: (r: Ran) => void;
  /**
   * Re-run until the checks pass (up to 90 s), as a reader runs `kubectl get` again while
   * something starts; without it the first run must pass.
   */
  until?: boolean;
}

const pod = (name: string | RegExp, status = 'Running', ready = '1/1') =>
  new RegExp(`^${typeof name === 'string' ? name : name.source}\\s+${ready.replace('/', '\\/')}\\s+${status}\\s+\\d+\\s+\\d\\S*$`, 'm');
const hash = '[a-z0-9]{8,10}';
const suffix = '[a-z0-9]{5}';

/** The tour's lines, in the README's order, with what each must print. */
const steps: Step[] = [
  { run: 'export PATH=$PWD:$PATH KUBECONFIG=$PWD/flotilla-data/admin.conf' },
  { run: 'kubectl get nodes', out: /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\n\S+\s+Ready\s+control-plane\s+\d\S*\s+v1\.32\.\d+\S*\n$/ },
  { run: "export NODE=$(kubectl get nodes -o jsonpath='{.items[0].metadata.name}')" },

  // ETCD
  { run: 'export ETCDCTL_API=3 ETCDCTL_ENDPOINTS=http://127.0.0.1:2379' },
  { run: 'etcdctl version', out: /^etcdctl version: 3\.\d+\.\d+\nAPI version: 3\.\d+\n$/ },
  { run: 'etcdctl put key1 value1', out: /^OK\n$/ },
  { run: 'etcdctl get key1', out: /^key1\nvalue1\n$/ },
  {
    run: 'kubectl get pods -n kube-system',
    until: true,
    out: [
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m,
      pod(new RegExp(`coredns-${hash}-${suffix}`)),
      pod(/etcd-\S+/),
      pod(/kube-apiserver-\S+/),
      pod(/kube-controller-manager-\S+/),
      pod(new RegExp(`kube-proxy-${suffix}`)),
      pod(/kube-scheduler-\S+/),
    ],
  },
  {
    run: 'kubectl exec etcd-$NODE -n kube-system -- etcdctl get / --prefix --keys-only --limit=10',
    check: (r) => {
      const keys = r.stdout.split('\n').filter(Boolean);
      assert.equal(keys.length, 10, r.stdout);
      for (const k of keys) assert.match(k, /^\/registry\/[a-z.]+\//);
    },
  },

  // kube-apiserver, kube-controller-manager, kube-scheduler
  {
    run: 'cat flotilla-data/manifests/kube-apiserver.yaml',
    out: [/^kind: Pod$/m, /^ {4}component: kube-apiserver$/m, /^ {8}- kube-apiserver$/m, /^ {8}- --etcd-servers=http:\/\/127\.0\.0\.1:2379$/m, /^ {8}- --secure-port=6443$/m],
  },
  { run: "ps aux | grep 'flotilla.* up'", out: /flotilla\S* up --data-dir /m },
  {
    run: "flotilla controller-manager --help | grep -E 'node-monitor|pod-eviction'",
    out: [/--node-monitor-period\b/, /--node-monitor-grace-period\b/, /--pod-eviction-timeout\b/],
  },
  // The stand-in follows the real scheduler's log file: the scheduler's own JSON lines.
  { run: 'kubectl logs kube-scheduler-$NODE -n kube-system --tail=3', until: true, out: /"component":"scheduler"/ },
  { run: 'kubectl get --raw /metrics | grep ^scheduler_schedule_attempts_total', out: /^scheduler_schedule_attempts_total\{result="scheduled",profile="default-scheduler"\} [1-9]\d*$/m },

  // kubelet and kube-proxy
  {
    run: 'kubectl get nodes -o wide',
    out: /^NAME\s+STATUS\s+ROLES\s+AGE\s+VERSION\s+INTERNAL-IP\s+EXTERNAL-IP\s+OS-IMAGE\s+KERNEL-VERSION\s+CONTAINER-RUNTIME\n\S+\s+Ready\s+control-plane\s+\S+\s+\S+\s+127\.0\.0\.1\s+<none>\s+.+\s+containerd:\/\/\S+\n$/,
  },
  { run: 'flotilla crictl ps', out: [/^CONTAINER\s+IMAGE\s+CREATED\s+STATE\s+NAME\s+ATTEMPT\s+POD ID\s+POD\s+NAMESPACE$/m, /^[0-9a-f]{13}\s+[0-9a-f]{13}\s+\d+ \w+ ago\s+Running\s+kube-scheduler\s+0\s+[0-9a-f]{13}\s+kube-scheduler-\S+\s+kube-system$/m] },

  // Pods
  { run: 'cp -r examples/course . && cd course' },
  { run: 'kubectl run nginx --image nginx', out: /^pod\/nginx created\n$/ },
  { run: 'kubectl wait --for=condition=Ready pod/nginx', out: /^pod\/nginx condition met\n$/ },
  { run: 'kubectl get pods', out: /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nnginx\s+1\/1\s+Running\s+0\s+\d\S*\n$/ },
  { run: 'kubectl delete pod nginx', out: /^pod "nginx" deleted\n$/ },
  { run: 'cat pod-definition.yaml', check: (r) => assert.equal(r.stdout, readFileSync(join(repoRoot, 'examples/course/pod-definition.yaml'), 'utf8')) },
  { run: 'kubectl create -f pod-definition.yaml', out: /^pod\/myapp-pod created\n$/ },
  { run: 'kubectl wait --for=condition=Ready pod/myapp-pod', out: /^pod\/myapp-pod condition met\n$/ },
  {
    run: 'kubectl get pods -o wide',
    out: [/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/m, /^myapp-pod\s+1\/1\s+Running\s+0\s+\d\S*\s+10\.\d+\.\d+\.\d+\s+\S+\s+<none>\s+<none>$/m],
  },
  { run: 'kubectl describe pod myapp-pod | grep Image', out: [/^\s+Image:\s+nginx$/m, /^\s+Image ID:\s+docker\.io\/library\/nginx@sha256:[0-9a-f]{64}$/m] },
  {
    run: 'kubectl apply -f pod-definition.yaml',
    out: /^pod\/myapp-pod configured\n$/,
    err: /^Warning: resource pods\/myapp-pod is missing the kubectl\.kubernetes\.io\/last-applied-configuration annotation/,
  },
  { run: "sed -i 's/image: nginx /image: nginx123 /' pod.yaml", check: (r) => assert.equal(r.stdout, '') },
  { run: 'kubectl apply -f pod.yaml', out: /^pod\/nginx created\n$/ },
  { run: 'kubectl get pod nginx', until: true, out: /^nginx\s+0\/1\s+(ErrImagePull|ImagePullBackOff)\s+0\s+\d\S*$/m },
  { run: 'kubectl describe pod nginx | grep Failed', out: /Failed to pull image "nginx123"/ },
  { run: "sed -i 's/image: nginx123 /image: nginx /' pod.yaml" },
  { run: 'kubectl apply -f pod.yaml', out: /^pod\/nginx configured\n$/ },
  { run: 'kubectl wait --for=condition=Ready pod/nginx', out: /^pod\/nginx condition met\n$/ },
  { run: 'kubectl delete -f pod.yaml -f pod-definition.yaml', out: /^pod "nginx" deleted\npod "myapp-pod" deleted\n$/ },

  // ReplicationControllers and ReplicaSets
  { run: 'kubectl create -f rc-definition.yaml', out: /^replicationcontroller\/myapp-rc created\n$/ },
  { run: 'kubectl get replicationcontroller', until: true, out: /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nmyapp-rc\s+3\s+3\s+3\s+\d\S*\n$/ },
  {
    run: 'kubectl get pods',
    until: true,
    check: (r) => {
      const lines = r.stdout.split('\n').filter(Boolean).slice(1);
      assert.equal(lines.length, 3, r.stdout);
      for (const l of lines) assert.match(l, pod(new RegExp(`myapp-rc-${suffix}`)));
    },
  },
  { run: 'kubectl delete replicationcontroller myapp-rc', out: /^replicationcontroller "myapp-rc" deleted\n$/ },
  { run: 'kubectl create -f replicaset-definition.yaml', out: /^replicaset\.apps\/myapp-replicaset created\n$/ },
  { run: 'kubectl get replicaset', until: true, out: /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\nmyapp-replicaset\s+3\s+3\s+3\s+\d\S*\n$/ },
  { run: 'kubectl scale --replicas=6 -f replicaset-definition.yaml', out: /^replicaset\.apps\/myapp-replicaset scaled\n$/ },
  { run: 'kubectl scale --replicas=2 replicaset myapp-replicaset', out: /^replicaset\.apps\/myapp-replicaset scaled\n$/ },
  { run: "sed -i 's/replicas: 3/replicas: 4/' replicaset-definition.yaml" },
  { run: 'kubectl replace -f replicaset-definition.yaml', out: /^replicaset\.apps\/myapp-replicaset replaced\n$/ },
  { run: 'kubectl get replicaset myapp-replicaset', until: true, out: /^myapp-replicaset\s+4\s+4\s+4\s+\d\S*$/m },
  { run: 'kubectl explain replicaset', out: [/^KIND:\s+ReplicaSet$/m, /^VERSION:\s+v1$/m, /ReplicaSet ensures that a specified number of pod replicas are running at\s+any given time\./, /^\s+spec\s+<ReplicaSetSpec>$/m] },
  { run: 'kubectl delete replicaset myapp-replicaset', out: /^replicaset\.apps "myapp-replicaset" deleted\n$/ },

  // Deployments
  {
    run: 'kubectl create -f deployment-definition.yaml',
    status: 1,
    check: (r) =>
      assert.equal(
        r.stderr.trim(),
        'The Deployment "myapp-deployment" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"myapp", "tier":"front-end"}: `selector` does not match template `labels`',
      ),
  },
  { run: "sed -i 's/^      type: front-end$/      tier: front-end/' deployment-definition.yaml" },
  { run: 'kubectl create -f deployment-definition.yaml', out: /^deployment\.apps\/myapp-deployment created\n$/ },
  { run: 'kubectl rollout status deployment/myapp-deployment', out: /deployment "myapp-deployment" successfully rolled out\n$/ },
  { run: 'kubectl get deployments', out: /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nmyapp-deployment\s+3\/3\s+3\s+3\s+\d\S*\n$/ },
  {
    run: 'kubectl get all',
    out: [
      pod(new RegExp(`pod/myapp-deployment-${hash}-${suffix}`)),
      /^service\/kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\d\S*$/m,
      /^deployment\.apps\/myapp-deployment\s+3\/3\s+3\s+3\s+\d\S*$/m,
      new RegExp(`^replicaset\\.apps/myapp-deployment-${hash}\\s+3\\s+3\\s+3\\s+\\d\\S*$`, 'm'),
    ],
  },
  { run: 'kubectl set image deployment/myapp-deployment nginx-container=docker.io/library/nginx:latest', out: /^deployment\.apps\/myapp-deployment image updated\n$/ },
  { run: 'kubectl rollout status deployment/myapp-deployment', out: /deployment "myapp-deployment" successfully rolled out\n$/ },
  { run: 'kubectl rollout history deployment/myapp-deployment', out: /^deployment\.apps\/myapp-deployment \nREVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n\n$/ },
  { run: 'kubectl rollout undo deployment/myapp-deployment', out: /^deployment\.apps\/myapp-deployment rolled back\n$/ },
  { run: 'kubectl rollout status deployment/myapp-deployment', out: /deployment "myapp-deployment" successfully rolled out\n$/ },

  // Services
  { run: 'kubectl create -f pod-definition.yaml', out: /^pod\/myapp-pod created\n$/ },
  { run: 'kubectl create -f service-definition.yaml', out: /^service\/myapp-service created\n$/ },
  { run: 'kubectl get services', out: [/^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP\s+\d\S*$/m, /^myapp-service\s+NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+80:30008\/TCP\s+\d\S*$/m] },
  // Until the pod is ready and kube-proxy has written the rules.
  { run: 'curl http://127.0.0.1:30008', until: true, out: /<h1>Welcome to nginx!<\/h1>/ },
  { run: 'iptables-save -t nat | grep -c myapp-service', check: (r) => assert.ok(Number(r.stdout) >= 4, r.stdout) },
  { run: 'kubectl run client --image busybox -- sleep 3600', out: /^pod\/client created\n$/ },
  { run: 'kubectl wait --for=condition=Ready pod/client', out: /^pod\/client condition met\n$/ },
  { run: 'kubectl exec client -- wget -qO- http://myapp-service.default.svc.cluster.local', out: /<h1>Welcome to nginx!<\/h1>/ },

  // Namespaces
  { run: 'kubectl create namespace dev', out: /^namespace\/dev created\n$/ },
  { run: 'kubectl create -f pod-definition.yaml -n dev', out: /^pod\/myapp-pod created\n$/ },
  { run: 'kubectl get pods -n dev', until: true, out: /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nmyapp-pod\s+1\/1\s+Running\s+0\s+\d\S*\n$/ },
  { run: 'kubectl config set-context --current --namespace=dev', out: /^Context "\S+" modified\.\n$/ },
  { run: 'kubectl get pods', out: /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nmyapp-pod\s+1\/1\s+Running\s+0\s+\d\S*\n$/ },
  { run: 'kubectl config set-context --current --namespace=default', out: /^Context "\S+" modified\.\n$/ },
  {
    run: 'kubectl get pods --all-namespaces',
    out: [/^NAMESPACE\s+NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/m, /^default\s+myapp-pod\s+1\/1\s+Running\s/m, /^dev\s+myapp-pod\s+1\/1\s+Running\s/m, /^kube-system\s+etcd-\S+\s+1\/1\s+Running\s/m],
  },
  { run: 'cd ..' },
];

/** The lines of the `sh` blocks between the README's tour markers. */
function readmeTourLines(readme: string): string[] {
  const start = readme.indexOf('<!-- tour:');
  const end = readme.indexOf('<!-- end of tour -->');
  assert.ok(start >= 0 && end > start, 'README.md has no tour markers');
  const lines: string[] = [];
  for (const m of readme.slice(start, end).matchAll(/^```sh\n([\s\S]*?)^```$/gm)) {
    lines.push(...m[1]!.split('\n').filter((l) => l.trim() !== ''));
  }
  return lines;
}

describe('the seeds\' walkthrough on real containers: the README tour, replayed line by line', { skip: skipWalkthroughCri }, () => {
  test('every line of the tour has a check here, in the README\'s order', () => {
    assert.deepEqual(readmeTourLines(readFileSync(join(repoRoot, 'README.md'), 'utf8')), steps.map((s) => s.run));
  });

  test('the tour runs against flotilla up with real containers', async (t) => {
    // A folder laid out like a checkout: ./flotilla (the CLI as these tests run it),
    // examples/course, and flotilla-data (the cluster's data dir). Removed after the cluster.
    const home = mkdtempSync(join(tmpdir(), 'flotilla-tour-'));
    t.after(() => rmSync(home, { recursive: true, force: true }));
    const c = await startCluster(t, { runtime: 'cri', mirrorNginx: true, ports: { etcd: 2379, api: 6443 } });
    // (From sources, `--import tsx` is resolved here: the script runs from other folders.)
    const cli = [process.execPath, ...flotillaNodeArgs().map((a) => (a === 'tsx' ? import.meta.resolve('tsx') : a))];
    writeFileSync(join(home, 'flotilla'), `#!/bin/sh\nexec ${cli.map((a) => `'${a}'`).join(' ')} "$@"\n`, { mode: 0o755 });
    mkdirSync(join(home, 'examples'));
    cpSync(join(repoRoot, 'examples', 'course'), join(home, 'examples', 'course'), { recursive: true });
    symlinkSync(c.dir, join(home, 'flotilla-data'));

    // The terminal's state between lines: exported variables and the working directory.
    const state = mkdtempSync(join(tmpdir(), 'flotilla-tour-state-'));
    t.after(() => rmSync(state, { recursive: true, force: true }));
    let env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !/^(KUBECONFIG|ETCDCTL_.*|NODE)$/.test(k)) env[k] = v;
    let cwd = home;
    const bash = (line: string): Ran => {
      const script = `${line}\n__rc=$?\nenv -0 > '${state}/env'\npwd > '${state}/cwd'\nexit $__rc\n`;
      const r = spawnSync('bash', ['-c', script], { cwd, env, encoding: 'utf8', timeout: 120_000 });
      return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    };
    const keepState = () => {
      env = Object.fromEntries(
        readFileSync(join(state, 'env'), 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
      );
      cwd = readFileSync(join(state, 'cwd'), 'utf8').trim();
    };
    const verify = (s: Step, r: Ran) => {
      const what = `\`${s.run}\`\n--- stdout ---\n${r.stdout}--- stderr ---\n${r.stderr}`;
      assert.equal(r.status, s.status ?? 0, what);
      for (const re of s.out === undefined ? [] : Array.isArray(s.out) ? s.out : [s.out]) assert.match(r.stdout, re, what);
      if (s.err) assert.match(r.stderr, s.err, what);
      s.check?.(r);
    };

    for (const s of steps) {
      const started = Date.now();
      let r = bash(s.run);
      if (s.until) {
        await eventually(s.run, () => {
          try {
            verify(s, r);
            return true;
          } catch {
            r = bash(s.run);
            return false;
          }
        }, 90_000).catch(() => verify(s, r));
      }
      try {
        verify(s, r);
      } catch (err) {
        (err as Error).message += `\n--- flotilla up stderr (tail) ---\n${c.up.stderr().slice(-3000)}`;
        throw err;
      }
      keepState();
      if (process.env.WALKTHROUGH_TRACE) process.stderr.write(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s  ${s.run}\n`);
    }
  });
});
