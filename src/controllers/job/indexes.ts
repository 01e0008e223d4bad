/**
 * Completion indexes of Indexed Jobs (upstream pkg/controller/job/indexed_job_utils.go):
 * the per-pod index annotation/label, and the compressed interval form of
 * status.completedIndexes ("0-2,5": ascending, merged).
 */
import type { Pod, PodTemplateSpec } from '../../client/objects.js';

/** batch.kubernetes.io/job-completion-index: the annotation (and, PodIndexLabel, label) on each pod. */
export const JOB_COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

/** The env var every container of an Indexed Job's pods gets (from the annotation). */
export const JOB_COMPLETION_INDEX_ENV = 'JOB_COMPLETION_INDEX';

/** getCompletionIndex: the pod's index, or undefined when absent or malformed. */
export function completionIndexOf(pod: Pod): number | undefined {
  const v = pod.metadata?.annotations?.[JOB_COMPLETION_INDEX_ANNOTATION];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** parseIndexesFromString: the indexes below `completions` named by "a-b,c" (malformed parts ignored). */
export function parseIndexes(s: string | undefined, completions: number): Set<number> {
  const out = new Set<number>();
  for (const part of (s ?? '').split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) continue;
    const x = Number(m[1]);
    const y = m[2] === undefined ? x : Number(m[2]);
    for (let i = x; i <= Math.min(y, completions - 1); i++) out.add(i);
  }
  return out;
}

/** orderedIntervals.String(): "0-2,5". */
export function formatIndexes(indexes: Iterable<number>): string {
  const sorted = [...new Set(indexes)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/**
 * firstPendingIndexes: the lowest `count` indexes below `completions` that have neither
 * succeeded nor an active pod.
 */
export function firstPendingIndexes(succeeded: ReadonlySet<number>, activePods: readonly Pod[], count: number, completions: number): number[] {
  const taken = new Set(succeeded);
  for (const p of activePods) {
    const ix = completionIndexOf(p);
    if (ix !== undefined) taken.add(ix);
  }
  const out: number[] = [];
  for (let i = 0; i < completions && out.length < count; i++) if (!taken.has(i)) out.push(i);
  return out;
}

/**
 * addCompletionIndexEnvVariables + addCompletionIndexAnnotation/Label: the template an
 * Indexed Job's pod for index `ix` is created from (hostname `<job>-<ix>`).
 */
export function indexedPodTemplate(template: PodTemplateSpec, jobName: string, ix: number): PodTemplateSpec {
  const t = structuredClone(template);
  t.metadata ??= {};
  t.metadata.annotations = { ...(t.metadata.annotations ?? {}), [JOB_COMPLETION_INDEX_ANNOTATION]: String(ix) };
  t.metadata.labels = { ...(t.metadata.labels ?? {}), [JOB_COMPLETION_INDEX_ANNOTATION]: String(ix) };
  t.spec ??= { containers: [] };
  t.spec.hostname = `${jobName}-${ix}`;
  const envVar = {
    name: JOB_COMPLETION_INDEX_ENV,
    valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${JOB_COMPLETION_INDEX_ANNOTATION}']` } },
  };
  for (const list of [t.spec.initContainers ?? [], t.spec.containers ?? []]) {
    for (const c of list) {
      if (c.env?.some((e) => e.name === JOB_COMPLETION_INDEX_ENV)) continue;
      c.env = [...(c.env ?? []), structuredClone(envVar)];
    }
  }
  return t;
}

/** batch/v1 SuccessPolicy, as the controller reads it. */
export interface SuccessPolicy {
  rules?: { succeededIndexes?: string | null; succeededCount?: number | null }[];
}

/**
 * matchSuccessPolicy: the first rule the succeeded indexes satisfy — all of its
 * succeededIndexes (or succeededCount of them), or succeededCount indexes overall.
 * Returns upstream's condition message, `Matched rules at index <i>`.
 */
export function matchSuccessPolicy(policy: SuccessPolicy | null | undefined, completions: number, succeeded: ReadonlySet<number>): string | undefined {
  if (!policy || succeeded.size === 0) return undefined;
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    if (rule.succeededIndexes != null) {
      const required = parseIndexes(rule.succeededIndexes, completions);
      if (required.size === 0) continue;
      const contained = [...required].filter((ix) => succeeded.has(ix)).length;
      if (contained >= (rule.succeededCount ?? required.size)) return `Matched rules at index ${index}`;
    } else if (rule.succeededCount != null && succeeded.size >= rule.succeededCount) {
      return `Matched rules at index ${index}`;
    }
  }
  return undefined;
}
