import { setMaxListeners } from 'node:events';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newUID, type KObject } from '../../apimachinery/meta.js';
import { FakeClient } from '../../client/fake.js';
import { newInformerFactory } from '../../client/informer.js';
import { Resources, type EventRecorder } from '../../client/interface.js';
import type { Endpoints, Pod, Service } from '../../client/objects.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { computeSubsets, EndpointsController, repackSubsets } from './endpoints.js';
import { LAST_CHANGE_TRIGGER_TIME_ANNOTATION } from './util.js';

interface PodOpts {
  ip?: string;
  ready?: boolean;
  readySince?: string;
  labels?: Record<string, string>;
  node?: string;
  phase?: 'Running' | 'Succeeded' | 'Failed' | 'Pending';
  deleting?: boolean;
  hostname?: string;
  subdomain?: string;
  ports?: { name: string; containerPort: number; protocol?: 'TCP' | 'UDP' | 'SCTP' }[];
}

function newPod(name: string, o: PodOpts = {}): Pod & KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}),
    },
    spec: {
      nodeName: o.node ?? 'node-1',
      hostname: o.hostname,
      subdomain: o.subdomain,
      containers: [{ name: 'c', image: 'nginx', ports: o.ports ?? [{ name: 'http', containerPort: 8080 }] }],
    },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ip ? { podIP: o.ip, podIPs: [{ ip: o.ip }] } : {}),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: o.readySince ?? '2026-01-01T00:00:00Z' }],
    },
  };
}

function newService(name: string, spec: Partial<NonNullable<Service['spec']>> = {}, labels?: Record<string, string>): Service & KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default', uid: newUID(), labels, creationTimestamp: '2025-12-31T00:00:00Z' },
    spec: { clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], ...spec },
  };
}

const addr = (ip: string, pod: string, extra: Record<string, unknown> = {}) => ({
  ip,
  nodeName: 'node-1',
  targetRef: { kind: 'Pod', namespace: 'default', name: pod, uid: `uid-${pod}` },
  ...extra,
});

const httpPort = { name: 'http', port: 8080, protocol: 'TCP' };

const subsetCases: { name: string; svc: Service; pods: Pod[]; want: unknown }[] = [
  {
    name: 'ready pods in addresses, not-ready in notReadyAddresses',
    svc: newService('web'),
    pods: [newPod('a', { ip: '10.0.0.2' }), newPod('b', { ip: '10.0.0.1', ready: false }), newPod('c', { ip: '10.0.0.10' })],
    want: [{ addresses: [addr('10.0.0.10', 'c'), addr('10.0.0.2', 'a')], notReadyAddresses: [addr('10.0.0.1', 'b')], ports: [httpPort] }],
  },
  {
    name: 'pods without an IP, terminal and terminating pods are left out',
    svc: newService('web'),
    pods: [newPod('noip'), newPod('done', { ip: '10.0.0.3', phase: 'Succeeded' }), newPod('bye', { ip: '10.0.0.4', deleting: true }), newPod('ok', { ip: '10.0.0.5' })],
    want: [{ addresses: [addr('10.0.0.5', 'ok')], ports: [httpPort] }],
  },
  {
    name: 'publishNotReadyAddresses lists every pod, terminating ones too, as ready',
    svc: newService('web', { publishNotReadyAddresses: true }),
    pods: [newPod('a', { ip: '10.0.0.1', ready: false }), newPod('bye', { ip: '10.0.0.2', deleting: true })],
    want: [{ addresses: [addr('10.0.0.1', 'a'), addr('10.0.0.2', 'bye')], ports: [httpPort] }],
  },
  {
    name: 'named targetPort resolved per pod; pods serving different ports get different subsets',
    svc: newService('web'),
    pods: [
      newPod('a', { ip: '10.0.0.1' }),
      newPod('b', { ip: '10.0.0.2', ports: [{ name: 'http', containerPort: 9090 }] }),
      newPod('c', { ip: '10.0.0.3', ports: [{ name: 'metrics', containerPort: 9100 }] }),
      newPod('udp', { ip: '10.0.0.4', ports: [{ name: 'http', containerPort: 8080, protocol: 'UDP' }] }),
    ],
    want: [
      { addresses: [addr('10.0.0.1', 'a')], ports: [httpPort] },
      { addresses: [addr('10.0.0.2', 'b')], ports: [{ ...httpPort, port: 9090 }] },
    ],
  },
  {
    name: 'numeric targetPort and several service ports in one subset',
    svc: newService('web', {
      ports: [
        { name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 8443, protocol: 'TCP' },
      ],
    }),
    pods: [newPod('a', { ip: '10.0.0.1' }), newPod('b', { ip: '10.0.0.2', ready: false })],
    want: [
      {
        addresses: [addr('10.0.0.1', 'a')],
        notReadyAddresses: [addr('10.0.0.2', 'b')],
        ports: [httpPort, { name: 'https', port: 8443, protocol: 'TCP' }],
      },
    ],
  },
  {
    name: 'headless service without ports: addresses with hostnames for pods in its subdomain',
    svc: newService('db', { clusterIP: 'None', ports: [] }),
    pods: [newPod('db-0', { ip: '10.0.0.1', hostname: 'db-0', subdomain: 'db' }), newPod('x', { ip: '10.0.0.2', hostname: 'x', subdomain: 'other' })],
    want: [{ addresses: [addr('10.0.0.1', 'db-0', { hostname: 'db-0' }), addr('10.0.0.2', 'x')] }],
  },
  {
    name: 'no matching pods: no subsets',
    svc: newService('web'),
    pods: [],
    want: [],
  },
];

for (const tc of subsetCases) {
  test(`computeSubsets: ${tc.name}`, () => {
    assert.deepEqual(computeSubsets(tc.svc, tc.pods), tc.want);
  });
}

// ---------------------------------------------------------------------------------------

function tick(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

async function until(what: string, cond: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 5000; i++) {
    if (await cond()) return;
    await tick();
  }
  assert.fail(`condition never held: ${what}`);
}

async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await tick();
}

function setup(t: { after(fn: () => void): void }, services: KObject[], pods: KObject[], endpoints: KObject[] = []) {
  const clock = new FakeClock();
  const client = new FakeClient({ clock });
  client.seed(Resources.services, ...services);
  client.seed(Resources.pods, ...pods);
  client.seed(Resources.endpoints, ...endpoints);
  const informers = newInformerFactory({ client, clock });
  const events: { reason: string; message: string }[] = [];
  const recorder: EventRecorder = { event: (_o, _type, reason, message) => events.push({ reason, message }) };
  const ctrl = new EndpointsController({ client, informers, recorder, clock, logger: silentLogger(), workers: 1 });
  const ac = new AbortController();
  setMaxListeners(50, ac.signal);
  t.after(() => ac.abort());
  informers.start(ac.signal);
  void ctrl.run(ac.signal);
  const get = async (name: string): Promise<Endpoints | undefined> => {
    try {
      return await client.resource<Endpoints>(Resources.endpoints, 'default').get(name);
    } catch {
      return undefined;
    }
  };
  const ips = async (name: string) => {
    const ep = await get(name);
    return {
      ready: (ep?.subsets ?? []).flatMap((s) => (s.addresses ?? []).map((a) => a.ip)).sort(),
      notReady: (ep?.subsets ?? []).flatMap((s) => (s.notReadyAddresses ?? []).map((a) => a.ip)).sort(),
    };
  };
  return { clock, client, get, ips, events };
}

test('endpoints: created for a selector service with its labels and the trigger time; selectorless and `kubernetes` left alone', async (t) => {
  const kubernetesEps = { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default' }, subsets: [{ addresses: [{ ip: '192.168.0.1' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }] };
  const h = setup(
    t,
    [newService('web', {}, { tier: 'front' }), newService('manual', { selector: undefined }), newService('kubernetes', { selector: undefined })],
    [newPod('a', { ip: '10.0.0.1' }), newPod('b', { ip: '10.0.0.2', ready: false })],
    [kubernetesEps],
  );
  await until('web endpoints', async () => !!(await h.get('web')));
  const ep = (await h.get('web'))!;
  assert.deepEqual(ep.metadata?.labels, { tier: 'front' });
  assert.equal(ep.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME_ANNOTATION], '2025-12-31T00:00:00Z', 'a new service: its creation time');
  assert.deepEqual(await h.ips('web'), { ready: ['10.0.0.1'], notReady: ['10.0.0.2'] });
  await settle();
  assert.equal(await h.get('manual'), undefined);
  const writes = h.client.actions().filter((a) => ['create', 'update', 'delete', 'patch'].includes(a.verb) && a.gvr.resource === 'endpoints');
  assert.deepEqual(writes.map((a) => `${a.verb} ${a.name}`), ['create web'], 'one write, and none to kubernetes or manual');
});

test('endpoints: follow pod churn — readiness, new pods, deleted pods, relabelled pods', async (t) => {
  const h = setup(t, [newService('web')], [newPod('a', { ip: '10.0.0.1', ready: false })]);
  await until('a not ready', async () => (await h.ips('web')).notReady.includes('10.0.0.1'));

  const pods = h.client.resource<Pod & KObject>(Resources.pods, 'default');
  const a = await pods.get('a');
  a.status!.conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-01-01T00:05:00Z' }];
  await pods.updateStatus(a);
  await until('a ready', async () => (await h.ips('web')).ready.includes('10.0.0.1'));
  assert.equal((await h.get('web'))?.metadata?.annotations?.[LAST_CHANGE_TRIGGER_TIME_ANNOTATION], '2026-01-01T00:05:00Z');

  await pods.create(newPod('b', { ip: '10.0.0.2' }));
  await until('b added', async () => (await h.ips('web')).ready.includes('10.0.0.2'));

  await pods.delete('a');
  await until('a removed', async () => JSON.stringify(await h.ips('web')) === JSON.stringify({ ready: ['10.0.0.2'], notReady: [] }));

  const b = await pods.get('b');
  await pods.update({ ...b, metadata: { ...b.metadata, labels: { app: 'other' } } });
  await until('b gone', async () => (await h.get('web'))?.subsets === undefined);
});

test('endpoints: deleted with their service; recreated if deleted while the service exists', async (t) => {
  const h = setup(t, [newService('web'), newService('api')], [newPod('a', { ip: '10.0.0.1' })]);
  await until('both endpoints', async () => !!(await h.get('web')) && !!(await h.get('api')));
  await h.client.resource(Resources.services, 'default').delete('web');
  await until('web endpoints deleted', async () => !(await h.get('web')));
  await h.client.resource(Resources.endpoints, 'default').delete('api');
  await until('api endpoints back', async () => !!(await h.get('api')));
});

test('endpoints: a failed write is retried and reported as an event', async (t) => {
  let fail = true;
  const h = setup(t, [newService('web')], [newPod('a', { ip: '10.0.0.1' })]);
  h.client.prependReactor('create', 'endpoints', () => (fail ? { error: new Error('boom') } : undefined));
  await until('event', () => h.events.length > 0);
  assert.equal(h.events[0]!.reason, 'FailedToCreateEndpoint');
  assert.match(h.events[0]!.message, /^Failed to create endpoint for service default\/web: boom/);
  fail = false;
  h.clock.step(60_000);
  await until('created on retry', async () => !!(await h.get('web')));
});

test('repackSubsets: addresses grouped by the set of ports they serve, ready winning over not-ready', () => {
  const a = { ip: '10.0.0.1' };
  const b = { ip: '10.0.0.2' };
  const p80 = { name: 'a', port: 80, protocol: 'TCP' as const };
  const p443 = { name: 'b', port: 443, protocol: 'TCP' as const };
  assert.deepEqual(
    repackSubsets([
      { addresses: [a], ports: [p80] },
      { addresses: [a], ports: [p443] },
      { notReadyAddresses: [b], ports: [p80] },
      { addresses: [b], ports: [p80] },
    ]),
    [
      { addresses: [a, b], ports: [p80] },
      { addresses: [a], ports: [p443] },
    ],
  );
});
