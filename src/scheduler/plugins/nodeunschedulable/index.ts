/**
 * NodeUnschedulable: a node with spec.unschedulable (kubectl cordon) takes no new pods,
 * unless the pod tolerates the node.kubernetes.io/unschedulable:NoSchedule taint.
 */
import type { Pod, Taint } from '../../../client/objects.js';
import { taintToleratedBy } from '../../framework/helpers.js';
import type { NodeInfo } from '../../framework/nodeinfo.js';
import type { PluginFactory } from '../../framework/registry.js';
import { Code, newStatus, SUCCESS, type ClusterEvent, type FilterPlugin, type Status } from '../../framework/types.js';

export const NAME = 'NodeUnschedulable';
export const ERR_REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
const unschedulableTaint: Taint = { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' };

export class NodeUnschedulable implements FilterPlugin {
  readonly name = NAME;

  eventsToRegister(): readonly ClusterEvent[] {
    return ['NodeAdd', 'NodeUpdate'];
  }

  filter(_state: unknown, pod: Pod, nodeInfo: NodeInfo): Status {
    if (!nodeInfo.node.spec?.unschedulable) return SUCCESS;
    if (taintToleratedBy(unschedulableTaint, pod.spec?.tolerations)) return SUCCESS;
    return newStatus(Code.UnschedulableAndUnresolvable, ERR_REASON_UNSCHEDULABLE);
  }
}

export const factory: PluginFactory = () => new NodeUnschedulable();
