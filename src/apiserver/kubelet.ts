/**
 * Pod subresources served by the node's kubelet (upstream pkg/registry/core/pod/rest/log.go
 * and the kubelet client): the API server checks the request against the stored Pod and
 * Node, then streams the kubelet's answer (GET https://<node>:<kubeletPort>/containerLogs/
 * <ns>/<pod>/<container>) back to the client.
 */
import { request, type RequestOptions } from 'node:https';
import type { IncomingMessage } from 'node:http';
import { newBadRequest, newInternalError, newNotFound, newServiceUnavailable, type KObject } from '../apimachinery/index.js';

type Obj = Record<string, unknown>;

export interface KubeletClientTLS {
  cert: string;
  key: string;
}

/** Where a node's kubelet listens: preferred address and daemonEndpoints port (default 10250). */
export function kubeletLocation(node: KObject): { host: string; port: number } | undefined {
  const status = (node.status ?? {}) as Obj;
  const addrs = (status.addresses as { type?: string; address?: string }[] | undefined) ?? [];
  const order = ['InternalIP', 'Hostname', 'InternalDNS', 'ExternalIP', 'ExternalDNS'];
  let host: string | undefined;
  for (const t of order) {
    host = addrs.find((a) => a.type === t && a.address)?.address;
    if (host) break;
  }
  if (!host) return undefined;
  const port = ((status.daemonEndpoints as Obj | undefined)?.kubeletEndpoint as { Port?: number } | undefined)?.Port ?? 10250;
  return { host, port };
}

/**
 * Picks the container a log request is for and checks it can have logs, with upstream's
 * messages (400 BadRequest).
 */
export function logContainer(pod: KObject, requested: string | undefined, previous = false): string {
  const name = pod.metadata?.name ?? '';
  const spec = (pod.spec ?? {}) as Obj;
  const containers = ((spec.containers as { name: string }[] | undefined) ?? []).map((c) => c.name);
  const init = ((spec.initContainers as { name: string }[] | undefined) ?? []).map((c) => c.name);
  const ephemeral = ((spec.ephemeralContainers as { name: string }[] | undefined) ?? []).map((c) => c.name);
  let container = requested;
  if (!container) {
    if (containers.length === 1) container = containers[0];
    else {
      const all = [...containers];
      const choices = `choose one of: [${all.join(' ')}]` + (init.length ? ` or one of the init containers: [${init.join(' ')}]` : '') + (ephemeral.length ? ` or one of the ephemeral containers: [${ephemeral.join(' ')}]` : '');
      throw newBadRequest(`a container name must be specified for pod ${name}, ${choices}`);
    }
  } else if (![...containers, ...init, ...ephemeral].includes(container)) {
    throw newBadRequest(`container ${container} is not valid for pod ${name}`);
  }
  const status = (pod.status ?? {}) as Obj;
  const statuses = [
    ...((status.containerStatuses as Obj[] | undefined) ?? []),
    ...((status.initContainerStatuses as Obj[] | undefined) ?? []),
    ...((status.ephemeralContainerStatuses as Obj[] | undefined) ?? []),
  ];
  const cs = statuses.find((s) => s.name === container);
  const waiting = ((cs?.state as Obj | undefined)?.waiting as { reason?: string } | undefined) ?? (cs ? undefined : { reason: 'ContainerCreating' });
  const running = (cs?.state as Obj | undefined)?.running;
  const terminated = (cs?.state as Obj | undefined)?.terminated;
  // A restarting container still has its last run's log (and --previous asks for it): the
  // kubelet decides, as upstream's validateContainerLogStatus.
  const lastTerminated = ((cs?.lastState as Obj | undefined)?.terminated as Obj | undefined) !== undefined;
  if (!running && !terminated && waiting && !previous && !lastTerminated) {
    throw newBadRequest(`container "${container}" in pod "${name}" is waiting to start: ${waiting.reason ?? 'ContainerCreating'}`);
  }
  return container!;
}

/** Opens a GET to the kubelet and resolves with its response (not yet read). */
export function kubeletGet(loc: { host: string; port: number }, path: string, tls: KubeletClientTLS, signal?: AbortSignal): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const opts: RequestOptions = {
      host: loc.host,
      port: loc.port,
      path,
      method: 'GET',
      cert: tls.cert,
      key: tls.key,
      // As kube-apiserver without --kubelet-certificate-authority: the kubelet's serving
      // certificate is not verified.
      rejectUnauthorized: false,
      signal,
    };
    const req = request(opts, resolve);
    req.on('error', (err) => reject(newServiceUnavailable(`error trying to reach service: ${err.message}`)));
    req.end();
  });
}

export function podHasNoNode(pod: KObject): Error {
  return newBadRequest(`pod ${pod.metadata?.name ?? ''} does not have a host assigned`);
}

export function nodeUnknown(nodeName: string): Error {
  return newNotFound({ group: '', resource: 'nodes' }, nodeName);
}

export function noKubeletAddress(nodeName: string): Error {
  return newInternalError(`no preferred addresses found; known addresses: [] for node ${nodeName}`);
}

/** The kubelet path of a streaming pod subresource (upstream's ExecLocation/AttachLocation/PortForwardLocation). */
export function kubeletStreamPath(sub: 'exec' | 'attach' | 'portforward', ns: string, pod: string, container: string, query: URLSearchParams): string {
  // upstream's streamParams: PodExecOptions/PodAttachOptions/PodPortForwardOptions as the
  // kubelet's parameters (input/output/error/tty = "1"), keys sorted as url.Values.Encode.
  const params: [string, string][] = [];
  const yes = (k: string) => ['true', '1'].includes(query.get(k) ?? '');
  if (sub === 'portforward') {
    for (const p of query.getAll('ports')) for (const port of p.split(',')) if (port) params.push(['port', port]);
  } else {
    if (sub === 'exec') for (const c of query.getAll('command')) params.push(['command', c]);
    if (yes('stderr')) params.push(['error', '1']);
    if (yes('stdin')) params.push(['input', '1']);
    if (yes('stdout')) params.push(['output', '1']);
    if (yes('tty')) params.push(['tty', '1']);
  }
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const q = new URLSearchParams(params).toString();
  const base = sub === 'portforward' ? `/portForward/${encodeURIComponent(ns)}/${encodeURIComponent(pod)}` : `/${sub}/${encodeURIComponent(ns)}/${encodeURIComponent(pod)}/${encodeURIComponent(container)}`;
  return q ? `${base}?${q}` : base;
}

/** Picks the container of an exec/attach request (upstream's podutil container checks). */
export function streamContainer(pod: KObject, requested: string | undefined): string {
  const name = pod.metadata?.name ?? '';
  const spec = (pod.spec ?? {}) as Obj;
  const containers = ((spec.containers as { name: string }[] | undefined) ?? []).map((c) => c.name);
  const others = [
    ...((spec.initContainers as { name: string }[] | undefined) ?? []),
    ...((spec.ephemeralContainers as { name: string }[] | undefined) ?? []),
  ].map((c) => c.name);
  if (!requested) {
    if (containers.length === 1) return containers[0]!;
    throw newBadRequest(`a container name must be specified for pod ${name}, choose one of: [${containers.join(' ')}]`);
  }
  if (![...containers, ...others].includes(requested)) throw newBadRequest(`container ${requested} is not valid for pod ${name}`);
  return requested;
}
