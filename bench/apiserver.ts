/**
 * `npm run bench -- apiserver`: the API server benchmark.
 *
 * `flotilla apiserver` runs as its own process (client and server never share an event
 * loop), once on the embedded store and once on a real etcd 3.4 (`--etcd-servers`). The
 * client speaks HTTPS + HTTP/2 as kubectl/client-go do: node:http2 with the admin client
 * certificate of DIR/admin.conf, one HTTP/2 session per simulated client, JSON bodies, and
 * Go's HTTP/2 flow-control windows (4 MiB per stream, 1 GiB per connection). Measured per
 * target, in one run:
 *  - pod create (POST /api/v1/namespaces/NS/pods, one nginx container with labels) with
 *    1 and 64 concurrent clients: rate, p50/p99, and the CPU each process used meanwhile;
 *  - get one pod, with 1 and 64 clients;
 *  - list the pods of a namespace holding 1k and of one holding 10k pods (latency until the
 *    last byte of the response), and a cluster-wide list of every pod;
 *  - watch delivery: 100 watchers (each its own session) on a namespace's pods from a
 *    resourceVersion; pods created one at a time, each awaited until every watcher has it;
 *    latency = create issued → ADDED event received, per watcher per pod.
 * Anchors in the same run: upstream's API call latency SLOs (pass/fail), and the raw put
 * rate of the embedded store in this process (1 KiB values, 64 in flight, as bench/store.ts),
 * giving the API overhead factor = raw puts/s ÷ pod creates/s.
 *
 * Flags: --quick (smaller counts, for a smoke run).
 */
import { connect, constants as h2, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { MvccStore } from '../src/storage/mvcc/index.js';
import { silentLogger } from '../src/util/log.js';
import { startEtcd, type EtcdCluster } from '../test/util/etcd.js';
import { spawnFlotilla, type Spawned } from '../test/util/flotilla.js';
import { freePort } from '../test/util/net.js';
import { Latencies, fmt, nowMs, printTable, progress, rate, runConcurrent, type Result } from './util.js';

interface Counts {
  rawPuts: number;
  warmUp: number;
  creates1: number;
  creates64: number;
  gets1: number;
  gets64: number;
  /** Pods in each list namespace, and how many times each list is measured. */
  lists: Array<{ pods: number; times: number }>;
  clusterLists: number;
  watchers: number;
  watchCreates: number;
}

const full: Counts = {
  rawPuts: 30000,
  warmUp: 2000,
  creates1: 2000,
  creates64: 20000,
  gets1: 3000,
  gets64: 20000,
  lists: [{ pods: 1000, times: 100 }, { pods: 10000, times: 20 }],
  clusterLists: 5,
  watchers: 100,
  watchCreates: 100,
};
const quick: Counts = {
  rawPuts: 3000,
  warmUp: 300,
  creates1: 200,
  creates64: 2000,
  gets1: 300,
  gets64: 2000,
  lists: [{ pods: 100, times: 10 }, { pods: 1000, times: 5 }],
  clusterLists: 2,
  watchers: 100,
  watchCreates: 10,
};

/** Clients per concurrent workload (the figure). */
const CLIENTS = 64;
/** Go's net/http2 defaults, which client-go uses: per-stream and per-connection receive windows. */
const STREAM_WINDOW = 4 << 20;
const CONN_WINDOW = 1 << 30;
/** No single request may take longer than this; a hung server fails the run instead of stalling it. */
const REQUEST_TIMEOUT_MS = 120_000;

// ---- the client ------------------------------------------------------------------------

interface Credentials {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

interface KubeconfigDoc {
  clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>;
  users: Array<{ user: { 'client-certificate-data': string; 'client-key-data': string } }>;
}

function readKubeconfig(path: string): Credentials {
  const doc = YAML.parse(readFileSync(path, 'utf8')) as KubeconfigDoc;
  const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  const cluster = doc.clusters[0]!.cluster;
  const user = doc.users[0]!.user;
  return { server: cluster.server, ca: b64(cluster['certificate-authority-data']), cert: b64(user['client-certificate-data']), key: b64(user['client-key-data']) };
}

async function openSession(c: Credentials): Promise<ClientHttp2Session> {
  const session = connect(c.server, { ca: c.ca, cert: c.cert, key: c.key, settings: { initialWindowSize: STREAM_WINDOW } });
  await new Promise<void>((resolve, reject) => {
    session.once('connect', () => resolve());
    session.once('error', reject);
  });
  session.setLocalWindowSize(CONN_WINDOW);
  // Errors after connecting surface on the streams; don't let one crash the process.
  session.on('error', () => {});
  return session;
}

function closeSession(s: ClientHttp2Session): Promise<void> {
  if (s.closed || s.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { s.destroy(); resolve(); }, 2000);
    s.close(() => { clearTimeout(timer); resolve(); });
  });
}

interface Reply {
  status: number;
  body: Buffer;
}

/** One request; rejects on a transport error, a timeout, or a status outside 2xx (with the request and body). */
function request(s: ClientHttp2Session, method: string, path: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: OutgoingHttpHeaders = { [h2.HTTP2_HEADER_METHOD]: method, [h2.HTTP2_HEADER_PATH]: path, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = s.request(headers, { endStream: body === undefined });
    const chunks: Buffer[] = [];
    let status = 0;
    req.setTimeout(REQUEST_TIMEOUT_MS, () => {
      req.close(h2.NGHTTP2_CANCEL);
      reject(new Error(`${method} ${path}: no complete response after ${REQUEST_TIMEOUT_MS} ms`));
    });
    req.on('response', (h) => { status = Number(h[h2.HTTP2_HEADER_STATUS]); });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () => {
      const reply = { status, body: Buffer.concat(chunks) };
      if (status >= 200 && status < 300) resolve(reply);
      else reject(new Error(`${method} ${path} → ${status}: ${reply.body.toString('utf8').slice(0, 1000)}`));
    });
    req.on('error', (err) => reject(new Error(`${method} ${path}: ${err.message}`)));
    if (body !== undefined) req.end(body);
  });
}

/** A realistic small pod: one nginx container with a port, resources and labels. */
function podJSON(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench', tier: 'web', 'app.kubernetes.io/name': 'nginx' } },
    spec: {
      containers: [{
        name: 'nginx',
        image: 'nginx:1.25',
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        resources: { requests: { cpu: '100m', memory: '64Mi' } },
      }],
    },
  });
}

const podsPath = (ns: string) => `/api/v1/namespaces/${ns}/pods`;

async function createNamespace(s: ClientHttp2Session, name: string): Promise<void> {
  await request(s, 'POST', '/api/v1/namespaces', JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
}

/** Creates `total` pods named PREFIX-i in ns, as many at once as there are sessions (clients); measured. */
function createPods(label: string, sessions: ClientHttp2Session[], ns: string, prefix: string, total: number): Promise<Result> {
  return perClient(label, sessions, total, (s, i) => request(s, 'POST', podsPath(ns), podJSON(`${prefix}-${i}`)));
}

/** Runs op total times, at most sessions.length in flight, each in-flight slot on its own session. */
async function perClient(label: string, sessions: ClientHttp2Session[], total: number, op: (s: ClientHttp2Session, i: number) => Promise<unknown>): Promise<Result> {
  const lat = new Latencies();
  let next = 0;
  const start = nowMs();
  await Promise.all(sessions.slice(0, Math.min(sessions.length, total)).map(async (s) => {
    while (next < total) {
      const i = next++;
      const t0 = nowMs();
      await op(s, i);
      lat.record(nowMs() - t0);
    }
  }));
  return { name: label, ops: total, seconds: (nowMs() - start) / 1000, lat };
}

// ---- watch delivery ------------------------------------------------------------------

interface WatchEventLine {
  type: string;
  object?: { metadata?: { name?: string } };
}

/**
 * `watchers` watches (one session each) on ns's pods from the namespace's current
 * resourceVersion; `creates` pods created one at a time, each awaited until every watcher
 * has its ADDED event. Latency per watcher per pod = create issued → event line parsed.
 */
async function watchDelivery(creds: Credentials, writer: ClientHttp2Session, ns: string, watchers: number, creates: number): Promise<Result> {
  const lat = new Latencies();
  const sentAt = new Map<string, number>();
  let pending = 0;
  let done: () => void = () => {};
  let failed: (err: Error) => void = () => {};
  const failure = new Promise<never>((_, reject) => { failed = reject; });
  failure.catch(() => {});
  const list = JSON.parse((await request(writer, 'GET', podsPath(ns))).body.toString('utf8')) as { metadata: { resourceVersion: string } };
  const rv = list.metadata.resourceVersion;
  const sessions: ClientHttp2Session[] = [];
  let finished = false;
  try {
    for (let w = 0; w < watchers; w++) sessions.push(await openSession(creds));
    await Promise.all(sessions.map((s) => new Promise<void>((resolve, reject) => {
      const path = `${podsPath(ns)}?watch=1&resourceVersion=${encodeURIComponent(rv)}`;
      const req = s.request({ [h2.HTTP2_HEADER_METHOD]: 'GET', [h2.HTTP2_HEADER_PATH]: path, accept: 'application/json' });
      let buffered = '';
      req.setEncoding('utf8');
      req.on('response', (h) => {
        const status = Number(h[h2.HTTP2_HEADER_STATUS]);
        if (status !== 200) reject(new Error(`GET ${path} → ${status}`));
        else resolve();
      });
      req.on('data', (chunk: string) => {
        const at = nowMs();
        buffered += chunk;
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          if (!line.trim()) continue;
          const ev = JSON.parse(line) as WatchEventLine;
          if (ev.type === 'ERROR') {
            failed(new Error(`watch ${path}: ERROR event ${line.slice(0, 1000)}`));
            continue;
          }
          const sent = ev.type === 'ADDED' ? sentAt.get(ev.object?.metadata?.name ?? '') : undefined;
          if (sent === undefined) continue;
          lat.record(at - sent);
          if (--pending === 0) done();
        }
      });
      req.on('end', () => { if (!finished) failed(new Error(`watch ${path}: server ended the watch early`)); });
      req.on('error', (err) => { reject(err); if (!finished) failed(new Error(`watch ${path}: ${err.message}`)); });
    })));
    const start = nowMs();
    for (let i = 0; i < creates; i++) {
      const name = `w-${i}`;
      const all = new Promise<void>((resolve) => { done = resolve; });
      pending = watchers;
      sentAt.set(name, nowMs());
      await Promise.race([request(writer, 'POST', podsPath(ns), podJSON(name)), failure]);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`watch: pod ${name} not delivered to ${pending} of ${watchers} watchers in 30 s`)), 30_000);
      });
      try {
        await Promise.race([all, failure, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }
    const seconds = (nowMs() - start) / 1000;
    return { name: `watch, ${watchers} watchers (events)`, ops: creates * watchers, seconds, lat };
  } finally {
    finished = true;
    await Promise.all(sessions.map(closeSession));
  }
}

// ---- CPU accounting --------------------------------------------------------------------

/** Seconds of CPU (user + system) a process has used, from /proc; NaN when unreadable. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return ticks / 100; // USER_HZ is 100 on Linux
  } catch {
    return NaN;
  }
}

interface Cpu {
  client: number;
  apiserver: number;
  etcd: number;
}

/** Runs fn and returns its result with the CPU share (cores busy) each process used meanwhile. */
async function withCpu<T extends Result>(pids: { apiserver?: number; etcd?: number }, fn: () => Promise<T>): Promise<T & { cpu: Cpu }> {
  const c0 = process.cpuUsage();
  const a0 = await cpuSeconds(pids.apiserver);
  const e0 = pids.etcd === undefined ? NaN : await cpuSeconds(pids.etcd);
  const r = await fn();
  const c = process.cpuUsage(c0);
  const a1 = await cpuSeconds(pids.apiserver);
  const e1 = pids.etcd === undefined ? NaN : await cpuSeconds(pids.etcd);
  return { ...r, cpu: { client: (c.user + c.system) / 1e6 / r.seconds, apiserver: (a1 - a0) / r.seconds, etcd: (e1 - e0) / r.seconds } };
}

// ---- one target --------------------------------------------------------------------------

interface Row {
  result: Result;
  cpu?: Cpu;
  note?: string;
}

interface TargetResults {
  label: string;
  creates1: Row;
  creates64: Row;
  gets1: Row;
  gets64: Row;
  lists: Row[];
  clusterList: Row;
  watch: Row;
  load: { before: number[]; after: number[] };
}

async function startApiServer(dataDir: string, etcdServers: string | undefined): Promise<{ proc: Spawned; creds: Credentials }> {
  const port = await freePort();
  const proc = spawnFlotilla(
    ['apiserver', '--data-dir', dataDir, '--secure-port', String(port), ...(etcdServers ? ['--etcd-servers', etcdServers] : [])],
    { FLOTILLA_LOG_LEVEL: 'warn' },
  );
  // If this process dies without the finally blocks running, don't leave the server behind.
  const killOnExit = () => { if (proc.proc.exitCode === null && proc.proc.signalCode === null) proc.proc.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  void proc.exited.then(() => process.removeListener('exit', killOnExit));
  const deadline = Date.now() + 60_000;
  while (!proc.stdout().includes('kubeconfig: ')) {
    if (proc.proc.exitCode !== null || proc.proc.signalCode !== null) {
      throw new Error(`flotilla apiserver exited during startup (${proc.proc.exitCode ?? proc.proc.signalCode}):\n${proc.stderr().slice(-4000)}`);
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`flotilla apiserver not serving after 60 s:\n${proc.stderr().slice(-4000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { proc, creds: readKubeconfig(join(dataDir, 'admin.conf')) };
}

async function benchTarget(label: string, creds: Credentials, pids: { apiserver?: number; etcd?: number }, c: Counts): Promise<TargetResults> {
  const load = { before: loadavg(), after: [] as number[] };
  const sessions: ClientHttp2Session[] = [];
  try {
    for (let i = 0; i < CLIENTS; i++) sessions.push(await openSession(creds));
    const one = [sessions[0]!];
    const s0 = sessions[0]!;
    for (const ns of ['bench-warm', 'bench-create', 'bench-watch', ...c.lists.map((l) => `bench-list-${l.pods}`)]) await createNamespace(s0, ns);

    progress(`${label}: warm-up (${c.warmUp} creates and gets)`);
    await createPods('warm-up', sessions, 'bench-warm', 'warm', c.warmUp);
    await perClient('warm-up', sessions, c.warmUp, (s, i) => request(s, 'GET', `${podsPath('bench-warm')}/warm-${i}`));
    await request(s0, 'GET', podsPath('bench-warm'));

    progress(`${label}: ${c.creates1} pod creates, 1 client`);
    const creates1 = await withCpu(pids, () => createPods('create pod, 1 client', one, 'bench-create', 'one', c.creates1));
    progress(`${label}: ${c.creates64} pod creates, ${CLIENTS} clients`);
    const creates64 = await withCpu(pids, () => createPods(`create pod, ${CLIENTS} clients`, sessions, 'bench-create', 'many', c.creates64));

    progress(`${label}: ${c.gets1} gets, 1 client`);
    const gets1 = await withCpu(pids, () => perClient('get pod, 1 client', one, c.gets1, (s, i) => request(s, 'GET', `${podsPath('bench-create')}/many-${i % c.creates64}`)));
    progress(`${label}: ${c.gets64} gets, ${CLIENTS} clients`);
    const gets64 = await withCpu(pids, () => perClient(`get pod, ${CLIENTS} clients`, sessions, c.gets64, (s, i) => request(s, 'GET', `${podsPath('bench-create')}/many-${i % c.creates64}`)));

    const lists: Row[] = [];
    for (const l of c.lists) {
      const ns = `bench-list-${l.pods}`;
      progress(`${label}: filling ${ns} with ${l.pods} pods`);
      await createPods('fill', sessions, ns, 'p', l.pods);
      // Check once that the list is complete, outside the measured requests.
      const first = await request(s0, 'GET', podsPath(ns));
      const items = (JSON.parse(first.body.toString('utf8')) as { items: unknown[] }).items.length;
      if (items !== l.pods) throw new Error(`GET ${podsPath(ns)} returned ${items} pods, want ${l.pods}`);
      progress(`${label}: list ${l.pods} pods x${l.times} (${fmt(first.body.length / 1024 / 1024, 1)} MiB each)`);
      const r = await withCpu(pids, () => perClient(`list ${fmt(l.pods)} pods (namespace)`, one, l.times, (s) => request(s, 'GET', podsPath(ns))));
      lists.push({ result: r, cpu: r.cpu, note: `${fmt(first.body.length / 1024 / 1024, 1)} MiB` });
    }

    progress(`${label}: watch delivery to ${c.watchers} watchers, ${c.watchCreates} creates`);
    const watch = await watchDelivery(creds, s0, 'bench-watch', c.watchers, c.watchCreates);

    // Every pod created above, in one cluster-scoped list (the 30 s SLO's scope).
    const all = await request(s0, 'GET', '/api/v1/pods');
    const total = (JSON.parse(all.body.toString('utf8')) as { items: unknown[] }).items.length;
    progress(`${label}: cluster-wide list of ${total} pods x${c.clusterLists}`);
    const clusterList = await withCpu(pids, () => perClient(`list ${fmt(total)} pods (all namespaces)`, one, c.clusterLists, (s) => request(s, 'GET', '/api/v1/pods')));

    load.after = loadavg();
    return {
      label,
      creates1: { result: creates1, cpu: creates1.cpu },
      creates64: { result: creates64, cpu: creates64.cpu },
      gets1: { result: gets1, cpu: gets1.cpu },
      gets64: { result: gets64, cpu: gets64.cpu },
      lists,
      clusterList: { result: clusterList, cpu: clusterList.cpu, note: `${fmt(all.body.length / 1024 / 1024, 1)} MiB` },
      watch: { result: watch },
      load,
    };
  } finally {
    await Promise.all(sessions.map(closeSession));
  }
}

// ---- the anchor: raw store puts in this process --------------------------------------

async function rawStorePuts(dir: string, total: number): Promise<Result> {
  const value = Buffer.alloc(1024, 'v');
  const key = (p: string, i: number) => Buffer.from(`/bench/${p}/${String(i).padStart(8, '0')}`);
  const store = await MvccStore.open({ dataDir: dir, logger: silentLogger() });
  try {
    await runConcurrent('warm-up', 5000, 64, (i) => store.put({ key: key('warm', i), value }));
    return await runConcurrent('raw store put, 64 in flight', total, 64, (i) => store.put({ key: key('par', i), value }));
  } finally {
    await store.close();
  }
}

// ---- the report ------------------------------------------------------------------------

const SLO_MUTATING_MS = 1000;
const SLO_GET_MS = 1000;
const SLO_LIST_NAMESPACE_MS = 5000;
const SLO_LIST_CLUSTER_MS = 30000;

/**
 * Cores each process kept busy, and the API server's CPU time per request: on a shared
 * machine the latter says more than the rate about what a request costs.
 */
function cpuText(cpu: Cpu | undefined, opsPerSecond: number): string {
  if (!cpu) return '';
  const parts = [`client ${fmt(cpu.client, 2)}`, `apiserver ${fmt(cpu.apiserver, 2)}`];
  if (Number.isFinite(cpu.etcd)) parts.push(`etcd ${fmt(cpu.etcd, 2)}`);
  return `${parts.join(' / ')}; apiserver ${fmt((cpu.apiserver / opsPerSecond) * 1e3, 2)} ms CPU/req`;
}

export async function run(flags: string[]): Promise<void> {
  const c = flags.includes('--quick') ? quick : full;
  const tmp = mkdtempSync(join(tmpdir(), 'flotilla-bench-apiserver-'));
  const loadBefore = loadavg();
  const targets: TargetResults[] = [];
  let raw: Result;
  try {
    progress(`anchor: raw embedded store, ${c.rawPuts} puts of 1 KiB, 64 in flight (in-process)`);
    raw = await rawStorePuts(join(tmp, 'raw'), c.rawPuts);

    {
      progress('(a) flotilla apiserver on the embedded store: starting');
      const { proc, creds } = await startApiServer(join(tmp, 'a'), undefined);
      try {
        targets.push(await benchTarget('(a) embedded store', creds, { apiserver: proc.proc.pid }, c));
      } finally {
        await proc.kill('SIGTERM');
      }
    }
    {
      progress('(b) flotilla apiserver on a real etcd 3.4: starting etcd');
      let etcd: EtcdCluster | undefined;
      try {
        etcd = await startEtcd({ dataDir: join(tmp, 'etcd') });
        const { proc, creds } = await startApiServer(join(tmp, 'b'), etcd.clientURL);
        try {
          targets.push(await benchTarget('(b) real etcd 3.4', creds, { apiserver: proc.proc.pid, etcd: etcd.members[0]!.proc.pid }, c));
        } finally {
          await proc.kill('SIGTERM');
        }
      } finally {
        await etcd?.stop();
      }
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const loadAfter = loadavg();

  console.log(`\nAPI server benchmark: flotilla apiserver as its own process; HTTPS + HTTP/2, one session per client, JSON${flags.includes('--quick') ? ' (--quick counts)' : ''}`);
  console.log(`Load average (1/5/15 min): before ${loadBefore.map((l) => fmt(l, 2)).join(' ')}, after ${loadAfter.map((l) => fmt(l, 2)).join(' ')}`);
  for (const t of targets) console.log(`  ${t.label}: load before ${t.load.before.map((l) => fmt(l, 2)).join(' ')}, after ${t.load.after.map((l) => fmt(l, 2)).join(' ')}`);
  console.log('');
  const rows: string[][] = [];
  const add = (target: string, r: Row) =>
    rows.push([r.result.name, target, fmt(r.result.ops), fmt(rate(r.result)), fmt(r.result.lat.percentile(50), 2), fmt(r.result.lat.percentile(99), 2), [r.note, cpuText(r.cpu, rate(r.result))].filter(Boolean).join('; ')]);
  const workloads: Array<(t: TargetResults) => Row[]> = [
    (t) => [t.creates1], (t) => [t.creates64], (t) => [t.gets1], (t) => [t.gets64],
    (t) => t.lists, (t) => [t.clusterList], (t) => [t.watch],
  ];
  for (const w of workloads) {
    const n = w(targets[0]!).length;
    for (let i = 0; i < n; i++) for (const t of targets) add(t.label, w(t)[i]!);
  }
  rows.push([raw.name, 'anchor, in-process', fmt(raw.ops), fmt(rate(raw)), fmt(raw.lat.percentile(50), 2), fmt(raw.lat.percentile(99), 2), '']);
  // printTable right-aligns every column but the first; pad the notes so they read left-aligned.
  const notesHeader = 'notes (CPU: cores busy during the workload)';
  const notesWidth = Math.max(notesHeader.length, ...rows.map((r) => r[6]!.length));
  for (const r of rows) r[6] = r[6]!.padEnd(notesWidth);
  printTable(['workload', 'target', 'ops', 'ops/s', 'p50 ms', 'p99 ms', notesHeader.padEnd(notesWidth)], rows);

  console.log('\nAPI overhead factor = raw store puts/s ÷ pod creates/s at 64 clients:');
  for (const t of targets) {
    console.log(`  ${t.label}: ${fmt(rate(raw))} ÷ ${fmt(rate(t.creates64.result))} = ${fmt(rate(raw) / rate(t.creates64.result), 1)}x`);
  }

  console.log('\nUpstream SLOs (p99 per call, https://github.com/kubernetes/community/blob/master/sig-scalability/slos/api_call_latency.md):');
  const slo = (what: string, p99: number, limit: number) =>
    console.log(`  ${what.padEnd(58)} p99 ${fmt(p99, 1).padStart(9)} ms  (<= ${fmt(limit)} ms)  ${p99 <= limit ? 'pass' : 'FAIL'}`);
  for (const t of targets) {
    slo(`${t.label}: mutating, create pod, 1 client`, t.creates1.result.lat.percentile(99), SLO_MUTATING_MS);
    slo(`${t.label}: mutating, create pod, ${CLIENTS} clients`, t.creates64.result.lat.percentile(99), SLO_MUTATING_MS);
    slo(`${t.label}: read one object, get pod, ${CLIENTS} clients`, t.gets64.result.lat.percentile(99), SLO_GET_MS);
    for (const l of t.lists) slo(`${t.label}: ${l.result.name}`, l.result.lat.percentile(99), SLO_LIST_NAMESPACE_MS);
    slo(`${t.label}: ${t.clusterList.result.name}`, t.clusterList.result.lat.percentile(99), SLO_LIST_CLUSTER_MS);
  }

  const a = targets[0]!.creates64.result;
  const met = rate(a) >= 5000 && a.lat.percentile(99) <= 50;
  console.log('\nGoal (issue): >= 5,000 pod creates/s at 64 clients with p99 <= 50 ms on the embedded store');
  console.log(`  ${fmt(rate(a))} creates/s, p99 ${fmt(a.lat.percentile(99), 1)} ms: ${met ? 'met' : 'NOT met'}`);
}
