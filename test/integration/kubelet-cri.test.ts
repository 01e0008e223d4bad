/**
 * The kubelet's CRI runtime against a real containerd (Debian's 1.6, started here with its
 * own root, state and socket under a temp dir; skipped when containerd is not installed).
 * Images come from a busybox-static root filesystem packed as an OCI archive and imported
 * with `ctr`, so no registry is needed; the sandbox ("pause") image is the same busybox
 * sleeping forever, imported under containerd's default sandbox image name. Sandboxes use
 * the host network, so no CNI configuration is involved.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FakeClient } from '../../src/client/fake.js';
import { Resources, type EventRecorder } from '../../src/client/interface.js';
import type { Pod } from '../../src/client/objects.js';
import { CriRuntime } from '../../src/kubelet/cri/runtime.js';
import { LabelPodUID } from '../../src/kubelet/runtime.js';
import { simulatedMachineInfo, startKubelet } from '../../src/kubelet/index.js';
import { realClock } from '../../src/util/clock.js';
import { silentLogger } from '../../src/util/log.js';
import { tempDir } from '../util/tmp.js';

const CONTAINERD = '/usr/bin/containerd';
const BUSYBOX = '/bin/busybox';
const haveContainerd = existsSync(CONTAINERD) && existsSync(BUSYBOX) && existsSync('/usr/bin/ctr') && process.getuid?.() === 0;

function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr || r.error?.message}`);
  return r.stdout;
}

/** An OCI image archive of a busybox-static root filesystem named `name`. */
function buildImage(dir: string, name: string, config: Record<string, unknown>): string {
  const root = join(dir, 'rootfs');
  if (!existsSync(root)) {
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'etc'), { recursive: true });
    mkdirSync(join(root, 'tmp'), { recursive: true });
    chmodSync(join(root, 'tmp'), 0o1777);
    copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
    chmodSync(join(root, 'bin/busybox'), 0o755);
    for (const applet of run(BUSYBOX, ['--list']).split('\n').filter(Boolean)) {
      if (applet !== 'busybox') symlinkSync('busybox', join(root, 'bin', applet));
    }
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
    run('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', '-C', root, '-cf', join(dir, 'layer.tar'), '.']);
  }
  const layer = readFileSync(join(dir, 'layer.tar'));
  const blob = gzipSync(layer);
  const image = Buffer.from(JSON.stringify({
    architecture: process.arch === 'arm64' ? 'arm64' : 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], ...config },
    rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] },
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: `sha256:${sha256(image)}`, size: image.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: `sha256:${sha256(blob)}`, size: blob.length }],
  }));
  const out = join(dir, `oci-${sha256(Buffer.from(name)).slice(0, 8)}`);
  mkdirSync(join(out, 'blobs/sha256'), { recursive: true });
  for (const b of [blob, image, manifest]) writeFileSync(join(out, 'blobs/sha256', sha256(b)), b);
  writeFileSync(join(out, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(join(out, 'index.json'), JSON.stringify({
    schemaVersion: 2,
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      digest: `sha256:${sha256(manifest)}`,
      size: manifest.length,
      annotations: { 'io.containerd.image.name': name },
    }],
  }));
  const tar = `${out}.tar`;
  run('tar', ['-C', out, '-cf', tar, 'oci-layout', 'index.json', 'blobs']);
  return tar;
}

interface Containerd {
  socket: string;
  proc: ChildProcess;
}

async function startContainerd(t: { after(fn: () => unknown): void }): Promise<Containerd> {
  const dir = tempDir({ after: (fn: () => void) => t.after(fn) }, 'flotilla-containerd-');
  const socket = join(dir, 'containerd.sock');
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  writeFileSync(join(dir, 'config.toml'), [
    'version = 2',
    `root = "${dir}/root"`,
    `state = "${dir}/state"`,
    '[grpc]',
    `  address = "${socket}"`,
    '[ttrpc]',
    `  address = "${socket}.ttrpc"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${dir}/opt"`,
    `[${cri}]`,
    '  sandbox_image = "registry.k8s.io/pause:3.6"',
    '  restrict_oom_score_adj = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    `[${cri}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    `[${cri}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    `[${cri}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    `  Root = "${dir}/runc"`,
    `[${cri}.cni]`,
    '  bin_dir = "/usr/lib/cni"',
    `  conf_dir = "${dir}/cni"`,
    '',
  ].join('\n'));
  const proc = spawn(CONTAINERD, ['--config', join(dir, 'config.toml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => { log += d.toString(); });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  // Never leave containerd behind, even if this process dies without running hooks.
  const killOnExit = () => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); };
  process.once('exit', killOnExit);
  t.after(async () => {
    // Sandboxes outlive containerd (their shims keep running): remove them first, so a
    // failed test leaves no processes or mounts behind.
    const rt = new CriRuntime({ endpoint: socket, timeoutMs: 10_000 });
    try {
      for (const sb of await rt.listPodSandbox()) {
        await rt.stopPodSandbox(sb.id);
        await rt.removePodSandbox(sb.id);
      }
    } catch {
      // containerd already gone: nothing more we can do through it.
    } finally {
      rt.close();
    }
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
    process.removeListener('exit', killOnExit);
  });
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (Date.now() > deadline) throw new Error(`containerd did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const images = join(dir, 'images');
  mkdirSync(images);
  for (const [name, config] of [
    ['docker.io/library/busybox:latest', { Cmd: ['sh'] }],
    ['registry.k8s.io/pause:3.6', { Entrypoint: ['/bin/sleep', '2147483647'] }],
  ] as const) {
    run('/usr/bin/ctr', ['--address', socket, '-n', 'k8s.io', 'images', 'import', buildImage(images, name, config)]);
  }
  return { socket, proc };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('CRI runtime: sandbox, image, container lifecycle and exit codes on containerd', { skip: !haveContainerd && 'containerd, ctr or busybox not installed (or not root)' }, async (t) => {
  const ctd = await startContainerd(t);
  const rt = new CriRuntime({ endpoint: ctd.socket });
  t.after(() => rt.close());
  const v = await rt.version();
  assert.equal(v.runtimeName, 'containerd');
  assert.equal(v.runtimeApiVersion, 'v1');

  assert.equal(await rt.imageStatus('busybox:does-not-exist'), undefined);
  const img = await rt.imageStatus('busybox');
  assert.ok(img);
  assert.deepEqual(img.repoTags, ['docker.io/library/busybox:latest']);

  const labels = { [LabelPodUID]: 'uid-1' };
  const sandboxConfig = { name: 'p', namespace: 'default', uid: 'uid-1', attempt: 0, labels, hostNetwork: true };
  const sb = await rt.runPodSandbox(sandboxConfig);
  const sbs = await rt.podSandboxStatus(sb);
  assert.equal(sbs.state, 'ready');
  assert.deepEqual((await rt.listPodSandbox({ labelSelector: labels })).map((s) => s.id), [sb]);

  const id = await rt.createContainer(sb, {
    name: 'c',
    attempt: 0,
    image: img.id,
    userImage: 'busybox',
    command: ['sh', '-c', 'exit 3'],
    args: [],
    env: [{ key: 'A', value: 'b' }],
    labels: { ...labels, 'io.kubernetes.container.name': 'c' },
  }, sandboxConfig);
  assert.equal((await rt.containerStatus(id)).state, 'created');
  await rt.startContainer(id);
  const done = await until('exit', async () => {
    const s = await rt.containerStatus(id);
    return s.state === 'exited' ? s : undefined;
  });
  assert.equal(done.exitCode, 3);
  assert.equal(done.reason, 'Error');
  // containerd may stamp a fast exit before it records the start: only both being set is certain.
  assert.ok(done.startedAt > 0 && done.finishedAt > 0);
  assert.equal(done.name, 'c');
  const listed = await rt.listContainers({ labelSelector: labels });
  assert.deepEqual(listed.map((c) => [c.id, c.podSandboxId, c.state]), [[id, sb, 'exited']]);

  await rt.removeContainer(id);
  await rt.stopPodSandbox(sb);
  assert.equal((await rt.podSandboxStatus(sb)).state, 'notready');
  await rt.removePodSandbox(sb);
  assert.deepEqual(await rt.listPodSandbox({ labelSelector: labels }), []);
});

test('the kubelet runs a pod on containerd through the CRI runtime and deletes it', { skip: !haveContainerd && 'containerd, ctr or busybox not installed (or not root)' }, async (t) => {
  const ctd = await startContainerd(t);
  const rt = new CriRuntime({ endpoint: ctd.socket });
  t.after(() => rt.close());
  const fake = new FakeClient();
  const events: string[] = [];
  const recorder: EventRecorder = { event: (_o, _type, reason, message) => events.push(`${reason}: ${message}`) };
  const kubelet = await startKubelet({
    client: fake,
    nodeName: 'n1',
    runtime: rt,
    clock: realClock,
    logger: silentLogger(),
    machine: simulatedMachineInfo({ name: 'n1', internalIP: '127.0.0.1' }),
    recorder,
  });
  t.after(() => kubelet.stop());
  const pods = fake.resource<Pod>(Resources.pods, 'default');
  await pods.create({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'sleeper', namespace: 'default' },
    spec: {
      nodeName: 'n1',
      hostNetwork: true,
      restartPolicy: 'Always',
      containers: [{ name: 'main', image: 'busybox', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
    },
  });
  const running = await until('Running', async () => {
    const p = await pods.get('sleeper');
    return p.status?.phase === 'Running' ? p : undefined;
  });
  const cs = running.status!.containerStatuses![0]!;
  assert.match(cs.containerID!, /^containerd:\/\/[0-9a-f]{64}$/);
  assert.equal(cs.image, 'docker.io/library/busybox:latest');
  assert.equal(cs.ready, true);
  assert.equal(running.status!.podIP, '127.0.0.1', 'host network pods have the node IP');
  assert.ok(events.includes('Pulled: Container image "busybox" already present on machine'));

  await pods.delete('sleeper');
  await until('containers removed', async () => ((await rt.listContainers()).length === 0 ? true : undefined));
});
