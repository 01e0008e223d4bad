/**
 * The Job and CronJob controllers against a real Flotilla API server, read back with the
 * real kubectl. No kubelet runs: the test stands in for it by moving the pods to
 * Succeeded. The CronJob controller runs on a fake clock (started at the real time), so a
 * minute of schedule passes with one step.
 */
import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../src/apimachinery/meta.js';
import { newEventRecorder } from '../../src/client/events.js';
import { newInformerFactory } from '../../src/client/informer.js';
import { Resources } from '../../src/client/interface.js';
import type { Pod } from '../../src/client/objects.js';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { newWorkQueue } from '../../src/client/workqueue.js';
import { CronJobController, type ChildJob, type CronJobObject } from '../../src/controllers/cronjob/index.js';
import { JOB_TRACKING_FINALIZER, JobController, type JobObject } from '../../src/controllers/job/index.js';
import { FakeClock, realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { backends, startBackendApiServer } from '../util/backends.js';

async function eventually<T>(what: string, get: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await get();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

for (const backend of backends) test(`a Job runs to completion and a CronJob starts Jobs on schedule, read with kubectl (${backend.name})`, { skip: backend.skip }, async (t) => {
  // Teardown in a real cluster's order (after hooks run first-registered first): the
  // controllers stop, then their client, then the API server.
  const ac = new AbortController();
  setMaxListeners(50, ac.signal);
  let running: Promise<unknown> = Promise.resolve();
  let closeClient: () => Promise<void> = async () => {};
  t.after(async () => {
    ac.abort();
    await running;
    await closeClient();
  });
  const api = await startBackendApiServer(t, backend);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'batch-test/v0.0.0');
  closeClient = () => client.close();
  const informers = newInformerFactory({ client, clock: realClock });
  const logger = silentLogger();
  const cronClock = new FakeClock(Math.floor(Date.now() / 1000) * 1000);
  const jobs = new JobController({
    client,
    podInformer: informers.forResource<Pod>(Resources.pods),
    jobInformer: informers.forResource<JobObject>(Resources.jobs),
    recorder: newEventRecorder({ client, component: 'job-controller', clock: realClock, logger }),
    clock: realClock,
    logger,
    queue: newWorkQueue<string>({ name: 'job', clock: realClock }),
    orphanQueue: newWorkQueue<string>({ name: 'job_orphan_pod', clock: realClock }),
    workers: 2,
    syncBatchPeriodMs: 100,
  });
  const cronJobs = new CronJobController({
    client,
    jobInformer: informers.forResource<ChildJob>(Resources.jobs),
    cronJobInformer: informers.forResource<CronJobObject>(Resources.cronjobs),
    recorder: newEventRecorder({ client, component: 'cronjob-controller', clock: realClock, logger }),
    clock: cronClock,
    logger,
    queue: newWorkQueue<string>({ name: 'cronjob', clock: cronClock }),
    workers: 1,
  });
  informers.start(ac.signal);
  running = Promise.all([jobs.run(ac.signal), cronJobs.run(ac.signal)]);
  await informers.waitForCacheSync(ac.signal);

  const pods = client.resource<Pod & KObject>(Resources.pods, 'default');
  /** The kubelet's part: every pending pod of `job` ends Succeeded. */
  const succeedPods = async (job: string): Promise<number> => {
    let n = 0;
    for (const p of (await pods.list({ labelSelector: `batch.kubernetes.io/job-name=${job}` })).items) {
      if (p.status?.phase === 'Succeeded') continue;
      await pods.updateStatus({ ...p, status: { ...p.status, phase: 'Succeeded' } });
      n++;
    }
    return n;
  };

  // ---- a Job ---------------------------------------------------------------------------
  await api.ok(['create', 'job', 'pi', '--image=busybox']);
  const pod = await eventually('the Job\'s pod', async () => (await pods.list({ labelSelector: 'job-name=pi' })).items[0]);
  assert.ok(pod.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER));
  assert.equal(pod.metadata?.ownerReferences?.[0]?.kind, 'Job');
  assert.match(await api.ok(['get', 'jobs']), /^pi\s+Running\s+0\/1\s+/m);
  await succeedPods('pi');
  await eventually('the Job to complete', async () => /^pi\s+Complete\s+1\/1\s+\d+s\s+\d+s$/m.test(await api.ok(['get', 'jobs'])));
  const job = JSON.parse(await api.ok(['get', 'job', 'pi', '-o', 'json']));
  assert.deepEqual(job.status.conditions.map((c: { type: string }) => c.type), ['SuccessCriteriaMet', 'Complete']);
  assert.equal(job.status.succeeded, 1);
  assert.ok(job.status.completionTime);
  const finalizers = await eventually('the finalizer to go', async () => {
    const p = await pods.get(pod.metadata!.name!);
    return p.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER) ? undefined : p.metadata?.finalizers ?? [];
  });
  assert.deepEqual(finalizers, []);
  const events = await eventually('the Job\'s events', async () => {
    const out = await api.ok(['get', 'events', '--field-selector', 'involvedObject.name=pi', '-o', 'jsonpath={.items[*].reason}']);
    return /Completed/.test(out) ? out : undefined;
  });
  assert.match(events, /SuccessfulCreate/);

  // ---- a CronJob -----------------------------------------------------------------------
  await api.ok(['create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/1 * * * *']);
  assert.match(await api.ok(['get', 'cronjobs']), /^tick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+/m);
  // The controller's clock moves to just past the first schedule time after the CronJob's
  // creation: the next whole minute. (Stepping a fixed minute from the clock's start is not
  // enough: the Job above took seconds of real time, and when a minute boundary fell in
  // them the schedule time lay more than a minute past the fake clock.)
  // Its first sync asks to be woken at that minute: a timer on the controller's clock.
  const cronCreated = Date.parse((await client.resource<CronJobObject>(Resources.cronjobs, 'default').get('tick')).metadata!.creationTimestamp!);
  const firstSchedule = (Math.floor(cronCreated / 60_000) + 1) * 60_000;
  await eventually('the CronJob to be synced once', async () => cronClock.pending() > 0 || undefined);
  cronClock.step(firstSchedule + 1_000 - cronClock.now());
  const created = await eventually('a Job from the CronJob', async () =>
    (await client.resource<ChildJob>(Resources.jobs, 'default').list()).items.find((j) => j.metadata?.name?.startsWith('tick-')));
  assert.match(created.metadata!.name!, /^tick-\d+$/);
  assert.equal(created.metadata?.ownerReferences?.[0]?.kind, 'CronJob');
  // LAST SCHEDULE is a minute ahead of the API server's clock here, which kubectl shows as <invalid>.
  assert.match(await api.ok(['get', 'cronjobs']), /^tick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+1\s+\S+\s+\d+s$/m);
  // Its pod succeeds; the CronJob sees the Job complete and drops it from status.active.
  await eventually('the scheduled Job\'s pod', async () => (await succeedPods(created.metadata!.name!)) > 0 || undefined);
  await eventually('the scheduled Job to complete', async () => {
    const out = await api.ok(['get', 'jobs', created.metadata!.name!]);
    return /\sComplete\s+1\/1\s/.test(out) || undefined;
  });
  await eventually('the CronJob to see it complete', async () => {
    const cj = await client.resource<CronJobObject>(Resources.cronjobs, 'default').get('tick');
    return (cj.status?.active?.length ?? 0) === 0 && cj.status?.lastScheduleTime ? cj : undefined;
  });
});
