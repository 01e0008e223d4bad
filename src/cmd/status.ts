/**
 * `flotilla status`: one screen on the cluster a data dir (or a kubeconfig) points at — the
 * API server, the store, the control-plane loops, the nodes and the pods — ending with one
 * line on overall health. Exit code 0 when healthy, 1 when nothing runs or something is
 * unhealthy, so scripts can wait on it.
 *
 * Everything is read through the API server with the admin kubeconfig, as kubectl would;
 * the store's own numbers (etcd version, size) come from its etcd v3 API when the endpoint
 * is known. The controller-manager and scheduler are judged by their leader-election Leases
 * in kube-system (as `kubectl get leases -n kube-system` shows them), or, for `flotilla up`,
 * which runs them in its own process without leader election, by that process being alive.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Etcd3 } from 'etcd3';
import { parseFlags, type Command } from './command.js';
import { parseDuration } from './duration.js';
import { version as flotillaVersion } from './version.js';
import { humanDuration } from '../api/printers.js';
import { Resources } from '../client/interface.js';
import { loadKubeconfig } from '../client/kubeconfig.js';
import type { Lease, Node, Pod } from '../client/objects.js';
import { newRestClient, type RestClient } from '../client/rest.js';

export const command: Command = {
  name: 'status',
  summary: 'Show the cluster a data dir runs: API server, store, control plane, nodes and pods; exit 1 when it is not running or not healthy.',
  usage: '[--data-dir DIR | --kubeconfig FILE] [flags]',
  flags: {
    'data-dir': { type: 'string', default: 'flotilla-data', help: 'Data dir of the cluster (as given to flotilla up); its admin.conf is used.' },
    kubeconfig: { type: 'string', default: '', help: 'Use this kubeconfig instead of DATA_DIR/admin.conf (any cluster; no data dir checks).' },
    'etcd-endpoints': { type: 'string', default: '', help: "The store's etcd v3 endpoint for its version and size (default: the one flotilla up on the data dir serves)." },
    timeout: { type: 'string', default: '5s', help: 'How long to wait for each answer.' },
  },
  run,
};

// ---------------------------------------------------------------------------------------
// What status gathers (plain data, rendered by renderStatus).

export type Health = 'ok' | 'unhealthy' | 'unknown';

export interface ComponentStatus {
  name: string;
  health: Health;
  /** The STATUS cell: "Healthy", "Leading", "Running", "Stale", "Unknown", ... */
  status: string;
  detail: string;
}

export interface NodeRow {
  name: string;
  ready: boolean;
  /** kubectl's STATUS cell (Ready, NotReady, Ready,SchedulingDisabled). */
  status: string;
  roles: string;
  runtime: string;
  pods: number;
  /** Age of the node's kube-node-lease heartbeat; undefined when it has no Lease. */
  heartbeatMs?: number;
  version: string;
}

export interface StatusReport {
  /** "data dir /x" or "kubeconfig /y/config". */
  target: string;
  server: string;
  /** gitVersion from /version. */
  serverVersion: string;
  /** /readyz?verbose lines that failed ("[-]etcd failed: ..."); empty when ready. */
  readyzFailures: string[];
  components: ComponentStatus[];
  nodes: NodeRow[];
  /** namespace → phase → count. */
  pods: Map<string, Map<string, number>>;
}

const PHASES = ['Pending', 'Running', 'Succeeded', 'Failed', 'Unknown'];

/** Aligned columns as kubectl prints them: upper-case headers, three spaces between columns. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, [...cell].length); });
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length + 3))).join('').trimEnd());
}

/** Overall health: the problems found (none → healthy), and notes that do not count against it. */
export function assess(r: StatusReport): { problems: string[]; notes: string[] } {
  const problems: string[] = [];
  const notes: string[] = [];
  if (r.readyzFailures.length > 0) problems.push(`API server not ready (${r.readyzFailures.map((l) => l.replace(/^\[-\]/, '').replace(/ failed.*$/, '')).join(', ')})`);
  for (const c of r.components) {
    if (c.health === 'unhealthy') problems.push(`${c.name} ${c.status.toLowerCase()}`);
    if (c.health === 'unknown') notes.push(`${c.name} not verifiable`);
  }
  if (r.nodes.length === 0) problems.push('no nodes registered');
  const notReady = r.nodes.filter((n) => !n.ready).map((n) => n.name);
  if (notReady.length > 0) problems.push(`node${notReady.length > 1 ? 's' : ''} ${notReady.join(', ')} not Ready`);
  return { problems, notes };
}

/** The screen `flotilla status` prints, last line the verdict. */
export function renderStatus(r: StatusReport): string {
  const out: string[] = [];
  out.push(`Cluster on ${r.target}`);
  out.push(`API server ${r.server}: ${r.readyzFailures.length === 0 ? 'ready' : 'NOT ready'}, Kubernetes ${r.serverVersion} (flotilla ${flotillaVersion})`);
  for (const l of r.readyzFailures) out.push(`  ${l}`);
  out.push('');
  out.push(...table([['COMPONENT', 'STATUS', 'DETAILS'], ...r.components.map((c) => [c.name, c.status, c.detail])]));
  out.push('');
  if (r.nodes.length === 0) out.push('No nodes registered.');
  else {
    out.push(...table([
      ['NODE', 'STATUS', 'ROLES', 'RUNTIME', 'PODS', 'HEARTBEAT', 'VERSION'],
      ...r.nodes.map((n) => [n.name, n.status, n.roles, n.runtime, String(n.pods), n.heartbeatMs === undefined ? '<none>' : `${humanDuration(n.heartbeatMs)} ago`, n.version]),
    ]));
  }
  out.push('');
  const namespaces = [...r.pods.keys()].sort();
  if (namespaces.length === 0) out.push('No pods.');
  else {
    out.push(...table([
      ['NAMESPACE', ...PHASES.map((p) => p.toUpperCase())],
      ...namespaces.map((ns) => [ns, ...PHASES.map((p) => String(r.pods.get(ns)!.get(p) ?? 0))]),
    ]));
  }
  out.push('');
  const { problems, notes } = assess(r);
  const ready = r.nodes.filter((n) => n.ready).length;
  let pods = 0;
  let running = 0;
  for (const m of r.pods.values()) for (const [phase, n] of m) { pods += n; if (phase === 'Running') running += n; }
  const summary = `${r.components.filter((c) => c.health === 'ok').length}/${r.components.length} components ok, ${ready}/${r.nodes.length} nodes Ready, ${running}/${pods} pods Running`;
  const noteText = notes.length > 0 ? ` (${notes.join('; ')})` : '';
  out.push(problems.length === 0 ? `Healthy: ${summary}${noteText}.` : `Unhealthy: ${problems.join('; ')}. ${summary}${noteText}.`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------
// Gathering.

/** The `flotilla up` process holding a data dir's store, from the store's lock file. */
export interface UpProcess {
  pid: number;
  argv: string[];
}

function upProcessOf(dataDir: string): UpProcess | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, 'etcd', 'LOCK'), 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { pid, argv };
  } catch {
    return undefined; // gone (a stale lock), or no /proc
  }
}

/** The value of --name in argv (`--name v` or `--name=v`). */
function flagValue(argv: string[], name: string): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i]!.startsWith(`--${name}=`)) return argv[i]!.slice(name.length + 3);
  }
  return undefined;
}

const isUp = (p: UpProcess | undefined): p is UpProcess => p !== undefined && p.argv.some((a) => /flotilla(\.ts|\.js)?$/.test(a)) && p.argv.includes('up');

function sinceMs(ts: unknown, now: number): number | undefined {
  if (typeof ts !== 'string') return undefined;
  const t = Date.parse(ts);
  return Number.isNaN(t) ? undefined : now - t;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms); })]);
  } finally {
    clearTimeout(timer);
  }
}

async function storeStatus(client: RestClient, readyz: string[], endpoint: string | undefined, timeoutMs: number): Promise<ComponentStatus> {
  const failed = readyz.some((l) => l.startsWith('[-]etcd'));
  // A list's resourceVersion is the store's current revision.
  const list = await client.resource(Resources.namespaces).list({ limit: 1 }).catch(() => undefined);
  const parts = [list?.metadata.resourceVersion ? `revision ${list.metadata.resourceVersion}` : ''];
  if (endpoint) {
    const etcd = new Etcd3({ hosts: endpoint, dialTimeout: timeoutMs });
    try {
      const st = await withTimeout(etcd.maintenance.status({ deadline: Date.now() + timeoutMs }), timeoutMs, endpoint);
      parts.push(`etcd ${st.version} API on ${endpoint}`, `${(Number(st.dbSize) / 1024 / 1024).toFixed(1)} MiB`);
    } catch (err) {
      const msg = (err as Error).message;
      parts.push(`etcd v3 API on ${endpoint} not answering (${/ECONNREFUSED/.test(msg) ? 'connection refused' : msg.split('\n')[0]!.slice(0, 100)})`);
    } finally {
      etcd.close();
    }
  }
  return {
    name: 'etcd',
    health: failed ? 'unhealthy' : 'ok',
    status: failed ? 'Unhealthy' : 'Healthy',
    detail: [failed ? "the API server's etcd check fails" : '', ...parts].filter(Boolean).join(', '),
  };
}

/**
 * A control-plane loop, by its leader Lease (kube-system/<name>), else the `up` process
 * running it, else its static pod's mirror in kube-system (label component=<name>, as kubeadm
 * labels them).
 */
export function loopStatus(name: string, lease: Lease | undefined, up: UpProcess | undefined, pods: Pod[], now: number): ComponentStatus {
  if (lease?.spec?.holderIdentity) {
    const age = sinceMs(lease.spec.renewTime ?? lease.spec.acquireTime, now);
    const duration = (lease.spec.leaseDurationSeconds ?? 15) * 1000;
    const detail = `Lease kube-system/${lease.metadata?.name} held by ${lease.spec.holderIdentity}, renewed ${age === undefined ? '<unknown>' : humanDuration(age)} ago`;
    if (age !== undefined && age <= duration) return { name, health: 'ok', status: 'Leading', detail };
    return { name, health: 'unhealthy', status: 'Stale', detail: `${detail} (lease duration ${duration / 1000}s)` };
  }
  if (isUp(up)) return { name, health: 'ok', status: 'Running', detail: `in flotilla up (pid ${up.pid}), without leader election` };
  const pod = pods.find((p) => p.metadata?.namespace === 'kube-system' && p.metadata.labels?.component === name);
  if (pod) {
    const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    const detail = `pod kube-system/${pod.metadata?.name} ${pod.status?.phase ?? 'Pending'}${ready ? ', Ready' : ', not Ready'}; no leader Lease`;
    return ready ? { name, health: 'ok', status: 'Running', detail } : { name, health: 'unhealthy', status: 'NotReady', detail };
  }
  return { name, health: 'unknown', status: 'Unknown', detail: `no leader Lease kube-system/${name}, no flotilla up on a data dir, no pod labelled component=${name}` };
}

function nodeRow(n: Node, pods: Pod[], heartbeat: Lease | undefined, now: number): NodeRow {
  const ready = n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
  const roles = Object.keys(n.metadata?.labels ?? {})
    .filter((k) => k.startsWith('node-role.kubernetes.io/'))
    .map((k) => k.slice('node-role.kubernetes.io/'.length))
    .filter(Boolean)
    .sort();
  const name = n.metadata?.name ?? '';
  return {
    name,
    ready,
    status: (ready ? 'Ready' : 'NotReady') + (n.spec?.unschedulable ? ',SchedulingDisabled' : ''),
    roles: roles.length > 0 ? roles.join(',') : '<none>',
    runtime: n.status?.nodeInfo?.containerRuntimeVersion || '<unknown>',
    // As `kubectl describe node` counts them: pods bound to it that have not terminated.
    pods: pods.filter((p) => p.spec?.nodeName === name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed').length,
    heartbeatMs: sinceMs(heartbeat?.spec?.renewTime, now),
    version: n.status?.nodeInfo?.kubeletVersion || '<unknown>',
  };
}

/** Network-level failures that mean "nothing answers there" rather than a broken cluster. */
function nothingListening(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || /ECONNREFUSED|ECONNRESET/.test(String((err as Error)?.message));
}

async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(command, argv);
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}\nRun 'flotilla status --help' for usage.`);
  const timeoutMs = parseDuration('timeout', values.timeout);
  if (timeoutMs < 0) throw new Error(`invalid argument ${JSON.stringify(values.timeout)} for "--timeout" flag: must be 0 or more`);
  const kubeconfigFlag = String(values.kubeconfig);
  const dataDir = kubeconfigFlag ? undefined : resolve(String(values['data-dir']));
  const kubeconfig = kubeconfigFlag ? resolve(kubeconfigFlag) : join(dataDir!, 'admin.conf');
  const notRunning = `no cluster running on ${dataDir}: start one with flotilla up --data-dir ${dataDir}`;
  const up = dataDir ? upProcessOf(dataDir) : undefined;
  const starting = (why: string) => `the cluster on ${dataDir} is not serving yet: flotilla up (pid ${up?.pid}) runs but ${why}; wait for its "Cluster is up" line, or see its output`;
  if (dataDir && !existsSync(kubeconfig)) {
    console.error(isUp(up) ? starting('has not written admin.conf') : notRunning);
    return 1;
  }
  const creds = await loadKubeconfig(kubeconfig);
  const client = newRestClient({
    server: creds.server, ca: creds.ca, cert: creds.cert, key: creds.key, token: creds.token,
    insecureSkipTLSVerify: creds.insecureSkipTLSVerify,
    userAgent: `flotilla-status/${flotillaVersion}`,
    requestTimeoutMs: timeoutMs,
    maxRetries: 0,
  });
  try {
    let readyz;
    try {
      readyz = await client.request('GET', '/readyz?verbose');
    } catch (err) {
      if (dataDir && isUp(up)) {
        console.error(starting(`its API server ${creds.server} does not answer (${(err as Error).message})`));
        return 1;
      }
      if (dataDir && nothingListening(err)) {
        console.error(notRunning);
        return 1;
      }
      console.error(`cannot reach the API server ${creds.server} (${dataDir ? `data dir ${dataDir}` : `kubeconfig ${kubeconfig}`}): ${(err as Error).message}`);
      return 1;
    }
    const readyzFailures = readyz.body.toString('utf8').split('\n').filter((l) => l.startsWith('[-]'));
    if (readyz.status !== 200 && readyzFailures.length === 0) readyzFailures.push(`[-]readyz failed: HTTP ${readyz.status}`);
    const versionAnswer = await client.request('GET', '/version').catch(() => undefined);
    let serverVersion = '<unknown>';
    try {
      if (versionAnswer?.status === 200) serverVersion = String((JSON.parse(versionAnswer.body.toString('utf8')) as { gitVersion?: unknown }).gitVersion);
    } catch { /* keep <unknown> */ }

    const [nodes, pods, controlLeases, nodeLeases] = await Promise.all([
      client.resource<Node>(Resources.nodes).list(),
      client.resource<Pod>(Resources.pods).list(),
      client.resource<Lease>(Resources.leases, 'kube-system').list(),
      client.resource<Lease>(Resources.leases, 'kube-node-lease').list(),
    ]);
    const now = Date.now();
    const leaseNamed = (items: Lease[], name: string) => items.find((l) => l.metadata?.name === name);

    let endpoint = String(values['etcd-endpoints']) || undefined;
    if (!endpoint && isUp(up)) {
      const p = flagValue(up.argv, 'etcd-port') ?? '2379';
      if (p !== '0') endpoint = `http://127.0.0.1:${p}`;
    }
    const components = [
      await storeStatus(client, readyz.body.toString('utf8').split('\n'), endpoint, timeoutMs),
      loopStatus('kube-controller-manager', leaseNamed(controlLeases.items, 'kube-controller-manager'), up, pods.items, now),
      loopStatus('kube-scheduler', leaseNamed(controlLeases.items, 'kube-scheduler'), up, pods.items, now),
    ];

    const podsByNs = new Map<string, Map<string, number>>();
    for (const p of pods.items) {
      const ns = p.metadata?.namespace ?? '';
      const phase = p.status?.phase ?? 'Pending';
      const m = podsByNs.get(ns) ?? new Map<string, number>();
      m.set(phase, (m.get(phase) ?? 0) + 1);
      podsByNs.set(ns, m);
    }
    const report: StatusReport = {
      target: dataDir ? `data dir ${dataDir}${isUp(up) ? ` (flotilla up, pid ${up.pid})` : ''}` : `kubeconfig ${kubeconfig}`,
      server: creds.server,
      serverVersion,
      readyzFailures,
      components,
      nodes: nodes.items
        .map((n) => nodeRow(n, pods.items, leaseNamed(nodeLeases.items, n.metadata?.name ?? ''), now))
        .sort((a, b) => a.name.localeCompare(b.name)),
      pods: podsByNs,
    };
    console.log(renderStatus(report));
    return assess(report).problems.length === 0 ? 0 : 1;
  } finally {
    await client.close();
  }
}
