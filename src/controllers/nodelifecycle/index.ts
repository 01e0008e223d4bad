/**
 * Node lifecycle ("nodelifecycle", upstream's node-lifecycle-controller) and taint eviction
 * ("taint-eviction-controller") controllers; see controller.ts and tainteviction.ts.
 */
import { Resources } from '../../client/interface.js';
import type { Lease, Node, Pod } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { NodeLifecycleController } from './controller.js';
import { TaintEvictionController } from './tainteviction.js';

export { NodeLifecycleController, NODE_LEASE_NAMESPACE, NODE_NAME_INDEX, LABEL_NODE_DISRUPTION_EXCLUSION } from './controller.js';
export type { NodeLifecycleControllerOptions, ZoneState } from './controller.js';
export { TaintEvictionController, TimedWorkerQueue } from './tainteviction.js';
export type { TaintEvictionControllerOptions } from './tainteviction.js';
export { TaintKeys, NOT_READY_TAINT, UNREACHABLE_TAINT, getMatchingTolerations, toleratesTaint, minTolerationTimeMs } from './taints.js';

/**
 * Factory for the controller-manager: the node lifecycle controller with
 * --node-monitor-period, --node-monitor-grace-period and --node-startup-grace-period from
 * the options (eviction rates and zone thresholds at upstream's defaults).
 */
export const newNodeLifecycleController: ControllerFactory = (ctx): Controller => {
  const o = ctx.options;
  return new NodeLifecycleController({
    client: ctx.client,
    nodeInformer: ctx.informers.forResource<Node>(Resources.nodes),
    podInformer: ctx.informers.forResource<Pod>(Resources.pods),
    leaseInformer: ctx.informers.forResource<Lease>(Resources.leases),
    recorder: ctx.recorder('node-controller'),
    clock: ctx.clock,
    logger: ctx.logger,
    nodeQueue: newWorkQueue<string>({ name: 'node_lifecycle_controller', clock: ctx.clock, registry: ctx.registry }),
    podQueue: newWorkQueue<string>({ name: 'node_lifecycle_controller_pods', clock: ctx.clock, registry: ctx.registry }),
    nodeMonitorPeriodMs: o.nodeMonitorPeriodMs,
    nodeMonitorGracePeriodMs: o.nodeMonitorGracePeriodMs,
    nodeStartupGracePeriodMs: o.nodeStartupGracePeriodMs,
    workers: o.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
};

/** Factory for the controller-manager: the taint eviction controller. */
export const newTaintEvictionController: ControllerFactory = (ctx): Controller =>
  new TaintEvictionController({
    client: ctx.client,
    podInformer: ctx.informers.forResource<Pod>(Resources.pods),
    nodeInformer: ctx.informers.forResource<Node>(Resources.nodes),
    recorder: ctx.recorder('taint-eviction-controller'),
    clock: ctx.clock,
    logger: ctx.logger,
    nodeQueue: newWorkQueue<string>({ name: 'noexec_taint_node', clock: ctx.clock, registry: ctx.registry }),
    podQueue: newWorkQueue<string>({ name: 'noexec_taint_pod', clock: ctx.clock, registry: ctx.registry }),
    workers: ctx.options.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
