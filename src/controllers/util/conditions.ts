/**
 * Status condition helpers shared by the workload controllers (upstream's
 * replicaset/replica_set_utils.go and deployment/util condition functions).
 */

/** The common shape of ReplicaSet, ReplicationController and Deployment conditions. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastUpdateTime?: string;
}

/** The condition of `type`, if present. */
export function getCondition<C extends Condition>(conds: readonly C[] | undefined, type: string): C | undefined {
  return conds?.find((c) => c.type === type);
}

/** The conditions without those of `type`. */
export function filterOutCondition<C extends Condition>(conds: readonly C[] | undefined, type: string): C[] {
  return (conds ?? []).filter((c) => c.type !== type);
}

/**
 * SetCondition (ReplicaSet flavour): adds or replaces the condition of its type, unless
 * one with the same status and reason is already there (then the list is unchanged).
 * Returns the new list.
 */
export function setCondition<C extends Condition>(conds: readonly C[] | undefined, cond: C): C[] {
  const current = getCondition(conds, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return [...(conds ?? [])];
  return [...filterOutCondition(conds, cond.type), cond];
}

/**
 * SetDeploymentCondition: like {@link setCondition}, but a condition whose status did not
 * change keeps its lastTransitionTime (only reason, message and lastUpdateTime move).
 */
export function setDeploymentCondition<C extends Condition>(conds: readonly C[] | undefined, cond: C): C[] {
  const current = getCondition(conds, cond.type);
  if (current && current.status === cond.status && current.reason === cond.reason) return [...(conds ?? [])];
  const next = { ...cond };
  if (current && current.status === cond.status && current.lastTransitionTime) next.lastTransitionTime = current.lastTransitionTime;
  return [...filterOutCondition(conds, cond.type), next];
}

/** The conditions without the one of `type` (RemoveCondition). */
export function removeCondition<C extends Condition>(conds: readonly C[] | undefined, type: string): C[] {
  return filterOutCondition(conds, type);
}
