/**
 * DefaultBinder: binds through the API, POST pods/NAME/binding with a v1 Binding whose
 * target is the node (what the API server turns into spec.nodeName).
 */
import { Resources } from '../../../client/interface.js';
import type { Pod } from '../../../client/objects.js';
import type { Handle, PluginFactory } from '../../framework/registry.js';
import { asStatus, SUCCESS, type BindPlugin, type CycleState, type Status } from '../../framework/types.js';

export const NAME = 'DefaultBinder';

export class DefaultBinder implements BindPlugin {
  readonly name = NAME;

  constructor(private readonly handle: Handle) {}

  async bind(_state: CycleState, pod: Pod, nodeName: string): Promise<Status> {
    const client = this.handle.client;
    if (!client) return asStatus(new Error('no client to bind with'));
    const name = pod.metadata?.name ?? '';
    const namespace = pod.metadata?.namespace ?? 'default';
    try {
      await client.resource(Resources.pods, namespace).createSubresource(name, 'binding', {
        apiVersion: 'v1',
        kind: 'Binding',
        metadata: { name, namespace, ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}) },
        target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
      });
    } catch (e) {
      return asStatus(e);
    }
    return SUCCESS;
  }
}

export const factory: PluginFactory = (_args, handle) => new DefaultBinder(handle);
