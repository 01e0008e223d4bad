import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../apimachinery/meta.js';
import { FakeClient } from '../client/fake.js';
import { newInformerFactory } from '../client/informer.js';
import { Resources } from '../client/interface.js';
import { FakeClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import { ProxierHealth } from './healthz.js';
import type { CommandRunner } from './iptables/applier.js';
import { IptablesProxier } from './iptables/proxier.js';
import { ProxyLoop } from './proxier.js';

function service(name: string, clusterIP: string): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { clusterIP, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } };
}

function slice(svc: string, ips: string[]): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-1`, namespace: 'default', labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

/** iptables as a fake: records restores, answers saves with empty tables, fails on demand. */
class FakeIptables implements CommandRunner {
  restores: string[] = [];
  saves = 0;
  fail = false;
  async run(argv: readonly string[], input?: string) {
    if (argv[0] === 'iptables-save') {
      this.saves++;
      return { code: 0, stdout: `*${argv[2]}\nCOMMIT\n`, stderr: '' };
    }
    if (argv[0] === 'iptables-restore') {
      if (this.fail) return { code: 1, stdout: '', stderr: 'boom' };
      this.restores.push(input ?? '');
    }
    return { code: 0, stdout: '', stderr: '' };
  }
}

async function setup(t: { after(fn: () => unknown): void }) {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  await client.resource(Resources.services, 'default').create(service('web', '10.96.0.10'));
  await client.resource(Resources.endpointslices, 'default').create(slice('web', ['10.244.0.2', '10.244.0.3']));
  await client.resource(Resources.services, 'default').create(service('db', '10.96.0.11'));
  await client.resource(Resources.endpointslices, 'default').create(slice('db', ['10.244.0.9']));
  const ipt = new FakeIptables();
  const health = new ProxierHealth(clock, 60_000, 'node-1');
  const loop = new ProxyLoop({
    informers: newInformerFactory({ client, clock }),
    nodeName: 'node-1',
    backend: new IptablesProxier({ runner: ipt, logger: silentLogger() }),
    clock,
    logger: silentLogger(),
    health,
    syncPeriodMs: 30_000,
    minSyncPeriodMs: 1_000,
  });
  const ac = new AbortController();
  const done = loop.run(ac.signal);
  t.after(async () => {
    ac.abort();
    await done;
  });
  const settle = async (ms = 0) => {
    for (let i = 0; i < 20; i++) {
      clock.step(i === 0 ? ms : 0);
      await new Promise<void>((r) => setImmediate(r));
    }
  };
  await settle();
  return { client, clock, ipt, loop, health, settle };
}

test('the first sync is full; a change rewrites only that service, no sooner than minSyncPeriod', async (t) => {
  const { client, ipt, loop, health, settle } = await setup(t);
  await loop.synced;
  assert.equal(ipt.saves, 2, 'a full sync reads both tables');
  assert.equal(ipt.restores.length, 1);
  assert.match(ipt.restores[0]!, /-I PREROUTING 1 -m comment --comment "kubernetes service portals" -j KUBE-SERVICES/);
  assert.match(ipt.restores[0]!, /default\/db:http cluster IP/);
  assert.ok(health.status().healthy);

  const cur = await client.resource(Resources.endpointslices, 'default').get('web-1');
  await client.resource(Resources.endpointslices, 'default').update({ ...slice('web', ['10.244.0.2']), metadata: cur.metadata });
  await settle();
  assert.equal(ipt.restores.length, 1, 'held back by minSyncPeriod');
  await settle(1_000);
  assert.equal(ipt.restores.length, 2);
  const partial = ipt.restores[1]!;
  assert.doesNotMatch(partial, /\*filter/);
  assert.doesNotMatch(partial, /default\/db/);
  assert.match(partial, /:KUBE-SVC-\w+ - \[0:0\]/);
  assert.match(partial, /-X KUBE-SEP-\w+/);
  assert.equal(ipt.saves, 2, 'a partial sync reads nothing');
});

test('a failed restore is retried as a full sync; the periodic resync is full', async (t) => {
  const { client, ipt, loop, settle } = await setup(t);
  await loop.synced;
  ipt.fail = true;
  await client.resource(Resources.services, 'default').delete('db');
  await settle(1_000);
  assert.equal(ipt.restores.length, 1);
  ipt.fail = false;
  await settle(1_000);
  assert.equal(ipt.restores.length, 2);
  assert.equal(ipt.saves, 4, 'the retry after a failed partial sync is full');
  assert.match(ipt.restores[1]!, /\*filter/);
  await settle(30_000);
  assert.equal(ipt.saves, 6);
});

test('health turns 503-worthy when a queued change waits past the timeout', async (t) => {
  const { client, clock, ipt, loop, health, settle } = await setup(t);
  await loop.synced;
  ipt.fail = true;
  await client.resource(Resources.services, 'default').delete('db');
  await settle(1_000);
  assert.ok(health.status().healthy);
  clock.step(61_000);
  assert.equal(health.status().healthy, false);
  const body = JSON.parse(health.body(true)) as Record<string, unknown>;
  assert.equal(body.nodeName, 'node-1');
  assert.equal(body.nodeEligible, true);
});
