import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Client } from '../client/interface.js';
import type { PodSpec } from '../client/objects.js';
import type { Logger } from '../util/log.js';
import { silentLogger } from '../util/log.js';
import { applyStaticPodDefaults, decodeStaticPodManifest } from '../kubelet/static.js';
import {
  ComponentLogFiles,
  ControlPlaneImages,
  LabelNodeRoleControlPlane,
  POD_LOG_DIR,
  StandInAnnotation,
  StandInPaths,
  addonServiceAccounts,
  componentLogDir,
  controlPlaneImageSpecs,
  coreDNSDeployment,
  kubeProxyDaemonSet,
  markControlPlaneNode,
  parseLdd,
  standInFingerprint,
  standInImagesToBuild,
  standInScript,
  staticPodManifests,
  writeStaticPodManifests,
  type ControlPlaneParams,
} from './controlplane.js';

const params: ControlPlaneParams = { dataDir: '/var/lib/flotilla', nodeName: 'Node-1', nodeHostname: 'host-a', etcdPort: 2379, apiPort: 6443, podCIDR: '10.244.0.0/24', dnsAddress: '10.244.0.1' };

function tempDir(t: { after(fn: () => void): void }): string {
  const d = mkdtempSync(join(tmpdir(), 'controlplane-test-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

test('the static pods are kubeadm\'s four, labelled, on the host network, decodable as the kubelet reads them', () => {
  const m = staticPodManifests(params);
  assert.deepEqual(Object.keys(m).sort(), ['etcd.yaml', 'kube-apiserver.yaml', 'kube-controller-manager.yaml', 'kube-scheduler.yaml']);
  for (const [file, pod] of Object.entries(m)) {
    const name = file.replace(/\.yaml$/, '');
    const decoded = decodeStaticPodManifest(stringify(pod));
    assert.deepEqual(decoded, pod);
    const mirror = applyStaticPodDefaults(decoded, { source: file, nodeName: 'node-1', seen: 'x' });
    assert.equal(mirror.metadata?.name, `${name}-node-1`);
    assert.equal(mirror.metadata?.namespace, 'kube-system');
    assert.deepEqual(pod.metadata?.labels, { component: name, tier: 'control-plane' });
    assert.match(pod.metadata?.annotations?.[StandInAnnotation] ?? '', new RegExp(`^${name} runs inside the flotilla up process`));
    assert.equal(pod.spec?.hostNetwork, true);
    assert.equal(pod.spec?.priorityClassName, 'system-node-critical');
    const c = pod.spec!.containers[0]!;
    assert.equal(c.name, name);
    assert.equal(c.image, ControlPlaneImages[name as keyof typeof ControlPlaneImages]);
    assert.equal(c.imagePullPolicy, 'IfNotPresent');
    assert.equal(c.command?.[0], name);
  }
});

test('the stand-ins probe the real components where they have an endpoint', () => {
  const m = staticPodManifests(params);
  const etcd = m['etcd.yaml']!.spec!.containers[0]!;
  assert.deepEqual(etcd.readinessProbe?.httpGet, { host: '127.0.0.1', path: '/health', port: 2379, scheme: 'HTTP' });
  assert.deepEqual(etcd.env?.slice(0, 2), [{ name: 'ETCDCTL_API', value: '3' }, { name: 'ETCDCTL_ENDPOINTS', value: 'http://127.0.0.1:2379' }]);
  assert.ok(etcd.command?.includes('--listen-client-urls=http://127.0.0.1:2379'));
  assert.ok(etcd.command?.includes('--data-dir=/var/lib/flotilla/etcd'));
  const api = m['kube-apiserver.yaml']!.spec!.containers[0]!;
  assert.deepEqual(api.readinessProbe?.httpGet, { host: '127.0.0.1', path: '/readyz', port: 6443, scheme: 'HTTPS' });
  assert.ok(api.command?.includes('--secure-port=6443'));
  assert.equal(m['kube-apiserver.yaml']!.metadata?.annotations?.['kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint'], '127.0.0.1:6443');
  assert.equal(m['kube-scheduler.yaml']!.spec!.containers[0]!.readinessProbe, undefined);
  assert.equal(m['kube-controller-manager.yaml']!.spec!.containers[0]!.readinessProbe, undefined);
});

test('settings up was given beyond the defaults are on the command line of the component that uses them, flags sorted', () => {
  const m = staticPodManifests({ ...params, extraFlags: { 'kube-controller-manager': ['--node-monitor-grace-period=20s', '--node-monitor-period=1s'], 'kube-apiserver': ['--default-not-ready-toleration-seconds=10'] } });
  const cm = m['kube-controller-manager.yaml']!.spec!.containers[0]!.command!;
  assert.equal(cm[0], 'kube-controller-manager');
  assert.ok(cm.includes('--node-monitor-grace-period=20s') && cm.includes('--node-monitor-period=1s'), cm.join(' '));
  assert.deepEqual(cm.slice(1), [...cm.slice(1)].sort());
  const api = m['kube-apiserver.yaml']!.spec!.containers[0]!.command!;
  assert.equal(api[0], 'kube-apiserver');
  assert.ok(api.includes('--default-not-ready-toleration-seconds=10'), api.join(' '));
  assert.deepEqual(api.slice(1), [...api.slice(1)].sort());
  // Without them, none of these flags.
  assert.ok(!staticPodManifests(params)['kube-controller-manager.yaml']!.spec!.containers[0]!.command!.some((a) => a.startsWith('--node-monitor')));
});

test('kube-proxy is a DaemonSet on this node that tolerates every taint; a probe only with a health port', () => {
  const ds = kubeProxyDaemonSet({ ...params, proxy: { mode: 'iptables' } });
  assert.equal(ds.metadata?.name, 'kube-proxy');
  assert.equal(ds.metadata?.namespace, 'kube-system');
  assert.deepEqual(ds.spec?.selector.matchLabels, { 'k8s-app': 'kube-proxy' });
  const tpl = ds.spec!.template;
  assert.deepEqual(tpl.metadata?.labels, { 'k8s-app': 'kube-proxy' });
  assert.equal(tpl.spec?.hostNetwork, true);
  assert.equal(tpl.spec?.serviceAccountName, 'kube-proxy');
  assert.deepEqual(tpl.spec?.tolerations, [{ operator: 'Exists' }]);
  assert.deepEqual(tpl.spec?.nodeSelector, { 'kubernetes.io/os': 'linux', 'kubernetes.io/hostname': 'host-a' });
  const c = tpl.spec!.containers[0]!;
  assert.deepEqual(c.command, [StandInPaths['kube-proxy'], '--proxy-mode=iptables', '--cluster-cidr=10.244.0.0/24', '--hostname-override=$(NODE_NAME)']);
  assert.equal(c.readinessProbe, undefined);
  const withHealth = kubeProxyDaemonSet({ ...params, proxy: { mode: 'userspace', healthPort: 10256 } }).spec!.template.spec!.containers[0]!;
  assert.deepEqual(withHealth.readinessProbe?.httpGet, { host: '127.0.0.1', path: '/healthz', port: 10256, scheme: 'HTTP' });
});

test('coredns is a one-replica Deployment labelled k8s-app=kube-dns, probing the DNS server when one runs', () => {
  const d = coreDNSDeployment(params);
  assert.equal(d.metadata?.name, 'coredns');
  assert.equal(d.spec?.replicas, 1);
  assert.deepEqual(d.spec?.selector.matchLabels, { 'k8s-app': 'kube-dns' });
  assert.deepEqual(d.spec?.template.metadata?.labels, { 'k8s-app': 'kube-dns' });
  const c = d.spec!.template.spec!.containers[0]!;
  assert.equal(c.image, 'registry.k8s.io/coredns/coredns:v1.11.3');
  assert.deepEqual(c.readinessProbe?.tcpSocket, { host: '10.244.0.1', port: 53 });
  assert.equal(coreDNSDeployment({ ...params, dnsAddress: undefined }).spec!.template.spec!.containers[0]!.readinessProbe, undefined);
  assert.deepEqual(addonServiceAccounts().map((s) => s.metadata?.name), ['kube-proxy', 'coredns']);
});

const lddCases: Array<{ name: string; out: string; want: string[] | RegExp }> = [
  {
    name: 'libc and the interpreter, vdso skipped',
    out: '\tlinux-vdso.so.1 (0x00007ffd)\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f)\n\t/lib64/ld-linux-x86-64.so.2 (0x00007f)\n',
    want: ['/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2'],
  },
  { name: 'a static binary lists nothing', out: '\tnot a dynamic executable\n', want: [] },
  { name: 'a missing library is an error', out: '\tlibfoo.so.1 => not found\n', want: /a library is missing: libfoo\.so\.1 => not found/ },
];
for (const tc of lddCases) {
  test(`parseLdd: ${tc.name}`, () => {
    if (tc.want instanceof RegExp) assert.throws(() => parseLdd(tc.out), tc.want);
    else assert.deepEqual(parseLdd(tc.out), tc.want);
  });
}

/** Runs the stand-in script with /bin/sh on the host; stop() sends SIGTERM and resolves the exit code. */
function runStandIn(env: Record<string, string>) {
  const proc = spawn('/bin/sh', ['-c', standInScript('kube-scheduler'), 'kube-scheduler', '--leader-elect=true'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return {
    out: () => out,
    async waitFor(text: string) {
      while (!out.includes(text)) {
        if (proc.exitCode !== null) throw new Error(`the stand-in exited ${proc.exitCode} before printing ${JSON.stringify(text)}:\n${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    stop() {
      proc.kill('SIGTERM');
      return exited;
    },
  };
}

test('the stand-in script says what it is and exits 0 on SIGTERM', async () => {
  const s = runStandIn({});
  await s.waitFor('log is on');
  assert.equal(await s.stop(), 0);
  assert.match(s.out(), /kube-scheduler runs inside the 'flotilla up' process/);
  assert.match(s.out(), /kube-scheduler settings: --leader-elect=true/);
  assert.match(s.out(), /kube-scheduler's log is on flotilla up's stderr \(no log file at FLOTILLA_LOG_FILE unset\)/);
});

test('the stand-in script follows its log file from the first line, across a rotation', { skip: spawnSync('sh', ['-c', 'command -v tail']).status === 0 ? false : 'needs tail' }, async (t) => {
  const file = join(tempDir(t), 'kube-scheduler.log');
  writeFileSync(file, '{"component":"scheduler","msg":"before the stand-in"}\n');
  const s = runStandIn({ FLOTILLA_LOG_FILE: file });
  t.after(() => s.stop());
  await s.waitFor('before the stand-in');
  appendFileSync(file, '{"component":"scheduler","msg":"while it runs"}\n');
  await s.waitFor('while it runs');
  // Rotated as RotatingLogFile does: renamed to .1, a new file in its place.
  renameSync(file, `${file}.1`);
  writeFileSync(file, '{"component":"scheduler","msg":"after the rotation"}\n');
  await s.waitFor('after the rotation');
  assert.equal(await s.stop(), 0);
  assert.match(s.out(), /^flotilla: kube-scheduler settings: --leader-elect=true\nflotilla: kube-scheduler's log follows/m);
});

test('every stand-in mounts the logs folder read-only and names its own file', () => {
  const pods: Array<[string, PodSpec | undefined]> = [
    ...Object.entries(staticPodManifests(params)).map(([f, pod]): [string, PodSpec | undefined] => [f.replace(/\.yaml$/, ''), pod.spec]),
    ['kube-proxy', kubeProxyDaemonSet({ ...params, proxy: { mode: 'iptables' } }).spec!.template.spec],
    ['coredns', coreDNSDeployment(params).spec!.template.spec],
  ];
  assert.equal(pods.length, 6);
  for (const [component, spec] of pods) {
    assert.deepEqual(spec?.volumes, [{ name: 'flotilla-logs', hostPath: { path: '/var/lib/flotilla/logs', type: 'DirectoryOrCreate' } }], component);
    const c = spec!.containers[0]!;
    assert.deepEqual(c.volumeMounts, [{ name: 'flotilla-logs', mountPath: POD_LOG_DIR, readOnly: true }], component);
    assert.deepEqual(c.env?.find((e) => e.name === 'FLOTILLA_LOG_FILE'), { name: 'FLOTILLA_LOG_FILE', value: `/var/log/flotilla/${component}.log` }, component);
  }
  assert.equal(componentLogDir('/var/lib/flotilla'), '/var/lib/flotilla/logs');
  // etcd's own variables are kept beside it.
  assert.deepEqual(staticPodManifests(params)['etcd.yaml']!.spec!.containers[0]!.env?.map((e) => e.name), ['ETCDCTL_API', 'ETCDCTL_ENDPOINTS', 'FLOTILLA_LOG_FILE']);
});

test('the loggers of up go to the files of kubeadm\'s components', () => {
  assert.deepEqual([...new Set(Object.values(ComponentLogFiles))].sort(), ['containerd', 'coredns', 'etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubelet']);
  for (const c of Object.keys(StandInPaths)) assert.ok(Object.values(ComponentLogFiles).includes(c as keyof typeof StandInPaths), `no logger writes ${c}.log`);
  assert.equal(ComponentLogFiles.scheduler, 'kube-scheduler');
  assert.equal(ComponentLogFiles.dns, 'coredns');
  assert.equal(ComponentLogFiles.mvcc, 'etcd');
});

test('the etcd image carries etcdctl with its libraries; without etcdctl it is built without it', { skip: existsSync('/usr/bin/etcdctl') ? false : 'needs /usr/bin/etcdctl (etcd-client)' }, async () => {
  const [etcd] = await controlPlaneImageSpecs({ components: ['etcd'] });
  assert.equal(etcd!.name, 'registry.k8s.io/etcd:3.4.23-0');
  const files = Object.keys(etcd!.files ?? {});
  assert.ok(files.includes('/usr/local/bin/etcd'));
  assert.ok(files.includes('/usr/local/bin/etcdctl'));
  assert.ok(files.some((f) => /ld-linux|ld-musl|ld\.so/.test(f)), files.join(' '));
  const warnings: unknown[] = [];
  const logger = { ...silentLogger(), warn: (...a: unknown[]) => { warnings.push(a); } } as unknown as Logger;
  const [bare] = await controlPlaneImageSpecs({ components: ['etcd'], etcdctl: '/nonexistent/etcdctl', logger });
  assert.deepEqual(Object.keys(bare!.files ?? {}), ['/usr/local/bin/etcd']);
  assert.equal(warnings.length, 1);
  const all = await controlPlaneImageSpecs({ components: ['coredns', 'kube-proxy'] });
  assert.deepEqual(all.map((s) => s.config?.Entrypoint ?? s.config?.Cmd), [['/coredns'], ['/usr/local/bin/kube-proxy']]);
});

test('manifests are written only when their content changes', async (t) => {
  const dir = join(tempDir(t), 'manifests');
  const m = staticPodManifests(params);
  assert.equal((await writeStaticPodManifests(dir, m)).length, 4);
  assert.deepEqual(await writeStaticPodManifests(dir, m), []);
  writeFileSync(join(dir, 'etcd.yaml'), 'edited');
  assert.deepEqual(await writeStaticPodManifests(dir, staticPodManifests({ ...params, apiPort: 7443 })), [join(dir, 'etcd.yaml'), join(dir, 'kube-apiserver.yaml')]);
  assert.match(readFileSync(join(dir, 'kube-apiserver.yaml'), 'utf8'), /--secure-port=7443/);
});

test('the control plane node gets kubeadm\'s role label by a merge patch of that label alone', async () => {
  const calls: unknown[][] = [];
  const client = { resource: (gvr: { resource: string }) => ({ patch: async (...a: unknown[]) => { calls.push([gvr.resource, ...a]); return { metadata: { name: a[0] } }; } }) } as unknown as Client;
  await markControlPlaneNode(client, 'node-1');
  assert.equal(LabelNodeRoleControlPlane, 'node-role.kubernetes.io/control-plane');
  assert.deepEqual(calls, [['nodes', 'node-1', 'application/merge-patch+json', { metadata: { labels: { 'node-role.kubernetes.io/control-plane': '' } } }, { fieldManager: 'flotilla-up' }]]);
});

test('stand-in images are built when missing or built by up with another script; others are kept', () => {
  const all = Object.values(ControlPlaneImages);
  const current = Object.fromEntries((Object.keys(ControlPlaneImages) as Array<keyof typeof ControlPlaneImages>).map((c) => [ControlPlaneImages[c], standInFingerprint(c)]));
  const cases: Array<{ name: string; present: string[]; stamp: Record<string, string>; want: string[] }> = [
    { name: 'a new containerd: all', present: [], stamp: {}, want: Object.keys(ControlPlaneImages) },
    { name: 'all present, built by this up: none', present: all, stamp: current, want: [] },
    { name: 'present without a stamp (the user\'s, or an older up\'s): kept', present: all, stamp: {}, want: [] },
    { name: 'built with another script: rebuilt', present: all, stamp: { ...current, [ControlPlaneImages['kube-scheduler']]: 'old' }, want: ['kube-scheduler'] },
    { name: 'one missing', present: all.filter((i) => i !== ControlPlaneImages.coredns), stamp: current, want: ['coredns'] },
  ];
  for (const tc of cases) assert.deepEqual(standInImagesToBuild(new Set(tc.present), tc.stamp), tc.want, tc.name);
  assert.notEqual(standInFingerprint('etcd'), standInFingerprint('kube-scheduler'));
  assert.match(standInFingerprint('etcd'), /^[0-9a-f]{16}$/);
});
