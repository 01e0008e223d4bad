/**
 * Plugin registry and profile plugin sets (upstream framework/runtime/registry.go and the
 * kubescheduler.config.k8s.io/v1 Plugins type).
 */
import type { Selector } from '../../apimachinery/labels.js';
import type { Client } from '../../client/interface.js';
import type { Pod } from '../../client/objects.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { NodeInfoLister } from './nodeinfo.js';
import type { Plugin } from './types.js';
import type { Framework } from './runtime.js';

/**
 * What a plugin can reach besides its arguments (framework.Handle): the cluster snapshot
 * of the current cycle, namespace labels, the client (binder, preemption), the clock.
 */
export interface Handle {
  /** The snapshot the current scheduling cycle works on. */
  snapshot(): NodeInfoLister;
  /** Labels of a namespace, for pod affinity's namespaceSelector; undefined if unknown. */
  namespaceLabels(namespace: string): Readonly<Record<string, string>> | undefined;
  readonly client: Client | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The profile's framework (set once the framework is built; used by preemption). */
  framework(): Framework;
  /**
   * helper.DefaultSelector: the labels of the Services, ReplicationController, ReplicaSet
   * and StatefulSet selecting pod, as one selector (PodTopologySpread's system defaults).
   */
  defaultSpreadSelector?(pod: Pod): Selector | undefined;
}

/** Builds a plugin from its (already defaulted and validated) args. */
export type PluginFactory = (args: unknown, handle: Handle) => Plugin;

/** Plugin name → factory. In-tree plugins: plugins/registry.ts. */
export type Registry = Record<string, PluginFactory>;

/** config.Plugin: a plugin enabled at an extension point, with its Score weight. */
export interface PluginRef {
  name: string;
  weight?: number;
}

/** config.PluginSet. `disabled: [{name: '*'}]` disables every default at that point. */
export interface PluginSet {
  enabled?: PluginRef[];
  disabled?: PluginRef[];
}

export const EXTENSION_POINTS = [
  'preEnqueue', 'queueSort', 'preFilter', 'filter', 'postFilter', 'preScore', 'score', 'reserve', 'permit', 'preBind', 'bind', 'postBind',
] as const;
export type ExtensionPoint = (typeof EXTENSION_POINTS)[number];

/** config.Plugins: per extension point, plus multiPoint (enables a plugin at every point it implements). */
export type Plugins = { multiPoint?: PluginSet } & { [P in ExtensionPoint]?: PluginSet };

/** config.KubeSchedulerProfile after defaulting. */
export interface Profile {
  schedulerName: string;
  plugins: Plugins;
  /** Plugin name → args (already defaulted by the config loader where it knows the plugin). */
  pluginConfig: Record<string, unknown>;
  /** Per-profile override of the top-level percentageOfNodesToScore. */
  percentageOfNodesToScore?: number;
}
