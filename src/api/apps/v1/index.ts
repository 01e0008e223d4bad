/** Resource definitions of apps/v1. */
import type { ResourceDef } from '../../types.js';

export const resources: ResourceDef[] = [];
