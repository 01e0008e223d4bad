/**
 * The `paths` of the OpenAPI documents: one entry per REST operation of each served
 * resource, shaped like upstream's (operationId, `x-kubernetes-action`,
 * `x-kubernetes-group-version-kind`, query parameters). kubectl reads them: its
 * QueryParamVerifier looks for the `fieldValidation` / `dryRun` parameters of a kind's
 * PATCH operation before it relies on server-side field validation and dry-run.
 */
import type { OpenAPISchema } from '../../apimachinery/schema.js';
import type { ResourceDef } from '../types.js';
import { META, listDefinition, subresourceDefinitions, type Dialect } from './definitions.js';

/** A query or path parameter, in both dialects' shapes (v2 inline type, v3 `schema`). */
interface ParamSpec {
  name: string;
  in: 'query' | 'path';
  type: 'string' | 'boolean' | 'integer';
  description: string;
}

const q = (name: string, type: ParamSpec['type'], description: string): ParamSpec => ({ name, in: 'query', type, description });

const P = {
  pretty: q('pretty', 'string', "If 'true', then the output is pretty printed. Defaults to 'false' unless the user-agent indicates a browser or command-line HTTP tool (curl and wget)."),
  dryRun: q('dryRun', 'string', 'When present, indicates that modifications should not be persisted. An invalid or unrecognized dryRun directive will result in an error response and no further processing of the request. Valid values are: - All: all dry run stages will be processed'),
  fieldManager: q('fieldManager', 'string', 'fieldManager is a name associated with the actor or entity that is making these changes. The value must be less than or 128 characters long, and only contain printable characters, as defined by https://golang.org/pkg/unicode/#IsPrint.'),
  fieldValidation: q('fieldValidation', 'string', 'fieldValidation instructs the server on how to handle objects in the request (POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore: This will ignore any unknown fields that are silently dropped from the object, and will ignore all but the last duplicate field that the decoder encounters. - Warn: This will send a warning via the standard warning response header for each unknown field that is dropped from the object, and for each duplicate field that is encountered. - Strict: This will fail the request with a BadRequest error if any unknown fields would be dropped from the object, or if any duplicate fields are present. The error returned from the server will contain all unknown and duplicate fields encountered.'),
  force: q('force', 'boolean', 'Force is going to "force" Apply requests. It means user will re-acquire conflicting fields owned by other people. Force flag must be unset for non-apply patch requests.'),
  allowWatchBookmarks: q('allowWatchBookmarks', 'boolean', 'allowWatchBookmarks requests watch events with type "BOOKMARK". Servers that do not implement bookmarks may ignore this flag and bookmarks are sent at the server\'s discretion.'),
  continue: q('continue', 'string', 'The continue option should be set when retrieving more results from the server.'),
  fieldSelector: q('fieldSelector', 'string', 'A selector to restrict the list of returned objects by their fields. Defaults to everything.'),
  labelSelector: q('labelSelector', 'string', 'A selector to restrict the list of returned objects by their labels. Defaults to everything.'),
  limit: q('limit', 'integer', 'limit is a maximum number of responses to return for a list call.'),
  resourceVersion: q('resourceVersion', 'string', 'resourceVersion sets a constraint on what resource versions a request may be served from. Defaults to unset'),
  resourceVersionMatch: q('resourceVersionMatch', 'string', 'resourceVersionMatch determines how resourceVersion is applied to list calls. Defaults to unset'),
  sendInitialEvents: q('sendInitialEvents', 'boolean', '`sendInitialEvents=true` may be set together with `watch=true`: the watch stream begins with synthetic events for the current state of all objects.'),
  timeoutSeconds: q('timeoutSeconds', 'integer', 'Timeout for the list/watch call.'),
  watch: q('watch', 'boolean', 'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.'),
  gracePeriodSeconds: q('gracePeriodSeconds', 'integer', 'The duration in seconds before the object should be deleted. Value must be non-negative integer. The value zero indicates delete immediately.'),
  ignoreStoreReadError: q('ignoreStoreReadErrorWithClusterBreakingPotential', 'boolean', 'if set to true, it will trigger an unsafe deletion of the resource in case the normal deletion flow fails with a corrupt object error.'),
  orphanDependents: q('orphanDependents', 'boolean', 'Deprecated: please use the PropagationPolicy, this field will be deprecated in 1.7. Should the dependent objects be orphaned.'),
  propagationPolicy: q('propagationPolicy', 'string', "Whether and how garbage collection will be performed. Acceptable values are: 'Orphan', 'Foreground', 'Background'."),
} satisfies Record<string, ParamSpec>;

const listParams = [P.allowWatchBookmarks, P.continue, P.fieldSelector, P.labelSelector, P.limit, P.resourceVersion, P.resourceVersionMatch, P.sendInitialEvents, P.timeoutSeconds, P.watch];
const writeParams = [P.dryRun, P.fieldManager, P.fieldValidation];
const deleteParams = [P.dryRun, P.gracePeriodSeconds, P.ignoreStoreReadError, P.orphanDependents, P.propagationPolicy];

const pathParam = (name: string, description: string): ParamSpec => ({ name, in: 'path', type: 'string', description });

/** Upstream's Go-style group/version name used in operationIds and tags ("AppsV1", "CoreV1"). */
export function operationGroupVersion(group: string, version: string): string {
  const g = group === '' ? 'core' : group.replace(/\.k8s\.io$/, '').replace(/\.apiserver$/, '');
  const parts = g.split('.');
  const name = parts.map((p) => p.charAt(0).toUpperCase() + p.slice(1)).join('');
  return name + version.charAt(0).toUpperCase() + version.slice(1);
}

function tag(group: string, version: string): string {
  const g = group === '' ? 'core' : group.replace(/\.k8s\.io$/, '').replace(/\./g, '_');
  return `${g}_${version}`;
}

/** URL prefix of a group/version: `/api/v1` or `/apis/<group>/<version>`. */
export function groupVersionPath(group: string, version: string): string {
  return group === '' ? `/api/${version}` : `/apis/${group}/${version}`;
}

interface Op {
  method: 'get' | 'put' | 'post' | 'patch' | 'delete';
  action: 'get' | 'list' | 'post' | 'put' | 'patch' | 'delete' | 'deletecollection' | 'watchlist';
  operationId: string;
  description: string;
  params: ParamSpec[];
  body?: string;
  response: string;
  gvk: { group: string; version: string; kind: string };
  status: number[];
}

/** Builds the operations of one resource, grouped by path, in upstream's layout. */
function resourceOperations(r: ResourceDef): Map<string, { params: ParamSpec[]; ops: Op[] }> {
  const gv = operationGroupVersion(r.group, r.version);
  const ns = r.namespaced ? 'Namespaced' : '';
  const base = groupVersionPath(r.group, r.version);
  const coll = r.namespaced ? `${base}/namespaces/{namespace}/${r.resource}` : `${base}/${r.resource}`;
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const verbs = new Set(r.verbs);
  const nameParam = pathParam('name', `name of the ${r.kind}`);
  const nsParam = pathParam('namespace', 'object name and auth scope, such as for teams and projects');
  const collParams = r.namespaced ? [nsParam, P.pretty] : [P.pretty];
  const itemParams = r.namespaced ? [nameParam, nsParam, P.pretty] : [nameParam, P.pretty];
  const kind = r.openAPIDefinition;
  const list = listDefinition(r);
  const paths = new Map<string, { params: ParamSpec[]; ops: Op[] }>();
  const add = (path: string, params: ParamSpec[], op: Omit<Op, 'gvk'> & { gvk?: Op['gvk'] }): void => {
    let entry = paths.get(path);
    if (!entry) paths.set(path, (entry = { params, ops: [] }));
    entry.ops.push({ gvk, ...op });
  };

  if (verbs.has('list')) {
    add(coll, collParams, { method: 'get', action: 'list', operationId: `list${gv}${ns}${r.kind}`, description: `list or watch objects of kind ${r.kind}`, params: listParams, response: list, status: [200] });
  }
  if (verbs.has('create')) {
    add(coll, collParams, { method: 'post', action: 'post', operationId: `create${gv}${ns}${r.kind}`, description: `create a ${r.kind}`, params: writeParams, body: kind, response: kind, status: [200, 201, 202] });
  }
  if (verbs.has('deletecollection')) {
    add(coll, collParams, { method: 'delete', action: 'deletecollection', operationId: `deleteCollection${gv}${ns}${r.kind}`, description: `delete collection of ${r.kind}`, params: [...listParams.filter((p) => p !== P.watch && p !== P.allowWatchBookmarks), ...deleteParams].sort(byName), body: `${META}.DeleteOptions`, response: `${META}.Status`, status: [200] });
  }
  const item = `${coll}/{name}`;
  if (verbs.has('get')) {
    add(item, itemParams, { method: 'get', action: 'get', operationId: `read${gv}${ns}${r.kind}`, description: `read the specified ${r.kind}`, params: [], response: kind, status: [200] });
  }
  if (verbs.has('update')) {
    add(item, itemParams, { method: 'put', action: 'put', operationId: `replace${gv}${ns}${r.kind}`, description: `replace the specified ${r.kind}`, params: writeParams, body: kind, response: kind, status: [200, 201] });
  }
  if (verbs.has('patch')) {
    add(item, itemParams, { method: 'patch', action: 'patch', operationId: `patch${gv}${ns}${r.kind}`, description: `partially update the specified ${r.kind}`, params: [...writeParams, P.force].sort(byName), body: `${META}.Patch`, response: kind, status: [200, 201] });
  }
  if (verbs.has('delete')) {
    add(item, itemParams, { method: 'delete', action: 'delete', operationId: `delete${gv}${ns}${r.kind}`, description: `delete a ${r.kind}`, params: deleteParams, body: `${META}.DeleteOptions`, response: `${META}.Status`, status: [200, 202] });
  }
  const sub = (name: string, Name: string, def: string, subGVK: Op['gvk']): void => {
    const path = `${item}/${name}`;
    add(path, itemParams, { method: 'get', action: 'get', operationId: `read${gv}${ns}${r.kind}${Name}`, description: `read ${name} of the specified ${r.kind}`, params: [], response: def, status: [200], gvk: subGVK });
    add(path, itemParams, { method: 'put', action: 'put', operationId: `replace${gv}${ns}${r.kind}${Name}`, description: `replace ${name} of the specified ${r.kind}`, params: writeParams, body: def, response: def, status: [200, 201], gvk: subGVK });
    add(path, itemParams, { method: 'patch', action: 'patch', operationId: `patch${gv}${ns}${r.kind}${Name}`, description: `partially update ${name} of the specified ${r.kind}`, params: [...writeParams, P.force].sort(byName), body: `${META}.Patch`, response: def, status: [200, 201], gvk: subGVK });
  };
  if (r.status) sub('status', 'Status', kind, gvk);
  if (r.scale) sub('scale', 'Scale', subresourceDefinitions.scale, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  // Subresources that take a body of their own kind: POST pods/binding, pods/eviction.
  const created: Record<string, { Name: string; gvk: Op['gvk'] }> = {
    binding: { Name: 'Binding', gvk: { group: '', version: 'v1', kind: 'Binding' } },
    eviction: { Name: 'Eviction', gvk: { group: 'policy', version: 'v1', kind: 'Eviction' } },
  };
  for (const name of r.subresources ?? []) {
    const c = created[name];
    if (c) {
      const def = subresourceDefinitions[name];
      add(`${item}/${name}`, itemParams, { method: 'post', action: 'post', operationId: `create${gv}${ns}${r.kind}${c.Name}`, description: `create ${name} of a ${r.kind}`, params: writeParams, body: def, response: def, status: [200, 201, 202], gvk: c.gvk });
    } else if (name === 'finalize') {
      add(`${item}/finalize`, itemParams, { method: 'put', action: 'put', operationId: `replace${gv}${ns}${r.kind}Finalize`, description: `replace finalize of the specified ${r.kind}`, params: writeParams, body: kind, response: kind, status: [200, 201] });
    }
  }
  if (r.namespaced && verbs.has('list')) {
    add(`${base}/${r.resource}`, [P.pretty], { method: 'get', action: 'list', operationId: `list${gv}${r.kind}ForAllNamespaces`, description: `list or watch objects of kind ${r.kind}`, params: listParams, response: list, status: [200] });
  }
  return paths;
}

function byName(a: ParamSpec, b: ParamSpec): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

const STATUS_TEXT: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 401: 'Unauthorized' };
const MEDIA = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];
const PATCH_MEDIA = ['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml'];

function renderParam(p: ParamSpec, dialect: Dialect): Record<string, unknown> {
  const common = { description: p.description, in: p.in, name: p.name, ...(p.in === 'path' ? { required: true } : {}) };
  if (dialect === 'v2') return { ...common, type: p.type, uniqueItems: true };
  return { ...common, schema: { type: p.type, uniqueItems: true } };
}

function ref(name: string, dialect: Dialect): OpenAPISchema {
  return { $ref: dialect === 'v2' ? `#/definitions/${name}` : `#/components/schemas/${name}` };
}

function renderOp(op: Op, r: ResourceDef, dialect: Dialect): Record<string, unknown> {
  const out: Record<string, unknown> = { description: op.description, operationId: op.operationId };
  const params = op.params.map((p) => renderParam(p, dialect));
  const responses: Record<string, unknown> = {};
  for (const code of [...op.status, 401]) {
    if (code === 401) responses[code] = { description: STATUS_TEXT[code] };
    else if (dialect === 'v2') responses[code] = { description: STATUS_TEXT[code], schema: ref(op.response, 'v2') };
    else responses[code] = { description: STATUS_TEXT[code], content: Object.fromEntries(MEDIA.map((m) => [m, { schema: ref(op.response, 'v3') }])) };
  }
  if (dialect === 'v2') {
    if (op.body) params.unshift({ in: 'body', name: 'body', required: op.method !== 'delete', schema: ref(op.body, 'v2') });
    out.consumes = op.method === 'patch' ? PATCH_MEDIA : ['*/*'];
    out.produces = [...MEDIA, ...(op.action === 'list' ? ['application/json;stream=watch', 'application/vnd.kubernetes.protobuf;stream=watch'] : [])];
    out.schemes = ['https'];
  } else if (op.body) {
    const media = op.method === 'patch' ? PATCH_MEDIA : ['*/*'];
    out.requestBody = { content: Object.fromEntries(media.map((m) => [m, { schema: ref(op.body!, 'v3') }])), ...(op.method === 'delete' ? {} : { required: true }) };
  }
  if (params.length > 0) out.parameters = params;
  out.responses = responses;
  out.tags = [tag(r.group, r.version)];
  out['x-kubernetes-action'] = op.action;
  out['x-kubernetes-group-version-kind'] = op.gvk;
  return out;
}

/** The `paths` object for `resources` in one dialect, sorted by path like upstream. */
export function renderPaths(resources: readonly ResourceDef[], dialect: Dialect): Record<string, unknown> {
  const out: Record<string, Record<string, unknown>> = {};
  const gvs = new Map<string, { group: string; version: string }>();
  for (const r of resources) {
    gvs.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
    for (const [path, { params, ops }] of resourceOperations(r)) {
      const item = (out[path] ??= { parameters: params.map((p) => renderParam(p, dialect)) });
      for (const op of ops) item[op.method] = renderOp(op, r, dialect);
    }
  }
  // Discovery of each group/version: GET /apis/<group>/<version>/ → APIResourceList.
  for (const { group, version } of gvs.values()) {
    const gv = operationGroupVersion(group, version);
    const response = `${META}.APIResourceList`;
    const op: Record<string, unknown> = { description: 'get available resources', operationId: `get${gv}APIResources`, tags: [tag(group, version)] };
    if (dialect === 'v2') {
      Object.assign(op, { consumes: MEDIA, produces: MEDIA, schemes: ['https'], responses: { 200: { description: 'OK', schema: ref(response, 'v2') }, 401: { description: 'Unauthorized' } } });
    } else {
      op.responses = { 200: { description: 'OK', content: Object.fromEntries(MEDIA.map((m) => [m, { schema: ref(response, 'v3') }])) }, 401: { description: 'Unauthorized' } };
    }
    out[`${groupVersionPath(group, version)}/`] = { get: op };
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
