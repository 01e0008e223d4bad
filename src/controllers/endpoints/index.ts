/** The Endpoints controller (upstream pkg/controller/endpoint) and helpers the EndpointSlice controller shares. */
import type { ControllerFactory } from '../types.js';
import { newEndpointsController as newController } from './endpoints.js';

export { EndpointsController, MAX_ENDPOINTS_CAPACITY, computeSubsets, repackSubsets, type EndpointsControllerOptions } from './endpoints.js';
export * from './util.js';

/** The controller-manager's factory: `endpoints-controller` (alias `endpoint`). */
export const newEndpointsController: ControllerFactory = newController;
