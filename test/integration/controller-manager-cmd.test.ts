/**
 * `flotilla controller-manager` as its own process against a real API server, as a user
 * runs it: kubeconfig, the kube-system/kube-controller-manager Lease, /healthz and
 * /metrics, controllers at work (default ServiceAccounts, kube-root-ca.crt, a ReplicaSet's
 * pods), a clean exit on SIGTERM.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnFlotilla } from '../util/flotilla.js';
import { backends, startBackendApiServer } from '../util/backends.js';
import { eventually } from '../util/wait.js';

for (const backend of backends) test(`flotilla controller-manager: leader election, healthz/metrics, controllers act, exits on SIGTERM (${backend.name})`, { skip: backend.skip }, async (t) => {
  const api = await startBackendApiServer(t, backend);
  const cm = spawnFlotilla(['controller-manager', '--kubeconfig', api.kubeconfigPath, '--secure-port', '0', '--controllers', '*,-garbagecollector'], { FLOTILLA_LOG_LEVEL: 'warn' });
  t.after(() => cm.kill());
  let url = '';
  await eventually(`the health address (stdout: ${cm.stdout()} stderr: ${cm.stderr()})`, () => {
    url = /on (http:\/\/\S+)\n/.exec(cm.stdout())?.[1] ?? '';
    return url !== '';
  });
  assert.doesNotMatch(cm.stdout(), /[ ,]garbage-collector-controller/, '--controllers -garbagecollector turns it off');
  assert.match(cm.stdout(), /pod-garbage-collector-controller/);
  assert.match(cm.stdout(), /replicaset-controller/);
  assert.equal(await (await fetch(`${url}/healthz`)).text(), 'ok');

  await eventually('the default ServiceAccount and kube-root-ca.crt in kube-public', async () => {
    const r = await api.kubectl(['get', 'sa/default', 'cm/kube-root-ca.crt', '-n', 'kube-public', '-o', 'name']);
    return r.code === 0 && r.stdout.trim().split('\n').length === 2;
  });
  const holder = await api.ok(['get', 'lease', '-n', 'kube-system', 'kube-controller-manager', '-o', 'jsonpath={.spec.holderIdentity}']);
  assert.match(holder, /^.+_[0-9a-f-]{36}$/);

  await api.ok(['apply', '-f', '-'], {
    input: JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'crew', namespace: 'default' },
      spec: { replicas: 2, selector: { matchLabels: { app: 'crew' } }, template: { metadata: { labels: { app: 'crew' } }, spec: { containers: [{ name: 'c', image: 'nginx' }] } } },
    }),
  });
  await eventually('two pods for the ReplicaSet', async () => (await api.ok(['get', 'pods', '-l', 'app=crew', '-o', 'name'])).trim().split('\n').filter(Boolean).length === 2);
  assert.match(await (await fetch(`${url}/metrics`)).text(), /workqueue_adds_total\{name="replicaset"\} [1-9]/);

  cm.proc.kill('SIGTERM');
  assert.equal(await cm.exited, 0, cm.stderr());
});
