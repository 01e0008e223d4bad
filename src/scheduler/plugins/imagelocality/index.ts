/**
 * ImageLocality: prefers nodes that already have the pod's images, weighting each image's
 * size by how widely it is spread (an image on every node is no reason to pick one).
 */
import type { Pod } from '../../../client/objects.js';
import type { NodeInfo } from '../../framework/nodeinfo.js';
import type { Handle, PluginFactory } from '../../framework/registry.js';
import { MAX_NODE_SCORE, SKIP, stateKey, SUCCESS, type ClusterEvent, type CycleState, type PreScorePlugin, type ScorePlugin, type Status } from '../../framework/types.js';

export const NAME = 'ImageLocality';

const MB = 1024 * 1024;
/** Below this total, image locality does not count (23 MB, the pause image's order of size). */
const MIN_THRESHOLD = 23 * MB;
/** Per-container cap on the image size that counts (1000 MB). */
const MAX_CONTAINER_THRESHOLD = 1000 * MB;

/** "nginx" → "nginx:latest"; a name with a tag or digest is kept. */
export function normalizedImageName(name: string): string {
  if (name.lastIndexOf(':') <= name.lastIndexOf('/')) return `${name}:latest`;
  return name;
}

function calculatePriority(sum: number, numContainers: number): number {
  const maxThreshold = MAX_CONTAINER_THRESHOLD * numContainers;
  const s = Math.min(Math.max(sum, MIN_THRESHOLD), maxThreshold);
  return Math.trunc((MAX_NODE_SCORE * (s - MIN_THRESHOLD)) / (maxThreshold - MIN_THRESHOLD));
}

interface PreScoreState {
  /** Normalised image name of every (init) container; '' for none. */
  images: string[];
  totalNodes: number;
}
const preScoreKey = stateKey<PreScoreState>(`PreScore${NAME}`);

export class ImageLocality implements PreScorePlugin, ScorePlugin {
  readonly name = NAME;

  constructor(private readonly handle: Handle) {}

  eventsToRegister(): readonly ClusterEvent[] {
    return [];
  }

  preScore(state: CycleState, pod: Pod, nodes: readonly NodeInfo[]): Status {
    // No candidate node has any image: every score would be 0.
    if (!nodes.some((n) => n.imageStates.size > 0)) return SKIP;
    const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    state.write(preScoreKey, {
      images: containers.map((c) => (c.image ? normalizedImageName(c.image) : '')),
      totalNodes: this.handle.snapshot().list().length,
    });
    return SUCCESS;
  }

  score(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): number {
    const s = state.read(preScoreKey);
    if (!s || s.images.length === 0 || s.totalNodes === 0) return 0;
    let sum = 0;
    if (nodeInfo.imageStates.size > 0) {
      for (const img of s.images) {
        const st = img ? nodeInfo.imageStates.get(img) : undefined;
        if (st) sum += Math.trunc((st.size * st.numNodes) / s.totalNodes);
      }
    }
    return calculatePriority(sum, s.images.length);
  }
}

export const factory: PluginFactory = (_args, handle) => new ImageLocality(handle);
