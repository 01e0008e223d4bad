/**
 * The service account controller ("serviceaccount") and the root CA certificate publisher
 * ("root-ca-cert-publisher"); see serviceaccounts.ts and rootcacert.ts.
 */
import { Resources } from '../../client/interface.js';
import type { ConfigMap, Namespace, ServiceAccount } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Controller, ControllerFactory } from '../types.js';
import { RootCACertPublisher } from './rootcacert.js';
import { ServiceAccountsController } from './serviceaccounts.js';

export { ServiceAccountsController } from './serviceaccounts.js';
export type { ServiceAccountsControllerOptions } from './serviceaccounts.js';
export { RootCACertPublisher, ROOT_CA_CONFIGMAP_NAME, ROOT_CA_DESCRIPTION, DESCRIPTION_ANNOTATION } from './rootcacert.js';
export type { RootCACertPublisherOptions } from './rootcacert.js';

/** Factory for the controller-manager: ensures ServiceAccount `default` in every active namespace. */
export const newServiceAccountsController: ControllerFactory = (ctx): Controller =>
  new ServiceAccountsController({
    client: ctx.client,
    serviceAccountInformer: ctx.informers.forResource<ServiceAccount>(Resources.serviceaccounts),
    namespaceInformer: ctx.informers.forResource<Namespace>(Resources.namespaces),
    queue: newWorkQueue<string>({ name: 'serviceaccount', clock: ctx.clock, registry: ctx.registry }),
    logger: ctx.logger,
    workers: ctx.options.workers,
    waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
  });

/**
 * The root CA publisher's factory for a given cluster CA (PEM): the CA is not among the
 * ControllerManagerOptions, so the caller that knows it (the `--root-ca-file` upstream)
 * builds the factory, e.g. `newRootCACertPublisher(readFileSync(caPath, 'utf8'))`.
 */
export function newRootCACertPublisher(rootCAPem: string): ControllerFactory {
  return (ctx): Controller =>
    new RootCACertPublisher({
      client: ctx.client,
      configMapInformer: ctx.informers.forResource<ConfigMap>(Resources.configmaps),
      namespaceInformer: ctx.informers.forResource<Namespace>(Resources.namespaces),
      rootCA: rootCAPem,
      queue: newWorkQueue<string>({ name: 'root_ca_cert_publisher', clock: ctx.clock, registry: ctx.registry }),
      logger: ctx.logger,
      workers: ctx.options.workers,
      waitForCacheSync: (signal) => ctx.informers.waitForCacheSync(signal),
    });
}
