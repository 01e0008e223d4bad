/**
 * `flotilla controller-manager`: kube-controller-manager as its own process, talking to any
 * API server through a kubeconfig, with upstream's flag names and defaults.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { parseFlags, type Command } from './command.js';
import { waitForShutdownSignal } from './etcd.js';
import { loadKubeconfig } from '../client/kubeconfig.js';
import { newRestClient } from '../client/rest.js';
import { builtinControllers } from '../controllers/controllers.js';
import { startControllerManager } from '../controllers/manager.js';
import { realClock } from '../util/clock.js';
import { newRegistry, serveHealthAndMetrics } from '../util/health.js';
import { newLogger } from '../util/log.js';
import { nodeLifecycleFlags, nodeLifecycleOptions } from './nodelifecycle-flags.js';

export const command: Command = {
  name: 'controller-manager',
  summary: 'Run the control loops (ReplicaSet, Deployment, node lifecycle, namespace, garbage collector, …) against an API server.',
  usage: '--kubeconfig FILE [flags]',
  flags: {
    kubeconfig: { type: 'string', default: '', help: 'Path to a kubeconfig with the API server and credentials (e.g. DATA_DIR/admin.conf).' },
    controllers: {
      type: 'string',
      default: '*',
      help: "Controllers to enable: '*' all enabled by default, 'foo' enables foo, '-foo' disables foo (comma-separated).",
    },
    ...nodeLifecycleFlags,
    'terminated-pod-gc-threshold': { type: 'string', default: '12500', help: 'Terminated pods kept before the pod garbage collector deletes the oldest.' },
    'concurrent-syncs': { type: 'string', default: '5', help: 'Workers per controller.' },
    'leader-elect': { type: 'boolean', default: true, help: 'Run only while holding the kube-system/kube-controller-manager Lease.' },
    'bind-address': { type: 'string', default: '127.0.0.1', help: 'Address of the /healthz and /metrics endpoint.' },
    'secure-port': { type: 'string', default: '10257', help: 'Port of the /healthz and /metrics endpoint (plain HTTP here); 0 picks one.' },
  },
  run,
};

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const kubeconfig = String(values.kubeconfig ?? '');
  if (!kubeconfig) throw new Error('--kubeconfig is required (e.g. --kubeconfig flotilla-data/admin.conf)');
  const lifecycle = nodeLifecycleOptions(values);
  const log = newLogger('controller-manager');
  const registry = newRegistry();
  // Read once: the credentials give both the client and the CA the root-CA publisher hands out.
  const creds = await loadKubeconfig(kubeconfig);
  const client = newRestClient({ ...creds, userAgent: 'kube-controller-manager/v1.32.0 (flotilla)' });
  const workers = Number(values['concurrent-syncs']);
  const gcThreshold = Number(values['terminated-pod-gc-threshold']);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`invalid --concurrent-syncs ${JSON.stringify(values['concurrent-syncs'])}`);
  if (!Number.isInteger(gcThreshold) || gcThreshold < 0) throw new Error(`invalid --terminated-pod-gc-threshold ${JSON.stringify(values['terminated-pod-gc-threshold'])}`);
  const cm = startControllerManager({
    client,
    clock: realClock,
    logger: log,
    registry,
    known: builtinControllers({ rootCAPem: creds.ca?.toString('utf8') }),
    controllers: String(values.controllers).split(','),
    leaderElect: values['leader-elect'] === true,
    identity: `${hostname()}_${randomUUID()}`,
    options: {
      ...lifecycle,
      terminatedPodGCThreshold: gcThreshold,
      workers,
    },
  });
  const health = await serveHealthAndMetrics({
    host: String(values['bind-address']),
    port: Number(values['secure-port']),
    registry,
    liveness: [{ name: 'ping', check: () => {} }],
    readiness: [{ name: 'leaderElection', check: () => {} }],
  });
  process.stdout.write(`controller-manager: controllers ${cm.controllers.join(', ')}; /healthz and /metrics on http://${String(values['bind-address'])}:${health.port}\n`);
  const signal = await waitForShutdownSignal();
  log.info({ signal }, 'shutting down');
  await cm.stop();
  await client.close();
  health.server.close();
  return 0;
}
