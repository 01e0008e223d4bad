/**
 * The real kubectl on workload and service objects (as far as src/api defines them):
 * `kubectl run`, `create deployment` (protobuf bodies), `scale`, `expose` with ClusterIP
 * and NodePort allocation, `get all`.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { allResources } from '../../src/api/registry.js';
import { ensurePKI } from '../../src/apiserver/pki.js';
import { KUBECTL, startTestApiServer, type TestApiServer } from '../util/kubectl.js';
import { tempDir } from '../util/tmp.js';

const has = (group: string, resource: string) => allResources.some((r) => r.group === group && r.resource === resource);
const skip = !existsSync(KUBECTL)
  ? 'kubectl is not installed'
  : !(has('', 'pods') && has('', 'services') && has('apps', 'deployments'))
    ? 'pods, services and deployments are not defined yet'
    : false;

describe('kubectl workloads and services', { skip }, () => {
  let api: TestApiServer;
  const hooks: (() => unknown)[] = [];
  before(async () => {
    api = await startTestApiServer({ after: (fn) => { hooks.push(fn); } });
  });
  after(async () => {
    for (const h of hooks.reverse()) await h();
  });

  test('the kubernetes service has 10.96.0.1', async () => {
    assert.match(await api.ok(['get', 'svc', 'kubernetes']), /^kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP/m);
  });

  test('kubectl run makes a pending pod', async () => {
    assert.equal((await api.ok(['run', 'nginx', '--image=nginx'])).trim(), 'pod/nginx created');
    assert.match(await api.ok(['get', 'pods']), /^nginx\s+0\/1\s+Pending\s+0\s+/m);
    const pod = JSON.parse(await api.ok(['get', 'pod', 'nginx', '-o', 'json'])) as { spec: { containers: { image: string }[] }; metadata: { labels: Record<string, string> } };
    assert.equal(pod.spec.containers[0]!.image, 'nginx');
    assert.deepEqual(pod.metadata.labels, { run: 'nginx' });
    assert.equal((await api.ok(['delete', 'pod', 'nginx'])).trim(), 'pod "nginx" deleted');
  });

  test('create deployment, scale through the scale subresource', async () => {
    assert.equal((await api.ok(['create', 'deployment', 'web', '--image=nginx', '--replicas=2'])).trim(), 'deployment.apps/web created');
    assert.equal((await api.ok(['scale', 'deployment', 'web', '--replicas=4'])).trim(), 'deployment.apps/web scaled');
    assert.equal(await api.ok(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}']), '4');
    const scale = JSON.parse(await api.ok(['get', '--raw', '/apis/apps/v1/namespaces/default/deployments/web/scale'])) as { kind: string; spec: { replicas: number }; status: { selector: string } };
    assert.equal(scale.kind, 'Scale');
    assert.equal(scale.spec.replicas, 4);
    assert.equal(scale.status.selector, 'app=web');
  });

  test('expose allocates a ClusterIP and a NodePort; taken node ports are refused', async () => {
    assert.equal((await api.ok(['expose', 'deployment', 'web', '--port=80', '--type=NodePort'])).trim(), 'service/web exposed');
    const svc = JSON.parse(await api.ok(['get', 'svc', 'web', '-o', 'json'])) as { spec: { clusterIP: string; clusterIPs: string[]; ports: { nodePort: number }[] } };
    assert.match(svc.spec.clusterIP, /^10\.(9[6-9]|10\d|11[01])\.\d+\.\d+$/);
    assert.deepEqual(svc.spec.clusterIPs, [svc.spec.clusterIP]);
    const nodePort = svc.spec.ports[0]!.nodePort;
    assert.ok(nodePort >= 30000 && nodePort <= 32767);
    // A replace that omits the allocated values keeps them.
    const manifest = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { type: 'NodePort', selector: { app: 'web' }, ports: [{ port: 80, targetPort: 80 }] } };
    await api.ok(['replace', '-f', '-'], { input: JSON.stringify(manifest) });
    const replaced = JSON.parse(await api.ok(['get', 'svc', 'web', '-o', 'json'])) as typeof svc;
    assert.equal(replaced.spec.clusterIP, svc.spec.clusterIP);
    assert.equal(replaced.spec.ports[0]!.nodePort, nodePort);
    const dup = await api.kubectl(['create', 'service', 'nodeport', 'dup', '--tcp=80', `--node-port=${nodePort}`]);
    assert.notEqual(dup.code, 0);
    assert.match(dup.stderr, new RegExp(`Service "dup" is invalid: spec\\.ports\\[0\\]\\.nodePort: Invalid value: ${nodePort}: provided port is already allocated`));
  });

  test('kubectl logs and exec reach the node\'s kubelet', async (t) => {
    // A stand-in kubelet: serves /containerLogs over TLS and records the client certificate.
    const pki = await ensurePKI({ dataDir: tempDir(t) });
    let clientCN = '';
    let path = '';
    const kubelet = createServer({ cert: pki.certPem, key: pki.keyPem, requestCert: true, rejectUnauthorized: false }, (req, res) => {
      clientCN = String((req.socket as TLSSocket).getPeerCertificate()?.subject?.CN ?? '');
      path = req.url ?? '';
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('hello from the kubelet\n');
    });
    await new Promise<void>((r) => kubelet.listen(0, '127.0.0.1', () => r()));
    t.after(() => new Promise<void>((r) => kubelet.close(() => r())));
    const port = (kubelet.address() as AddressInfo).port;

    await api.ok(['create', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-1' } }) });
    await api.ok(['patch', 'node', 'node-1', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: { addresses: [{ type: 'InternalIP', address: '127.0.0.1' }], daemonEndpoints: { kubeletEndpoint: { Port: port } } },
    })]);
    await api.ok(['run', 'logger', '--image=busybox']);
    const pending = await api.kubectl(['logs', 'logger']);
    assert.match(pending.stderr, /container "logger" in pod "logger" is waiting to start: ContainerCreating/);
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'logger' }, target: { kind: 'Node', name: 'node-1' } };
    await api.ok(['create', '--raw', '/api/v1/namespaces/default/pods/logger/binding', '-f', '-'], { input: JSON.stringify(binding) });
    await api.ok(['patch', 'pod', 'logger', '--subresource=status', '--type=merge', '-p', JSON.stringify({
      status: { phase: 'Running', containerStatuses: [{ name: 'logger', image: 'busybox', imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: '2026-01-01T00:00:00Z' } } }] },
    })]);
    assert.equal(await api.ok(['logs', 'logger', '--tail=5']), 'hello from the kubelet\n');
    assert.equal(path, '/containerLogs/default/logger/logger?tailLines=5');
    assert.equal(clientCN, 'kube-apiserver-kubelet-client');

    // exec: the upgrade is proxied to the kubelet, which speaks v5.channel.k8s.io here.
    kubelet.on('upgrade', (req: IncomingMessage, socket: Duplex) => {
      path = req.url ?? '';
      const accept = createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Protocol: v5.channel.k8s.io\r\n\r\n`);
      const frame = (channel: number, text: string) => {
        const payload = Buffer.concat([Buffer.from([channel]), Buffer.from(text)]);
        return Buffer.concat([Buffer.from([0x82, payload.length]), payload]);
      };
      socket.write(frame(1, 'hi from exec\n'));
      socket.write(frame(3, JSON.stringify({ metadata: {}, status: 'Success' })));
      socket.end(Buffer.from([0x88, 0x00]));
    });
    const out = await api.kubectl(['exec', 'logger', '--', 'echo', 'hi']);
    assert.equal(out.stdout, 'hi from exec\n', out.stderr);
    assert.equal(path, '/exec/default/logger/logger?command=echo&command=hi&error=1&output=1');
  });

  test('get all shows the deployment and services', async () => {
    const out = await api.ok(['get', 'all']);
    assert.match(out, /^service\/web\s+NodePort\s+/m);
    assert.match(out, /^deployment\.apps\/web\s+/m);
  });
});
