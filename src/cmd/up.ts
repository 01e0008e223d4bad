/**
 * `flotilla up`: the whole cluster in one process on one data dir, as k3s's `server` does.
 *
 * Components start in dependency order, each reported on stdout as it becomes ready, and
 * stop in reverse order on Ctrl-C (SIGINT) or SIGTERM. A second `up` on the same data dir
 * resumes the same cluster: every component keeps its state under the data dir.
 *
 * Layout of the data dir:
 *   etcd/       the embedded store (WAL + snapshots), served on the etcd v3 API
 *   pki/        the cluster CA, the API server's serving cert, the admin client cert
 *   admin.conf  the admin kubeconfig (as kubeadm writes /etc/kubernetes/admin.conf)
 *   containerd/ the node's own containerd (real runtime): config, state, socket, CNI
 *   images/     image archives imported into that containerd at every start (air-gap)
 *   kubelet/    the kubelet's root dir (pod volumes); pod-logs/ containers' log files
 *   manifests/  static pods (kubeadm's /etc/kubernetes/manifests), shown as mirror pods
 *   logs/       each component's log (etcd.log, kube-apiserver.log, kube-scheduler.log …;
 *               the previous run's in <name>.log.1), followed by its kube-system stand-in pod
 *
 * The API server keeps Kubernetes' objects in the same store that etcdctl sees, under
 * /registry/..., as kube-apiserver does in etcd.
 *
 * The scheduler, the controller-manager and the node's kubelet run in the same process but
 * talk to the API server only through the client: here its in-process transport
 * (src/client/local.ts → ApiServer.handleLocal: the same handler as HTTPS, without a
 * socket), and the REST client over HTTPS when run as their own processes
 * (`flotilla scheduler`, `controller-manager`, `kubelet`).
 */
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseFlags, type Command } from './command.js';
import { startEtcdMember, waitForShutdownSignal } from './etcd.js';
import { explainCorruptStore, prepareDataDir } from './datadir.js';
import { logComponentsToFiles, newLogger } from '../util/log.js';
import { realClock } from '../util/clock.js';
import { KVStorage } from '../storage/store.js';
import { startApiServer } from '../apiserver/index.js';
import { hostname } from 'node:os';
import { newInformerFactory } from '../client/informer.js';
import { loadKubeconfig } from '../client/kubeconfig.js';
import { newLocalClient } from '../client/local.js';
import { builtinControllers } from '../controllers/controllers.js';
import { startControllerManager } from '../controllers/manager.js';
import { newScheduler } from '../scheduler/scheduler.js';
import { SimulatedRuntime, startKubelet, startSimulatedNodes, type Runtime } from '../kubelet/index.js';
import { hostInternalIP, hostMachineInfo } from '../kubelet/node.js';
import { CriRuntime } from '../kubelet/cri/runtime.js';
import { containerdDirOf, realRuntimeSupport, startContainerd } from '../kubelet/containerd/index.js';
import { importImagesFolder } from '../kubelet/images/import.js';
import { parseRegistryMirrors, writeRegistryHosts } from '../kubelet/images/registry.js';
import { DefaultSandboxImage, ensureSandboxImage } from '../kubelet/images/sandbox.js';
import { unmountPodVolumes } from '../kubelet/volumes.js';
import { newRegistry } from '../util/health.js';
import { cleanupIptables, startProxy, type ProxyMode } from '../proxy/index.js';
import { DEFAULT_DNS_CLUSTER_IP, ensureDNSService, startClusterDNS } from '../dns/index.js';
import { nodeStatusUpdateFrequencyFlag, nodeStatusUpdateFrequencyMs } from './kubelet.js';
import { ComponentLogFiles, componentLogDir, ensureControlPlanePods, type ControlPlaneParams } from './controlplane.js';
import { formatGoDuration } from './duration.js';
import { defaultTolerationFlags, defaultTolerationSeconds, nodeLifecycleFlags, nodeLifecycleOptions, type DefaultTolerationSeconds, type NodeLifecycleOptions } from './nodelifecycle-flags.js';

/** A started component: a name for the progress lines and how to stop it. */
interface Running {
  name: string;
  stop(): Promise<void>;
}

export const command: Command = {
  name: 'up',
  summary: 'Start a whole cluster (store and control plane) in one process on one data dir; Ctrl-C stops it, a second `up` resumes it.',
  usage: '[flags]',
  flags: {
    'data-dir': { type: 'string', default: 'flotilla-data', help: 'Directory holding all cluster state; created if missing.' },
    'etcd-port': { type: 'string', default: '2379', help: 'Port of the etcd v3 API on 127.0.0.1 (0 = pick a free one).' },
    'secure-port': { type: 'string', default: '6443', help: 'HTTPS port of the API server on 127.0.0.1 (0 = pick a free one).' },
    'node-name': { type: 'string', default: '', help: "Name of this machine's node (default: the host name, lower-cased)." },
    runtime: { type: 'string', default: 'auto', help: 'Container runtime of the node: cri (its own containerd; needs root), simulated (pods run without containers), or auto (cri when possible).' },
    'pod-cidr': { type: 'string', default: '10.244.0.0/24', help: "This node's pod CIDR (the CNI bridge's subnet)." },
    'registry-mirror': { type: 'string', multiple: true, help: 'A registry mirror for the node\'s containerd, REGISTRY=URL (repeatable), e.g. docker.io=http://127.0.0.1:5000.' },
    'proxy-mode': { type: 'string', default: 'auto', help: 'kube-proxy mode: iptables, userspace, none, or auto (iptables with real containers, else userspace).' },
    'kubelet-port': { type: 'string', default: '10250', help: "Port of the kubelet's HTTPS server (logs, exec, port-forward) on the node IP (0 = pick a free one)." },
    'node-ip': { type: 'string', default: '', help: "The node's InternalIP, where its kubelet listens (default: the host's first non-loopback IPv4)." },
    'simulated-nodes': { type: 'string', default: '0', help: 'Extra simulated nodes (sim-node-0 …) hosted in this process, for scale.' },
    'node-status-update-frequency': {
      ...nodeStatusUpdateFrequencyFlag,
      help: "How often this machine's kubelet computes its node status and posts it if changed (else every 5m0s; the node Lease is renewed every 10s regardless). Must work with --node-monitor-grace-period.",
    },
    // The node lifecycle timings of the controller-manager and the API server that up runs.
    ...nodeLifecycleFlags,
    'pod-eviction-timeout': {
      ...nodeLifecycleFlags['pod-eviction-timeout'],
      help: 'The grace period for deleting pods on failed nodes: here the tolerationSeconds (rounded up to whole seconds) of the not-ready and unreachable tolerations the API server adds to pods, unless --default-not-ready-toleration-seconds or --default-unreachable-toleration-seconds is given.',
    },
    ...defaultTolerationFlags,
  },
  run,
};

/** Whether argv sets the flag itself (`--name value` or `--name=value`), as opposed to its default. */
function flagGiven(argv: string[], name: string): boolean {
  return argv.some((a) => a === `--${name}` || a.startsWith(`--${name}=`));
}

/**
 * The API server's default tolerationSeconds. Upstream's --pod-eviction-timeout has had no
 * effect since taint-based eviction (pods leave a failed node when these tolerations run
 * out); `up` runs the API server too, so the timeout the seeds name ("5 minutes") becomes
 * the default of both, and an explicit --default-*-toleration-seconds wins.
 */
function upTolerationSeconds(argv: string[], values: ReturnType<typeof parseFlags>['values'], podEvictionTimeoutMs: number): DefaultTolerationSeconds {
  const explicit = defaultTolerationSeconds(values);
  if (!flagGiven(argv, 'pod-eviction-timeout')) return explicit;
  const fromTimeout = Math.max(0, Math.ceil(podEvictionTimeoutMs / 1000));
  return {
    defaultNotReadyTolerationSeconds: flagGiven(argv, 'default-not-ready-toleration-seconds') ? explicit.defaultNotReadyTolerationSeconds : fromTimeout,
    defaultUnreachableTolerationSeconds: flagGiven(argv, 'default-unreachable-toleration-seconds') ? explicit.defaultUnreachableTolerationSeconds : fromTimeout,
  };
}

/**
 * The node lifecycle settings that differ from upstream's defaults, as flags of the
 * component that runs with them, for the kube-system manifests (controlplane.ts).
 */
function lifecycleManifestFlags(lifecycle: NodeLifecycleOptions, tolerations: DefaultTolerationSeconds): NonNullable<ControlPlaneParams['extraFlags']> {
  const cm: string[] = [];
  const durations: Array<[string, number, number]> = [
    ['node-monitor-period', lifecycle.nodeMonitorPeriodMs, 5_000],
    ['node-monitor-grace-period', lifecycle.nodeMonitorGracePeriodMs, 40_000],
    ['node-startup-grace-period', lifecycle.nodeStartupGracePeriodMs, 60_000],
  ];
  for (const [flag, ms, byDefault] of durations) if (ms !== byDefault) cm.push(`--${flag}=${formatGoDuration(ms)}`);
  const api: string[] = [];
  if (tolerations.defaultNotReadyTolerationSeconds !== 300) api.push(`--default-not-ready-toleration-seconds=${tolerations.defaultNotReadyTolerationSeconds}`);
  if (tolerations.defaultUnreachableTolerationSeconds !== 300) api.push(`--default-unreachable-toleration-seconds=${tolerations.defaultUnreachableTolerationSeconds}`);
  return { 'kube-controller-manager': cm, 'kube-apiserver': api };
}

function port(flag: string, v: unknown): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid --${flag} ${JSON.stringify(v)}: want a port number 0-65535`);
  return n;
}

/** Turns the usual start-up failures into one line that says what to do. */
function explain(component: string, err: unknown, hint: { port?: number; flag?: string; storeDir?: string } = {}): Error {
  const msg = err instanceof Error ? err.message : String(err);
  // A damaged store: one line naming the file and how to recover (datadir.ts).
  const corrupt = hint.storeDir === undefined ? undefined : explainCorruptStore(err, hint.storeDir);
  if (corrupt) return new Error(corrupt);
  if (/EADDRINUSE|address already in use|No address added/i.test(msg) && hint.port !== undefined) {
    return new Error(`${component}: port ${hint.port} on 127.0.0.1 is already in use (is another cluster or etcd running?); stop it or pass --${hint.flag} with another port`);
  }
  if (/LOCK|locked by/i.test(msg)) {
    return new Error(`${component}: the data dir is in use by another flotilla process (${msg}); stop it first or use another --data-dir`);
  }
  return new Error(`${component}: ${msg}`);
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}\nRun 'flotilla up --help' for usage.`);
  const dataDir = resolve(String(values['data-dir']));
  const etcdPort = port('etcd-port', values['etcd-port']);
  const securePort = port('secure-port', values['secure-port']);
  const nodeName = String(values['node-name'] || hostname()).toLowerCase();
  const runtimeMode = String(values.runtime);
  if (runtimeMode !== 'auto' && runtimeMode !== 'simulated' && runtimeMode !== 'cri') throw new Error(`invalid --runtime ${JSON.stringify(runtimeMode)}: want auto, cri or simulated`);
  const podCIDR = String(values['pod-cidr']);
  if (!/^\d+\.\d+\.\d+\.\d+\/(1[6-9]|2[0-8])$/.test(podCIDR)) throw new Error(`invalid --pod-cidr ${JSON.stringify(podCIDR)}: want an IPv4 CIDR from /16 to /28, like 10.244.0.0/24`);
  const nodeIP = String(values['node-ip'] || hostInternalIP());
  const kubeletPort = port('kubelet-port', values['kubelet-port']);
  const proxyModeFlag = String(values['proxy-mode']);
  if (!['auto', 'iptables', 'userspace', 'none'].includes(proxyModeFlag)) throw new Error(`invalid --proxy-mode ${JSON.stringify(proxyModeFlag)}: want auto, iptables, userspace or none`);
  const mirrors = parseRegistryMirrors((values['registry-mirror'] as string[] | undefined) ?? []);
  const support = runtimeMode === 'simulated' ? undefined : realRuntimeSupport();
  if (runtimeMode === 'cri' && support && !support.ok) throw new Error(`--runtime cri: ${support.reason}`);
  const simulatedNodes = Number(values['simulated-nodes']);
  if (!Number.isInteger(simulatedNodes) || simulatedNodes < 0) throw new Error(`invalid --simulated-nodes ${JSON.stringify(values['simulated-nodes'])}: want a whole number`);
  const lifecycle = nodeLifecycleOptions(values);
  const tolerations = upTolerationSeconds(argv, values, lifecycle.podEvictionTimeoutMs);
  const nodeStatusUpdateMs = nodeStatusUpdateFrequencyMs(values['node-status-update-frequency']);
  const log = newLogger('up');
  const say = (line: string) => process.stdout.write(line + '\n');
  const started: Running[] = [];

  const stopAll = async () => {
    for (const c of started.reverse()) {
      say(`  stopping ${c.name}`);
      await c.stop().catch((err: unknown) => log.error({ err, component: c.name }, 'stop failed'));
    }
  };

  // Refuses a data dir from a newer Flotilla or one that is not Flotilla's; stamps a new one.
  await prepareDataDir(dataDir);
  // Ctrl-C or SIGTERM at any time, start-up included, stops what has started.
  let interrupted: NodeJS.Signals | undefined;
  const shutdown = waitForShutdownSignal().then((sig) => { interrupted = sig; return sig; });
  const checkpoint = () => {
    if (interrupted) throw new Error(`interrupted by ${interrupted} while starting`);
  };
  // Test harnesses set FLOTILLA_STOP_WITH_PARENT so a cluster never outlives the process
  // that started it (a killed test runner leaves no containers behind).
  if (process.env.FLOTILLA_STOP_WITH_PARENT === '1') {
    const parent = process.ppid;
    setInterval(() => { if (process.ppid !== parent) process.kill(process.pid, 'SIGTERM'); }, 1000).unref();
  }

  say(`flotilla up: data dir ${dataDir}`);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  // Each component's lines also go to DATA_DIR/logs/<component>.log, which its kube-system
  // stand-in pod follows (controlplane.ts); stderr keeps every line.
  const logDir = componentLogDir(dataDir);
  logComponentsToFiles({ dir: logDir, files: ComponentLogFiles });
  try {
    // The store, behind the etcd v3 API so etcdctl (and kubeadm-style tooling) sees it.
    const clientURL = `http://127.0.0.1:${etcdPort}`;
    const resuming = existsSync(join(dataDir, 'etcd', 'wal'));
    let member;
    try {
      member = await startEtcdMember({
        dataDir: join(dataDir, 'etcd'),
        name: 'flotilla',
        listenClientUrls: [clientURL],
        // With port 0 the advertised URL is only known once bound: let the server use it.
        advertiseClientUrls: etcdPort === 0 ? [] : [clientURL],
        listenMetricsUrls: [],
        initialAdvertisePeerUrls: ['http://localhost:2380'],
        initialClusterToken: 'etcd-cluster',
        maxRequestBytes: 1.5 * 1024 * 1024,
        maxTxnOps: 128,
        autoCompaction: { mode: 'periodic', retention: '5m' },
        progressNotifyIntervalMs: 0,
      });
    } catch (err) {
      throw explain('store', err, { port: etcdPort, flag: 'etcd-port', storeDir: join(dataDir, 'etcd') });
    }
    started.push({ name: 'store', stop: () => member.close() });
    checkpoint();
    const st = member.store.status();
    const endpoint = member.server.clientUrls[0] ?? clientURL;
    say(`  ✓ store        embedded, ${resuming ? 'resumed' : 'new'} at revision ${st.revision}; etcd v3 API on ${endpoint}`);

    // One metrics registry for every in-process component, served on the API server's
    // /metrics (`kubectl get --raw /metrics`): apiserver_*, workqueue_*, scheduler_*,
    // kubelet_*, prober_*, kubeproxy_*, coredns_* and one set of process_* metrics. The
    // store's etcd_* metrics stay on its client port (<etcd endpoint>/metrics), as etcd serves them.
    const registry = newRegistry();
    // The API server, on the same store.
    let api;
    try {
      const storage = new KVStorage({ kv: member.store, clock: realClock, logger: newLogger('storage') });
      api = await startApiServer({ dataDir, storage, port: securePort, bindAddress: '127.0.0.1', ...tolerations, logger: newLogger('apiserver'), registry });
    } catch (err) {
      throw explain('apiserver', err, { port: securePort, flag: 'secure-port' });
    }
    started.push({ name: 'apiserver', stop: () => api.stop() });
    checkpoint();
    say(`  ✓ apiserver    https://${api.host}:${api.port}; admin kubeconfig ${api.kubeconfigPath}`);

    // The control plane's loops, on the API server only (in-process clients with their own
    // user agents, so managedFields name them as upstream does).
    const controlAbort = new AbortController();
    // The scheduler and every shared informer listen on this one signal.
    setMaxListeners(0, controlAbort.signal);
    const localClient = (userAgent: string) => newLocalClient({ roundTrip: (r) => api.server.handleLocal(r), userAgent });
    const cmClient = localClient('kube-controller-manager/v1.32.0 (flotilla)');
    const schedClient = localClient('kube-scheduler/v1.32.0 (flotilla)');
    // One list+watch per resource for the scheduler and the controllers together.
    const informers = newInformerFactory({ client: cmClient, clock: realClock, logger: newLogger('informers') });
    const creds = await loadKubeconfig(api.kubeconfigPath);
    const cm = startControllerManager({
      client: cmClient,
      clock: realClock,
      logger: newLogger('controller-manager'),
      registry,
      known: builtinControllers({ rootCAPem: creds.ca?.toString('utf8') }),
      informers,
      options: lifecycle,
    });
    started.push({ name: 'controller-manager', stop: async () => { await cm.stop(); await cmClient.close(); } });
    checkpoint();
    say(`  ✓ controller-manager  ${cm.controllers.length} controllers`);
    const scheduler = newScheduler({ client: schedClient, informers, clock: realClock, logger: newLogger('scheduler'), registry });
    const schedRun = scheduler.run(controlAbort.signal);
    informers.start(controlAbort.signal);
    started.push({ name: 'scheduler', stop: async () => { controlAbort.abort(); await schedRun.catch(() => {}); await schedClient.close(); } });
    checkpoint();
    say('  ✓ scheduler    default-scheduler');

    // This machine's node: real containers through its own containerd when possible (as
    // k3s runs one), else the simulated runtime, and up says which and why.
    let runtime: Runtime;
    let runtimeLine: string;
    let gateway: string | undefined;
    if (support?.ok) {
      const ctd = await startContainerd({ dir: containerdDirOf(dataDir), podCIDR, logger: newLogger('containerd') }).catch((err: unknown) => {
        throw explain('containerd', err);
      });
      // Stopping containerd removes every pod, so the kubelet's tmpfs volumes go too (else
      // the data dir could not be removed).
      started.push({ name: 'containerd', stop: async () => { await ctd.stop(); await unmountPodVolumes(join(dataDir, 'kubelet')); } });
      checkpoint();
      if (Object.keys(mirrors).length > 0) {
        await writeRegistryHosts(join(containerdDirOf(dataDir), 'certs.d'), mirrors);
        say(`  ✓ registries   mirrors: ${Object.entries(mirrors).map(([h, u]) => `${h} → ${u.join(', ')}`).join('; ')}`);
      }
      const imported = await importImagesFolder(join(dataDir, 'images'), { socketPath: ctd.socket, logger: newLogger('images') });
      const cri = new CriRuntime({ endpoint: ctd.socket });
      started.push({ name: 'cri client', stop: async () => cri.close() });
      checkpoint();
      const sandboxImage = await ensureSandboxImage({ socketPath: ctd.socket, runtime: cri, workDir: join(containerdDirOf(dataDir), 'build'), logger: newLogger('images'), pullTimeoutMs: 10_000 });
      runtime = cri;
      gateway = ctd.gateway;
      say(`  ✓ containerd   pid ${ctd.pid}, socket ${ctd.socket}; pods on bridge ${ctd.bridge} (${podCIDR})`);
      if (sandboxImage === 'built') say(`  ✓ images       sandbox image ${DefaultSandboxImage} built from the host's busybox (no registry reachable)`);
      if (imported.length > 0) say(`  ✓ images       ${imported.flatMap((i) => i.images).length} image(s) imported from ${join(dataDir, 'images')}`);
      runtimeLine = `containerd (CRI), pods in ${podCIDR}`;
    } else {
      // Simulated containers still write a line to their log file, so `kubectl logs` works.
      runtime = new SimulatedRuntime({ clock: realClock, podCIDR, logDir: join(dataDir, 'pod-logs') });
      const why = runtimeMode === 'simulated' ? '--runtime simulated' : support && !support.ok ? support.reason : '';
      runtimeLine = `simulated runtime (${why}): pods run without containers`;
    }
    const kubeletClient = localClient('kubelet/v1.32.0-flotilla (flotilla)');
    const kubelet = await startKubelet({
      client: kubeletClient,
      nodeName,
      runtime,
      podCIDR,
      clock: realClock,
      logger: newLogger('kubelet', { node: nodeName }),
      registry,
      podLogsDir: join(dataDir, 'pod-logs'),
      rootDir: gateway ? join(dataDir, 'kubelet') : undefined,
      machine: hostMachineInfo({ internalIP: nodeIP }),
      // logs, exec, attach, port-forward: only the API server's client certificate (signed
      // by the cluster CA) is let in, as with the kubelet's --client-ca-file.
      serverAddress: nodeIP,
      serverPort: kubeletPort,
      serverClientCA: creds.ca?.toString('utf8'),
      staticPodPath: join(dataDir, 'manifests'),
      nodeStatusUpdateFrequencyMs: nodeStatusUpdateMs,
    });
    started.push({ name: 'kubelet', stop: async () => { await kubelet.stop(); await kubeletClient.close(); } });
    checkpoint();
    say(`  ✓ kubelet      node ${nodeName} (${nodeIP}), ${runtimeLine}; https://${nodeIP}:${kubelet.node.node?.status?.daemonEndpoints?.kubeletEndpoint?.Port ?? kubeletPort}, static pods in ${join(dataDir, 'manifests')}`);

    // kube-proxy: the node's nat rules with real containers (root), else the userspace mode.
    const proxyMode = (proxyModeFlag === 'auto' ? (gateway ? 'iptables' : 'userspace') : proxyModeFlag) as ProxyMode | 'none';
    if (proxyMode !== 'none') {
      const proxyClient = localClient('kube-proxy/v1.32.0 (flotilla)');
      const proxy = await startProxy({
        client: proxyClient,
        nodeName,
        mode: proxyMode,
        clusterCIDR: podCIDR,
        logger: newLogger('kube-proxy', { node: nodeName }),
        registry,
        userspace: { listenAddress: nodeIP },
      });
      started.push({
        name: 'kube-proxy',
        stop: async () => {
          await proxy.stop();
          await proxyClient.close();
          // The node goes away with up (as k3s-killall.sh does): so do its service rules.
          if (proxy.mode === 'iptables') await cleanupIptables().catch((err: unknown) => log.warn({ err }, 'iptables clean-up failed'));
        },
      });
      say(`  ✓ kube-proxy   ${proxyMode} mode${proxyMode === 'iptables' ? ' (nat chains KUBE-SERVICES …)' : `: services answer on ${nodeIP}`}`);
    }

    // Cluster DNS on the pods' gateway (an address of this host every pod reaches), behind
    // the kube-dns Service at 10.96.0.10 that kube-proxy forwards to it.
    if (gateway) {
      const dnsClient = localClient('coredns/v1.11.3 (flotilla)');
      const dns = await startClusterDNS({ client: dnsClient, address: gateway, port: 53, logger: newLogger('dns'), registry, clock: realClock }).catch((err: unknown) => {
        throw explain('dns', err, { port: 53 });
      });
      started.push({ name: 'dns', stop: async () => { await dns.stop(); await dnsClient.close(); } });
      await ensureDNSService(dnsClient, { endpointIP: gateway, port: dns.port });
      say(`  ✓ dns          ${DEFAULT_DNS_CLUSTER_IP} (kube-system/kube-dns) → ${gateway}:${dns.port}; upstream ${dns.upstreams.join(', ') || 'none'}`);
    }
    // The control plane as kube-system pods, as kubeadm's cluster shows it (stand-ins: controlplane.ts).
    const cpClient = localClient('kubeadm/v1.32.0 (flotilla)');
    const cp = await ensureControlPlanePods({ client: cpClient, dataDir, nodeName, etcdPort: Number(new URL(endpoint).port), apiPort: api.port, podCIDR, dnsAddress: gateway, proxy: proxyMode === 'none' ? undefined : { mode: proxyMode }, runtime: gateway ? 'cri' : 'simulated', extraFlags: lifecycleManifestFlags(lifecycle, tolerations), logger: newLogger('controlplane') }).finally(() => cpClient.close());
    say(`  ✓ kube-system  control-plane pods ${cp.pods.join(', ')}${cp.builtImages.length ? ` (${cp.builtImages.length} stand-in image(s) built)` : ''}`);
    if (simulatedNodes > 0) {
      const simClient = localClient('kubelet/v1.32.0-flotilla (flotilla; simulated)');
      // One kubelet server for all of them on this machine's node IP, so kubectl logs/exec/
      // port-forward reach their (simulated) containers too.
      const sims = await startSimulatedNodes({
        client: simClient, count: simulatedNodes, clock: realClock, logger: newLogger('kubelet', { simulated: true }), registry, firstIndex: 1,
        serverPort: 0, serverAddress: nodeIP, logDir: join(dataDir, 'pod-logs'),
      });
      started.push({ name: 'simulated nodes', stop: async () => { await sims.stop(); await simClient.close(); } });
      checkpoint();
      say(`  ✓ simulated    ${simulatedNodes} more node(s): sim-node-1 …`);
    }

    say('');
    say('Cluster is up. Use it with the real kubectl:');
    say(`  export KUBECONFIG=${api.kubeconfigPath}`);
    say(`The store answers etcdctl too: ETCDCTL_API=3 etcdctl --endpoints=${endpoint} get / --prefix --keys-only`);
    say(`Each component logs to ${logDir}/<component>.log (and here on stderr); all their metrics: kubectl get --raw /metrics`);
    say('Press Ctrl-C to stop; `flotilla up` on the same --data-dir resumes the cluster.');
  } catch (err) {
    if (interrupted) {
      say(`\nflotilla up: ${interrupted} while starting, stopping`);
      await stopAll();
      say('flotilla up: stopped');
      return 0;
    }
    await stopAll();
    throw err;
  }

  const signal = await shutdown;
  log.info({ signal }, 'shutting down');
  say(`\nflotilla up: ${signal}, stopping`);
  await stopAll();
  say('flotilla up: stopped');
  return 0;
}
