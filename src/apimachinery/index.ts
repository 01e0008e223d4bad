/**
 * k8s.io/apimachinery in TypeScript: the pure core the API server, storage and clients
 * build on. It imports nothing of ours but src/util (scripts/check-layers.mjs).
 *
 * Modules whose names would collide are exported as namespaces: `labels` and `fields`
 * (both have `everything`, `nothing`, `selectorFromSet`), and the server-side apply and
 * strategic-merge modules (`strategicpatch`, `managedfields`, `fieldpath`, `schema`,
 * `apply`), which share JSON helper names with the flat modules.
 */
export * from './errors.js';
export * from './validation.js';
export * from './meta.js';
export * from './quantity.js';
export * from './intstr.js';
export * from './jsonpatch.js';
export * from './mergepatch.js';
export * from './typecheck.js';
export * as labels from './labels.js';
export * as fields from './fields.js';
export * as strategicpatch from './strategicpatch.js';
export * as managedfields from './managedfields.js';
export * as fieldpath from './fieldpath.js';
export * as schema from './schema.js';
export * as apply from './apply.js';
