/**
 * The real etcdctl 3.4 against `flotilla etcd` (a child process on loopback ports, the
 * embedded store on a temp data dir). Where a real etcd 3.4 binary is installed, the same
 * command sequence also runs against a fresh real etcd and the outputs must be equal after
 * masking what legitimately differs (ports, lease IDs, durations, database sizes, raft
 * indexes). All waits are bounded; nothing depends on timing thresholds.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnFlotilla, runFlotilla, type Spawned } from '../util/flotilla.js';
import { freePort, waitForPort } from '../util/net.js';
import { tempDir } from '../util/tmp.js';

const ETCDCTL = '/usr/bin/etcdctl';
const ETCD = '/usr/bin/etcd';
const haveEtcdctl = existsSync(ETCDCTL);
const haveEtcd = existsSync(ETCD);

interface CtlResult { status: number | null; stdout: string; stderr: string }

function etcdctl(endpoint: string, args: string[], input?: string): CtlResult {
  const r = spawnSync(ETCDCTL, [`--endpoints=${endpoint}`, ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 30_000,
  });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** What etcdctl prints on stderr for people, without its zap log lines (timestamps, client IDs). */
function errorLines(stderr: string): string {
  return stderr.split('\n').filter((l) => l !== '' && !l.startsWith('{"level"')).join('\n');
}

/** Cleanups registered while a suite's `before` runs, run by its `after`. */
function suiteScope(): { after(fn: () => unknown): void } {
  const fns: Array<() => unknown> = [];
  after(async () => {
    for (const fn of fns.reverse()) await fn();
  });
  return { after: (fn) => { fns.push(fn); } };
}

async function until<T>(what: string, fn: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface Member {
  endpoint: string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  stderr(): string;
}

async function startFlotilla(t: { after(fn: () => unknown): void }, dataDir: string): Promise<Member & { metricsPort: number; proc: Spawned }> {
  const port = await freePort();
  const metricsPort = await freePort();
  const proc = spawnFlotilla([
    'etcd', '--data-dir', dataDir,
    '--listen-client-urls', `http://127.0.0.1:${port}`,
    '--listen-metrics-urls', `http://127.0.0.1:${metricsPort}`,
  ]);
  t.after(() => proc.kill());
  await until('flotilla etcd to be ready', () => {
    if (proc.proc.exitCode !== null) throw new Error(`flotilla etcd exited early:\n${proc.stderr()}`);
    return proc.stderr().includes('ready to serve client requests') ? true : undefined;
  }, 60_000);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    metricsPort,
    proc,
    stderr: () => proc.stderr(),
    async stop(signal = 'SIGTERM') {
      await proc.kill(signal);
      return proc.exited;
    },
  };
}

async function startRealEtcd(t: { after(fn: () => unknown): void }): Promise<Member> {
  const dir = tempDir(t, 'flotilla-real-etcd-');
  const [port, peerPort, metricsPort] = [await freePort(), await freePort(), await freePort()];
  const endpoint = `http://127.0.0.1:${port}`;
  let err = '';
  const proc: ChildProcess = spawn(ETCD, [
    '--data-dir', join(dir, 'data'),
    '--listen-client-urls', endpoint, '--advertise-client-urls', endpoint,
    '--listen-peer-urls', `http://127.0.0.1:${peerPort}`,
    '--listen-metrics-urls', `http://127.0.0.1:${metricsPort}`,
  ], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (c) => r(c)));
  const stop = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    return exited;
  };
  t.after(() => stop());
  await waitForPort(port, '127.0.0.1', 30_000);
  await until('real etcd to be ready', () => (etcdctl(endpoint, ['endpoint', 'health']).status === 0 ? true : undefined), 30_000);
  return { endpoint, stop, stderr: () => err };
}

/** Masks what may differ between two members (or two runs) but is not behaviour. */
function normalize(s: string, endpoint: string): string {
  const leaseIds = new Map<string, string>();
  const leaseId = (id: string) => {
    if (!leaseIds.has(id)) leaseIds.set(id, `LEASE${leaseIds.size}`);
    return leaseIds.get(id)!;
  };
  return s
    .split(endpoint).join('ENDPOINT')
    .replace(/took = [^\n]*/g, 'took = T')
    .replace(/"took":"[^"]*"/g, '"took":"T"')
    .replace(/lease ([0-9a-f]{16})\b/g, (_m, id: string) => `lease ${leaseId(id)}`)
    .replace(/^([0-9a-f]{16})$/gm, (_m, id: string) => leaseId(id))
    .replace(/"id":\d+/g, '"id":ID')
    .replace(/remaining\(\d+s\)/g, 'remaining(Ns)')
    // etcd lists a lease's keys in Go map order, which is random.
    .replace(/attached keys\(\[([^\]]*)\]\)/g, (_m, keys: string) => `attached keys([${keys.split(' ').sort().join(' ')}])`)
    .replace(/"keys":\[([^\]]*)\]/g, (_m, keys: string) => `"keys":[${keys.split(',').sort().join(',')}]`)
    .replace(/"ttl":\d+/g, '"ttl":N')
    .replace(/"(dbSize|dbSizeInUse|raftIndex|raftAppliedIndex)":\d+/g, '"$1":N')
    // endpoint status, simple format: ENDPOINT, ID, VERSION, DB SIZE, IS LEADER, IS LEARNER, TERM, INDEX, APPLIED, ERRORS
    .replace(/^(ENDPOINT, [0-9a-f]+, [^,]+), [^,]+, (true|false), (true|false), (\d+), \d+, \d+, /gm, '$1, SIZE, $2, $3, $4, N, N, ');
}

interface Step { args: string[]; input?: string }

/**
 * The scripted session compared between flotilla and real etcd: both start empty, so
 * even revisions must agree.
 */
const script: Step[] = [
  { args: ['put', 'foo', 'bar'] },
  { args: ['put', 'foo2', 'baz'] },
  { args: ['put', 'foo3', 'qux'] },
  { args: ['get', 'foo'] },
  { args: ['get', 'foo', '-w', 'json'] },
  { args: ['get', '--prefix', 'foo', '--keys-only'] },
  { args: ['get', '--prefix', 'foo', '--limit', '1', '-w', 'json'] },
  { args: ['get', 'foo', '--print-value-only'] },
  { args: ['get', '--prefix', 'foo', '--rev', '2'] },
  { args: ['get', 'nothing', '-w', 'json'] },
  { args: ['get', '', '--from-key', '--keys-only'] },
  { args: ['txn'], input: 'mod("foo") > "0"\n\nput foo yes\nget foo2\n\nput foo no\n\n' },
  { args: ['txn', '-w', 'json'], input: 'mod("foo") > "0"\n\nput foo yes\nget foo2\n\nput foo no\n\n' },
  { args: ['txn'], input: 'value("foo") = "zzz"\n\nput foo yes\n\nput foo no\ndel foo3\n\n' },
  { args: ['put', 'foo', 'again', '--prev-kv'] },
  { args: ['put', 'foo', '--ignore-value'] },
  { args: ['put', 'foo', 'x', '--ignore-value'] },
  { args: ['put', 'nokey', '--ignore-value'] },
  { args: ['put', 'foo', 'x', '--lease', '1234'] },
  { args: ['del', 'nothing'] },
  { args: ['del', '--prefix', 'foo', '--prev-kv'] },
  { args: ['get', '--prefix', 'foo', '-w', 'json'] },
  { args: ['put', 'k1', 'v1'] },
  { args: ['compaction', '4'] },
  { args: ['get', 'foo', '--rev', '2'] },
  { args: ['compaction', '2'] },
  { args: ['compaction', '1000'] },
  { args: ['get', 'k1', '--rev', '1000'] },
  { args: ['get', 'k1', '--rev', '4'] },
  { args: ['lease', 'revoke', '1234'] },
  { args: ['lease', 'timetolive', '1234'] },
  { args: ['lease', 'keep-alive', '--once', '1234'] },
  { args: ['lease', 'grant', '10000000000'] },
  { args: ['member', 'list'] },
  { args: ['member', 'list', '-w', 'json'] },
  { args: ['endpoint', 'status'] },
  { args: ['endpoint', 'status', '-w', 'json'] },
  { args: ['endpoint', 'health'] },
  { args: ['endpoint', 'health', '-w', 'json'] },
  { args: ['endpoint', 'status', '--cluster'] },
  { args: ['member', 'list', '-w', 'table'] },
  { args: ['alarm', 'list'] },
  { args: ['defrag'] },
  { args: ['move-leader', '8e9e05c52164694d'] },
  { args: ['move-leader', '1234'] },
  { args: ['auth', 'enable'] },
  { args: ['auth', 'disable'] },
  { args: ['user', 'list'] },
  { args: ['role', 'list'] },
  { args: ['--user', 'root:secret', 'get', 'k1'] },
  { args: ['lock', 'mylock', '--', 'echo', 'locked'] },
];

/** Runs the script; lease steps that need an ID from an earlier step are appended. */
function runScript(endpoint: string): string[] {
  const out: string[] = [];
  let id = '';
  const record = (step: Step, r: CtlResult) => {
    const cmd = step.args.map((a) => (a === id ? 'LEASEID' : a)).join(' ');
    out.push(normalize(`$ etcdctl ${cmd}\n${r.stdout}${errorLines(r.stderr)}\nexit ${r.status}`, endpoint));
  };
  for (const step of script) record(step, etcdctl(endpoint, step.args, step.input));
  // A TTL below the minimum is granted as asked; revoke it at once so that whether it has
  // expired yet (a matter of timing on a busy machine) never shows in a later listing.
  const short = etcdctl(endpoint, ['lease', 'grant', '1']);
  const shortId = /lease ([0-9a-f]+) granted/.exec(short.stdout)?.[1] ?? 'missing';
  id = shortId;
  record({ args: ['lease', 'grant', '1'] }, short);
  record({ args: ['lease', 'revoke', shortId] }, etcdctl(endpoint, ['lease', 'revoke', shortId]));
  // Leases: grant, attach keys, inspect, revoke.
  const grant = etcdctl(endpoint, ['lease', 'grant', '100']);
  record({ args: ['lease', 'grant', '100'] }, grant);
  id = /lease ([0-9a-f]+) granted/.exec(grant.stdout)?.[1] ?? 'missing';
  const leaseSteps: Step[] = [
    { args: ['put', '--lease', id, 'lk1', 'v'] },
    { args: ['put', '--lease', id, 'lk2', 'v'] },
    { args: ['lease', 'timetolive', id] },
    { args: ['lease', 'timetolive', '--keys', id] },
    { args: ['lease', 'timetolive', '--keys', id, '-w', 'json'] },
    { args: ['lease', 'list'] },
    { args: ['lease', 'keep-alive', '--once', id] },
    { args: ['lease', 'revoke', id] },
    { args: ['get', 'lk1'] },
    { args: ['lease', 'timetolive', id] },
    { args: ['get', '', '--from-key', '-w', 'json'] },
  ];
  for (const step of leaseSteps) record(step, etcdctl(endpoint, step.args, step.input));
  return out;
}

/** Starts `etcdctl watch ...`, lets `act` run, and returns stdout once it contains `want`. */
async function watchOutput(endpoint: string, args: string[], act: () => void, want: string): Promise<string> {
  const proc = spawn(ETCDCTL, [`--endpoints=${endpoint}`, 'watch', ...args], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  proc.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  try {
    act();
    await until(`watch output ${JSON.stringify(want)} (got ${JSON.stringify(out)} ${err})`, () => (out.includes(want) ? true : undefined));
    return out;
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL');
    await exited;
  }
}

function headerRevision(endpoint: string): number {
  const r = etcdctl(endpoint, ['get', 'x', '-w', 'json']);
  return (JSON.parse(r.stdout) as { header: { revision: number } }).header.revision;
}

/** The watch session compared between flotilla and etcd. Starts at the next revision, so it cannot miss events. */
async function runWatchScript(endpoint: string): Promise<string[]> {
  const rev = headerRevision(endpoint) + 1;
  const puts = () => {
    for (const args of [['put', 'w1', 'a'], ['put', 'w1', 'b'], ['put', 'w2', 'c'], ['del', 'w1'], ['put', 'done', 'x']]) {
      assert.equal(etcdctl(endpoint, args).status, 0);
    }
  };
  const outputs: string[] = [];
  outputs.push(await watchOutput(endpoint, ['--prefix', 'w', `--rev=${rev}`], puts, 'DELETE\nw1\n\n'));
  outputs.push(await watchOutput(endpoint, ['w1', '--prev-kv', `--rev=${rev}`], () => {}, 'DELETE\nw1\nb\nw1\n\n'));
  outputs.push(normalize(await watchOutput(endpoint, ['w1', '-w', 'json', `--rev=${rev}`], () => {}, '"type":1'), endpoint));
  return outputs;
}

describe('etcdctl against flotilla etcd', { skip: !haveEtcdctl && 'etcdctl is not installed' }, () => {
  let member: Awaited<ReturnType<typeof startFlotilla>>;
  let dir: string;
  const t0 = suiteScope();

  before(async () => {
    dir = tempDir(t0);
    member = await startFlotilla(t0, join(dir, 'data'));
  });

  test('put, get, del', () => {
    const ep = member.endpoint;
    assert.equal(etcdctl(ep, ['put', 'a/1', 'one']).stdout, 'OK\n');
    assert.equal(etcdctl(ep, ['put', 'a/2', 'two']).stdout, 'OK\n');
    assert.equal(etcdctl(ep, ['put', 'b', 'three']).stdout, 'OK\n');
    assert.equal(etcdctl(ep, ['get', 'a/1']).stdout, 'a/1\none\n');
    assert.equal(etcdctl(ep, ['get', '--prefix', 'a/']).stdout, 'a/1\none\na/2\ntwo\n');
    assert.equal(etcdctl(ep, ['get', '--prefix', 'a/', '--keys-only']).stdout, 'a/1\n\na/2\n\n');
    assert.equal(etcdctl(ep, ['get', '--prefix', 'a/', '--limit', '1']).stdout, 'a/1\none\n');
    assert.equal(etcdctl(ep, ['get', 'a/2', '--print-value-only']).stdout, 'two\n');
    const json = JSON.parse(etcdctl(ep, ['get', '--prefix', 'a/', '--limit', '1', '-w', 'json']).stdout) as { more: boolean; count: number; kvs: Array<{ key: string }> };
    assert.equal(json.more, true);
    assert.equal(json.count, 2);
    assert.equal(Buffer.from(json.kvs[0]!.key, 'base64').toString(), 'a/1');
    const rev = headerRevision(ep);
    assert.equal(etcdctl(ep, ['put', 'a/1', 'uno']).stdout, 'OK\n');
    assert.equal(etcdctl(ep, ['get', 'a/1', `--rev=${rev}`]).stdout, 'a/1\none\n');
    assert.equal(etcdctl(ep, ['del', '--prefix', 'a/']).stdout, '2\n');
    assert.equal(etcdctl(ep, ['get', '--prefix', 'a/']).stdout, '');
  });

  test('txn from stdin: success and failure branches', () => {
    const ep = member.endpoint;
    etcdctl(ep, ['put', 'tk', 'v1']);
    const ok = etcdctl(ep, ['txn'], 'mod("tk") > "0"\n\nput tk yes\nget tk\n\nput tk no\n\n');
    assert.equal(ok.stdout, 'SUCCESS\n\nOK\n\ntk\nyes\n');
    const failed = etcdctl(ep, ['txn'], 'value("tk") = "nope"\n\nput tk yes\n\nput tk no\n\n');
    assert.equal(failed.stdout, 'FAILURE\n\nOK\n');
    assert.equal(etcdctl(ep, ['get', 'tk', '--print-value-only']).stdout, 'no\n');
  });

  test('watch: --prefix, --rev, --prev-kv', async () => {
    const ep = member.endpoint;
    const rev = headerRevision(ep) + 1;
    const out = await watchOutput(ep, ['--prefix', 'wp/', `--rev=${rev}`], () => {
      etcdctl(ep, ['put', 'wp/a', '1']);
      etcdctl(ep, ['put', 'wp/a', '2']);
      etcdctl(ep, ['del', 'wp/a']);
    }, 'DELETE\nwp/a\n\n');
    assert.equal(out, 'PUT\nwp/a\n1\nPUT\nwp/a\n2\nDELETE\nwp/a\n\n');
    const prev = await watchOutput(ep, ['wp/a', '--prev-kv', `--rev=${rev}`], () => {}, 'DELETE\n');
    assert.equal(prev, 'PUT\nwp/a\n1\nPUT\nwp/a\n1\nwp/a\n2\nDELETE\nwp/a\n2\nwp/a\n\n');
  });

  test('watch without --rev sees puts made after it starts', async () => {
    const ep = member.endpoint;
    // Keep putting until the live watcher reports one: a put before the watch is
    // registered is simply not reported, so this converges without timing assumptions.
    let n = 0;
    const out = await (async () => {
      const proc = spawn(ETCDCTL, [`--endpoints=${ep}`, 'watch', 'live'], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
      let s = '';
      proc.stdout!.on('data', (d: Buffer) => { s += d.toString(); });
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      try {
        await until('a live watch event', () => {
          if (s.includes('PUT\nlive\n')) return true;
          etcdctl(ep, ['put', 'live', `v${n++}`]);
          return undefined;
        });
        return s;
      } finally {
        proc.kill('SIGKILL');
        await exited;
      }
    })();
    assert.match(out, /^PUT\nlive\nv\d+\n/);
  });

  test('leases: grant, put --lease, timetolive --keys, keep-alive, revoke', async () => {
    const ep = member.endpoint;
    const grant = etcdctl(ep, ['lease', 'grant', '60']);
    const m = /^lease ([0-9a-f]{16}) granted with TTL\(60s\)\n$/.exec(grant.stdout);
    assert.ok(m, grant.stdout + grant.stderr);
    const id = m[1]!;
    assert.equal(etcdctl(ep, ['put', '--lease', id, 'lease/a', 'x']).stdout, 'OK\n');
    assert.match(etcdctl(ep, ['lease', 'timetolive', '--keys', id]).stdout, new RegExp(`^lease ${id} granted with TTL\\(60s\\), remaining\\(\\d+s\\), attached keys\\(\\[lease/a\\]\\)\n$`));
    assert.match(etcdctl(ep, ['lease', 'list']).stdout, new RegExp(`found \\d+ leases\n(.*\n)*${id}\n`));
    assert.equal(etcdctl(ep, ['lease', 'keep-alive', '--once', id]).stdout, `lease ${id} keepalived with TTL(60)\n`);
    // The streaming form keeps answering until killed.
    const ka = spawn(ETCDCTL, [`--endpoints=${ep}`, 'lease', 'keep-alive', id], { env: { ...process.env, ETCDCTL_API: '3' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let kaOut = '';
    ka.stdout!.on('data', (d: Buffer) => { kaOut += d.toString(); });
    const kaExit = new Promise<void>((r) => ka.once('exit', () => r()));
    try {
      await until('a keep-alive response', () => (kaOut.includes(`lease ${id} keepalived with TTL(60)`) ? true : undefined));
    } finally {
      ka.kill('SIGKILL');
      await kaExit;
    }
    assert.equal(etcdctl(ep, ['lease', 'revoke', id]).stdout, `lease ${id} revoked\n`);
    assert.equal(etcdctl(ep, ['get', 'lease/a']).stdout, '');
    assert.equal(etcdctl(ep, ['lease', 'timetolive', id]).stdout, `lease ${id} already expired\n`);
    const unknown = etcdctl(ep, ['lease', 'revoke', '1234']);
    assert.equal(unknown.status, 1);
    assert.equal(errorLines(unknown.stderr), 'Error: failed to revoke lease (etcdserver: requested lease not found)');
  });

  test('compaction, then reading a compacted revision fails', () => {
    const ep = member.endpoint;
    etcdctl(ep, ['put', 'c', '1']);
    const old = headerRevision(ep);
    etcdctl(ep, ['put', 'c', '2']);
    const now = headerRevision(ep);
    assert.equal(etcdctl(ep, ['compaction', String(now)]).stdout, `compacted revision ${now}\n`);
    const r = etcdctl(ep, ['get', 'c', `--rev=${old}`]);
    assert.equal(r.status, 1);
    assert.equal(errorLines(r.stderr), 'Error: etcdserver: mvcc: required revision has been compacted');
    assert.equal(etcdctl(ep, ['get', 'c', '--print-value-only']).stdout, '2\n');
  });

  test('a put larger than the request limit is refused', (t) => {
    const big = join(tempDir(t), 'big');
    writeFileSync(big, Buffer.alloc(1_600_000, 'a'));
    const r = spawnSync(ETCDCTL, [`--endpoints=${member.endpoint}`, 'put', 'big'], { input: Buffer.alloc(1_600_000, 'a'), encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 });
    assert.equal(r.status, 1);
    assert.equal(errorLines(r.stderr), 'Error: etcdserver: request is too large');
  });

  test('endpoint status, endpoint health, member list', () => {
    const ep = member.endpoint;
    const status = etcdctl(ep, ['endpoint', 'status']);
    assert.match(status.stdout, new RegExp(`^${ep}, 8e9e05c52164694d, 3\\.4\\.23, [^,]+, true, false, 2, \\d+, \\d+, \n$`));
    const js = JSON.parse(etcdctl(ep, ['endpoint', 'status', '-w', 'json']).stdout) as Array<{ Endpoint: string; Status: { version: string; leader: number; header: { member_id: number } } }>;
    assert.equal(js[0]!.Endpoint, ep);
    assert.equal(js[0]!.Status.version, '3.4.23');
    assert.equal(js[0]!.Status.leader, js[0]!.Status.header.member_id);
    // etcdctl 3.4 prints the health line on stderr.
    assert.match(errorLines(etcdctl(ep, ['endpoint', 'health']).stderr), new RegExp(`^${ep} is healthy: successfully committed proposal: took = `));
    assert.equal(etcdctl(ep, ['member', 'list']).stdout, `8e9e05c52164694d, started, default, http://localhost:2380, ${ep}, false\n`);
  });

  test('/health and /metrics on the metrics URL', async () => {
    const base = `http://127.0.0.1:${member.metricsPort}`;
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { health: 'true' });
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const series of ['grpc_server_handled_total{', 'grpc_server_started_total{', 'etcd_server_has_leader 1', 'etcd_server_is_leader 1', 'etcd_mvcc_db_total_size_in_bytes ']) {
      assert.ok(metrics.includes(series), `metrics lack ${series}`);
    }
    assert.match(metrics, /grpc_server_handled_total\{grpc_type="unary",grpc_service="etcdserverpb\.KV",grpc_method="Range",grpc_code="OK"\} \d+/);
  });

  test('plain HTTP on the client port, as etcd: /health, /version, /metrics', async () => {
    const health = await fetch(`${member.endpoint}/health`);
    assert.deepEqual(await health.json(), { health: 'true' });
    assert.deepEqual(await (await fetch(`${member.endpoint}/version`)).json(), { etcdserver: '3.4.23', etcdcluster: '3.4.0' });
    assert.match(await (await fetch(`${member.endpoint}/metrics`)).text(), /etcd_server_has_leader 1/);
    // gRPC still works on the same port afterwards.
    assert.equal(etcdctl(member.endpoint, ['put', 'after-http', 'ok']).stdout, 'OK\n');
  });

  test('snapshot save, restore into a new data dir, start on it', async (t) => {
    const ep = member.endpoint;
    etcdctl(ep, ['put', 'snap/k', 'kept']);
    const work = tempDir(t);
    const file = join(work, 'snap.db');
    const saved = etcdctl(ep, ['snapshot', 'save', file]);
    assert.equal(saved.stdout, `Snapshot saved at ${file}\n`, saved.stderr);
    // Our own client writes the same format.
    const file2 = join(work, 'snap2.db');
    const ours = runFlotilla(['etcd', 'snapshot', 'save', file2, '--endpoints', ep]);
    assert.equal(ours.stdout, `Snapshot saved at ${file2}\n`, ours.stderr);

    const restored = join(work, 'restored');
    const r = runFlotilla(['etcd', 'snapshot', 'restore', file, '--data-dir', restored]);
    assert.equal(r.status, 0, r.stderr);
    const again = runFlotilla(['etcd', 'snapshot', 'restore', file2, '--data-dir', restored]);
    assert.notEqual(again.status, 0);
    assert.match(again.stderr, new RegExp(`data-dir "${restored}" exists`));

    const second = await startFlotilla(t, restored);
    assert.equal(etcdctl(second.endpoint, ['get', 'snap/k', '--print-value-only']).stdout, 'kept\n');
    assert.equal(await second.stop('SIGTERM'), 0);
  });

  test('restart: SIGTERM, start again on the same data dir, data is there', async (t) => {
    const d = join(tempDir(t), 'data');
    const first = await startFlotilla(t, d);
    assert.equal(etcdctl(first.endpoint, ['put', 'durable', 'yes']).stdout, 'OK\n');
    const rev = headerRevision(first.endpoint);
    assert.equal(await first.stop('SIGTERM'), 0);
    assert.match(first.stderr(), /store closed/);
    const second = await startFlotilla(t, d);
    assert.equal(etcdctl(second.endpoint, ['get', 'durable', '--print-value-only']).stdout, 'yes\n');
    assert.equal(headerRevision(second.endpoint), rev);
    assert.equal(await second.stop('SIGINT'), 0);
  });
});

describe('etcdctl output: flotilla etcd equals etcd 3.4', { skip: (!haveEtcdctl || !haveEtcd) && 'etcd/etcdctl are not installed' }, () => {
  const t0 = suiteScope();
  let ours: Member;
  let theirs: Member;

  before(async () => {
    const dir = tempDir(t0);
    mkdirSync(join(dir, 'data'));
    [ours, theirs] = await Promise.all([startFlotilla(t0, join(dir, 'data')), startRealEtcd(t0)]);
  });

  test('the scripted session prints the same', () => {
    const a = runScript(ours.endpoint);
    const b = runScript(theirs.endpoint);
    // Guard against two equal failures (say, both unreachable) passing as agreement.
    assert.match(a[0]!, /^\$ etcdctl put foo bar\nOK\n/);
    assert.ok(a.filter((x) => x.endsWith('exit 0')).length >= 40, a.join('\n\n'));
    assert.equal(a.length, b.length);
    for (let i = 0; i < a.length; i++) assert.equal(a[i], b[i]);
  });

  test('watch prints the same', async () => {
    const a = await runWatchScript(ours.endpoint);
    const b = await runWatchScript(theirs.endpoint);
    assert.deepEqual(a, b);
  });

  test('watching a compacted revision is canceled the same way', async () => {
    const results: string[] = [];
    for (const ep of [ours.endpoint, theirs.endpoint]) {
      const r = spawnSync(ETCDCTL, [`--endpoints=${ep}`, 'watch', '--rev=1', 'foo'], { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 30_000 });
      results.push(`${r.stdout}${errorLines(r.stderr)}\nexit ${r.status}`);
    }
    assert.equal(results[0], results[1]);
    assert.match(results[0]!, /watch was canceled \(etcdserver: mvcc: required revision has been compacted\)/);
  });
});
