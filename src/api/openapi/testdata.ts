/**
 * Resources for the OpenAPI tests: the registry's own definitions where they exist, and
 * minimal stand-ins for the rest, so the documents can be checked (and served to the real
 * kubectl) whatever the registry holds today.
 */
import { allResources } from '../registry.js';
import type { ResourceDef, Verb } from '../types.js';

const ALL_VERBS: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

/** A ResourceDef with the fields the OpenAPI documents read; behaviour is inert. */
export function newResourceDef(o: {
  group: string;
  version?: string;
  kind: string;
  resource: string;
  namespaced?: boolean;
  shortNames?: string[];
  status?: boolean;
  scale?: boolean;
  subresources?: string[];
}): ResourceDef {
  const version = o.version ?? 'v1';
  const pkg = o.group === '' ? 'core' : o.group.split('.')[0];
  return {
    group: o.group,
    version,
    kind: o.kind,
    listKind: `${o.kind}List`,
    resource: o.resource,
    singular: o.kind.toLowerCase(),
    shortNames: o.shortNames,
    namespaced: o.namespaced ?? true,
    verbs: ALL_VERBS,
    openAPIDefinition: `io.k8s.api.${pkg}.${version}.${o.kind}`,
    strategy: { validate: () => [], validateUpdate: () => [] },
    status: o.status ? { prepareForUpdate: () => {}, validateUpdate: () => [] } : undefined,
    scale: o.scale ? { specReplicasPath: ['spec', 'replicas'], statusReplicasPath: ['status', 'replicas'] } : undefined,
    subresources: o.subresources,
    table: { columns: [], row: () => [] },
    selectableFields: () => ({}),
  };
}

const stand_ins: ResourceDef[] = [
  newResourceDef({ group: '', kind: 'Namespace', resource: 'namespaces', namespaced: false, shortNames: ['ns'], status: true, subresources: ['finalize'] }),
  newResourceDef({ group: '', kind: 'Pod', resource: 'pods', shortNames: ['po'], status: true, subresources: ['binding', 'eviction', 'log'] }),
  newResourceDef({ group: '', kind: 'Service', resource: 'services', shortNames: ['svc'], status: true }),
  newResourceDef({ group: '', kind: 'ConfigMap', resource: 'configmaps', shortNames: ['cm'] }),
  newResourceDef({ group: 'apps', kind: 'ReplicaSet', resource: 'replicasets', shortNames: ['rs'], status: true, scale: true }),
  newResourceDef({ group: 'apps', kind: 'Deployment', resource: 'deployments', shortNames: ['deploy'], status: true, scale: true }),
];

let cached: ResourceDef[] | undefined;

/** The registry's resources, plus stand-ins for the kinds above that it does not define yet (one shared array, so document caches hit). */
export function testResources(): ResourceDef[] {
  if (cached) return cached;
  const missing = stand_ins.filter((s) => !allResources.some((r) => r.group === s.group && r.version === s.version && r.kind === s.kind));
  cached = [...allResources, ...missing];
  return cached;
}
