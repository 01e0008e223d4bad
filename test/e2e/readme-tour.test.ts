/**
 * The README's tour, replayed against `flotilla up` with the real kubectl and etcdctl, so
 * every command the README shows stays true. Includes the seeds' own Deployment, whose
 * selector (type: front-end) does not match its template labels (app, tier) and must be
 * refused exactly as Kubernetes refuses it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnFlotilla } from '../util/flotilla.js';
import { freePort } from '../util/net.js';
import { tempDir } from '../util/tmp.js';
import { canRunContainers, hostNetworkLock, uniquePodCIDR } from '../util/cluster.js';
import { testImageSpecs } from '../util/images.js';
import { startRegistry } from '../util/registry.js';
// The seeds' deployment-definition.yaml, as the course writes it.
import { deploymentDefinition } from '../util/seeds.js';

test('the README tour works against flotilla up', async (t) => {
  // after-hooks run in order: flotilla up must be stopped (its containerd unmounting the
  // pods) before the data dir is removed.
  let up: ReturnType<typeof spawnFlotilla> | undefined = undefined;
  t.after(async () => {
    if (!up) return;
    if (up.proc.exitCode === null && up.proc.signalCode === null) up.proc.kill('SIGTERM');
    const timer = setTimeout(() => up?.proc.kill('SIGKILL'), 30_000);
    await up.exited;
    clearTimeout(timer);
  });
  const dir = tempDir(t);
  const etcdPort = await freePort();
  const apiPort = await freePort();
  // As a newcomer runs it: the default runtime (real containers when this machine can run
  // them). With no internet here, docker.io is mirrored to a local registry holding a
  // busybox-built nginx, so `--image=nginx` pulls as it would from Docker Hub.
  const args = ['up', '--data-dir', dir, '--etcd-port', String(etcdPort), '--secure-port', String(apiPort)];
  if (canRunContainers()) {
    await hostNetworkLock(t);
    const reg = await startRegistry(t);
    await reg.push(testImageSpecs.nginx);
    args.push('--registry-mirror', `docker.io=${reg.url}`, '--pod-cidr', uniquePodCIDR(), '--node-ip', '127.0.0.1', '--kubelet-port', '0');
  }
  up = spawnFlotilla(args);
  const deadline = Date.now() + 60_000;
  while (!up.stdout().includes('Cluster is up')) {
    assert.equal(up.proc.exitCode, null, `flotilla up exited:\n${up.stdout()}\n${up.stderr()}`);
    assert.ok(Date.now() < deadline, `flotilla up not ready:\n${up.stdout()}\n${up.stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const env = { ...process.env, KUBECONFIG: join(dir, 'admin.conf'), ETCDCTL_API: '3' };
  const kubectl = (...args: string[]) => spawnSync('kubectl', args, { encoding: 'utf8', env, timeout: 30_000 });
  const ok = (...args: string[]) => {
    const r = kubectl(...args);
    assert.equal(r.status, 0, `kubectl ${args.join(' ')}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };

  assert.match(ok('get', 'namespaces'), /^kube-system\s+Active\s+\d+s$/m);
  assert.equal(ok('create', 'deployment', 'web', '--image=nginx', '--replicas=2').trim(), 'deployment.apps/web created');
  assert.equal(ok('expose', 'deployment', 'web', '--port=80', '--type=NodePort').trim(), 'service/web exposed');
  // The controllers make the ReplicaSet and pods, the scheduler places them, the node runs them.
  assert.match(ok('rollout', 'status', 'deployment/web', '--timeout=60s'), /deployment "web" successfully rolled out/);
  const all = ok('get', 'all');
  assert.match(all, /^pod\/web-[a-z0-9]{8,10}-[a-z0-9]{5}\s+1\/1\s+Running\s+0\s+\d+s$/m);
  assert.match(all, /^service\/kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP/m);
  assert.match(all, /^service\/web\s+NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+80:3\d{4}\/TCP/m);
  assert.match(all, /^deployment\.apps\/web\s+2\/2\s+2\s+2\s+\d+s$/m);
  assert.match(all, /^replicaset\.apps\/web-[a-z0-9]{8,10}\s+2\s+2\s+2\s+\d+s$/m);
  assert.match(ok('api-resources'), /^replicasets\s+rs\s+apps\/v1\s+true\s+ReplicaSet$/m);
  assert.match(ok('explain', 'replicaset'), /ReplicaSet ensures that a specified number of pod replicas are running at\s+any given time\./);

  // The seeds' Deployment: refused with Kubernetes' own words.
  const file = join(dir, 'deployment-definition.yaml');
  writeFileSync(file, deploymentDefinition);
  const bad = kubectl('create', '-f', file);
  assert.equal(bad.status, 1);
  assert.equal(
    bad.stderr.trim(),
    'The Deployment "myapp-deployment" is invalid: spec.template.metadata.labels: Invalid value: map[string]string{"app":"myapp", "tier":"front-end"}: `selector` does not match template `labels`',
  );
  // Fixed as the course fixes it: the selector names the template's labels.
  writeFileSync(file, deploymentDefinition.replace('      type: front-end\n', '      tier: front-end\n'));
  assert.equal(ok('create', '-f', file).trim(), 'deployment.apps/myapp-deployment created');
  assert.match(ok('rollout', 'status', 'deployment/myapp-deployment', '--timeout=60s'), /successfully rolled out/);
  assert.match(ok('get', 'deployments'), /^myapp-deployment\s+3\/3\s+3\s+3\s+\d+s$/m);

  // The objects live in the store under /registry, as in etcd.
  const keys = spawnSync('etcdctl', [`--endpoints=http://127.0.0.1:${etcdPort}`, 'get', '/registry/', '--prefix', '--keys-only'], { encoding: 'utf8', env, timeout: 20_000 });
  assert.match(keys.stdout, /^\/registry\/deployments\/default\/myapp-deployment$/m, keys.stderr);
  assert.match(keys.stdout, /^\/registry\/services\/specs\/default\/web$/m);
});
