/** NodeName: a pod that names its node (spec.nodeName) fits only that node. */
import type { Pod } from '../../../client/objects.js';
import type { NodeInfo } from '../../framework/nodeinfo.js';
import type { PluginFactory } from '../../framework/registry.js';
import { Code, newStatus, SUCCESS, type ClusterEvent, type FilterPlugin, type Status } from '../../framework/types.js';

export const NAME = 'NodeName';
export const ERR_REASON = "node(s) didn't match the requested node name";

export class NodeName implements FilterPlugin {
  readonly name = NAME;

  eventsToRegister(): readonly ClusterEvent[] {
    return ['NodeAdd'];
  }

  filter(_state: unknown, pod: Pod, nodeInfo: NodeInfo): Status {
    const want = pod.spec?.nodeName;
    if (!want || want === nodeInfo.name) return SUCCESS;
    return newStatus(Code.UnschedulableAndUnresolvable, ERR_REASON);
  }
}

export const factory: PluginFactory = () => new NodeName();
