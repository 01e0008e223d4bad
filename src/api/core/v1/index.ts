/** Resource definitions of core/v1. */
import type { ResourceDef } from '../../types.js';

export const resources: ResourceDef[] = [];
