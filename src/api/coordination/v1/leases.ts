/**
 * coordination.k8s.io/v1 Lease: node heartbeats and leader election
 * (pkg/registry/coordination/lease, pkg/apis/coordination/validation), with the table
 * NAME HOLDER AGE. A PUT may create a lease, and updates must carry a resourceVersion.
 */
import {
  fieldForbidden, fieldInvalid, fieldNotSupported, newPath, type FieldError, type FieldPath,
} from '../../../apimachinery/errors.js';
import type { KObject } from '../../../apimachinery/meta.js';
import { isQualifiedName } from '../../../apimachinery/validation.js';
import { ageColumn, column, nameColumn, objectAge, objectName } from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import { asNum, asObj, asStr, isSet, objectMetaFields, standardVerbs, type Obj } from '../../apps/v1/helpers.js';

/** Kubernetes-defined coordinated leader election strategies. */
const VALID_LEASE_STRATEGIES = ['OldestEmulationVersion'];

function specOf(obj: KObject): Obj {
  return asObj(obj.spec) ?? {};
}

/** ValidateCoordinatedLeaseStrategy (upstream reports it at `<path>.strategy`). */
function validateCoordinatedLeaseStrategy(strategy: string, fldPath: FieldPath): FieldError[] {
  if (strategy.split('/').length === 1) {
    return VALID_LEASE_STRATEGIES.includes(strategy) ? [] : [fieldNotSupported(fldPath.child('strategy'), strategy, VALID_LEASE_STRATEGIES)];
  }
  return isQualifiedName(strategy).map((m) => fieldInvalid(fldPath.child('strategy'), strategy, m));
}

/** ValidateLeaseSpec. */
export function validateLeaseSpec(spec: Obj, fldPath: FieldPath): FieldError[] {
  const errs: FieldError[] = [];
  if (isSet(spec.leaseDurationSeconds) && asNum(spec.leaseDurationSeconds) <= 0) {
    errs.push(fieldInvalid(fldPath.child('leaseDurationSeconds'), asNum(spec.leaseDurationSeconds), 'must be greater than 0'));
  }
  if (isSet(spec.leaseTransitions) && asNum(spec.leaseTransitions) < 0) {
    errs.push(fieldInvalid(fldPath.child('leaseTransitions'), asNum(spec.leaseTransitions), 'must be greater than or equal to 0'));
  }
  if (isSet(spec.strategy)) errs.push(...validateCoordinatedLeaseStrategy(asStr(spec.strategy), fldPath.child('strategy')));
  if (asStr(spec.preferredHolder) !== '' && asStr(spec.strategy) === '') {
    errs.push(fieldForbidden(fldPath.child('preferredHolder'), 'may only be specified if `strategy` is defined'));
  }
  return errs;
}

/**
 * CoordinatedLeaderElection is alpha (off) in v1.32: spec.strategy and spec.preferredHolder
 * are dropped unless the stored lease already has them.
 */
function dropDisabledFields(obj: KObject, old?: KObject): void {
  const spec = asObj(obj.spec);
  if (!spec) return;
  const oldSpec = old ? specOf(old) : undefined;
  if (!isSet(oldSpec?.strategy)) delete spec.strategy;
  if (!isSet(oldSpec?.preferredHolder)) delete spec.preferredHolder;
}

export const leases: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  listKind: 'LeaseList',
  resource: 'leases',
  singular: 'lease',
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.coordination.v1.Lease',
  strategy: {
    prepareForCreate: (obj) => dropDisabledFields(obj),
    prepareForUpdate: (obj, old) => dropDisabledFields(obj, old),
    validate: (obj) => validateLeaseSpec(specOf(obj), newPath('spec')),
    validateUpdate: (obj) => validateLeaseSpec(specOf(obj), newPath('spec')),
    allowCreateOnUpdate: true,
    allowUnconditionalUpdate: false,
  },
  table: {
    columns: [
      nameColumn,
      column('Holder', 'string', 'holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.'),
      ageColumn,
    ],
    row: (obj, nowMs) => [objectName(obj), asStr(specOf(obj).holderIdentity), objectAge(obj, nowMs)],
  },
  selectableFields: (obj) => objectMetaFields(obj, true),
};
