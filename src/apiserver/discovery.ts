/**
 * Discovery documents, all derived from the served ResourceDefs: the legacy ones
 * (/api APIVersions, /apis APIGroupList, /api/v1 and /apis/<g>/<v> APIResourceList) and
 * aggregated discovery (apidiscovery.k8s.io v2 and v2beta1 APIGroupDiscoveryList), which
 * kubectl 1.32 asks for first.
 */
import { createHash } from 'node:crypto';
import type { ResourceDef } from '../api/types.js';

export interface GroupVersions {
  group: string;
  versions: string[];
  resources: Map<string, ResourceDef[]>;
}

/** Groups in upstream's order: the order of first appearance (core first). */
export function groupResources(defs: readonly ResourceDef[]): GroupVersions[] {
  const out = new Map<string, GroupVersions>();
  for (const d of defs) {
    let g = out.get(d.group);
    if (!g) out.set(d.group, (g = { group: d.group, versions: [], resources: new Map() }));
    if (!g.versions.includes(d.version)) g.versions.push(d.version);
    const list = g.resources.get(d.version) ?? [];
    list.push(d);
    g.resources.set(d.version, list);
  }
  return [...out.values()];
}

const gvString = (group: string, version: string) => (group ? `${group}/${version}` : version);

/** Upstream's storageVersionHash: base64 of the first 8 bytes of sha256("<group>/<version>/<kind>"). */
function storageVersionHash(d: ResourceDef): string {
  return createHash('sha256').update(`${d.group}/${d.version}/${d.kind}`).digest().subarray(0, 8).toString('base64');
}

const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  finalize: ['update'],
  binding: ['create'],
  eviction: ['create'],
  log: ['get'],
  exec: ['create', 'get'],
  attach: ['create', 'get'],
  portforward: ['create', 'get'],
  proxy: ['create', 'delete', 'get', 'patch', 'update'],
  ephemeralcontainers: ['get', 'patch', 'update'],
  resize: ['get', 'patch', 'update'],
  token: ['create'],
  approval: ['get', 'patch', 'update'],
};

interface Sub {
  name: string;
  kind: { group: string; version: string; kind: string };
  verbs: string[];
}

/** The subresources a definition serves, with the kinds they answer in. */
export function subresourcesOf(d: ResourceDef): Sub[] {
  const own = { group: d.group, version: d.version, kind: d.kind };
  const subs: Sub[] = [];
  const names = new Set<string>(d.subresources ?? []);
  if (d.status) names.add('status');
  if (d.scale) names.add('scale');
  for (const name of [...names].sort()) {
    let kind = own;
    if (name === 'scale') kind = { group: 'autoscaling', version: 'v1', kind: 'Scale' };
    else if (name === 'binding') kind = { group: '', version: 'v1', kind: 'Binding' };
    else if (name === 'eviction') kind = { group: 'policy', version: 'v1', kind: 'Eviction' };
    else if (name === 'log' || name === 'exec' || name === 'attach' || name === 'portforward' || name === 'proxy') {
      kind = { group: '', version: 'v1', kind: name === 'log' ? 'Pod' : name === 'proxy' ? `${d.kind}ProxyOptions` : `Pod${name === 'exec' ? 'Exec' : name === 'attach' ? 'Attach' : 'PortForward'}Options` };
    } else if (name === 'token') kind = { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
    subs.push({ name, kind, verbs: SUBRESOURCE_VERBS[name] ?? ['get'] });
  }
  return subs;
}

/** /api/v1 or /apis/<g>/<v>: the legacy APIResourceList. */
export function apiResourceList(group: string, version: string, defs: readonly ResourceDef[]): unknown {
  const resources: unknown[] = [];
  const sorted = [...defs].sort((a, b) => a.resource.localeCompare(b.resource));
  for (const d of sorted) {
    resources.push({
      name: d.resource,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: [...d.verbs].sort(),
      ...(d.shortNames?.length ? { shortNames: d.shortNames } : {}),
      ...(d.categories?.length ? { categories: d.categories } : {}),
      storageVersionHash: storageVersionHash(d),
    });
    for (const s of subresourcesOf(d)) {
      resources.push({
        name: `${d.resource}/${s.name}`,
        singularName: d.singular,
        namespaced: d.namespaced,
        ...(s.kind.group !== d.group || s.kind.version !== d.version ? { group: s.kind.group, version: s.kind.version } : {}),
        kind: s.kind.kind,
        verbs: s.verbs,
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: gvString(group, version), resources };
}

/** /api: the legacy APIVersions. */
export function apiVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(g: GroupVersions): unknown {
  const versions = g.versions.map((v) => ({ groupVersion: gvString(g.group, v), version: v }));
  return { name: g.group, versions, preferredVersion: versions[0] };
}

/** /apis: the legacy APIGroupList (named groups only). */
export function apiGroupList(groups: readonly GroupVersions[]): unknown {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.filter((g) => g.group !== '').map(apiGroup) };
}

/** /apis/<group>: one APIGroup. */
export function apiGroupDoc(g: GroupVersions): unknown {
  return { kind: 'APIGroup', apiVersion: 'v1', ...(apiGroup(g) as object) };
}

/** Aggregated discovery (apidiscovery.k8s.io/<v>): one APIGroupDiscoveryList for /api (core) or /apis (the rest). */
export function aggregatedDiscovery(groups: readonly GroupVersions[], core: boolean, apiVersion: 'v2' | 'v2beta1'): unknown {
  const items = groups
    .filter((g) => (g.group === '') === core)
    .map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((v) => ({
        version: v,
        resources: [...g.resources.get(v)!]
          .sort((a, b) => a.resource.localeCompare(b.resource))
          .map((d) => ({
            resource: d.resource,
            responseKind: { group: d.group, version: d.version, kind: d.kind },
            scope: d.namespaced ? 'Namespaced' : 'Cluster',
            singularResource: d.singular,
            verbs: [...d.verbs].sort(),
            ...(d.shortNames?.length ? { shortNames: d.shortNames } : {}),
            ...(d.categories?.length ? { categories: d.categories } : {}),
            ...(subresourcesOf(d).length
              ? { subresources: subresourcesOf(d).map((s) => ({ subresource: s.name, responseKind: s.kind, verbs: s.verbs })) }
              : {}),
          })),
        freshness: 'Current',
      })),
    }));
  return { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${apiVersion}`, metadata: {}, items };
}
