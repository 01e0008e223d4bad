/**
 * The ReplicationController controller ("replicationcontroller"): upstream runs the
 * ReplicaSet controller over core/v1 ReplicationControllers through a conversion layer; here
 * the same engine reads an RC's plain-map selector directly (replicationControllerKind),
 * and its events come from "replication-controller".
 */
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { newController, replicationControllerKind } from '../replicaset/controller.js';

/** Factory for the controller-manager: the ReplicationController controller over the shared informers. */
export const newReplicationController: ControllerFactory = (ctx): Controller => {
  const queue = newWorkQueue<string>({ name: 'replicationmanager', clock: ctx.clock, registry: ctx.registry });
  return newController(replicationControllerKind, ctx, queue);
};
