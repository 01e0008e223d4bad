/**
 * The in-tree plugins and upstream's default profile (v1 getDefaultPlugins: multiPoint
 * with these weights; filters run in this order, which decides which reason a node that
 * fails several filters reports).
 */
import type { PluginRef, Plugins, Registry } from '../framework/registry.js';
import * as defaultBinder from './defaultbinder/index.js';
import * as defaultPreemption from './defaultpreemption/index.js';
import * as imageLocality from './imagelocality/index.js';
import * as interPodAffinity from './interpodaffinity/index.js';
import * as nodeAffinity from './nodeaffinity/index.js';
import * as nodeName from './nodename/index.js';
import * as nodePorts from './nodeports/index.js';
import * as balancedAllocation from './noderesources/balanced_allocation.js';
import * as fit from './noderesources/fit.js';
import * as nodeUnschedulable from './nodeunschedulable/index.js';
import * as podTopologySpread from './podtopologyspread/index.js';
import * as taintToleration from './tainttoleration/index.js';

export const inTreeRegistry = {
  [nodeUnschedulable.NAME]: nodeUnschedulable.factory,
  [nodeName.NAME]: nodeName.factory,
  [taintToleration.NAME]: taintToleration.factory,
  [nodeAffinity.NAME]: nodeAffinity.factory,
  [nodePorts.NAME]: nodePorts.factory,
  [fit.NAME]: fit.factory,
  [podTopologySpread.NAME]: podTopologySpread.factory,
  [interPodAffinity.NAME]: interPodAffinity.factory,
  [defaultPreemption.NAME]: defaultPreemption.factory,
  [balancedAllocation.NAME]: balancedAllocation.factory,
  [imageLocality.NAME]: imageLocality.factory,
  [defaultBinder.NAME]: defaultBinder.factory,
} satisfies Registry;

/** Names the queue implements itself but configs may list (PrioritySort, SchedulingGates). */
export const BUILTIN_PLUGINS = ['PrioritySort', 'SchedulingGates'] as const;

/** Upstream's default multiPoint plugins and Score weights. */
export const DEFAULT_MULTIPOINT: readonly PluginRef[] = [
  { name: 'SchedulingGates' },
  { name: 'PrioritySort' },
  { name: nodeUnschedulable.NAME },
  { name: nodeName.NAME },
  { name: taintToleration.NAME, weight: 3 },
  { name: nodeAffinity.NAME, weight: 2 },
  { name: nodePorts.NAME },
  { name: fit.NAME, weight: 1 },
  { name: podTopologySpread.NAME, weight: 2 },
  { name: interPodAffinity.NAME, weight: 2 },
  { name: defaultPreemption.NAME },
  { name: balancedAllocation.NAME, weight: 1 },
  { name: imageLocality.NAME, weight: 1 },
  { name: defaultBinder.NAME },
];

export function defaultPlugins(): Plugins {
  return { multiPoint: { enabled: DEFAULT_MULTIPOINT.map((r) => ({ ...r })) } };
}
