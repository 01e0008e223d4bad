/** The garbage collector controller (upstream pkg/controller/garbagecollector). */
import type { ControllerFactory } from '../types.js';
import { newGarbageCollector as newGC } from './garbagecollector.js';

export { GarbageCollector, RESOURCE_RESYNC_PERIOD_MS, type GarbageCollectorOptions } from './garbagecollector.js';
export { gcResources, resourceForKind, type GCResource } from './resources.js';

/** The controller-manager's factory: `garbage-collector-controller` (alias `garbagecollector`). */
export const newGarbageCollector: ControllerFactory = newGC;
