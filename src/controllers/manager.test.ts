import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClient } from '../client/fake.js';
import { Resources } from '../client/interface.js';
import { FakeClock } from '../util/clock.js';
import { newRegistry } from '../util/health.js';
import { silentLogger } from '../util/log.js';
import { selectControllers, startControllerManager, type ControllerDescriptor } from './manager.js';
import type { ControllerContext } from './types.js';

function known(started: string[] = []): ControllerDescriptor[] {
  const make = (name: string, aliases: string[], disabledByDefault = false): ControllerDescriptor => ({
    name,
    aliases,
    disabledByDefault,
    factory: () => ({ name, run: async () => { started.push(name); } }),
  });
  return [make('replicaset-controller', ['replicaset']), make('deployment-controller', ['deployment']), make('bootstrap-signer-controller', ['bootstrapsigner'], true)];
}

test('--controllers selects as kube-controller-manager does', () => {
  const cases: { spec: string[]; want: string[] }[] = [
    { spec: ['*'], want: ['replicaset-controller', 'deployment-controller'] },
    { spec: ['*', '-deployment'], want: ['replicaset-controller'] },
    { spec: ['*', 'bootstrapsigner'], want: ['replicaset-controller', 'deployment-controller', 'bootstrap-signer-controller'] },
    { spec: ['deployment-controller'], want: ['deployment-controller'] },
    { spec: ['-replicaset-controller', '*'], want: ['deployment-controller'] },
    { spec: [], want: [] },
  ];
  for (const tc of cases) assert.deepEqual(selectControllers(tc.spec, known()).map((d) => d.name), tc.want, tc.spec.join(','));
  assert.throws(() => selectControllers(['*', 'nope'], known()), /"nope" is not in the list of known controllers: replicaset-controller, deployment-controller/);
});

test('without leader election every selected controller runs at once; stop() waits for them', async () => {
  const started: string[] = [];
  const cm = startControllerManager({
    client: new FakeClient(),
    clock: new FakeClock(),
    logger: silentLogger(),
    registry: newRegistry(),
    known: known(started),
    controllers: ['*', '-replicaset'],
  });
  assert.deepEqual(cm.controllers, ['deployment-controller']);
  assert.ok(cm.isLeading(), 'leading without election');
  await cm.stop();
  assert.deepEqual(started, ['deployment-controller']);
});

test('with leader election controllers start only once the kube-system/kube-controller-manager Lease is held', async () => {
  const client = new FakeClient();
  const clock = new FakeClock();
  let ctxSeen: ControllerContext | undefined;
  let running = 0;
  const descriptor: ControllerDescriptor = {
    name: 'x-controller',
    aliases: [],
    factory: (ctx) => {
      ctxSeen = ctx;
      return {
        name: 'x-controller',
        run: (signal) => new Promise<void>((resolve) => { running++; signal.addEventListener('abort', () => { running--; resolve(); }, { once: true }); }),
      };
    },
  };
  // Another holder owns a fresh Lease: this manager waits.
  client.seed(Resources.leases, {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'kube-controller-manager', namespace: 'kube-system' },
    spec: { holderIdentity: 'other', leaseDurationSeconds: 15, renewTime: new Date(clock.now()).toISOString().replace('Z', '000Z') },
  });
  const cm = startControllerManager({ client, clock, logger: silentLogger(), registry: newRegistry(), known: [descriptor], leaderElect: true, identity: 'me' });
  const settle = async () => { for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); };
  await settle();
  assert.equal(cm.isLeading(), false, 'the other holder\'s Lease is fresh');
  assert.equal(running, 0);
  // The other holder stops renewing: after the lease duration this one takes over.
  for (let i = 0; i < 20 && !cm.isLeading(); i++) {
    clock.step(2_000);
    await settle();
  }
  assert.ok(cm.isLeading(), 'took over the expired Lease');
  assert.equal(running, 1);
  assert.equal(ctxSeen?.options.nodeMonitorGracePeriodMs, 40_000, 'upstream defaults');
  const lease = await client.resource<{ spec: { holderIdentity: string } }>(Resources.leases, 'kube-system').get('kube-controller-manager');
  assert.equal(lease.spec.holderIdentity, 'me');
  await cm.stop();
  assert.equal(running, 0);
});
