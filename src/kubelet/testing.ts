/**
 * A harness for this folder's tests: the kubelet on the simulated runtime against a
 * FakeClient, both on one FakeClock, with the events it records and steps of fake time
 * that let the work each timer starts settle.
 *
 *   const env = await startSimulatedKubelet(t);
 *   await env.create(pod);      // and let the pod workers run
 *   await env.step(10_000);     // 10 s of fake time, in 100 ms steps
 *   env.messages('Killing');    // the pods' events of that reason
 */
import { deepClone, formatRFC3339, type KObject } from '../apimachinery/meta.js';
import { FakeClient } from '../client/fake.js';
import { deepFreeze } from '../client/freeze.js';
import { Resources, type EventRecorder } from '../client/interface.js';
import type { Pod } from '../client/objects.js';
import { FakeClock } from '../util/clock.js';
import { silentLogger } from '../util/log.js';
import { simulatedMachineInfo, startKubelet, type RunningKubelet } from './index.js';
import { SimulatedRuntime } from './simulated.js';

/** The node the harness's kubelet runs as. */
export const TestNodeName = 'node-1';
/** Its pod CIDR: pod IPs are 10.244.1.x. */
export const TestPodCIDR = '10.244.1.0/24';

export interface RecordedEvent {
  type: string;
  reason: string;
  message: string;
}

/** Lets queued callbacks run: `times` turns of the event loop, no time passing. */
export async function flush(times = 30): Promise<void> {
  for (let i = 0; i < times; i++) await new Promise((r) => setImmediate(r));
}

/** Container and sandbox IDs in creation order: 64 hex digits, 0…01, 0…02, … */
export function sequentialIDs(): () => string {
  let n = 0;
  return () => (++n).toString(16).padStart(64, '0');
}

export interface SimulatedKubeletOptions {
  /** The simulated runtime's delay before a container runs. */
  startDelayMs?: number;
  /** Images the runtime has without a pull. */
  preloadedImages?: string[];
  /** Runs before the kubelet starts, e.g. to record or change what the runtime does. */
  prepare?: (runtime: SimulatedRuntime, clock: FakeClock) => void | Promise<void>;
  nodeStatusUpdateFrequencyMs?: number;
  nodeStatusReportFrequencyMs?: number;
}

export interface SimulatedKubelet {
  fake: FakeClient;
  clock: FakeClock;
  runtime: SimulatedRuntime;
  kubelet: RunningKubelet;
  /** Events on pods (any object but the Node), in the order recorded. */
  events: RecordedEvent[];
  /** Events on the Node. */
  nodeEvents: RecordedEvent[];
  /** Advances the clock by ms in steps of 100 ms, letting what each step starts settle. */
  step(ms: number): Promise<void>;
  pod(name: string): Promise<Pod>;
  /** Creates the pod in namespace default and lets the pod workers take it up. */
  create(pod: Pod): Promise<Pod>;
  /** The messages of the pods' events, of one reason or all. */
  messages(reason?: string): string[];
  /**
   * What the API server does on a graceful pod delete, which the fake does not (it deletes
   * at once): deletionTimestamp grace seconds from now and deletionGracePeriodSeconds set.
   */
  markDeleted(name: string, graceSeconds: number): void;
}

/** Starts the harness's kubelet (node-1, pod CIDR 10.244.1.0/24); stopped after the test. */
export async function startSimulatedKubelet(t: { after(fn: () => unknown): void }, opts: SimulatedKubeletOptions = {}): Promise<SimulatedKubelet> {
  const clock = new FakeClock();
  const fake = new FakeClient({ clock });
  const runtime = new SimulatedRuntime({ clock, podCIDR: TestPodCIDR, startDelayMs: opts.startDelayMs, preloadedImages: opts.preloadedImages, newID: sequentialIDs() });
  await opts.prepare?.(runtime, clock);
  const events: RecordedEvent[] = [];
  const nodeEvents: RecordedEvent[] = [];
  const recorder: EventRecorder = {
    event: (o, type, reason, message) => ((o as { kind?: string }).kind === 'Node' ? nodeEvents : events).push({ type, reason, message }),
  };
  const kubelet = await startKubelet({
    client: fake,
    nodeName: TestNodeName,
    runtime,
    clock,
    logger: silentLogger(),
    podCIDR: TestPodCIDR,
    machine: simulatedMachineInfo({ name: TestNodeName, internalIP: '192.168.0.10' }),
    recorder,
    nodeStatusUpdateFrequencyMs: opts.nodeStatusUpdateFrequencyMs,
    nodeStatusReportFrequencyMs: opts.nodeStatusReportFrequencyMs,
  });
  t.after(() => kubelet.stop());
  await flush();
  const pods = () => fake.resource<Pod>(Resources.pods, 'default');
  return {
    fake,
    clock,
    runtime,
    kubelet,
    events,
    nodeEvents,
    async step(ms) {
      // Small steps, so work a timer starts can settle before the next one fires.
      const chunk = 100;
      for (let done = 0; done < ms; done += chunk) {
        clock.step(Math.min(chunk, ms - done));
        await flush(5);
      }
      await flush(60);
    },
    pod: (name) => pods().get(name),
    async create(pod) {
      const created = await pods().create(pod);
      // Not workers.idle(): a sync may be waiting on the fake clock.
      await flush(60);
      return created;
    },
    messages: (reason) => events.filter((e) => !reason || e.reason === reason).map((e) => e.message),
    markDeleted(name, graceSeconds) {
      const store = fake.store(Resources.pods);
      const key = `default/${name}`;
      const cur = store.get(key)!;
      const next = deepClone(cur) as KObject;
      next.metadata!.deletionTimestamp = formatRFC3339(clock.now() + graceSeconds * 1000);
      next.metadata!.deletionGracePeriodSeconds = graceSeconds;
      next.metadata!.resourceVersion = String(fake.nextRV());
      const stored = deepFreeze(next);
      store.set(key, stored);
      fake.emit(Resources.pods, 'MODIFIED', stored, cur);
    },
  };
}
