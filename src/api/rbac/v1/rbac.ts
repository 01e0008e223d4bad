/**
 * rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding
 * (pkg/apis/rbac/v1/defaults.go, pkg/apis/rbac/validation, pkg/registry/rbac/*).
 *
 * Names only need to be valid path segments (`system:controller:x` is a valid ClusterRole
 * name). Roles have no upstream printer, so they get the default table (NAME CREATED AT);
 * bindings print NAME ROLE AGE (wide USERS GROUPS SERVICEACCOUNTS). Escalation checks
 * (creating a role that grants more than the requester has) are the authorizer's job.
 */
import {
  fieldInvalid, fieldNotSupported, fieldRequired, goQuote, goTyped, newPath, type FieldError, type FieldPath,
} from '../../../apimachinery/errors.js';
import { labelSelectorAsSelector, validateLabelSelector, type LabelSelector } from '../../../apimachinery/labels.js';
import { formatRFC3339, type KObject } from '../../../apimachinery/meta.js';
import { isDNS1123Subdomain, isValidPathSegmentName } from '../../../apimachinery/validation.js';
import {
  CREATION_TIMESTAMP_DESCRIPTION, ageColumn, column, nameColumn, objectAge, objectName,
} from '../../printers.js';
import type { ResourceDef, TablePrinter } from '../../types.js';
import { asObj, asObjs, asStr, ensureObj, goStruct, objectMetaFields, standardVerbs, type Obj } from '../../apps/v1/helpers.js';

/** rbac.GroupName. */
export const RBAC_GROUP = 'rbac.authorization.k8s.io';

/** ValidateRBACName: any valid path segment. */
export function validateRBACName(name: string): string[] {
  return isValidPathSegmentName(name);
}

// ---------------------------------------------------------------------------------------
// Defaults
// ---------------------------------------------------------------------------------------

/** SetDefaults_Subject: User and Group subjects belong to the RBAC API group. */
function defaultSubjects(obj: KObject): void {
  for (const s of asObjs(obj.subjects)) {
    if (asStr(s.apiGroup) !== '') continue;
    if (s.kind === 'User' || s.kind === 'Group') s.apiGroup = RBAC_GROUP;
  }
}

/** SetDefaults_RoleBinding / SetDefaults_ClusterRoleBinding. */
export function defaultBinding(obj: KObject): void {
  const ref = ensureObj(obj, 'roleRef');
  if (asStr(ref.apiGroup) === '') ref.apiGroup = RBAC_GROUP;
  defaultSubjects(obj);
}

// ---------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------

function strList(v: unknown): string[] {
  return Array.isArray(v) ? v.map(asStr) : [];
}

/** ValidatePolicyRule. */
export function validatePolicyRule(rule: Obj, isNamespaced: boolean, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const verbs = strList(rule.verbs);
  const nonResourceURLs = strList(rule.nonResourceURLs);
  const apiGroups = strList(rule.apiGroups);
  const resources = strList(rule.resources);
  const resourceNames = strList(rule.resourceNames);
  if (verbs.length === 0) errs.push(fieldRequired(fldPath.child('verbs'), 'verbs must contain at least one value'));
  if (nonResourceURLs.length > 0) {
    const urls = goTyped('[]string', nonResourceURLs);
    if (isNamespaced) errs.push(fieldInvalid(fldPath.child('nonResourceURLs'), urls, 'namespaced rules cannot apply to non-resource URLs'));
    if (apiGroups.length > 0 || resources.length > 0 || resourceNames.length > 0) {
      errs.push(fieldInvalid(fldPath.child('nonResourceURLs'), urls, 'rules cannot apply to both regular resources and non-resource URLs'));
    }
    return errs;
  }
  if (apiGroups.length === 0) errs.push(fieldRequired(fldPath.child('apiGroups'), 'resource rules must supply at least one api group'));
  if (resources.length === 0) errs.push(fieldRequired(fldPath.child('resources'), 'resource rules must supply at least one resource'));
  if (resourceNames.length > 0 && resources.length > 1) {
    errs.push(fieldRequired(fldPath.child('resourceNames'), 'resource names cannot apply to multiple resources'));
  }
  return errs;
}

function validateRules(obj: KObject, isNamespaced: boolean): FieldError[] {
  return asObjs(obj.rules).flatMap((r, i) => validatePolicyRule(r, isNamespaced, newPath('rules').index(i)));
}

/** ValidateClusterRole's aggregationRule part. */
function validateAggregationRule(obj: KObject): FieldError[] {
  const agg = asObj(obj.aggregationRule);
  if (!agg) return [];
  const path = newPath('aggregationRule', 'clusterRoleSelectors');
  const selectors = asObjs(agg.clusterRoleSelectors) as LabelSelector[];
  const errs: FieldError[] = [];
  if (selectors.length === 0) errs.push(fieldRequired(path, 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
  selectors.forEach((sel, i) => {
    errs.push(...validateLabelSelector(sel, { allowInvalidLabelValueInSelector: false }, path.index(i)));
    try {
      labelSelectorAsSelector(sel);
    } catch {
      // Upstream reports the (nil) converted selector, which prints as "null".
      errs.push(fieldInvalid(path.index(i), 'null', 'invalid label selector.'));
    }
  });
  return errs;
}

function validateSubject(subject: Obj, isNamespaced: boolean, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  const name = asStr(subject.name);
  const apiGroup = asStr(subject.apiGroup);
  if (name === '') errs.push(fieldRequired(fldPath.child('name'), ''));
  switch (subject.kind) {
    case 'ServiceAccount':
      if (name !== '') for (const m of isDNS1123Subdomain(name)) errs.push(fieldInvalid(fldPath.child('name'), name, m));
      if (apiGroup !== '') errs.push(fieldNotSupported(fldPath.child('apiGroup'), apiGroup, ['']));
      if (!isNamespaced && asStr(subject.namespace) === '') errs.push(fieldRequired(fldPath.child('namespace'), ''));
      break;
    case 'User':
      if (name === '') errs.push(fieldInvalid(fldPath.child('name'), name, 'user name cannot be empty'));
      if (apiGroup !== RBAC_GROUP) errs.push(fieldNotSupported(fldPath.child('apiGroup'), apiGroup, [RBAC_GROUP]));
      break;
    case 'Group':
      if (name === '') errs.push(fieldInvalid(fldPath.child('name'), name, 'group name cannot be empty'));
      if (apiGroup !== RBAC_GROUP) errs.push(fieldNotSupported(fldPath.child('apiGroup'), apiGroup, [RBAC_GROUP]));
      break;
    default:
      errs.push(fieldNotSupported(fldPath.child('kind'), asStr(subject.kind), ['ServiceAccount', 'User', 'Group']));
  }
  return errs;
}

/** ValidateRoleBinding / ValidateClusterRoleBinding (without ObjectMeta). */
export function validateBinding(obj: KObject, isNamespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = asObj(obj.roleRef) ?? {};
  if (asStr(ref.apiGroup) !== RBAC_GROUP) errs.push(fieldNotSupported(newPath('roleRef', 'apiGroup'), asStr(ref.apiGroup), [RBAC_GROUP]));
  const kinds = isNamespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(asStr(ref.kind))) errs.push(fieldNotSupported(newPath('roleRef', 'kind'), asStr(ref.kind), kinds));
  const name = asStr(ref.name);
  if (name === '') errs.push(fieldRequired(newPath('roleRef', 'name'), ''));
  else for (const m of validateRBACName(name)) errs.push(fieldInvalid(newPath('roleRef', 'name'), name, m));
  asObjs(obj.subjects).forEach((s, i) => errs.push(...validateSubject(s, isNamespaced, newPath('subjects').index(i))));
  return errs;
}

/** `roleRef: Invalid value: rbac.RoleRef{...}: cannot change roleRef`. */
function validateRoleRefUnchanged(obj: KObject, old: KObject): FieldError[] {
  const ref = asObj(obj.roleRef) ?? {};
  const oldRef = asObj(old.roleRef) ?? {};
  if (['apiGroup', 'kind', 'name'].every((k) => asStr(ref[k]) === asStr(oldRef[k]))) return [];
  const value = goStruct('rbac.RoleRef', [
    ['APIGroup', goQuote(asStr(ref.apiGroup))], ['Kind', goQuote(asStr(ref.kind))], ['Name', goQuote(asStr(ref.name))],
  ]);
  return [fieldInvalid(newPath('roleRef'), value, 'cannot change roleRef')];
}

// ---------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------

/**
 * The API server's default table for resources without a printer (roles): NAME and
 * CREATED AT, the creation time in RFC 3339 UTC (Go's zero time when unset).
 */
export const defaultTable: TablePrinter = {
  columns: [nameColumn, column('Created At', 'date', CREATION_TIMESTAMP_DESCRIPTION)],
  row(obj) {
    const ts = obj.metadata?.creationTimestamp;
    const ms = typeof ts === 'string' ? Date.parse(ts) : Number.NaN;
    return [objectName(obj), Number.isNaN(ms) ? '0001-01-01T00:00:00Z' : formatRFC3339(ms)];
  },
};

/** rbac.SubjectsStrings: users, groups and service accounts (`namespace/name`). */
export function subjectsStrings(subjects: unknown): { users: string[]; groups: string[]; serviceAccounts: string[]; others: string[] } {
  const out = { users: [] as string[], groups: [] as string[], serviceAccounts: [] as string[], others: [] as string[] };
  for (const s of asObjs(subjects)) {
    const name = asStr(s.name);
    switch (s.kind) {
      case 'ServiceAccount': out.serviceAccounts.push(`${asStr(s.namespace)}/${name}`); break;
      case 'User': out.users.push(name); break;
      case 'Group': out.groups.push(name); break;
      default: out.others.push(`${asStr(s.kind)}/${asStr(s.namespace)}/${name}`);
    }
  }
  return out;
}

function bindingTable(kindWord: 'roleBinding' | 'clusterRoleBinding', roleDescription: string): TablePrinter {
  return {
    columns: [
      nameColumn,
      column('Role', 'string', roleDescription),
      ageColumn,
      column('Users', 'string', `Users in the ${kindWord}`, 1),
      column('Groups', 'string', `Groups in the ${kindWord}`, 1),
      column('ServiceAccounts', 'string', `ServiceAccounts in the ${kindWord}`, 1),
    ],
    row(obj, nowMs) {
      const ref = asObj(obj.roleRef) ?? {};
      const s = subjectsStrings(obj.subjects);
      return [
        objectName(obj), `${asStr(ref.kind)}/${asStr(ref.name)}`, objectAge(obj, nowMs),
        s.users.join(', '), s.groups.join(', '), s.serviceAccounts.join(', '),
      ];
    },
  };
}

// ---------------------------------------------------------------------------------------
// Definitions
// ---------------------------------------------------------------------------------------

const common = {
  group: RBAC_GROUP,
  version: 'v1',
  verbs: standardVerbs,
  validateName: (name: string) => validateRBACName(name),
} as const;

export const roles: ResourceDef = {
  ...common,
  kind: 'Role',
  listKind: 'RoleList',
  resource: 'roles',
  singular: 'role',
  namespaced: true,
  openAPIDefinition: 'io.k8s.api.rbac.v1.Role',
  strategy: {
    validate: (obj) => validateRules(obj, true),
    validateUpdate: (obj) => validateRules(obj, true),
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
  },
  table: defaultTable,
  selectableFields: (obj) => objectMetaFields(obj, true),
};

export const clusterroles: ResourceDef = {
  ...common,
  kind: 'ClusterRole',
  listKind: 'ClusterRoleList',
  resource: 'clusterroles',
  singular: 'clusterrole',
  namespaced: false,
  openAPIDefinition: 'io.k8s.api.rbac.v1.ClusterRole',
  strategy: {
    validate: (obj) => [...validateRules(obj, false), ...validateAggregationRule(obj)],
    validateUpdate: (obj) => [...validateRules(obj, false), ...validateAggregationRule(obj)],
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
  },
  table: defaultTable,
  selectableFields: (obj) => objectMetaFields(obj, false),
};

export const rolebindings: ResourceDef = {
  ...common,
  kind: 'RoleBinding',
  listKind: 'RoleBindingList',
  resource: 'rolebindings',
  singular: 'rolebinding',
  namespaced: true,
  openAPIDefinition: 'io.k8s.api.rbac.v1.RoleBinding',
  strategy: {
    default: defaultBinding,
    validate: (obj) => validateBinding(obj, true),
    validateUpdate: (obj, old) => [...validateBinding(obj, true), ...validateRoleRefUnchanged(obj, old)],
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
  },
  table: bindingTable('roleBinding', 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.'),
  selectableFields: (obj) => objectMetaFields(obj, true),
};

export const clusterrolebindings: ResourceDef = {
  ...common,
  kind: 'ClusterRoleBinding',
  listKind: 'ClusterRoleBindingList',
  resource: 'clusterrolebindings',
  singular: 'clusterrolebinding',
  namespaced: false,
  openAPIDefinition: 'io.k8s.api.rbac.v1.ClusterRoleBinding',
  strategy: {
    default: defaultBinding,
    validate: (obj) => validateBinding(obj, false),
    validateUpdate: (obj, old) => [...validateBinding(obj, false), ...validateRoleRefUnchanged(obj, old)],
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: true,
  },
  table: bindingTable('clusterRoleBinding', 'RoleRef can only reference a ClusterRole in the global namespace. If the RoleRef cannot be resolved, the Authorizer must return an error.'),
  selectableFields: (obj) => objectMetaFields(obj, false),
};
