/** The ReplicaSet controller ("replicaset"); see controller.ts. */
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { newController, replicaSetKind } from './controller.js';

export { ReplicaSetController, replicaSetKind, replicationControllerKind, REPLICA_FAILURE, newController } from './controller.js';
export type { ReplicaSetLike, ReplicaSetStatus, ReplicaSetKind, ReplicaSetControllerOptions } from './controller.js';

/** Factory for the controller-manager: the ReplicaSet controller over the shared informers. */
export const newReplicaSetController: ControllerFactory = (ctx): Controller => {
  const queue = newWorkQueue<string>({ name: 'replicaset', clock: ctx.clock, registry: ctx.registry });
  return newController(replicaSetKind, ctx, queue);
};
