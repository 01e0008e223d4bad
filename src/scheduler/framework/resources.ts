/**
 * Resource arithmetic as the scheduler counts it (upstream framework.Resource and
 * component-helpers' resource.PodRequests): CPU in millicores, everything else in whole
 * units, extended resources in a side map.
 */
import { parseQuantity } from '../../apimachinery/quantity.js';
import type { Container, Pod } from '../../client/objects.js';

/** A quantity as it appears in a ResourceList on the wire. */
export type WireQuantity = string | number;
export type ResourceList = Readonly<Record<string, WireQuantity | undefined>>;

/** The default CPU request counted for scoring when a container has none (100m). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
/** The default memory request counted for scoring when a container has none (200 MB). */
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

/** framework.Resource. Mutable; callers own the instances they create. */
export class Resource {
  milliCPU = 0;
  memory = 0;
  ephemeralStorage = 0;
  /** Node allocatable "pods"; unused for requests. */
  allowedPodNumber = 0;
  /** Extended and hugepages resources, by name. */
  scalar: Map<string, number> | undefined;

  static fromList(list: ResourceList | undefined): Resource {
    const r = new Resource();
    if (list) r.addList(list);
    return r;
  }

  addList(list: ResourceList): void {
    for (const name in list) {
      const q = list[name];
      if (q === undefined) continue;
      this.addNamed(name, name === 'cpu' ? milliValue(q) : value(q));
    }
  }

  /** Adds v (millicores for cpu) to the named resource. */
  addNamed(name: string, v: number): void {
    switch (name) {
      case 'cpu': this.milliCPU += v; break;
      case 'memory': this.memory += v; break;
      case 'ephemeral-storage': this.ephemeralStorage += v; break;
      case 'pods': this.allowedPodNumber += v; break;
      default:
        if (isScalarResourceName(name)) {
          this.scalar ??= new Map();
          this.scalar.set(name, (this.scalar.get(name) ?? 0) + v);
        }
    }
  }

  /** The named amount (millicores for cpu). */
  get(name: string): number {
    switch (name) {
      case 'cpu': return this.milliCPU;
      case 'memory': return this.memory;
      case 'ephemeral-storage': return this.ephemeralStorage;
      case 'pods': return this.allowedPodNumber;
      default: return this.scalar?.get(name) ?? 0;
    }
  }

  add(o: Resource, sign = 1): void {
    this.milliCPU += sign * o.milliCPU;
    this.memory += sign * o.memory;
    this.ephemeralStorage += sign * o.ephemeralStorage;
    this.allowedPodNumber += sign * o.allowedPodNumber;
    if (o.scalar) {
      this.scalar ??= new Map();
      for (const [k, v] of o.scalar) this.scalar.set(k, (this.scalar.get(k) ?? 0) + sign * v);
    }
  }

  /** Sets each resource to the larger of this and o. */
  max(o: Resource): void {
    this.milliCPU = Math.max(this.milliCPU, o.milliCPU);
    this.memory = Math.max(this.memory, o.memory);
    this.ephemeralStorage = Math.max(this.ephemeralStorage, o.ephemeralStorage);
    if (o.scalar) {
      this.scalar ??= new Map();
      for (const [k, v] of o.scalar) this.scalar.set(k, Math.max(this.scalar.get(k) ?? 0, v));
    }
  }

  clone(): Resource {
    const r = new Resource();
    r.milliCPU = this.milliCPU;
    r.memory = this.memory;
    r.ephemeralStorage = this.ephemeralStorage;
    r.allowedPodNumber = this.allowedPodNumber;
    if (this.scalar) r.scalar = new Map(this.scalar);
    return r;
  }

  isZero(): boolean {
    if (this.milliCPU !== 0 || this.memory !== 0 || this.ephemeralStorage !== 0) return false;
    if (this.scalar) for (const v of this.scalar.values()) if (v !== 0) return false;
    return true;
  }
}

/**
 * Extended resources (a domain-qualified name outside kubernetes.io, e.g.
 * "example.com/gpu"), hugepages-*, and attachable-volumes-*: what upstream keeps in
 * ScalarResources.
 */
export function isScalarResourceName(name: string): boolean {
  return isExtendedResourceName(name) || name.startsWith('hugepages-') || name.startsWith('attachable-volumes-');
}

/** v1helper.IsExtendedResourceName: a qualified name not in the kubernetes.io namespace and not "requests."-prefixed. */
export function isExtendedResourceName(name: string): boolean {
  if (name.startsWith('requests.')) return false;
  const slash = name.indexOf('/');
  if (slash < 0) return false;
  const prefix = name.slice(0, slash);
  return !(prefix === 'kubernetes.io' || prefix.endsWith('.kubernetes.io'));
}

const quantityCache = new Map<string, { milli: number; value: number }>();

function parsed(q: WireQuantity): { milli: number; value: number } {
  const s = typeof q === 'number' ? String(q) : q;
  let p = quantityCache.get(s);
  if (p === undefined) {
    try {
      const qq = parseQuantity(s);
      p = { milli: qq.milliValue(), value: qq.value() };
    } catch {
      p = { milli: 0, value: 0 };
    }
    // Requests repeat across pods ("100m", "128Mi"): a small bounded memo saves the parse.
    if (quantityCache.size < 10_000) quantityCache.set(s, p);
  }
  return p;
}

/** Millicores of a quantity ("250m" → 250, "2" → 2000). Unparseable → 0 (validation rejects those). */
export function milliValue(q: WireQuantity): number {
  return parsed(q).milli;
}

/** Whole units, rounded up ("1Gi" → 1073741824). */
export function value(q: WireQuantity): number {
  return parsed(q).value;
}

function containerRequests(c: Container, nonZero: boolean): Resource {
  const list = c.resources?.requests as ResourceList | undefined;
  const r = Resource.fromList(list);
  if (nonZero) {
    if (list?.cpu === undefined) r.milliCPU = DEFAULT_MILLI_CPU_REQUEST;
    if (list?.memory === undefined) r.memory = DEFAULT_MEMORY_REQUEST;
  }
  return r;
}

/**
 * resource.PodRequests: what the pod occupies on a node. Regular containers add up;
 * restartable init containers (sidecars) add up too and keep running during later init
 * containers; each ordinary init container runs alone (plus the sidecars started before
 * it), so the pod needs max(sum of containers and sidecars, the largest init step);
 * then the RuntimeClass overhead is added.
 *
 * Example: containers 1 CPU + 1 CPU, init containers 3 CPU then 1 CPU → max(2, 3) = 3 CPU.
 *
 * With nonZero, a container with no cpu (memory) request counts as 100m (200 MB), as
 * upstream's scorers do so best-effort pods do not all pile onto one node.
 */
export function podRequests(pod: Pod, nonZero = false): Resource {
  const spec = pod.spec;
  const reqs = new Resource();
  if (!spec) return reqs;
  for (const c of spec.containers ?? []) reqs.add(containerRequests(c, nonZero));
  if (spec.initContainers && spec.initContainers.length > 0) {
    const sidecars = new Resource();
    const initMax = new Resource();
    for (const c of spec.initContainers) {
      const cr = containerRequests(c, nonZero);
      let step: Resource;
      if (c.restartPolicy === 'Always') {
        reqs.add(cr);
        sidecars.add(cr);
        step = sidecars.clone();
      } else {
        step = cr;
        step.add(sidecars);
      }
      initMax.max(step);
    }
    reqs.max(initMax);
  }
  if (spec.overhead) {
    const o = Resource.fromList(spec.overhead as ResourceList);
    reqs.add(o);
  }
  return reqs;
}
