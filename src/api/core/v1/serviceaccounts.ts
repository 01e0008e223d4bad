/** serviceaccounts (core/v1), after upstream pkg/registry/core/serviceaccount/strategy.go (v1.32). */
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import { fieldRequired, newPath, type FieldErrorList } from '../../../apimachinery/errors.js';
import type { KObject } from '../../../apimachinery/meta.js';
import type { ResourceDef } from '../../types.js';
import { serviceAccountTable } from './table.js';
import { objs, str } from './util.js';

function validateServiceAccount(sa: KObject): FieldErrorList {
  const errs: FieldErrorList = [];
  objs(sa.imagePullSecrets).forEach((s, i) => {
    if (!str(s.name)) errs.push(fieldRequired(newPath('imagePullSecrets').index(i).child('name'), ''));
  });
  return errs;
}

export const serviceAccounts: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ServiceAccount',
  listKind: 'ServiceAccountList',
  resource: 'serviceaccounts',
  singular: 'serviceaccount',
  shortNames: ['sa'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.ServiceAccount',
  subresources: ['token'],
  strategy: {
    validate: (sa) => validateServiceAccount(sa),
    validateUpdate: (sa) => validateServiceAccount(sa),
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  table: serviceAccountTable,
  selectableFields: (sa) => objectMetaFieldsSet(sa.metadata, true),
};
