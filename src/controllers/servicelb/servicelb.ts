/**
 * The built-in LoadBalancer controller (k3s's ServiceLB idea, without its per-node pods):
 * every Service of type LoadBalancer gets `status.loadBalancer.ingress` = the InternalIP of
 * each Ready node, with ipMode VIP, so kube-proxy on every node answers on those addresses
 * (its `loadbalancer IP` rules) and the Service is reachable from outside the cluster at
 * `<node IP>:<port>`. Nodes labelled `node.kubernetes.io/exclude-from-external-load-balancers`
 * are left out, as upstream's service controller does; Services that name a
 * `spec.loadBalancerClass` belong to another controller and are left alone. A Service that
 * stops being a LoadBalancer has its ingress cleared.
 */
import type { Registry } from 'prom-client';
import { isNotFound } from '../../apimachinery/errors.js';
import { deepClone, type KObject } from '../../apimachinery/meta.js';
import { keyOf, Resources, type Client, type EventRecorder, type Informer, type InformerFactory, type WorkQueue } from '../../client/interface.js';
import type { Node, Service } from '../../client/objects.js';
import { newWorkQueue } from '../../client/workqueue.js';
import type { Clock } from '../../util/clock.js';
import type { Logger } from '../../util/log.js';
import type { Controller } from '../types.js';
import { runWorkers } from '../util/worker.js';

/** Nodes with this label never carry load-balancer traffic (upstream's LabelNodeExcludeBalancers). */
export const LABEL_EXCLUDE_FROM_LB = 'node.kubernetes.io/exclude-from-external-load-balancers';

export interface ServiceLBControllerOptions {
  client: Client;
  informers: InformerFactory;
  recorder: EventRecorder;
  clock: Clock;
  logger: Logger;
  registry?: Registry;
  workers?: number;
}

interface Ingress {
  ip: string;
  ipMode: 'VIP';
}

function isLoadBalancer(svc: Service | undefined): boolean {
  return svc?.spec?.type === 'LoadBalancer' && !svc.spec.loadBalancerClass;
}

function nodeReady(n: Node): boolean {
  return (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

function internalIP(n: Node): string | undefined {
  return (n.status?.addresses ?? []).find((a) => a.type === 'InternalIP' && /^\d+\.\d+\.\d+\.\d+$/.test(a.address))?.address;
}

/** The ingress list for the current nodes: one entry per Ready, eligible node's InternalIP, sorted. */
export function ingressForNodes(nodes: readonly Node[]): Ingress[] {
  const ips = new Set<string>();
  for (const n of nodes) {
    if (!nodeReady(n) || n.metadata?.labels?.[LABEL_EXCLUDE_FROM_LB] !== undefined || n.spec?.unschedulable) continue;
    const ip = internalIP(n);
    if (ip) ips.add(ip);
  }
  return [...ips].sort().map((ip) => ({ ip, ipMode: 'VIP' }));
}

/** What about a node matters here: whether it is used, and at which address. */
function nodeFingerprint(n: Node): string {
  return `${nodeReady(n)}|${n.metadata?.labels?.[LABEL_EXCLUDE_FROM_LB] ?? '-'}|${n.spec?.unschedulable === true}|${internalIP(n) ?? ''}`;
}

export class ServiceLBController implements Controller {
  readonly name = 'service-lb-controller';
  readonly queue: WorkQueue<string>;
  private readonly o: ServiceLBControllerOptions;
  private readonly services: Informer<Service>;
  private readonly nodes: Informer<Node>;

  constructor(opts: ServiceLBControllerOptions) {
    this.o = opts;
    this.queue = newWorkQueue<string>({ name: 'service-lb', clock: opts.clock, registry: opts.registry });
    this.services = opts.informers.forResource<Service>(Resources.services);
    this.nodes = opts.informers.forResource<Node>(Resources.nodes);
    this.services.addEventHandler({
      add: (s) => isLoadBalancer(s) && this.queue.add(keyOf(s)),
      update: (old, s) => {
        // Also when it stopped being a LoadBalancer, so its ingress is cleared.
        if (isLoadBalancer(s) || isLoadBalancer(old)) this.queue.add(keyOf(s));
      },
    });
    const allLBs = () => {
      for (const s of this.services.lister.list()) if (isLoadBalancer(s)) this.queue.add(keyOf(s));
    };
    this.nodes.addEventHandler({
      add: () => allLBs(),
      update: (old, n) => {
        if (nodeFingerprint(old) !== nodeFingerprint(n)) allLBs();
      },
      delete: () => allLBs(),
    });
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.o.informers.waitForCacheSync(signal);
    } catch {
      this.queue.shutDown();
      return;
    }
    await runWorkers({ queue: this.queue, workers: this.o.workers ?? 1, sync: (k) => this.syncService(k), logger: this.o.logger, signal });
  }

  /** Brings one Service's status.loadBalancer in line with the nodes; throws to be retried. */
  async syncService(key: string): Promise<void> {
    const svc = this.services.lister.get(key);
    if (!svc) return;
    const current = (svc.status?.loadBalancer?.ingress ?? []) as unknown[];
    let want: Ingress[];
    if (isLoadBalancer(svc)) want = ingressForNodes(this.nodes.lister.list());
    else if (svc.spec?.type !== 'LoadBalancer' && current.length > 0) want = [];
    else return;
    if (JSON.stringify(current) === JSON.stringify(want)) return;
    const next = deepClone(svc as Service & KObject) as Service & KObject;
    next.status = { ...(next.status ?? {}), loadBalancer: want.length ? { ingress: want as never } : {} };
    try {
      await this.o.client.resource<Service & KObject>(Resources.services, svc.metadata?.namespace).updateStatus(next);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    if (want.length) this.o.recorder.event(next, 'Normal', 'EnsuredLoadBalancer', 'Ensured load balancer');
    else if (isLoadBalancer(svc)) this.o.recorder.event(next, 'Warning', 'UnAvailableLoadBalancer', 'There are no available nodes for LoadBalancer');
    else this.o.recorder.event(next, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
  }
}
