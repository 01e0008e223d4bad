/**
 * The real kubectl (v1.32) on batch/v1: `kubectl create job` and `create cronjob`
 * (protobuf bodies), the defaults and generated selector a real cluster stores, the
 * server-side tables of `kubectl get jobs,cronjobs`, `kubectl explain job.spec`, and
 * validation errors in upstream's words.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { KUBECTL, startTestApiServer, type TestApiServer } from '../util/kubectl.js';

describe('kubectl on jobs and cronjobs', { skip: !existsSync(KUBECTL) && 'kubectl is not installed' }, () => {
  let api: TestApiServer;
  const hooks: (() => unknown)[] = [];
  before(async () => {
    api = await startTestApiServer({ after: (fn) => { hooks.push(fn); } });
  });
  after(async () => {
    for (const h of hooks.reverse()) await h();
  });

  test('api-resources lists jobs and cronjobs (cj) in the batch group', async () => {
    const out = await api.ok(['api-resources', '--api-group=batch']);
    assert.match(out, /^cronjobs\s+cj\s+batch\/v1\s+true\s+CronJob$/m);
    assert.match(out, /^jobs\s+batch\/v1\s+true\s+Job$/m);
  });

  test('kubectl create job: defaults, generated selector and labels', async () => {
    assert.equal((await api.ok(['create', 'job', 'pi', '--image=busybox'])).trim(), 'job.batch/pi created');
    const job = JSON.parse(await api.ok(['get', 'job', 'pi', '-o', 'json']));
    const uid: string = job.metadata.uid;
    assert.deepEqual(
      {
        completions: job.spec.completions, parallelism: job.spec.parallelism, backoffLimit: job.spec.backoffLimit,
        completionMode: job.spec.completionMode, suspend: job.spec.suspend, manualSelector: job.spec.manualSelector,
        podReplacementPolicy: job.spec.podReplacementPolicy, selector: job.spec.selector,
        restartPolicy: job.spec.template.spec.restartPolicy,
      },
      {
        completions: 1, parallelism: 1, backoffLimit: 6, completionMode: 'NonIndexed', suspend: false, manualSelector: false,
        podReplacementPolicy: 'TerminatingOrFailed', selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } },
        restartPolicy: 'Never',
      },
    );
    const labels = { 'batch.kubernetes.io/controller-uid': uid, 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': uid, 'job-name': 'pi' };
    assert.deepEqual(job.spec.template.metadata.labels, labels);
    assert.deepEqual(job.metadata.labels, labels);
  });

  test('kubectl create cronjob: defaults', async () => {
    const out = await api.ok(['create', 'cronjob', 'tick', '--image=busybox', '--schedule=*/1 * * * *']);
    assert.equal(out.trim(), 'cronjob.batch/tick created');
    const cj = JSON.parse(await api.ok(['get', 'cj', 'tick', '-o', 'json']));
    assert.deepEqual(
      [cj.spec.schedule, cj.spec.concurrencyPolicy, cj.spec.suspend, cj.spec.successfulJobsHistoryLimit, cj.spec.failedJobsHistoryLimit],
      ['*/1 * * * *', 'Allow', false, 3, 1],
    );
    assert.equal(cj.spec.jobTemplate.spec.template.spec.restartPolicy, 'OnFailure');
  });

  test('kubectl get jobs,cronjobs prints the upstream columns', async () => {
    const out = await api.ok(['get', 'jobs,cronjobs']);
    assert.match(out, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE$/m);
    assert.match(out, /^job\.batch\/pi\s+Running\s+0\/1\s+\d+s$/m);
    assert.match(out, /^NAME\s+SCHEDULE\s+TIMEZONE\s+SUSPEND\s+ACTIVE\s+LAST SCHEDULE\s+AGE$/m);
    assert.match(out, /^cronjob\.batch\/tick\s+\*\/1 \* \* \* \*\s+<none>\s+False\s+0\s+<none>\s+\d+s$/m);
    const wide = await api.ok(['get', 'jobs', '-o', 'wide']);
    assert.match(wide, /^NAME\s+STATUS\s+COMPLETIONS\s+DURATION\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$/m);
    assert.match(wide, /^pi\s+Running\s+0\/1\s+\d+s\s+pi\s+busybox\s+batch\.kubernetes\.io\/controller-uid=[0-9a-f-]+$/m);
  });

  test('kubectl get all includes jobs and cronjobs', async () => {
    const out = await api.ok(['get', 'all']);
    assert.match(out, /^job\.batch\/pi\s/m);
    assert.match(out, /^cronjob\.batch\/tick\s/m);
  });

  test('kubectl explain job.spec', async () => {
    const out = await api.ok(['explain', 'job.spec']);
    assert.match(out, /^GROUP:\s+batch$/m);
    assert.match(out, /^KIND:\s+Job$/m);
    assert.match(out, /^FIELD: spec <JobSpec>$/m);
    assert.match(out, /^\s+backoffLimit\s+<integer>$/m);
    assert.match(out, /^\s+template\s+<PodTemplateSpec> -required-$/m);
  });

  test('kubectl create job --from=cronjob, describe, delete', async () => {
    assert.equal((await api.ok(['create', 'job', 'manual', '--from=cronjob/tick'])).trim(), 'job.batch/manual created');
    const job = JSON.parse(await api.ok(['get', 'job', 'manual', '-o', 'json']));
    assert.equal(job.metadata.annotations['cronjob.kubernetes.io/instantiate'], 'manual');
    assert.equal(job.metadata.ownerReferences[0].kind, 'CronJob');
    assert.equal(job.spec.template.spec.restartPolicy, 'OnFailure');
    const described = await api.ok(['describe', 'job', 'pi']);
    assert.match(described, /^Name:\s+pi$/m);
    assert.match(described, /^Completions:\s+1$/m);
    // No controller runs here: status.ready is unset, so kubectl leaves out "(N Ready)".
    assert.match(described, /^Pods Statuses:\s+0 Active \/ 0 Succeeded \/ 0 Failed$/m);
    const cj = await api.ok(['describe', 'cronjob', 'tick']);
    assert.match(cj, /^Schedule:\s+\*\/1 \* \* \* \*$/m);
    assert.match(cj, /^Concurrency Policy:\s+Allow$/m);
    assert.equal((await api.ok(['delete', 'job', 'manual'])).trim(), 'job.batch "manual" deleted');
  });

  test('invalid objects are refused in upstream words', async () => {
    const badRestart = await api.kubectl(['create', '-f', '-'], {
      input: JSON.stringify({
        apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'bad' },
        spec: { template: { spec: { containers: [{ name: 'c', image: 'busybox' }] } } },
      }),
    });
    assert.notEqual(badRestart.code, 0);
    assert.match(badRestart.stderr, /The Job "bad" is invalid: spec\.template\.spec\.restartPolicy: Required value: valid values: "OnFailure", "Never"/);

    const badSchedule = await api.kubectl(['create', 'cronjob', 'bad', '--image=busybox', '--schedule=* * *']);
    assert.notEqual(badSchedule.code, 0);
    assert.match(badSchedule.stderr, /spec\.schedule: Invalid value: "\* \* \*": expected exactly 5 fields, found 3: \[\* \* \*\]/);

    const tz = await api.kubectl(['create', 'cronjob', 'tz', '--image=busybox', '--schedule=TZ=UTC 0 * * * *']);
    assert.match(tz.stderr, /spec\.schedule: Invalid value: "TZ=UTC 0 \* \* \* \*": cannot use TZ or CRON_TZ in schedule, use timeZone field instead/);

    const immutable = await api.kubectl(['patch', 'job', 'pi', '--type=merge', '-p', '{"spec":{"completions":3}}']);
    assert.match(immutable.stderr, /spec\.completions: Invalid value: 3: field is immutable/);
  });
});
