import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../../apimachinery/meta.js';
import { deepClone } from '../../../apimachinery/meta.js';
import { eventFromCore, eventToCore, events } from './events.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

/** An event as a controller using the events.k8s.io API writes it. */
function newEvent(mutate: (e: any) => void = () => {}): KObject {
  const e: any = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: { name: 'web-1.17a', namespace: 'default' },
    eventTime: '2026-11-22T11:58:00.000000Z',
    reportingController: 'default-scheduler',
    reportingInstance: 'default-scheduler-cp-1',
    action: 'Binding',
    reason: 'Scheduled',
    regarding: { kind: 'Pod', namespace: 'default', name: 'web-1', uid: 'u1', apiVersion: 'v1', resourceVersion: '10' },
    note: 'Successfully assigned default/web-1 to node-1',
    type: 'Normal',
  };
  mutate(e);
  return e;
}

test('discovery metadata: events.k8s.io shares storage with core events', () => {
  assert.equal(events.group, 'events.k8s.io');
  assert.deepEqual(events.shortNames, ['ev']);
  assert.equal(events.sharedStorage?.group, '');
  assert.equal(events.sharedStorage?.resource, 'events');
  assert.equal(events.strategy.allowCreateOnUpdate, true);
});

test('conversion to core/v1 and back', () => {
  const e = newEvent();
  const core: any = eventToCore(e);
  assert.equal(core.apiVersion, 'v1');
  assert.equal(core.message, 'Successfully assigned default/web-1 to node-1');
  assert.equal(core.reportingComponent, 'default-scheduler');
  assert.deepEqual(core.involvedObject, (e as any).regarding);
  assert.deepEqual(core.source, {});
  assert.equal(core.firstTimestamp, null);
  const back: any = eventFromCore(core);
  assert.deepEqual(back, { ...e, deprecatedSource: {}, deprecatedFirstTimestamp: null, deprecatedLastTimestamp: null });
  // An old-style core event, as kubelets of the core API record it.
  const legacy: any = eventFromCore({
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'x', namespace: 'default' },
    involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default' }, reason: 'Pulled', message: 'pulled',
    source: { component: 'kubelet', host: 'node-1' }, firstTimestamp: '2026-11-22T11:00:00Z', lastTimestamp: '2026-11-22T11:50:00Z',
    count: 3, type: 'Normal', eventTime: null, reportingComponent: '', reportingInstance: '',
  });
  assert.deepEqual(legacy.deprecatedSource, { component: 'kubelet', host: 'node-1' });
  assert.equal(legacy.deprecatedCount, 3);
  assert.equal(legacy.eventTime, null);
  assert.equal(legacy.reportingController, undefined);
});

test('create validation: strict rules of the new API, core field paths', () => {
  const cases: { name: string; mutate: (e: any) => void; errs: string[] }[] = [
    { name: 'valid', mutate: () => {}, errs: [] },
    {
      name: 'missing eventTime and bad type',
      mutate: (e) => { delete e.eventTime; e.type = 'Info'; },
      errs: ['eventTime: Required value', 'type: Invalid value: "": has invalid value: Info'],
    },
    {
      name: 'missing reporting fields',
      mutate: (e) => { delete e.reportingInstance; delete e.action; },
      errs: ['reportingInstance: Required value', 'action: Required value'],
    },
    {
      name: 'deprecated fields set',
      mutate: (e) => { e.deprecatedCount = 2; e.deprecatedSource = { component: 'x' }; },
      errs: ['count: Invalid value: "": needs to be unset', 'source: Invalid value: "": needs to be unset'],
    },
    {
      name: 'regarding in another namespace',
      mutate: (e) => { e.regarding.namespace = 'other'; e.metadata.namespace = 'team'; delete e.eventTime; e.eventTime = null; },
      errs: ['involvedObject.namespace: Invalid value: "other": does not match event.namespace', 'eventTime: Required value'],
    },
    {
      name: 'series too short',
      mutate: (e) => { e.series = { count: 1 }; },
      errs: ['series.count: Invalid value: "": should be at least 2', 'series.lastObservedTime: Required value'],
    },
  ];
  for (const tc of cases) assert.deepEqual(events.strategy.validate(newEvent(tc.mutate)).map((x) => x.message), tc.errs, tc.name);
});

test('update validation: the note and regarding are immutable', () => {
  const old = newEvent();
  const e: any = deepClone(old);
  e.note = 'changed';
  e.series = { count: 2, lastObservedTime: '2026-11-22T11:59:00.000000Z' };
  assert.deepEqual(events.strategy.validateUpdate(e, old).map((x) => x.message), ['message: Invalid value: "changed": field is immutable']);
});

test('table: LAST SEEN TYPE REASON OBJECT MESSAGE (wide SUBOBJECT SOURCE FIRST SEEN COUNT NAME)', () => {
  assert.deepEqual(events.table.columns.filter((c) => c.priority === 0).map((c) => c.name), ['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
  assert.deepEqual(events.table.row(newEvent(), NOW), [
    '2m', 'Normal', 'Scheduled', 'pod/web-1', '', 'default-scheduler, default-scheduler-cp-1',
    'Successfully assigned default/web-1 to node-1', '2m', 1, 'web-1.17a',
  ]);
  const series = newEvent((e) => { e.series = { count: 5, lastObservedTime: '2026-11-22T11:59:30.000000Z' }; });
  assert.deepEqual(events.table.row(series, NOW).slice(0, 1), ['30s']);
  assert.equal(events.table.row(series, NOW)[8], 5);
});

test('selectable fields use the events.k8s.io names', () => {
  const f = events.selectableFields(newEvent());
  assert.equal(f['regarding.name'], 'web-1');
  assert.equal(f['regarding.kind'], 'Pod');
  assert.equal(f.reportingController, 'default-scheduler');
  assert.equal(f['metadata.namespace'], 'default');
});
