/**
 * Services on real containers: the seeds' NodePort service (30008, selector app: myapp) in
 * front of three replicas, ClusterIP from the host and from a pod, hairpin, cluster DNS
 * from a busybox pod, readiness taking a pod out of rotation, a LoadBalancer's external IP,
 * `kubectl expose`, and the rules gone once the node stops. `flotilla up --runtime cri`
 * runs kube-proxy in iptables mode in the host's network namespace (the clusters of a test
 * run take turns: test/util/cluster.ts hostNetworkLock).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipWithoutContainers, useCluster, type Cluster } from '../util/cluster.js';
import { eventually } from '../util/wait.js';
// The seeds' service-definition.yaml.
import { serviceDefinition } from '../util/seeds.js';

function httpGet(host: string, port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, timeout: 3000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => { body += d; });
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

// Each replica answers with its own name, so the test can see which pod served a request.
const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: myapp
spec:
  replicas: 3
  selector:
    matchLabels:
      app: myapp
  template:
    metadata:
      labels:
        app: myapp
        type: front-end
    spec:
      containers:
      - name: web
        image: busybox
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && touch /www/ready && exec httpd -f -p 80 -h /www"]
        readinessProbe:
          httpGet: {path: /ready, port: 80}
          periodSeconds: 1
`;

describe('services on containerd through flotilla up', { skip: skipWithoutContainers }, () => {
  const cluster = useCluster({ runtime: 'cri' });
  let c: Cluster;
  let pods: string[] = [];
  before(async () => {
    c = cluster();
    writeFileSync(join(c.dir, 'deployment.yaml'), deployment);
    writeFileSync(join(c.dir, 'service-definition.yaml'), serviceDefinition);
    c.ok('apply', '-f', join(c.dir, 'deployment.yaml'));
    c.ok('create', '-f', join(c.dir, 'service-definition.yaml'));
    c.ok('rollout', 'status', 'deployment/myapp', '--timeout=90s');
    pods = c.ok('get', 'pods', '-l', 'app=myapp', '-o', 'jsonpath={.items[*].metadata.name}').split(' ').sort();
    c.ok('run', 'client', '--image=busybox', '--image-pull-policy=IfNotPresent', '--', 'sleep', '3600');
    await eventually('client Running', () => c.ok('get', 'pod', 'client', '-o', 'jsonpath={.status.phase}') === 'Running', 60_000);
  });

  test('kube-proxy and kube-dns are up', () => {
    assert.match(c.up.stdout(), /✓ kube-proxy\s+iptables mode/);
    assert.match(c.ok('get', 'service', 'kube-dns', '-n', 'kube-system'), /^kube-dns\s+ClusterIP\s+10\.96\.0\.10\s+<none>\s+53\/UDP,53\/TCP,9153\/TCP/m);
    assert.match(c.ok('get', 'services'), /^myapp-service\s+NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+80:30008\/TCP/m);
  });

  test('curl http://<node-ip>:30008 answers, and 100 requests reach all three pods', async () => {
    assert.equal(pods.length, 3);
    const seen = new Map<string, number>();
    await eventually('NodePort answers', async () => (await httpGet('127.0.0.1', 30008).catch(() => '')) !== '', 30_000);
    for (let i = 0; i < 100; i++) {
      const who = (await httpGet('127.0.0.1', 30008)).trim();
      seen.set(who, (seen.get(who) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), pods, JSON.stringify([...seen]));
    // The real curl, as the seeds show it.
    const curl = spawnSync('curl', ['-s', 'http://127.0.0.1:30008'], { encoding: 'utf8', timeout: 10_000 });
    if (!curl.error) assert.ok(pods.includes(curl.stdout.trim()), curl.stdout + curl.stderr);
  });

  test('the ClusterIP answers from the host and from another pod; a pod reaches its own service (hairpin)', async () => {
    const ip = c.ok('get', 'service', 'myapp-service', '-o', 'jsonpath={.spec.clusterIP}');
    assert.ok(pods.includes((await httpGet(ip, 80)).trim()));
    const fromPod = c.kubectl(['exec', 'client', '--', 'wget', '-qO-', `http://${ip}/`]);
    assert.equal(fromPod.status, 0, fromPod.stderr);
    assert.ok(pods.includes(fromPod.stdout.trim()));
    // Hairpin: each backend, through the service, sometimes lands on itself; all must answer.
    for (const p of pods) {
      const r = c.kubectl(['exec', p, '--', 'sh', '-c', `for i in 1 2 3 4 5 6; do wget -qO- http://${ip}/ || exit 1; done`]);
      assert.equal(r.status, 0, `${p}: ${r.stderr}`);
    }
  });

  test('a busybox pod resolves the service by its short and full names and fetches it', () => {
    for (const name of ['myapp-service', 'myapp-service.default.svc.cluster.local']) {
      const r = c.kubectl(['exec', 'client', '--', 'wget', '-qO-', `http://${name}/`]);
      assert.equal(r.status, 0, `${name}: ${r.stdout}${r.stderr}`);
      assert.ok(pods.includes(r.stdout.trim()), r.stdout);
    }
    const ns = c.kubectl(['exec', 'client', '--', 'nslookup', 'myapp-service.default.svc.cluster.local']);
    assert.equal(ns.status, 0, ns.stdout + ns.stderr);
    assert.match(ns.stdout, new RegExp(c.ok('get', 'service', 'myapp-service', '-o', 'jsonpath={.spec.clusterIP}').replace(/\./g, '\\.')));
    assert.match(c.ok('exec', 'client', '--', 'cat', '/etc/resolv.conf'), /^nameserver 10\.96\.0\.10$/m);
  });

  test('an un-readied pod leaves the rotation within seconds', async () => {
    const out = pods[0]!;
    c.ok('exec', out, '--', 'rm', '/www/ready');
    await eventually('endpoint removed', () => !c.ok('get', 'endpointslices', '-l', 'kubernetes.io/service-name=myapp-service', '-o', 'jsonpath={.items[*].endpoints[?(@.conditions.ready==true)].targetRef.name}').includes(out), 30_000);
    await eventually('no request reaches it', async () => {
      for (let i = 0; i < 30; i++) if ((await httpGet('127.0.0.1', 30008)).trim() === out) return false;
      return true;
    }, 30_000);
    c.ok('exec', out, '--', 'touch', '/www/ready');
  });

  test('a LoadBalancer service gets an external IP that answers; kubectl expose --type NodePort works', async () => {
    c.ok('expose', 'deployment', 'myapp', '--name=myapp-lb', '--type=LoadBalancer', '--port=8080', '--target-port=80');
    let ip = '';
    await eventually('ingress IP', () => (ip = c.ok('get', 'service', 'myapp-lb', '-o', 'jsonpath={.status.loadBalancer.ingress[0].ip}')) !== '', 30_000);
    assert.match(c.ok('get', 'service', 'myapp-lb'), new RegExp(`myapp-lb\\s+LoadBalancer\\s+\\S+\\s+${ip.replace(/\./g, '\\.')}\\s+8080:3\\d{4}/TCP`));
    await eventually('LB answers', async () => pods.includes((await httpGet(ip, 8080).catch(() => '')).trim()), 30_000);
    assert.equal(c.ok('expose', 'deployment', 'myapp', '--name=myapp-np', '--type', 'NodePort', '--port', '80').trim(), 'service/myapp-np exposed');
    const np = Number(c.ok('get', 'service', 'myapp-np', '-o', 'jsonpath={.spec.ports[0].nodePort}'));
    await eventually('expose NodePort answers', async () => pods.includes((await httpGet('127.0.0.1', np).catch(() => '')).trim()), 30_000);
  });

  test('the rules are gone once the node stops', async () => {
    c.up.proc.kill('SIGTERM');
    await c.up.exited;
    const save = spawnSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8' });
    assert.doesNotMatch(save.stdout, /KUBE-SVC-|KUBE-SERVICES/);
  });
});
