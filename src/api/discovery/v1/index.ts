/** Resource definitions of discovery.k8s.io/v1. */
import type { ResourceDef } from '../../types.js';
import { endpointslices } from './endpointslices.js';

export const resources: ResourceDef[] = [endpointslices];
