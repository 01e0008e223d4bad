/** events (core/v1), after upstream pkg/registry/core/event/strategy.go (v1.32). */
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import type { ResourceDef } from '../../types.js';
import { eventTable } from './table.js';
import { type Obj, obj, str } from './util.js';
import { validateEvent } from './validation.js';

export const events: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Event',
  listKind: 'EventList',
  resource: 'events',
  singular: 'event',
  shortNames: ['ev'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.Event',
  // Upstream validates no ObjectMeta name rule for core/v1 events (legacyValidateEvent only),
  // so any name a client picks is accepted.
  validateName: () => [],
  strategy: {
    validate: (ev) => validateEvent(ev as Obj),
    validateUpdate: (ev) => validateEvent(ev as Obj),
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
  },
  table: eventTable,
  selectableFields(ev) {
    const involved = obj(ev.involvedObject) ?? {};
    const source = str(obj(ev.source)?.component) || str(ev.reportingComponent);
    return {
      ...objectMetaFieldsSet(ev.metadata, true),
      'involvedObject.kind': str(involved.kind),
      'involvedObject.namespace': str(involved.namespace),
      'involvedObject.name': str(involved.name),
      'involvedObject.uid': str(involved.uid),
      'involvedObject.apiVersion': str(involved.apiVersion),
      'involvedObject.resourceVersion': str(involved.resourceVersion),
      'involvedObject.fieldPath': str(involved.fieldPath),
      reason: str(ev.reason),
      reportingComponent: str(ev.reportingComponent),
      source,
      type: str(ev.type),
    };
  },
};
