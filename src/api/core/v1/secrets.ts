/**
 * secrets (core/v1), after upstream pkg/registry/core/secret/strategy.go (v1.32).
 * `stringData` is merged into `data` by default() (upstream's v1 conversion) and never stored.
 */
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import { newPath } from '../../../apimachinery/errors.js';
import { validateImmutableField } from '../../../apimachinery/validation.js';
import type { ResourceDef } from '../../types.js';
import { defaultSecret } from './defaults.js';
import { secretTable } from './table.js';
import { type Obj, str } from './util.js';
import { validateImmutableData, validateSecretData } from './validation.js';

export const secrets: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  listKind: 'SecretList',
  resource: 'secrets',
  singular: 'secret',
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.Secret',
  strategy: {
    default: (s) => defaultSecret(s as Obj),
    validate: (s) => validateSecretData(s as Obj),
    validateUpdate: (s, old) => [
      ...validateSecretData(s as Obj),
      ...validateImmutableField(str(s.type), str(old.type), newPath('type')),
      ...validateImmutableData(s as Obj, old as Obj, ['data']),
    ],
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  table: secretTable,
  selectableFields: (s) => ({ ...objectMetaFieldsSet(s.metadata, true), type: str(s.type) }),
};
