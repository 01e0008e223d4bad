/**
 * The contract between the controller-manager (`manager.ts`) and each control loop
 * (one folder per controller, as upstream's pkg/controller/<name>).
 *
 * A controller is built from a {@link ControllerContext} by its factory, registers its
 * informer handlers in the factory (handlers only enqueue keys), and `run` starts its
 * workers, which take keys off a rate-limited queue and call one level-triggered
 * `sync(key)` each (STYLE.md 1–3). `run` returns when signal aborts.
 */
import type { Client, EventRecorder, InformerFactory } from '../client/interface.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Registry } from 'prom-client';

/** kube-controller-manager flags the controllers read (defaults are upstream's). */
export interface ControllerManagerOptions {
  /** --node-monitor-period, ms (default 5000). */
  nodeMonitorPeriodMs: number;
  /** --node-monitor-grace-period, ms (default 40000). */
  nodeMonitorGracePeriodMs: number;
  /** --node-startup-grace-period, ms (default 60000). */
  nodeStartupGracePeriodMs: number;
  /**
   * --pod-eviction-timeout, ms (default 300000): the tolerationSeconds given to pods for
   * the not-ready/unreachable NoExecute taints when they have none (the
   * DefaultTolerationSeconds admission, upstream).
   */
  podEvictionTimeoutMs: number;
  /** --terminated-pod-gc-threshold (default 12500). */
  terminatedPodGCThreshold: number;
  /** --concurrent-*-syncs: workers per controller (default 5; tests may use 1). */
  workers: number;
}

export const defaultControllerManagerOptions: ControllerManagerOptions = {
  nodeMonitorPeriodMs: 5_000,
  nodeMonitorGracePeriodMs: 40_000,
  nodeStartupGracePeriodMs: 60_000,
  podEvictionTimeoutMs: 300_000,
  terminatedPodGCThreshold: 12_500,
  workers: 5,
};

export interface ControllerContext {
  client: Client;
  informers: InformerFactory;
  /** Returns a recorder whose events name `component` as their source. */
  recorder(component: string): EventRecorder;
  clock: Clock;
  logger: Logger;
  /** Where controllers register their metrics (workqueue depth, sync durations …). */
  registry: Registry;
  options: ControllerManagerOptions;
}

export interface Controller {
  /** Upstream's controller name as `--controllers` takes it ("replicaset", "deployment", "nodelifecycle" …). */
  readonly name: string;
  /** Runs workers until signal aborts; waits for its informers to sync first. */
  run(signal: AbortSignal): Promise<void>;
}

export type ControllerFactory = (ctx: ControllerContext) => Controller;
