/**
 * The API server: HTTPS (HTTP/2 and HTTP/1.1 on one port), authentication, health and
 * metrics, discovery, OpenAPI, and the REST handlers of every resource in `allResources`
 * over one generic registry (registry.ts). The handler chain follows upstream's
 * (k8s.io/apiserver/pkg/server/filters + endpoints/handlers): authenticate → route →
 * decode → registry → negotiate the answer (JSON, YAML, Table) → write.
 */
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse } from 'node:http2';
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import { isIP as isIPAddress, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { Counter, Histogram, type Registry } from 'prom-client';
import YAML from 'yaml';
import {
  StatusError,
  applyJSONPatch,
  applyMergePatch,
  decodeJSONPatch,
  deepClone,
  errorToAPIStatus,
  fieldInvalid,
  fieldRequired,
  formatRFC3339,
  newConflict,
  newForbidden,
  getNestedField,
  isStatusError,
  newBadRequest,
  newGenericServerResponse,
  newInternalError,
  newInvalid,
  newMethodNotSupported,
  newNotFound,
  newPath,
  newServiceUnavailable,
  newUnauthorized,
  newUnsupportedMediaType,
  schema as schemaMod,
  setNestedField,
  strategicpatch,
  successStatus,
  typeMismatch,
  labels as labelsel,
  type DeleteOptions,
  type FieldError,
  type KObject,
} from '../apimachinery/index.js';
import { allResources } from '../api/registry.js';
import type { ResourceDef } from '../api/types.js';
import type { Storage, WatchEvent } from '../storage/interface.js';
import { realClock, type Clock, type TimerHandle } from '../util/clock.js';
import { newRegistry } from '../util/health.js';
import { silentLogger, type Logger } from '../util/log.js';
import { authenticate, X509Authenticator, type TokenEntry, type UserInfo } from './auth.js';
import {
  aggregatedDiscovery,
  apiGroupDoc,
  apiGroupList,
  apiResourceList,
  apiVersions,
  groupResources,
  type GroupVersions,
} from './discovery.js';
import { decodeKubernetesProtobuf, ProtobufDecodeError } from './protobuf.js';
import { discoveryContentType, negotiate, type Output } from './negotiation.js';
import { DEFAULT_SERVICE_IP } from './pki.js';
import { bindPod, mountServiceAccountToken, validatePodBinding } from '../api/core/v1/pods.js';
import { ServiceAllocator } from './allocators.js';
import { alwaysAllow, bootstrapPolicy, RBACAuthorizer, requestVerb, type Attributes, type Authorizer } from './authz.js';
import { answerReview, isReview, reviewResources } from './reviews.js';
import { serviceAccountUser, type ServiceAccountTokens } from './satoken.js';
import { kubeletGet, kubeletLocation, kubeletStreamPath, logContainer, noKubeletAddress, nodeUnknown, podHasNoNode, streamContainer } from './kubelet.js';
import { ResourceStore, translateStorageError, type RequestContext, type Subresource } from './registry.js';
import { localUser, serveLocal, type LocalRequest, type LocalResponse } from './local.js';

/** The Kubernetes release whose API this server speaks. */
export const KUBERNETES_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0-flotilla' };

/**
 * What /openapi serves and what the registry's schema-driven parts use (managedFields,
 * strategic merge patch, unknown fields): src/api/openapi bound to the served resources.
 */
export interface OpenAPISource {
  /** The swagger 2.0 document (JSON). */
  v2?: () => { json: string; hash: string };
  /**
   * The same document as gnostic protobuf, for clients whose Accept names one of `accept`
   * (kubectl's v2 client asks for nothing else: it reads v2 when a kind is missing from v3,
   * and without it validation failed with "failed to download openapi").
   */
  v2Protobuf?: { accept: readonly string[]; contentType: string; document: () => { bytes: Buffer; hash: string } };
  /** `{ paths: { "api/v1": { serverRelativeURL } } }`. */
  v3Discovery: () => { paths: Record<string, { serverRelativeURL: string }> };
  /** One group/version's OpenAPI 3.0 document by its discovery key ("api/v1"). */
  v3Group: (key: string) => { json: string; hash: string } | undefined;
  resolver?: () => schemaMod.SchemaResolver;
}

export interface ApiServerOptions {
  storage: Storage;
  tls: { cert: string; key: string; ca: string };
  bindAddress?: string;
  /** 0 picks a free port. */
  port?: number;
  /** The address put in /api's serverAddressByClientCIDRs and the kubernetes Endpoints. */
  advertiseAddress?: string;
  tokens?: Map<string, TokenEntry>;
  resources?: ResourceDef[];
  clock?: Clock;
  logger?: Logger;
  registry?: Registry;
  openapi?: OpenAPISource;
  /** Signs and verifies ServiceAccount tokens (TokenRequest, bearer JWTs). */
  serviceAccountTokens?: ServiceAccountTokens;
  /** `AlwaysAllow` (default) or `RBAC` (system:masters always allowed). */
  authorizationMode?: 'AlwaysAllow' | 'RBAC';
  /** Client certificate for kubelet connections (logs); default the serving certificate. */
  kubeletClient?: { cert: string; key: string };
  /** Extra readiness checks shown by /readyz?verbose (e.g. the store). */
  checks?: { name: string; check: () => Promise<void> }[];
  /**
   * DefaultTolerationSeconds admission (--default-not-ready-toleration-seconds and
   * --default-unreachable-toleration-seconds): how long a pod stays on a node the node
   * controller has tainted not-ready/unreachable before it is evicted. Default 300 (the
   * seeds' "pod eviction timeout 5m").
   */
  defaultNotReadyTolerationSeconds?: number;
  defaultUnreachableTolerationSeconds?: number;
}

interface RequestInfo {
  /** "" for core. */
  group: string;
  version: string;
  namespace?: string;
  resource: string;
  name?: string;
  subresource?: string;
}

const WATCH_DEFAULT_MIN_S = 1800;
/** How often the system namespaces and the `kubernetes` Service are recreated if missing (upstream's endpoint reconcile interval). */
const SYSTEM_RECONCILE_MS = 10_000;

/** kube-apiserver's loopback client identity. */
const LOOPBACK_USER: UserInfo = Object.freeze({ name: 'system:apiserver', groups: Object.freeze(['system:masters', 'system:authenticated']) as string[] });

/** NamespaceLifecycle's immortal namespaces (upstream's default, kube-system and kube-public; kube-node-lease may go). */
const IMMORTAL_NAMESPACES: ReadonlySet<string> = new Set(['default', 'kube-system', 'kube-public']);

/** NamespaceLifecycle admission of a namespace delete: the immortal namespaces are refused as upstream refuses them. */
function admitNamespaceDelete(_ns: string | undefined, name: string): void {
  if (IMMORTAL_NAMESPACES.has(name)) throw newForbidden({ group: '', resource: 'namespaces' }, name, 'this namespace may not be deleted');
}

/**
 * Upstream's isPrettyPrint: `?pretty=` decides when given; otherwise curl, Wget and browsers
 * (user agents starting `curl`, `Wget`, `Mozilla/5.0`) get indented JSON, so
 * `curl localhost:8001/api/v1/...` through `kubectl proxy` reads as upstream's does.
 */
function isPrettyPrint(url: URL, userAgent: string | undefined): boolean {
  const pp = url.searchParams.get('pretty');
  if (pp) return /^(1|t|T|TRUE|true|True)$/.test(pp);
  const ua = userAgent ?? '';
  return ua.startsWith('curl') || ua.startsWith('Wget') || ua.startsWith('Mozilla/5.0');
}

function queryBool(v: string | null): boolean {
  return v === 'true' || v === '1';
}

/** Node's http2 compat request carries the TLS socket on the stream's session (HTTP/2) or directly (HTTP/1.1). */
function tlsSocketOf(req: Http2ServerRequest): TLSSocket | undefined {
  const s = (req.stream?.session?.socket ?? req.socket) as TLSSocket | undefined;
  return s;
}

function managerFromUserAgent(ua: string | undefined): string {
  // Upstream's prefixFromUserAgent: everything before the first '/'.
  return (ua ?? '').split('/')[0]!.slice(0, 128);
}

export class ApiServer {
  readonly #opts: ApiServerOptions;
  readonly #clock: Clock;
  #systemTimer: TimerHandle | undefined;
  /** Responses whose JSON is indented (see {@link isPrettyPrint}). */
  readonly #pretty = new WeakSet<Http2ServerResponse>();
  readonly #log: Logger;
  readonly #defs: ResourceDef[];
  readonly #groups: GroupVersions[];
  readonly #stores = new Map<string, ResourceStore>();
  readonly #tokens: Map<string, TokenEntry>;
  readonly #metricsRegistry: Registry;
  readonly #requests: Counter<string>;
  readonly #latency: Histogram<string>;
  #server?: Http2SecureServer;
  #port = 0;
  #resolver?: schemaMod.SchemaResolver;
  readonly #watchAborts = new Set<AbortController>();
  readonly #sockets = new Set<TLSSocket>();
  #stopping = false;
  /** Client-certificate users, parsed once per connection. */
  readonly #x509 = new X509Authenticator();
  readonly #authorizer: Authorizer;
  #ready = false;

  constructor(opts: ApiServerOptions) {
    this.#opts = opts;
    this.#clock = opts.clock ?? realClock;
    this.#log = opts.logger ?? silentLogger();
    this.#defs = [...(opts.resources ?? allResources), ...reviewResources];
    this.#groups = groupResources(this.#defs);
    this.#tokens = opts.tokens ?? new Map();
    const listAll = async (resource: string, ns?: string) =>
      ((await this.store('rbac.authorization.k8s.io', 'v1', resource)?.list(ns, {}))?.items ?? []) as KObject[];
    this.#authorizer =
      opts.authorizationMode === 'RBAC'
        ? new RBACAuthorizer({
            source: {
              clusterRoles: () => listAll('clusterroles'),
              clusterRoleBindings: () => listAll('clusterrolebindings'),
              roles: (ns) => listAll('roles', ns),
              roleBindings: (ns) => listAll('rolebindings', ns),
            },
          })
        : alwaysAllow;
    this.#metricsRegistry = opts.registry ?? newRegistry();
    this.#requests = new Counter({
      name: 'apiserver_request_total',
      help: 'Counter of apiserver requests broken out for each verb, group, version, resource and HTTP response code.',
      labelNames: ['verb', 'group', 'version', 'resource', 'subresource', 'code'],
      registers: [this.#metricsRegistry],
    });
    this.#latency = new Histogram({
      name: 'apiserver_request_duration_seconds',
      help: 'Response latency distribution in seconds for each verb, group, version, resource and subresource.',
      labelNames: ['verb', 'group', 'version', 'resource', 'subresource'],
      buckets: [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
      registers: [this.#metricsRegistry],
    });
    try {
      this.#resolver = opts.openapi?.resolver?.();
    } catch (err) {
      this.#log.warn({ err }, 'no OpenAPI schemas: managedFields and strategic merge patch fall back to untyped');
    }
    for (const def of this.#defs) {
      const isServices = def.group === '' && def.resource === 'services';
      const allocator = isServices
        ? new ServiceAllocator({
            listServices: async () => (await this.store('', def.version, 'services')!.list(undefined, {})).items as KObject[],
          })
        : undefined;
      const isPods = def.group === '' && def.resource === 'pods';
      this.#stores.set(`${def.group}/${def.version}/${def.resource}`, new ResourceStore({
        // DefaultTolerationSeconds with this server's flags runs before the strategy's
        // defaults, which would otherwise fill both tolerations with the 300 s default.
        def: isPods ? { ...def, strategy: { ...def.strategy, default: (o: KObject) => { this.#addDefaultTolerations(o); def.strategy.default?.(o); } } } : def,
        storage: opts.storage,
        clock: this.#clock,
        schemaFor: (d) => (this.#resolver?.has(d.openAPIDefinition) ? this.#resolver.root(d.openAPIDefinition) : undefined),
        admitNamespace: (ns) => this.#admitNamespace(ns),
        ...(def.group === '' && def.resource === 'namespaces' ? { admitDelete: admitNamespaceDelete } : {}),
        ...(allocator ? { beginWrite: (o, old) => allocator.allocate(o, old), serialize: (fn) => allocator.serialize(fn) } : {}),
        ...(isPods ? { beginWrite: (o, old) => this.#admitPod(o, old) } : {}),
      }));
    }
  }

  get port(): number {
    return this.#port;
  }

  /** The registry store serving group/version/resource, if any. */
  store(group: string, version: string, resource: string): ResourceStore | undefined {
    return this.#stores.get(`${group}/${version}/${resource}`);
  }

  #namespaces(): ResourceStore | undefined {
    return this.store('', 'v1', 'namespaces');
  }

  /** NamespaceLifecycle admission: no new content in a missing or terminating namespace (deletes: {@link admitNamespaceDelete}). */
  async #admitNamespace(ns: string): Promise<void> {
    const store = this.#namespaces();
    if (!store || !ns) return;
    let obj: KObject;
    try {
      obj = await store.get(undefined, ns);
    } catch (err) {
      if (isStatusError(err) && err.code === 404) throw newNotFound({ group: '', resource: 'namespaces' }, ns);
      throw err;
    }
    if (obj.metadata?.deletionTimestamp || (obj.status as { phase?: string } | undefined)?.phase === 'Terminating') {
      const e = new StatusError({
        code: 403,
        reason: 'Forbidden',
        message: `unable to create new content in namespace ${ns} because it is being terminated`,
        details: { causes: [{ reason: 'NamespaceTerminating', message: `namespace ${ns} is being terminated`, field: 'metadata.namespace' }] },
      });
      throw e;
    }
  }

  /** DefaultTolerationSeconds admission with --default-{not-ready,unreachable}-toleration-seconds. */
  #addDefaultTolerations(pod: KObject): void {
    addDefaultTolerations(pod, this.#opts.defaultNotReadyTolerationSeconds ?? 300, this.#opts.defaultUnreachableTolerationSeconds ?? 300);
  }

  /**
   * The ServiceAccount admission on pod create: mounts the API token volume when the pod's
   * ServiceAccount exists. (Upstream refuses pods whose ServiceAccount is missing; until a
   * ServiceAccount controller creates `default` everywhere, such pods are admitted unchanged.)
   */
  async #admitPod(pod: KObject, old: KObject | undefined): Promise<FieldError[]> {
    if (old) return [];
    const sas = this.store('', 'v1', 'serviceaccounts');
    const saName = (pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName || 'default';
    if (!sas) return [];
    const sa = await sas.get(pod.metadata?.namespace, saName).catch(() => undefined);
    if (sa) mountServiceAccountToken(pod, sa.automountServiceAccountToken !== false);
    return [];
  }

  /**
   * Creates the system namespaces, the `kubernetes` Service and its Endpoints, and the
   * bootstrap RBAC policy (idempotent). After start(), the first three are kept in place
   * every {@link SYSTEM_RECONCILE_MS} as upstream's bootstrap controller keeps them: a
   * deleted `kubernetes` Service or kube-node-lease namespace comes back.
   */
  async bootstrap(): Promise<void> {
    await this.#ensureSystemObjects();
    const policy = bootstrapPolicy();
    for (const [resource, objs] of [['clusterroles', policy.clusterRoles], ['clusterrolebindings', policy.clusterRoleBindings]] as const) {
      const store = this.store('rbac.authorization.k8s.io', 'v1', resource);
      if (!store) continue;
      for (const o of objs) {
        await store.create({}, o, { manager: 'kube-apiserver' }).catch((err: unknown) => {
          if (!(isStatusError(err) && err.reason === 'AlreadyExists')) this.#log.warn({ err, name: o.metadata?.name }, 'could not create bootstrap RBAC policy');
        });
      }
    }
    this.#ready = true;
  }

  /** The system namespaces, the `kubernetes` Service and its Endpoints, created where missing. */
  async #ensureSystemObjects(): Promise<void> {
    const ns = this.#namespaces();
    if (ns) {
      for (const name of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
        await ns.create({}, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { manager: 'kube-apiserver' }).catch((err: unknown) => {
          if (!(isStatusError(err) && err.reason === 'AlreadyExists')) throw err;
        });
      }
    }
    const svc = this.store('', 'v1', 'services');
    if (svc) {
      const body = {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'kubernetes', namespace: 'default', labels: { component: 'apiserver', provider: 'kubernetes' } },
        spec: {
          type: 'ClusterIP',
          clusterIP: DEFAULT_SERVICE_IP,
          clusterIPs: [DEFAULT_SERVICE_IP],
          ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: this.#port || 6443 }],
          sessionAffinity: 'None',
        },
      };
      await svc.create({ namespace: 'default' }, body, { manager: 'kube-apiserver' }).catch((err: unknown) => {
        if (!(isStatusError(err) && err.reason === 'AlreadyExists')) this.#log.warn({ err }, 'could not create the kubernetes service');
      });
    }
    await this.#reconcileKubernetesEndpoints();
  }

  /**
   * The `kubernetes` Endpoints and EndpointSlice point at this API server (upstream's
   * endpoint reconciler, for one master).
   */
  async #reconcileKubernetesEndpoints(): Promise<void> {
    const ip = this.#opts.advertiseAddress ?? this.#opts.bindAddress ?? '127.0.0.1';
    // Endpoints may not point at loopback (validation refuses it), as with upstream's reconciler.
    if (ip === '0.0.0.0' || ip === '::' || ip.startsWith('127.') || ip === '::1' || ip === 'localhost') return;
    const address = ip;
    const port = this.#port || 6443;
    const labels = { 'endpointslice.kubernetes.io/skip-mirror': 'true' };
    const writes: [ResourceStore | undefined, KObject][] = [
      [
        this.store('', 'v1', 'endpoints'),
        {
          apiVersion: 'v1',
          kind: 'Endpoints',
          metadata: { name: 'kubernetes', namespace: 'default', labels },
          subsets: [{ addresses: [{ ip: address }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
        },
      ],
      [
        this.store('discovery.k8s.io', 'v1', 'endpointslices'),
        {
          apiVersion: 'discovery.k8s.io/v1',
          kind: 'EndpointSlice',
          metadata: { name: 'kubernetes', namespace: 'default', labels: { 'kubernetes.io/service-name': 'kubernetes' } },
          addressType: 'IPv4',
          endpoints: [{ addresses: [address], conditions: { ready: true } }],
          ports: [{ name: 'https', port, protocol: 'TCP' }],
        },
      ],
    ];
    for (const [store, body] of writes) {
      if (!store) continue;
      try {
        await store.update({ namespace: 'default' }, 'kubernetes', (cur) => ({ ...body, metadata: { ...body.metadata, resourceVersion: cur?.metadata?.resourceVersion } }), {
          manager: 'kube-apiserver',
          forceAllowCreate: true,
        });
      } catch (err) {
        this.#log.warn({ err, kind: body.kind }, 'could not reconcile the kubernetes endpoints');
      }
    }
  }

  async start(): Promise<void> {
    const server = createSecureServer({
      allowHTTP1: true,
      cert: this.#opts.tls.cert,
      key: this.#opts.tls.key,
      ca: this.#opts.tls.ca,
      requestCert: true,
      rejectUnauthorized: false,
    });
    server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
      void this.#handle(req, res);
    });
    server.on('sessionError', () => {});
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      void this.#upgrade(req, socket as TLSSocket, head);
    });
    // Track connections so stop() can end idle HTTP/2 sessions and keep-alive sockets.
    server.on('secureConnection', (sock: TLSSocket) => {
      // A connection's client certificate is then fixed, so #x509 may cache its user
      // (Go's TLS server, upstream's, does not renegotiate either).
      sock.disableRenegotiation();
      // A client reconnecting while stop() runs would otherwise keep a session to a server
      // whose storage is closing; it is refused, as after the listener closes.
      if (this.#stopping) {
        sock.destroy();
        return;
      }
      this.#sockets.add(sock);
      sock.once('close', () => this.#sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#opts.port ?? 6443, this.#opts.bindAddress ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.#server = server;
    this.#port = (server.address() as AddressInfo).port;
    await this.bootstrap();
    // One pass at a time; a pass that fails (a store hiccup) is tried again next period.
    let busy = false;
    this.#systemTimer = this.#clock.setInterval(() => {
      if (busy || this.#stopping) return;
      busy = true;
      this.#ensureSystemObjects()
        .catch((err: unknown) => this.#log.info({ err: (err as Error).message }, 'could not reconcile the system namespaces and the kubernetes service'))
        .finally(() => { busy = false; });
    }, SYSTEM_RECONCILE_MS);
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#systemTimer?.cancel();
    for (const a of this.#watchAborts) a.abort();
    const s = this.#server;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const sock of this.#sockets) sock.destroy();
    await closed;
  }

  /**
   * Serves a request from a component in this process through the same handler as HTTPS,
   * without a socket (see local.ts), as `user` — by default upstream's loopback identity,
   * system:apiserver in system:masters.
   */
  handleLocal(req: LocalRequest, user: UserInfo = LOOPBACK_USER): LocalResponse {
    return serveLocal((q, r) => this.#handle(q, r), req, user);
  }

  // ---- request handling --------------------------------------------------------------

  async #handle(req: Http2ServerRequest, res: Http2ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const url = new URL(req.url ?? '/', 'https://x');
    if (isPrettyPrint(url, req.headers['user-agent'])) this.#pretty.add(res);
    let verb = req.method ?? 'GET';
    let info: RequestInfo | undefined;
    res.on('finish', () => {
      const labels = { verb, group: info?.group ?? '', version: info?.version ?? '', resource: info?.resource ?? '', subresource: info?.subresource ?? '' };
      this.#requests.inc({ ...labels, code: String(res.statusCode) });
      if (verb !== 'WATCH') this.#latency.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
      const fields = { method: req.method, path: url.pathname, query: url.search, code: res.statusCode, userAgent: req.headers['user-agent'] };
      if (res.statusCode >= 500) this.#log.info(fields, 'request failed');
      else this.#log.debug(fields, 'request');
    });
    try {
      const path = url.pathname;
      if (['/healthz', '/livez', '/readyz'].includes(path) || path.startsWith('/healthz/') || path.startsWith('/livez/') || path.startsWith('/readyz/')) {
        return await this.#health(path, url, res);
      }
      if (path === '/version' || path === '/version/') return this.#json(res, 200, this.#version());
      const user = (req as { [localUser]?: UserInfo })[localUser] ?? (await this.#authenticate(tlsSocketOf(req), req.headers.authorization));
      if (!user) throw newUnauthorized('Unauthorized');
      const segs = path.split('/').filter(Boolean);
      info = this.#parse(segs);
      if (info && info.resource) {
        const watch = queryBool(url.searchParams.get('watch'));
        await this.#authorize({
          user,
          verb: requestVerb(req.method ?? 'GET', info.name !== undefined, watch),
          resourceRequest: true,
          apiGroup: info.group,
          resource: info.resource,
          subresource: info.subresource,
          namespace: info.resource === 'namespaces' && info.name !== undefined ? info.name : info.namespace,
          name: info.name,
        });
      } else {
        await this.#authorize({ user, verb: (req.method ?? 'GET').toLowerCase(), resourceRequest: false, path });
      }
      if (path === '/metrics') {
        const body = await this.#metricsRegistry.metrics();
        res.writeHead(200, { 'content-type': this.#metricsRegistry.contentType });
        res.end(body);
        return;
      }
      if (path.startsWith('/openapi/')) return await this.#openapi(req, path, res);
      if (path === '/api' || path === '/api/') {
        const out = negotiate(req.headers.accept, { discovery: true });
        if (out.kind === 'discovery') return this.#discovery(res, aggregatedDiscovery(this.#groups, true, out.version), out.version);
        return this.#json(res, 200, apiVersions(`${this.#opts.advertiseAddress ?? this.#opts.bindAddress ?? '127.0.0.1'}:${this.#port}`));
      }
      if (path === '/apis' || path === '/apis/') {
        const out = negotiate(req.headers.accept, { discovery: true });
        if (out.kind === 'discovery') return this.#discovery(res, aggregatedDiscovery(this.#groups, false, out.version), out.version);
        return this.#json(res, 200, apiGroupList(this.#groups));
      }
      if (!info) throw this.#pageNotFound();
      if (!info.resource) {
        // /api/v1, /apis/<g>, /apis/<g>/<v>
        const g = this.#groups.find((x) => x.group === info!.group);
        if (!g) throw this.#pageNotFound();
        if (!info.version) return this.#json(res, 200, apiGroupDoc(g));
        const defs = g.resources.get(info.version);
        if (!defs) throw this.#pageNotFound();
        return this.#json(res, 200, apiResourceList(info.group, info.version, defs));
      }
      const store = this.store(info.group, info.version, info.resource);
      if (!store) throw this.#pageNotFound();
      if (isReview(store.def)) {
        if (req.method !== 'POST' || info.name !== undefined) throw newMethodNotSupported(store.gr, req.method ?? '');
        const body = store.checkBody(decodeBody(await readBody(req), (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim()), { namespace: info.namespace });
        verb = 'CREATE';
        return this.#send(res, 201, await answerReview(store.def, body, user, this.#authorizer, info.namespace), negotiate(req.headers.accept, {}));
      }
      verb = await this.#serveResource(req, res, url, store, info, user);
    } catch (err) {
      this.#error(res, err);
    }
  }

  /** Certificates and static tokens, then ServiceAccount JWTs whose account (and bound pod) still exist. */
  async #authenticate(socket: TLSSocket | undefined, authorization: string | undefined): Promise<UserInfo | undefined> {
    const user = authenticate(socket, authorization, this.#tokens, this.#x509);
    if (user) return user;
    // (Not reached with a client certificate: x509 authenticates first.)
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
    const sat = this.#opts.serviceAccountTokens;
    if (!m || !sat) return undefined;
    const claims = sat.verify(m[1]!, Math.floor(this.#clock.now() / 1000));
    if (!claims) return undefined;
    const k = claims['kubernetes.io'];
    const sa = await this.store('', 'v1', 'serviceaccounts')?.get(k.namespace, k.serviceaccount.name).catch(() => undefined);
    if (!sa || sa.metadata?.uid !== k.serviceaccount.uid) return undefined;
    if (k.pod) {
      const pod = await this.store('', 'v1', 'pods')?.get(k.namespace, k.pod.name).catch(() => undefined);
      if (!pod || pod.metadata?.uid !== k.pod.uid) return undefined;
    }
    return serviceAccountUser(claims);
  }

  /** serviceaccounts/token: a TokenRequest answered with a signed, bound token (upstream's TokenREST). */
  async #tokenRequest(ctx: RequestContext, store: ResourceStore, name: string, body: KObject): Promise<KObject> {
    const sat = this.#opts.serviceAccountTokens;
    if (!sat) throw newServiceUnavailable('service account token issuing is not configured');
    const sa = await store.get(ctx.namespace, name);
    const spec = (body.spec ?? {}) as { audiences?: string[]; expirationSeconds?: number; boundObjectRef?: { kind?: string; apiVersion?: string; name?: string; uid?: string } };
    const exp = spec.expirationSeconds ?? 3600;
    if (exp < 600) {
      throw newInvalid({ group: 'authentication.k8s.io', kind: 'TokenRequest' }, name, [
        fieldInvalid(newPath('spec', 'expirationSeconds'), exp, 'may not specify a duration less than 10 minutes'),
      ]);
    }
    const audiences = spec.audiences?.length ? spec.audiences : [sat.issuer];
    const now = Math.floor(this.#clock.now() / 1000);
    const bound: { pod?: { name: string; uid: string } } = {};
    const ref = spec.boundObjectRef;
    if (ref?.kind === 'Pod' && ref.name) {
      const pod = await this.store('', 'v1', 'pods')!.get(ctx.namespace, ref.name);
      if (ref.uid && ref.uid !== pod.metadata?.uid) throw newConflict({ group: '', resource: 'pods' }, ref.name, `the UID in the bound object reference (${ref.uid}) does not match the UID in record. The object might have been deleted and then recreated`);
      bound.pod = { name: ref.name, uid: pod.metadata?.uid ?? '' };
    }
    const token = sat.issue({
      sub: `system:serviceaccount:${ctx.namespace}:${name}`,
      aud: audiences,
      exp: now + exp,
      iat: now,
      nbf: now,
      'kubernetes.io': { namespace: ctx.namespace ?? '', serviceaccount: { name, uid: sa.metadata?.uid ?? '' }, ...bound },
    });
    return {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace: ctx.namespace, creationTimestamp: formatRFC3339((now) * 1000) },
      spec: { audiences, expirationSeconds: exp, boundObjectRef: spec.boundObjectRef ?? null },
      status: { token, expirationTimestamp: formatRFC3339((now + exp) * 1000) },
    };
  }

  async #authorize(a: Attributes): Promise<void> {
    const d = await this.#authorizer.authorize(a);
    if (d.allowed) return;
    if (!a.resourceRequest) throw newForbidden({ group: '', resource: '' }, '', d.reason);
    const resource = a.subresource ? `${a.resource}/${a.subresource}` : a.resource ?? '';
    throw newForbidden({ group: a.apiGroup ?? '', resource }, a.verb === 'create' && !a.subresource ? '' : (a.name ?? ''), d.reason);
  }

  #pageNotFound(): StatusError {
    return new StatusError({ code: 404, reason: 'NotFound', message: 'the server could not find the requested resource', details: {} });
  }

  #version(): unknown {
    return {
      major: KUBERNETES_VERSION.major,
      minor: KUBERNETES_VERSION.minor,
      emulationMajor: KUBERNETES_VERSION.major,
      emulationMinor: KUBERNETES_VERSION.minor,
      minCompatibilityMajor: KUBERNETES_VERSION.major,
      minCompatibilityMinor: String(Number(KUBERNETES_VERSION.minor) - 1),
      gitVersion: KUBERNETES_VERSION.gitVersion,
      gitCommit: '0000000000000000000000000000000000000000',
      gitTreeState: 'clean',
      buildDate: '2026-01-01T00:00:00Z',
      goVersion: `node${process.versions.node}`,
      compiler: 'tsc',
      platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
    };
  }

  async #health(path: string, url: URL, res: Http2ServerResponse): Promise<void> {
    const checks: { name: string; check: () => Promise<void> | void }[] = [
      { name: 'ping', check: () => {} },
      { name: 'log', check: () => {} },
      { name: 'etcd', check: async () => { await this.#opts.storage.currentRevision(); } },
    ];
    if (path.startsWith('/readyz')) {
      checks.push({ name: 'poststarthook/bootstrap-controller', check: () => { if (!this.#ready) throw new Error('not finished'); } });
      for (const c of this.#opts.checks ?? []) checks.push(c);
    }
    const only = path.split('/')[2];
    const selected = only ? checks.filter((c) => c.name === only) : checks;
    if (only && selected.length === 0) throw this.#pageNotFound();
    const lines: string[] = [];
    let ok = true;
    for (const c of selected) {
      try {
        await c.check();
        lines.push(`[+]${c.name} ok`);
      } catch {
        ok = false;
        lines.push(`[-]${c.name} failed: reason withheld`);
      }
    }
    const base = path.split('/')[1]!;
    const verbose = url.searchParams.has('verbose');
    let body: string;
    if (ok && !verbose) body = 'ok';
    else body = lines.join('\n') + '\n' + (ok ? `${base} check passed\n` : `${base} check failed\n`);
    res.writeHead(ok ? 200 : 500, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' });
    res.end(body);
  }

  async #openapi(req: Http2ServerRequest, path: string, res: Http2ServerResponse): Promise<void> {
    const src = this.#opts.openapi;
    if (!src) throw this.#pageNotFound();
    const sendDoc = (doc: { json: string; hash: string }, type = 'application/json') => {
      const etag = `"${doc.hash}"`;
      if (req.headers['if-none-match'] === etag) {
        res.writeHead(304, { etag });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': type, etag, 'cache-control': 'no-cache, private', vary: 'Accept' });
      res.end(doc.json);
    };
    if (path === '/openapi/v2') {
      if (!src.v2) throw this.#pageNotFound();
      const accept = req.headers.accept ?? '';
      const proto = src.v2Protobuf;
      if (proto && proto.accept.some((t) => accept.includes(t))) {
        const doc = proto.document();
        const etag = `"${doc.hash}"`;
        if (req.headers['if-none-match'] === etag) {
          res.writeHead(304, { etag });
          res.end();
          return;
        }
        res.writeHead(200, { 'content-type': proto.contentType, etag, 'cache-control': 'no-cache, private', vary: 'Accept' });
        res.end(doc.bytes);
        return;
      }
      // Otherwise JSON, or 406 for a client that accepts neither.
      negotiate(req.headers.accept, {});
      return sendDoc(src.v2());
    }
    if (path === '/openapi/v3' || path === '/openapi/v3/') return this.#json(res, 200, src.v3Discovery());
    if (path.startsWith('/openapi/v3/')) {
      const doc = src.v3Group(path.slice('/openapi/v3/'.length).replace(/\/+$/, ''));
      if (doc) return sendDoc(doc);
    }
    throw this.#pageNotFound();
  }

  /**
   * Splits a resource path (upstream's RequestInfoFactory). For namespaces, the
   * `status` and `finalize` segments after the name are subresources, not resources.
   */
  #parse(segs: string[]): RequestInfo | undefined {
    let rest: string[];
    let group = '';
    let version: string;
    if (segs[0] === 'api') {
      if (!segs[1]) return undefined;
      version = segs[1];
      rest = segs.slice(2);
    } else if (segs[0] === 'apis') {
      if (!segs[1]) return undefined;
      group = segs[1];
      if (!segs[2]) return { group, version: '', resource: '' };
      version = segs[2];
      rest = segs.slice(3);
    } else {
      return undefined;
    }
    const info: RequestInfo = { group, version, resource: '' };
    if (rest[0] === 'namespaces' && rest.length > 1) {
      info.namespace = rest[1];
      if (rest.length > 2 && rest[2] !== 'status' && rest[2] !== 'finalize') rest = rest.slice(2);
    }
    info.resource = rest[0] ?? '';
    info.name = rest[1];
    info.subresource = rest[2];
    if (rest.length > 3) return undefined;
    if (info.resource === 'namespaces' && info.namespace !== undefined && info.name === undefined) {
      // /api/v1/namespaces/<name>[/status]: the namespace object itself.
      info.name = info.namespace;
      info.subresource = rest[2];
      info.namespace = undefined;
    }
    return info;
  }

  async #serveResource(
    req: Http2ServerRequest,
    res: Http2ServerResponse,
    url: URL,
    store: ResourceStore,
    info: RequestInfo,
    user: UserInfo,
  ): Promise<string> {
    const def = store.def;
    const q = url.searchParams;
    const ns = def.namespaced ? info.namespace : undefined;
    if (!def.namespaced && info.namespace !== undefined && info.resource !== 'namespaces') throw this.#pageNotFound();
    const ctx: RequestContext = { namespace: ns, user: user.name, groups: user.groups, userAgent: req.headers['user-agent'] };
    const sub = info.subresource ?? '';
    const servedSub =
      (sub === 'status' && def.status) ||
      (sub === 'scale' && def.scale) ||
      def.subresourceStrategies?.[sub] ||
      ((sub === 'finalize' || sub === 'binding' || sub === 'log' || sub === 'token') && def.subresources?.includes(sub));
    if (sub && !servedSub) {
      throw this.#pageNotFound();
    }
    const method = req.method ?? 'GET';
    if (sub === 'log' && info.name !== undefined) {
      if (method !== 'GET') throw newMethodNotSupported({ group: '', resource: 'pods/log' }, method);
      await this.#podLog(req, res, q, store, ns, info.name);
      return 'GET';
    }
    const dryRun = q.getAll('dryRun');
    if (dryRun.some((d) => d !== 'All')) {
      throw newBadRequest(`Invalid dry run value: ${dryRun.find((d) => d !== 'All')}`);
    }
    const isDryRun = dryRun.length > 0;
    const manager = q.get('fieldManager') ?? managerFromUserAgent(req.headers['user-agent']);
    const has = (v: string) => def.verbs.includes(v as never);
    const notAllowed = (action: string) => newMethodNotSupported(store.gr, action);

    if (method === 'GET') {
      if (info.name === undefined) {
        const watch = queryBool(q.get('watch'));
        if (watch) {
          if (!has('watch')) throw notAllowed('watch');
          await this.#watch(req, res, q, store, ns);
          return 'WATCH';
        }
        if (!has('list')) throw notAllowed('list');
        const out = negotiate(req.headers.accept, { table: true });
        const limit = q.get('limit') ? Number(q.get('limit')) : undefined;
        const list = await store.list(ns, {
          labelSelector: q.get('labelSelector') ?? undefined,
          fieldSelector: q.get('fieldSelector') ?? undefined,
          limit: limit && limit > 0 ? limit : undefined,
          continue: q.get('continue') ?? undefined,
          resourceVersion: q.get('resourceVersion') ?? undefined,
          resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
        });
        const listMeta = {
          resourceVersion: list.resourceVersion,
          ...(list.continue ? { continue: list.continue } : {}),
          ...(list.remainingItemCount !== undefined ? { remainingItemCount: list.remainingItemCount } : {}),
        };
        const items = list.items as KObject[];
        if (out.kind === 'table') return this.#send(res, 200, this.#table(def, items, q.get('includeObject'), listMeta), out), 'LIST';
        if (out.kind === 'partial') {
          return this.#send(res, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: listMeta, items: items.map(partial) }, out), 'LIST';
        }
        this.#send(res, 200, { kind: def.listKind, apiVersion: store.apiVersion, metadata: listMeta, items }, out);
        return 'LIST';
      }
      if (!has('get')) throw notAllowed('get');
      const out = negotiate(req.headers.accept, { table: true });
      const obj = await store.get(ns, info.name, { resourceVersion: q.get('resourceVersion') ?? undefined });
      const body = sub === 'scale' ? this.#scaleOf(store, obj) : obj;
      if (out.kind === 'table' && sub === '') return this.#send(res, 200, this.#table(def, [obj], q.get('includeObject'), { resourceVersion: obj.metadata?.resourceVersion }), out), 'GET';
      if (out.kind === 'partial') return this.#send(res, 200, partial(obj), out), 'GET';
      this.#send(res, 200, body, out);
      return 'GET';
    }

    const out = negotiate(req.headers.accept, {});
    const raw = await readBody(req);
    const contentType = (req.headers['content-type'] ?? 'application/json').split(';')[0]!.trim().toLowerCase();
    const fieldValidation = q.get('fieldValidation') ?? 'Strict';
    if (!['Strict', 'Warn', 'Ignore', ''].includes(fieldValidation)) {
      throw newBadRequest(`fieldValidation parameter unsupported: ${fieldValidation}, must be one of Strict, Warn, Ignore`);
    }

    if (method === 'POST') {
      if (info.name !== undefined && sub === 'token') {
        const tr = await this.#tokenRequest(ctx, store, info.name, decodeBody(raw, contentType) as KObject);
        return this.#send(res, 201, tr, out), 'CREATE';
      }
      if (info.name !== undefined && sub === 'binding') {
        const binding = decodeBody(raw, contentType) as KObject;
        const result = await this.#bind(ctx, store, info.name, binding, isDryRun, manager);
        return this.#send(res, 201, result, out), 'CREATE';
      }
      if (info.name !== undefined) throw newMethodNotSupported(store.gr, 'create');
      if (!has('create')) throw notAllowed('create');
      const body = decodeBody(raw, contentType);
      this.#typeCheck(store, body, true);
      const warnings = this.#unknownFields(store, body, fieldValidation, true);
      const result = await store.create(ctx, body, { dryRun: isDryRun, manager });
      this.#warn(res, [...warnings, ...result.warnings]);
      this.#send(res, 201, result.object, out);
      return 'CREATE';
    }

    if (method === 'PUT') {
      if (info.name === undefined) throw newMethodNotSupported(store.gr, 'update');
      if (!has('update')) throw notAllowed('update');
      const body = decodeBody(raw, contentType) as KObject;
      if (sub !== 'scale') this.#typeCheck(store, body, true);
      const warnings = this.#unknownFields(store, body, fieldValidation, true);
      const name = info.name;
      const result = await store.update(
        ctx,
        name,
        (current) => (sub === 'scale' ? this.#applyScale(store, current!, body) : deepClone(body)),
        { dryRun: isDryRun, manager, subresource: sub as Subresource },
      );
      this.#warn(res, [...warnings, ...result.warnings]);
      this.#send(res, result.created ? 201 : 200, sub === 'scale' ? this.#scaleOf(store, result.object) : result.object, out);
      return 'UPDATE';
    }

    if (method === 'PATCH') {
      if (info.name === undefined) throw newMethodNotSupported(store.gr, 'patch');
      if (!has('patch')) throw notAllowed('patch');
      const name = info.name;
      const isApply = contentType === 'application/apply-patch+yaml';
      if (isApply && !q.get('fieldManager')) {
        throw newInvalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, '', [fieldRequired(newPath('fieldManager'), 'is required for apply patch')]);
      }
      const force = queryBool(q.get('force'));
      let warnings: string[] = [];
      const patchFn = isApply ? undefined : this.#patcher(store, contentType, raw, sub);
      const result = await store.update(
        ctx,
        name,
        (current) => {
          if (isApply) {
            const config = decodeBody(raw, 'application/yaml') as KObject;
            // Unknown fields fail the typed conversion of an apply whatever fieldValidation says (as upstream).
            this.#applyUnknownFields(store, config, ctx);
            this.#typeCheck(store, config, false);
            if (sub === 'scale') throw newBadRequest('apply is not supported on the scale subresource');
            const cfg = store.checkBody(deepClone(config), ctx, name);
            return store.fieldManager(sub as Subresource).apply(current as never, cfg as never, q.get('fieldManager')!, force) as KObject;
          }
          if (!current) throw newNotFound(store.gr, name);
          const patched = patchFn!(current);
          if (sub !== 'scale') this.#typeCheck(store, patched, false);
          warnings = this.#unknownFields(store, patched, fieldValidation);
          return patched;
        },
        { dryRun: isDryRun, manager, subresource: sub as Subresource, forceAllowCreate: isApply, managedFieldsDone: isApply },
      );
      this.#warn(res, [...warnings, ...result.warnings]);
      this.#send(res, result.created ? 201 : 200, sub === 'scale' ? this.#scaleOf(store, result.object) : result.object, out);
      return isApply ? 'APPLY' : 'PATCH';
    }

    if (method === 'DELETE') {
      const opts = (raw.length > 0 ? decodeBody(raw, contentType) : {}) as DeleteOptions;
      const propagationPolicy = (q.get('propagationPolicy') ?? opts.propagationPolicy) as DeleteOptions['propagationPolicy'];
      const { dryRun: bodyDryRun, ...bodyOpts } = opts;
      const delOpts: Omit<DeleteOptions, 'dryRun'> = { ...bodyOpts, propagationPolicy };
      if (q.get('gracePeriodSeconds') !== null) delOpts.gracePeriodSeconds = Number(q.get('gracePeriodSeconds'));
      if (q.get('orphanDependents') !== null) delOpts.orphanDependents = queryBool(q.get('orphanDependents'));
      const dry = isDryRun || (bodyDryRun ?? []).includes('All');
      if (info.name === undefined) {
        if (!has('deletecollection')) throw notAllowed('deletecollection');
        const list = await store.list(ns, { labelSelector: q.get('labelSelector') ?? undefined, fieldSelector: q.get('fieldSelector') ?? undefined });
        const deleted: KObject[] = [];
        for (const item of list.items as KObject[]) {
          try {
            const r = await store.delete({ ...ctx, namespace: item.metadata?.namespace }, item.metadata!.name!, { ...delOpts, dryRun: dry });
            deleted.push(r.object);
          } catch (err) {
            if (!(isStatusError(err) && err.code === 404)) throw err;
          }
        }
        this.#send(res, 200, { kind: def.listKind, apiVersion: store.apiVersion, metadata: { resourceVersion: list.resourceVersion }, items: deleted }, out);
        return 'DELETECOLLECTION';
      }
      if (!has('delete')) throw notAllowed('delete');
      const r = await store.delete(ctx, info.name, { ...delOpts, dryRun: dry });
      if (!r.deleted || returnsDeletedObject(def)) this.#send(res, 200, r.object, out);
      else {
        this.#send(res, 200, successStatus({ name: info.name, group: def.group, kind: def.resource, uid: r.object.metadata?.uid }), out);
      }
      return 'DELETE';
    }
    throw newMethodNotSupported(store.gr, method);
  }

  /**
   * Refuses a body with a value of the wrong type for a built-in kind (400), as upstream's
   * decoding into Go types does. Create and update name the kind as upstream's decoder does;
   * a patched object or an apply configuration is refused with the bare decoding message
   * (upstream words those through its converters; the refusal, not the wording, is kept).
   */
  #typeCheck(store: ResourceStore, body: unknown, decoding: boolean): void {
    const err = typeMismatch(body, store.schema());
    if (!err) return;
    const { kind, version } = store.def;
    throw newBadRequest(decoding ? `${kind} in version "${version}" cannot be handled as a ${kind}: ${err}` : err);
  }

  /** Checks a body for fields the schema does not declare (fieldValidation). Returns warnings. */
  #unknownFields(store: ResourceStore, body: unknown, mode: string, decoding = false): string[] {
    if (mode === 'Ignore') return [];
    const node = store.schema();
    if (node.kind === 'untyped') return [];
    const unknown: string[] = [];
    walkUnknown(body, node, undefined, unknown);
    if (unknown.length === 0) return [];
    if (mode === 'Warn') return unknown.map((p) => `unknown field "${p}"`);
    const strict = `strict decoding error: ${unknown.map((p) => `unknown field "${p}"`).join(', ')}`;
    // Create and update decode the body into the kind, and say so (upstream's transformDecodeError).
    const { kind, version } = store.def;
    throw newBadRequest(decoding ? `${kind} in version "${version}" cannot be handled as a ${kind}: ${strict}` : strict);
  }

  /** upstream: `failed to create typed patch object (ns/name; gvk): .x: field not declared in schema` (500, no reason). */
  #applyUnknownFields(store: ResourceStore, config: KObject, ctx: RequestContext): void {
    const node = store.schema();
    if (node.kind === 'untyped') return;
    const unknown: string[] = [];
    walkUnknown(config, node, undefined, unknown);
    if (unknown.length === 0) return;
    const msgs = unknown.map((p) => `.${p}: field not declared in schema`);
    const m = config.metadata ?? {};
    const gvk = `${store.def.group}/${store.def.version}, Kind=${store.def.kind}`;
    const what = msgs.length === 1 ? msgs[0] : `errors:\n  ${msgs.join('\n  ')}`;
    throw new StatusError({
      code: 500,
      message: `failed to create typed patch object (${m.namespace ?? ctx.namespace ?? ''}/${m.name ?? ''}; ${gvk}): ${what}`,
    });
  }

  #patcher(store: ResourceStore, contentType: string, raw: Buffer, sub: string): (current: KObject) => KObject {
    const base = (current: KObject) => (sub === 'scale' ? (this.#scaleOf(store, current) as KObject) : current);
    const finish = (current: KObject, patched: KObject) => (sub === 'scale' ? this.#applyScale(store, current, patched) : patched);
    const text = raw.toString('utf8');
    switch (contentType) {
      case 'application/json-patch+json': {
        let ops;
        try {
          ops = decodeJSONPatch(text);
        } catch (err) {
          throw newBadRequest((err as Error).message);
        }
        return (current) => {
          try {
            return finish(current, applyJSONPatch(base(current), ops) as KObject);
          } catch (err) {
            if (isStatusError(err)) throw err;
            throw new StatusError({ code: 422, reason: 'Invalid', message: (err as Error).message });
          }
        };
      }
      case 'application/merge-patch+json': {
        const patch = parseJSON(text);
        return (current) => {
          try {
            return finish(current, applyMergePatch(base(current), patch) as KObject);
          } catch (err) {
            throw newBadRequest((err as Error).message);
          }
        };
      }
      case 'application/strategic-merge-patch+json': {
        const patch = parseJSON(text);
        if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) throw newBadRequest('unable to unmarshal patch: expected an object');
        return (current) => {
          try {
            const node = sub === 'scale' ? undefined : store.schema();
            return finish(current, strategicpatch.strategicMergePatch(base(current) as never, patch as never, node?.kind === 'untyped' ? undefined : node) as KObject);
          } catch (err) {
            if (isStatusError(err)) throw err;
            const kind = (err as { kind?: string }).kind;
            if (kind === 'Invalid') throw new StatusError({ code: 422, reason: 'Invalid', message: (err as Error).message });
            throw newBadRequest((err as Error).message);
          }
        };
      }
      default:
        throw newUnsupportedMediaType([
          'application/json-patch+json',
          'application/merge-patch+json',
          'application/apply-patch+yaml',
          'application/strategic-merge-patch+json',
        ]);
    }
  }

  /** autoscaling/v1 Scale of an object (upstream's scaleFromX). */
  #scaleOf(store: ResourceStore, obj: KObject): unknown {
    const sc = store.def.scale!;
    const m = obj.metadata ?? {};
    const selectorPath = sc.labelSelectorPath;
    let selector: string | undefined;
    if (sc.selector) selector = sc.selector(obj);
    else if (selectorPath) {
      const v = getNestedField(obj, ...selectorPath);
      if (typeof v === 'string') selector = v;
      else if (v && typeof v === 'object') selector = labelsel.labelSelectorAsSelector(v as never).toString();
    }
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
      spec: { replicas: (getNestedField(obj, ...sc.specReplicasPath) as number | undefined) ?? 0 },
      status: { replicas: (getNestedField(obj, ...sc.statusReplicasPath) as number | undefined) ?? 0, ...(selector ? { selector } : {}) },
    };
  }

  #applyScale(store: ResourceStore, current: KObject, scale: KObject): KObject {
    const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
    if (typeof replicas !== 'number' || !Number.isInteger(replicas) || replicas < 0) {
      throw newInvalid({ group: 'autoscaling', kind: 'Scale' }, current.metadata?.name ?? '', [
        fieldInvalid(newPath('spec', 'replicas'), replicas ?? null, 'must be greater than or equal to 0'),
      ]);
    }
    const next = deepClone(current);
    setNestedField(next as Record<string, unknown>, replicas, ...store.def.scale!.specReplicasPath);
    const rv = scale.metadata?.resourceVersion;
    if (rv) next.metadata = { ...next.metadata, resourceVersion: rv };
    return next;
  }

  /**
   * pods/exec, attach and portforward: HTTP/1.1 upgrades (WebSocket or SPDY) proxied byte for
   * byte to the kubelet once the pod and its node are known (upstream's UpgradeAwareHandler).
   */
  async #upgrade(req: IncomingMessage, socket: TLSSocket, head: Buffer): Promise<void> {
    const fail = (err: unknown) => {
      const st = errorToAPIStatus(isStatusError(err) ? err : newInternalError(err instanceof Error ? err : String(err)));
      const body = JSON.stringify(st);
      socket.end(`HTTP/1.1 ${st.code ?? 500} ${STATUS_CODES[st.code ?? 500] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    };
    socket.on('error', () => socket.destroy());
    try {
      const user = await this.#authenticate(socket, req.headers.authorization);
      if (!user) throw newUnauthorized('Unauthorized');
      const url = new URL(req.url ?? '/', 'https://x');
      const info = this.#parse(url.pathname.split('/').filter(Boolean));
      const sub = info?.subresource;
      const pods = info && info.group === '' && info.resource === 'pods' ? this.store('', info.version, 'pods') : undefined;
      if (!info || !pods || !info.name || (sub !== 'exec' && sub !== 'attach' && sub !== 'portforward')) throw this.#pageNotFound();
      await this.#authorize({ user, verb: 'create', resourceRequest: true, apiGroup: '', resource: 'pods', subresource: sub, namespace: info.namespace, name: info.name });
      const pod = await pods.get(info.namespace, info.name);
      const container = sub === 'portforward' ? '' : streamContainer(pod, url.searchParams.get('container') ?? undefined);
      const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
      if (!nodeName) throw podHasNoNode(pod);
      const node = await this.store('', 'v1', 'nodes')?.get(undefined, nodeName).catch(() => undefined);
      if (!node) throw nodeUnknown(nodeName);
      const loc = kubeletLocation(node);
      if (!loc) throw noKubeletAddress(nodeName);
      const query = new URLSearchParams(url.searchParams);
      query.delete('container');
      const path = kubeletStreamPath(sub, info.namespace ?? '', info.name, container, query);
      const upstream = tlsConnect({
        host: loc.host,
        port: loc.port,
        cert: this.#opts.kubeletClient?.cert ?? this.#opts.tls.cert,
        key: this.#opts.kubeletClient?.key ?? this.#opts.tls.key,
        rejectUnauthorized: false,
        ALPNProtocols: ['http/1.1'],
        servername: isIPAddress(loc.host) ? undefined : loc.host,
      });
      upstream.once('error', (err) => fail(newServiceUnavailable(`error trying to reach service: ${err.message}`)));
      upstream.once('secureConnect', () => {
        upstream.removeAllListeners('error');
        const lines = [`${req.method ?? 'GET'} ${path} HTTP/1.1`, `Host: ${loc.host}:${loc.port}`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) {
          const k = req.rawHeaders[i]!;
          if (/^(host|authorization)$/i.test(k)) continue;
          lines.push(`${k}: ${req.rawHeaders[i + 1]}`);
        }
        upstream.write(lines.join('\r\n') + '\r\n\r\n');
        if (head.length) upstream.write(head);
        upstream.pipe(socket);
        socket.pipe(upstream);
        upstream.on('error', () => socket.destroy());
        upstream.on('close', () => socket.destroy());
        socket.on('close', () => upstream.destroy());
      });
    } catch (err) {
      fail(err);
    }
  }

  /** pods/log: checks the pod and container, then streams the kubelet's containerLogs. */
  async #podLog(req: Http2ServerRequest, res: Http2ServerResponse, q: URLSearchParams, store: ResourceStore, ns: string | undefined, name: string): Promise<void> {
    const pod = await store.get(ns, name);
    const container = logContainer(pod, q.get('container') ?? undefined, ['true', '1'].includes(q.get('previous') ?? ''));
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    if (!nodeName) throw podHasNoNode(pod);
    const nodes = this.store('', 'v1', 'nodes');
    const node = nodes ? await nodes.get(undefined, nodeName).catch(() => undefined) : undefined;
    if (!node) throw nodeUnknown(nodeName);
    const loc = kubeletLocation(node);
    if (!loc) throw noKubeletAddress(nodeName);
    const params = new URLSearchParams();
    for (const k of ['follow', 'previous', 'timestamps', 'sinceSeconds', 'sinceTime', 'tailLines', 'limitBytes']) {
      const v = q.get(k);
      if (v !== null) params.set(k, v);
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const path = `/containerLogs/${encodeURIComponent(ns ?? '')}/${encodeURIComponent(name)}/${encodeURIComponent(container)}${params.size ? `?${params}` : ''}`;
    const upstream = await kubeletGet(loc, path, { cert: this.#opts.kubeletClient?.cert ?? this.#opts.tls.cert, key: this.#opts.kubeletClient?.key ?? this.#opts.tls.key }, abort.signal);
    void req;
    const code = upstream.statusCode ?? 502;
    if (code < 200 || code > 206) {
      // upstream's GenericHttpResponseChecker: the kubelet's text becomes the Status message.
      const chunks: Buffer[] = [];
      for await (const c of upstream) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString().slice(0, 2048);
      if (code === 500) throw newInternalError(text);
      if (code === 400) throw newBadRequest(text);
      throw newGenericServerResponse(code, '', { group: '', resource: 'pods/log' }, name, text);
    }
    res.writeHead(code, { 'content-type': upstream.headers['content-type'] ?? 'text/plain', 'cache-control': 'no-cache, private' });
    upstream.on('data', (d: Buffer) => { if (!res.writableEnded && !res.destroyed) res.write(d); });
    await new Promise<void>((resolve) => {
      upstream.on('end', resolve);
      upstream.on('error', () => resolve());
      upstream.on('close', () => resolve());
    });
    if (!res.writableEnded && !res.destroyed) res.end();
  }

  /** pods/binding: sets spec.nodeName once (upstream's BindingREST.assignPod, written straight to storage). */
  async #bind(ctx: RequestContext, store: ResourceStore, name: string, binding: KObject, dryRun: boolean, manager: string): Promise<unknown> {
    const errs = validatePodBinding(binding);
    if (errs.length > 0) throw newInvalid({ group: '', kind: 'Binding' }, binding.metadata?.name ?? name, errs);
    if (binding.metadata?.name && binding.metadata.name !== name) {
      throw newBadRequest(`name in URL does not match name in Binding object`);
    }
    await store.update(
      ctx,
      name,
      // The store hands the transform its own copy of the current pod: bound in place.
      (current) => {
        const problem = bindPod(current!, binding, formatRFC3339(this.#clock.now()));
        if (problem) throw newConflict({ group: '', resource: 'pods/binding' }, name, problem);
        return current!;
      },
      { dryRun, manager, raw: true },
    );
    return successStatus();
  }

  #table(def: ResourceDef, objs: KObject[], includeObject: string | null, listMeta: Record<string, unknown>): unknown {
    const now = this.#clock.now();
    const mode = includeObject ?? 'Metadata';
    return {
      kind: 'Table',
      apiVersion: 'meta.k8s.io/v1',
      metadata: listMeta,
      columnDefinitions: def.table.columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description, priority: c.priority })),
      rows: objs.map((o) => ({
        cells: def.table.row(o, now),
        ...(def.table.conditions ? { conditions: def.table.conditions(o) } : {}),
        ...(mode === 'None' ? {} : { object: mode === 'Object' ? o : partial(o) }),
      })),
    };
  }

  async #watch(req: Http2ServerRequest, res: Http2ServerResponse, q: URLSearchParams, store: ResourceStore, ns: string | undefined): Promise<void> {
    const out = negotiate(req.headers.accept, { table: true });
    const abort = new AbortController();
    this.#watchAborts.add(abort);
    const sendInitial = q.get('sendInitialEvents');
    const stream = await store.watch(
      ns,
      {
        labelSelector: q.get('labelSelector') ?? undefined,
        fieldSelector: q.get('fieldSelector') ?? undefined,
        resourceVersion: q.get('resourceVersion') ?? undefined,
        allowBookmarks: queryBool(q.get('allowWatchBookmarks')),
        sendInitialEvents: sendInitial === null ? undefined : queryBool(sendInitial),
      },
      abort.signal,
    );
    const timeoutS = q.get('timeoutSeconds') ? Number(q.get('timeoutSeconds')) : WATCH_DEFAULT_MIN_S * (1 + Math.random());
    const timer = this.#clock.setTimeout(() => stream.stop(), timeoutS * 1000);
    const end = () => {
      stream.stop();
      abort.abort();
    };
    req.on('close', end);
    res.on('close', end);
    res.writeHead(200, { 'content-type': out.kind === 'yaml' ? 'application/yaml' : 'application/json', 'cache-control': 'no-cache, private' });
    // Send the status line and headers now, as upstream flushes them before the first event:
    // clients (client-go, client-node informers) wait for them before they consider the
    // watch started, and a quiet collection may have no event for minutes.
    (res as unknown as { flushHeaders?: () => void }).flushHeaders?.();
    const includeObject = q.get('includeObject');
    try {
      for await (const ev of stream) {
        const line = this.#watchEvent(store, ev, out, includeObject);
        if (res.writableEnded || res.destroyed) break;
        res.write(JSON.stringify(line) + '\n');
        if (ev.type === 'ERROR') break;
      }
    } catch (err) {
      if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify({ type: 'ERROR', object: errorToAPIStatus(err) }) + '\n');
    } finally {
      timer.cancel();
      this.#watchAborts.delete(abort);
      if (!res.writableEnded && !res.destroyed) res.end();
    }
  }

  #watchEvent(store: ResourceStore, ev: WatchEvent, out: Output, includeObject: string | null): unknown {
    if (ev.type === 'ERROR') {
      const err = translateStorageError(ev.error ?? newInternalError('watch failed'), store.gr, '');
      return { type: 'ERROR', object: errorToAPIStatus(err) };
    }
    const obj = ev.object as KObject;
    if (ev.type === 'BOOKMARK') {
      return { type: 'BOOKMARK', object: { kind: store.def.kind, apiVersion: store.apiVersion, metadata: obj.metadata } };
    }
    if (out.kind === 'table') return { type: ev.type, object: this.#table(store.def, [obj], includeObject, { resourceVersion: obj.metadata?.resourceVersion }) };
    if (out.kind === 'partial') return { type: ev.type, object: partial(obj) };
    return { type: ev.type, object: obj };
  }

  // ---- writing -----------------------------------------------------------------------

  #warn(res: Http2ServerResponse, warnings: string[]): void {
    if (warnings.length === 0) return;
    res.setHeader('warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`));
  }

  #send(res: Http2ServerResponse, code: number, body: unknown, out: Output): void {
    if (out.kind === 'yaml') {
      res.writeHead(code, { 'content-type': 'application/yaml' });
      res.end(YAML.stringify(body));
      return;
    }
    this.#json(res, code, body);
  }

  #json(res: Http2ServerResponse, code: number, body: unknown): void {
    const text = this.#pretty.has(res) ? JSON.stringify(body, null, 2) : JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  #discovery(res: Http2ServerResponse, body: unknown, version: 'v2' | 'v2beta1'): void {
    const text = JSON.stringify(body);
    res.writeHead(200, { 'content-type': discoveryContentType(version), etag: `"${hashOf(body)}"`, vary: 'Accept' });
    res.end(text);
  }

  #error(res: Http2ServerResponse, err: unknown): void {
    let status = errorToAPIStatus(err);
    if (!isStatusError(err)) {
      this.#log.info({ err }, 'internal error');
      status = errorToAPIStatus(newInternalError(err instanceof Error ? err : String(err)));
    }
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    const retry = status.details?.retryAfterSeconds;
    if (retry) res.setHeader('retry-after', String(retry));
    this.#json(res, status.code ?? 500, status);
  }
}

/** Resources upstream answers DELETE with the object rather than a Status (ReturnDeletedObject). */
function returnsDeletedObject(def: ResourceDef): boolean {
  return def.group === '' && (def.resource === 'pods' || def.resource === 'services');
}

function partial(o: KObject): unknown {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata };
}

function hashOf(v: unknown): string {
  // FNV-1a over the JSON text: cheap, stable, enough for an ETag.
  const s = JSON.stringify(v);
  let h = 0xcbf29ce484222325n;
  for (let i = 0; i < s.length; i++) {
    h ^= BigInt(s.charCodeAt(i));
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16).toUpperCase().padStart(16, '0');
}

async function readBody(req: Http2ServerRequest): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function parseJSON(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw newBadRequest(`error decoding patch: ${(err as Error).message}`);
  }
}

function decodeBody(raw: Buffer, contentType: string): unknown {
  const text = raw.toString('utf8');
  if (contentType === 'application/yaml' || contentType === 'application/apply-patch+yaml') {
    try {
      return YAML.parse(text);
    } catch (err) {
      throw newBadRequest(`error converting YAML to JSON: ${(err as Error).message}`);
    }
  }
  if (contentType === 'application/vnd.kubernetes.protobuf') {
    try {
      return decodeKubernetesProtobuf(raw);
    } catch (err) {
      if (err instanceof ProtobufDecodeError) throw newUnsupportedMediaType(['application/json', 'application/yaml']);
      throw err;
    }
  }
  if (contentType === 'application/json' || contentType === '' || contentType.endsWith('+json')) {
    try {
      return JSON.parse(text);
    } catch (err) {
      throw newBadRequest(`couldn't get version/kind; json parse error: ${(err as Error).message}`);
    }
  }
  throw newUnsupportedMediaType(['application/json', 'application/yaml', 'application/vnd.kubernetes.protobuf']);
}

/** Collects dotted paths of fields a struct schema does not declare. */
/** Where walkUnknown is: the path is only spelled out for an unknown field. */
type UnknownPath = { parent: UnknownPath; key: string | number } | undefined;

function unknownPathString(p: UnknownPath): string {
  if (!p) return '';
  const parent = unknownPathString(p.parent);
  if (typeof p.key === 'number') return `${parent}[${p.key}]`;
  return parent ? `${parent}.${p.key}` : p.key;
}

function walkUnknown(v: unknown, node: schemaMod.SchemaNode | undefined, path: UnknownPath, out: string[]): void {
  if (!node || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    if (node.kind !== 'list') return;
    v.forEach((item, i) => walkUnknown(item, node.items(), { parent: path, key: i }, out));
    return;
  }
  const obj = v as Record<string, unknown>;
  if (node.kind === 'struct') {
    for (const [k, val] of Object.entries(obj)) {
      if (!node.hasField(k)) {
        if (!node.preserveUnknownFields) out.push(unknownPathString({ parent: path, key: k }));
        continue;
      }
      walkUnknown(val, node.field(k), { parent: path, key: k }, out);
    }
  } else if (node.kind === 'map') {
    for (const [k, val] of Object.entries(obj)) walkUnknown(val, node.field(k), { parent: path, key: k }, out);
  }
}

interface Toleration {
  key?: string;
  operator?: string;
  effect?: string;
  tolerationSeconds?: number;
}

/**
 * Upstream's DefaultTolerationSeconds admission plugin: a pod that does not already
 * tolerate the node controller's NoExecute taints node.kubernetes.io/not-ready and
 * node.kubernetes.io/unreachable (a toleration with that key or no key, and effect
 * NoExecute or none) gets one for each, bounded by the given seconds. In place.
 */
export function addDefaultTolerations(pod: KObject, notReadySeconds: number, unreachableSeconds: number): void {
  const spec = pod.spec as { tolerations?: Toleration[] } | undefined;
  if (!spec) return;
  const has = (key: string) =>
    (spec.tolerations ?? []).some((t) => (t.key === key || !t.key) && (t.effect === 'NoExecute' || !t.effect));
  const add: Toleration[] = [];
  if (!has('node.kubernetes.io/not-ready')) {
    add.push({ key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: notReadySeconds });
  }
  if (!has('node.kubernetes.io/unreachable')) {
    add.push({ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: unreachableSeconds });
  }
  if (add.length) spec.tolerations = [...(spec.tolerations ?? []), ...add];
}
