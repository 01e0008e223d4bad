/** Resource definitions of apps/v1. */
import type { ResourceDef } from '../../types.js';
import { controllerrevisions } from './controllerrevisions.js';
import { daemonsets } from './daemonsets.js';
import { deployments } from './deployments.js';
import { replicasets } from './replicasets.js';
import { statefulsets } from './statefulsets.js';

export const resources: ResourceDef[] = [controllerrevisions, daemonsets, deployments, replicasets, statefulsets];
