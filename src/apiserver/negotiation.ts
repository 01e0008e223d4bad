/**
 * Content negotiation as the API server does it (k8s.io/apiserver/pkg/endpoints/handlers/
 * negotiation): the Accept header picks JSON, YAML, a meta.k8s.io Table, or aggregated
 * discovery; protobuf is not served, so a client that also accepts JSON gets JSON and one
 * that accepts only protobuf gets 406.
 */
import { newNotAcceptable } from '../apimachinery/index.js';

export type Output =
  | { kind: 'json' }
  | { kind: 'yaml' }
  | { kind: 'table' }
  | { kind: 'partial'; list: boolean }
  | { kind: 'discovery'; version: 'v2' | 'v2beta1' };

interface Clause {
  type: string;
  params: Record<string, string>;
}

export function parseAccept(header: string | undefined): Clause[] {
  if (!header) return [];
  return header.split(',').map((part) => {
    const [type, ...rest] = part.split(';').map((s) => s.trim());
    const params: Record<string, string> = {};
    for (const p of rest) {
      const i = p.indexOf('=');
      if (i > 0) params[p.slice(0, i).trim().toLowerCase()] = p.slice(i + 1).trim().replace(/^"|"$/g, '');
    }
    return { type: (type ?? '').toLowerCase(), params };
  });
}

const SUPPORTED = ['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf'];

/**
 * Chooses the output for a request; `allow` says which special outputs the endpoint has.
 * @throws 406 NotAcceptable when no clause can be served.
 */
export function negotiate(header: string | undefined, allow: { table?: boolean; discovery?: boolean }): Output {
  const clauses = parseAccept(header);
  if (clauses.length === 0) return { kind: 'json' };
  for (const c of clauses) {
    const jsonish = c.type === 'application/json' || c.type === '*/*' || c.type === 'application/*';
    if (c.params.as) {
      if (!jsonish) continue;
      if (allow.table && c.params.as === 'Table' && c.params.g === 'meta.k8s.io' && (c.params.v === 'v1' || c.params.v === 'v1beta1')) {
        return { kind: 'table' };
      }
      if (allow.table && (c.params.as === 'PartialObjectMetadata' || c.params.as === 'PartialObjectMetadataList') && c.params.g === 'meta.k8s.io') {
        return { kind: 'partial', list: c.params.as === 'PartialObjectMetadataList' };
      }
      if (allow.discovery && c.params.as === 'APIGroupDiscoveryList' && c.params.g === 'apidiscovery.k8s.io' && (c.params.v === 'v2' || c.params.v === 'v2beta1')) {
        return { kind: 'discovery', version: c.params.v };
      }
      continue;
    }
    if (jsonish) return { kind: 'json' };
    if (c.type === 'application/yaml') return { kind: 'yaml' };
  }
  throw newNotAcceptable(SUPPORTED);
}

/** The Content-Type header for an aggregated discovery answer. */
export function discoveryContentType(version: 'v2' | 'v2beta1'): string {
  return `application/json;g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`;
}
