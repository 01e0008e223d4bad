/**
 * `flotilla kubelet`: the node agent on its own, talking to an API server from a
 * kubeconfig. Registers the node, heartbeats (Node status + Lease), runs the pods bound to
 * it. `--runtime simulated` runs pods without containers (kwok-style), `--runtime remote`
 * through a CRI runtime (containerd) at --container-runtime-endpoint; with
 * `--simulated-nodes N` one process hosts N simulated nodes named NAME-0 … NAME-(N-1) for
 * scale tests. /healthz and /metrics are served on --healthz-bind-address:--healthz-port.
 */
import { readFile } from 'node:fs/promises';
import { parseFlags, type Command, type FlagSpec } from './command.js';
import { formatGoDuration, parseDuration } from './duration.js';
import { restClientFromKubeconfig } from '../client/rest.js';
import { SimulatedRuntime, startKubelet, startSimulatedNodes, hostMachineInfo, simulatedPodCIDR } from '../kubelet/index.js';
import type { ResourceList } from '../kubelet/node.js';
import { CriRuntime } from '../kubelet/cri/runtime.js';
import { realClock } from '../util/clock.js';
import { newRegistry, serveHealthAndMetrics } from '../util/health.js';
import { newLogger } from '../util/log.js';

/**
 * The kubelet's --node-status-update-frequency, with upstream's default and help; shared
 * with `flotilla up`, which runs a kubelet. The status is computed at this period and
 * written when it changed, or when nodeStatusReportFrequency (5m0s) has passed since the
 * last write; the node Lease is renewed every 10s regardless, as upstream since NodeLease.
 */
export const nodeStatusUpdateFrequencyFlag = {
  type: 'string',
  default: '10s',
  help: 'Specifies how often kubelet posts node status to master. Note: be cautious when changing the constant, it must work with nodeMonitorGracePeriod in nodecontroller.',
} satisfies FlagSpec;

/**
 * --node-status-update-frequency in ms: a Go duration (pflag's message), and positive.
 * Upstream does not check it (its status loop would spin on 0); the refusal reads like
 * the kubelet's other configuration checks.
 */
export function nodeStatusUpdateFrequencyMs(v: unknown): number {
  const ms = parseDuration('node-status-update-frequency', v);
  if (ms <= 0) throw new Error(`invalid configuration: nodeStatusUpdateFrequency (--node-status-update-frequency) ${formatGoDuration(ms)} must be greater than 0`);
  return ms;
}

export const command: Command = {
  name: 'kubelet',
  summary: 'Run the node agent: register a node, heartbeat, and run the pods bound to it (simulated runtime, or a CRI runtime such as containerd).',
  usage: '--kubeconfig FILE --node-name NAME [flags]',
  flags: {
    kubeconfig: { type: 'string', default: '', help: 'Kubeconfig with the API server and credentials.' },
    'node-name': { type: 'string', default: '', help: 'Name of the node to register (default: the host name); with --simulated-nodes, the name prefix.' },
    runtime: { type: 'string', default: 'simulated', help: 'Container runtime: simulated (pods run without containers) or remote (a CRI runtime such as containerd at --container-runtime-endpoint).' },
    'container-runtime-endpoint': { type: 'string', default: 'unix:///run/containerd/containerd.sock', help: 'The CRI socket for --runtime remote.' },
    'pod-cidr': { type: 'string', default: '', help: 'spec.podCIDR of the node; pod IPs come from it (default 10.244.1.0/24 for the simulated runtime).' },
    'simulated-nodes': { type: 'string', default: '0', help: 'Host this many simulated nodes in this process instead of one node.' },
    'container-start-delay': { type: 'string', default: '0', help: 'Simulated runtime: time from StartContainer until a container runs (Go duration).' },
    capacity: { type: 'string', default: '', help: 'Node capacity as name=quantity pairs, e.g. cpu=8,memory=32Gi,pods=110 (default: the host\'s; simulated nodes 32 CPUs, 256Gi).' },
    port: { type: 'string', default: '', help: "Port of the kubelet's HTTPS server (logs, exec, attach, port-forward; upstream 10250; 0 picks a free one). Default: no server for simulated nodes, 10250 otherwise. With --simulated-nodes, one server for all of them." },
    address: { type: 'string', default: '', help: 'Address of that server (default: the node IP).' },
    'client-ca-file': { type: 'string', default: '', help: 'Only clients with a certificate signed by this CA (the API server) may use that server.' },
    'root-dir': { type: 'string', default: '', help: 'Where pod volumes live (upstream /var/lib/kubelet); unset: containers get no volumes.' },
    'node-ip': { type: 'string', default: '', help: "The node's InternalIP (default: the host's first non-loopback IPv4)." },
    'pod-manifest-path': { type: 'string', default: '', help: 'Folder (or file) of static pod manifests to run; each shows in the API as a mirror pod <name>-<node>.' },
    'healthz-bind-address': { type: 'string', default: '127.0.0.1', help: 'Address for /healthz and /metrics.' },
    'healthz-port': { type: 'string', default: '10248', help: 'Port for /healthz and /metrics; 0 picks a free one.' },
    'node-status-update-frequency': nodeStatusUpdateFrequencyFlag,
  },
  run,
};

function parseCapacity(v: string): ResourceList | undefined {
  if (!v.trim()) return undefined;
  const out: ResourceList = {};
  for (const pair of v.split(',')) {
    const [k, q] = pair.split('=').map((s) => s.trim());
    if (!k || !q) throw new Error(`invalid --capacity ${JSON.stringify(v)}: want name=quantity pairs like cpu=8,memory=32Gi`);
    out[k] = q;
  }
  out.pods ??= '110';
  return out;
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}\nRun 'flotilla kubelet --help' for usage.`);
  const statusUpdateMs = nodeStatusUpdateFrequencyMs(values['node-status-update-frequency']);
  const kubeconfig = String(values.kubeconfig ?? '');
  if (!kubeconfig) throw new Error('--kubeconfig is required');
  const runtimeName = String(values.runtime);
  if (runtimeName !== 'simulated' && runtimeName !== 'remote') throw new Error(`unsupported --runtime ${JSON.stringify(runtimeName)}: want simulated or remote`);
  const simulatedNodes = Number(values['simulated-nodes']);
  if (!Number.isInteger(simulatedNodes) || simulatedNodes < 0) throw new Error(`invalid --simulated-nodes ${JSON.stringify(values['simulated-nodes'])}`);
  const port = Number(values['healthz-port']);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --healthz-port ${JSON.stringify(values['healthz-port'])}`);
  const capacity = parseCapacity(String(values.capacity ?? ''));
  const startDelayMs = parseDuration('container-start-delay', values['container-start-delay']);
  const log = newLogger('kubelet');
  const registry = newRegistry();
  const client = await restClientFromKubeconfig(kubeconfig, 'kubelet');
  const clock = realClock;
  let stop: () => Promise<void>;
  let ready: () => boolean;
  if (simulatedNodes > 0 && runtimeName !== 'simulated') throw new Error('--simulated-nodes needs --runtime simulated');
  const portFlag = String(values.port ?? '');
  const parsePort = (): number => {
    const port = Number(portFlag);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${JSON.stringify(portFlag)}`);
    return port;
  };
  if (simulatedNodes > 0) {
    const prefix = String(values['node-name'] || 'sim-node');
    // With --port, one server for every node (kwok's way), on --address or the node IP,
    // which every node then advertises.
    const serverPort = portFlag === '' ? undefined : parsePort();
    const serverAddress = String(values.address ?? '') || hostMachineInfo({ internalIP: String(values['node-ip'] ?? '') || undefined }).internalIP;
    const sim = await startSimulatedNodes({
      client, count: simulatedNodes, namePrefix: `${prefix}-`, clock, logger: log, registry, capacity, startDelayMs, nodeStatusUpdateFrequencyMs: statusUpdateMs,
      serverPort, serverAddress,
    });
    process.stdout.write(`kubelet: ${simulatedNodes} simulated nodes registered (${sim.names[0]} … ${sim.names[sim.names.length - 1]})\n`);
    stop = () => sim.stop();
    ready = () => sim.ready();
  } else {
    const machine = hostMachineInfo({ internalIP: String(values['node-ip'] ?? '') || undefined });
    const nodeName = String(values['node-name'] || machine.hostname).toLowerCase();
    const podCIDR = String(values['pod-cidr'] || simulatedPodCIDR(1));
    const cri = runtimeName === 'remote' ? new CriRuntime({ endpoint: String(values['container-runtime-endpoint']) }) : undefined;
    const runtime = cri ?? new SimulatedRuntime({ clock, podCIDR, startDelayMs });
    const staticPodPath = String(values['pod-manifest-path'] ?? '') || undefined;
    const serverPort = portFlag === '' ? (cri ? 10250 : undefined) : parsePort();
    const caFile = String(values['client-ca-file'] ?? '');
    const kubelet = await startKubelet({
      client, nodeName, runtime, clock, logger: log, registry, podCIDR, capacity, machine, staticPodPath,
      serverPort,
      serverAddress: String(values.address ?? '') || machine.internalIP,
      serverClientCA: caFile ? await readFile(caFile, 'utf8') : undefined,
      rootDir: String(values['root-dir'] ?? '') || undefined,
      nodeStatusUpdateFrequencyMs: statusUpdateMs,
    });
    const v = await runtime.version();
    process.stdout.write(`kubelet: node ${nodeName} registered (runtime ${v.runtimeName}://${v.runtimeVersion}, pod CIDR ${podCIDR})\n`);
    stop = async () => {
      await kubelet.stop();
      cri?.close();
    };
    ready = () => kubelet.ready();
  }
  const health = await serveHealthAndMetrics({
    host: String(values['healthz-bind-address']),
    port,
    registry,
    liveness: [{ name: 'ping', check: () => {} }],
    readiness: [{ name: 'syncloop', check: () => { if (!ready()) throw new Error('pod informer not synced'); } }],
  });
  process.stdout.write(`kubelet: healthz on http://${String(values['healthz-bind-address'])}:${health.port}/healthz\n`);
  await new Promise<void>((resolveSignal) => {
    const done = () => resolveSignal();
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
  await stop();
  health.server.close();
  await client.close();
  return 0;
}
