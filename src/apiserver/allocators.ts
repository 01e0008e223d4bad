/**
 * Service ClusterIP and NodePort allocation (upstream's service REST BeginCreate/BeginUpdate
 * with pkg/registry/core/service/ipallocator and portallocator). Instead of upstream's
 * bitmaps under /registry/ranges, what is in use is read from the stored Services
 * themselves, and allocations are serialized inside this API server, so the stored
 * Services are the only record and nothing can leak.
 */
import { fieldInvalid, goTyped, newPath, type FieldError, type KObject } from '../apimachinery/index.js';
import { patchAllocatedValues } from '../api/core/v1/index.js';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/12';
export const DEFAULT_NODE_PORT_RANGE = { base: 30000, size: 2768 };

type Obj = Record<string, unknown>;

function ipToInt(ip: string): number | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

function intToIP(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

function specOf(o: KObject): Obj {
  return (o.spec ??= {}) as Obj;
}

function needsClusterIP(spec: Obj): boolean {
  return spec.type !== 'ExternalName' && spec.clusterIP !== 'None';
}

function needsNodePorts(spec: Obj): boolean {
  return spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
}

export interface ServiceAllocatorOptions {
  cidr?: string;
  nodePorts?: { base: number; size: number };
  /** Every stored Service (all namespaces). */
  listServices: () => Promise<KObject[]>;
  random?: (n: number) => number;
}

/** Serialized allocation of cluster IPs and node ports. */
export class ServiceAllocator {
  readonly #first: number;
  readonly #last: number;
  readonly #cidr: string;
  readonly #ports: { base: number; size: number };
  readonly #list: () => Promise<KObject[]>;
  readonly #random: (n: number) => number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(opts: ServiceAllocatorOptions) {
    this.#cidr = opts.cidr ?? DEFAULT_SERVICE_CIDR;
    const [addr, bits] = this.#cidr.split('/');
    const base = ipToInt(addr ?? '');
    const prefix = Number(bits);
    if (base === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) throw new Error(`invalid service CIDR ${this.#cidr}`);
    const size = 2 ** (32 - prefix);
    const network = base - (base % size);
    this.#first = network + 1; // the network address is never handed out
    this.#last = network + size - 2; // nor the broadcast address
    this.#ports = opts.nodePorts ?? DEFAULT_NODE_PORT_RANGE;
    this.#list = opts.listServices;
    this.#random = opts.random ?? ((n) => Math.floor(Math.random() * n));
  }

  /** Runs fn with allocations serialized (the allocation and the write it feeds). */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Fills spec.clusterIP(s) and node ports of `svc` (in place); `old` is the stored object
   * on update, whose values it keeps. Returns field errors for requested values that are
   * taken or out of range.
   */
  async allocate(svc: KObject, old?: KObject): Promise<FieldError[]> {
    // The registry calls this before the strategy's prepareForUpdate, so an update that
    // omits the allocated values (`kubectl replace -f` of the original manifest) must get
    // them back first, or a fresh IP/port would be allocated and then refused as a change
    // (upstream's beginUpdate patches them in before allocating, too).
    if (old) patchAllocatedValues(svc, old);
    const spec = specOf(svc);
    const errs: FieldError[] = [];
    const uid = svc.metadata?.uid ?? old?.metadata?.uid;
    const others = (await this.#list()).filter((s) => !(uid && s.metadata?.uid === uid) && !(s.metadata?.name === svc.metadata?.name && s.metadata?.namespace === svc.metadata?.namespace));
    const usedIPs = new Set<string>();
    const usedPorts = new Set<number>();
    for (const s of others) {
      const sp = (s.spec ?? {}) as Obj;
      for (const ip of [sp.clusterIP, ...((sp.clusterIPs as unknown[] | undefined) ?? [])]) if (typeof ip === 'string') usedIPs.add(ip);
      for (const p of (sp.ports as Obj[] | undefined) ?? []) if (typeof p.nodePort === 'number' && p.nodePort > 0) usedPorts.add(p.nodePort);
      if (typeof sp.healthCheckNodePort === 'number' && sp.healthCheckNodePort > 0) usedPorts.add(sp.healthCheckNodePort);
    }

    if (needsClusterIP(spec)) {
      const requested = typeof spec.clusterIP === 'string' && spec.clusterIP !== '' ? spec.clusterIP : undefined;
      const oldIP = (old?.spec as Obj | undefined)?.clusterIP;
      if (requested && requested === oldIP) {
        // kept
      } else if (requested) {
        const n = ipToInt(requested);
        const path = newPath('spec', 'clusterIPs');
        const bad = (msg: string) => errs.push(fieldInvalid(path, goTyped('[]string', [requested]), `failed to allocate IP ${requested}: ${msg}`));
        if (n === undefined || n < this.#first || n > this.#last) {
          bad(`the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${this.#cidr}`);
        } else if (usedIPs.has(requested)) {
          bad('provided IP is already allocated');
        }
      } else {
        const ip = this.#freeIP(usedIPs);
        if (!ip) errs.push(fieldInvalid(newPath('spec', 'clusterIPs'), goTyped('[]string', []), 'failed to allocate IP: range is full'));
        else {
          spec.clusterIP = ip;
          spec.clusterIPs = [ip];
        }
      }
      if (typeof spec.clusterIP === 'string' && spec.clusterIP && !Array.isArray(spec.clusterIPs)) spec.clusterIPs = [spec.clusterIP];
    }

    if (needsNodePorts(spec)) {
      const mine = new Set<number>();
      const ports = (spec.ports as Obj[] | undefined) ?? [];
      ports.forEach((p, i) => {
        const np = typeof p.nodePort === 'number' ? p.nodePort : 0;
        if (np === 0) return;
        const path = newPath('spec', 'ports').index(i).child('nodePort');
        if (np < this.#ports.base || np >= this.#ports.base + this.#ports.size) {
          errs.push(fieldInvalid(path, np, `provided port is not in the valid range. The range of valid ports is ${this.#ports.base}-${this.#ports.base + this.#ports.size - 1}`));
        } else if (usedPorts.has(np)) {
          errs.push(fieldInvalid(path, np, 'provided port is already allocated'));
        }
        mine.add(np);
      });
      for (const p of ports) {
        if (typeof p.nodePort === 'number' && p.nodePort !== 0) continue;
        const port = this.#freePort(new Set([...usedPorts, ...mine]));
        if (port === undefined) {
          errs.push(fieldInvalid(newPath('spec', 'ports'), 0, 'failed to allocate a nodePort: range is full'));
          break;
        }
        p.nodePort = port;
        mine.add(port);
      }
    } else {
      // A service that no longer needs node ports releases them (upstream's type change handling).
      for (const p of (spec.ports as Obj[] | undefined) ?? []) if (spec.type === 'ClusterIP' && old) delete p.nodePort;
    }
    // A LoadBalancer with externalTrafficPolicy Local gets a healthCheckNodePort from the same range (kept on update).
    if (spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local' && !(typeof spec.healthCheckNodePort === 'number' && spec.healthCheckNodePort > 0)) {
      const oldHC = (old?.spec as Obj | undefined)?.healthCheckNodePort;
      const mine = ((spec.ports as Obj[] | undefined) ?? []).map((p) => p.nodePort).filter((n): n is number => typeof n === 'number');
      const port = typeof oldHC === 'number' && oldHC > 0 ? oldHC : this.#freePort(new Set([...usedPorts, ...mine]));
      if (port === undefined) errs.push(fieldInvalid(newPath('spec', 'healthCheckNodePort'), 0, 'failed to allocate a nodePort: range is full'));
      else spec.healthCheckNodePort = port;
    }
    return errs;
  }

  #freeIP(used: Set<string>): string | undefined {
    const size = this.#last - this.#first + 1;
    const start = this.#random(size);
    for (let i = 0; i < size; i++) {
      const ip = intToIP(this.#first + ((start + i) % size));
      if (!used.has(ip)) return ip;
    }
    return undefined;
  }

  #freePort(used: Set<number>): number | undefined {
    const start = this.#random(this.#ports.size);
    for (let i = 0; i < this.#ports.size; i++) {
      const p = this.#ports.base + ((start + i) % this.#ports.size);
      if (!used.has(p)) return p;
    }
    return undefined;
  }
}
