import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ConfigMap, Container, Pod, Secret, Service } from '../client/objects.js';
import {
  ContainerConfigError,
  containerResourceValue,
  containerSecurityContext,
  expand,
  expandCommandAndArgs,
  invalidEnvKeysMessage,
  linuxContainerResources,
  makeEnvironment,
  managedHostsFile,
  mappingFuncFor,
  milliCPUToQuota,
  milliCPUToShares,
  missingCapabilities,
  parseResolvConf,
  podDNSConfig,
  podFieldValue,
  portMappings,
  sandboxPrivileged,
  serviceEnvironment,
  type InvalidEnvKeys,
  type ObjectGetter,
} from './podconfig.js';

function newPod(spec: Partial<NonNullable<Pod['spec']>> = {}, meta: Partial<NonNullable<Pod['metadata']>> = {}): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', namespace: 'ns1', uid: 'uid-1', labels: { app: 'web', tier: 'fe' }, annotations: { note: 'a"b' }, ...meta },
    spec: { nodeName: 'n1', serviceAccountName: 'sa1', containers: [{ name: 'c', image: 'busybox' }], ...spec },
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function getter(cms: Record<string, Record<string, string>>, secrets: Record<string, Record<string, string>> = {}): ObjectGetter & { calls: number } {
  const g = {
    calls: 0,
    async configMap(_ns: string, name: string): Promise<ConfigMap | undefined> {
      g.calls++;
      const d = cms[name];
      return d ? { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: d } : undefined;
    },
    async secret(_ns: string, name: string): Promise<Secret | undefined> {
      g.calls++;
      const d = secrets[name];
      return d ? { apiVersion: 'v1', kind: 'Secret', metadata: { name }, data: Object.fromEntries(Object.entries(d).map(([k, v]) => [k, b64(v)])) } : undefined;
    },
  };
  return g;
}

const ctx = { podIPs: ['10.244.0.5'], hostIPs: ['192.168.1.2'], nodeAllocatable: { cpu: '2', memory: '4Gi' } };

test('expand follows upstream expansion, $$ escaping included', () => {
  const m = mappingFuncFor(new Map([['A', 'a'], ['B', 'b']]), new Map([['C', 'c'], ['A', 'shadowed']]));
  const cases: Array<[string, string]> = [
    ['$(A)', 'a'],
    ['x$(A)y$(C)z', 'xaycz'],
    ['$(UNSET)', '$(UNSET)'],
    ['$$(A)', '$(A)'],
    ['$$$(A)', '$a'],
    ['$$$$(A)', '$$(A)'],
    ['$(A', '$(A'],
    ['$A', '$A'],
    ['$', '$'],
    ['a$', 'a$'],
    ['$()', '$()'],
    ['$(A)$(B)', 'ab'],
    ['no vars', 'no vars'],
  ];
  for (const [input, want] of cases) assert.equal(expand(input, m), want, input);
});

test('downward API field paths', () => {
  const pod = newPod();
  assert.equal(podFieldValue(pod, 'metadata.name', ctx), 'web');
  assert.equal(podFieldValue(pod, 'metadata.namespace', ctx), 'ns1');
  assert.equal(podFieldValue(pod, 'metadata.uid', ctx), 'uid-1');
  assert.equal(podFieldValue(pod, "metadata.labels['app']", ctx), 'web');
  assert.equal(podFieldValue(pod, "metadata.annotations['note']", ctx), 'a"b');
  assert.equal(podFieldValue(pod, "metadata.labels['none']", ctx), '');
  assert.equal(podFieldValue(pod, 'metadata.labels', ctx), 'app="web"\ntier="fe"');
  assert.equal(podFieldValue(pod, 'metadata.annotations', ctx), 'note="a\\"b"');
  assert.equal(podFieldValue(pod, 'spec.nodeName', ctx), 'n1');
  assert.equal(podFieldValue(pod, 'spec.serviceAccountName', ctx), 'sa1');
  assert.equal(podFieldValue(pod, 'status.podIP', ctx), '10.244.0.5');
  assert.equal(podFieldValue(pod, 'status.podIPs', { ...ctx, podIPs: ['10.0.0.1', 'fd00::1'] }), '10.0.0.1,fd00::1');
  assert.equal(podFieldValue(pod, 'status.hostIP', ctx), '192.168.1.2');
  assert.equal(podFieldValue(pod, 'status.hostIPs', ctx), '192.168.1.2');
  assert.throws(() => podFieldValue(pod, 'spec.restartPolicy', ctx), /^Error: unsupported fieldPath: spec.restartPolicy$/);
});

test('resourceFieldRef rounds up by divisor and defaults limits to node allocatable', () => {
  const c: Container = { name: 'c', resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '250m', memory: '32Mi' } } };
  const cases: Array<[string, string | undefined, string]> = [
    ['limits.cpu', undefined, '1'],
    ['limits.cpu', '1m', '500'],
    ['requests.cpu', '1m', '250'],
    ['limits.memory', undefined, String(64 * 1024 * 1024)],
    ['limits.memory', '1Mi', '64'],
    ['requests.memory', '1Mi', '32'],
  ];
  for (const [resource, divisor, want] of cases) assert.equal(containerResourceValue({ resource, divisor }, c, ctx.nodeAllocatable), want, `${resource}/${divisor}`);
  const bare: Container = { name: 'c' };
  assert.equal(containerResourceValue({ resource: 'limits.cpu' }, bare, ctx.nodeAllocatable), '2');
  assert.equal(containerResourceValue({ resource: 'limits.memory', divisor: '1Gi' }, bare, ctx.nodeAllocatable), '4');
  assert.equal(containerResourceValue({ resource: 'requests.cpu' }, bare, ctx.nodeAllocatable), '0');
  assert.throws(() => containerResourceValue({ resource: 'limits.gpu' }, bare), /unsupported container resource : limits.gpu/);
});

test('environment: envFrom with prefix, env values expanded, ConfigMap/Secret keys, downward API, later wins', async () => {
  const pod = newPod();
  const c: Container = {
    name: 'c',
    envFrom: [{ configMapRef: { name: 'cfg' } }, { secretRef: { name: 'sec' }, prefix: 'S_' }, { configMapRef: { name: 'absent', optional: true } }],
    env: [
      { name: 'GREETING', value: 'hello $(NAME) and $(UNSET) and $$(NAME)' },
      { name: 'FROM_CM', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'NAME' } } },
      { name: 'FROM_SECRET', valueFrom: { secretKeyRef: { name: 'sec', key: 'password' } } },
      { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'nokey', optional: true } } },
      { name: 'OPT2', valueFrom: { secretKeyRef: { name: 'nosecret', key: 'x', optional: true } } },
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'MEM', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
      { name: 'NAME', value: 'override' },
      { name: 'EMPTY', value: '' },
    ],
  };
  const g = getter({ cfg: { NAME: 'world', 'bad key': 'x', '1digit': 'y' } }, { sec: { password: 's3cret' } });
  const invalid: InvalidEnvKeys[] = [];
  const env = await makeEnvironment(pod, c, ctx, g, (k) => invalid.push(k));
  assert.deepEqual(env, [
    { key: 'NAME', value: 'override' },
    { key: 'S_password', value: 's3cret' },
    { key: 'GREETING', value: 'hello world and $(UNSET) and $(NAME)' },
    { key: 'FROM_CM', value: 'world' },
    { key: 'FROM_SECRET', value: 's3cret' },
    { key: 'POD_NAME', value: 'web' },
    { key: 'POD_IP', value: '10.244.0.5' },
    { key: 'MEM', value: '4096' },
    { key: 'EMPTY', value: '' },
  ]);
  // cfg and sec are fetched once each, plus the optional misses.
  assert.equal(g.calls, 4);
  assert.equal(invalid.length, 1);
  assert.equal(invalidEnvKeysMessage(invalid[0]!), 'Keys [1digit, bad key] from the EnvFrom configMap ns1/cfg were skipped since they are considered invalid environment variable names.');
  const { command, args } = expandCommandAndArgs({ name: 'c', command: ['sh', '-c', 'echo $(NAME)'], args: ['$(GREETING)', '$$(NAME)', '$(NOPE)'] }, env);
  assert.deepEqual(command, ['sh', '-c', 'echo override']);
  assert.deepEqual(args, ['hello world and $(UNSET) and $(NAME)', '$(NAME)', '$(NOPE)']);
});

test('environment: missing ConfigMap, Secret or key is a CreateContainerConfigError with upstream messages', async () => {
  const pod = newPod();
  const g = getter({ cfg: { a: '1' } }, { sec: { b: '2' } });
  const cases: Array<[Container, string]> = [
    [{ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'a' } } }] }, 'configmap "nope" not found'],
    [{ name: 'c', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'k' } } }] }, "couldn't find key k in ConfigMap ns1/cfg"],
    [{ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'a' } } }] }, 'secret "nope" not found'],
    [{ name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'sec', key: 'k' } } }] }, "couldn't find key k in Secret ns1/sec"],
    [{ name: 'c', envFrom: [{ configMapRef: { name: 'nope' } }] }, 'configmap "nope" not found'],
    [{ name: 'c', envFrom: [{ secretRef: { name: 'nope' } }] }, 'secret "nope" not found'],
    [{ name: 'c', env: [{ name: 'X', valueFrom: { fieldRef: { fieldPath: 'spec.bogus' } } }] }, 'unsupported fieldPath: spec.bogus'],
  ];
  for (const [c, msg] of cases) {
    await assert.rejects(makeEnvironment(pod, c, ctx, g), (err: unknown) => {
      assert.ok(err instanceof ContainerConfigError);
      assert.equal(err.reason, 'CreateContainerConfigError');
      assert.equal(err.message, msg);
      return true;
    });
  }
});

test('resources: shares from requests (min 2), quota from limits over 100 ms, memory limit bytes', () => {
  assert.equal(milliCPUToShares(0), 2);
  assert.equal(milliCPUToShares(1), 2);
  assert.equal(milliCPUToShares(250), 256);
  assert.equal(milliCPUToShares(1000), 1024);
  assert.equal(milliCPUToShares(10_000_000), 262144);
  assert.equal(milliCPUToQuota(0, 100000), 0);
  assert.equal(milliCPUToQuota(5, 100000), 1000);
  assert.equal(milliCPUToQuota(500, 100000), 50000);
  const cases: Array<[string, Container['resources'], { cpuShares: number; cpuQuota: number; memoryLimitInBytes: number; oomScoreAdj: number }]> = [
    ['best effort', undefined, { cpuShares: 2, cpuQuota: 0, memoryLimitInBytes: 0, oomScoreAdj: 1000 }],
    ['limits only (requests default to limits: Guaranteed)', { limits: { cpu: '500m', memory: '64Mi' } }, { cpuShares: 512, cpuQuota: 50000, memoryLimitInBytes: 67108864, oomScoreAdj: -997 }],
    ['burstable, no memory request', { limits: { cpu: '500m' } }, { cpuShares: 512, cpuQuota: 50000, memoryLimitInBytes: 0, oomScoreAdj: 999 }],
    ['requests and limits', { requests: { cpu: '250m', memory: '1Gi' }, limits: { cpu: '1', memory: '2Gi' } }, { cpuShares: 256, cpuQuota: 100000, memoryLimitInBytes: 2 * 2 ** 30, oomScoreAdj: 750 }],
    ['guaranteed', { requests: { cpu: '1', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } }, { cpuShares: 1024, cpuQuota: 100000, memoryLimitInBytes: 2 ** 30, oomScoreAdj: -997 }],
  ];
  for (const [name, resources, want] of cases) {
    const c: Container = { name: 'c', resources };
    const pod = newPod({ containers: [c] });
    assert.deepEqual(linuxContainerResources(pod, c, 4 * 2 ** 30), { cpuPeriod: 100000, ...want }, name);
  }
});

test('security context: pod defaults, container overrides, noNewPrivs, capabilities; unavailable capabilities refused', () => {
  const pod = newPod({ securityContext: { runAsUser: 1000, runAsGroup: 3000 } });
  assert.deepEqual(containerSecurityContext(pod, { name: 'c' }), { runAsUser: 1000, runAsGroup: 3000 });
  assert.deepEqual(
    containerSecurityContext(pod, {
      name: 'c',
      securityContext: { runAsUser: 0, privileged: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
    }),
    { runAsUser: 0, runAsGroup: 3000, privileged: true, readonlyRootfs: true, noNewPrivs: true, capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
  );
  assert.deepEqual(containerSecurityContext(newPod(), { name: 'c', securityContext: { allowPrivilegeEscalation: true } }), {});
  // Upstream kuberuntime: the pod's fsGroup first, then its supplementalGroups, whatever the container says.
  assert.deepEqual(containerSecurityContext(newPod({ securityContext: { runAsUser: 1000, fsGroup: 2000, supplementalGroups: [3000, 4000] } }), { name: 'c', securityContext: { runAsUser: 0 } }), {
    runAsUser: 0,
    supplementalGroups: [2000, 3000, 4000],
  });
  assert.deepEqual(containerSecurityContext(newPod({ securityContext: { fsGroup: 0 } }), { name: 'c' }), { supplementalGroups: [0] });
  assert.deepEqual(containerSecurityContext(newPod({ securityContext: { supplementalGroups: [5] } }), { name: 'c' }), { supplementalGroups: [5] });
  for (const cap of ['SYS_RESOURCE', 'CAP_SYS_RESOURCE', 'sys_resource', 'ALL']) {
    assert.throws(
      () => containerSecurityContext(newPod(), { name: 'c', securityContext: { capabilities: { add: [cap] } } }, ['SYS_RESOURCE']),
      (err: unknown) => err instanceof ContainerConfigError && err.reason === 'CreateContainerError' && /CAP_SYS_RESOURCE/.test(err.message),
      cap,
    );
  }
  assert.doesNotThrow(() => containerSecurityContext(newPod(), { name: 'c', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }, ['SYS_RESOURCE']));
  // Bounding set 0x3fffffffff without bit 24.
  const bnd = ((1n << 38n) - 1n) & ~(1n << 24n);
  assert.deepEqual(missingCapabilities(`Name:\tx\nCapBnd:\t${bnd.toString(16).padStart(16, '0')}\n`), ['SYS_RESOURCE', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE']);
  assert.deepEqual(missingCapabilities('CapBnd:\t000001ffffffffff\n'), []);
  assert.equal(sandboxPrivileged(newPod()), false);
  assert.equal(sandboxPrivileged(newPod({ initContainers: [{ name: 'i', securityContext: { privileged: true } }] })), true);
});

test('port mappings come from hostPorts only', () => {
  const pod = newPod({
    containers: [
      { name: 'a', ports: [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }] },
      { name: 'b', ports: [{ containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '127.0.0.1' }] },
    ],
  });
  assert.deepEqual(portMappings(pod), [
    { protocol: 'TCP', containerPort: 80, hostPort: 8080 },
    { protocol: 'UDP', containerPort: 53, hostPort: 5353, hostIp: '127.0.0.1' },
  ]);
});

test('DNS config by dnsPolicy', () => {
  const hostDNS = parseResolvConf('# comment\nnameserver 192.168.1.1\nnameserver 8.8.8.8\nsearch example.com corp.local\noptions edns0 timeout:2\n');
  assert.deepEqual(hostDNS, { servers: ['192.168.1.1', '8.8.8.8'], searches: ['example.com', 'corp.local'], options: ['edns0', 'timeout:2'] });
  const o = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', hostDNS };
  const cluster = { servers: ['10.96.0.10'], searches: ['ns1.svc.cluster.local', 'svc.cluster.local', 'cluster.local', 'example.com', 'corp.local'], options: ['ndots:5'] };
  const cases: Array<[string, Partial<NonNullable<Pod['spec']>>, { servers: string[]; searches: string[]; options: string[] }, boolean?]> = [
    ['ClusterFirst (default)', {}, cluster],
    ['ClusterFirst on host network falls to the host', { hostNetwork: true }, hostDNS],
    ['ClusterFirstWithHostNet', { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' }, cluster],
    ['Default', { dnsPolicy: 'Default' }, hostDNS],
    [
      'None with dnsConfig',
      { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.b'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } },
      { servers: ['1.1.1.1'], searches: ['a.b'], options: ['ndots:2', 'edns0'] },
    ],
    [
      'ClusterFirst plus dnsConfig merges (ndots replaced)',
      { dnsConfig: { nameservers: ['10.96.0.10', '1.1.1.1'], searches: ['x.y'], options: [{ name: 'ndots', value: '1' }] } },
      { servers: ['10.96.0.10', '1.1.1.1'], searches: [...cluster.searches, 'x.y'], options: ['ndots:1'] },
    ],
  ];
  for (const [name, spec, want] of cases) assert.deepEqual(podDNSConfig(newPod(spec), o).config, want, name);
  const missing = podDNSConfig(newPod(), { ...o, clusterDNS: [] });
  assert.deepEqual(missing, { config: hostDNS, missingClusterDNS: true });
});

test('/etc/hosts as the kubelet writes it', () => {
  const pod = newPod({ hostAliases: [{ ip: '1.2.3.4', hostnames: ['foo', 'bar'] }] });
  assert.equal(
    managedHostsFile(pod, ['10.244.0.5'], 'cluster.local', ''),
    '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n10.244.0.5\tweb\n\n# Entries added by HostAliases.\n1.2.3.4\tfoo\tbar\n',
  );
  const sub = newPod({ hostname: 'h0', subdomain: 'svc0' });
  assert.match(managedHostsFile(sub, ['10.244.0.5'], 'cluster.local', ''), /\n10\.244\.0\.5\th0\.svc0\.ns1\.svc\.cluster\.local\th0\n$/);
  assert.equal(managedHostsFile(newPod({ hostNetwork: true }), ['192.168.1.2'], 'cluster.local', '127.0.0.1 localhost\n'), '# Kubernetes-managed hosts file (host network).\n127.0.0.1 localhost\n');
});

test('service environment variables: kubernetes from default always, same-namespace Services unless enableServiceLinks is false', async () => {
  const svc = (ns: string, name: string, clusterIP: string, ports: Array<{ name?: string; port: number; protocol?: string }>): Service =>
    ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: ns }, spec: { clusterIP, ports } }) as Service;
  const services = [
    svc('default', 'kubernetes', '10.96.0.1', [{ name: 'https', port: 443 }]),
    svc('ns1', 'redis-master', '10.96.0.20', [{ port: 6379 }, { name: 'metrics', port: 9121, protocol: 'TCP' }]),
    svc('ns1', 'headless', 'None', [{ port: 80 }]),
    svc('other', 'web', '10.96.0.30', [{ port: 80 }]),
  ];
  const env = serviceEnvironment(newPod(), services);
  assert.deepEqual(Object.fromEntries(env), {
    KUBERNETES_SERVICE_HOST: '10.96.0.1',
    KUBERNETES_SERVICE_PORT: '443',
    KUBERNETES_SERVICE_PORT_HTTPS: '443',
    KUBERNETES_PORT: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP: 'tcp://10.96.0.1:443',
    KUBERNETES_PORT_443_TCP_PROTO: 'tcp',
    KUBERNETES_PORT_443_TCP_PORT: '443',
    KUBERNETES_PORT_443_TCP_ADDR: '10.96.0.1',
    REDIS_MASTER_SERVICE_HOST: '10.96.0.20',
    REDIS_MASTER_SERVICE_PORT: '6379',
    REDIS_MASTER_SERVICE_PORT_METRICS: '9121',
    REDIS_MASTER_PORT: 'tcp://10.96.0.20:6379',
    REDIS_MASTER_PORT_6379_TCP: 'tcp://10.96.0.20:6379',
    REDIS_MASTER_PORT_6379_TCP_PROTO: 'tcp',
    REDIS_MASTER_PORT_6379_TCP_PORT: '6379',
    REDIS_MASTER_PORT_6379_TCP_ADDR: '10.96.0.20',
    REDIS_MASTER_PORT_9121_TCP: 'tcp://10.96.0.20:9121',
    REDIS_MASTER_PORT_9121_TCP_PROTO: 'tcp',
    REDIS_MASTER_PORT_9121_TCP_PORT: '9121',
    REDIS_MASTER_PORT_9121_TCP_ADDR: '10.96.0.20',
  });
  const unlinked = serviceEnvironment(newPod({ enableServiceLinks: false }), services);
  assert.deepEqual([...unlinked.keys()].filter((k) => !k.startsWith('KUBERNETES_')), []);
  assert.equal(unlinked.get('KUBERNETES_SERVICE_HOST'), '10.96.0.1');
  // They can be referenced with $(VAR), come last and never override the container's own.
  const out = await makeEnvironment(
    newPod(),
    { name: 'c', env: [{ name: 'API', value: 'https://$(KUBERNETES_SERVICE_HOST):$(KUBERNETES_SERVICE_PORT)' }, { name: 'REDIS_MASTER_SERVICE_PORT', value: 'mine' }] },
    { ...ctx, services },
    getter({}),
  );
  assert.deepEqual(out.slice(0, 2), [{ key: 'API', value: 'https://10.96.0.1:443' }, { key: 'REDIS_MASTER_SERVICE_PORT', value: 'mine' }]);
  assert.equal(out.filter((e) => e.key === 'REDIS_MASTER_SERVICE_PORT').length, 1);
  assert.ok(out.some((e) => e.key === 'KUBERNETES_PORT_443_TCP_ADDR'));
});
