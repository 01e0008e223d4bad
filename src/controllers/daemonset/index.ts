/** The DaemonSet controller ("daemonset"); see controller.ts. */
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { newController } from './controller.js';

export { DaemonSetsController, DAEMONSET_CONTROLLER_COMPONENT, newController } from './controller.js';
export type { DaemonSetsControllerOptions, DaemonSetStatusCounts } from './controller.js';
export * from './util.js';

/** Factory for the controller-manager: the DaemonSet controller over the shared informers. */
export const newDaemonSetController: ControllerFactory = (ctx): Controller => {
  const queue = newWorkQueue<string>({ name: 'daemonset', clock: ctx.clock, registry: ctx.registry });
  return newController(ctx, queue);
};
