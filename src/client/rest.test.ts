import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { isConflict, isNotFound, isInternalError, isTooManyRequests } from '../apimachinery/errors.js';
import { PatchType, type KObject, type WatchEvent } from '../apimachinery/meta.js';
import { FakeClock } from '../util/clock.js';
import { Resources } from './interface.js';
import { newRestClient, parseWatchStream, type RestClient } from './rest.js';

interface Seen {
  method: string;
  path: string;
  contentType?: string;
  userAgent?: string;
  authorization?: string;
  body: string;
}

type Handler = (req: Seen, res: http2.Http2ServerResponse) => void;

/** A plain-text HTTP/2 (h2c) server answering with `handler`; records every request. */
async function server(t: { after(fn: () => unknown): void }, handler: Handler): Promise<{ url: string; seen: Seen[]; server: http2.Http2Server }> {
  const seen: Seen[] = [];
  const srv = http2.createServer();
  srv.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => { body += c; });
    req.on('end', () => {
      const s: Seen = {
        method: req.method,
        path: req.url,
        contentType: req.headers['content-type'],
        userAgent: req.headers['user-agent'],
        authorization: req.headers.authorization,
        body,
      };
      seen.push(s);
      handler(s, res);
    });
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  srv.on('session', (sess: http2.ServerHttp2Session) => sessions.add(sess));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => {
    for (const sess of sessions) sess.destroy();
    srv.close(() => r());
  }));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, seen, server: srv };
}

function json(res: http2.Http2ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(code, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function client(t: { after(fn: () => unknown): void }, url: string, extra: Partial<Parameters<typeof newRestClient>[0]> = {}): RestClient {
  const c = newRestClient({ server: url, userAgent: 'kube-scheduler/v1.32.0 flotilla', token: 'secret', ...extra });
  t.after(() => c.close());
  return c;
}

test('paths, query parameters, bodies and headers', async (t) => {
  const s = await server(t, (req, res) => {
    if (req.method === 'DELETE' && req.path.startsWith('/api/v1/namespaces/ns/pods/gone')) return json(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
    json(res, 200, { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'x' } });
  });
  const c = client(t, s.url);
  const pods = c.resource(Resources.pods, 'ns');
  await pods.get('a b');
  await c.resource(Resources.deployments).list({ labelSelector: 'app=web,tier in (a,b)', fieldSelector: 'metadata.name=x', limit: 5 });
  await pods.create({ metadata: { name: 'x' } }, { dryRun: true, fieldManager: 'me' });
  await pods.update({ metadata: { name: 'x' } });
  await pods.updateStatus({ metadata: { name: 'x' } });
  await pods.patch('x', PatchType.StrategicMergePatch, { metadata: { labels: { a: 'b' } } }, { subresource: 'status' });
  await pods.patch('x', PatchType.ApplyPatch, { apiVersion: 'v1', kind: 'Pod' }, { force: true });
  assert.deepEqual(await pods.delete('x', { propagationPolicy: 'Background' }), { kind: 'Pod', apiVersion: 'v1', metadata: { name: 'x' } });
  assert.equal(await pods.delete('gone'), undefined, 'a Status answer means gone');
  await c.resource(Resources.leases, 'kube-system').deleteCollection({ labelSelector: 'a=b' });
  await pods.createSubresource('x', 'binding', { target: { name: 'n1' } });
  assert.deepEqual(s.seen.map((r) => `${r.method} ${r.path}`), [
    'GET /api/v1/namespaces/ns/pods/a%20b',
    'GET /apis/apps/v1/deployments?labelSelector=app%3Dweb%2Ctier%20in%20(a%2Cb)&fieldSelector=metadata.name%3Dx&limit=5',
    'POST /api/v1/namespaces/ns/pods?fieldManager=me&dryRun=All',
    'PUT /api/v1/namespaces/ns/pods/x',
    'PUT /api/v1/namespaces/ns/pods/x/status',
    'PATCH /api/v1/namespaces/ns/pods/x/status',
    'PATCH /api/v1/namespaces/ns/pods/x?fieldManager=kube-scheduler&force=true',
    'DELETE /api/v1/namespaces/ns/pods/x',
    'DELETE /api/v1/namespaces/ns/pods/gone',
    'DELETE /apis/coordination.k8s.io/v1/namespaces/kube-system/leases?labelSelector=a%3Db',
    'POST /api/v1/namespaces/ns/pods/x/binding',
  ]);
  assert.equal(s.seen[0]!.userAgent, 'kube-scheduler/v1.32.0 flotilla');
  assert.equal(s.seen[0]!.authorization, 'Bearer secret');
  assert.equal(s.seen[2]!.contentType, 'application/json');
  assert.equal(s.seen[5]!.contentType, 'application/strategic-merge-patch+json');
  assert.equal(s.seen[6]!.contentType, 'application/apply-patch+yaml');
  assert.deepEqual(JSON.parse(s.seen[7]!.body), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' });
});

test('errors: a Status answer keeps its reason; anything else gets upstream\'s generic error', async (t) => {
  const conflict = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Operation cannot be fulfilled on pods "x": stale', reason: 'Conflict', details: { name: 'x', kind: 'pods' }, code: 409 };
  const s = await server(t, (req, res) => {
    if (req.path.includes('conflict')) return json(res, 409, conflict);
    if (req.path.includes('html')) {
      res.writeHead(404, { 'content-type': 'text/html' });
      return res.end('<html>nope</html>');
    }
    res.writeHead(500);
    res.end('boom');
  });
  const pods = client(t, s.url).resource(Resources.pods, 'ns');
  await assert.rejects(pods.get('conflict'), (e) => isConflict(e) && (e as Error).message === conflict.message);
  await assert.rejects(pods.get('html'), (e) => isNotFound(e) && (e as Error).message === 'the server could not find the requested resource (get pods html)');
  await assert.rejects(pods.get('other'), (e) => isInternalError(e) && /an error on the server \("boom"\)/.test((e as Error).message));
});

test('an answer asking for a retry is retried after Retry-After on the clock', async (t) => {
  let calls = 0;
  const s = await server(t, (_req, res) => {
    calls++;
    if (calls <= 2) return json(res, 429, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'TooManyRequests', code: 429 }, { 'retry-after': '1' });
    json(res, 200, { kind: 'Pod', metadata: { name: 'x' } });
  });
  const clock = new FakeClock();
  const pods = client(t, s.url, { clock }).resource(Resources.pods, 'ns');
  let done = false;
  const p = pods.get('x').finally(() => { done = true; });
  for (let i = 0; i < 200 && !done; i++) {
    await new Promise((r) => setTimeout(r, 5));
    clock.step(1000);
  }
  assert.equal((await p).metadata?.name, 'x');
  assert.equal(calls, 3);

  const limited = client(t, s.url, { clock, maxRetries: 0 }).resource(Resources.pods, 'ns');
  calls = 0;
  await assert.rejects(limited.get('x'), isTooManyRequests);
});

test('watch: newline-delimited events split across chunks; the iteration ends when the server ends', async (t) => {
  const s = await server(t, (req, res) => {
    assert.match(req.path, /watch=true/);
    assert.match(req.path, /allowWatchBookmarks=true/);
    assert.match(req.path, /resourceVersion=7/);
    res.writeHead(200, { 'content-type': 'application/json' });
    const lines = [
      { type: 'ADDED', object: { kind: 'Pod', metadata: { name: 'a', resourceVersion: '8' } } },
      { type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: '9' } } },
      { type: 'DELETED', object: { kind: 'Pod', metadata: { name: 'a', resourceVersion: '10' } } },
    ].map((l) => JSON.stringify(l) + '\n').join('');
    const cut = Math.floor(lines.length / 2) + 3;
    res.write(lines.slice(0, cut));
    setImmediate(() => res.end(lines.slice(cut)));
  });
  const evs: WatchEvent[] = [];
  for await (const ev of client(t, s.url).resource(Resources.pods).watch({ resourceVersion: '7' }, new AbortController().signal)) evs.push(ev);
  assert.deepEqual(evs.map((e) => [e.type, e.object.metadata?.resourceVersion]), [['ADDED', '8'], ['BOOKMARK', '9'], ['DELETED', '10']]);
});

test('watch: a non-2xx answer rejects the iteration with its Status; abort ends it quietly', async (t) => {
  const s = await server(t, (req, res) => {
    if (req.path.includes('resourceVersion=1')) return json(res, 410, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'Expired', message: 'too old resource version: 1 (5)', code: 410 });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'a' } } }) + '\n');
  });
  const c = client(t, s.url);
  const iterate = async (rv: string, ac: AbortController) => {
    const out: WatchEvent[] = [];
    for await (const ev of c.resource(Resources.pods).watch({ resourceVersion: rv }, ac.signal)) {
      out.push(ev);
      ac.abort(); // the server keeps the stream open: only the abort ends it
    }
    return out;
  };
  await assert.rejects(iterate('1', new AbortController()), (e) => (e as { code?: number }).code === 410 && (e as Error).message === 'too old resource version: 1 (5)');
  assert.equal((await iterate('2', new AbortController())).length, 1);
});

test('a session the server closes is reopened for the next request', async (t) => {
  const s = await server(t, (_req, res) => json(res, 200, { kind: 'Pod', metadata: { name: 'x' } }));
  const sessions = new Set<http2.ServerHttp2Session>();
  s.server.on('session', (sess: http2.ServerHttp2Session) => sessions.add(sess));
  const pods = client(t, s.url).resource(Resources.pods, 'ns');
  await Promise.all([pods.get('x'), pods.get('x'), pods.get('x')]);
  assert.equal(sessions.size, 1, 'concurrent requests share one session');
  for (const sess of sessions) sess.close();
  await new Promise((r) => setTimeout(r, 50));
  await pods.get('x');
  assert.equal(sessions.size, 2);
});

test('parseWatchStream: lines and multi-byte characters split anywhere', async () => {
  const text = ['{"type":"ADDED","object":{"metadata":{"name":"café-ü"}}}', '', '{"type":"DELETED","object":{"metadata":{"name":"日本"}}}'].join('\n');
  const bytes = Buffer.from(text, 'utf8');
  for (let cut = 1; cut < bytes.length; cut += 7) {
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < bytes.length; i += cut) yield bytes.subarray(i, i + cut);
    }
    const names: (string | undefined)[] = [];
    for await (const ev of parseWatchStream<KObject>(chunks())) names.push(ev.object.metadata?.name);
    assert.deepEqual(names, ['café-ü', '日本'], `chunks of ${cut} bytes`);
  }
});

test('a request in flight when the client closes settles with an error instead of waiting forever', async (t) => {
  const s = await server(t, () => { /* never answers */ });
  const c = client(t, s.url);
  const pending = assert.rejects(c.resource(Resources.pods, 'default').get('x'), /GET \/api\/v1\/namespaces\/default\/pods\/x: the connection closed before the answer/);
  while (s.seen.length === 0) await new Promise((r) => setTimeout(r, 5));
  await c.close();
  await pending;
});

/** A TCP server that accepts connections and never says a word: a peer that vanished. */
async function silentServer(t: { after(fn: () => unknown): void }): Promise<{ url: string; connections(): number; received(): number }> {
  const sockets = new Set<net.Socket>();
  let count = 0;
  let bytes = 0;
  const srv = net.createServer((sock) => {
    count++;
    sockets.add(sock);
    sock.on('data', (d) => { bytes += d.length; });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.after(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    srv.close(() => r());
  }));
  return { url: `http://127.0.0.1:${(srv.address() as AddressInfo).port}`, connections: () => count, received: () => bytes };
}

test('health check: a connection that answers nothing, not even a PING, fails its requests and watches; the next request reconnects', async (t) => {
  const s = await silentServer(t);
  const clock = new FakeClock();
  const c = client(t, s.url, { clock, readIdleTimeoutMs: 1000, pingTimeoutMs: 500, requestTimeoutMs: 0 });
  const pods = c.resource(Resources.pods, 'default');
  const get = assert.rejects(pods.get('x'), /127\.0\.0\.1:\d+: no answer to an HTTP\/2 PING within 500 ms; the connection is considered dead/);
  const watch = assert.rejects((async () => {
    for await (const _ of pods.watch({}, new AbortController().signal)) assert.fail('no events expected');
  })(), /no answer to an HTTP\/2 PING/);
  // The client's preface arrives once it is connected (a session still connecting at the
  // check would be given up for that instead).
  while (s.received() === 0) await new Promise((r) => setTimeout(r, 5));
  clock.step(1000); // nothing heard for readIdleTimeoutMs: a PING goes out
  clock.step(500); // and is not answered in time
  await get;
  await watch;
  assert.equal(s.connections(), 1, 'the request and the watch shared one connection');
  const again = pods.get('y').catch((err: unknown) => err);
  while (s.connections() < 2) await new Promise((r) => setTimeout(r, 5));
  await c.close();
  assert.match(String(await again), /connection closed before the answer/);
});

test('health check: answered PINGs keep a quiet watch and its session open', async (t) => {
  let pings = 0;
  let sessions = 0;
  let writeEvent: (() => void) | undefined;
  const s = await server(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    writeEvent = () => res.write(JSON.stringify({ type: 'ADDED', object: { metadata: { name: 'late' } } }) + '\n');
  });
  s.server.on('session', (sess: http2.ServerHttp2Session) => {
    sessions++;
    sess.on('ping', () => pings++);
  });
  // A generous ping timeout: the answers arrive well within it even on a loaded machine.
  const c = client(t, s.url, { readIdleTimeoutMs: 20, pingTimeoutMs: 10_000 });
  const ac = new AbortController();
  const names: (string | undefined)[] = [];
  const watching = (async () => {
    for await (const ev of c.resource(Resources.pods).watch({}, ac.signal)) {
      names.push(ev.object.metadata?.name);
      ac.abort();
    }
  })();
  while (pings < 3 || !writeEvent) await new Promise((r) => setTimeout(r, 10));
  writeEvent();
  await watching;
  assert.deepEqual(names, ['late']);
  assert.equal(sessions, 1);
});

test('health check options: pingTimeoutMs must be positive; readIdleTimeoutMs 0 turns the check off', async () => {
  for (const pingTimeoutMs of [0, -1, Number.NaN]) {
    assert.throws(() => newRestClient({ server: 'http://127.0.0.1:1', userAgent: 'x', pingTimeoutMs }), RangeError);
  }
  const pendingAfterConnect = async (readIdleTimeoutMs?: number) => {
    const clock = new FakeClock();
    const c = newRestClient({ server: 'http://127.0.0.1:1', userAgent: 'x', readIdleTimeoutMs, clock });
    const p = c.resource(Resources.pods, 'default').get('x').catch(() => undefined);
    const pending = clock.pending();
    await p;
    await c.close();
    return pending;
  };
  assert.equal(await pendingAfterConnect(), 1, 'the health check runs by default');
  assert.equal(await pendingAfterConnect(0), 0, 'no health check');
});
