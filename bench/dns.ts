/**
 * `npm run bench -- dns`: in-zone A lookups over UDP against `flotilla dns` holding 1,000
 * Services.
 *
 * A real API server runs in this process (idle while measuring: the DNS server only
 * watches it); `flotilla dns` runs as its own process, as on a node; this process is the
 * load generator: one UDP socket, a fixed number of queries in flight, each asking A for a
 * random `svc-N.default.svc.cluster.local`, every answer checked for NOERROR and one record.
 * Measured: queries/s and p50/p99 round-trip latency.
 *
 * Anchors, in the same run:
 *  - UDP floor: a child Node process that answers every datagram with the bytes it got (QR
 *    bit set) — the cost of the transport and the event loops alone; flotilla dns ÷ floor
 *    is what decoding, looking up and encoding add;
 *  - in-process handler: the same DNS message handler (decode, lister lookup, compressed
 *    encode) called directly in a loop over the same 1,000 services, without sockets:
 *    lookups/s one core can do, the ceiling the UDP figure is held under.
 * (Debian's dnsmasq/unbound would be the natural outside anchors but are not installed here.)
 *
 * Every run is preceded by 20,000 warm-up queries: the first thousands run several times
 * slower while the JIT settles. On a shared 2-core VM the load generator and the server
 * compete for the cores; the server's own profile is mostly the sendto syscall.
 *
 * Flags: --quick (10,000 queries instead of 50,000), --services N, --inflight N.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { setMaxListeners } from 'node:events';
import dnsPacket from 'dns-packet';
import type { KObject } from '../src/apimachinery/meta.js';
import { FakeClient } from '../src/client/fake.js';
import { newInformerFactory } from '../src/client/informer.js';
import { Resources } from '../src/client/interface.js';
import type { EndpointSlice, Namespace, Service } from '../src/client/objects.js';
import { restClientFromKubeconfig } from '../src/client/rest.js';
import { ClusterRecords, ListerState, serviceIndexers, sliceIndexers } from '../src/dns/records.js';
import { DNSHandler } from '../src/dns/server.js';
import { realClock } from '../src/util/clock.js';
import { silentLogger } from '../src/util/log.js';
import { startTestApiServer } from '../test/util/kubectl.js';
import { spawnFlotilla } from '../test/util/flotilla.js';
import { fmt, Latencies, nowMs, printTable, progress } from './util.js';

interface UDPResult {
  name: string;
  ops: number;
  seconds: number;
  lat: Latencies;
  errors: number;
}

function query(id: number, name: string): Buffer {
  return dnsPacket.encode({ type: 'query', id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: 'A', name, class: 'IN' }] });
}

/**
 * Sends `total` queries to 127.0.0.1:port with `inflight` outstanding; `check` validates
 * each answer. A query unanswered for 2 s counts as an error and is replaced.
 */
async function udpLoad(label: string, port: number, total: number, inflight: number, names: string[], check: (b: Buffer) => boolean): Promise<UDPResult> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const lat = new Latencies();
  const pending = new Map<number, { t0: number; timer: NodeJS.Timeout }>();
  let sent = 0;
  let done = 0;
  let errors = 0;
  let nextId = 1;
  const start = nowMs();
  return new Promise((resolve) => {
    const finishOne = () => {
      done++;
      if (done === total) {
        sock.close();
        resolve({ name: label, ops: total - errors, seconds: (nowMs() - start) / 1000, lat, errors });
      } else if (sent < total) send();
    };
    const send = () => {
      const id = nextId;
      nextId = (nextId % 65535) + 1;
      sent++;
      const timer = setTimeout(() => {
        pending.delete(id);
        errors++;
        finishOne();
      }, 2000);
      pending.set(id, { t0: nowMs(), timer });
      sock.send(query(id, names[Math.floor(Math.random() * names.length)]!), port, '127.0.0.1');
    };
    sock.on('message', (msg) => {
      const p = pending.get(msg.readUInt16BE(0));
      if (!p) return;
      clearTimeout(p.timer);
      pending.delete(msg.readUInt16BE(0));
      lat.record(nowMs() - p.t0);
      if (!check(msg)) errors++;
      finishOne();
    });
    for (let i = 0; i < Math.min(inflight, total); i++) send();
  });
}

/** A child process answering each datagram with itself, QR set: the UDP round-trip floor. */
async function startEchoServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const script = [
    "const s = require('node:dgram').createSocket('udp4');",
    "s.on('message', (m, r) => { m[2] |= 0x80; s.send(m, r.port, r.address); });",
    "s.bind(0, '127.0.0.1', () => process.stdout.write(String(s.address().port) + '\\n'));",
  ].join('\n');
  const proc = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    proc.once('exit', (c) => reject(new Error(`echo server exited ${c}`)));
  });
  return {
    port,
    stop: async () => {
      proc.kill('SIGKILL');
      await new Promise((r) => proc.once('exit', r));
    },
  };
}

function newService(i: number): Service & KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}`, namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: 8080 }] } };
}

/** The handler in this process over the fake client holding the same services (no sockets). */
async function inProcessHandler(services: number, total: number, names: string[]): Promise<{ ops: number; seconds: number }> {
  const client = new FakeClient({ clock: realClock });
  client.seed(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  for (let i = 0; i < services; i++) {
    const s = newService(i);
    s.spec!.clusterIP = `10.96.${(i >> 8) & 255}.${i & 255}`;
    client.seed(Resources.services, s);
  }
  const ac = new AbortController();
  setMaxListeners(20, ac.signal);
  const informers = newInformerFactory({ client, clock: realClock });
  const svcInf = informers.forResource<Service>(Resources.services);
  const sliceInf = informers.forResource<EndpointSlice>(Resources.endpointslices);
  const nsInf = informers.forResource<Namespace>(Resources.namespaces);
  svcInf.addIndexers(serviceIndexers);
  sliceInf.addIndexers(sliceIndexers);
  informers.start(ac.signal);
  await informers.waitForCacheSync(ac.signal);
  const state = new ListerState({ services: svcInf.lister, slices: sliceInf.lister, namespaces: nsInf.lister, hasSynced: () => true, serial: () => 1 });
  const handler = new DNSHandler({ records: new ClusterRecords({ state, zone: 'cluster.local' }), logger: silentLogger() });
  const queries = names.map((n, i) => query(i + 1, n));
  const lookups = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const out = await handler.handle(queries[Math.floor(Math.random() * queries.length)]!, 'udp');
      if (!out || (out[3]! & 0xf) !== 0) throw new Error('in-process lookup failed');
    }
  };
  await lookups(20_000); // warm-up, as for the UDP runs
  const start = nowMs();
  await lookups(total);
  const seconds = (nowMs() - start) / 1000;
  ac.abort();
  await client.close();
  return { ops: total, seconds };
}

function flag(args: string[], name: string, def: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
}

export async function run(args: string[]): Promise<void> {
  const quick = args.includes('--quick');
  const services = flag(args, '--services', 1000);
  const inflight = flag(args, '--inflight', 32);
  const total = quick ? 10_000 : 50_000;
  const cleanups: (() => unknown)[] = [];
  try {
    progress(`dns: API server (in-process) with ${services} services`);
    const api = await startTestApiServer({ after: (fn) => cleanups.push(fn) });
    const client = await restClientFromKubeconfig(api.kubeconfigPath, 'bench-dns');
    cleanups.push(() => client.close());
    const rc = client.resource<Service & KObject>(Resources.services, 'default');
    let next = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (next < services) await rc.create(newService(next++));
    }));
    const names = Array.from({ length: services }, (_, i) => `svc-${i}.default.svc.cluster.local`);

    progress('dns: starting flotilla dns (own process)');
    const dns = spawnFlotilla(['dns', '--kubeconfig', api.kubeconfigPath, '--listen', '127.0.0.1:0', '--upstream', 'none', '--health-port', '0', '--ready-port', '0', '--metrics-port', '0'], { FLOTILLA_LOG_LEVEL: 'warn' });
    cleanups.push(() => dns.kill());
    let port = 0;
    for (let i = 0; i < 600 && port === 0; i++) {
      const m = /on 127\.0\.0\.1:(\d+) \(udp, tcp\)/.exec(dns.stdout());
      if (m) port = Number(m[1]);
      else if (dns.proc.exitCode !== null) throw new Error(`flotilla dns exited: ${dns.stderr()}`);
      else await new Promise((r) => setTimeout(r, 100));
    }
    if (port === 0) throw new Error('flotilla dns did not start');
    const oneAnswer = (b: Buffer) => (b[3]! & 0xf) === 0 && b.readUInt16BE(6) === 1;
    // Every service visible before measuring (the watch has caught up with the last one).
    for (let i = 0; ; i++) {
      const r = await udpLoad('check', port, 1, 1, names.slice(-1), oneAnswer);
      if (r.errors === 0) break;
      if (i >= 300) throw new Error(`svc-${services - 1} never resolved`);
      await new Promise((res) => setTimeout(res, 100));
    }
    // Warm-up long enough for both processes' JITs to settle (the first few thousand queries run several times slower).
    await udpLoad('warm-up', port, 20_000, inflight, names, oneAnswer);

    progress(`dns: ${total} A queries over UDP, ${inflight} in flight`);
    const ours = await udpLoad('flotilla dns (UDP, own process)', port, total, inflight, names, oneAnswer);

    progress('dns: anchor — UDP echo floor (child process)');
    const echo = await startEchoServer();
    cleanups.push(() => echo.stop());
    await udpLoad('warm-up', echo.port, 20_000, inflight, names, () => true);
    const floor = await udpLoad('anchor: UDP echo floor (own process)', echo.port, total, inflight, names, () => true);

    progress('dns: anchor — the handler in-process, no sockets');
    const inproc = await inProcessHandler(services, total, names);

    const qps = (r: { ops: number; seconds: number }) => r.ops / r.seconds;
    console.log(`\nCluster DNS: in-zone A lookups, ${services} services, ${total} queries, ${inflight} in flight (2-core VM)\n`);
    printTable(
      ['', 'queries/s', 'p50 ms', 'p99 ms', 'errors'],
      [
        [ours.name, fmt(qps(ours)), fmt(ours.lat.percentile(50), 3), fmt(ours.lat.percentile(99), 3), fmt(ours.errors)],
        [floor.name, fmt(qps(floor)), fmt(floor.lat.percentile(50), 3), fmt(floor.lat.percentile(99), 3), fmt(floor.errors)],
        ['anchor: handler in-process (decode+lookup+encode)', fmt(qps(inproc)), '-', '-', '0'],
      ],
    );
    console.log(`\nflotilla dns ÷ UDP echo floor: ${fmt(qps(ours) / qps(floor), 2)}x the queries/s, ${fmt(ours.lat.percentile(50) / floor.lat.percentile(50), 2)}x the p50`);
    console.log(`flotilla dns ÷ in-process handler: ${fmt(qps(ours) / qps(inproc), 2)}x the lookups/s`);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}
