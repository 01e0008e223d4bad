/**
 * events.k8s.io/v1 Event. As upstream, these are the core/v1 events seen through another
 * schema: the API server stores them as core events (ResourceDef.sharedStorage), so an
 * event written by either API is read by both. Validation runs on the core form, which is
 * why its field paths name core fields (`involvedObject.namespace`, `message`, ...), exactly
 * as a real API server reports them; writes through this API get the strict checks
 * (eventTime, reportingController, action, ... required; deprecated fields unset).
 */
import {
  fieldInvalid, fieldRequired, goQuote, newPath, type FieldError, type FieldPath,
} from '../../../apimachinery/errors.js';
import type { KObject, ObjectMeta } from '../../../apimachinery/meta.js';
import { isDNS1123Subdomain, isQualifiedName } from '../../../apimachinery/validation.js';
import { column, translateMicroTimestampSince, translateTimestampSince, NAME_DESCRIPTION } from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import { asNum, asObj, asStr, clone, isSet, objectMetaFields, semanticEqual, standardVerbs } from '../../apps/v1/helpers.js';

const REPORTING_INSTANCE_LENGTH_LIMIT = 128;
const ACTION_LENGTH_LIMIT = 128;
const REASON_LENGTH_LIMIT = 128;
const NOTE_LENGTH_LIMIT = 1024;

// ---------------------------------------------------------------------------------------
// Conversion to and from core/v1 (pkg/apis/events/v1/conversion.go)
// ---------------------------------------------------------------------------------------

function orNull(v: unknown): unknown {
  return isSet(v) ? clone(v) : null;
}

/**
 * An events.k8s.io/v1 Event as the core/v1 Event it is stored as, with the fields Go's
 * encoding of core/v1 always writes (`source: {}`, `firstTimestamp: null`, empty
 * reportingComponent/reportingInstance).
 */
export function eventToCore(ev: KObject): KObject {
  const out: KObject = { kind: 'Event', apiVersion: 'v1', metadata: clone(ev.metadata) ?? {} };
  out.involvedObject = clone(asObj(ev.regarding)) ?? {};
  if (asStr(ev.reason) !== '') out.reason = ev.reason;
  if (asStr(ev.note) !== '') out.message = ev.note;
  out.source = clone(asObj(ev.deprecatedSource)) ?? {};
  out.firstTimestamp = orNull(ev.deprecatedFirstTimestamp);
  out.lastTimestamp = orNull(ev.deprecatedLastTimestamp);
  if (asNum(ev.deprecatedCount) !== 0) out.count = ev.deprecatedCount;
  if (asStr(ev.type) !== '') out.type = ev.type;
  out.eventTime = orNull(ev.eventTime);
  if (isSet(ev.series)) out.series = clone(ev.series);
  if (asStr(ev.action) !== '') out.action = ev.action;
  if (isSet(ev.related)) out.related = clone(ev.related);
  out.reportingComponent = asStr(ev.reportingController);
  out.reportingInstance = asStr(ev.reportingInstance);
  return out;
}

/** A stored core/v1 Event as events.k8s.io/v1 shows it. */
export function eventFromCore(core: KObject): KObject {
  const out: KObject = { kind: 'Event', apiVersion: 'events.k8s.io/v1', metadata: clone(core.metadata) ?? {} };
  out.eventTime = orNull(core.eventTime);
  const series = asObj(core.series);
  if (series) out.series = { count: series.count, lastObservedTime: series.lastObservedTime };
  if (asStr(core.reportingComponent) !== '') out.reportingController = core.reportingComponent;
  if (asStr(core.reportingInstance) !== '') out.reportingInstance = core.reportingInstance;
  if (asStr(core.action) !== '') out.action = core.action;
  if (asStr(core.reason) !== '') out.reason = core.reason;
  out.regarding = clone(asObj(core.involvedObject)) ?? {};
  if (isSet(core.related)) out.related = clone(core.related);
  if (asStr(core.message) !== '') out.note = core.message;
  if (asStr(core.type) !== '') out.type = core.type;
  out.deprecatedSource = clone(asObj(core.source)) ?? {};
  out.deprecatedFirstTimestamp = orNull(core.firstTimestamp);
  out.deprecatedLastTimestamp = orNull(core.lastTimestamp);
  if (asNum(core.count) !== 0) out.deprecatedCount = core.count;
  return out;
}

// ---------------------------------------------------------------------------------------
// Validation (pkg/apis/core/validation/events.go), on the core form
// ---------------------------------------------------------------------------------------

function byteLen(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** legacyValidateEvent: what every event, old or new API, must satisfy. */
export function legacyValidateEvent(ev: KObject): FieldError[] {
  const errs: FieldError[] = [];
  const ns = ev.metadata?.namespace ?? '';
  const involvedNs = asStr(asObj(ev.involvedObject)?.namespace);
  const nsPath = newPath('involvedObject', 'namespace');
  if (!isSet(ev.eventTime)) {
    if (involvedNs === '') {
      if (ns !== '' && ns !== 'default') errs.push(fieldInvalid(nsPath, involvedNs, 'does not match event.namespace'));
    } else if (ns !== involvedNs) {
      errs.push(fieldInvalid(nsPath, involvedNs, 'does not match event.namespace'));
    }
  } else {
    if (involvedNs === '' && ns !== 'default' && ns !== 'kube-system') errs.push(fieldInvalid(nsPath, involvedNs, 'does not match event.namespace'));
    const controller = asStr(ev.reportingComponent);
    if (controller === '') errs.push(fieldRequired(newPath('reportingController'), ''));
    for (const m of isQualifiedName(controller)) errs.push(fieldInvalid(newPath('reportingController'), controller, m));
    const limited = (value: string, path: FieldPath, limit: number, required: boolean): void => {
      if (required && value === '') errs.push(fieldRequired(path, ''));
      if (byteLen(value) > limit) errs.push(fieldInvalid(path, '', `can have at most ${limit} characters`));
    };
    limited(asStr(ev.reportingInstance), newPath('reportingInstance'), REPORTING_INSTANCE_LENGTH_LIMIT, true);
    limited(asStr(ev.action), newPath('action'), ACTION_LENGTH_LIMIT, true);
    limited(asStr(ev.reason), newPath('reason'), REASON_LENGTH_LIMIT, true);
    limited(asStr(ev.message), newPath('message'), NOTE_LENGTH_LIMIT, false);
  }
  for (const m of isDNS1123Subdomain(ns)) errs.push(fieldInvalid(newPath('namespace'), ns, m));
  return errs;
}

function validateV1EventSeries(ev: KObject): FieldError[] {
  const series = asObj(ev.series);
  if (!series) return [];
  const errs: FieldError[] = [];
  if (asNum(series.count) < 2) errs.push(fieldInvalid(newPath('series.count'), '', 'should be at least 2'));
  if (!isSet(series.lastObservedTime)) errs.push(fieldRequired(newPath('series.lastObservedTime'), ''));
  return errs;
}

/** ValidateEventCreate for events.k8s.io/v1 (without ObjectMeta), on the core form. */
export function validateEventCreate(ev: KObject): FieldError[] {
  const errs = legacyValidateEvent(ev);
  errs.push(...validateV1EventSeries(ev));
  if (!isSet(ev.eventTime)) errs.push(fieldRequired(newPath('eventTime'), ''));
  if (ev.type !== 'Normal' && ev.type !== 'Warning') errs.push(fieldInvalid(newPath('type'), '', `has invalid value: ${asStr(ev.type)}`));
  if (isSet(ev.firstTimestamp)) errs.push(fieldInvalid(newPath('firstTimestamp'), '', 'needs to be unset'));
  if (isSet(ev.lastTimestamp)) errs.push(fieldInvalid(newPath('lastTimestamp'), '', 'needs to be unset'));
  if (asNum(ev.count) !== 0) errs.push(fieldInvalid(newPath('count'), '', 'needs to be unset'));
  const source = asObj(ev.source) ?? {};
  if (asStr(source.component) !== '' || asStr(source.host) !== '') errs.push(fieldInvalid(newPath('source'), '', 'needs to be unset'));
  return errs;
}

/** Go's time.Time.String() of an RFC 3339 timestamp: `2026-11-22 12:00:00 +0000 UTC`. */
function goTime(v: unknown): string {
  const s = asStr(v);
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?Z$/.exec(s);
  if (!m) return '0001-01-01 00:00:00 +0000 UTC';
  const frac = (m[3] ?? '').replace(/0+$/, '');
  return `${m[1]} ${m[2]}${frac === '.' ? '' : frac} +0000 UTC`;
}

function goObjectReference(v: unknown): string {
  const r = asObj(v) ?? {};
  const f = (k: string): string => goQuote(asStr(r[k]));
  return `core.ObjectReference{Kind:${f('kind')}, Namespace:${f('namespace')}, Name:${f('name')}, UID:${f('uid')}, ` +
    `APIVersion:${f('apiVersion')}, ResourceVersion:${f('resourceVersion')}, FieldPath:${f('fieldPath')}}`;
}

/** The rendering of each immutable core field's new value, as `%v`/`%#v` prints it. */
const immutableFields: [string, (v: unknown) => unknown][] = [
  ['involvedObject', (v) => ({ toString: () => goObjectReference(v) })],
  ['reason', asStr],
  ['message', asStr],
  ['source', (v) => ({ toString: () => `core.EventSource{Component:${goQuote(asStr(asObj(v)?.component))}, Host:${goQuote(asStr(asObj(v)?.host))}}` })],
  ['firstTimestamp', (v) => ({ toString: () => goTime(v) })],
  ['lastTimestamp', (v) => ({ toString: () => goTime(v) })],
  ['count', asNum],
  ['reason', asStr],
  ['type', asStr],
  ['eventTime', (v) => ({ toString: () => goTime(v) })],
  ['action', asStr],
  ['related', (v) => (isSet(v) ? { toString: () => goObjectReference(v) } : null)],
  ['reportingComponent', asStr],
  ['reportingInstance', asStr],
];

/** The field path upstream reports for a core field (reportingComponent is reportingController). */
function immutablePath(field: string): FieldPath {
  return newPath(field === 'reportingComponent' ? 'reportingController' : field);
}

/** ValidateEventUpdate for events.k8s.io/v1 (without ObjectMeta), on the core form. */
export function validateEventUpdate(ev: KObject, old: KObject): FieldError[] {
  const errs = legacyValidateEvent(ev);
  if (!semanticEqual(ev.series, old.series)) errs.push(...validateV1EventSeries(ev));
  for (const [field, render] of immutableFields) {
    if (!semanticEqual(ev[field], old[field])) errs.push(fieldInvalid(immutablePath(field), render(ev[field]), 'field is immutable'));
  }
  return errs;
}

// ---------------------------------------------------------------------------------------
// Printing (printEvent, on the core form)
// ---------------------------------------------------------------------------------------

/** formatEventSource: component (or reportingController), then `, host` (or reportingInstance) when set. */
export function formatEventSource(ev: KObject): string {
  const source = asObj(ev.source) ?? {};
  const component = asStr(source.component) || asStr(ev.reportingComponent);
  const host = asStr(source.host) || asStr(ev.reportingInstance);
  return host === '' ? component : `${component}, ${host}`;
}

/** The cells of upstream's printEvent (wide order) for a core/v1 event. */
export function eventRow(ev: KObject, nowMs: number): unknown[] {
  const first = isSet(ev.firstTimestamp)
    ? translateTimestampSince(ev.firstTimestamp, nowMs)
    : translateMicroTimestampSince(ev.eventTime, nowMs);
  let last = isSet(ev.lastTimestamp) ? translateTimestampSince(ev.lastTimestamp, nowMs) : first;
  let count = asNum(ev.count);
  const series = asObj(ev.series);
  if (series) {
    last = translateMicroTimestampSince(series.lastObservedTime, nowMs);
    count = asNum(series.count);
  } else if (count === 0) {
    count = 1; // singleton events of the new API carry no count
  }
  const involved = asObj(ev.involvedObject) ?? {};
  const kind = asStr(involved.kind).toLowerCase();
  const target = asStr(involved.name) !== '' ? `${kind}/${asStr(involved.name)}` : kind;
  return [
    last, asStr(ev.type), asStr(ev.reason), target, asStr(involved.fieldPath), formatEventSource(ev),
    asStr(ev.message).trim(), first, count, (ev.metadata as ObjectMeta | undefined)?.name ?? '',
  ];
}

export const events: ResourceDef = {
  group: 'events.k8s.io',
  version: 'v1',
  kind: 'Event',
  listKind: 'EventList',
  resource: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.events.v1.Event',
  strategy: {
    validate: (obj) => validateEventCreate(eventToCore(obj)),
    validateUpdate: (obj, old) => validateEventUpdate(eventToCore(obj), eventToCore(old)),
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
  },
  table: {
    columns: [
      column('Last Seen', 'string', 'The time at which the most recent occurrence of this event was recorded.'),
      column('Type', 'string', 'Type of this event (Normal, Warning), new types could be added in the future'),
      column('Reason', 'string', "This should be a short, machine understandable string that gives the reason for the transition into the object's current status."),
      column('Object', 'string', 'The object that this event is about.'),
      column('Subobject', 'string', 'If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: "spec.containers{name}" (where "name" refers to the name of the container that triggered the event) or if no container name is specified "spec.containers[2]" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.', 1),
      column('Source', 'string', 'The component reporting this event. Should be a short machine understandable string.', 1),
      column('Message', 'string', 'A human-readable description of the status of this operation.'),
      column('First Seen', 'string', 'The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)', 1),
      column('Count', 'string', 'The number of times this event has occurred.', 1),
      column('Name', 'string', NAME_DESCRIPTION, 1, 'name'),
    ],
    row: (obj, nowMs) => eventRow(eventToCore(obj), nowMs),
  },
  /** Upstream's field label conversions map these names onto the core event's fields. */
  selectableFields(obj) {
    const regarding = asObj(obj.regarding) ?? {};
    const fields: Record<string, string> = {
      reason: asStr(obj.reason),
      reportingController: asStr(obj.reportingController),
      type: asStr(obj.type),
    };
    for (const k of ['kind', 'namespace', 'name', 'uid', 'apiVersion', 'resourceVersion', 'fieldPath']) fields[`regarding.${k}`] = asStr(regarding[k]);
    return { ...fields, ...objectMetaFields(obj, true) };
  },
  sharedStorage: {
    group: '',
    resource: 'events',
    toStorage: eventToCore,
    fromStorage: eventFromCore,
  },
};

