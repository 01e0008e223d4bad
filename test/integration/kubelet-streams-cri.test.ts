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
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { restClientFromKubeconfig } from '../../src/client/rest.js';
import { simulatedMachineInfo, startKubelet } from '../../src/kubelet/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { NginxWelcome } from '../util/images.js';
import { KUBECTL, portForward, spawnKubectl, startTestApiServer, type TestApiServer } from '../util/kubectl.js';
import { fetchText } from '../util/net.js';
import { skipWithoutCni, startNodeContainerd } from '../util/node-containerd.js';
import { eventuallyValue } from '../util/wait.js';

const skip = skipWithoutCni;

const NODE = 'stream-node';

async function run(api: TestApiServer, name: string, image: string, args: string[], extra: string[] = []): Promise<void> {
  const overrides = JSON.stringify({ spec: { nodeName: NODE } });
  await api.ok(['run', name, `--image=${image}`, '--image-pull-policy=IfNotPresent', '--overrides', overrides, ...extra, ...(args.length ? ['--', ...args] : [])]);
}

async function running(api: TestApiServer, name: string): Promise<void> {
  await eventuallyValue(`pod ${name} Running`, async () => {
    const phase = await api.ok(['get', 'pod', name, '-o', 'jsonpath={.status.phase}']);
    return phase === 'Running' || undefined;
  }, 60_000);
}

test('kubectl logs, exec, attach and port-forward on containerd through the API server and the kubelet', { skip }, async (t) => {
  const podCIDR = `10.${160 + (process.pid % 20)}.${process.pid % 250}.0/24`;
  const api = await startTestApiServer(t);
  const client = await restClientFromKubeconfig(api.kubeconfigPath, 'kubelet');
  const node: { kubelet?: Awaited<ReturnType<typeof startKubelet>> } = {};
  // Registered before containerd's hook, so it runs first (after-hooks run in registration
  // order): the kubelet stops before containerd goes with every pod, shim and mount.
  t.after(async () => {
    await node.kubelet?.stop();
    await client.close();
  });
  const { cri: rt, dataDir } = await startNodeContainerd(t, { prefix: 'flotilla-streams-', podCIDR, images: ['busybox', 'nginx', 'pause'] });
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
    const all = await eventuallyValue('three lines of log', async () => {
      const out = await api.ok(['logs', 'talker']);
      return out.split('\n').length >= 4 ? out : undefined;
    }, 60_000);
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
    await eventuallyValue('a restart', async () => {
      const n = await api.ok(['get', 'pod', 'restarter', '-o', 'jsonpath={.status.containerStatuses[0].restartCount}']);
      return Number(n) >= 1 || undefined;
    }, 60_000);
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
    const cat = await api.kubectl(['exec', '-i', 'talker', '--', 'sh', '-c', 'cat; echo done'], { input: 'piped in\n', timeoutMs: 60_000 });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(cat.stdout, 'piped in\ndone\n');
    const it = await api.kubectl(['exec', '-it', 'talker', '--', 'sh', '-c', 'read x; echo got $x'], { input: 'typed\n', timeoutMs: 60_000 });
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
    const { pf, localPorts: [port] } = await portForward(t, api.kubeconfigPath, 'pod/web', [80], { timeoutMs: 30_000 });
    // httpd may take a moment to listen after the container starts.
    const body = await eventuallyValue('httpd through port-forward', async () => {
      const b = await fetchText(port).catch(() => '');
      return b.includes(NginxWelcome) ? b : undefined;
    }, 60_000);
    assert.ok(body.includes(NginxWelcome));
    assert.ok((await fetchText(port)).includes(NginxWelcome));
    await pf.kill();
  });
});
