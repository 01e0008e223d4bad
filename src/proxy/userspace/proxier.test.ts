import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { servicePorts } from '../tracker.js';
import type { EndpointInfo, ProxyState } from '../types.js';
import { UserspaceProxier } from './proxier.js';

/** Pretend pod IPs, mapped onto real servers on 127.0.0.1. */
async function backends(t: { after(fn: () => unknown): void }, names: string[]): Promise<Map<string, number>> {
  const ports = new Map<string, number>();
  for (const name of names) {
    const s: Server = createServer((_req, res) => res.end(name));
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    t.after(() => new Promise<void>((r) => s.close(() => r())));
    ports.set(name, (s.address() as AddressInfo).port);
  }
  return ports;
}

function get(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host, port, agent: false, path: '/' }, (res) => {
      let d = '';
      res.on('data', (c) => (d += c));
      res.on('end', () => resolve(d));
    });
    req.on('error', reject);
    req.end();
  });
}

function state(spec: Record<string, unknown>, eps: Partial<EndpointInfo>[]): ProxyState {
  const ports = servicePorts({ metadata: { namespace: 'default', name: 'web' }, spec: { clusterIP: '10.96.0.5', ...spec } } as never);
  return {
    services: new Map(ports.map((p) => [p.name, p])),
    endpoints: new Map([['default/web:http', eps.map((e) => ({ ip: '', port: 8080, ready: true, serving: true, terminating: false, isLocal: false, ...e }))]]),
  };
}

const tcp = { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] };

function setup(t: { after(fn: () => unknown): void }, ports: Map<string, number>, clock = new FakeClock()) {
  const byIP = new Map([...ports].map(([name, port], i) => [`10.244.0.${i + 2}`, { name, port }]));
  const p = new UserspaceProxier({
    clock,
    logger: silentLogger(),
    resolveEndpoint: (ep) => ({ host: '127.0.0.1', port: byIP.get(ep.ip)?.port ?? 1 }),
  });
  t.after(() => p.stop());
  return { p, ips: [...byIP.keys()] };
}

test('connections spread over the endpoints and skip not-ready ones', async (t) => {
  const ports = await backends(t, ['a', 'b', 'c']);
  const { p, ips } = setup(t, ports);
  await p.sync(state(tcp, ips.map((ip) => ({ ip }))));
  const addr = p.addressOf('default/web:http')!;
  assert.equal(addr.host, '127.0.0.1');
  const seen = new Set<string>();
  for (let i = 0; i < 60; i++) seen.add(await get(addr.host, addr.port));
  assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);

  await p.sync(state(tcp, ips.map((ip, i) => ({ ip, ready: i !== 2, serving: i !== 2 }))));
  assert.deepEqual(p.addressOf('default/web:http'), addr, 'the listener stays');
  const after = new Set<string>();
  for (let i = 0; i < 30; i++) after.add(await get(addr.host, addr.port));
  assert.deepEqual([...after].sort(), ['a', 'b']);
});

test('an endpoint that refuses is skipped for another', async (t) => {
  const ports = await backends(t, ['a']);
  const { p } = setup(t, ports);
  await p.sync(state(tcp, [{ ip: '10.244.0.2' }, { ip: '10.244.0.99' }]));
  const addr = p.addressOf('default/web:http')!;
  for (let i = 0; i < 10; i++) assert.equal(await get(addr.host, addr.port), 'a');
});

test('no endpoints: the connection is refused', async (t) => {
  const { p } = setup(t, new Map());
  await p.sync(state(tcp, []));
  const addr = p.addressOf('default/web:http')!;
  await assert.rejects(get(addr.host, addr.port), (err: NodeJS.ErrnoException) => err.code === 'ECONNRESET' || err.code === 'ECONNREFUSED');
});

test('sessionAffinity ClientIP sticks until the timeout passes', async (t) => {
  const ports = await backends(t, ['a', 'b', 'c', 'd']);
  const clock = new FakeClock();
  const { p, ips } = setup(t, ports, clock);
  await p.sync(state({ ...tcp, sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 10 } } }, ips.map((ip) => ({ ip }))));
  const addr = p.addressOf('default/web:http')!;
  const first = await get(addr.host, addr.port);
  for (let i = 0; i < 20; i++) assert.equal(await get(addr.host, addr.port), first);
  // Past the timeout a new choice is made; over many expiries more than one backend shows up.
  const chosen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    clock.step(11_000);
    chosen.add(await get(addr.host, addr.port));
  }
  assert.ok(chosen.size > 1);
});

test('a NodePort listens on the listen address', async (t) => {
  const ports = await backends(t, ['a']);
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const nodePort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  const { p } = setup(t, ports);
  await p.sync(state({ type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', nodePort }] }, [{ ip: '10.244.0.2' }]));
  assert.equal(await get('127.0.0.1', nodePort), 'a');
  await p.sync({ services: new Map(), endpoints: new Map() });
  await assert.rejects(get('127.0.0.1', nodePort));
});

test('UDP datagrams are relayed both ways', async (t) => {
  const echo = createSocket('udp4');
  echo.on('message', (m, r) => echo.send(Buffer.concat([Buffer.from('echo:'), m]), r.port, r.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', () => r()));
  t.after(() => new Promise<void>((r) => echo.close(() => r())));
  const p = new UserspaceProxier({ clock: new FakeClock(), logger: silentLogger(), resolveEndpoint: () => ({ host: '127.0.0.1', port: echo.address().port }) });
  t.after(() => p.stop());
  await p.sync(state({ ports: [{ name: 'http', port: 53, protocol: 'UDP' }] }, [{ ip: '10.244.0.2', port: 53 }]));
  const addr = p.addressOf('default/web:http')!;
  const client = createSocket('udp4');
  t.after(() => client.close());
  const reply = new Promise<string>((r) => client.once('message', (m) => r(m.toString())));
  client.send('hi', addr.port, addr.host);
  assert.equal(await reply, 'echo:hi');
});
