/**
 * The control plane as a user meets it on `flotilla up`: the scheduler places and refuses
 * pods in upstream's words, the controllers keep replicas, roll out, roll back, pause, and
 * cascade (or not) on deletion, and namespace deletion empties the namespace. Real kubectl.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnFlotilla } from '../util/flotilla.js';
import { freePorts } from '../util/net.js';
import { tempDir } from '../util/tmp.js';

/** Polls fn (bounded) until it returns true; fails with describe()'s text. */
async function until(fn: () => boolean, describe: () => string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) assert.fail(`not reached within ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('the control plane on flotilla up, driven by kubectl', async (t) => {
  const dir = tempDir(t);
  const [etcdPort, apiPort] = await freePorts(2);
  const up = spawnFlotilla(['up', '--data-dir', dir, '--etcd-port', String(etcdPort), '--secure-port', String(apiPort), '--node-name', 'ship-1', '--simulated-nodes', '2', '--runtime', 'simulated']);
  t.after(() => up.kill());
  await until(() => up.stdout().includes('Cluster is up') || up.proc.exitCode !== null, () => up.stdout() + up.stderr(), 60_000);
  assert.equal(up.proc.exitCode, null, up.stderr());
  const env = { ...process.env, KUBECONFIG: join(dir, 'admin.conf') };
  const kubectl = (...args: string[]) => spawnSync('kubectl', args, { encoding: 'utf8', env, timeout: 90_000 });
  const ok = (...args: string[]) => {
    const r = kubectl(...args);
    assert.equal(r.status, 0, `kubectl ${args.join(' ')}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  await until(() => /^(?:\S+\s+Ready\s.*\n?){3}$/.test(kubectl('get', 'nodes', '--no-headers').stdout), () => kubectl('get', 'nodes').stdout);

  await t.test('a pod too big for every node is refused in the scheduler\'s words; one that fits is bound', async () => {
    ok('run', 'huge', '--image=nginx', '--overrides={"spec":{"containers":[{"name":"huge","image":"nginx","resources":{"requests":{"cpu":"1000"}}}]}}');
    await until(() => kubectl('get', 'events', '--field-selector', 'involvedObject.name=huge,reason=FailedScheduling', '-o', 'name').stdout.trim() !== '', () => kubectl('get', 'events').stdout);
    const d = ok('describe', 'pod', 'huge');
    assert.match(d, /Warning\s+FailedScheduling\s+\S+\s+default-scheduler\s+0\/3 nodes are available: 3 Insufficient cpu\. preemption: 0\/3 nodes are available: 3 No preemption victims found for incoming pod\.\./, d);
    assert.match(ok('get', 'pod', 'huge'), /^huge\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    ok('run', 'small', '--image=nginx');
    await until(() => kubectl('get', 'pod', 'small', '-o', 'jsonpath={.status.phase}').stdout === 'Running', () => kubectl('describe', 'pod', 'small').stdout);
    assert.match(ok('get', 'pod', 'small', '-o', 'wide'), /^small\s+1\/1\s+Running\s+0\s+\d+s\s+10\.244\.\d+\.\d+\s+(ship-1|sim-node-1|sim-node-2)\s/m);
    assert.match(ok('describe', 'pod', 'small'), /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/small to (ship-1|sim-node-1|sim-node-2)/);
  });

  await t.test('a deployment rolls out, replaces a deleted pod, pauses, resumes and rolls back', async () => {
    ok('create', 'deployment', 'web', '--image=nginx:1.26', '--replicas=3');
    ok('rollout', 'status', 'deployment/web', '--timeout=60s');
    const victim = ok('get', 'pods', '-l', 'app=web', '-o', 'jsonpath={.items[0].metadata.name}');
    ok('delete', 'pod', victim);
    await until(() => {
      const names = kubectl('get', 'pods', '-l', 'app=web', '--field-selector=status.phase=Running', '-o', 'jsonpath={.items[*].metadata.name}').stdout.split(' ').filter(Boolean);
      return names.length === 3 && !names.includes(victim);
    }, () => kubectl('get', 'pods', '-l', 'app=web').stdout);

    ok('rollout', 'pause', 'deployment/web');
    ok('set', 'image', 'deployment/web', 'nginx=nginx:1.27');
    assert.match(ok('get', 'deployment', 'web', '-o', 'jsonpath={.status.conditions[?(@.type=="Progressing")].reason}'), /DeploymentPaused/);
    assert.equal(ok('get', 'rs', '-l', 'app=web', '--no-headers').trim().split('\n').length, 1, 'no new ReplicaSet while paused');
    ok('rollout', 'resume', 'deployment/web');
    ok('rollout', 'status', 'deployment/web', '--timeout=60s');
    const history = ok('rollout', 'history', 'deployment/web');
    assert.match(history, /^REVISION\s+CHANGE-CAUSE\n1\s+<none>\n2\s+<none>\n/m);
    assert.match(ok('rollout', 'undo', 'deployment/web'), /deployment.apps\/web rolled back/);
    ok('rollout', 'status', 'deployment/web', '--timeout=60s');
    assert.equal(ok('get', 'deployment', 'web', '-o', 'jsonpath={.spec.template.spec.containers[0].image}'), 'nginx:1.26');
    assert.match(ok('rollout', 'history', 'deployment/web'), /^2\s+<none>\n3\s+<none>\n/m);
  });

  await t.test('delete --cascade=orphan leaves the ReplicaSet and its pods; a plain delete takes them', async () => {
    const rs = ok('get', 'rs', '-l', 'app=web', '-o', 'jsonpath={.items[?(@.spec.replicas==3)].metadata.name}');
    assert.match(ok('delete', 'deployment', 'web', '--cascade=orphan'), /deployment.apps "web" deleted/);
    await until(() => kubectl('get', 'rs', rs, '-o', 'jsonpath={.metadata.ownerReferences}').stdout === '', () => kubectl('get', 'rs', rs, '-o', 'yaml').stdout);
    assert.match(ok('get', 'rs', rs), new RegExp(`^${rs}\\s+3\\s+3\\s+3\\s`, 'm'));
    ok('delete', 'rs', rs);
    await until(() => kubectl('get', 'pods', '-l', 'app=web', '-o', 'name').stdout.trim() === '', () => kubectl('get', 'pods').stdout);
  });

  await t.test('the seeds\' ReplicationController scales by file and by name; deleting a namespace removes everything in it', async () => {
    ok('create', 'namespace', 'crew');
    const rc = [
      'apiVersion: v1',
      'kind: ReplicationController',
      'metadata:',
      '  name: myapp-rc',
      '  labels: {app: myapp, type: front-end}',
      'spec:',
      '  replicas: 3',
      '  template:',
      '    metadata:',
      '      name: myapp-pod',
      '      labels: {app: myapp, type: front-end}',
      '    spec:',
      '      containers:',
      '        - name: nginx-container',
      '          image: nginx',
      '',
    ].join('\n');
    const file = join(dir, 'rc-definition.yaml');
    writeFileSync(file, rc);
    assert.equal(ok('create', '-n', 'crew', '-f', file).trim(), 'replicationcontroller/myapp-rc created');
    const ready = (n: number) => () => new RegExp(`^myapp-rc\\s+${n}\\s+${n}\\s+${n}\\s`, 'm').test(kubectl('get', 'rc', '-n', 'crew').stdout);
    await until(ready(3), () => kubectl('get', 'rc,pods', '-n', 'crew').stdout);
    assert.equal(ok('scale', '-n', 'crew', '--replicas=6', '-f', file).trim(), 'replicationcontroller/myapp-rc scaled');
    await until(ready(6), () => kubectl('get', 'rc,pods', '-n', 'crew').stdout);
    ok('scale', '-n', 'crew', 'rc', 'myapp-rc', '--replicas=2');
    await until(() => ready(2)() && kubectl('get', 'pods', '-n', 'crew', '--no-headers').stdout.trim().split('\n').length === 2, () => kubectl('get', 'rc,pods', '-n', 'crew').stdout);
    ok('create', 'configmap', 'cargo', '-n', 'crew', '--from-literal=a=b');
    assert.match(ok('delete', 'namespace', 'crew'), /namespace "crew" deleted/);
    assert.equal(kubectl('get', 'namespace', 'crew').status, 1, 'kubectl delete namespace waits until it is gone');
    assert.match(kubectl('get', 'namespace', 'crew').stderr, /namespaces "crew" not found/);
  });
});
