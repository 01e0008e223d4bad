/** The pod garbage collector ("podgc", upstream's pod-garbage-collector-controller); see controller.ts. */
import { Resources } from '../../client/interface.js';
import type { Node, Pod } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { PodGCController } from './controller.js';

export { PodGCController, GC_CHECK_PERIOD_MS, QUARANTINE_TIME_MS, OUT_OF_SERVICE_TAINT_KEY, compareByEvictionAndCreation } from './controller.js';
export type { PodGCControllerOptions } from './controller.js';

/** Factory for the controller-manager: pod GC with --terminated-pod-gc-threshold from the options. */
export const newPodGCController: ControllerFactory = (ctx): Controller =>
  new PodGCController({
    client: ctx.client,
    podInformer: ctx.informers.forResource<Pod>(Resources.pods),
    nodeInformer: ctx.informers.forResource<Node>(Resources.nodes),
    clock: ctx.clock,
    logger: ctx.logger,
    terminatedPodThreshold: ctx.options.terminatedPodGCThreshold,
    nodeQueue: newWorkQueue<string>({ name: 'orphaned_pods_nodes', clock: ctx.clock, registry: ctx.registry }),
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
