/** The built-in LoadBalancer controller (`service-lb-controller`); see servicelb.ts. */
import type { Controller, ControllerFactory } from '../types.js';
import { ServiceLBController } from './servicelb.js';

export { ServiceLBController, ingressForNodes, LABEL_EXCLUDE_FROM_LB, type ServiceLBControllerOptions } from './servicelb.js';

/** The controller-manager's factory: `service-lb-controller`. */
export const newServiceLBController: ControllerFactory = (ctx): Controller =>
  new ServiceLBController({
    client: ctx.client,
    informers: ctx.informers,
    recorder: ctx.recorder('service-lb-controller'),
    clock: ctx.clock,
    logger: ctx.logger,
    registry: ctx.registry,
    workers: ctx.options.workers,
  });
