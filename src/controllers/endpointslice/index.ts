/** The EndpointSlice controller (upstream pkg/controller/endpointslice and the staging endpointslice reconciler). */
import type { ControllerFactory } from '../types.js';
import { newEndpointSliceController as newController } from './endpointslice.js';

export { EndpointSliceController, type EndpointSliceControllerOptions } from './endpointslice.js';
export { CONTROLLER_NAME, MANAGED_BY_LABEL, MAX_ENDPOINTS_PER_SLICE, SERVICE_NAME_LABEL, TOPOLOGY_ZONE_LABEL, Reconciler } from './reconciler.js';
export { EndpointSliceTracker } from './tracker.js';

/** The controller-manager's factory: `endpointslice-controller` (alias `endpointslice`). */
export const newEndpointSliceController: ControllerFactory = newController;
