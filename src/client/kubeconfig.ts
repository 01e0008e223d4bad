/**
 * Reads a kubeconfig file as client-go's clientcmd does for the fields Flotilla's
 * components need: the current context's cluster (server, CA, insecure-skip-tls-verify)
 * and user (client certificate and key, bearer token or token file). File references are
 * resolved against the kubeconfig's own directory, as kubectl resolves them.
 */
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseYAML } from 'yaml';

/** What a REST client needs to reach and authenticate to one API server. */
export interface KubeconfigCredentials {
  /** e.g. "https://127.0.0.1:6443". */
  server: string;
  /** PEM CA bundle that signs the server certificate. */
  ca?: Buffer;
  /** PEM client certificate and key (x509 authentication). */
  cert?: Buffer;
  key?: Buffer;
  /** Bearer token. */
  token?: string;
  insecureSkipTLSVerify?: boolean;
  /** The context the credentials came from. */
  context: string;
}

interface Named<T> {
  name?: string;
  cluster?: T;
  user?: T;
  context?: T;
}

interface ClusterEntry {
  server?: string;
  'certificate-authority'?: string;
  'certificate-authority-data'?: string;
  'insecure-skip-tls-verify'?: boolean;
}

interface UserEntry {
  'client-certificate'?: string;
  'client-certificate-data'?: string;
  'client-key'?: string;
  'client-key-data'?: string;
  token?: string;
  tokenFile?: string;
}

interface ContextEntry {
  cluster?: string;
  user?: string;
}

interface KubeconfigFile {
  'current-context'?: string;
  clusters?: Named<ClusterEntry>[];
  users?: Named<UserEntry>[];
  contexts?: Named<ContextEntry>[];
}

/**
 * Loads the credentials of `context` (default: current-context) from the kubeconfig at
 * path. Throws with clientcmd's wording when the context, cluster or user is missing.
 */
export async function loadKubeconfig(path: string, opts: { context?: string } = {}): Promise<KubeconfigCredentials> {
  const text = await readFile(path, 'utf8');
  const cfg = (parseYAML(text) ?? {}) as KubeconfigFile;
  const base = dirname(resolve(path));
  const file = (p: string) => readFile(isAbsolute(p) ? p : resolve(base, p));

  const contextName = opts.context ?? cfg['current-context'] ?? '';
  if (contextName === '') throw new Error('invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable');
  const ctx = cfg.contexts?.find((c) => c.name === contextName)?.context;
  if (!ctx) throw new Error(`context was not found for specified context: ${contextName}`);
  const cluster = cfg.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) throw new Error(`invalid configuration: context ${JSON.stringify(contextName)} refers to cluster ${JSON.stringify(ctx.cluster ?? '')}, which is not defined`);
  if (!cluster.server) throw new Error('invalid configuration: no server found for cluster ' + JSON.stringify(ctx.cluster));
  const user: UserEntry = cfg.users?.find((u) => u.name === ctx.user)?.user ?? {};

  const out: KubeconfigCredentials = { server: cluster.server, context: contextName };
  if (cluster['certificate-authority-data']) out.ca = Buffer.from(cluster['certificate-authority-data'], 'base64');
  else if (cluster['certificate-authority']) out.ca = await file(cluster['certificate-authority']);
  if (cluster['insecure-skip-tls-verify']) out.insecureSkipTLSVerify = true;
  if (user['client-certificate-data']) out.cert = Buffer.from(user['client-certificate-data'], 'base64');
  else if (user['client-certificate']) out.cert = await file(user['client-certificate']);
  if (user['client-key-data']) out.key = Buffer.from(user['client-key-data'], 'base64');
  else if (user['client-key']) out.key = await file(user['client-key']);
  if (user.token) out.token = user.token;
  else if (user.tokenFile) out.token = (await file(user.tokenFile)).toString('utf8').trim();
  return out;
}
