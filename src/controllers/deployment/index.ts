/** The Deployment controller ("deployment"); see controller.ts. */
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { newController } from './controller.js';

export { DeploymentController, newController } from './controller.js';
export type { DeploymentControllerOptions } from './controller.js';
export * from './util.js';

/** Factory for the controller-manager: the Deployment controller over the shared informers. */
export const newDeploymentController: ControllerFactory = (ctx): Controller => {
  const queue = newWorkQueue<string>({ name: 'deployment', clock: ctx.clock, registry: ctx.registry });
  return newController(ctx, queue);
};
