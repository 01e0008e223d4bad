/** Resource definitions of events.k8s.io/v1. */
import type { ResourceDef } from '../../types.js';
import { events } from './events.js';

export const resources: ResourceDef[] = [events];
