/**
 * NodePorts: a pod asking for host ports fits only nodes where none of those
 * (ip, protocol, port) triples is taken; 0.0.0.0 clashes with every address.
 */
import type { Pod } from '../../../client/objects.js';
import type { HostPort, NodeInfo, PodInfo } from '../../framework/nodeinfo.js';
import type { PluginFactory } from '../../framework/registry.js';
import { Code, newStatus, SKIP, stateKey, SUCCESS, type ClusterEvent, type CycleState, type FilterPlugin, type PreFilterPlugin, type Status } from '../../framework/types.js';

export const NAME = 'NodePorts';
export const ERR_REASON = "node(s) didn't have free ports for the requested pod ports";
const key = stateKey<readonly HostPort[]>(`PreFilter${NAME}`);

export class NodePorts implements PreFilterPlugin, FilterPlugin {
  readonly name = NAME;

  eventsToRegister(): readonly ClusterEvent[] {
    return ['NodeAdd', 'AssignedPodDelete'];
  }

  preFilter(state: CycleState, _pod: Pod, pi: PodInfo): Status {
    if (pi.hostPorts.length === 0) return SKIP;
    state.write(key, pi.hostPorts);
    return SUCCESS;
  }

  filter(state: CycleState, _pod: Pod, nodeInfo: NodeInfo): Status {
    const ports = state.read(key);
    if (!ports) return SUCCESS;
    for (const p of ports) if (nodeInfo.usedPorts.checkConflict(p)) return newStatus(Code.Unschedulable, ERR_REASON);
    return SUCCESS;
  }
}

export const factory: PluginFactory = () => new NodePorts();
