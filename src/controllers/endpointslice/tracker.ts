/**
 * endpointsliceutil.EndpointSliceTracker: the generation of every EndpointSlice this
 * controller last wrote, per Service. It tells the controller whether a slice event is
 * its own write coming back (nothing to do) or someone else's change (resync), and
 * whether the informer cache is still behind its own writes (sync later, or it would act
 * on stale slices and create duplicates).
 */
import type { EndpointSlice } from '../../client/objects.js';

/** Marks a slice this controller deleted and expects to see disappear. */
const DELETION_EXPECTED = -1;

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function serviceKeyOf(slice: EndpointSlice): string | undefined {
  const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return svc ? `${slice.metadata?.namespace ?? ''}/${svc}` : undefined;
}

export class EndpointSliceTracker {
  /** service key → slice uid → generation (or DELETION_EXPECTED). */
  private readonly generationsByService = new Map<string, Map<string, number>>();

  private gens(slice: EndpointSlice): Map<string, number> | undefined {
    const k = serviceKeyOf(slice);
    return k === undefined ? undefined : this.generationsByService.get(k);
  }

  /** Whether the slice is tracked. */
  has(slice: EndpointSlice): boolean {
    return this.gens(slice)?.has(slice.metadata?.uid ?? '') ?? false;
  }

  /** True unless the slice is exactly (or older than) what this controller last wrote. */
  shouldSync(slice: EndpointSlice): boolean {
    const g = this.gens(slice)?.get(slice.metadata?.uid ?? '');
    return g === undefined || (slice.metadata?.generation ?? 0) > g;
  }

  /**
   * True when the cache lags this controller's writes: a slice older than written, one
   * expected deleted still present, or one written but not yet listed.
   */
  staleSlices(namespace: string, name: string, slices: readonly EndpointSlice[]): boolean {
    const gfs = this.generationsByService.get(`${namespace}/${name}`);
    if (!gfs) return false;
    const provided = new Set<string>();
    for (const s of slices) {
      const uid = s.metadata?.uid ?? '';
      provided.add(uid);
      const g = gfs.get(uid);
      if (g !== undefined && (g === DELETION_EXPECTED || g > (s.metadata?.generation ?? 0))) return true;
    }
    for (const [uid, g] of gfs) if (g !== DELETION_EXPECTED && !provided.has(uid)) return true;
    return false;
  }

  /** Records a slice as written by this controller. */
  update(slice: EndpointSlice): void {
    const k = serviceKeyOf(slice);
    if (k === undefined) return;
    let gfs = this.generationsByService.get(k);
    if (!gfs) this.generationsByService.set(k, (gfs = new Map()));
    gfs.set(slice.metadata?.uid ?? '', slice.metadata?.generation ?? 0);
  }

  /** Records a deletion this controller made. */
  expectDeletion(slice: EndpointSlice): void {
    const k = serviceKeyOf(slice);
    if (k === undefined) return;
    let gfs = this.generationsByService.get(k);
    if (!gfs) this.generationsByService.set(k, (gfs = new Map()));
    gfs.set(slice.metadata?.uid ?? '', DELETION_EXPECTED);
  }

  /** Forgets a deleted slice; false when the deletion was not this controller's. */
  handleDeletion(slice: EndpointSlice): boolean {
    const gfs = this.gens(slice);
    if (!gfs) return true;
    const uid = slice.metadata?.uid ?? '';
    const g = gfs.get(uid);
    gfs.delete(uid);
    return g === undefined || g === DELETION_EXPECTED;
  }

  deleteService(namespace: string, name: string): void {
    this.generationsByService.delete(`${namespace}/${name}`);
  }
}
