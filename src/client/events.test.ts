import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newInternalError } from '../apimachinery/errors.js';
import type { KObject } from '../apimachinery/meta.js';
import { FakeClock } from '../util/clock.js';
import { EVENT_AGGREGATION_WINDOW_MS, newEventRecorder } from './events.js';
import { FakeClient } from './fake.js';
import { Resources, type Client } from './interface.js';
import type { Event } from './objects.js';

const pod: KObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'prod', uid: 'u-1', resourceVersion: '7' } };
const node: KObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'u-n1', resourceVersion: '3' } };

async function until(cond: () => boolean | Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await cond()) return;
    await new Promise<void>((r) => setImmediate(r));
  }
  assert.fail(`timed out waiting for ${what}`);
}

function setup() {
  const clock = new FakeClock(Date.UTC(2026, 0, 1, 0, 0, 0));
  const client = new FakeClient({ clock });
  const recorder = newEventRecorder({ client, component: 'default-scheduler', clock });
  const events = async (ns?: string) => (await client.resource<Event>(Resources.events, ns).list()).items;
  return { clock, client, recorder, events };
}

test('an event names the object, its source and times; cluster-scoped objects go to default', async () => {
  const { clock, recorder, events } = setup();
  recorder.event(pod, 'Normal', 'Scheduled', 'Successfully assigned prod/web-1 to n1');
  recorder.event(node, 'Warning', 'NodeNotReady', 'Node n1 status is now: NodeNotReady');
  await until(async () => (await events()).length === 2, 'two events');
  const [e] = await events('prod');
  const ns = BigInt(clock.now()) * 1_000_000n;
  assert.equal(e!.metadata.name, `web-1.${ns.toString(16)}`);
  assert.match(e!.metadata.name!, /^web-1\.[0-9a-f]{16}$/);
  assert.deepEqual(e!.involvedObject, { apiVersion: 'v1', kind: 'Pod', name: 'web-1', namespace: 'prod', uid: 'u-1', resourceVersion: '7' });
  assert.equal(e!.reason, 'Scheduled');
  assert.equal(e!.message, 'Successfully assigned prod/web-1 to n1');
  assert.equal(e!.type, 'Normal');
  assert.deepEqual(e!.source, { component: 'default-scheduler' });
  assert.equal(e!.reportingComponent, 'default-scheduler');
  assert.equal(e!.firstTimestamp, '2026-01-01T00:00:00Z');
  assert.equal(e!.lastTimestamp, '2026-01-01T00:00:00Z');
  assert.equal(e!.count, 1);
  const [n] = await events('default');
  assert.equal(n!.involvedObject.kind, 'Node');
  assert.match(n!.metadata.name!, /^n1\./);
});

test('repeats within 10 minutes bump count and lastTimestamp; later ones create a new event', async () => {
  const { clock, client, recorder, events } = setup();
  recorder.event(pod, 'Warning', 'FailedScheduling', '0/3 nodes are available');
  await until(async () => (await events()).length === 1, 'first');
  clock.step(60_000);
  recorder.event(pod, 'Warning', 'FailedScheduling', '0/3 nodes are available');
  clock.step(1_000);
  recorder.event(pod, 'Warning', 'FailedScheduling', '0/3 nodes are available');
  await until(async () => (await events())[0]!.count === 3, 'count 3');
  const [e] = await events();
  assert.equal(e!.firstTimestamp, '2026-01-01T00:00:00Z');
  assert.equal(e!.lastTimestamp, '2026-01-01T00:01:01Z');
  assert.ok(client.actions().some((a) => a.verb === 'patch' && a.gvr.resource === 'events'));

  recorder.event(pod, 'Warning', 'FailedScheduling', 'a different message');
  clock.step(EVENT_AGGREGATION_WINDOW_MS + 1);
  recorder.event(pod, 'Warning', 'FailedScheduling', '0/3 nodes are available');
  await until(async () => (await events()).length === 3, 'new events for a new message and after the window');
});

test('a patch that finds the event gone re-creates it with the count so far', async () => {
  const { recorder, client, events } = setup();
  recorder.event(pod, 'Normal', 'Pulled', 'pulled');
  await until(async () => (await events()).length === 1, 'first');
  const [e] = await events();
  await client.resource(Resources.events, 'prod').delete(e!.metadata.name!);
  recorder.event(pod, 'Normal', 'Pulled', 'pulled');
  await until(async () => (await events()).length === 1, 'recreated');
  assert.equal((await events())[0]!.count, 2);
});

test('failed writes are dropped without throwing', async () => {
  const { recorder, client, events } = setup();
  client.prependReactor('create', 'events', () => ({ error: newInternalError('etcd down') }));
  assert.doesNotThrow(() => recorder.event(pod, 'Normal', 'X', 'y'));
  recorder.event({} as KObject, 'Normal', 'NoName', 'an object without metadata');
  await until(() => client.actions().filter((a) => a.verb === 'create').length === 2, 'attempts');
  assert.equal((await events()).length, 0);
});

test('writes in flight are bounded; excess events are dropped', async () => {
  const clock = new FakeClock();
  let started = 0;
  const releases: (() => void)[] = [];
  const stub = {
    resource: () => ({
      create: () => {
        started++;
        return new Promise((resolve) => releases.push(() => resolve({})));
      },
    }),
    close: async () => undefined,
  } as unknown as Client;
  const recorder = newEventRecorder({ client: stub, component: 'c', clock, maxInFlight: 2, maxQueued: 3 });
  for (let i = 0; i < 10; i++) recorder.event({ metadata: { name: `p${i}`, namespace: 'd', uid: `u${i}` } }, 'Normal', 'R', 'm');
  await until(() => started === 2, 'two in flight');
  for (let i = 0; i < 20 && releases.length > 0; i++) {
    releases.shift()!();
    await new Promise<void>((r) => setImmediate(r));
  }
  assert.equal(started, 5, 'two in flight plus three queued; the other five dropped');
});
