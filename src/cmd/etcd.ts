/**
 * `flotilla etcd`: the embedded store behind etcd's v3 gRPC API, with etcd's flag names,
 * so the real etcdctl (and kubeadm-style manifests) work against it; plus
 * `flotilla etcd snapshot save|restore`, etcdctl's backup workflow.
 */
import { mkdir, mkdtemp, readdir, rename, rm, open as openFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createWriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { credentials, Metadata, type ClientReadableStream } from '@grpc/grpc-js';
import type { Server as HttpServer } from 'node:http';
import { commandHelp, list, parseFlags, type Command, type FlagSpec } from './command.js';
import { parseDuration, parseGoFlagDuration } from './duration.js';
import { realClock } from '../util/clock.js';
import { newRegistry, serveHealthAndMetrics } from '../util/health.js';
import { newLogger } from '../util/log.js';
import { MvccStore, restoreBackup } from '../storage/mvcc/index.js';
import { EtcdServer, DEFAULT_MAX_REQUEST_BYTES, DEFAULT_MAX_TXN_OPS } from '../storage/etcdserver/server.js';
import { etcdClientConstructor } from '../storage/etcdserver/proto.js';
import { extractBackup, verifySnapshotFile, SnapshotFormatError } from '../storage/etcdserver/snapshot.js';
import type { AutoCompactionMode } from '../storage/etcdserver/compactor.js';

const str = (help: string, def?: string): FlagSpec => ({ type: 'string', help, ...(def === undefined ? {} : { default: def }) });

/**
 * etcd's flags. Those marked "accepted" exist so etcd command lines (kubeadm's static pod,
 * systemd units) start unchanged; a one-member store has no peers, raft timing or WAL
 * directory of its own to configure.
 */
const serverFlags: Record<string, FlagSpec> = {
  name: str('Human-readable name for this member.', 'default'),
  'data-dir': str('Path to the data directory (default "${name}.etcd", as etcd).'),
  'listen-client-urls': str('List of URLs to listen on for client traffic (http only).', 'http://127.0.0.1:2379'),
  'advertise-client-urls': str('List of this member\'s client URLs to advertise to the public (default: the listen URLs).'),
  'listen-metrics-urls': str('List of URLs to listen on for the /metrics and /health endpoints.', 'http://127.0.0.1:2381'),
  'initial-advertise-peer-urls': str('This member\'s peer URLs (shown in member list; hashed into the member ID).', 'http://localhost:2380'),
  'initial-cluster-token': str('Initial cluster token (hashed into the member ID).', 'etcd-cluster'),
  'auto-compaction-mode': str('Interpret \'auto-compaction-retention\' one of: periodic|revision.', 'periodic'),
  'auto-compaction-retention': str('Auto compaction retention for mvcc key value store. 0 means disable auto compaction.', '0'),
  'quota-backend-bytes': str('Raise alarms when backend size exceeds the given quota (accepted, not enforced).', '0'),
  'max-request-bytes': str('Maximum client request size in bytes the server will accept.', String(DEFAULT_MAX_REQUEST_BYTES)),
  'max-txn-ops': str('Maximum number of operations permitted in a transaction.', String(DEFAULT_MAX_TXN_OPS)),
  'experimental-watch-progress-notify-interval': str('Duration of periodic watch progress notifications.', '10m'),
  // Accepted for compatibility with etcd command lines; no effect on a single member.
  'listen-peer-urls': str('Accepted; a single member has no peers.'),
  'initial-cluster': str('Accepted; a single member has no peers.'),
  'initial-cluster-state': str('Accepted; a single member has no peers.'),
  'snapshot-count': str('Accepted; the store snapshots by its own policy.'),
  'heartbeat-interval': str('Accepted; no raft.'),
  'election-timeout': str('Accepted; no raft.'),
  'wal-dir': str('Accepted; the WAL lives in the data dir.'),
  logger: str('Accepted; logs are always structured JSON.'),
  'log-level': str('Accepted; set FLOTILLA_LOG_LEVEL instead.'),
  'experimental-initial-corrupt-check': { type: 'boolean', help: 'Accepted; the store checks every record on recovery.' },
  'enable-pprof': { type: 'boolean', help: 'Accepted; no pprof.' },
  // TLS: refused with a clear error if set (the endpoint serves plain-text gRPC only).
  'cert-file': str('Not supported: client TLS.'),
  'key-file': str('Not supported: client TLS.'),
  'trusted-ca-file': str('Not supported: client TLS.'),
  'client-cert-auth': { type: 'boolean', help: 'Not supported: client TLS.' },
  'peer-cert-file': str('Accepted; no peers.'),
  'peer-key-file': str('Accepted; no peers.'),
  'peer-trusted-ca-file': str('Accepted; no peers.'),
  'peer-client-cert-auth': { type: 'boolean', help: 'Accepted; no peers.' },
};

const saveCommand: Command = {
  name: 'etcd snapshot save',
  summary: 'Stores a snapshot of the store at FILE (like `etcdctl snapshot save`).',
  usage: 'FILE [--endpoints URL]',
  flags: {
    endpoints: str('The one endpoint to take the snapshot from.', '127.0.0.1:2379'),
    'dial-timeout': str('Dial timeout for the client connection.', '2s'),
  },
  run: snapshotSave,
};

const restoreCommand: Command = {
  name: 'etcd snapshot restore',
  summary: 'Restores a snapshot file into a new data directory (like `etcdctl snapshot restore`).',
  usage: 'FILE --data-dir DIR',
  flags: {
    'data-dir': str('Path to the data directory to create (default "${name}.etcd", as etcdctl).'),
    name: str('Human-readable name for this member.', 'default'),
    'skip-hash-check': { type: 'boolean', help: 'Restore a raw store backup that has no snapshot envelope (the store still checks its own checksum).' },
  },
  run: snapshotRestore,
};

function positiveInt(flag: string, v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`invalid value ${JSON.stringify(v)} for --${flag}: want a positive integer`);
  return n;
}

export const command: Command = {
  name: 'etcd',
  summary: 'Run the embedded store behind the etcd v3 API (etcdctl works against it); snapshot save/restore.',
  usage: '[flags]\n       flotilla etcd snapshot save FILE [--endpoints URL]\n       flotilla etcd snapshot restore FILE --data-dir DIR',
  flags: serverFlags,
  async run(argv) {
    if (argv[0] === 'snapshot') {
      const sub = argv[1];
      const c = sub === 'save' ? saveCommand : sub === 'restore' ? restoreCommand : undefined;
      if (!c) throw new Error(`unknown snapshot command ${JSON.stringify(sub ?? '')}; want "save" or "restore"\n\n${commandHelp(saveCommand)}\n\n${commandHelp(restoreCommand)}`);
      return c.run(argv.slice(2));
    }
    return serve(argv);
  },
};

/** Options of one embedded etcd member: the store on dataDir behind etcd's v3 API. */
export interface EtcdMemberOptions {
  dataDir: string;
  name: string;
  listenClientUrls: string[];
  advertiseClientUrls: string[];
  listenMetricsUrls: string[];
  initialAdvertisePeerUrls: string[];
  initialClusterToken: string;
  maxRequestBytes: number;
  maxTxnOps: number;
  autoCompaction: { mode: AutoCompactionMode; retention: string };
  progressNotifyIntervalMs: number;
}

/** A running member; close() stops serving, then closes the store (pending writes become durable). */
export interface EtcdMember {
  store: MvccStore;
  server: EtcdServer;
  close(): Promise<void>;
}

/** Opens the store and starts serving it; `flotilla etcd` and `flotilla up` both start the store this way. */
export async function startEtcdMember(o: EtcdMemberOptions): Promise<EtcdMember> {
  const logger = newLogger('etcd', { name: o.name });
  const registry = newRegistry();
  await mkdir(o.dataDir, { recursive: true, mode: 0o700 });
  logger.info({ dataDir: o.dataDir, version: '3.4.23' }, 'opening store');
  const store = await MvccStore.open({
    dataDir: o.dataDir,
    clock: realClock,
    logger: newLogger('mvcc', { name: o.name }),
    registry,
    maxRequestBytes: o.maxRequestBytes,
    maxTxnOps: o.maxTxnOps,
    ...(o.progressNotifyIntervalMs > 0 ? { progressNotifyIntervalMs: o.progressNotifyIntervalMs } : {}),
  });

  let server: EtcdServer | undefined;
  const healthServers: HttpServer[] = [];
  try {
    server = new EtcdServer({
      kv: store,
      snapshot: store,
      logger: newLogger('etcdserver', { name: o.name }),
      registry,
      clock: realClock,
      name: o.name,
      listenClientUrls: o.listenClientUrls,
      advertiseClientUrls: o.advertiseClientUrls,
      initialAdvertisePeerUrls: o.initialAdvertisePeerUrls,
      initialClusterToken: o.initialClusterToken,
      maxRequestBytes: o.maxRequestBytes,
      maxTxnOps: o.maxTxnOps,
      autoCompaction: o.autoCompaction,
    });
    await server.start();
    for (const url of o.listenMetricsUrls) {
      const u = new URL(url);
      if (u.protocol !== 'http:') throw new Error(`--listen-metrics-urls ${url}: only http:// is supported`);
      const { server: hs, port } = await serveHealthAndMetrics({
        host: u.hostname.replace(/^\[|\]$/g, ''),
        port: Number(u.port || 80),
        registry,
        liveness: [{ name: 'etcd', check: () => { store.status(); } }],
      });
      healthServers.push(hs);
      logger.info({ address: `${u.hostname}:${port}` }, 'serving /metrics and /health');
    }
  } catch (err) {
    await server?.close(1000).catch(() => {});
    for (const hs of healthServers) hs.close();
    await store.close();
    throw err;
  }
  const running = server;
  return {
    store,
    server: running,
    async close() {
      await running.close();
      await Promise.all(healthServers.map((hs) => new Promise<void>((r) => { hs.close(() => r()); hs.closeAllConnections(); })));
      await store.close();
      logger.info('stopped serving; store closed');
    },
  };
}

/** Resolves with the first SIGTERM/SIGINT; a second one exits at once. */
export function waitForShutdownSignal(): Promise<NodeJS.Signals> {
  return new Promise<NodeJS.Signals>((resolveSignal) => {
    const on = (s: NodeJS.Signals) => {
      process.off('SIGTERM', on);
      process.off('SIGINT', on);
      process.once(s, () => process.exit(1));
      resolveSignal(s);
    };
    process.on('SIGTERM', on);
    process.on('SIGINT', on);
  });
}

async function serve(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  for (const f of ['cert-file', 'key-file', 'trusted-ca-file', 'client-cert-auth'] as const) {
    if (values[f]) throw new Error(`--${f}: client TLS is not supported; serve http:// and keep the endpoint on a trusted network`);
  }
  const mode = String(values['auto-compaction-mode']);
  if (mode !== 'periodic' && mode !== 'revision') throw new Error(`invalid --auto-compaction-mode ${JSON.stringify(mode)}: want periodic or revision`);
  const name = String(values.name);
  const member = await startEtcdMember({
    dataDir: resolve(String(values['data-dir'] ?? `${name}.etcd`)),
    name,
    listenClientUrls: list(values['listen-client-urls']),
    advertiseClientUrls: list(values['advertise-client-urls']),
    listenMetricsUrls: list(values['listen-metrics-urls']),
    initialAdvertisePeerUrls: list(values['initial-advertise-peer-urls']),
    initialClusterToken: String(values['initial-cluster-token']),
    maxRequestBytes: positiveInt('max-request-bytes', values['max-request-bytes']),
    maxTxnOps: positiveInt('max-txn-ops', values['max-txn-ops']),
    autoCompaction: { mode: mode as AutoCompactionMode, retention: String(values['auto-compaction-retention']) },
    // etcd's server flags are Go's standard flag package (its message); ≤ 0 keeps the 10 m default, as etcd.
    progressNotifyIntervalMs: parseGoFlagDuration('experimental-watch-progress-notify-interval', values['experimental-watch-progress-notify-interval']),
  });
  const signal = await waitForShutdownSignal();
  newLogger('etcd', { name }).info({ signal }, 'received signal; shutting down');
  await member.close();
  setTimeout(() => process.exit(0), 3000).unref();
  return 0;
}

/** host:port for grpc-js from an etcdctl-style endpoint ("http://h:p" or "h:p"). */
function endpointTarget(ep: string): string {
  if (/^https:\/\//.test(ep)) throw new Error(`endpoint ${ep}: TLS is not supported`);
  return ep.replace(/^http:\/\//, '').replace(/\/$/, '');
}

async function snapshotSave(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(saveCommand, argv);
  if (positionals.length !== 1) throw new Error('snapshot save expects one argument (the file to write)');
  const file = positionals[0]!;
  const endpoints = list(values.endpoints);
  if (endpoints.length !== 1) throw new Error(`snapshot must be requested to one selected node, not multiple [${endpoints.join(' ')}]`);
  // etcdctl's flags are pflag's (cobra), so its message.
  const dialTimeoutMs = parseDuration('dial-timeout', values['dial-timeout']);
  const Maintenance = etcdClientConstructor('Maintenance');
  const client = new Maintenance(endpointTarget(endpoints[0]!), credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
  });
  const part = `${file}.part`;
  try {
    await new Promise<void>((res, rej) => client.waitForReady(Date.now() + dialTimeoutMs, (e) => (e ? rej(new Error(`context deadline exceeded (dialing ${endpoints[0]}: ${e.message})`)) : res())));
    const out = createWriteStream(part, { mode: 0o600 });
    const stream = (client as unknown as { Snapshot(req: object, md: Metadata): ClientReadableStream<{ blob: Buffer }> }).Snapshot({}, new Metadata());
    await new Promise<void>((res, rej) => {
      stream.on('data', (msg: { blob: Buffer }) => {
        if (!out.write(msg.blob)) {
          stream.pause();
          out.once('drain', () => stream.resume());
        }
      });
      stream.on('error', rej);
      stream.on('end', res);
      out.on('error', rej);
    });
    await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
    const fh = await openFile(part, 'r+');
    try { await fh.sync(); } finally { await fh.close(); }
    await rename(part, file);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  } finally {
    client.close();
  }
  console.log(`Snapshot saved at ${file}`);
  return 0;
}

async function snapshotRestore(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(restoreCommand, argv);
  if (positionals.length !== 1) throw new Error('snapshot restore expects one argument (the snapshot file)');
  const file = positionals[0]!;
  const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : `${String(values.name)}.etcd`;
  const existing = await readdir(dataDir).catch(() => [] as string[]);
  if (existing.length > 0) throw new Error(`data-dir ${JSON.stringify(dataDir)} exists`);
  const logger = newLogger('etcd');
  let backupSize: number | undefined;
  try {
    ({ backupSize } = await verifySnapshotFile(file));
  } catch (err) {
    if (!(err instanceof SnapshotFormatError) || !values['skip-hash-check']) throw err;
  }
  const tmpDir = await mkdtemp(join(tmpdir(), 'flotilla-restore-'));
  try {
    let backup = file;
    if (backupSize !== undefined) {
      backup = join(tmpDir, 'backup');
      await extractBackup(file, backupSize, backup);
    }
    logger.info({ path: file, dataDir }, 'restoring snapshot');
    const { revision } = await restoreBackup(backup, dataDir);
    logger.info({ path: file, dataDir, revision }, 'restored snapshot');
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
  return 0;
}
