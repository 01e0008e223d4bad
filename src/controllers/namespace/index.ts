/** The namespace controller ("namespace", upstream's namespace-controller); see controller.ts and deleter.ts. */
import { Resources } from '../../client/interface.js';
import type { Namespace } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { NamespaceController } from './controller.js';
import { NamespacedResourcesDeleter } from './deleter.js';

export { NamespaceController, NAMESPACE_DELETION_GRACE_PERIOD_MS } from './controller.js';
export type { NamespaceControllerOptions } from './controller.js';
export {
  NamespacedResourcesDeleter,
  NamespaceConditionUpdater,
  ResourcesRemainingError,
  NAMESPACED_RESOURCES,
  FINALIZER_KUBERNETES,
  DELETION_CONDITION_TYPES,
} from './deleter.js';
export type { NamespaceCondition, NamespacedResourcesDeleterOptions } from './deleter.js';

/** Factory for the controller-manager: the namespace controller over the shared namespace informer. */
export const newNamespaceController: ControllerFactory = (ctx): Controller =>
  new NamespaceController({
    namespaceInformer: ctx.informers.forResource<Namespace>(Resources.namespaces),
    deleter: new NamespacedResourcesDeleter({ client: ctx.client, clock: ctx.clock, logger: ctx.logger }),
    // Upstream's namespace queue backs off from 5 ms to at most 60 s.
    queue: newWorkQueue<string>({ name: 'namespace', clock: ctx.clock, registry: ctx.registry, maxDelayMs: 60_000 }),
    logger: ctx.logger,
    workers: ctx.options.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });
