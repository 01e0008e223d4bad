/**
 * Flotilla's kube-scheduler. `startScheduler` runs one in the calling process over any
 * {@link Client} (`flotilla up` passes its in-process client; `flotilla scheduler` a REST
 * client from a kubeconfig), optionally only while it holds the leader lease.
 */
import type { Registry as MetricsRegistry } from 'prom-client';
import { newInformerFactory } from '../client/informer.js';
import { newLeaderElector } from '../client/leaderelection.js';
import type { Client, EventRecorder, InformerFactory } from '../client/interface.js';
import { realClock, type Clock } from '../util/clock.js';
import { newLogger, type Logger } from '../util/log.js';
import { defaultConfiguration, type LeaderElectionConfiguration, type SchedulerConfiguration } from './config.js';
import type { Registry } from './framework/registry.js';
import { newScheduler, type Scheduler } from './scheduler.js';

export { newScheduler, Scheduler, numFeasibleNodesToFind, type SchedulerOptions, type ScheduleResult } from './scheduler.js';
export { decodeConfiguration, defaultConfiguration, loadConfigFile, ConfigError, type SchedulerConfiguration } from './config.js';
export { inTreeRegistry } from './plugins/registry.js';

/**
 * Runs `lead` while this process holds the lease, with a signal that aborts when the
 * lease is lost; resolves when `signal` aborts (client-go leaderelection.RunOrDie).
 */
export type LeaderElect = (signal: AbortSignal, lead: (leading: AbortSignal) => Promise<void>) => Promise<void>;

export interface LeaseLeaderElectOptions {
  client: Client;
  clock?: Clock;
  logger?: Logger;
  /** This candidate's identity (upstream: hostname + "_" + a UUID). */
  identity: string;
  /** Lease name/namespace and timings (default kube-system/kube-scheduler, 15 s / 10 s / 2 s). */
  config?: LeaderElectionConfiguration;
}

/**
 * Leader election on a coordination.k8s.io/v1 Lease (client-go leaderelection): `lead`
 * runs while this candidate holds the Lease; the returned promise settles when signal
 * aborts (the Lease is released) or leadership is lost — upstream's kube-scheduler exits
 * then ("leaderelection lost"), and so does `flotilla scheduler`.
 */
export function leaseLeaderElect(opts: LeaseLeaderElectOptions): LeaderElect {
  const cfg = opts.config ?? defaultConfiguration().leaderElection;
  const logger = opts.logger ?? newLogger('scheduler');
  return async (signal, lead) => {
    let leading: Promise<void> | undefined;
    const elector = newLeaderElector({
      client: opts.client,
      namespace: cfg.resourceNamespace,
      name: cfg.resourceName,
      identity: opts.identity,
      clock: opts.clock ?? realClock,
      leaseDurationMs: cfg.leaseDurationMs,
      renewDeadlineMs: cfg.renewDeadlineMs,
      retryPeriodMs: cfg.retryPeriodMs,
      releaseOnCancel: true,
      logger,
      onStartedLeading: (leadSignal) => {
        leading = lead(leadSignal);
        return leading;
      },
      onStoppedLeading: () => {
        if (!signal.aborted) logger.error('leaderelection lost');
      },
      onNewLeader: (id) => logger.info({ leader: id }, 'new leader elected'),
    });
    await elector.run(signal);
    await leading?.catch(() => undefined);
  };
}

export interface StartSchedulerOptions {
  client: Client;
  /** Shared informers (default: a factory of the scheduler's own). */
  informers?: InformerFactory;
  /** Default: one default-scheduler profile with the default plugins. */
  config?: SchedulerConfiguration;
  clock?: Clock;
  logger?: Logger;
  /** Prometheus registry for scheduler_* metrics. */
  registry?: MetricsRegistry;
  recorder?: (component: string) => EventRecorder;
  /** Out-of-tree plugins. */
  plugins?: Registry;
  /** When set, schedule only while leading (the lease kube-system/kube-scheduler). */
  leaderElect?: LeaderElect;
}

export interface RunningScheduler {
  readonly scheduler: Scheduler;
  /** Stops scheduling and waits for bindings in flight. */
  stop(): Promise<void>;
  /** Settles when the scheduler stops (rejects if it failed). */
  readonly done: Promise<void>;
}

/** Starts a scheduler in this process; it runs until stop(). */
export function startScheduler(opts: StartSchedulerOptions): RunningScheduler {
  const clock = opts.clock ?? realClock;
  const logger = opts.logger ?? newLogger('scheduler');
  const config = opts.config ?? defaultConfiguration();
  const informers = opts.informers ?? newInformerFactory({ client: opts.client, clock, logger });
  const scheduler = newScheduler({
    client: opts.client, informers, clock, logger, config, registry: opts.registry, recorder: opts.recorder, plugins: opts.plugins,
  });
  const ac = new AbortController();
  const done = opts.leaderElect
    ? opts.leaderElect(ac.signal, async (leading) => {
      logger.info('became leader; scheduling');
      await scheduler.run(leading);
    })
    : scheduler.run(ac.signal);
  const settled = done.catch((err: unknown) => {
    if (!ac.signal.aborted) logger.error({ err }, 'scheduler stopped');
    throw err;
  });
  settled.catch(() => undefined);
  return {
    scheduler,
    done: settled,
    async stop() {
      ac.abort();
      await settled.catch(() => undefined);
    },
  };
}
