import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../apimachinery/meta.js';
import { FakeClient } from '../../client/fake.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources } from '../../client/interface.js';
import type { ConfigMap, Namespace, ServiceAccount } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { RootCACertPublisher, ROOT_CA_DESCRIPTION } from './rootcacert.js';
import { ServiceAccountsController } from './serviceaccounts.js';

async function settle(rounds = 30): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

function ns(name: string, phase: 'Active' | 'Terminating' = 'Active'): KObject {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name }, spec: { finalizers: ['kubernetes'] }, status: { phase } };
}

const CA = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function setup(t: { after(fn: () => unknown): void }) {
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const client = new FakeClient({ clock });
  const informers = newInformerFactory({ client, clock });
  const ac = new AbortController();
  const sa = new ServiceAccountsController({
    client,
    serviceAccountInformer: informers.forResource<ServiceAccount>(Resources.serviceaccounts),
    namespaceInformer: informers.forResource<Namespace>(Resources.namespaces),
    queue: newWorkQueue<string>({ name: 'serviceaccount', clock }),
    logger: silentLogger(),
    waitForCacheSync: (s) => informers.waitForCacheSync(s),
  });
  const ca = new RootCACertPublisher({
    client,
    configMapInformer: informers.forResource<ConfigMap>(Resources.configmaps),
    namespaceInformer: informers.forResource<Namespace>(Resources.namespaces),
    rootCA: CA,
    queue: newWorkQueue<string>({ name: 'root_ca_cert_publisher', clock }),
    logger: silentLogger(),
    waitForCacheSync: (s) => informers.waitForCacheSync(s),
  });
  const start = async () => {
    informers.start(ac.signal);
    const runs = [sa.run(ac.signal), ca.run(ac.signal)];
    t.after(async () => {
      ac.abort();
      await Promise.all(runs);
    });
    await settle();
  };
  return { clock, client, start };
}

test('every active namespace gets ServiceAccount default, again after it is deleted', async (t) => {
  const { client, start } = setup(t);
  client.seed(Resources.namespaces, ns('default'), ns('team-a'), ns('leaving', 'Terminating'));
  await start();
  const names = async () => (await client.resource<ServiceAccount>(Resources.serviceaccounts).list()).items.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`).sort();
  assert.deepEqual(await names(), ['default/default', 'team-a/default']);

  await client.resource(Resources.serviceaccounts, 'team-a').delete('default');
  await settle();
  assert.deepEqual(await names(), ['default/default', 'team-a/default']);

  await client.resource(Resources.namespaces).create(ns('new'));
  await settle();
  assert.deepEqual(await names(), ['default/default', 'new/default', 'team-a/default']);
});

test('every namespace gets kube-root-ca.crt with the cluster CA; edits and deletions are undone', async (t) => {
  const { client, start } = setup(t);
  client.seed(Resources.namespaces, ns('default'), ns('team-a'));
  await start();
  const cms = client.resource<ConfigMap>(Resources.configmaps, 'team-a');
  let cm = await cms.get('kube-root-ca.crt');
  assert.deepEqual(cm.data, { 'ca.crt': CA });
  assert.equal(cm.metadata?.annotations?.['kubernetes.io/description'], ROOT_CA_DESCRIPTION);

  await cms.update({ ...cm, data: { 'ca.crt': 'tampered' } });
  await settle();
  cm = await cms.get('kube-root-ca.crt');
  assert.deepEqual(cm.data, { 'ca.crt': CA });

  await cms.delete('kube-root-ca.crt');
  await settle();
  assert.deepEqual((await cms.get('kube-root-ca.crt')).data, { 'ca.crt': CA });
  assert.deepEqual((await client.resource<ConfigMap>(Resources.configmaps, 'default').get('kube-root-ca.crt')).data, { 'ca.crt': CA });
});
