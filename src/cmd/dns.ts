/**
 * `flotilla dns`: the cluster DNS server on its own (CoreDNS with the kubeadm Corefile),
 * talking to the API server named by a kubeconfig. Serves the cluster zone over UDP and TCP
 * on --listen and forwards everything else to the resolvers of /etc/resolv.conf (or
 * --upstream). CoreDNS's side doors: /health on --health-port, /ready on --ready-port,
 * /metrics on --metrics-port. With --ensure-service it also writes the kube-system/kube-dns
 * Service (at --cluster-ip) and points its endpoints at --advertise-address.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { list, parseFlags, type Command } from './command.js';
import { restClientFromKubeconfig } from '../client/rest.js';
import { DEFAULT_DNS_CLUSTER_IP, ensureDNSService, startClusterDNS } from '../dns/index.js';
import { realClock } from '../util/clock.js';
import { newRegistry } from '../util/health.js';
import { newLogger } from '../util/log.js';

export const command: Command = {
  name: 'dns',
  summary: 'Run the cluster DNS server: service and pod records for the cluster domain, forwarding for the rest (CoreDNS).',
  usage: '--kubeconfig FILE [flags]',
  flags: {
    kubeconfig: { type: 'string', default: '', help: 'Path to a kubeconfig file with the API server and credentials.' },
    listen: { type: 'string', default: '0.0.0.0:53', help: 'Address and port for DNS over UDP and TCP (port 0: any free port).' },
    'cluster-domain': { type: 'string', default: 'cluster.local', help: 'The zone served from the API (the kubelet\'s --cluster-domain).' },
    upstream: { type: 'string', default: '', help: 'Comma-separated upstream resolvers (IP[:port]); default the nameservers of --resolv-conf; "none" disables forwarding.' },
    'resolv-conf': { type: 'string', default: '/etc/resolv.conf', help: 'Where upstream resolvers are read from when --upstream is not set.' },
    ttl: { type: 'string', default: '5', help: 'TTL of the records served, seconds (0-3600).' },
    'bind-address': { type: 'string', default: '0.0.0.0', help: 'Address for the health, ready and metrics ports.' },
    'health-port': { type: 'string', default: '8080', help: 'Port for /health; 0 disables.' },
    'ready-port': { type: 'string', default: '8181', help: 'Port for /ready; 0 disables.' },
    'metrics-port': { type: 'string', default: '9153', help: 'Port for /metrics; 0 disables.' },
    'ensure-service': { type: 'boolean', default: false, help: 'Create or update kube-system/kube-dns and point its endpoints at this server.' },
    'cluster-ip': { type: 'string', default: DEFAULT_DNS_CLUSTER_IP, help: 'ClusterIP of the kube-dns Service (with --ensure-service).' },
    'advertise-address': { type: 'string', default: '', help: 'The IP other nodes reach this server at, for the kube-dns endpoints (default the --listen address).' },
  },
  run,
};

/** "host:port", "[v6]:port" → parts; the port must be 0-65535. */
export function parseListen(v: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(v) ?? /^([^:]*):(\d+)$/.exec(v);
  const host = m?.[1] ?? '';
  const port = Number(m?.[2]);
  if (!m || (host !== '' && isIP(host) === 0) || !Number.isInteger(port) || port > 65535) {
    throw new Error(`invalid --listen ${JSON.stringify(v)}: want IP:PORT, e.g. 127.0.0.1:53 or [::1]:53`);
  }
  return { host: host || '0.0.0.0', port };
}

function portFlag(name: string, v: unknown): number {
  const port = Number(v);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --${name} ${JSON.stringify(v)}: want a port number 0-65535`);
  return port;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}\nRun 'flotilla dns --help' for usage.`);
  const kubeconfig = String(values.kubeconfig || process.env.KUBECONFIG || '');
  if (!kubeconfig) throw new Error('--kubeconfig is required');
  const listen = parseListen(String(values.listen));
  const ttl = Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 3600) throw new Error(`invalid --ttl ${JSON.stringify(values.ttl)}: want seconds 0-3600`);
  const upstreamFlag = String(values.upstream ?? '');
  const upstream = upstreamFlag === '' ? undefined : upstreamFlag === 'none' ? [] : list(upstreamFlag);
  const host = String(values['bind-address']);
  const side = (name: string) => {
    const port = portFlag(name, values[name]);
    return port === 0 ? undefined : { host, port };
  };

  const logger = newLogger('dns');
  const client = await restClientFromKubeconfig(resolve(kubeconfig), 'flotilla-dns');
  const registry = newRegistry();
  const dns = await startClusterDNS({
    client,
    address: listen.host,
    port: listen.port,
    clusterDomain: String(values['cluster-domain']),
    upstream,
    resolvConf: String(values['resolv-conf']),
    ttl,
    logger,
    registry,
    clock: realClock,
    health: side('health-port'),
    ready: side('ready-port'),
    metrics: side('metrics-port'),
  });
  process.stdout.write(`dns: serving ${String(values['cluster-domain'])} on ${listen.host}:${dns.port} (udp, tcp); upstream ${dns.upstreams.join(', ') || 'none'}\n`);
  if (values['ensure-service']) {
    try {
      const advertise = String(values['advertise-address'] || listen.host);
      if (isIP(advertise) === 0 || advertise === '0.0.0.0' || advertise === '::') throw new Error('--ensure-service needs --advertise-address (an IP other nodes reach) when --listen is a wildcard');
      await ensureDNSService(client, { clusterIP: String(values['cluster-ip']), endpointIP: advertise, port: dns.port, metricsPort: dns.metricsPort });
    } catch (err) {
      await dns.stop();
      await client.close();
      throw err;
    }
  }
  await new Promise<void>((resolveStop) => {
    process.once('SIGINT', () => resolveStop());
    process.once('SIGTERM', () => resolveStop());
  });
  await dns.stop();
  await client.close();
  return 0;
}
