import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import type { Pod } from '../../client/objects.js';
import { realClock } from '../../util/clock.js';
import { LabelContainerName, LabelPodName, LabelPodNamespace, LabelPodUID } from '../runtime.js';
import { SimulatedRuntime } from '../simulated.js';
import { decodeChannelMessage, encodeChannelMessage, execStatus, selectRemoteCommandProtocol } from './remotecommand.js';
import { logContainerID, parseLogQuery, startKubeletServer } from './index.js';
import { SpdyConnection, type SpdyStream } from './spdy.js';

test('remotecommand framing: binary and base64 channels, protocol choice, status JSON', () => {
  assert.deepEqual([...(encodeChannelMessage('v5.channel.k8s.io', 1, Buffer.from('hi')) as Buffer)], [1, 104, 105]);
  assert.equal(encodeChannelMessage('v4.base64.channel.k8s.io', 2, Buffer.from('hi')), '2aGk=');
  assert.deepEqual(decodeChannelMessage('v4.base64.channel.k8s.io', '0aGk='), { channel: 0, data: Buffer.from('hi') });
  assert.deepEqual(decodeChannelMessage('v5.channel.k8s.io', Buffer.from([255, 0])), { channel: 255, data: Buffer.from([0]) });
  assert.equal(decodeChannelMessage('v5.channel.k8s.io', Buffer.alloc(0)), undefined);
  assert.equal(selectRemoteCommandProtocol(['v4.channel.k8s.io', 'v5.channel.k8s.io']), 'v5.channel.k8s.io');
  assert.equal(selectRemoteCommandProtocol(['SPDY/3.1']), undefined);
  assert.deepEqual(execStatus({ exitCode: 0 }), { metadata: {}, status: 'Success' });
  const st = execStatus({ exitCode: 3 });
  assert.equal(st.reason, 'NonZeroExitCode');
  assert.deepEqual(st.details, { causes: [{ reason: 'ExitCode', message: '3' }] });
  assert.equal(execStatus({ message: 'boom' }).reason, 'InternalError');
});

test('parseLogQuery: PodLogOptions and their validation', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');
  assert.deepEqual(parseLogQuery(new URLSearchParams('follow=true&tailLines=5&timestamps=1&limitBytes=10'), now), {
    follow: true, previous: false, timestamps: true, tailLines: 5, limitBytes: 10, sinceMs: undefined,
  });
  assert.equal(parseLogQuery(new URLSearchParams('sinceSeconds=60'), now).sinceMs, now - 60_000);
  assert.equal(parseLogQuery(new URLSearchParams('sinceTime=2024-05-01T11:00:00Z'), now).sinceMs, Date.parse('2024-05-01T11:00:00Z'));
  assert.equal(parseLogQuery(new URLSearchParams('tail=all'), now).tailLines, undefined);
  assert.throws(() => parseLogQuery(new URLSearchParams('tailLines=-1'), now), /Invalid request/);
  assert.throws(() => parseLogQuery(new URLSearchParams('sinceSeconds=5&sinceTime=2024-05-01T11:00:00Z'), now), /Invalid request/);
  assert.throws(() => parseLogQuery(new URLSearchParams('follow=maybe'), now), /Unable to decode query/);
});

test('logContainerID: which container a log request reads (upstream messages)', () => {
  const pod = (cs: object): Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, status: { containerStatuses: [{ name: 'c', ...cs }] as never } });
  assert.equal(logContainerID(pod({ containerID: 'containerd://abc', state: { running: {} } }), 'c', false), 'abc');
  assert.equal(logContainerID(pod({ state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { containerID: 'containerd://old' } } }), 'c', false), 'old');
  assert.equal(logContainerID(pod({ state: { running: {} }, lastState: { terminated: { containerID: 'containerd://old' } } }), 'c', true), 'old');
  assert.throws(() => logContainerID(pod({ state: { running: {} }, lastState: {} }), 'c', true), /previous terminated container "c" in pod "p" not found/);
  assert.throws(() => logContainerID(pod({ state: { waiting: { reason: 'ErrImagePull' } } }), 'c', false), /is waiting to start: image can't be pulled/);
  assert.throws(() => logContainerID(pod({}), 'x', false), /container "x" in pod "p" is not available/);
});

/** A simulated runtime with one running pod "web" (container "app") and the server on it. */
async function fixture(t: { after(fn: () => unknown): void }) {
  const logDir = mkdtempSync(join(tmpdir(), 'flotilla-kserver-'));
  t.after(() => rmSync(logDir, { recursive: true, force: true }));
  // The pod's port 80 is a local echo server.
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => echo.close(() => resolve())));
  const echoPort = (echo.address() as { port: number }).port;
  const rt = new SimulatedRuntime({ clock: realClock, podCIDR: '10.244.3.0/24', logDir, portForward: (_s, port) => (port === 80 ? { host: '127.0.0.1', port: echoPort } : undefined) });
  await rt.pullImage('busybox');
  const labels = { [LabelPodName]: 'web', [LabelPodNamespace]: 'default', [LabelPodUID]: 'uid-1' };
  const sbConfig = { name: 'web', namespace: 'default', uid: 'uid-1', attempt: 0, labels, logDirectory: '/var/log/pods/default_web_uid-1' };
  const sb = await rt.runPodSandbox(sbConfig);
  const id = await rt.createContainer(
    sb,
    { name: 'app', attempt: 0, image: 'busybox', userImage: 'busybox', command: ['sh', '-c', 'echo booted; sleep 3600'], args: [], env: [{ key: 'A', value: 'b' }], labels: { ...labels, [LabelContainerName]: 'app' }, logPath: 'app/0.log' },
    sbConfig,
  );
  await rt.startContainer(id);
  const pod: Pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'default', uid: 'uid-1' },
    spec: { containers: [{ name: 'app', image: 'busybox' }] },
    status: { containerStatuses: [{ name: 'app', containerID: `simulated://${id}`, state: { running: {} }, ready: true, restartCount: 0, image: 'busybox', imageID: '' }] },
  };
  const server = await startKubeletServer({ address: '127.0.0.1', port: 0, runtime: rt, podLookup: (ns, name) => (ns === 'default' && name === 'web' ? pod : undefined), listPods: () => [pod], clock: realClock });
  t.after(() => server.stop());
  return { port: server.port };
}

function get(port: number, path: string): Promise<{ code: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ code: res.statusCode ?? 0, body }));
    })
      .on('error', reject)
      .end();
  });
}

/** Runs an exec over WebSocket; returns what arrived per channel. */
function wsExec(port: number, path: string, protocol: string, stdin?: string): Promise<Record<number, string>> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`wss://127.0.0.1:${port}${path}`, [protocol], { rejectUnauthorized: false });
    const got: Record<number, string> = {};
    ws.on('open', () => {
      if (stdin !== undefined) {
        ws.send(encodeChannelMessage(protocol, 0, Buffer.from(stdin)));
        ws.send(Buffer.from([255, 0]));
      }
    });
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      const m = decodeChannelMessage(protocol, isBinary ? data : data.toString());
      if (m) got[m.channel] = (got[m.channel] ?? '') + m.data.toString();
    });
    ws.on('close', () => resolve(got));
    ws.on('error', reject);
  });
}

test('kubelet server: healthz, pods, logs and their errors', async (t) => {
  const { port } = await fixture(t);
  assert.deepEqual(await get(port, '/healthz'), { code: 200, body: 'ok' });
  const pods = JSON.parse((await get(port, '/pods')).body) as { kind: string; items: Pod[] };
  assert.equal(pods.kind, 'PodList');
  assert.equal(pods.items[0]!.metadata!.name, 'web');
  assert.deepEqual(await get(port, '/containerLogs/default/web/app'), { code: 200, body: 'simulated container app started\nbooted\n' });
  assert.deepEqual(await get(port, '/containerLogs/default/web/app?tailLines=1'), { code: 200, body: 'booted\n' });
  assert.deepEqual(await get(port, '/containerLogs/default/nope/app'), { code: 404, body: 'pod "nope" does not exist' });
  assert.deepEqual(await get(port, '/containerLogs/default/web/x'), { code: 404, body: 'container "x" not found in pod "web"' });
  assert.deepEqual(await get(port, '/containerLogs/default/web/app?previous=true'), { code: 400, body: 'previous terminated container "app" in pod "web" not found' });
  assert.equal((await get(port, '/nothing')).code, 404);
});

test('kubelet server: exec over v5, v4 and base64 WebSocket protocols', async (t) => {
  const { port } = await fixture(t);
  const v5 = await wsExec(port, '/exec/default/web/app?command=echo&command=hi&output=1&error=1', 'v5.channel.k8s.io');
  assert.equal(v5[1], 'hi\n');
  assert.deepEqual(JSON.parse(v5[3]!), { metadata: {}, status: 'Success' });
  const code = await wsExec(port, '/exec/default/web/app?command=sh&command=-c&command=exit+4&output=1&error=1', 'v4.channel.k8s.io');
  assert.equal(JSON.parse(code[3]!).details.causes[0].message, '4');
  const cat = await wsExec(port, '/exec/default/web/app?command=cat&input=1&output=1&error=1', 'v5.channel.k8s.io', 'through stdin');
  assert.equal(cat[1], 'through stdin');
  const b64 = await wsExec(port, '/exec/default/web/app?command=hostname&output=1', 'v4.base64.channel.k8s.io');
  assert.equal(b64[1], 'web\n');
  const refused = await wsExec(port, '/exec/default/web/app?command=nginx&output=1', 'v5.channel.k8s.io');
  assert.match(JSON.parse(refused[3]!).message, /^Internal error occurred: error executing command in container: simulated runtime runs no processes/);
  // Unknown pods and containers are refused before the upgrade, as upstream.
  await assert.rejects(wsExec(port, '/exec/default/nope/app?command=true&output=1', 'v5.channel.k8s.io'), /404/);
  await assert.rejects(wsExec(port, '/exec/default/web/nope?command=true&output=1', 'v5.channel.k8s.io'), /500/);
});

test('kubelet server: port-forward over a plain SPDY upgrade', async (t) => {
  const { port } = await fixture(t);
  const roundTrip = async (conn: SpdyConnection, p: number, payload: string): Promise<{ data: string; error: string }> => {
    const h = (type: string) => ({ streamtype: [type], port: [String(p)], requestid: ['1'] });
    const error = conn.openStream(h('error'));
    error.end();
    const data = conn.openStream(h('data'));
    await Promise.all([error.waitReply(), data.waitReply()]);
    const read = (s: SpdyStream) => new Promise<string>((resolve) => {
      let out = '';
      s.on('data', (d: Buffer) => (out += d.toString()));
      s.on('end', () => resolve(out));
    });
    const errText = read(error);
    data.write(payload);
    const got = await new Promise<string>((resolve) => {
      let out = '';
      data.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.length >= payload.length || p !== 80) resolve(out);
      });
      data.on('end', () => resolve(out));
    });
    data.end();
    return { data: got, error: p === 80 ? '' : await errText };
  };

  // (The WebSocket tunnel kubectl 1.31+ uses is covered with the real kubectl in
  // test/integration/kubelet-server.test.ts: ws clients refuse its subprotocol name.)
  // Plain SPDY/3.1 upgrade (the fallback).
  const sock = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] });
  await new Promise((resolve) => sock.once('secureConnect', resolve));
  sock.write('POST /portForward/default/web HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n');
  const head = await new Promise<Buffer>((resolve) => {
    let buf = Buffer.alloc(0);
    const on = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.includes('\r\n\r\n')) {
        sock.off('data', on);
        resolve(buf);
      }
    };
    sock.on('data', on);
  });
  assert.match(head.toString(), /^HTTP\/1\.1 101 Switching Protocols\r\n[\s\S]*X-Stream-Protocol-Version: portforward\.k8s\.io/);
  const plain = new SpdyConnection({ server: false, send: (b) => sock.write(b), close: () => sock.destroy() });
  sock.on('data', (d: Buffer) => plain.feed(d));
  sock.on('close', () => plain.transportClosed());
  assert.deepEqual(await roundTrip(plain, 80, 'ping over spdy'), { data: 'ping over spdy', error: '' });
  const refused = await roundTrip(plain, 81, 'x');
  assert.match(refused.error, /^error forwarding port 81 to pod web_default, uid uid-1: simulated runtime runs no processes: nothing listens on port 81/);
  plain.close();
});
