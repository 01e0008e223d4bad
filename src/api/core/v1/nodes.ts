/**
 * nodes (core/v1), after upstream pkg/registry/core/node/strategy.go (v1.32). Unlike most
 * resources, a node's status is kept on create: the kubelet registers its node with status.
 */
import { objectMetaFieldsSet } from '../../../apimachinery/fields.js';
import { newPath } from '../../../apimachinery/errors.js';
import type { ResourceDef } from '../../types.js';
import { defaultNode } from './defaults.js';
import { nodeTable } from './table.js';
import { type Obj, ensureObj, formatBool, objs, specOf, statusOf, str } from './util.js';
import { validateNodeSpec, validateNodeSpecUpdate } from './validation.js';
import { isValidIP } from '../../../apimachinery/validation.js';
import { fieldDuplicate, fieldNotSupported, fieldRequired, goQuote, type FieldErrorList } from '../../../apimachinery/errors.js';

/** core.NodeAddress as `%#v` prints it. */
function goStruct(type: string, address: string): { toString(): string } {
  const text = `core.NodeAddress{Type:${goQuote(type)}, Address:${goQuote(address)}}`;
  return { toString: () => text };
}

const nodeAddressTypes = ['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS'];

function validateNodeStatus(status: Obj): FieldErrorList {
  const errs: FieldErrorList = [];
  const seen = new Set<string>();
  objs(status.addresses).forEach((a, i) => {
    const key = `${str(a.type)}\u0000${str(a.address)}`;
    if (seen.has(key)) {
      errs.push(fieldDuplicate(newPath('status', 'addresses').index(i), goStruct(str(a.type), str(a.address))));
    }
    seen.add(key);
  });
  objs(status.addresses).forEach((a, i) => {
    const p = newPath('status', 'addresses').index(i);
    const type = str(a.type);
    if (!type) errs.push(fieldRequired(p.child('type'), ''));
    else if (!nodeAddressTypes.includes(type)) errs.push(fieldNotSupported(p.child('type'), type, nodeAddressTypes));
    if ((type === 'InternalIP' || type === 'ExternalIP') && str(a.address)) errs.push(...isValidIP(p.child('address'), str(a.address)));
  });
  return errs;
}

export const nodes: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Node',
  listKind: 'NodeList',
  resource: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  namespaced: false,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  openAPIDefinition: 'io.k8s.api.core.v1.Node',
  subresources: ['proxy'],
  strategy: {
    default(node) {
      // NodeSpec is a struct: it always serialises, as `{}` when empty.
      ensureObj(node as Obj, 'spec');
      defaultNode(node as Obj);
    },
    prepareForCreate() {
      // Status is kept: nodes are created by their kubelet together with their status.
    },
    prepareForUpdate(node, old) {
      node.status = structuredClone(old.status ?? {});
    },
    validate: (node) => [...validateNodeSpec(specOf(node)), ...validateNodeStatus(statusOf(node))],
    validateUpdate: (node, old) => [...validateNodeSpecUpdate(specOf(node), specOf(old)), ...validateNodeStatus(statusOf(node))],
    allowCreateOnUpdate: false,
    allowUnconditionalUpdate: true,
  },
  status: {
    prepareForUpdate(node, old) {
      node.spec = structuredClone(old.spec ?? {});
      defaultNode(node as Obj);
    },
    validateUpdate: (node) => validateNodeStatus(statusOf(node)),
  },
  table: nodeTable,
  selectableFields: (node) => ({ ...objectMetaFieldsSet(node.metadata, false), 'spec.unschedulable': formatBool(specOf(node).unschedulable) }),
};
