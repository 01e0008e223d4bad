/**
 * `flotilla apiserver`: the Kubernetes API server on its own, over the embedded store in
 * DIR (default) or a real etcd cluster (--etcd-servers). At first start it makes the
 * cluster PKI under DIR/pki and the admin kubeconfig DIR/admin.conf, as `kubeadm init` does.
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { list, parseFlags, type Command } from './command.js';
import { defaultTolerationFlags, defaultTolerationSeconds } from './nodelifecycle-flags.js';
import { startApiServer } from '../apiserver/index.js';
import { newLogger } from '../util/log.js';

export const command: Command = {
  name: 'apiserver',
  summary: 'Run the Kubernetes API server (HTTPS, kubectl-compatible) over the embedded store or a real etcd cluster.',
  usage: '[flags]',
  flags: {
    'data-dir': { type: 'string', default: 'flotilla-data', help: 'Directory for the embedded store (DIR/apiserver-store), certificates (DIR/pki) and DIR/admin.conf.' },
    'secure-port': { type: 'string', default: '6443', help: 'HTTPS port (HTTP/2 and HTTP/1.1); 0 picks a free one.' },
    'bind-address': { type: 'string', default: '127.0.0.1', help: 'Address to listen on.' },
    'advertise-address': { type: 'string', default: '', help: 'Address advertised to clients (kubeconfig server, /api); default the bind address, or 127.0.0.1 for 0.0.0.0.' },
    'etcd-servers': { type: 'string', default: '', help: 'Comma-separated etcd client URLs; empty = the embedded store under the data dir.' },
    'token-auth-file': { type: 'string', default: '', help: 'CSV file of bearer tokens: token,user,uid,"group1,group2".' },
    ...defaultTolerationFlags,
    'authorization-mode': { type: 'string', default: 'AlwaysAllow', help: 'AlwaysAllow or RBAC (Roles/ClusterRoles and bindings; system:masters always allowed).' },
  },
  run,
};

function authorizationMode(v: string): 'AlwaysAllow' | 'RBAC' {
  const modes = v.split(',').map((m) => m.trim()).filter(Boolean);
  if (modes.includes('RBAC')) return 'RBAC';
  if (modes.every((m) => m === 'AlwaysAllow')) return 'AlwaysAllow';
  throw new Error(`invalid --authorization-mode ${JSON.stringify(v)}: want AlwaysAllow or RBAC`);
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}\nRun 'flotilla apiserver --help' for usage.`);
  const tolerations = defaultTolerationSeconds(values);
  const dataDir = resolve(String(values['data-dir']));
  await mkdir(dataDir, { recursive: true });
  const port = Number(values['secure-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --secure-port ${JSON.stringify(values['secure-port'])}: want a port number 0-65535`);
  const log = newLogger('apiserver');
  const running = await startApiServer({
    dataDir,
    storeDir: join(dataDir, 'apiserver-store'),
    port,
    bindAddress: String(values['bind-address']),
    advertiseAddress: String(values['advertise-address'] ?? '') || undefined,
    etcdServers: list(values['etcd-servers']),
    tokenAuthFile: String(values['token-auth-file'] ?? '') || undefined,
    authorizationMode: authorizationMode(String(values['authorization-mode'])),
    ...tolerations,
    logger: log,
  });
  process.stdout.write(`apiserver: serving on https://${running.host}:${running.port}\nkubeconfig: ${running.kubeconfigPath}\n`);
  await new Promise<void>((resolveSignal) => {
    const done = () => resolveSignal();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await running.stop();
  return 0;
}
