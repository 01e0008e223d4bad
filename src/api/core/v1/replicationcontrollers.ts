/**
 * replicationcontrollers (core/v1), after upstream
 * pkg/registry/core/replicationcontroller/strategy.go (v1.32).
 */
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import { newPath } from '../../../apimachinery/errors.js';
import type { ResourceDef } from '../../types.js';
import { formatSelectorMap } from '../../printers.js';
import { defaultReplicationController } from './defaults.js';
import { replicationControllerTable } from './table.js';
import { type Obj, num, same, specOf, statusOf, strMap } from './util.js';
import { validateReplicationControllerSpec, validateReplicationControllerStatus } from './validation.js';

export const replicationControllers: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ReplicationController',
  listKind: 'ReplicationControllerList',
  resource: 'replicationcontrollers',
  singular: 'replicationcontroller',
  shortNames: ['rc'],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.ReplicationController',
  strategy: {
    default: (rc) => defaultReplicationController(rc as Obj),
    prepareForCreate(rc) {
      // ReplicationControllerStatus.replicas has no omitempty: an empty status prints `replicas: 0`.
      rc.status = { replicas: 0 };
      rc.metadata = { ...rc.metadata, generation: 1 };
    },
    prepareForUpdate(rc, old) {
      rc.status = structuredClone(old.status ?? { replicas: 0 });
      const generation = old.metadata?.generation ?? 0;
      rc.metadata = { ...rc.metadata, generation: same(rc.spec, old.spec) ? generation : generation + 1 };
    },
    validate: (rc) => validateReplicationControllerSpec(specOf(rc), newPath('spec')),
    validateUpdate: (rc) => validateReplicationControllerSpec(specOf(rc), newPath('spec')),
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  status: {
    prepareForUpdate(rc, old) {
      rc.spec = structuredClone(old.spec ?? {});
    },
    validateUpdate: (rc) => validateReplicationControllerStatus(statusOf(rc), newPath('status')),
  },
  scale: {
    specReplicasPath: ['spec', 'replicas'],
    statusReplicasPath: ['status', 'replicas'],
    labelSelectorPath: ['spec', 'selector'],
    selector(rc) {
      const sel = strMap(specOf(rc).selector);
      return Object.keys(sel).length === 0 ? '' : formatSelectorMap(sel);
    },
  },
  table: replicationControllerTable,
  selectableFields: (rc) => ({ ...objectMetaFieldsSet(rc.metadata, true), 'status.replicas': String(num(statusOf(rc).replicas)) }),
};
