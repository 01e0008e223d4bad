/**
 * spec.podFailurePolicy (upstream pkg/controller/job/pod_failure_policy.go): the first rule
 * a failed pod matches decides — FailJob fails the whole Job at once (reason
 * PodFailurePolicy, with upstream's message), Ignore does not count the failure against
 * backoffLimit, Count counts it as usual. FailIndex needs backoffLimitPerIndex, which is
 * not implemented: such a rule counts the failure.
 */
import type { ContainerStatus, Pod, PodCondition } from '../../client/objects.js';

/** batch/v1 PodFailurePolicy, as the controller reads it. */
export interface PodFailurePolicy {
  rules?: {
    action?: string;
    onExitCodes?: { containerName?: string | null; operator?: string; values?: number[] } | null;
    onPodConditions?: { type?: string; status?: string }[] | null;
  }[];
}

/** What a failed pod means under the policy. */
export interface PolicyMatch {
  /** The FailJob message, when a FailJob rule matched. */
  failJobMessage?: string;
  /** Whether the failure counts against backoffLimit. */
  countFailed: boolean;
  /** The matched rule's action, if any. */
  action?: string;
}

function matchingContainer(statuses: readonly ContainerStatus[] | undefined, req: NonNullable<NonNullable<PodFailurePolicy['rules']>[number]['onExitCodes']>): ContainerStatus | undefined {
  for (const cs of statuses ?? []) {
    const exitCode = cs.state?.terminated?.exitCode;
    // Still running or terminating: no exit code to match yet. Exit code 0 never matches.
    if (exitCode === undefined || exitCode === 0) continue;
    if (req.containerName != null && req.containerName !== cs.name) continue;
    const listed = (req.values ?? []).includes(exitCode);
    if (req.operator === 'In' ? listed : req.operator === 'NotIn' ? !listed : false) return cs;
  }
  return undefined;
}

function matchingCondition(conditions: readonly PodCondition[] | undefined, patterns: readonly { type?: string; status?: string }[]): PodCondition | undefined {
  for (const c of conditions ?? []) {
    if (patterns.some((p) => p.type === c.type && p.status === c.status)) return c;
  }
  return undefined;
}

/** matchPodFailurePolicy. */
export function matchPodFailurePolicy(policy: PodFailurePolicy | null | undefined, pod: Pod): PolicyMatch {
  if (!policy) return { countFailed: true };
  const where = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
  for (const [index, rule] of (policy.rules ?? []).entries()) {
    let subject: string | undefined;
    if (rule.onExitCodes) {
      const cs = matchingContainer(pod.status?.containerStatuses, rule.onExitCodes) ?? matchingContainer(pod.status?.initContainerStatuses, rule.onExitCodes);
      if (cs) subject = `Container ${cs.name} for pod ${where} failed with exit code ${cs.state?.terminated?.exitCode ?? 0}`;
    } else if (rule.onPodConditions) {
      const c = matchingCondition(pod.status?.conditions, rule.onPodConditions);
      if (c) subject = `Pod ${where} has condition ${c.type}`;
    }
    if (subject === undefined) continue;
    switch (rule.action) {
      case 'Ignore':
        return { countFailed: false, action: 'Ignore' };
      case 'Count':
        return { countFailed: true, action: 'Count' };
      case 'FailJob':
        return { countFailed: true, action: 'FailJob', failJobMessage: `${subject} matching FailJob rule at index ${index}` };
      case 'FailIndex':
        return { countFailed: true, action: 'FailIndex' };
    }
  }
  return { countFailed: true };
}
