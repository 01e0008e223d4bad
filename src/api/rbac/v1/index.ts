/** Resource definitions of rbac.authorization.k8s.io/v1. */
import type { ResourceDef } from '../../types.js';
import { clusterrolebindings, clusterroles, rolebindings, roles } from './rbac.js';

export const resources: ResourceDef[] = [clusterrolebindings, clusterroles, rolebindings, roles];
