/**
 * The root CA certificate publisher (upstream pkg/controller/certificates/rootcacertpublisher,
 * "root-ca-certificate-publisher-controller"): every namespace has the ConfigMap
 * `kube-root-ca.crt` whose `ca.crt` is the cluster CA, so pods can verify the API server
 * (the projected service account token volume mounts it). Changed or deleted copies are
 * put back.
 */
import { hasStatusCause, isNotFound } from '../../apimachinery/errors.js';
import { deepClone, deepEqual } from '../../apimachinery/meta.js';
import { isTombstone, Resources, type Client, type Informer, type Lister, type WorkQueue } from '../../client/interface.js';
import type { ConfigMap, Namespace } from '../../client/objects.js';
import type { Logger } from '../../util/log.js';
import { NAMESPACE_TERMINATING_CAUSE, runWorkers } from '../util/index.js';

export const ROOT_CA_CONFIGMAP_NAME = 'kube-root-ca.crt';
export const DESCRIPTION_ANNOTATION = 'kubernetes.io/description';
export const ROOT_CA_DESCRIPTION =
  'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. ' +
  'No other usage is guaranteed across distributions of Kubernetes clusters.';

export interface RootCACertPublisherOptions {
  client: Client;
  configMapInformer: Informer<ConfigMap>;
  namespaceInformer: Informer<Namespace>;
  /** The cluster CA certificate(s), PEM. */
  rootCA: string;
  /** Namespace names to sync. */
  queue: WorkQueue<string>;
  logger: Logger;
  workers?: number;
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

export class RootCACertPublisher {
  readonly name = 'root-ca-cert-publisher';
  readonly queue: WorkQueue<string>;
  private readonly client: Client;
  private readonly cmLister: Lister<ConfigMap>;
  private readonly rootCA: string;
  private readonly logger: Logger;
  private readonly workers: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;

  constructor(opts: RootCACertPublisherOptions) {
    this.client = opts.client;
    this.queue = opts.queue;
    this.cmLister = opts.configMapInformer.lister;
    this.rootCA = opts.rootCA;
    this.logger = opts.logger;
    this.workers = opts.workers ?? 1;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
    const onConfigMap = (cm: ConfigMap) => {
      if (cm.metadata?.name === ROOT_CA_CONFIGMAP_NAME && cm.metadata.namespace) this.queue.add(cm.metadata.namespace);
    };
    opts.configMapInformer.addEventHandler({
      update: (_old, cm) => onConfigMap(cm),
      delete: (obj) => onConfigMap(isTombstone(obj) ? obj.obj : obj),
    });
    opts.namespaceInformer.addEventHandler({
      add: (ns) => this.queue.add(ns.metadata?.name ?? ''),
      update: (_old, ns) => {
        if (ns.status?.phase === 'Active') this.queue.add(ns.metadata?.name ?? '');
      },
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.logger.info('Starting root CA certificate configmap publisher');
    try {
      await this.waitForCacheSync(signal);
    } catch {
      this.queue.shutDown();
      return;
    }
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (k) => this.syncNamespace(k), logger: this.logger, signal });
    this.logger.info('Shutting down root CA certificate configmap publisher');
  }

  /** Creates or repairs the namespace's kube-root-ca.crt. */
  async syncNamespace(ns: string): Promise<void> {
    const data = { 'ca.crt': this.rootCA };
    const cms = this.client.resource<ConfigMap>(Resources.configmaps, ns);
    const cm = this.cmLister.get(`${ns}/${ROOT_CA_CONFIGMAP_NAME}`);
    if (!cm) {
      try {
        await cms.create({
          apiVersion: 'v1',
          kind: 'ConfigMap',
          metadata: { name: ROOT_CA_CONFIGMAP_NAME, annotations: { [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION } },
          data,
        });
      } catch (err) {
        // A namespace that is gone or terminating gets nothing.
        if (isNotFound(err) || hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) return;
        throw err;
      }
      return;
    }
    if (deepEqual(cm.data ?? {}, data) && (cm.metadata?.annotations?.[DESCRIPTION_ANNOTATION] ?? '') !== '') return;
    const next = deepClone(cm);
    next.data = data;
    next.metadata = { ...next.metadata, annotations: { ...next.metadata?.annotations, [DESCRIPTION_ANNOTATION]: ROOT_CA_DESCRIPTION } };
    await cms.update(next);
  }
}
