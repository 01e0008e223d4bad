/** configmaps (core/v1), after upstream pkg/registry/core/configmap/strategy.go (v1.32). */
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import type { ResourceDef } from '../../types.js';
import { configMapTable } from './table.js';
import type { Obj } from './util.js';
import { validateConfigMapData, validateImmutableData } from './validation.js';

export const configMaps: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  listKind: 'ConfigMapList',
  resource: 'configmaps',
  singular: 'configmap',
  shortNames: ['cm'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.ConfigMap',
  strategy: {
    validate: (cm) => validateConfigMapData(cm as Obj),
    validateUpdate: (cm, old) => [...validateImmutableData(cm as Obj, old as Obj, ['data', 'binaryData']), ...validateConfigMapData(cm as Obj)],
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  table: configMapTable,
  selectableFields: (cm) => objectMetaFieldsSet(cm.metadata, true),
};
