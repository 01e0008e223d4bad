/**
 * The OpenAPI documents of the served API, built from {@link allResources}:
 *
 *  - `/openapi/v2` → {@link openAPIV2Document} (swagger 2.0, every definition and path),
 *    or {@link openAPIV2DocumentProtobuf} when the client asks for protobuf (kubectl does);
 *  - `/openapi/v3` → {@link openAPIV3Discovery} (one entry per group/version, with a
 *    content hash in its URL so clients cache documents until it changes);
 *  - `/openapi/v3/apis/apps/v1` → {@link openAPIV3GroupDocument} (OpenAPI 3.0: that
 *    group/version's paths and the schemas they reach).
 *
 * kubectl 1.32 reads v3 for `explain` (falling back to v2), and for apply/diff/validation.
 * {@link openAPIDefinitionsV3} and {@link schemaResolver} give strategic merge patch and
 * server-side apply the same schemas clients see.
 *
 * Everything is computed on first use and cached per resource list; the ~1 MB of generated
 * definitions is not read at import time.
 */
import { createHash } from 'node:crypto';
import { SchemaResolver, type OpenAPISchema } from '../../apimachinery/schema.js';
import { allResources } from '../registry.js';
import type { ResourceDef } from '../types.js';
import { generatedDefinitions, metaDefinitions, reachable, renderDefinitions, resourceRoots, servedGroupVersions } from './definitions.js';
import { groupVersionPath, renderPaths } from './paths.js';
import { encodeOpenAPIV2 } from './v2proto.js';

export { fieldExtensions, definitionExtensions, fieldDefaults, type SchemaExtensions } from './extensions.js';

/** The Kubernetes version Flotilla's API answers as; `info.version` of the documents. */
export const OPENAPI_KUBERNETES_VERSION = 'v1.32.0';

/** A serialized document and the hash clients use to cache it (upstream: SHA-512, hex). */
export interface SerializedDocument {
  json: string;
  /** Upper-case hex SHA-512 of `json`, as in upstream's `?hash=` and ETag. */
  hash: string;
}

interface Documents {
  definitionNames: string[];
  v3Definitions?: Record<string, OpenAPISchema>;
  v2?: SerializedDocument & { doc: object };
  v2proto?: Buffer;
  groups?: Map<string, SerializedDocument & { doc: object }>;
  resolver?: SchemaResolver;
}

const cache = new WeakMap<readonly ResourceDef[], Documents>();

function documents(resources: readonly ResourceDef[]): Documents {
  let d = cache.get(resources);
  if (!d) {
    const roots = [...metaDefinitions, ...resources.flatMap(resourceRoots)];
    d = { definitionNames: reachable(roots) };
    cache.set(resources, d);
  }
  return d;
}

function serialize<T extends object>(doc: T): SerializedDocument & { doc: T } {
  const json = JSON.stringify(doc);
  return { doc, json, hash: createHash('sha512').update(json).digest('hex').toUpperCase() };
}

/**
 * The v3 schemas (`components.schemas`) of every definition the served resources reach,
 * with x-kubernetes-* extensions: what {@link SchemaResolver} walks. Cached; do not mutate.
 */
export function openAPIDefinitionsV3(resources: readonly ResourceDef[] = allResources): Record<string, OpenAPISchema> {
  const d = documents(resources);
  d.v3Definitions ??= renderDefinitions(d.definitionNames, resources, 'v3');
  return d.v3Definitions;
}

/** A SchemaResolver over {@link openAPIDefinitionsV3}, shared per resource list. */
export function schemaResolver(resources: readonly ResourceDef[] = allResources): SchemaResolver {
  const d = documents(resources);
  d.resolver ??= new SchemaResolver({ definitions: openAPIDefinitionsV3(resources) });
  return d.resolver;
}

function info(): { title: string; version: string } {
  return { title: 'Kubernetes', version: OPENAPI_KUBERNETES_VERSION };
}

/** The serialized `/openapi/v2` document and its hash (for ETag). */
export function openAPIV2DocumentJSON(resources: readonly ResourceDef[] = allResources): SerializedDocument {
  const d = documents(resources);
  d.v2 ??= serialize({
    swagger: '2.0',
    info: info(),
    paths: renderPaths(resources, 'v2'),
    definitions: renderDefinitions(d.definitionNames, resources, 'v2'),
    securityDefinitions: {
      BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' },
    },
    security: [{ BearerToken: [] }],
  });
  return d.v2;
}

/** The swagger 2.0 document served at `/openapi/v2` (JSON). Cached; do not mutate. */
export function openAPIV2Document(resources: readonly ResourceDef[] = allResources): object {
  openAPIV2DocumentJSON(resources);
  return documents(resources).v2!.doc;
}

/**
 * The media types of the protobuf `/openapi/v2`: clients (kubectl) ask with the `@` form
 * (or the dotted one); responses carry the dotted form, because Go's mime parser rejects
 * `@` in a Content-Type and kubectl then fails the request (upstream answers the same way).
 */
export const OPENAPI_V2_PROTOBUF_ACCEPT = ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'];
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/**
 * `/openapi/v2` as protobuf (gnostic `openapi.v2.Document`), for clients that send
 * `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`, such as kubectl
 * (see {@link OPENAPI_V2_PROTOBUF_ACCEPT}).
 * `hash` is the JSON document's, so one ETag names the document in either encoding.
 */
export function openAPIV2DocumentProtobuf(resources: readonly ResourceDef[] = allResources): { bytes: Buffer; hash: string } {
  const json = openAPIV2DocumentJSON(resources);
  const d = documents(resources);
  d.v2proto ??= encodeOpenAPIV2(d.v2!.doc);
  return { bytes: d.v2proto, hash: json.hash };
}

/** `api/v1` or `apis/<group>/<version>`: the key of a group/version in v3 discovery. */
function groupVersionKey(group: string, version: string): string {
  return groupVersionPath(group, version).slice(1);
}

function groupDocuments(resources: readonly ResourceDef[]): Map<string, SerializedDocument & { doc: object }> {
  const d = documents(resources);
  if (!d.groups) {
    const groups = new Map<string, SerializedDocument & { doc: object }>();
    for (const { group, version } of servedGroupVersions(resources)) {
      const served = resources.filter((r) => r.group === group && r.version === version);
      const names = reachable([...metaDefinitions, ...served.flatMap(resourceRoots)]);
      groups.set(
        groupVersionKey(group, version),
        serialize({
          openapi: '3.0.0',
          info: info(),
          paths: renderPaths(served, 'v3'),
          components: {
            schemas: renderDefinitions(names, resources, 'v3'),
            securitySchemes: {
              BearerToken: { description: 'Bearer Token authentication', in: 'header', name: 'authorization', type: 'apiKey' },
            },
          },
        }),
      );
    }
    d.groups = new Map([...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
  return d.groups;
}

/**
 * The `/openapi/v3` discovery document: `{ paths: { "api/v1": { serverRelativeURL:
 * "/openapi/v3/api/v1?hash=…" }, "apis/apps/v1": … } }`, one entry per served
 * group/version.
 */
export function openAPIV3Discovery(resources: readonly ResourceDef[] = allResources): { paths: Record<string, { serverRelativeURL: string }> } {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const [key, doc] of groupDocuments(resources)) {
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${doc.hash}` };
  }
  return { paths };
}

/**
 * The serialized OpenAPI 3.0 document of one group/version, by its discovery key
 * (`api/v1`, `apis/apps/v1`; a leading `/` or `/openapi/v3/` prefix is accepted), or
 * undefined if no such group/version is served.
 */
export function openAPIV3GroupDocumentJSON(path: string, resources: readonly ResourceDef[] = allResources): SerializedDocument | undefined {
  const key = path.replace(/^\/+/, '').replace(/^openapi\/v3\//, '').replace(/\/+$/, '');
  return groupDocuments(resources).get(key);
}

/** The OpenAPI 3.0 document of one group/version (see {@link openAPIV3GroupDocumentJSON}). Cached; do not mutate. */
export function openAPIV3GroupDocument(path: string, resources: readonly ResourceDef[] = allResources): object | undefined {
  const key = path.replace(/^\/+/, '').replace(/^openapi\/v3\//, '').replace(/\/+$/, '');
  return groupDocuments(resources).get(key)?.doc;
}

/** Which npm packages (and versions) the descriptions were generated from. */
export function openAPISource(): Record<string, string> {
  return { ...generatedDefinitions().source };
}
