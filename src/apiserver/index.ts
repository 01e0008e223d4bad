/**
 * Starting the API server the way `flotilla apiserver` and `flotilla up` do: PKI and
 * admin.conf under the data dir, storage on the embedded store or real etcd, the OpenAPI
 * documents of src/api/openapi when present, then HTTPS.
 */
import { isIP } from 'node:net';
import { openStorage } from '../storage/store.js';
import type { Storage } from '../storage/interface.js';
import { silentLogger, type Logger } from '../util/log.js';
import type { Registry } from 'prom-client';
import type { ResourceDef } from '../api/types.js';
import { allResources } from '../api/registry.js';
import type { SchemaResolver } from '../apimachinery/schema.js';
import { loadTokenFile } from './auth.js';
import { ensurePKI, writeAdminKubeconfig } from './pki.js';
import { ApiServer, type OpenAPISource } from './server.js';
import { loadServiceAccountKey, ServiceAccountTokens } from './satoken.js';

export { ApiServer, KUBERNETES_VERSION, type ApiServerOptions, type OpenAPISource } from './server.js';
export { ResourceStore, keyPrefixFor, translateStorageError, OPTIMISTIC_LOCK_ERROR_MSG } from './registry.js';
export { ensurePKI, adminKubeconfig, writeAdminKubeconfig, DEFAULT_SERVICE_IP, type PKI } from './pki.js';
export { parseTokenFile, authenticate, type UserInfo, type TokenEntry } from './auth.js';
export { ServiceAccountTokens, loadServiceAccountKey, DEFAULT_ISSUER } from './satoken.js';

export interface StartApiServerOptions {
  dataDir: string;
  /** Embedded store directory (ignored with etcdServers or storage). */
  storeDir?: string;
  /** Use this storage (not closed on stop) instead of opening one. */
  storage?: Storage;
  etcdServers?: string[];
  port?: number;
  bindAddress?: string;
  advertiseAddress?: string;
  tokenAuthFile?: string;
  /** AlwaysAllow (default) or RBAC. */
  authorizationMode?: 'AlwaysAllow' | 'RBAC';
  /** DefaultTolerationSeconds admission; default 300 each. */
  defaultNotReadyTolerationSeconds?: number;
  defaultUnreachableTolerationSeconds?: number;
  resources?: ResourceDef[];
  logger?: Logger;
  registry?: Registry;
  openapi?: OpenAPISource;
}

export interface RunningApiServer {
  server: ApiServer;
  host: string;
  port: number;
  kubeconfigPath: string;
  storage: Storage;
  stop(): Promise<void>;
}

interface OpenAPIModule {
  openAPIV2DocumentJSON(resources: readonly ResourceDef[]): { json: string; hash: string };
  openAPIV2DocumentProtobuf(resources: readonly ResourceDef[]): { bytes: Buffer; hash: string };
  OPENAPI_V2_PROTOBUF_ACCEPT: readonly string[];
  OPENAPI_V2_PROTOBUF_CONTENT_TYPE: string;
  openAPIV3Discovery(resources: readonly ResourceDef[]): { paths: Record<string, { serverRelativeURL: string }> };
  openAPIV3GroupDocumentJSON(path: string, resources: readonly ResourceDef[]): { json: string; hash: string } | undefined;
  schemaResolver(resources: readonly ResourceDef[]): SchemaResolver;
}

/**
 * src/api/openapi bound to the served resources; undefined when that module (or its
 * generated definitions) is not available, in which case /openapi answers 404.
 */
export async function loadOpenAPI(resources: readonly ResourceDef[] = allResources, log: Logger = silentLogger()): Promise<OpenAPISource | undefined> {
  // A computed specifier: the module is optional at type-check time.
  const path = '../api/openapi/index.js';
  let mod: OpenAPIModule;
  try {
    mod = (await import(path)) as OpenAPIModule;
    // Fail now rather than on the first request when the generated definitions are missing.
    mod.openAPIV3Discovery(resources);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'OpenAPI documents unavailable');
    return undefined;
  }
  return {
    v2: () => mod.openAPIV2DocumentJSON(resources),
    v2Protobuf: {
      accept: mod.OPENAPI_V2_PROTOBUF_ACCEPT,
      contentType: mod.OPENAPI_V2_PROTOBUF_CONTENT_TYPE,
      document: () => mod.openAPIV2DocumentProtobuf(resources),
    },
    v3Discovery: () => mod.openAPIV3Discovery(resources),
    v3Group: (key) => mod.openAPIV3GroupDocumentJSON(key, resources),
    resolver: () => mod.schemaResolver(resources),
  };
}

export async function startApiServer(opts: StartApiServerOptions): Promise<RunningApiServer> {
  const log = opts.logger ?? silentLogger();
  const bind = opts.bindAddress ?? '127.0.0.1';
  const advertise = opts.advertiseAddress ?? (bind === '0.0.0.0' || bind === '::' ? '127.0.0.1' : bind);
  const pki = await ensurePKI({ dataDir: opts.dataDir, extraSANs: [advertise, bind].filter((a) => isIP(a) && a !== '0.0.0.0' && a !== '::') });
  const ownStorage = !opts.storage;
  const storage =
    opts.storage ??
    (opts.etcdServers && opts.etcdServers.length > 0
      ? await openStorage({ backend: 'etcd', servers: opts.etcdServers, logger: log })
      : await openStorage({ backend: 'embedded', dataDir: opts.storeDir, logger: log }));
  const server = new ApiServer({
    storage,
    tls: { cert: pki.certPem, key: pki.keyPem, ca: pki.caCertPem },
    kubeletClient: { cert: pki.kubeletClientCertPem, key: pki.kubeletClientKeyPem },
    bindAddress: bind,
    port: opts.port ?? 6443,
    advertiseAddress: advertise,
    tokens: opts.tokenAuthFile ? loadTokenFile(opts.tokenAuthFile) : undefined,
    authorizationMode: opts.authorizationMode,
    defaultNotReadyTolerationSeconds: opts.defaultNotReadyTolerationSeconds,
    defaultUnreachableTolerationSeconds: opts.defaultUnreachableTolerationSeconds,
    serviceAccountTokens: new ServiceAccountTokens(loadServiceAccountKey(pki.dir)),
    resources: opts.resources,
    logger: log,
    registry: opts.registry,
    openapi: opts.openapi ?? (await loadOpenAPI(opts.resources ?? allResources, log)),
  });
  try {
    await server.start();
  } catch (err) {
    if (ownStorage) await storage.close();
    throw err;
  }
  const host = isIP(advertise) === 6 ? `[${advertise}]` : advertise;
  const kubeconfigPath = await writeAdminKubeconfig(opts.dataDir, pki, `https://${host}:${server.port}`);
  log.info({ port: server.port, kubeconfig: kubeconfigPath }, 'apiserver serving');
  return {
    server,
    host: advertise,
    port: server.port,
    kubeconfigPath,
    storage,
    async stop() {
      await server.stop();
      if (ownStorage) await storage.close();
    },
  };
}
