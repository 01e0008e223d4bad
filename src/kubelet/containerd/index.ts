/**
 * A containerd the node owns, the way k3s runs one: its own config, root, state, sockets,
 * runc root and CNI configuration under one directory, so it never shares anything with a
 * system containerd or with another Flotilla on the same machine.
 *
 *   <dir>/config.toml           what containerd is started with (rewritten at each start)
 *   <dir>/containerd.sock       the CRI (gRPC) endpoint; <dir>/containerd.sock.ttrpc
 *   <dir>/root, <dir>/state     containerd's persistent and runtime state
 *   <dir>/runc                  runc's state
 *   <dir>/cni/net.d/            the node's CNI conflist (bridge + host-local + portmap)
 *   <dir>/cni/ipam/             host-local's address leases
 *   <dir>/certs.d/              registry hosts (mirrors), containerd's config_path
 *   <dir>/containerd.log        containerd's own log
 *   <dir>/containerd.pid        so a later start can stop one a crashed process left behind
 *
 * The settings RUNTIME.md marks as required on these machines are always written:
 * `restrict_oom_score_adj` (no CAP_SYS_RESOURCE), the cgroupfs driver, overlayfs, a stream
 * server on 127.0.0.1 with an ephemeral port. The bridge is named after the pod CIDR so two
 * nodes on one machine (tests, several `up`s) get two bridges.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CriRuntime } from '../cri/runtime.js';
import type { Logger } from '../../util/log.js';

/** containerd 1.6's default sandbox image; Flotilla builds it from busybox when offline. */
export const DEFAULT_SANDBOX_IMAGE = 'registry.k8s.io/pause:3.6';
export const DEFAULT_CONTAINERD = '/usr/bin/containerd';
export const DEFAULT_CNI_BIN_DIR = '/usr/lib/cni';
/** The CNI plugins the conflist uses (containerd adds loopback itself). */
const CNI_PLUGINS = ['bridge', 'host-local', 'portmap', 'loopback'];

/** Where the CRI socket of the containerd kept under `dir` is. */
export function containerdSocket(dir: string): string {
  return join(dir, 'containerd.sock');
}

/** Where `flotilla up --data-dir D` keeps its containerd. */
export function containerdDirOf(dataDir: string): string {
  return join(dataDir, 'containerd');
}

export type RuntimeSupport = { ok: true } | { ok: false; reason: string };

/**
 * Whether this machine can run real containers the way {@link startContainerd} does, and if
 * not, why, in words a user can act on.
 */
export function realRuntimeSupport(opts: { binary?: string; cniBinDir?: string } = {}): RuntimeSupport {
  const binary = opts.binary ?? DEFAULT_CONTAINERD;
  const cni = opts.cniBinDir ?? DEFAULT_CNI_BIN_DIR;
  if (process.platform !== 'linux') return { ok: false, reason: `containers need Linux (this is ${process.platform})` };
  if (!existsSync(binary)) return { ok: false, reason: `containerd is not installed (${binary} not found; apt-get install -y containerd runc containernetworking-plugins)` };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'running containers needs root (containerd, CNI and cgroups); run flotilla up as root' };
  if (!existsSync('/usr/sbin/runc') && !existsSync('/usr/bin/runc')) return { ok: false, reason: 'runc is not installed (apt-get install -y runc)' };
  const missing = CNI_PLUGINS.filter((p) => !existsSync(join(cni, p)));
  if (missing.length > 0) return { ok: false, reason: `CNI plugins missing in ${cni}: ${missing.join(', ')} (apt-get install -y containernetworking-plugins)` };
  return { ok: true };
}

/** A Linux interface name (≤ 15 bytes) unique per pod CIDR: "flt" + the network address in hex. */
export function bridgeNameFor(podCIDR: string): string {
  const ip = podCIDR.split('/')[0]!.split('.').map(Number);
  return 'flt' + ip.map((o) => o.toString(16).padStart(2, '0')).join('');
}

/** The first address of the CIDR: the bridge's (the pods' gateway). */
export function gatewayOf(podCIDR: string): string {
  const [net] = podCIDR.split('/');
  const o = net!.split('.').map(Number);
  return `${o[0]}.${o[1]}.${o[2]}.${o[3]! + 1}`;
}

/** The MTU of the interface holding the default route (pods must not exceed it), else 1500. */
export function defaultRouteMTU(): number {
  try {
    const lines = readFileSync('/proc/net/route', 'utf8').trim().split('\n').slice(1);
    for (const l of lines) {
      const [iface, dest] = l.trim().split(/\s+/);
      if (dest === '00000000' && iface) return Number(readFileSync(`/sys/class/net/${iface}/mtu`, 'utf8').trim()) || 1500;
    }
  } catch {
    // No /proc route table (not Linux, or a sandbox): the Ethernet default.
  }
  return 1500;
}

/** The CNI conflist for a node's pod CIDR (RUNTIME.md "CNI"). */
export function cniConflist(opts: { podCIDR: string; bridge: string; mtu: number; ipamDir: string }): object {
  return {
    cniVersion: '0.4.0',
    name: 'flotilla',
    plugins: [
      {
        type: 'bridge',
        bridge: opts.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        mtu: opts.mtu,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: opts.podCIDR, gateway: gatewayOf(opts.podCIDR) }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: opts.ipamDir,
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

export interface ContainerdConfigOptions {
  dir: string;
  sandboxImage: string;
  cniBinDir: string;
}

/** containerd's config.toml (version 2) for a node-owned instance. */
export function containerdConfig(o: ContainerdConfigOptions): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  const q = (s: string) => JSON.stringify(s);
  return [
    '# Written by flotilla at every start; edits are lost.',
    'version = 2',
    `root = ${q(join(o.dir, 'root'))}`,
    `state = ${q(join(o.dir, 'state'))}`,
    '[grpc]',
    `  address = ${q(containerdSocket(o.dir))}`,
    '[ttrpc]',
    `  address = ${q(containerdSocket(o.dir) + '.ttrpc')}`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(join(o.dir, 'opt'))}`,
    `[${cri}]`,
    `  sandbox_image = ${q(o.sandboxImage)}`,
    '  # Required here: the VM lacks CAP_SYS_RESOURCE (RUNTIME.md).',
    '  restrict_oom_score_adj = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    `  Root = ${q(join(o.dir, 'runc'))}`,
    `[${cri}.cni]`,
    `  bin_dir = ${q(o.cniBinDir)}`,
    `  conf_dir = ${q(join(o.dir, 'cni', 'net.d'))}`,
    `[${cri}.registry]`,
    `  config_path = ${q(join(o.dir, 'certs.d'))}`,
    '',
  ].join('\n');
}

export interface StartContainerdOptions {
  /** The directory it owns (see the module comment). */
  dir: string;
  /** The node's pod CIDR (IPv4 /8–/30), e.g. 10.244.0.0/24. */
  podCIDR: string;
  logger: Logger;
  binary?: string;
  cniBinDir?: string;
  sandboxImage?: string;
  /** Default: the MTU of the default-route interface. */
  mtu?: number;
  /** How long to wait for the CRI to answer (default 15 s). */
  startTimeoutMs?: number;
}

export interface ManagedContainerd {
  /** The CRI endpoint (unix socket path). */
  socket: string;
  /** The pods' bridge and its address (the pods' gateway, an address of this host). */
  bridge: string;
  gateway: string;
  pid: number;
  /**
   * Stops containerd. With `removePods` (the default) every sandbox goes first, so no
   * container, shim, mount or pod IP outlives the node; then the bridge is deleted.
   */
  stop(opts?: { removePods?: boolean }): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}

/**
 * A containerd left running by a process that died without stopping it (its pid file is
 * ours and its command line names our config) is stopped, so the new one can own the
 * socket; pods keep running across that (RUNTIME.md) and are found again by the kubelet.
 */
async function stopLeftover(dir: string, logger: Logger): Promise<void> {
  const pidFile = join(dir, 'containerd.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes(join(dir, 'config.toml'))) return;
  logger.info({ containerdPid: pid }, 'stopping the containerd a previous run left behind');
  process.kill(pid, 'SIGTERM');
  if (!(await waitGone(pid, 5000))) {
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, 2000);
  }
}

/** Runs `ip` quietly; failures are logged, not thrown (clean-up is best effort). */
function ip(args: string[], logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    const p = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
    p.on('error', () => resolve());
    p.on('exit', (code) => {
      if (code !== 0 && !/Cannot find device/.test(err)) logger.debug({ args, err: err.trim() }, 'ip failed');
      resolve();
    });
  });
}

/** Creates the pods' bridge with the gateway address, as the CNI bridge plugin would. */
async function ensureBridge(bridge: string, podCIDR: string, mtu: number, logger: Logger): Promise<void> {
  const prefix = podCIDR.split('/')[1];
  if (!existsSync(`/sys/class/net/${bridge}`)) await ip(['link', 'add', bridge, 'type', 'bridge'], logger);
  await ip(['link', 'set', bridge, 'mtu', String(mtu)], logger);
  await ip(['addr', 'replace', `${gatewayOf(podCIDR)}/${prefix}`, 'dev', bridge], logger);
  await ip(['link', 'set', bridge, 'up'], logger);
}

/**
 * Writes the configuration, starts containerd and resolves once its CRI answers. Rejects
 * with containerd's own last log lines if it exits or does not answer in time.
 */
export async function startContainerd(opts: StartContainerdOptions): Promise<ManagedContainerd> {
  const dir = opts.dir;
  const logger = opts.logger;
  const binary = opts.binary ?? DEFAULT_CONTAINERD;
  const cniBinDir = opts.cniBinDir ?? DEFAULT_CNI_BIN_DIR;
  const bridge = bridgeNameFor(opts.podCIDR);
  for (const d of [dir, join(dir, 'cni', 'net.d'), join(dir, 'cni', 'ipam'), join(dir, 'certs.d')]) mkdirSync(d, { recursive: true, mode: 0o700 });
  await stopLeftover(dir, logger);
  const socket = containerdSocket(dir);
  rmSync(socket, { force: true });
  rmSync(socket + '.ttrpc', { force: true });
  writeFileSync(join(dir, 'config.toml'), containerdConfig({ dir, sandboxImage: opts.sandboxImage ?? DEFAULT_SANDBOX_IMAGE, cniBinDir }));
  const conflist = cniConflist({ podCIDR: opts.podCIDR, bridge, mtu: opts.mtu ?? defaultRouteMTU(), ipamDir: join(dir, 'cni', 'ipam') });
  writeFileSync(join(dir, 'cni', 'net.d', '10-flotilla.conflist'), JSON.stringify(conflist, null, 2) + '\n');

  // The bridge exists from the start (the CNI bridge plugin adopts it), so node services
  // such as cluster DNS can listen on the pods' gateway before the first pod runs.
  await ensureBridge(bridge, opts.podCIDR, opts.mtu ?? defaultRouteMTU(), logger);

  const logPath = join(dir, 'containerd.log');
  const logFd = openSync(logPath, 'a');
  let proc: ChildProcess;
  try {
    // Its own process group: a terminal's Ctrl-C goes to `flotilla up`'s group, and only up
    // stops containerd — after it has removed the pods (in up's group, containerd died at
    // once and its pods outlived the cluster).
    proc = spawn(binary, ['--config', join(dir, 'config.toml')], { stdio: ['ignore', logFd, logFd], detached: true });
  } finally {
    closeSync(logFd);
  }
  const pid = await new Promise<number>((resolve, reject) => {
    proc.once('spawn', () => resolve(proc.pid!));
    proc.once('error', (err) => reject(new Error(`could not start ${binary}: ${err.message}`)));
  });
  writeFileSync(join(dir, 'containerd.pid'), `${pid}\n`);
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((resolve) => proc.once('exit', (code, signal) => { exitCode = code ?? (signal ? -1 : 0); resolve(); }));
  // Never leave containerd behind when this process ends without stopping it.
  const killOnExit = () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); };
  process.once('exit', killOnExit);

  const tail = () => {
    try {
      return readFileSync(logPath, 'utf8').trim().split('\n').slice(-5).join('\n');
    } catch {
      return '';
    }
  };
  const deadline = Date.now() + (opts.startTimeoutMs ?? 15_000);
  const probe = new CriRuntime({ endpoint: socket, timeoutMs: 2000 });
  try {
    for (;;) {
      if (exitCode !== undefined) throw new Error(`containerd exited (code ${exitCode}) while starting; see ${logPath}:\n${tail()}`);
      if (existsSync(socket)) {
        try {
          const v = await probe.version();
          logger.info({ containerdPid: pid, socket, version: v.runtimeVersion, bridge, podCIDR: opts.podCIDR }, 'containerd ready');
          break;
        } catch {
          // Socket there but the CRI plugin not yet serving.
        }
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`containerd did not answer within ${opts.startTimeoutMs ?? 15_000} ms; see ${logPath}:\n${tail()}`);
      }
      await new Promise((r) => setTimeout(r, 25));
    }
  } catch (err) {
    process.removeListener('exit', killOnExit);
    throw err;
  } finally {
    probe.close();
  }

  let stopping: Promise<void> | undefined;
  return {
    socket,
    bridge,
    gateway: gatewayOf(opts.podCIDR),
    pid,
    stop(o = {}) {
      stopping ??= (async () => {
        if (o.removePods !== false && exitCode === undefined) {
          const rt = new CriRuntime({ endpoint: socket, timeoutMs: 15_000 });
          const removeOne = async (id: string) => {
            await rt.stopPodSandbox(id).catch((err: unknown) => logger.warn({ sandbox: id, err: (err as Error).message }, 'could not stop sandbox'));
            await rt.removePodSandbox(id).catch((err: unknown) => logger.warn({ sandbox: id, err: (err as Error).message }, 'could not remove sandbox'));
          };
          try {
            // Several at a time (each is a shim, a netns and CNI teardown: ~0.4 s alone), and
            // again until none is left: a RunPodSandbox the kubelet had in flight when it
            // stopped can still finish inside containerd after the first listing.
            for (let pass = 0; pass < 5; pass++) {
              const ids = (await rt.listPodSandbox()).map((sb) => sb.id);
              if (ids.length === 0) break;
              if (pass > 0) logger.info({ sandboxes: ids.length }, 'removing sandboxes that appeared while stopping');
              for (let i = 0; i < ids.length; i += 4) await Promise.all(ids.slice(i, i + 4).map(removeOne));
              await new Promise((r) => setTimeout(r, 200));
            }
          } catch (err) {
            logger.warn({ err: (err as Error).message }, 'could not list sandboxes before stopping containerd');
          } finally {
            rt.close();
          }
        }
        if (exitCode === undefined) {
          proc.kill('SIGTERM');
          const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(timer);
        }
        process.removeListener('exit', killOnExit);
        rmSync(join(dir, 'containerd.pid'), { force: true });
        if (o.removePods !== false) await ip(['link', 'del', bridge], logger);
        logger.info({ containerdPid: pid }, 'containerd stopped');
      })();
      return stopping;
    },
  };
}
