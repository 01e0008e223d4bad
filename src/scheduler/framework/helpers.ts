/**
 * Node-side matching shared by plugins: taints against tolerations (v1 helper
 * ToleratesTaint) and node selector terms (component-helpers nodeaffinity).
 */
import type { Node, NodeSelectorRequirement, NodeSelectorTerm, Taint, Toleration } from '../../client/objects.js';

/** v1.Toleration.ToleratesTaint. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? '') {
    case '':
    case 'Equal':
      return (t.value ?? '') === (taint.value ?? '');
    case 'Exists':
      return true;
    default:
      return false;
  }
}

export function taintToleratedBy(taint: Taint, tolerations: readonly Toleration[] | undefined): boolean {
  if (!tolerations) return false;
  for (const t of tolerations) if (toleratesTaint(t, taint)) return true;
  return false;
}

/** The first taint passing `include` that no toleration tolerates. */
export function findUntoleratedTaint(taints: readonly Taint[] | undefined, tolerations: readonly Toleration[] | undefined, include: (t: Taint) => boolean): Taint | undefined {
  if (!taints) return undefined;
  for (const taint of taints) {
    if (!include(taint)) continue;
    if (!taintToleratedBy(taint, tolerations)) return taint;
  }
  return undefined;
}

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined, has: boolean): boolean {
  const vals = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && vals.includes(value!);
    case 'NotIn':
      return !has || !vals.includes(value!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || vals.length !== 1) return false;
      if (!/^[+-]?\d+$/.test(value!) || !/^[+-]?\d+$/.test(vals[0]!)) return false;
      const a = Number(value);
      const b = Number(vals[0]);
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/**
 * Whether the node matches one NodeSelectorTerm: every matchExpression on labels and every
 * matchField (only metadata.name, In/NotIn) holds. A term with neither matches nothing.
 */
export function nodeSelectorTermMatches(term: NodeSelectorTerm, node: Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  for (const r of exprs) {
    const has = Object.prototype.hasOwnProperty.call(labels, r.key);
    if (!requirementMatches(r, labels[r.key], has)) return false;
  }
  for (const r of fields) {
    if (r.key !== 'metadata.name') return false;
    if (r.operator !== 'In' && r.operator !== 'NotIn') return false;
    if (!requirementMatches(r, node.metadata?.name ?? '', true)) return false;
  }
  return true;
}

/** NodeSelector: the terms are ORed. */
export function nodeSelectorMatches(terms: readonly NodeSelectorTerm[], node: Node): boolean {
  for (const t of terms) if (nodeSelectorTermMatches(t, node)) return true;
  return false;
}

/** Whether every key=value of selector is a label of node. */
export function nodeSelectorMapMatches(selector: Readonly<Record<string, string>> | undefined, node: Node): boolean {
  if (!selector) return true;
  const labels = node.metadata?.labels ?? {};
  for (const k in selector) if (labels[k] !== selector[k]) return false;
  return true;
}

/** Pod priority (spec.priority, 0 when unset). */
export function podPriority(p: { spec?: { priority?: number } }): number {
  return p.spec?.priority ?? 0;
}
