/**
 * The service account controller (upstream pkg/controller/serviceaccount,
 * "serviceaccount-controller"): every active namespace has the ServiceAccounts it should
 * (by default just `default`); one deleted is created again.
 */
import { hasStatusCause, isAlreadyExists } from '../../apimachinery/errors.js';
import { isTombstone, Resources, type Client, type Informer, type Lister, type WorkQueue } from '../../client/interface.js';
import type { Namespace, ServiceAccount } from '../../client/objects.js';
import type { Logger } from '../../util/log.js';
import { NAMESPACE_TERMINATING_CAUSE, runWorkers } from '../util/index.js';

export interface ServiceAccountsControllerOptions {
  client: Client;
  serviceAccountInformer: Informer<ServiceAccount>;
  namespaceInformer: Informer<Namespace>;
  /** Namespace names to sync. */
  queue: WorkQueue<string>;
  logger: Logger;
  /** The accounts to ensure (default: `default`). */
  serviceAccounts?: readonly string[];
  workers?: number;
  waitForCacheSync?: (signal: AbortSignal) => Promise<void>;
}

export class ServiceAccountsController {
  readonly name = 'serviceaccount';
  readonly queue: WorkQueue<string>;
  private readonly client: Client;
  private readonly saLister: Lister<ServiceAccount>;
  private readonly nsLister: Lister<Namespace>;
  private readonly logger: Logger;
  private readonly accounts: readonly string[];
  private readonly workers: number;
  private readonly waitForCacheSync: (signal: AbortSignal) => Promise<void>;

  constructor(opts: ServiceAccountsControllerOptions) {
    this.client = opts.client;
    this.queue = opts.queue;
    this.saLister = opts.serviceAccountInformer.lister;
    this.nsLister = opts.namespaceInformer.lister;
    this.logger = opts.logger;
    this.accounts = opts.serviceAccounts ?? ['default'];
    this.workers = opts.workers ?? 1;
    this.waitForCacheSync = opts.waitForCacheSync ?? (async () => {});
    opts.serviceAccountInformer.addEventHandler({
      delete: (obj) => {
        const sa = isTombstone(obj) ? obj.obj : obj;
        if (sa.metadata?.namespace) this.queue.add(sa.metadata.namespace);
      },
    });
    opts.namespaceInformer.addEventHandler({
      add: (ns) => this.queue.add(ns.metadata?.name ?? ''),
      update: (_old, ns) => this.queue.add(ns.metadata?.name ?? ''),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    this.logger.info('Starting service account controller');
    try {
      await this.waitForCacheSync(signal);
    } catch {
      this.queue.shutDown();
      return;
    }
    await runWorkers({ queue: this.queue, workers: this.workers, sync: (k) => this.syncNamespace(k), logger: this.logger, signal });
    this.logger.info('Shutting down service account controller');
  }

  /** Creates the missing accounts of an active namespace; a terminating namespace is left alone. */
  async syncNamespace(name: string): Promise<void> {
    const ns = this.nsLister.get(name);
    if (!ns || ns.status?.phase !== 'Active') return;
    const errs: unknown[] = [];
    for (const sa of this.accounts) {
      if (this.saLister.get(`${name}/${sa}`)) continue;
      try {
        await this.client.resource<ServiceAccount>(Resources.serviceaccounts, name).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: name } });
      } catch (err) {
        if (isAlreadyExists(err) || hasStatusCause(err, NAMESPACE_TERMINATING_CAUSE)) continue;
        errs.push(err);
      }
    }
    if (errs.length === 1) throw errs[0];
    if (errs.length > 1) throw new AggregateError(errs, errs.map(String).join(', '));
  }
}
