/**
 * The control loops kube-controller-manager runs, by upstream 1.32's names
 * (cmd/kube-controller-manager/names) with the older aliases `--controllers` still accepts.
 */
import { newCronJobController } from './cronjob/index.js';
import { newDaemonSetController } from './daemonset/index.js';
import { newDeploymentController } from './deployment/index.js';
import { newEndpointsController } from './endpoints/index.js';
import { newEndpointSliceController } from './endpointslice/index.js';
import { newGarbageCollector } from './garbagecollector/index.js';
import { newJobController } from './job/index.js';
import type { ControllerDescriptor } from './manager.js';
import { newNamespaceController } from './namespace/index.js';
import { newNodeLifecycleController, newTaintEvictionController } from './nodelifecycle/index.js';
import { newPodGCController } from './podgc/index.js';
import { newReplicaSetController } from './replicaset/index.js';
import { newReplicationController } from './replication/index.js';
import { newRootCACertPublisher, newServiceAccountsController } from './serviceaccount/index.js';
import { newServiceLBController } from './servicelb/index.js';
import { newStatefulSetController } from './statefulset/index.js';

export interface BuiltinControllerOptions {
  /** The cluster CA (PEM) the root-ca-certificate-publisher puts in every namespace; the controller is off without it. */
  rootCAPem?: string;
}

/** Every built-in controller, in the order the manager starts them. */
export function builtinControllers(opts: BuiltinControllerOptions = {}): ControllerDescriptor[] {
  const list: ControllerDescriptor[] = [
    { name: 'serviceaccount-controller', aliases: ['serviceaccount'], factory: newServiceAccountsController },
    { name: 'endpoints-controller', aliases: ['endpoint'], factory: newEndpointsController },
    { name: 'endpointslice-controller', aliases: ['endpointslice'], factory: newEndpointSliceController },
    { name: 'replicationcontroller-controller', aliases: ['replicationcontroller'], factory: newReplicationController },
    { name: 'pod-garbage-collector-controller', aliases: ['podgc'], factory: newPodGCController },
    { name: 'namespace-controller', aliases: ['namespace'], factory: newNamespaceController },
    { name: 'garbage-collector-controller', aliases: ['garbagecollector'], factory: newGarbageCollector },
    { name: 'daemonset-controller', aliases: ['daemonset'], factory: newDaemonSetController },
    { name: 'job-controller', aliases: ['job'], factory: newJobController },
    { name: 'deployment-controller', aliases: ['deployment'], factory: newDeploymentController },
    { name: 'replicaset-controller', aliases: ['replicaset'], factory: newReplicaSetController },
    { name: 'statefulset-controller', aliases: ['statefulset'], factory: newStatefulSetController },
    { name: 'cronjob-controller', aliases: ['cronjob'], factory: newCronJobController },
    { name: 'node-lifecycle-controller', aliases: ['nodelifecycle'], factory: newNodeLifecycleController },
    { name: 'taint-eviction-controller', aliases: [], factory: newTaintEvictionController },
    { name: 'service-lb-controller', aliases: ['servicelb'], factory: newServiceLBController },
  ];
  if (opts.rootCAPem) {
    list.push({ name: 'root-ca-certificate-publisher-controller', aliases: ['root-ca-cert-publisher'], factory: newRootCACertPublisher(opts.rootCAPem) });
  }
  return list;
}
