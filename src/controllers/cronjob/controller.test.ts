import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newUID, type KObject } from '../../apimachinery/meta.js';
import { parseStandard } from '../../api/batch/v1/cron.js';
import { FakeClient } from '../../client/fake.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources, type EventRecorder, type GroupVersionResource } from '../../client/interface.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import {
  CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION, CronJobController, mostRecentScheduleTime, type ChildJob, type CronJobObject,
} from './controller.js';

const NS = 'default';
const T0 = Date.UTC(2026, 0, 1); // the FakeClock's start: 2026-01-01T00:00:00Z

interface Recorded {
  type: string;
  reason: string;
  message: string;
}

function newCronJob(name: string, spec: Partial<NonNullable<CronJobObject['spec']>> = {}): CronJobObject {
  return {
    apiVersion: 'batch/v1', kind: 'CronJob',
    metadata: { name, namespace: NS, uid: newUID(), creationTimestamp: new Date(T0).toISOString().replace('.000', '') },
    spec: {
      schedule: '*/1 * * * *', concurrencyPolicy: 'Allow', suspend: false, successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 1,
      jobTemplate: {
        metadata: { labels: { app: name } },
        spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'c', image: 'busybox' }] } } },
      },
      ...spec,
    },
  };
}

function childJob(cj: CronJobObject, name: string, status: ChildJob['status'] = {}): ChildJob {
  return {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: {
      name, namespace: NS, uid: newUID(),
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata!.name!, uid: cj.metadata!.uid!, controller: true }],
    },
    spec: {},
    status,
  };
}

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function setup(t: { after(fn: () => void): void }, cronJobs: CronJobObject[], seedJobs: ChildJob[] = []) {
  const clock = new FakeClock(T0);
  const client = new FakeClient({ clock });
  client.seed(Resources.cronjobs, ...cronJobs);
  client.seed(Resources.jobs, ...seedJobs);
  const informers = newInformerFactory({ client, clock });
  const events: Recorded[] = [];
  const recorder: EventRecorder = { event: (_obj, type, reason, message) => events.push({ type, reason, message }) };
  const ctl = new CronJobController({
    client,
    jobInformer: informers.forResource<ChildJob>(Resources.jobs),
    cronJobInformer: informers.forResource<CronJobObject>(Resources.cronjobs),
    recorder, clock, logger: silentLogger(),
    queue: newWorkQueue<string>({ name: 'cronjob', clock }),
  });
  const ac = new AbortController();
  setMaxListeners(50, ac.signal);
  t.after(() => ac.abort());
  informers.start(ac.signal);
  const caughtUp = async (): Promise<void> => {
    const same = (gvr: GroupVersionResource) => {
      const stored = [...client.store(gvr).values()];
      const lister = informers.forResource<KObject>(gvr).lister;
      return informers.forResource(gvr).hasSynced() && lister.list().length === stored.length &&
        stored.every((o) => lister.get(`${o.metadata!.namespace}/${o.metadata!.name}`)?.metadata?.resourceVersion === o.metadata!.resourceVersion);
    };
    for (let i = 0; i < 5000; i++) {
      if (same(Resources.jobs) && same(Resources.cronjobs)) return;
      await tick();
    }
    assert.fail('informer caches never caught up');
  };
  const sync = async (name: string): Promise<number | undefined> => {
    await caughtUp();
    const after = await ctl.sync(`${NS}/${name}`);
    await caughtUp();
    return after;
  };
  const getCJ = (name: string) => client.resource<CronJobObject>(Resources.cronjobs, NS).get(name);
  const jobs = async () => (await client.resource<ChildJob>(Resources.jobs, NS).list()).items;
  return { clock, client, ctl, events, sync, getCJ, jobs };
}

test('cronjob: creates <name>-<minutes since epoch> at the schedule time and requeues for the next', async (t) => {
  const env = setup(t, [newCronJob('tick')]);
  env.clock.step(30_000);
  assert.equal(await env.sync('tick'), 30_100, 'wakes 100 ms after the next minute');
  assert.equal((await env.jobs()).length, 0);
  env.clock.step(30_100);
  assert.equal(await env.sync('tick'), 60_000);
  const [job] = await env.jobs();
  const minutes = (T0 + 60_000) / 60_000;
  assert.equal(job!.metadata?.name, `tick-${minutes}`);
  assert.deepEqual(job!.metadata?.labels, { app: 'tick' });
  assert.equal(job!.metadata?.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION], '2026-01-01T00:01:00Z');
  assert.equal(job!.metadata?.ownerReferences?.[0]?.kind, 'CronJob');
  assert.equal((job!.spec as { template: { spec: { restartPolicy: string } } }).template.spec.restartPolicy, 'OnFailure');
  const cj = await env.getCJ('tick');
  assert.equal(cj.status?.lastScheduleTime, '2026-01-01T00:01:00Z');
  assert.deepEqual(cj.status?.active?.map((r) => [r.kind, r.name, r.uid]), [['Job', `tick-${minutes}`, job!.metadata?.uid]]);
  assert.deepEqual(env.events, [{ type: 'Normal', reason: 'SuccessfulCreate', message: `Created job tick-${minutes}` }]);
  // The same schedule time is never started twice.
  await env.sync('tick');
  assert.equal((await env.jobs()).length, 1);
});

test('cronjob: concurrency policies at the next schedule time', async (t) => {
  for (const tc of [
    { policy: 'Allow', jobs: 2, reasons: ['SuccessfulCreate'] },
    { policy: 'Forbid', jobs: 1, reasons: ['JobAlreadyActive'] },
    { policy: 'Replace', jobs: 1, reasons: ['SuccessfulDelete', 'SuccessfulCreate'] },
  ]) {
    const cj = newCronJob('c', { concurrencyPolicy: tc.policy });
    const running = childJob(cj, `c-${T0 / 60_000}`);
    cj.status = {
      lastScheduleTime: '2026-01-01T00:00:00Z',
      active: [{ kind: 'Job', apiVersion: 'batch/v1', namespace: NS, name: `c-${T0 / 60_000}`, uid: running.metadata!.uid }],
    };
    const env = setup(t, [cj], [running]);
    env.clock.step(60_000);
    await env.sync('c');
    const names = (await env.jobs()).map((j) => j.metadata?.name).sort();
    assert.equal(names.length, tc.jobs, tc.policy);
    assert.deepEqual(env.events.map((e) => e.reason), tc.reasons, tc.policy);
    if (tc.policy === 'Replace') assert.deepEqual(names, [`c-${T0 / 60_000 + 1}`]);
  }
});

test('cronjob: a finished active Job is dropped from status (SawCompletedJob) and sets lastSuccessfulTime', async (t) => {
  const cj = newCronJob('done', { suspend: true });
  const job = childJob(cj, 'done-1', {
    startTime: '2026-01-01T00:00:05Z', completionTime: '2026-01-01T00:00:20Z', conditions: [{ type: 'Complete', status: 'True' }],
  });
  cj.status = { active: [{ kind: 'Job', apiVersion: 'batch/v1', namespace: NS, name: 'done-1', uid: job.metadata!.uid }] };
  const env = setup(t, [cj], [job]);
  assert.equal(await env.sync('done'), undefined, 'suspended: no requeue');
  let got = await env.getCJ('done');
  assert.equal(got.status?.active, undefined);
  assert.deepEqual(env.events, [{ type: 'Normal', reason: 'SawCompletedJob', message: 'Saw completed job: done-1, condition: Complete' }]);
  // As upstream, the succeeded Job counts for lastSuccessfulTime once it is out of the active list.
  await env.sync('done');
  got = await env.getCJ('done');
  assert.equal(got.status?.lastSuccessfulTime, '2026-01-01T00:00:20Z');
});

test('cronjob: history limits delete the oldest finished Jobs', async (t) => {
  const cj = newCronJob('h', { suspend: true, successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 0 });
  const ok = (name: string, start: string) => childJob(cj, name, { startTime: start, completionTime: start, conditions: [{ type: 'Complete', status: 'True' }] });
  const env = setup(t, [cj], [
    ok('h-3', '2026-01-01T00:03:00Z'), ok('h-1', '2026-01-01T00:01:00Z'), ok('h-2', '2026-01-01T00:02:00Z'),
    childJob(cj, 'h-f', { startTime: '2026-01-01T00:00:00Z', conditions: [{ type: 'Failed', status: 'True' }] }),
    childJob(cj, 'h-running', { startTime: '2026-01-01T00:04:00Z' }),
  ]);
  await env.sync('h');
  assert.deepEqual((await env.jobs()).map((j) => j.metadata?.name).sort(), ['h-3', 'h-running']);
  assert.deepEqual(env.events.filter((e) => e.reason === 'SuccessfulDelete').map((e) => e.message), ['Deleted job h-1', 'Deleted job h-2', 'Deleted job h-f']);
  const deletes = env.client.actions().filter((a) => a.verb === 'delete');
  assert.ok(deletes.every((a) => a.propagationPolicy === 'Background'));
});

test('cronjob: startingDeadlineSeconds skips a schedule time missed by too much', async (t) => {
  const cj = newCronJob('late', { schedule: '0 * * * *', startingDeadlineSeconds: 10 });
  const env = setup(t, [cj]);
  env.clock.step(3_600_000 + 60_000); // 01:01, one minute after the 01:00 run
  const after = await env.sync('late');
  assert.equal((await env.jobs()).length, 0);
  assert.deepEqual(env.events, []);
  assert.equal(after, 59 * 60_000 + 100);
  // Within the deadline it starts.
  const cj2 = newCronJob('ontime', { schedule: '0 * * * *', startingDeadlineSeconds: 120 });
  const env2 = setup(t, [cj2]);
  env2.clock.step(3_600_000 + 60_000);
  await env2.sync('ontime');
  assert.equal((await env2.jobs()).length, 1);
});

test('cronjob: spec.timeZone runs the schedule on that zone\'s clock', async (t) => {
  const cj = newCronJob('tokyo', { schedule: '0 9 * * *', timeZone: 'Asia/Tokyo' });
  const env = setup(t, [cj]);
  // 09:00 in Tokyo is 00:00 UTC; the next one after creation (00:00Z) is the next day.
  assert.equal(await env.sync('tokyo'), 24 * 3_600_000 + 100);
  env.clock.step(24 * 3_600_000);
  await env.sync('tokyo');
  const [job] = await env.jobs();
  assert.equal(job!.metadata?.annotations?.[CRONJOB_SCHEDULED_TIMESTAMP_ANNOTATION], '2026-01-02T09:00:00+09:00');
});

test('cronjob: an active Job gone missing is dropped (MissingJob); an unknown running child is reported (UnexpectedJob)', async (t) => {
  const cj = newCronJob('odd', { suspend: true });
  const stranger = childJob(cj, 'odd-manual', { startTime: '2026-01-01T00:00:00Z' });
  cj.status = { active: [{ kind: 'Job', apiVersion: 'batch/v1', namespace: NS, name: 'odd-gone', uid: newUID() }] };
  const env = setup(t, [cj], [stranger]);
  await env.sync('odd');
  assert.deepEqual(env.events, [
    { type: 'Warning', reason: 'UnexpectedJob', message: 'Saw a job that the controller did not create or forgot: odd-manual' },
    { type: 'Normal', reason: 'MissingJob', message: 'Active job went missing: odd-gone' },
  ]);
  assert.equal((await env.getCJ('odd')).status?.active, undefined);
});

test('cronjob: an invalid time zone stops scheduling with UnknownTimeZone', async (t) => {
  const env = setup(t, [newCronJob('tz', { timeZone: 'Mars/Olympus' })]);
  env.clock.step(120_000);
  assert.equal(await env.sync('tz'), undefined);
  assert.equal((await env.jobs()).length, 0);
  assert.deepEqual(env.events, [{ type: 'Warning', reason: 'UnknownTimeZone', message: 'invalid timeZone: "Mars/Olympus": unknown time zone Mars/Olympus' }]);
});

test('cronjob: suspended CronJobs start nothing', async (t) => {
  const env = setup(t, [newCronJob('off', { suspend: true })]);
  env.clock.step(10 * 60_000);
  assert.equal(await env.sync('off'), undefined);
  assert.equal((await env.jobs()).length, 0);
});

test('mostRecentScheduleTime: counts missed times and finds the latest', () => {
  const schedule = parseStandard('*/5 * * * *');
  const cj = newCronJob('m');
  const at = (min: number) => T0 + min * 60_000;
  assert.deepEqual(mostRecentScheduleTime(cj, at(3), schedule, false), { earliest: T0, missed: 'none' });
  assert.deepEqual(mostRecentScheduleTime(cj, at(7), schedule, false), { earliest: T0, mostRecent: at(5), missed: 'none' });
  assert.deepEqual(mostRecentScheduleTime(cj, at(27), schedule, false), { earliest: T0, mostRecent: at(25), missed: 'few' });
  assert.equal(mostRecentScheduleTime(cj, at(5 * 200), schedule, false).missed, 'many');
  assert.throws(() => mostRecentScheduleTime(cj, at(60), parseStandard('0 0 30 2 *'), false), /less than 1 second/);
});
