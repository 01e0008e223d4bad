/** The StatefulSet controller ("statefulset"); see controller.ts and control.ts. */
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { newController } from './controller.js';

export { StatefulSetController, STATEFULSET_CONTROLLER_COMPONENT, newController } from './controller.js';
export type { StatefulSetControllerOptions } from './controller.js';
export { StatefulSetControl, RealStatefulPodControl } from './control.js';
export type { StatefulPodControl, StatefulSetControlOptions, StatefulSetStatus } from './control.js';
export * from './utils.js';

/** Factory for the controller-manager: the StatefulSet controller over the shared informers. */
export const newStatefulSetController: ControllerFactory = (ctx): Controller => {
  const queue = newWorkQueue<string>({ name: 'statefulset', clock: ctx.clock, registry: ctx.registry });
  return newController(ctx, queue);
};
