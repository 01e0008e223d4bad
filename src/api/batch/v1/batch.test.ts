import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../../apimachinery/meta.js';
import { deepClone } from '../../../apimachinery/meta.js';
import type { ResourceDef } from '../../types.js';
import { formatRFC3339In, parseStandard } from './cron.js';
import { cronjobs } from './cronjobs.js';
import { jobs } from './jobs.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const UID = '3f1c2a77-9d3e-4a51-8e0e-2b7c4d9a1f00';

function newJob(mutate: (j: any) => void = () => {}): KObject {
  const j: any = {
    apiVersion: 'batch/v1', kind: 'Job',
    metadata: { name: 'pi', namespace: 'default', uid: UID, creationTimestamp: '2026-11-22T11:00:00Z' },
    spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'pi', image: 'perl' }] } } },
  };
  mutate(j);
  return j;
}

function newCronJob(mutate: (c: any) => void = () => {}): KObject {
  const c: any = {
    apiVersion: 'batch/v1', kind: 'CronJob',
    metadata: { name: 'hello', namespace: 'default', uid: UID, creationTimestamp: '2026-11-22T11:00:00Z' },
    spec: {
      schedule: '*/1 * * * *',
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'OnFailure', containers: [{ name: 'hello', image: 'busybox' }] } } } },
    },
  };
  mutate(c);
  return c;
}

function create(def: ResourceDef, obj: KObject): { obj: any; errs: string[] } {
  def.strategy.default?.(obj);
  def.strategy.prepareForCreate?.(obj);
  return { obj, errs: def.strategy.validate(obj).map((e) => e.message) };
}

function update(def: ResourceDef, old: KObject, mutate: (o: any) => void): { obj: KObject; errs: string[] } {
  const obj = deepClone(old);
  mutate(obj);
  def.strategy.default?.(obj);
  def.strategy.prepareForUpdate?.(obj, old);
  return { obj, errs: [...new Set(def.strategy.validateUpdate(obj, old).map((e) => e.message))] };
}

// ---------------------------------------------------------------------------------------
// Cron schedules
// ---------------------------------------------------------------------------------------

test('cron: next activation, as robfig/cron computes it', () => {
  const at = (s: string) => Date.parse(s);
  for (const tc of [
    { spec: '*/15 * * * *', from: '2026-01-01T00:07:00Z', want: '2026-01-01T00:15:00Z' },
    { spec: '*/1 * * * *', from: '2026-01-01T00:00:00Z', want: '2026-01-01T00:01:00Z' },
    { spec: '0 9 * * 1-5', from: '2026-01-03T10:00:00Z', want: '2026-01-05T09:00:00Z' },
    { spec: '5,35 */6 * * *', from: '2026-01-01T06:36:00Z', want: '2026-01-01T12:05:00Z' },
    { spec: '@hourly', from: '2026-01-01T00:30:00Z', want: '2026-01-01T01:00:00Z' },
    { spec: '@daily', from: '2026-01-01T00:30:00Z', want: '2026-01-02T00:00:00Z' },
    { spec: '@weekly', from: '2026-01-01T00:00:00Z', want: '2026-01-04T00:00:00Z' },
    { spec: '@monthly', from: '2026-01-01T00:00:00Z', want: '2026-02-01T00:00:00Z' },
    { spec: '@yearly', from: '2026-01-01T00:00:00Z', want: '2027-01-01T00:00:00Z' },
    { spec: '@annually', from: '2026-06-01T00:00:00Z', want: '2027-01-01T00:00:00Z' },
    // Day of month OR day of week when neither is a star: the Friday before the 13th.
    { spec: '0 0 13 * 5', from: '2026-01-01T00:00:00Z', want: '2026-01-02T00:00:00Z' },
    // A star in one of them: both must match (a Monday).
    { spec: '0 0 * * mon', from: '2026-01-01T00:00:00Z', want: '2026-01-05T00:00:00Z' },
    { spec: '0 12 * JAN,jul sun', from: '2026-01-01T00:00:00Z', want: '2026-01-04T12:00:00Z' },
    { spec: '0 0 29 2 *', from: '2026-03-01T00:00:00Z', want: '2028-02-29T00:00:00Z' },
    { spec: 'TZ=Asia/Tokyo 0 9 * * *', from: '2026-01-01T00:00:00Z', want: '2026-01-02T00:00:00Z' },
    { spec: 'CRON_TZ=America/New_York 30 2 * * *', from: '2026-07-01T00:00:00Z', want: '2026-07-01T06:30:00Z' },
    { spec: '@every 90s', from: '2026-01-01T00:00:00.500Z', want: '2026-01-01T00:01:30Z' },
  ]) {
    assert.equal(new Date(parseStandard(tc.spec).next(at(tc.from))!).toISOString().replace('.000', ''), tc.want, tc.spec);
  }
  assert.equal(parseStandard('0 0 30 2 *').next(at('2026-01-01T00:00:00Z')), undefined, 'February 30th never comes');
  assert.equal(new Date(parseStandard('0 9 * * *', 'Asia/Tokyo').next(at('2026-01-01T01:00:00Z'))!).toISOString(), '2026-01-02T00:00:00.000Z');
});

test('cron: parse errors in robfig/cron words', () => {
  for (const tc of [
    { spec: '', err: 'empty spec string' },
    { spec: '* * *', err: 'expected exactly 5 fields, found 3: [* * *]' },
    { spec: '* * * * * *', err: 'expected exactly 5 fields, found 6: [* * * * * *]' },
    { spec: '60 * * * *', err: 'end of range (60) above maximum (59): 60' },
    { spec: '* * 0 * *', err: 'beginning of range (0) below minimum (1): 0' },
    { spec: '5-1 * * * *', err: 'beginning of range (5) beyond end of range (1): 5-1' },
    { spec: '*/0 * * * *', err: 'step of range should be a positive number: */0' },
    { spec: 'a * * * *', err: 'failed to parse int from a: strconv.Atoi: parsing "a": invalid syntax' },
    { spec: '1-2-3 * * * *', err: 'too many hyphens: 1-2-3' },
    { spec: '1/2/3 * * * *', err: 'too many slashes: 1/2/3' },
    { spec: '* * * * 7', err: 'end of range (7) above maximum (6): 7' },
    { spec: '@fortnightly', err: 'unrecognized descriptor: @fortnightly' },
    { spec: '@every soon', err: 'failed to parse duration @every soon: time: invalid duration "soon"' },
    { spec: 'TZ=Mars/Olympus * * * * *', err: 'provided bad location Mars/Olympus: unknown time zone Mars/Olympus' },
  ]) {
    assert.throws(() => parseStandard(tc.spec), (e: Error) => e.message === tc.err, tc.spec);
  }
});

test('cron: RFC 3339 in a zone', () => {
  const t = Date.parse('2026-01-02T00:00:00Z');
  assert.equal(formatRFC3339In(t, 'UTC'), '2026-01-02T00:00:00Z');
  assert.equal(formatRFC3339In(t, 'Asia/Tokyo'), '2026-01-02T09:00:00+09:00');
  assert.equal(formatRFC3339In(t, 'America/New_York'), '2026-01-01T19:00:00-05:00');
});

// ---------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------

test('jobs: discovery metadata and defaults', () => {
  assert.deepEqual([jobs.shortNames, jobs.categories, cronjobs.shortNames, cronjobs.categories], [undefined, ['all'], ['cj'], ['all']]);
  for (const tc of [
    { name: 'both unset', spec: {}, want: { completions: 1, parallelism: 1 } },
    { name: 'completions only', spec: { completions: 5 }, want: { completions: 5, parallelism: 1 } },
    { name: 'parallelism only (work queue)', spec: { parallelism: 3 }, want: { completions: undefined, parallelism: 3 } },
  ]) {
    const { obj, errs } = create(jobs, newJob((j) => Object.assign(j.spec, tc.spec)));
    assert.deepEqual(errs, [], tc.name);
    assert.deepEqual({ completions: obj.spec.completions, parallelism: obj.spec.parallelism }, tc.want, tc.name);
    assert.deepEqual(
      [obj.spec.backoffLimit, obj.spec.completionMode, obj.spec.suspend, obj.spec.manualSelector, obj.spec.podReplacementPolicy],
      [6, 'NonIndexed', false, false, 'TerminatingOrFailed'],
    );
    assert.deepEqual(obj.status, {});
    assert.equal(obj.metadata.generation, 1);
  }
  const { obj } = create(jobs, newJob((j) => { j.spec.podFailurePolicy = { rules: [{ action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] }] }; }));
  assert.equal(obj.spec.podReplacementPolicy, 'Failed');
  assert.equal(obj.spec.podFailurePolicy.rules[0].onPodConditions[0].status, 'True');
});

test('jobs: the generated selector and template labels (legacy and batch.kubernetes.io/)', () => {
  const { obj, errs } = create(jobs, newJob((j) => { j.spec.template.metadata = { labels: { app: 'pi' } }; }));
  assert.deepEqual(errs, []);
  assert.deepEqual(obj.spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': UID } });
  assert.deepEqual(obj.spec.template.metadata.labels, {
    app: 'pi', 'job-name': 'pi', 'batch.kubernetes.io/job-name': 'pi', 'controller-uid': UID, 'batch.kubernetes.io/controller-uid': UID,
  });
  // A Job created with template labels gets them as its own labels (SetDefaults_Job).
  assert.deepEqual(obj.metadata.labels, { app: 'pi' });
  const plain = create(jobs, newJob()).obj;
  assert.equal(plain.metadata.labels['batch.kubernetes.io/job-name'], 'pi');
});

test('jobs: validation in upstream words', () => {
  for (const tc of [
    {
      name: 'restartPolicy Always', mutate: (j: any) => { j.spec.template.spec.restartPolicy = 'Always'; },
      errs: ['spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'],
    },
    {
      name: 'negative counts', mutate: (j: any) => { j.spec.parallelism = -1; j.spec.backoffLimit = -2; },
      errs: ['spec.parallelism: Invalid value: -1: must be greater than or equal to 0', 'spec.backoffLimit: Invalid value: -2: must be greater than or equal to 0'],
    },
    {
      name: 'Indexed without completions', mutate: (j: any) => { j.spec.completionMode = 'Indexed'; j.spec.parallelism = 2; },
      errs: ['spec.completions: Required value: when completion mode is Indexed'],
    },
    {
      name: 'conflicting generated label', mutate: (j: any) => { j.spec.template.metadata = { labels: { 'job-name': 'other' } }; },
      errs: [
        `spec.template.metadata.labels[job-name]: Invalid value: map[string]string{"batch.kubernetes.io/controller-uid":"${UID}", "batch.kubernetes.io/job-name":"pi", "controller-uid":"${UID}", "job-name":"other"}: must be 'pi'`,
      ],
    },
    {
      name: 'manual selector not matching the template',
      mutate: (j: any) => { j.spec.manualSelector = true; j.spec.selector = { matchLabels: { app: 'x' } }; j.spec.template.metadata = { labels: { app: 'y' } }; },
      errs: ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"y"}: `selector` does not match template `labels`'],
    },
    {
      name: 'podReplacementPolicy', mutate: (j: any) => { j.spec.podReplacementPolicy = 'Sometimes'; },
      errs: ['spec.podReplacementPolicy: Unsupported value: "Sometimes": supported values: "Failed", "TerminatingOrFailed"'],
    },
  ]) {
    assert.deepEqual(create(jobs, newJob(tc.mutate)).errs, tc.errs, tc.name);
  }
});

test('jobs: completions, selector and template are immutable; scheduling directives of a suspended, unstarted Job are not', () => {
  const old = create(jobs, newJob()).obj;
  old.metadata.resourceVersion = '5';
  assert.deepEqual(update(jobs, old, (j) => { j.spec.completions = 3; }).errs, ['spec.completions: Invalid value: 3: field is immutable']);
  assert.match(update(jobs, old, (j) => { j.spec.template.spec.containers[0].image = 'perl:2'; }).errs.join('\n'), /^spec\.template: Invalid value: .*: field is immutable$/);
  assert.deepEqual(update(jobs, old, (j) => { j.spec.parallelism = 4; }).errs, []);
  assert.equal(update(jobs, old, (j) => { j.spec.parallelism = 4; }).obj.metadata?.generation, 2);

  const suspended = create(jobs, newJob((j) => { j.spec.suspend = true; })).obj;
  const directive = (j: any) => { j.spec.template.spec.nodeSelector = { zone: 'a' }; };
  assert.deepEqual(update(jobs, suspended, directive).errs, []);
  assert.notDeepEqual(update(jobs, old, directive).errs, []);
  const started = deepClone(suspended);
  started.status = { startTime: '2026-11-22T11:00:00Z' };
  assert.notDeepEqual(update(jobs, started, directive).errs, []);
});

test('jobs: status updates keep the spec and refuse going back', () => {
  const old = create(jobs, newJob()).obj;
  old.status = { failed: 2, succeeded: 1, conditions: [{ type: 'FailureTarget', status: 'True' }] };
  const next = deepClone(old);
  next.spec.parallelism = 9;
  next.status = { failed: 1, succeeded: 1 };
  jobs.status!.prepareForUpdate(next, old);
  assert.equal((next as any).spec.parallelism, 1);
  assert.deepEqual(jobs.status!.validateUpdate(next, old).map((e) => e.message), [
    'status.conditions: Invalid value: cannot disable the terminal FailureTarget=True condition',
    'status.failed: Invalid value: 1: cannot decrease the failed counter',
  ]);
});

test('jobs: table cells and selectable fields', () => {
  const row = (mutate: (j: any) => void) => {
    const j = create(jobs, newJob(mutate)).obj;
    mutate(j);
    return jobs.table.row(j, NOW);
  };
  assert.deepEqual(jobs.table.columns.map((c) => `${c.name}${c.priority ? '*' : ''}`), ['Name', 'Status', 'Completions', 'Duration', 'Age', 'Containers*', 'Images*', 'Selector*']);
  assert.deepEqual(row(() => {}).slice(0, 5), ['pi', 'Running', '0/1', '', '60m']);
  assert.deepEqual(row((j) => {
    j.status = {
      succeeded: 1, startTime: '2026-11-22T11:00:00Z', completionTime: '2026-11-22T11:00:42Z',
      conditions: [{ type: 'SuccessCriteriaMet', status: 'True' }, { type: 'Complete', status: 'True' }],
    };
  }).slice(1, 4), ['Complete', '1/1', '42s']);
  assert.deepEqual(row((j) => { j.spec.parallelism = 2; delete j.spec.completions; j.status = { startTime: '2026-11-22T11:58:00Z' }; }).slice(1, 4), ['Running', '0/1 of 2', '2m']);
  assert.equal(row((j) => { j.status = { conditions: [{ type: 'Failed', status: 'True' }] }; })[1], 'Failed');
  assert.equal(row((j) => { j.status = { conditions: [{ type: 'Suspended', status: 'True' }] }; })[1], 'Suspended');
  assert.deepEqual(row(() => {}).slice(5), ['pi', 'perl', `batch.kubernetes.io/controller-uid=${UID}`]);
  const done = create(jobs, newJob()).obj;
  done.status = { succeeded: 3 };
  assert.equal(jobs.selectableFields(done)['status.successful'], '3');
});

// ---------------------------------------------------------------------------------------
// CronJobs
// ---------------------------------------------------------------------------------------

test('cronjobs: defaults leave the job template without Job defaults', () => {
  const { obj, errs } = create(cronjobs, newCronJob());
  assert.deepEqual(errs, []);
  assert.deepEqual(
    [obj.spec.concurrencyPolicy, obj.spec.suspend, obj.spec.successfulJobsHistoryLimit, obj.spec.failedJobsHistoryLimit],
    ['Allow', false, 3, 1],
  );
  assert.equal(obj.spec.jobTemplate.spec.completions, undefined);
  assert.equal(obj.spec.jobTemplate.spec.template.spec.dnsPolicy, 'ClusterFirst', 'pod template defaults apply');
});

test('cronjobs: validation in upstream words', () => {
  for (const tc of [
    { name: 'no schedule', mutate: (c: any) => { c.spec.schedule = ''; }, errs: ['spec.schedule: Required value'] },
    { name: 'bad schedule', mutate: (c: any) => { c.spec.schedule = '61 * * * *'; }, errs: ['spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'] },
    {
      name: 'TZ in schedule', mutate: (c: any) => { c.spec.schedule = 'TZ=UTC 0 * * * *'; },
      errs: ['spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead'],
    },
    { name: 'unknown zone', mutate: (c: any) => { c.spec.timeZone = 'Mars/Olympus'; }, errs: ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'] },
    { name: 'empty zone', mutate: (c: any) => { c.spec.timeZone = ''; }, errs: ['spec.timeZone: Invalid value: "": timeZone must be nil or non-empty string'] },
    {
      name: 'Local', mutate: (c: any) => { c.spec.timeZone = 'Local'; },
      errs: ['spec.timeZone: Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones'],
    },
    {
      name: 'policy', mutate: (c: any) => { c.spec.concurrencyPolicy = 'Sometimes'; },
      errs: ['spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", "Forbid", "Replace"'],
    },
    {
      name: 'selector in the job template', mutate: (c: any) => { c.spec.jobTemplate.spec.selector = { matchLabels: { a: 'b' } }; },
      errs: ['spec.jobTemplate.spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"a":"b"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: `selector` will be auto-generated'],
    },
    {
      name: 'restartPolicy', mutate: (c: any) => { c.spec.jobTemplate.spec.template.spec.restartPolicy = 'Always'; },
      errs: ['spec.jobTemplate.spec.template.spec.restartPolicy: Required value: valid values: "OnFailure", "Never"'],
    },
    { name: 'long name', mutate: (c: any) => { c.metadata.name = 'x'.repeat(53); }, errs: [`metadata.name: Invalid value: "${'x'.repeat(53)}": must be no more than 52 characters`] },
  ]) {
    assert.deepEqual(create(cronjobs, newCronJob(tc.mutate)).errs, tc.errs, tc.name);
  }
  assert.deepEqual(create(cronjobs, newCronJob((c) => { c.spec.timeZone = 'Asia/Tokyo'; c.spec.schedule = '@daily'; })).errs, []);
  // A schedule that already had TZ may keep it on update.
  const old = newCronJob((c) => { c.spec.schedule = 'TZ=UTC 0 * * * *'; });
  cronjobs.strategy.default!(old);
  assert.deepEqual(update(cronjobs, old, (c) => { c.spec.suspend = true; }).errs, []);
});

test('warnings: names that are not DNS labels, very large Indexed Jobs, TZ in a schedule', () => {
  const job = create(jobs, newJob((j) => {
    j.metadata.name = 'pi.v2';
    j.spec.completionMode = 'Indexed';
    j.spec.completions = 200_000;
    j.spec.parallelism = 20_000;
  })).obj;
  assert.deepEqual(jobs.strategy.warnings!(job), [
    'metadata.name: this is used in Pod names and hostnames, which can result in surprising behavior; a DNS label is recommended: [must not contain dots]',
    'spec: In Indexed Jobs with a number of completions higher than 10^5 and a parallelism higher than 10^4, Kubernetes might not be able to track completedIndexes when a big number of indexes fail',
  ]);
  const old = newCronJob((c) => { c.spec.schedule = 'TZ=UTC 0 * * * *'; });
  cronjobs.strategy.default!(old);
  const next = deepClone(old);
  assert.deepEqual(cronjobs.strategy.warnings!(next, old), ['cannot use TZ or CRON_TZ in schedule, use timeZone field instead']);
});

test('cronjobs: table cells', () => {
  const { obj } = create(cronjobs, newCronJob());
  assert.deepEqual(cronjobs.table.columns.map((c) => c.name), ['Name', 'Schedule', 'Timezone', 'Suspend', 'Active', 'Last Schedule', 'Age', 'Containers', 'Images', 'Selector']);
  assert.deepEqual(cronjobs.table.row(obj, NOW), ['hello', '*/1 * * * *', '<none>', 'False', 0, '<none>', '60m', 'hello', 'busybox', '<none>']);
  obj.spec.timeZone = 'Asia/Tokyo';
  obj.status = { active: [{ name: 'hello-1' }], lastScheduleTime: '2026-11-22T11:59:00Z' };
  assert.deepEqual(cronjobs.table.row(obj, NOW).slice(2, 6), ['Asia/Tokyo', 'False', 1, '60s']);
});
