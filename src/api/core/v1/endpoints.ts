/** endpoints (core/v1), after upstream pkg/registry/core/endpoint/strategy.go (v1.32). */
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import { newPath } from '../../../apimachinery/errors.js';
import type { ResourceDef } from '../../types.js';
import { defaultEndpoints } from './defaults.js';
import { endpointsTable } from './table.js';
import type { Obj } from './util.js';
import { validateEndpointSubsets } from './validation.js';

/**
 * Warning returned when Endpoints are written (upstream v1.33 deprecates the API; v1.32
 * gives none), kept empty here on purpose.
 */
export const endpoints: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  listKind: 'EndpointsList',
  resource: 'endpoints',
  singular: 'endpoints',
  shortNames: ['ep'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.Endpoints',
  strategy: {
    default: (ep) => defaultEndpoints(ep as Obj),
    validate: (ep) => validateEndpointSubsets(ep.subsets, newPath('subsets')),
    validateUpdate: (ep) => validateEndpointSubsets(ep.subsets, newPath('subsets')),
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
  },
  table: endpointsTable,
  selectableFields: (ep) => objectMetaFieldsSet(ep.metadata, true),
};
