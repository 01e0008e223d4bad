/**
 * Flotilla's client machinery (client-go in TypeScript): the contracts components code
 * against, the work queue, informers and listers, the fake client for unit tests, events,
 * the REST client and leader election.
 */
export * from './interface.js';
export type * from './objects.js';
export { newWorkQueue, type WorkQueueOptions } from './workqueue.js';
export { FakeClient, type FakeAction, type FakeReactor, type FakeClientOptions } from './fake.js';
export {
  newInformer,
  newInformerFactory,
  NamespaceIndex,
  SharedInformer,
  type InformerOptions,
  type InformerFactoryOptions,
} from './informer.js';
export { deepFreeze } from './freeze.js';
export { newEventRecorder, EVENT_AGGREGATION_WINDOW_MS, type EventRecorderOptions } from './events.js';
export { loadKubeconfig, type KubeconfigCredentials } from './kubeconfig.js';
export { newRestClient, restClientFromKubeconfig, RestClient, type RestClientOptions } from './rest.js';
export { newLeaderElector, type LeaderElector, type LeaderElectorOptions } from './leaderelection.js';
export { newLocalClient, LocalClient, type LocalClientOptions, type LocalRoundTrip } from './local.js';
