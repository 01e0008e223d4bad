/**
 * apps/v1 ControllerRevision: the immutable snapshots StatefulSets and DaemonSets keep of
 * their templates (pkg/registry/apps/controllerrevision), with the table NAME CONTROLLER
 * REVISION AGE. `data` may not change after creation.
 */
import { getControllerOf, parseGroupVersion, type KObject } from '../../../apimachinery/meta.js';
import { ageColumn, column, nameColumn, objectAge, objectName } from '../../printers.js';
import type { ResourceDef } from '../../types.js';
import { asNum, objectMetaFields, standardVerbs } from './helpers.js';
import { validateControllerRevision, validateControllerRevisionUpdate } from './validation.js';

/**
 * The CONTROLLER cell: `<kind>.<group>/<name>` lower-cased kind (GroupKind.String()), e.g.
 * `statefulset.apps/web`, or `<none>` without a controller reference.
 */
export function controllerCell(obj: KObject): string {
  const ref = getControllerOf(obj);
  if (!ref) return '<none>';
  const { group } = parseGroupVersion(ref.apiVersion ?? '');
  const kind = ref.kind ?? '';
  if (group === '' && kind === '') return ref.name ?? '';
  const gk = group === '' ? kind : `${kind}.${group}`;
  return `${gk.toLowerCase()}/${ref.name ?? ''}`;
}

export const controllerrevisions: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ControllerRevision',
  listKind: 'ControllerRevisionList',
  resource: 'controllerrevisions',
  singular: 'controllerrevision',
  namespaced: true,
  verbs: standardVerbs,
  openAPIDefinition: 'io.k8s.api.apps.v1.ControllerRevision',
  strategy: {
    validate: (obj) => validateControllerRevision(obj),
    validateUpdate: (obj, old) => validateControllerRevisionUpdate(obj, old),
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  table: {
    columns: [
      nameColumn,
      column('Controller', 'string', 'Controller of the object'),
      column('Revision', 'string', 'Revision indicates the revision of the state represented by Data.'),
      ageColumn,
    ],
    row: (obj, nowMs) => [objectName(obj), controllerCell(obj), asNum(obj.revision), objectAge(obj, nowMs)],
  },
  selectableFields: (obj) => objectMetaFields(obj, true),
};
