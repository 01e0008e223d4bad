/**
 * Starts a real etcd (3.4, /usr/bin/etcd) on free loopback ports, for tests and benchmarks.
 * A plain async function with no node:test dependency: a benchmark calls it the same way.
 *
 *   const etcd = await startEtcd();            // one member
 *   const etcd = await startEtcd({ members: 3 });
 *   ... etcd.endpoints  // ['http://127.0.0.1:PORT', ...], usable as --etcd-servers
 *   await etcd.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './net.js';

export interface StartEtcdOptions {
  /** Cluster size (default 1). */
  members?: number;
  /** etcd binary (default $ETCD_BIN or /usr/bin/etcd). */
  binary?: string;
  /** Parent directory for member data dirs (default: a new temp dir, removed on stop). */
  dataDir?: string;
  /** etcd's --experimental-watch-progress-notify-interval in ms (its default is 10 minutes). */
  watchProgressNotifyIntervalMs?: number;
  /** Extra flags for every member. */
  extraArgs?: string[];
  /** How long to wait for the cluster to become healthy (default 30 s). */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL (default 3 s). */
  stopTimeoutMs?: number;
}

export interface EtcdMember {
  name: string;
  clientURL: string;
  peerURL: string;
  dataDir: string;
  /** The running process (replaced by restartMember). */
  proc: ChildProcess;
  /** Everything the member wrote to stderr (etcd logs there), capped at the last 64 KiB. */
  log(): string;
}

export interface EtcdCluster {
  /** Client URLs, one per member (http://127.0.0.1:PORT). */
  endpoints: string[];
  /** The first member's client URL (the only one of a one-member cluster). */
  clientURL: string;
  members: EtcdMember[];
  /** TERM every member, KILL those still running after stopTimeoutMs; removes a temp data dir. */
  stop(): Promise<void>;
  /**
   * Stops member i (SIGKILL with kill: true, else TERM then KILL) and starts it again on the
   * same ports and data dir; resolves once it is healthy. For client reconnection tests.
   */
  restartMember(i: number, opts?: { kill?: boolean }): Promise<void>;
}

const LOG_CAP = 64 * 1024;

function healthy(clientURL: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${clientURL}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => { body += d.toString(); });
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 && (JSON.parse(body) as { health?: string }).health === 'true');
        } catch {
          resolve(false);
        }
      });
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

async function stopMember(m: EtcdMember, timeoutMs: number): Promise<void> {
  const done = exited(m.proc);
  if (m.proc.exitCode !== null || m.proc.signalCode !== null) return;
  m.proc.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), timeoutMs); });
  // A leader was seen hanging > 7 s on TERM (RUNTIME.md): don't wait for it.
  const late = await Promise.race([done.then(() => false), timedOut]);
  clearTimeout(timer);
  if (late) {
    m.proc.kill('SIGKILL');
    await done;
  }
}

/** Starts an etcd cluster and resolves once every member reports healthy. */
export async function startEtcd(opts: StartEtcdOptions = {}): Promise<EtcdCluster> {
  const n = opts.members ?? 1;
  const binary = opts.binary ?? process.env.ETCD_BIN ?? '/usr/bin/etcd';
  const ownDir = opts.dataDir === undefined;
  const root = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'flotilla-etcd-'));
  const stopTimeoutMs = opts.stopTimeoutMs ?? 3000;
  const token = `flotilla-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  const specs: { name: string; clientURL: string; peerURL: string; dataDir: string }[] = [];
  const used = new Set<number>();
  const port = async () => {
    // freePort may hand out a number again once it was released; keep every port distinct.
    for (;;) {
      const p = await freePort();
      if (!used.has(p)) {
        used.add(p);
        return p;
      }
    }
  };
  for (let i = 0; i < n; i++) {
    const clientPort = await port();
    const peerPort = await port();
    specs.push({
      name: `m${i}`,
      clientURL: `http://127.0.0.1:${clientPort}`,
      peerURL: `http://127.0.0.1:${peerPort}`,
      dataDir: join(root, `m${i}.etcd`),
    });
  }
  const initialCluster = specs.map((s) => `${s.name}=${s.peerURL}`).join(',');

  const argsOf = (s: (typeof specs)[number]) => [
    '--name', s.name,
    '--data-dir', s.dataDir,
    '--listen-client-urls', s.clientURL,
    '--advertise-client-urls', s.clientURL,
    '--listen-peer-urls', s.peerURL,
    '--initial-advertise-peer-urls', s.peerURL,
    '--initial-cluster', initialCluster,
    '--initial-cluster-token', token,
    '--initial-cluster-state', 'new',
    '--log-level', 'warn',
    '--logger', 'zap',
    ...(opts.watchProgressNotifyIntervalMs !== undefined
      ? ['--experimental-watch-progress-notify-interval', `${opts.watchProgressNotifyIntervalMs}ms`]
      : []),
    ...(opts.extraArgs ?? []),
  ];
  let log = new Map<string, string>();
  const spawnMember = (s: (typeof specs)[number]): ChildProcess => {
    const proc = spawn(binary, argsOf(s), { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d: Buffer) => {
      let l = (log.get(s.name) ?? '') + d.toString();
      if (l.length > LOG_CAP) l = l.slice(-LOG_CAP);
      log.set(s.name, l);
    });
    return proc;
  };
  const members: EtcdMember[] = specs.map((s) => ({ ...s, proc: spawnMember(s), log: () => log.get(s.name) ?? '' }));
  // If this process dies without calling stop(), don't leave etcd running.
  const killOnExit = () => {
    for (const m of members) if (m.proc.exitCode === null && m.proc.signalCode === null) m.proc.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const waitHealthy = async (m: EtcdMember, deadline: number) => {
    for (;;) {
      if (m.proc.exitCode !== null || m.proc.signalCode !== null) {
        throw new Error(`etcd member ${m.name} exited during startup (${m.proc.exitCode ?? m.proc.signalCode}):\n${m.log()}`);
      }
      if (await healthy(m.clientURL)) return;
      if (Date.now() > deadline) throw new Error(`etcd member ${m.name} not healthy in time:\n${m.log()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;

  const cluster: EtcdCluster = {
    endpoints: members.map((m) => m.clientURL),
    clientURL: members[0].clientURL,
    members,
    async stop() {
      await Promise.all(members.map((m) => stopMember(m, stopTimeoutMs)));
      process.removeListener('exit', killOnExit);
      if (ownDir) rmSync(root, { recursive: true, force: true });
      log = new Map();
    },
    async restartMember(i, o = {}) {
      const m = members[i];
      if (o.kill) {
        const done = exited(m.proc);
        m.proc.kill('SIGKILL');
        await done;
      } else {
        await stopMember(m, stopTimeoutMs);
      }
      m.proc = spawnMember(specs[i]);
      // A lone restarted member of a multi-member cluster is healthy only with a quorum.
      await waitHealthy(m, Date.now() + startTimeoutMs);
    },
  };

  const deadline = Date.now() + startTimeoutMs;
  try {
    for (const m of members) await waitHealthy(m, deadline);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
