/** Resource definitions of coordination.k8s.io/v1. */
import type { ResourceDef } from '../../types.js';
import { leases } from './leases.js';

export const resources: ResourceDef[] = [leases];
