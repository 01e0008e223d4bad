/**
 * `flotilla proxy`: kube-proxy on its own, for one node, talking to the API server named by
 * a kubeconfig. `--cleanup` removes every rule the iptables mode made and exits, as
 * `kube-proxy --cleanup` does. Health on --healthz-bind-address (10256), metrics on
 * --metrics-bind-address (10249).
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { list, parseFlags, type Command } from './command.js';
import { formatGoDuration, parseDuration } from './duration.js';
import { waitForShutdownSignal } from './etcd.js';
import { restClientFromKubeconfig } from '../client/rest.js';
import { cleanupIptables, startProxy, type ProxyMode } from '../proxy/index.js';
import { newRegistry, serveHealthAndMetrics } from '../util/health.js';
import { newLogger } from '../util/log.js';

export const command: Command = {
  name: 'proxy',
  summary: 'Run kube-proxy for a node: Services become iptables rules (or userspace forwarders).',
  usage: '--kubeconfig FILE [flags]',
  flags: {
    kubeconfig: { type: 'string', default: '', help: 'Path to a kubeconfig file with the API server and credentials.' },
    'hostname-override': { type: 'string', default: '', help: "The node's name (default the host name)." },
    'proxy-mode': { type: 'string', default: 'iptables', help: "Which proxy mode to use: 'iptables' or 'userspace' (no root needed)." },
    cleanup: { type: 'boolean', default: false, help: 'Remove every iptables rule and chain kube-proxy created, then exit.' },
    'cluster-cidr': { type: 'string', default: '', help: 'The pod CIDR; traffic to cluster IPs from outside it is masqueraded.' },
    'masquerade-all': { type: 'boolean', default: false, help: 'SNAT all traffic sent via Service cluster IPs.' },
    'nodeport-addresses': { type: 'string', default: '', help: 'Comma-separated CIDRs: NodePorts answer only on local addresses inside them (default all).' },
    'iptables-sync-period': { type: 'string', default: '30s', help: 'How often rules are fully resynced.' },
    'iptables-min-sync-period': { type: 'string', default: '1s', help: 'Minimum time between rule syncs.' },
    'healthz-bind-address': { type: 'string', default: '0.0.0.0:10256', help: 'Address:port of the health server ("" disables).' },
    'metrics-bind-address': { type: 'string', default: '127.0.0.1:10249', help: 'Address:port of /metrics ("" disables).' },
    netns: { type: 'string', default: '', help: 'Program the rules of this network namespace (ip netns exec) instead of the host\'s.' },
    'userspace-listen-address': { type: 'string', default: '127.0.0.1', help: 'userspace mode: where NodePorts and cluster-IP forwarders listen.' },
  },
  run,
};

function hostPort(flag: string, v: string): { host: string; port: number } {
  const i = v.lastIndexOf(':');
  const port = Number(v.slice(i + 1));
  if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --${flag} ${JSON.stringify(v)}: want host:port`);
  return { host: v.slice(0, i), port };
}

/**
 * --iptables-sync-period and --iptables-min-sync-period (Go durations), checked as
 * kube-proxy's configuration validation does, with its field errors: the sync period must
 * be positive, the minimum not negative and not above the sync period.
 */
export function syncPeriods(syncFlag: unknown, minSyncFlag: unknown): { syncPeriodMs: number; minSyncPeriodMs: number } {
  const syncPeriodMs = parseDuration('iptables-sync-period', syncFlag);
  const minSyncPeriodMs = parseDuration('iptables-min-sync-period', minSyncFlag);
  const errs: string[] = [];
  if (syncPeriodMs <= 0) errs.push(`KubeProxyConfiguration.SyncPeriod: Invalid value: ${formatGoDuration(syncPeriodMs)}: must be greater than 0`);
  if (minSyncPeriodMs < 0) errs.push(`KubeProxyConfiguration.MinSyncPeriod: Invalid value: ${formatGoDuration(minSyncPeriodMs)}: must be greater than or equal to 0`);
  if (minSyncPeriodMs > syncPeriodMs) errs.push(`KubeProxyConfiguration.SyncPeriod: Invalid value: ${formatGoDuration(minSyncPeriodMs)}: must be greater than or equal to KubeProxyConfiguration.MinSyncPeriod`);
  // An aggregate of one error prints bare; of several, bracketed (apimachinery's errors.aggregate).
  if (errs.length === 1) throw new Error(errs[0]);
  if (errs.length > 1) throw new Error(`[${errs.join(', ')}]`);
  return { syncPeriodMs, minSyncPeriodMs };
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}\nRun 'flotilla proxy --help' for usage.`);
  // Validated before --cleanup too, as kube-proxy validates its whole configuration first.
  const { syncPeriodMs, minSyncPeriodMs } = syncPeriods(values['iptables-sync-period'], values['iptables-min-sync-period']);
  const netns = String(values.netns ?? '');
  const commandPrefix = netns ? ['ip', 'netns', 'exec', netns] : [];
  if (values.cleanup === true) {
    await cleanupIptables({ commandPrefix });
    return 0;
  }
  const mode = String(values['proxy-mode']) as ProxyMode;
  if (mode !== 'iptables' && mode !== 'userspace') throw new Error(`invalid --proxy-mode ${JSON.stringify(mode)}: want iptables or userspace`);
  const kubeconfig = String(values.kubeconfig || process.env.KUBECONFIG || '');
  if (!kubeconfig) throw new Error('--kubeconfig is required');
  const nodeName = String(values['hostname-override'] || hostname()).toLowerCase();
  const healthz = String(values['healthz-bind-address'] ?? '');
  if (healthz) hostPort('healthz-bind-address', healthz);
  const metricsAddr = String(values['metrics-bind-address'] ?? '');

  const logger = newLogger('kube-proxy', { node: nodeName });
  const registry = newRegistry();
  const client = await restClientFromKubeconfig(resolve(kubeconfig), 'kube-proxy/v1.32.0 (flotilla)');
  const proxy = await startProxy({
    client,
    nodeName,
    mode,
    logger,
    registry,
    clusterCIDR: String(values['cluster-cidr'] ?? '') || undefined,
    masqueradeAll: values['masquerade-all'] === true,
    nodePortAddresses: list(values['nodeport-addresses']),
    syncPeriodMs,
    minSyncPeriodMs,
    commandPrefix,
    userspace: { listenAddress: String(values['userspace-listen-address']) },
    healthzBindAddress: healthz || undefined,
  });
  let metrics: Awaited<ReturnType<typeof serveHealthAndMetrics>> | undefined;
  if (metricsAddr) {
    const { host, port } = hostPort('metrics-bind-address', metricsAddr);
    metrics = await serveHealthAndMetrics({ host, port, registry, liveness: [{ name: 'ping', check: () => undefined }] });
  }
  process.stdout.write(`proxy: mode ${mode} for node ${nodeName}` +
    (proxy.healthzPort !== undefined ? `; /healthz on ${hostPort('healthz-bind-address', healthz).host}:${proxy.healthzPort}` : '') +
    (metrics ? `; /metrics on ${hostPort('metrics-bind-address', metricsAddr).host}:${metrics.port}` : '') + '\n');
  const signal = await waitForShutdownSignal();
  logger.info({ signal }, 'shutting down');
  await proxy.stop();
  metrics?.server.close();
  await client.close();
  return 0;
}
