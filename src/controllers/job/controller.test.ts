import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newUID, type KObject } from '../../apimachinery/meta.js';
import { FakeClient } from '../../client/fake.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources, type EventRecorder, type GroupVersionResource } from '../../client/interface.js';
import type { Pod } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { JOB_TRACKING_FINALIZER, JobController, podGenerateNameWithIndex, type JobObject } from './controller.js';
import { formatIndexes, matchSuccessPolicy, parseIndexes } from './indexes.js';

const NS = 'default';

interface Recorded {
  type: string;
  reason: string;
  message: string;
}

function newJob(name: string, spec: Partial<NonNullable<JobObject['spec']>> = {}): JobObject {
  const uid = newUID();
  const labels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': name, 'controller-uid': uid, 'job-name': name };
  return {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name, namespace: NS, uid, generation: 1, labels },
    spec: {
      completions: 1, parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false, manualSelector: false,
      podReplacementPolicy: 'TerminatingOrFailed',
      selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
      template: { metadata: { labels }, spec: { restartPolicy: 'Never', containers: [{ name: 'c', image: 'busybox' }] } },
      ...spec,
    },
  };
}

/** Lets pending I/O and microtasks run; no timers are involved. */
function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function setup(t: { after(fn: () => void): void }, ...jobs: JobObject[]) {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  client.seed(Resources.jobs, ...jobs);
  const informers = newInformerFactory({ client, clock });
  const events: Recorded[] = [];
  const recorder: EventRecorder = { event: (_obj, type, reason, message) => events.push({ type, reason, message }) };
  const ctl = new JobController({
    client,
    podInformer: informers.forResource<Pod>(Resources.pods),
    jobInformer: informers.forResource<JobObject>(Resources.jobs),
    recorder, clock, logger: silentLogger(),
    queue: newWorkQueue<string>({ name: 'job', clock }),
    orphanQueue: newWorkQueue<string>({ name: 'job_orphan_pod', clock }),
    syncBatchPeriodMs: 0,
  });
  const ac = new AbortController();
  setMaxListeners(50, ac.signal);
  t.after(() => ac.abort());
  informers.start(ac.signal);

  /** Runs the event loop until both caches show exactly what the fake stores. */
  const caughtUp = async (): Promise<void> => {
    const same = (gvr: GroupVersionResource) => {
      const stored = [...client.store(gvr).values()];
      const lister = informers.forResource<KObject>(gvr).lister;
      return lister.list().length === stored.length &&
        stored.every((o) => lister.get(`${o.metadata!.namespace}/${o.metadata!.name}`)?.metadata?.resourceVersion === o.metadata!.resourceVersion);
    };
    for (let i = 0; i < 5000; i++) {
      if (informers.forResource(Resources.pods).hasSynced() && informers.forResource(Resources.jobs).hasSynced() &&
        same(Resources.pods) && same(Resources.jobs)) return;
      await tick();
    }
    assert.fail('informer caches never caught up');
  };
  const sync = async (name: string): Promise<void> => {
    await caughtUp();
    await ctl.sync(`${NS}/${name}`);
    await caughtUp();
  };
  const getJob = (name: string) => client.resource<JobObject>(Resources.jobs, NS).get(name);
  const pods = async () => (await client.resource<Pod>(Resources.pods, NS).list()).items;
  const setPhase = async (pod: Pod, phase: 'Pending' | 'Running' | 'Succeeded' | 'Failed') => {
    const cur = await client.resource<Pod>(Resources.pods, NS).get(pod.metadata!.name!);
    await client.resource<Pod>(Resources.pods, NS).updateStatus({ ...cur, status: { ...cur.status, phase } });
  };
  return { clock, client, ctl, events, sync, caughtUp, getJob, pods, setPhase };
}

const types = (job: JobObject) => (job.status?.conditions ?? []).map((c) => `${c.type}=${c.status}`);

test('job: creates pods up to parallelism, never more than the remaining completions', async (t) => {
  for (const tc of [
    { name: 'parallel', completions: 5, parallelism: 2, want: 2 },
    { name: 'few-left', completions: 1, parallelism: 3, want: 1 },
    { name: 'work-queue', completions: null, parallelism: 3, want: 3 },
  ]) {
    const env = setup(t, newJob(tc.name, { completions: tc.completions, parallelism: tc.parallelism }));
    await env.sync(tc.name);
    const pods = await env.pods();
    assert.equal(pods.length, tc.want, tc.name);
    for (const p of pods) {
      assert.deepEqual(p.metadata?.finalizers, [JOB_TRACKING_FINALIZER]);
      assert.equal(p.metadata?.ownerReferences?.[0]?.kind, 'Job');
      assert.equal(p.metadata?.ownerReferences?.[0]?.controller, true);
      assert.equal(p.metadata?.labels?.['job-name'], tc.name);
      assert.ok(p.metadata?.name?.startsWith(`${tc.name}-`));
    }
    const job = await env.getJob(tc.name);
    assert.equal(job.status?.active, tc.want);
    assert.equal(job.status?.ready, 0);
    assert.equal(job.status?.terminating, 0);
    assert.ok(job.status?.startTime);
    assert.deepEqual(env.events.map((e) => e.reason), Array(tc.want).fill('SuccessfulCreate'));
    assert.match(env.events[0]!.message, new RegExp(`^Created pod: ${tc.name}-`));
  }
});

test('job: a succeeded pod is counted once, its finalizer removed; SuccessCriteriaMet then Complete', async (t) => {
  const env = setup(t, newJob('pi'));
  await env.sync('pi');
  const [pod] = await env.pods();
  await env.setPhase(pod!, 'Succeeded');
  await env.sync('pi');
  const job = await env.getJob('pi');
  assert.equal(job.status?.succeeded, 1);
  assert.equal(job.status?.active, undefined);
  assert.deepEqual(job.status?.uncountedTerminatedPods, {});
  assert.deepEqual(types(job), ['SuccessCriteriaMet=True', 'Complete=True']);
  const complete = job.status!.conditions![1]!;
  assert.deepEqual([complete.reason, complete.message], ['CompletionsReached', 'Reached expected number of succeeded pods']);
  assert.equal(job.status?.completionTime, complete.lastTransitionTime);
  assert.deepEqual((await env.pods())[0]!.metadata?.finalizers ?? [], []);
  assert.deepEqual(env.events.map((e) => e.reason), ['SuccessfulCreate', 'Completed']);
  assert.equal(env.events[1]!.message, 'Job completed');
  // Level-triggered: another sync of the finished Job changes nothing.
  const rv = job.metadata?.resourceVersion;
  await env.sync('pi');
  assert.equal((await env.getJob('pi')).metadata?.resourceVersion, rv);
});

test('job: failures past backoffLimit fail the Job with BackoffLimitExceeded (FailureTarget first)', async (t) => {
  const env = setup(t, newJob('flaky', { backoffLimit: 1 }));
  await env.sync('flaky');
  await env.setPhase((await env.pods())[0]!, 'Failed');
  await env.sync('flaky');
  let job = await env.getJob('flaky');
  assert.equal(job.status?.failed, 1);
  // The replacement waits for the pod failure backoff (10 s after the first failure).
  assert.equal((await env.pods()).length, 1);
  env.clock.step(10_000);
  await env.sync('flaky');
  const pods = await env.pods();
  assert.equal(pods.length, 2);
  await env.setPhase(pods.find((p) => p.status?.phase !== 'Failed')!, 'Failed');
  await env.sync('flaky');
  job = await env.getJob('flaky');
  assert.equal(job.status?.failed, 2);
  assert.deepEqual(types(job), ['FailureTarget=True', 'Failed=True']);
  const failed = job.status!.conditions![1]!;
  assert.deepEqual([failed.reason, failed.message], ['BackoffLimitExceeded', 'Job has reached the specified backoff limit']);
  assert.equal(job.status?.completionTime, undefined);
  const warning = env.events.find((e) => e.type === 'Warning');
  assert.deepEqual(warning, { type: 'Warning', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' });
});

test('job: activeDeadlineSeconds deletes the active pods and fails the Job with DeadlineExceeded', async (t) => {
  const env = setup(t, newJob('slow', { activeDeadlineSeconds: 30 }));
  await env.sync('slow');
  await env.setPhase((await env.pods())[0]!, 'Running');
  env.clock.step(31_000);
  await env.sync('slow');
  let job = await env.getJob('slow');
  assert.deepEqual(types(job), ['FailureTarget=True']);
  assert.equal(job.status?.terminating, 1);
  assert.ok(env.events.some((e) => e.reason === 'SuccessfulDelete'));
  // The pod is gone once its finalizer was removed; the next sync finishes the Job.
  assert.equal((await env.pods()).length, 0);
  await env.sync('slow');
  job = await env.getJob('slow');
  assert.deepEqual(types(job), ['FailureTarget=True', 'Failed=True']);
  assert.equal(job.status!.conditions![1]!.reason, 'DeadlineExceeded');
  assert.equal(job.status!.conditions![1]!.message, 'Job was active longer than specified deadline');
  assert.equal(job.status?.failed, 1);
  assert.equal(job.status?.terminating, 0);
});

test('job: Indexed completion mode gives each pod its index, hostname and env, and tracks completedIndexes', async (t) => {
  const env = setup(t, newJob('idx', { completions: 3, parallelism: 2, completionMode: 'Indexed' }));
  await env.sync('idx');
  let pods = await env.pods();
  assert.deepEqual(pods.map((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-completion-index']).sort(), ['0', '1']);
  for (const p of pods) {
    const ix = p.metadata!.annotations!['batch.kubernetes.io/job-completion-index']!;
    assert.equal(p.metadata?.labels?.['batch.kubernetes.io/job-completion-index'], ix);
    assert.equal(p.spec?.hostname, `idx-${ix}`);
    assert.ok(p.metadata?.name?.startsWith(`idx-${ix}-`));
    assert.deepEqual(p.spec?.containers[0]?.env, [{
      name: 'JOB_COMPLETION_INDEX',
      valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } },
    }]);
  }
  await env.setPhase(pods.find((p) => p.spec?.hostname === 'idx-1')!, 'Succeeded');
  await env.sync('idx');
  let job = await env.getJob('idx');
  assert.equal(job.status?.completedIndexes, '1');
  assert.equal(job.status?.succeeded, 1);
  pods = await env.pods();
  assert.ok(pods.some((p) => p.spec?.hostname === 'idx-2'), 'index 2 is started next');
  for (const p of pods.filter((x) => x.status?.phase !== 'Succeeded')) await env.setPhase(p, 'Succeeded');
  await env.sync('idx');
  job = await env.getJob('idx');
  assert.equal(job.status?.completedIndexes, '0-2');
  assert.deepEqual(types(job), ['SuccessCriteriaMet=True', 'Complete=True']);
});

test('job: suspend deletes active pods and sets Suspended; resume restarts them', async (t) => {
  const env = setup(t, newJob('sus', { suspend: true }));
  await env.sync('sus');
  let job = await env.getJob('sus');
  assert.equal((await env.pods()).length, 0);
  assert.equal(job.status?.startTime, undefined);
  assert.deepEqual(types(job), ['Suspended=True']);
  assert.equal(job.status!.conditions![0]!.reason, 'JobSuspended');
  await env.client.resource<JobObject>(Resources.jobs, NS).update({ ...job, spec: { ...job.spec, suspend: false } });
  await env.sync('sus');
  job = await env.getJob('sus');
  assert.equal((await env.pods()).length, 1);
  assert.deepEqual(types(job), ['Suspended=False']);
  assert.equal(job.status!.conditions![0]!.reason, 'JobResumed');
  assert.ok(job.status?.startTime);
  assert.deepEqual(env.events.map((e) => e.reason), ['Suspended', 'SuccessfulCreate', 'Resumed']);
});

test('job: adopts a matching orphan pod (with the tracking finalizer) and counts it', async (t) => {
  const job = newJob('adopt');
  const env = setup(t, job);
  const orphan: Pod = {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name: 'stray', namespace: NS, labels: { ...job.spec!.template!.metadata!.labels } },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  };
  await env.client.resource<Pod>(Resources.pods, NS).create(orphan);
  await env.sync('adopt');
  const pods = await env.pods();
  assert.equal(pods.length, 1, 'no new pod: the orphan counts');
  assert.equal(pods[0]!.metadata?.ownerReferences?.[0]?.uid, job.metadata?.uid);
  assert.ok(pods[0]!.metadata?.finalizers?.includes(JOB_TRACKING_FINALIZER));
  assert.equal((await env.getJob('adopt')).status?.active, 1);
});

test('job: the finalizer of an orphaned pod is removed', async (t) => {
  const env = setup(t);
  await env.client.resource<Pod>(Resources.pods, NS).create({
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'left', namespace: NS, finalizers: [JOB_TRACKING_FINALIZER] },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
  });
  await env.caughtUp();
  await env.ctl.syncOrphanPod(`${NS}/left`);
  assert.deepEqual((await env.pods())[0]!.metadata?.finalizers ?? [], []);
});

test('job: podFailurePolicy — FailJob fails at once, Ignore does not count', async (t) => {
  const policy = {
    rules: [
      { action: 'FailJob', onExitCodes: { operator: 'In', values: [42] } },
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] },
    ],
  };
  for (const tc of [
    {
      name: 'failjob', status: { containerStatuses: [{ name: 'c', image: 'busybox', imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 42 } } }] },
      conditions: ['FailureTarget=True', 'Failed=True'], failed: 1,
    },
    { name: 'ignored', status: { conditions: [{ type: 'DisruptionTarget', status: 'True' }] }, conditions: [], failed: undefined },
  ]) {
    const env = setup(t, newJob(tc.name, { podFailurePolicy: policy, podReplacementPolicy: 'Failed' }));
    await env.sync(tc.name);
    const [pod] = await env.pods();
    await env.client.resource<Pod>(Resources.pods, NS).updateStatus({ ...pod!, status: { phase: 'Failed', ...tc.status } as Pod['status'] });
    await env.sync(tc.name);
    await env.sync(tc.name);
    const job = await env.getJob(tc.name);
    assert.deepEqual(types(job), tc.conditions, tc.name);
    assert.equal(job.status?.failed, tc.failed, tc.name);
    if (tc.name === 'failjob') {
      assert.equal(job.status!.conditions![1]!.reason, 'PodFailurePolicy');
      assert.equal(job.status!.conditions![1]!.message, `Container c for pod default/${pod!.metadata!.name} failed with exit code 42 matching FailJob rule at index 0`);
    } else {
      // Replaced after the usual pod failure backoff, without counting against backoffLimit.
      env.clock.step(10_000);
      await env.sync(tc.name);
      assert.equal((await env.pods()).length, 2);
      assert.equal((await env.getJob(tc.name)).status?.failed, undefined);
    }
  }
});

test('job: an Indexed Job\'s successPolicy completes it early and deletes the rest', async (t) => {
  const env = setup(t, newJob('leader', {
    completions: 3, parallelism: 3, completionMode: 'Indexed', successPolicy: { rules: [{ succeededIndexes: '0' }] },
  }));
  await env.sync('leader');
  const pods = await env.pods();
  assert.equal(pods.length, 3);
  await env.setPhase(pods.find((p) => p.spec?.hostname === 'leader-0')!, 'Succeeded');
  await env.sync('leader');
  let job = await env.getJob('leader');
  assert.deepEqual(types(job), ['SuccessCriteriaMet=True']);
  assert.deepEqual([job.status!.conditions![0]!.reason, job.status!.conditions![0]!.message], ['SuccessPolicy', 'Matched rules at index 0']);
  assert.equal((await env.pods()).length, 1, 'the other indexes were deleted (their finalizers removed)');
  await env.sync('leader');
  job = await env.getJob('leader');
  assert.deepEqual(types(job), ['SuccessCriteriaMet=True', 'Complete=True']);
  assert.equal(job.status?.failed, undefined, 'pods deleted after success are not failures');
  assert.equal(job.status?.completedIndexes, '0');
});

test('indexes: successPolicy rules', () => {
  const done = new Set([0, 2, 3]);
  for (const tc of [
    { rules: [{ succeededIndexes: '0' }], want: 'Matched rules at index 0' },
    { rules: [{ succeededIndexes: '0-1' }], want: undefined },
    { rules: [{ succeededIndexes: '0-1' }, { succeededIndexes: '1-3', succeededCount: 2 }], want: 'Matched rules at index 1' },
    { rules: [{ succeededCount: 3 }], want: 'Matched rules at index 0' },
    { rules: [{ succeededCount: 4 }], want: undefined },
  ]) {
    assert.equal(matchSuccessPolicy({ rules: tc.rules }, 5, done), tc.want, JSON.stringify(tc.rules));
  }
});

test('job: backoffLimitPerIndex retries each index on its own and fails the Job with FailedIndexes', async (t) => {
  const env = setup(t, newJob('per', {
    completions: 2, parallelism: 2, completionMode: 'Indexed', backoffLimitPerIndex: 1, backoffLimit: 2147483647,
  }));
  const podOf = async (ix: number, phase?: string) => (await env.pods()).find((p) =>
    p.spec?.hostname === `per-${ix}` && (phase === undefined ? p.status?.phase !== 'Failed' : p.status?.phase === phase));
  await env.sync('per');
  assert.deepEqual((await env.pods()).map((p) => p.metadata?.annotations?.['batch.kubernetes.io/job-index-failure-count']), ['0', '0']);
  const first = (await podOf(0))!;
  await env.setPhase(first, 'Failed');
  await env.sync('per');
  // The index waits out its backoff; its failed pod keeps the finalizer meanwhile.
  assert.equal((await env.pods()).length, 2);
  assert.deepEqual((await env.client.resource<Pod>(Resources.pods, NS).get(first.metadata!.name!)).metadata?.finalizers, [JOB_TRACKING_FINALIZER]);
  env.clock.step(10_000);
  await env.sync('per');
  const retry = (await podOf(0))!;
  assert.equal(retry.metadata?.annotations?.['batch.kubernetes.io/job-index-failure-count'], '1');
  await env.sync('per');
  assert.deepEqual((await env.client.resource<Pod>(Resources.pods, NS).get(first.metadata!.name!)).metadata?.finalizers ?? [], []);
  await env.setPhase(retry, 'Failed');
  await env.sync('per');
  let job = await env.getJob('per');
  assert.equal(job.status?.failedIndexes, '0');
  assert.deepEqual(types(job), [], 'index 1 still runs');
  await env.setPhase((await podOf(1))!, 'Succeeded');
  await env.sync('per');
  await env.sync('per');
  job = await env.getJob('per');
  assert.deepEqual(types(job), ['FailureTarget=True', 'Failed=True']);
  assert.deepEqual([job.status!.conditions![1]!.reason, job.status!.conditions![1]!.message], ['FailedIndexes', 'Job has failed indexes']);
  assert.deepEqual([job.status?.completedIndexes, job.status?.failedIndexes, job.status?.failed, job.status?.succeeded], ['1', '0', 2, 1]);
});

test('job: Indexed pods are named <job>-<index>-, the job name cut to fit', () => {
  assert.equal(podGenerateNameWithIndex('idx', 7), 'idx-7-');
  const long = 'j'.repeat(60);
  assert.equal(podGenerateNameWithIndex(long, 12), `${'j'.repeat(54)}-12-`);
});

test('indexes: interval form of completedIndexes', () => {
  for (const tc of [
    { in: [] as number[], out: '' },
    { in: [0, 1, 2, 5], out: '0-2,5' },
    { in: [7, 3, 4], out: '3-4,7' },
  ]) {
    assert.equal(formatIndexes(tc.in), tc.out);
    assert.deepEqual([...parseIndexes(tc.out, 10)].sort((a, b) => a - b), [...tc.in].sort((a, b) => a - b));
  }
  assert.deepEqual([...parseIndexes('0-4', 3)], [0, 1, 2], 'indexes beyond completions are dropped');
});
