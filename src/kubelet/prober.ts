/**
 * Container probes, after upstream pkg/kubelet/prober (manager, worker, results cache,
 * prober) and pkg/probe/{exec,http,tcp}.
 *
 * One worker per container and probe type (liveness, readiness, startup) probes every
 * periodSeconds on the injected clock (the node's {@link TimerWheel} when given). A worker
 * reads the container from the pod status the pod worker last generated (upstream's status
 * manager cache), waits initialDelaySeconds from the container's start, keeps liveness and
 * readiness idle until the startup probe has passed, and turns runs of
 * successThreshold/failureThreshold equal answers into a cached result per container ID.
 * Initial results: readiness Failure, liveness Success, startup none. A changed result calls
 * `onUpdate` (the pod worker syncs: status Ready, or a liveness/startup restart). After a
 * liveness or startup Failure the worker holds until it sees a new container ID.
 *
 * Probe actions: exec through {@link Runtime.execSync} (exit 0 = success; a timeout is a
 * failure `command "…" timed out`), httpGet (GET to the pod IP — the host's for
 * hostNetwork pods — or `host`; named ports resolved; HTTPS without verification;
 * `User-Agent: kube-probe/1.32`, `Accept: *\/*`; 200–399 succeed; redirects followed on the
 * same host only, a redirect elsewhere ends as a success with a ProbeWarning event), and
 * tcpSocket (a connection opens). gRPC probes are reported as errored (unsupported here).
 * Events use upstream's text: `Liveness probe failed: <output>` (reason Unhealthy),
 * `Readiness probe warning: …` (ProbeWarning), `… probe errored and resulted in unknown
 * state: …`.
 *
 * Departures: upstream delays a worker's first probe by a random part of the period when the
 * kubelet has just started; here the first probe runs at once, so tests are deterministic.
 * Upstream's status generation triggers a readiness probe every time it finds a container not
 * yet ready; here only for a container the worker has not probed yet (the status is
 * generated several times per sync, and extra probes would count towards the thresholds).
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Counter, Histogram, type Registry } from 'prom-client';
import { parseRFC3339 } from '../apimachinery/meta.js';
import type { EventRecorder } from '../client/interface.js';
import type { Container, Pod, PodStatus } from '../client/objects.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Runtime } from './runtime.js';
import type { ContainerProbes } from './status.js';
import type { TimerWheel } from './wheel.js';

export type ProbeType = 'liveness' | 'readiness' | 'startup';
/** A cached probe result (upstream results.Result). */
export type ProbeResult = 'Success' | 'Failure' | 'Unknown';
/** What one probe run gives (upstream probe.Result). */
export type ProbeOutcome = 'Success' | 'Warning' | 'Failure' | 'Unknown';

/** Minor version in the probe and hook User-Agent (kube-probe/1.32). */
export const KUBE_VERSION_MAJOR_MINOR = '1.32';
/** Upstream maxProbeRetries: a probe that errors (not fails) is retried this often. */
const MAX_PROBE_RETRIES = 3;
/** Upstream maxRespBodyLength / exec maxReadLength. */
const MAX_OUTPUT = 10 * 1024;

/** Who asks for a network probe or hook request (a transport may use it; the real one does not). */
export interface ProbeContext {
  pod: Pod;
  containerName: string;
  purpose: ProbeType | 'postStart' | 'preStop';
}

export interface HTTPProbeRequest {
  url: URL;
  /** In order; names as given. */
  headers: Array<[string, string]>;
  signal: AbortSignal;
  context: ProbeContext;
}

export interface HTTPProbeResponse {
  statusCode: number;
  /** The Location header, if any. */
  location?: string;
  /** Up to 10 KiB of the body. */
  body: string;
}

/**
 * How probes and hooks reach a pod over the network. The default speaks real HTTP/TCP; a
 * runtime whose pods have no network (the simulated one) provides its own as a
 * `probeTransport` property. Failures reject with an Error whose message is Go's net/http
 * wording (`dial tcp 10.244.1.5:8080: connect: connection refused`).
 */
export interface ProbeTransport {
  httpGet(req: HTTPProbeRequest): Promise<HTTPProbeResponse>;
  tcpConnect(host: string, port: number, signal: AbortSignal, context: ProbeContext): Promise<void>;
}

/** Probe defaults (pkg/apis/core/v1 SetDefaults_Probe), for pods that reached us undefaulted. */
export interface ProbeSpec {
  initialDelaySeconds: number;
  periodSeconds: number;
  timeoutSeconds: number;
  successThreshold: number;
  failureThreshold: number;
}

type Probe = NonNullable<Container['livenessProbe']>;
type HTTPGetAction = NonNullable<Probe['httpGet']>;

export function probeSpec(p: Probe): ProbeSpec {
  return {
    initialDelaySeconds: p.initialDelaySeconds ?? 0,
    periodSeconds: p.periodSeconds || 10,
    timeoutSeconds: p.timeoutSeconds || 1,
    successThreshold: p.successThreshold || 1,
    failureThreshold: p.failureThreshold || 3,
  };
}

function probeOf(c: Container, type: ProbeType): Probe | undefined {
  return type === 'liveness' ? c.livenessProbe : type === 'readiness' ? c.readinessProbe : c.startupProbe;
}

const typeName: Record<ProbeType, string> = { liveness: 'Liveness', readiness: 'Readiness', startup: 'Startup' };

/** Go's net.JoinHostPort. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Upstream probe.ResolveContainerPort: a number, a named container port, or a number in a
 * string; throws upstream's errors.
 */
export function resolveContainerPort(port: number | string, c: Container): number {
  let n: number;
  if (typeof port === 'number') n = port;
  else {
    const named = (c.ports ?? []).find((p) => p.name === port);
    if (named) n = named.containerPort;
    else if (/^[+-]?\d+$/.test(port)) n = Number(port);
    else throw new Error(`port ${port} not found`);
  }
  if (n > 0 && n < 65536) return n;
  throw new Error(`invalid port number: ${n}`);
}

/**
 * The URL and headers of an httpGet probe or hook (upstream NewRequestForHTTPGetAction):
 * scheme lower-cased (default http), host = action.host or the pod IP, the path may carry a
 * query, User-Agent `kube-<purpose>/1.32` and `Accept: *\/*` unless given (an empty Accept
 * removes it).
 */
export function httpGetRequest(action: HTTPGetAction, c: Container, podIP: string, userAgentPurpose: 'probe' | 'lifecycle'): { url: URL; headers: Array<[string, string]> } {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const host = action.host || podIP;
  const port = resolveContainerPort(action.port as number | string, c);
  const path = action.path ?? '';
  const url = new URL(`${scheme}://${joinHostPort(host, port)}`);
  if (path) {
    const q = path.indexOf('?');
    url.pathname = q >= 0 ? path.slice(0, q) : path;
    if (q >= 0) url.search = path.slice(q);
  }
  const headers: Array<[string, string]> = [];
  const given = new Map<string, string>();
  for (const h of action.httpHeaders ?? []) {
    headers.push([h.name, h.value]);
    given.set(h.name.toLowerCase(), h.value);
  }
  if (!given.has('user-agent')) headers.push(['User-Agent', `kube-${userAgentPurpose}/${KUBE_VERSION_MAJOR_MINOR}`]);
  if (!given.has('accept')) headers.push(['Accept', '*/*']);
  else if (given.get('accept') === '') return { url, headers: headers.filter(([k]) => k.toLowerCase() !== 'accept') };
  return { url, headers };
}

/** Go's %q for a string (close enough: JSON escapes). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

function errnoMessage(err: NodeJS.ErrnoException, addr: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${addr}: read: connection reset by peer`;
    case 'ETIMEDOUT':
      return `dial tcp ${addr}: i/o timeout`;
    default:
      if (err.message === 'socket hang up') return 'EOF';
      return err.message;
  }
}

/** The real network: node:http(s) without keep-alive or compression, TLS unverified; node:net. */
export const netTransport: ProbeTransport = {
  httpGet(req) {
    return new Promise((resolve, reject) => {
      const u = req.url;
      const mod = u.protocol === 'https:' ? https : http;
      const headers: Record<string, string | string[]> = {};
      let hostHeader: string | undefined;
      for (const [k, v] of req.headers) {
        if (k.toLowerCase() === 'host') {
          hostHeader = v;
          continue;
        }
        const prev = headers[k];
        headers[k] = prev === undefined ? v : [...(Array.isArray(prev) ? prev : [prev]), v];
      }
      headers.Connection = 'close';
      if (hostHeader) headers.Host = hostHeader;
      const port = Number(u.port) || (u.protocol === 'https:' ? 443 : 80);
      const addr = joinHostPort(u.hostname.replace(/^\[|\]$/g, ''), port);
      const r = mod.request(
        {
          method: 'GET',
          host: u.hostname.replace(/^\[|\]$/g, ''),
          port,
          path: `${u.pathname}${u.search}`,
          headers,
          agent: false,
          rejectUnauthorized: false,
          signal: req.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (b: Buffer) => {
            if (size < MAX_OUTPUT) chunks.push(b);
            size += b.length;
            if (size >= MAX_OUTPUT) res.destroy();
          });
          const done = () =>
            resolve({
              statusCode: res.statusCode ?? 0,
              location: typeof res.headers.location === 'string' ? res.headers.location : undefined,
              body: Buffer.concat(chunks).subarray(0, MAX_OUTPUT).toString('utf8'),
            });
          res.on('end', done);
          res.on('close', done);
          res.on('error', done);
        },
      );
      r.on('error', (err: NodeJS.ErrnoException) => reject(new Error(errnoMessage(err, addr))));
      r.end();
    });
  },
  tcpConnect(host, port, signal) {
    return new Promise((resolve, reject) => {
      const addr = joinHostPort(host, port);
      const sock = net.connect({ host, port });
      const onAbort = () => {
        sock.destroy();
        reject(new Error(`dial tcp ${addr}: i/o timeout`));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      sock.once('connect', () => {
        signal.removeEventListener('abort', onAbort);
        sock.destroy();
        resolve();
      });
      sock.once('error', (err: NodeJS.ErrnoException) => {
        signal.removeEventListener('abort', onAbort);
        reject(new Error(errnoMessage(err, addr)));
      });
    });
  },
};

/** The transport a runtime offers for its pods, else the real network. */
export function transportFor(runtime: Runtime): ProbeTransport {
  const own = (runtime as { probeTransport?: ProbeTransport }).probeTransport;
  return own ?? netTransport;
}

/** Upstream http.Client with CheckRedirect = RedirectChecker(false): same-host redirects only, at most 10. */
export async function doHTTPGet(transport: ProbeTransport, url: URL, headers: Array<[string, string]>, signal: AbortSignal, context: ProbeContext): Promise<HTTPProbeResponse> {
  const first = url;
  let current = url;
  for (let hops = 0; ; hops++) {
    let res: HTTPProbeResponse;
    try {
      res = await transport.httpGet({ url: current, headers, signal, context });
    } catch (err) {
      throw new Error(`Get ${goQuote(current.href)}: ${signal.aborted ? 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)' : (err as Error).message}`);
    }
    const redirect = [301, 302, 303, 307, 308].includes(res.statusCode) && res.location;
    if (!redirect) return res;
    let next: URL;
    try {
      next = new URL(res.location!, current);
    } catch {
      return res;
    }
    if (next.hostname !== first.hostname) return res;
    if (hops + 1 >= 10) throw new Error(`Get ${goQuote(next.href)}: stopped after 10 redirects`);
    current = next;
  }
}

/** What running one probe action gave (upstream probe.Result, output, err). */
export interface ProbeRun {
  outcome: ProbeOutcome;
  output: string;
  /** Set when the probe could not run (not a failure of the container). */
  error?: string;
}

export interface RunProbeInput {
  probe: Probe;
  pod: Pod;
  container: Container;
  containerID: string;
  podIP: string;
  purpose: ProbeType;
  runtime: Runtime;
  transport: ProbeTransport;
  clock: Clock;
}

/** Upstream prober.runProbe: one attempt of the probe's action. */
export async function runProbe(input: RunProbeInput): Promise<ProbeRun> {
  const { probe, clock } = input;
  const timeoutMs = (probe.timeoutSeconds || 1) * 1000;
  const abort = new AbortController();
  const timer = clock.setTimeout(() => abort.abort(), timeoutMs);
  try {
    if (probe.exec) {
      const cmd = probe.exec.command ?? [];
      const start = clock.now();
      const timedOut = { outcome: 'Failure' as const, output: `command ${goQuote(cmd.join(' '))} timed out` };
      const deadline = new Promise<ProbeRun>((resolve) => abort.signal.addEventListener('abort', () => resolve(timedOut), { once: true }));
      const ran = input.runtime.execSync(input.containerID, cmd, probe.timeoutSeconds || 1).then(
        (r): ProbeRun => {
          const out = Buffer.concat([r.stdout, r.stderr]).subarray(0, MAX_OUTPUT).toString('utf8');
          return { outcome: r.exitCode === 0 ? 'Success' : 'Failure', output: out };
        },
        (err: Error): ProbeRun => (clock.now() - start >= timeoutMs ? timedOut : { outcome: 'Unknown', output: '', error: err.message }),
      );
      return await Promise.race([ran, deadline]);
    }
    if (probe.httpGet) {
      let req: { url: URL; headers: Array<[string, string]> };
      try {
        req = httpGetRequest(probe.httpGet, input.container, input.podIP, 'probe');
      } catch (err) {
        return { outcome: 'Unknown', output: '', error: (err as Error).message };
      }
      const ctx: ProbeContext = { pod: input.pod, containerName: input.container.name, purpose: input.purpose };
      const deadline = new Promise<never>((_, reject) =>
        abort.signal.addEventListener('abort', () => reject(new Error(`Get ${goQuote(req.url.href)}: context deadline exceeded (Client.Timeout exceeded while awaiting headers)`)), { once: true }),
      );
      let res: HTTPProbeResponse;
      try {
        res = await Promise.race([doHTTPGet(input.transport, req.url, req.headers, abort.signal, ctx), deadline]);
      } catch (err) {
        return { outcome: 'Failure', output: (err as Error).message };
      }
      if (res.statusCode >= 200 && res.statusCode < 400) {
        if (res.statusCode >= 300) return { outcome: 'Warning', output: `Probe terminated redirects, Response body: ${res.body}` };
        return { outcome: 'Success', output: res.body };
      }
      return { outcome: 'Failure', output: `HTTP probe failed with statuscode: ${res.statusCode}` };
    }
    if (probe.tcpSocket) {
      let port: number;
      try {
        port = resolveContainerPort(probe.tcpSocket.port as number | string, input.container);
      } catch (err) {
        return { outcome: 'Unknown', output: '', error: (err as Error).message };
      }
      const host = probe.tcpSocket.host || input.podIP;
      const ctx: ProbeContext = { pod: input.pod, containerName: input.container.name, purpose: input.purpose };
      const deadline = new Promise<never>((_, reject) =>
        abort.signal.addEventListener('abort', () => reject(new Error(`dial tcp ${joinHostPort(host, port)}: i/o timeout`)), { once: true }),
      );
      try {
        await Promise.race([input.transport.tcpConnect(host, port, abort.signal, ctx), deadline]);
        return { outcome: 'Success', output: '' };
      } catch (err) {
        return { outcome: 'Failure', output: (err as Error).message };
      }
    }
    if (probe.grpc) return { outcome: 'Unknown', output: '', error: 'gRPC probes are not supported by this kubelet' };
    return { outcome: 'Unknown', output: '', error: 'missing probe handler' };
  } finally {
    timer.cancel();
  }
}

export interface ProberManagerOptions {
  runtime: Runtime;
  clock: Clock;
  /** Drives the probe periods when given (one timer for the node); else the clock's timers. */
  wheel?: TimerWheel;
  recorder: EventRecorder;
  logger: Logger;
  /** Defaults to the runtime's own probeTransport, else the real network. */
  transport?: ProbeTransport;
  /** A cached result changed (upstream's results-manager updates channel): sync the pod. */
  onUpdate: (podUID: string) => void;
  /** Where prober_probe_total and prober_probe_duration_seconds go (upstream's metrics); none when unset. */
  registry?: Registry;
}

interface ProberMetrics {
  total: Counter<'probe_type' | 'result' | 'container' | 'pod' | 'namespace' | 'pod_uid'>;
  duration: Histogram<'probe_type' | 'container' | 'pod' | 'namespace'>;
}

function proberMetrics(registry: Registry | undefined): ProberMetrics | undefined {
  if (!registry) return undefined;
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  return {
    total: get(
      'prober_probe_total',
      () =>
        new Counter({
          name: 'prober_probe_total',
          help: 'Cumulative number of a liveness, readiness or startup probe for a container by result.',
          labelNames: ['probe_type', 'result', 'container', 'pod', 'namespace', 'pod_uid'],
          registers: [registry],
        }),
    ),
    duration: get(
      'prober_probe_duration_seconds',
      () =>
        new Histogram({
          name: 'prober_probe_duration_seconds',
          help: 'Duration in seconds for a probe response.',
          labelNames: ['probe_type', 'container', 'pod', 'namespace'],
          registers: [registry],
        }),
    ),
  };
}

/** What a worker reads of its pod: the pod (for spec, annotations, deletion) and the last generated status. */
export interface ProbedPod {
  pod(): Pod;
  status(): PodStatus | undefined;
}

function podRef(pod: Pod): object {
  const m = pod.metadata ?? {};
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion } };
}

/** Strips the runtime scheme: "containerd://abc" → "abc". */
function bareID(id: string | undefined): string {
  if (!id) return '';
  const i = id.indexOf('://');
  return i >= 0 ? id.slice(i + 3) : id;
}

/** One periodic probe of one container (upstream worker). */
class ProbeWorker {
  containerID = '';
  lastResult: ProbeResult | undefined;
  resultRun = 0;
  onHold = false;
  #timer: TimerHandle | undefined;
  #busy = false;
  #again = false;
  #stopped = false;
  readonly spec: ProbeSpec;

  constructor(
    readonly m: ProberManager,
    readonly uid: string,
    readonly access: ProbedPod,
    readonly container: Container,
    readonly type: ProbeType,
    readonly probe: Probe,
  ) {
    this.spec = probeSpec(probe);
  }

  /** Upstream initialValue: readiness Failure, liveness Success, startup Unknown. */
  get initialValue(): ProbeResult {
    return this.type === 'readiness' ? 'Failure' : this.type === 'liveness' ? 'Success' : 'Unknown';
  }

  start(schedule: (periodMs: number, fn: () => void) => TimerHandle): void {
    this.#timer = schedule(this.spec.periodSeconds * 1000, () => this.trigger(true));
    this.trigger();
  }

  /**
   * Runs a probe now. While one runs: with `ifIdle` (period ticks, dropped as Go's ticker
   * drops them, and the first-probe trigger) nothing, else once more after it.
   */
  trigger(ifIdle = false): void {
    if (this.#stopped) return;
    if (this.#busy) {
      if (!ifIdle) this.#again = true;
      return;
    }
    this.#busy = true;
    void (async () => {
      try {
        do {
          this.#again = false;
          let keepGoing = true;
          try {
            keepGoing = await this.m.doProbe(this);
          } catch (err) {
            this.m.logger.warn({ err: (err as Error).message, container: this.container.name, probe: this.type }, 'Probe worker failed');
          }
          if (!keepGoing) {
            this.m.removeWorker(this);
            return;
          }
        } while (this.#again && !this.#stopped);
      } finally {
        this.#busy = false;
      }
    })();
  }

  stop(): void {
    this.#stopped = true;
    this.#timer?.cancel();
  }

  get stopped(): boolean {
    return this.#stopped;
  }
}

/**
 * The node's prober (upstream prober.Manager): add a pod's probe workers with addPod, feed
 * it each generated status with setPodStatus, read results through podProbes (for the
 * status) and failedProbe (for restarts).
 */
export class ProberManager {
  readonly logger: Logger;
  readonly #o: ProberManagerOptions;
  readonly #transport: ProbeTransport;
  /** uid → worker key (`<container>/<type>`) → worker. */
  readonly #workers = new Map<string, Map<string, ProbeWorker>>();
  readonly #statuses = new Map<string, PodStatus>();
  readonly #results: Record<ProbeType, Map<string, ProbeResult>> = { liveness: new Map(), readiness: new Map(), startup: new Map() };
  readonly #metrics: ProberMetrics | undefined;

  constructor(opts: ProberManagerOptions) {
    this.#o = opts;
    this.#metrics = proberMetrics(opts.registry);
    this.logger = opts.logger;
    this.#transport = opts.transport ?? transportFor(opts.runtime);
  }

  /** Workers running (tests, metrics). */
  get workerCount(): number {
    let n = 0;
    for (const m of this.#workers.values()) n += m.size;
    return n;
  }

  /** Starts a worker for every probe of the pod's containers and sidecars (upstream AddPod). */
  addPod(uid: string, access: ProbedPod): void {
    const pod = access.pod();
    const containers = [...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === 'Always'), ...(pod.spec?.containers ?? [])];
    let byKey = this.#workers.get(uid);
    for (const c of containers) {
      for (const type of ['startup', 'readiness', 'liveness'] as const) {
        const probe = probeOf(c, type);
        if (!probe) continue;
        byKey ??= new Map();
        this.#workers.set(uid, byKey);
        const key = `${c.name}/${type}`;
        if (byKey.has(key)) continue;
        const w = new ProbeWorker(this, uid, access, c, type, probe);
        byKey.set(key, w);
        w.start((periodMs, fn) => (this.#o.wheel ? this.#o.wheel.every(periodMs, fn) : this.#o.clock.setInterval(fn, periodMs)));
      }
    }
  }

  /** The status the pod worker generated last (upstream's status manager cache). */
  setPodStatus(uid: string, status: PodStatus): void {
    if (this.#workers.has(uid)) this.#statuses.set(uid, status);
  }

  /** Stops liveness and startup probing while the pod terminates (upstream StopLivenessAndStartup). */
  stopLivenessAndStartup(uid: string): void {
    for (const w of this.#workers.get(uid)?.values() ?? []) if (w.type !== 'readiness') this.removeWorker(w);
  }

  /** Stops the pod's workers and forgets their results (upstream RemovePod). */
  removePod(uid: string): void {
    for (const w of [...(this.#workers.get(uid)?.values() ?? [])]) this.removeWorker(w);
    this.#workers.delete(uid);
    this.#statuses.delete(uid);
  }

  stop(): void {
    for (const uid of [...this.#workers.keys()]) this.removePod(uid);
  }

  /** The cached result of a container's probe. */
  result(type: ProbeType, containerID: string): ProbeResult | undefined {
    return this.#results[type].get(containerID);
  }

  /** Which probe, if any, says the running container must be restarted. */
  failedProbe(containerID: string): 'liveness' | 'startup' | undefined {
    if (this.#results.liveness.get(containerID) === 'Failure') return 'liveness';
    if (this.#results.startup.get(containerID) === 'Failure') return 'startup';
    return undefined;
  }

  /** Upstream UpdatePodStatus's per-container answers, for generatePodStatus. */
  podProbes(uid: string): ContainerProbes {
    return {
      started: (name, id) => {
        const r = this.#results.startup.get(id);
        if (r !== undefined) return r === 'Success';
        return this.#worker(uid, name, 'startup') === undefined;
      },
      ready: (name, id) => {
        if (this.#results.readiness.get(id) === 'Success') return true;
        const w = this.#worker(uid, name, 'readiness');
        if (!w) return true;
        // A readiness probe that has not run for this container: run it as soon as the
        // status this call is part of is cached (after the current synchronous work).
        if (this.#results.readiness.get(id) === undefined) queueMicrotask(() => w.trigger(true));
        return false;
      },
    };
  }

  #worker(uid: string, name: string, type: ProbeType): ProbeWorker | undefined {
    const w = this.#workers.get(uid)?.get(`${name}/${type}`);
    return w && !w.stopped ? w : undefined;
  }

  removeWorker(w: ProbeWorker): void {
    w.stop();
    const byKey = this.#workers.get(w.uid);
    if (byKey?.get(`${w.container.name}/${w.type}`) === w) byKey.delete(`${w.container.name}/${w.type}`);
    if (w.containerID) this.#results[w.type].delete(w.containerID);
  }

  #set(w: ProbeWorker, result: ProbeResult): void {
    const cache = this.#results[w.type];
    const prev = cache.get(w.containerID);
    cache.set(w.containerID, result);
    if (prev !== result && !w.stopped) this.#o.onUpdate(w.uid);
  }

  #event(pod: Pod, type: 'Normal' | 'Warning', reason: string, message: string): void {
    this.#o.recorder.event(podRef(pod), type, reason, message);
  }

  /** Upstream worker.doProbe: probes once and records the result; false ends the worker. */
  async doProbe(w: ProbeWorker): Promise<boolean> {
    const status = this.#statuses.get(w.uid);
    if (!status) return true;
    if (status.phase === 'Failed' || status.phase === 'Succeeded') return false;
    const c =
      (status.containerStatuses ?? []).find((s) => s.name === w.container.name && s.containerID) ??
      (status.initContainerStatuses ?? []).find((s) => s.name === w.container.name && s.containerID);
    if (!c) return true;
    const id = bareID(c.containerID);
    if (id !== w.containerID) {
      if (w.containerID) this.#results[w.type].delete(w.containerID);
      w.containerID = id;
      this.#set(w, w.initialValue);
      w.onHold = false;
    }
    if (w.onHold) return true;
    const pod = w.access.pod();
    if (!c.state?.running) {
      this.#set(w, 'Failure');
      return !c.state?.terminated || pod.spec?.restartPolicy !== 'Never';
    }
    if (pod.metadata?.deletionTimestamp && w.type !== 'readiness') {
      // Graceful shutdown: a quiet last result, and no more probing.
      this.#set(w, 'Success');
      return false;
    }
    const startedAt = c.state.running.startedAt ? parseRFC3339(c.state.running.startedAt) : 0;
    if (Math.trunc((this.#o.clock.now() - startedAt) / 1000) < w.spec.initialDelaySeconds) return true;
    if (c.started) {
      if (w.type === 'startup') return true;
    } else if (w.type !== 'startup') return true;

    const probeStart = this.#o.clock.now();
    const run = await this.#probeWithRetries(w, pod, status);
    if (w.stopped || w.containerID !== id) return !w.stopped;
    const name = typeName[w.type];
    if (this.#metrics) {
      const m = pod.metadata ?? {};
      const result = run.outcome === 'Success' || run.outcome === 'Warning' ? 'successful' : run.outcome === 'Failure' ? 'failed' : 'unknown';
      this.#metrics.total.inc({ probe_type: name, result, container: w.container.name, pod: m.name ?? '', namespace: m.namespace ?? '', pod_uid: w.uid });
      if (result !== 'failed') this.#metrics.duration.observe({ probe_type: name, container: w.container.name, pod: m.name ?? '', namespace: m.namespace ?? '' }, (this.#o.clock.now() - probeStart) / 1000);
    }
    let result: ProbeResult;
    if (run.error !== undefined) {
      this.#event(pod, 'Warning', 'Unhealthy', `${name} probe errored and resulted in unknown state: ${run.error}`);
      return true;
    }
    switch (run.outcome) {
      case 'Success':
        result = 'Success';
        break;
      case 'Warning':
        this.#event(pod, 'Warning', 'ProbeWarning', `${name} probe warning: ${run.output}`);
        result = 'Success';
        break;
      case 'Failure':
        this.#event(pod, 'Warning', 'Unhealthy', `${name} probe failed: ${run.output}`);
        result = 'Failure';
        break;
      default:
        result = 'Failure';
    }
    if (w.lastResult === result) w.resultRun++;
    else {
      w.lastResult = result;
      w.resultRun = 1;
    }
    if ((result === 'Failure' && w.resultRun < w.spec.failureThreshold) || (result === 'Success' && w.resultRun < w.spec.successThreshold)) return true;
    this.#set(w, result);
    if (w.type !== 'readiness' && result === 'Failure') {
      // The container will be restarted: wait for the new one.
      w.onHold = true;
      w.resultRun = 0;
    }
    return true;
  }

  async #probeWithRetries(w: ProbeWorker, pod: Pod, status: PodStatus): Promise<ProbeRun> {
    let run: ProbeRun = { outcome: 'Unknown', output: '' };
    for (let i = 0; i < MAX_PROBE_RETRIES; i++) {
      run = await runProbe({
        probe: w.probe,
        pod,
        container: w.container,
        containerID: w.containerID,
        podIP: status.podIP ?? '',
        purpose: w.type,
        runtime: this.#o.runtime,
        transport: this.#transport,
        clock: this.#o.clock,
      });
      if (run.error === undefined) return run;
    }
    return run;
  }
}
