/**
 * `flotilla scheduler`: the scheduler on its own, talking to the API server named by a
 * kubeconfig (as kube-scheduler --kubeconfig). With --leader-elect (the default) it
 * schedules only while holding the Lease kube-system/kube-scheduler, so several can run
 * for high availability. /healthz and /metrics are served on --secure-port.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseFlags, type Command } from './command.js';
import { restClientFromKubeconfig } from '../client/rest.js';
import { defaultConfiguration, leaseLeaderElect, loadConfigFile, startScheduler } from '../scheduler/index.js';
import { realClock } from '../util/clock.js';
import { newRegistry, serveHealthAndMetrics } from '../util/health.js';
import { newLogger } from '../util/log.js';

export const command: Command = {
  name: 'scheduler',
  summary: 'Run the scheduler: assigns pending pods to nodes through the API server (kube-scheduler).',
  usage: '--kubeconfig FILE [flags]',
  flags: {
    kubeconfig: { type: 'string', default: '', help: 'Path to a kubeconfig file with the API server and credentials.' },
    config: { type: 'string', default: '', help: 'Path to a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1) file.' },
    'leader-elect': { type: 'string', default: '', help: 'Schedule only while holding the leader lease (true|false; default true, or the config file\'s leaderElection.leaderElect).' },
    'leader-elect-resource-namespace': { type: 'string', default: '', help: 'Namespace of the leader Lease (default kube-system).' },
    'leader-elect-resource-name': { type: 'string', default: '', help: 'Name of the leader Lease (default kube-scheduler).' },
    'secure-port': { type: 'string', default: '10259', help: 'Port for /healthz, /livez, /readyz and /metrics (plain HTTP); 0 disables.' },
    'bind-address': { type: 'string', default: '127.0.0.1', help: 'Address for --secure-port.' },
  },
  run,
};

function boolFlag(name: string, v: string): boolean | undefined {
  if (v === '') return undefined;
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new Error(`invalid argument ${JSON.stringify(v)} for "--${name}" flag: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

async function run(argv: string[]): Promise<number> {
  // pflag accepts a bare boolean flag; parseArgs takes it as a string flag, so spell it out.
  const args = argv.map((a) => (a === '--leader-elect' ? '--leader-elect=true' : a));
  const { values, positionals } = parseFlags(command, args);
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}\nRun 'flotilla scheduler --help' for usage.`);
  const cfg = values.config ? await loadConfigFile(resolve(String(values.config))) : defaultConfiguration();
  const kubeconfig = String(values.kubeconfig || cfg.clientConnection.kubeconfig || process.env.KUBECONFIG || '');
  if (!kubeconfig) throw new Error('--kubeconfig is required (or clientConnection.kubeconfig in --config)');
  const leaderElect = boolFlag('leader-elect', String(values['leader-elect'] ?? '')) ?? cfg.leaderElection.leaderElect;
  if (values['leader-elect-resource-namespace']) cfg.leaderElection.resourceNamespace = String(values['leader-elect-resource-namespace']);
  if (values['leader-elect-resource-name']) cfg.leaderElection.resourceName = String(values['leader-elect-resource-name']);
  const port = Number(values['secure-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --secure-port ${JSON.stringify(values['secure-port'])}: want a port number 0-65535`);

  const logger = newLogger('scheduler');
  const client = await restClientFromKubeconfig(resolve(kubeconfig), 'flotilla-scheduler');
  const registry = newRegistry();
  const elector = leaderElect
    ? leaseLeaderElect({ client, clock: realClock, logger, identity: `${hostname()}_${randomUUID()}`, config: cfg.leaderElection })
    : undefined;
  const running = startScheduler({ client, config: cfg, logger, registry, leaderElect: elector });
  let health: Awaited<ReturnType<typeof serveHealthAndMetrics>> | undefined;
  if (port !== 0) {
    health = await serveHealthAndMetrics({ host: String(values['bind-address']), port, registry, liveness: [{ name: 'ping', check: () => undefined }] });
    process.stdout.write(`scheduler: /healthz and /metrics on http://${String(values['bind-address'])}:${health.port}\n`);
  }
  logger.info({ kubeconfig, leaderElect, profiles: cfg.profiles.map((p) => p.schedulerName) }, 'scheduler starting');
  const stopped = await new Promise<'signal' | 'failed'>((resolveStop) => {
    process.once('SIGINT', () => resolveStop('signal'));
    process.once('SIGTERM', () => resolveStop('signal'));
    running.done.then(() => resolveStop('failed'), () => resolveStop('failed'));
  });
  await running.stop();
  health?.server.close();
  await client.close();
  return stopped === 'signal' ? 0 : 1;
}
