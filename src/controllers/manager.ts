/**
 * The controller-manager: one process, many control loops (kube-controller-manager).
 *
 * It owns what the loops share — one informer factory (a single list+watch per resource for
 * every controller), event recorders, metrics — picks the loops with `--controllers` as
 * upstream does, and runs them only while it holds the `kube-system/kube-controller-manager`
 * Lease when leader election is on, so two replicas never both act.
 */
import { setMaxListeners } from 'node:events';
import type { Registry } from 'prom-client';
import type { Client, InformerFactory } from '../client/interface.js';
import { newEventRecorder } from '../client/events.js';
import { newInformerFactory } from '../client/informer.js';
import { newLeaderElector } from '../client/leaderelection.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import { defaultControllerManagerOptions, type Controller, type ControllerContext, type ControllerFactory, type ControllerManagerOptions } from './types.js';

/**
 * A control loop the manager knows: its canonical name (upstream 1.32's, e.g.
 * "replicaset-controller"), the older aliases `--controllers` also accepts ("replicaset"),
 * and whether `*` includes it.
 */
export interface ControllerDescriptor {
  name: string;
  aliases: string[];
  factory: ControllerFactory;
  /** Off unless named explicitly (upstream's disabled-by-default controllers, e.g. bootstrapsigner). */
  disabledByDefault?: boolean;
}

/**
 * Which controllers `--controllers` selects (upstream's IsControllerEnabled): a name or alias
 * turns one on, `-name` turns it off, `*` turns on every controller not disabled by default;
 * an explicit entry wins over `*`. Unknown names are an error naming them.
 */
export function selectControllers(spec: readonly string[], known: readonly ControllerDescriptor[]): ControllerDescriptor[] {
  const byName = new Map<string, ControllerDescriptor>();
  for (const d of known) for (const n of [d.name, ...d.aliases]) byName.set(n, d);
  const on = new Set<ControllerDescriptor>();
  const off = new Set<ControllerDescriptor>();
  let star = false;
  const unknown: string[] = [];
  for (const raw of spec.map((s) => s.trim()).filter(Boolean)) {
    if (raw === '*') {
      star = true;
      continue;
    }
    const neg = raw.startsWith('-');
    const d = byName.get(neg ? raw.slice(1) : raw);
    if (!d) unknown.push(raw);
    else (neg ? off : on).add(d);
  }
  if (unknown.length) {
    throw new Error(`"${unknown.join('", "')}" is not in the list of known controllers: ${known.map((d) => d.name).join(', ')}`);
  }
  return known.filter((d) => !off.has(d) && (on.has(d) || (star && !d.disabledByDefault)));
}

export interface ControllerManagerConfig {
  client: Client;
  clock: Clock;
  logger: Logger;
  registry: Registry;
  /** Controllers to choose from (see controllers.ts for the built-in list). */
  known: readonly ControllerDescriptor[];
  /** `--controllers` entries; default ['*']. */
  controllers?: readonly string[];
  options?: Partial<ControllerManagerOptions>;
  /** Run only while holding the kube-system/kube-controller-manager Lease. */
  leaderElect?: boolean;
  /** Holder identity for the Lease (hostname_uuid upstream). */
  identity?: string;
  /** Shared with other components in the same process (flotilla up); one is made otherwise. */
  informers?: InformerFactory;
}

export interface RunningControllerManager {
  /** Names of the controllers selected. */
  readonly controllers: string[];
  /** True while the loops run (always, without leader election; while leading, with it). */
  isLeading(): boolean;
  /** Stops every loop and informer; resolves when they have returned. */
  stop(): Promise<void>;
}

/** Starts the selected controllers (after winning the Lease when leaderElect). */
export function startControllerManager(cfg: ControllerManagerConfig): RunningControllerManager {
  const log = cfg.logger;
  const selected = selectControllers(cfg.controllers ?? ['*'], cfg.known);
  const options: ControllerManagerOptions = { ...defaultControllerManagerOptions, ...cfg.options };
  const stopAll = new AbortController();
  let leading = false;
  const runs: Promise<unknown>[] = [];

  const runLoops = (signal: AbortSignal) => {
    // Every controller, informer and worker listens on this one signal.
    setMaxListeners(0, signal);
    const informers = cfg.informers ?? newInformerFactory({ client: cfg.client, clock: cfg.clock, logger: log.child({ component: 'informers' }) });
    const ctx: ControllerContext = {
      client: cfg.client,
      informers,
      recorder: (component) => newEventRecorder({ client: cfg.client, component, clock: cfg.clock, logger: log.child({ component }) }),
      clock: cfg.clock,
      logger: log,
      registry: cfg.registry,
      options,
    };
    const built: Controller[] = [];
    for (const d of selected) {
      try {
        built.push(d.factory({ ...ctx, logger: log.child({ controller: d.name }) }));
        log.info({ controller: d.name }, 'Started controller');
      } catch (err) {
        log.error({ controller: d.name, err }, 'Error starting controller');
      }
    }
    // Informers start after every controller registered its handlers and indexers.
    informers.start(signal);
    for (const c of built) {
      runs.push(
        c.run(signal).catch((err: unknown) => {
          if (!signal.aborted) log.error({ controller: c.name, err }, 'controller stopped with an error');
        }),
      );
    }
  };

  if (!cfg.leaderElect) {
    leading = true;
    runLoops(stopAll.signal);
  } else {
    const elector = newLeaderElector({
      client: cfg.client,
      namespace: 'kube-system',
      name: 'kube-controller-manager',
      identity: cfg.identity ?? `flotilla-${process.pid}`,
      clock: cfg.clock,
      logger: log.child({ component: 'leaderelection' }),
      releaseOnCancel: true,
      onStartedLeading: (signal: AbortSignal) => {
        leading = true;
        log.info('became leader; starting controllers');
        runLoops(AbortSignal.any([signal, stopAll.signal]));
      },
      onStoppedLeading: () => {
        if (leading && !stopAll.signal.aborted) log.warn('leader election lost; controllers stopped');
        leading = false;
      },
    });
    runs.push(elector.run(stopAll.signal));
  }

  return {
    controllers: selected.map((d) => d.name),
    isLeading: () => leading,
    async stop() {
      stopAll.abort();
      await Promise.allSettled(runs);
    },
  };
}
