/**
 * Streaming on real containers: a node-owned containerd (CNI bridge, images from test
 * archives), the kubelet with its HTTPS server, a real API server, and the real kubectl for
 * `logs` (-f, --previous, --tail, --timestamps), `exec` (with and without -i/-t, exit
 * codes, a real pseudo-terminal with its size), `attach` and `port-forward` to busybox
 * httpd. Everything goes kubectl → API server → kubelet → containerd's stream server. Skipped without root, containerd, ctr,
 * busybox-static or the CNI plugins.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { containerdDirOf, startContainerd } from '../../src/kubelet/containerd/index.js';
import { CriRuntime } from '../../src/kubelet/cri/runtime.js';
import { simulatedMachineInfo, startKubelet } from '../../src/kubelet/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { importTestImages, NginxWelcome } from '../util/images.js';
import { KUBECTL, spawnKubectl, startTestApiServer, type TestApiServer } from '../util/kubectl.js';

const canRun =
  process.platform === 'linux' &&
  process.getuid?.() === 0 &&
  existsSync('/usr/bin/containerd') &&
  existsSync('/usr/bin/ctr') &&
  existsSync('/bin/busybox') &&
  existsSync('/usr/lib/cni/bridge') &&
  existsSync('/usr/lib/cni/host-local');
const skip = !canRun && 'needs root, containerd, ctr, busybox-static and the CNI plugins';

const NODE = 'stream-node';

/** Polls fn until it returns a value (bounded; never a speed check). */
async function eventually<V>(what: string, fn: () => Promise<V | undefined | null | false>, timeoutMs = 60_000): Promise<V> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function kubectlWithInput(kubeconfig: string, args: string[], input: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
    p.on('error', reject);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    p.stdin.end(input);
  });
}

function fetchText(port: number, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    httpGet({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(body));
    }).on('error', reject);
  });
}

async function run(api: TestApiServer, name: string, image: string, args: string[], extra: string[] = []): Promise<void> {
  const overrides = JSON.stringify({ spec: { nodeName: NODE } });
  await api.ok(['run', name, `--image=${image}`, '--image-pull-policy=IfNotPresent', '--overrides', overrides, ...extra, ...(args.length ? ['--', ...args] : [])]);
}

async function running(api: TestApiServer, name: string): Promise<void> {
  await eventually(`pod ${name} Running`, async () => {
    const phase = await api.ok(['get', 'pod', name, '-o', 'jsonpath={.status.phase}']);
    return phase === 'Running' || undefined;
  });
}

test('kubectl logs, exec, attach and port-forward on containerd through the API server and the kubelet', { skip }, async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'flotilla-streams-'));
  const podCIDR = `10.${160 + (process.pid % 20)}.${process.pid % 250}.0/24`;
  const api = await startTestApiServer(t);
  const ctd = await startContainerd({ dir: containerdDirOf(dataDir), podCIDR, logger: silentLogger() });
  const rt = new CriRuntime({ endpoint: ctd.socket, timeoutMs: 30_000 });
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet');
  const node: { kubelet?: Awaited<ReturnType<typeof startKubelet>> } = {};
  // One hook, in this order: no pod, shim or mount may outlive the test.
  t.after(async () => {
    await node.kubelet?.stop();
    await client.close();
    rt.close();
    await ctd.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  await importTestImages(ctd.socket);
  node.kubelet = await startKubelet({
    client,
    nodeName: NODE,
    runtime: rt,
    clock: realClock,
    logger: silentLogger(),
    podCIDR,
    podLogsDir: join(dataDir, 'pod-logs'),
    machine: simulatedMachineInfo({ name: NODE, internalIP: '127.0.0.1' }),
    serverPort: 0,
    serverAddress: '127.0.0.1',
  });

  await t.test('logs: whole, --tail, --timestamps, -f until the container exits', async () => {
    await run(api, 'talker', 'busybox', ['sh', '-c', 'echo one; echo two; echo three; sleep 3600']);
    await running(api, 'talker');
    const all = await eventually('three lines of log', async () => {
      const out = await api.ok(['logs', 'talker']);
      return out.split('\n').length >= 4 ? out : undefined;
    });
    assert.equal(all, 'one\ntwo\nthree\n');
    assert.equal(await api.ok(['logs', 'talker', '--tail=1']), 'three\n');
    assert.match(await api.ok(['logs', 'talker', '--timestamps']), /^\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d) one\n/);

    await run(api, 'short', 'busybox', ['sh', '-c', 'echo first; sleep 2; echo last >&2'], ['--restart=Never']);
    await running(api, 'short');
    const follow = await api.kubectl(['logs', '-f', 'short'], { timeoutMs: 60_000 });
    assert.equal(follow.code, 0, follow.stderr);
    assert.equal(follow.stdout, 'first\nlast\n');
  });

  await t.test('logs --previous after a restart', async () => {
    await run(api, 'restarter', 'busybox', ['sh', '-c', 'echo previous run; sleep 1; exit 1']);
    await eventually('a restart', async () => {
      const n = await api.ok(['get', 'pod', 'restarter', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']);
      return Number(n) >= 1 || undefined;
    });
    const prev = await api.ok(['logs', 'restarter', '--previous']);
    assert.equal(prev, 'previous run\n');
  });

  await t.test('exec: output, exit codes, stdin, -it, a missing binary', async () => {
    assert.equal(await api.ok(['exec', 'talker', '--', 'echo', 'hello', 'exec']), 'hello exec\n');
    assert.equal(await api.ok(['exec', 'talker', '--', 'hostname']), 'talker\n');
    const failed = await api.kubectl(['exec', 'talker', '--', 'sh', '-c', 'echo to-stderr >&2; exit 7']);
    assert.equal(failed.code, 7);
    assert.match(failed.stderr, /to-stderr\n/);
    assert.match(failed.stderr, /command terminated with exit code 7/);
    const cat = await kubectlWithInput(api.kubeconfigPath, ['exec', '-i', 'talker', '--', 'sh', '-c', 'cat; echo done'], 'piped in\n');
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'piped in\ndone\n');
    const it = await kubectlWithInput(api.kubeconfigPath, ['exec', '-it', 'talker', '--', 'sh', '-c', 'read x; echo got $x'], 'typed\n');
    assert.equal(it.code, 0, it.stderr);
    assert.match(it.stdout, /got typed/);
    const missing = await api.kubectl(['exec', 'talker', '--', 'no-such-binary']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /no-such-binary/);
  });

  await t.test('exec -it on a real terminal: a tty of the requested size, exit code', { skip: !existsSync('/usr/bin/script') && 'needs script(1) for a pseudo-terminal' }, async () => {
    // script(1) gives kubectl a pseudo-terminal, so it asks for a TTY and sends its size
    // (which may land just after the command starts, as upstream: the loop waits for it).
    const cmd = `stty cols 101 rows 31; ${KUBECTL} --kubeconfig ${api.kubeconfigPath} exec -it talker -- sh -c 'tty; until s=$(stty size 2>/dev/null) && [ -n "$s" ] && [ "$s" != "0 0" ]; do sleep 0.1; done; echo $s; exit 3'`;
    const p = spawn('/usr/bin/script', ['-qec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => p.kill('SIGKILL'), 60_000);
      p.on('close', (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    assert.equal(code, 3, out);
    assert.match(out, /^\/dev\/pts\/\d+\r\n31 101\r\ncommand terminated with exit code 3\r\n$/);
  });

  await t.test('attach shows the main process output', async () => {
    await run(api, 'ticker', 'busybox', ['sh', '-c', 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 1; done']);
    await running(api, 'ticker');
    const attach = spawnKubectl(api.kubeconfigPath, ['attach', 'ticker']);
    t.after(() => attach.kill());
    await attach.waitFor(/tick \d+\n/, 30_000);
    await attach.kill();
  });

  await t.test('port-forward to busybox httpd', async () => {
    await run(api, 'web', 'nginx', [], ['--port=80']);
    await running(api, 'web');
    const pf = spawnKubectl(api.kubeconfigPath, ['port-forward', 'pod/web', ':80']);
    t.after(() => pf.kill());
    await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) -> 80/, 30_000);
    const port = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(pf.stdout())![1]);
    // httpd may take a moment to listen after the container starts.
    const body = await eventually('httpd through port-forward', async () => {
      const b = await fetchText(port).catch(() => '');
      return b.includes(NginxWelcome) ? b : undefined;
    });
    assert.ok(body.includes(NginxWelcome));
    assert.ok((await fetchText(port)).includes(NginxWelcome));
    await pf.kill();
  });
});
