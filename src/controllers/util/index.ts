/**
 * Helpers shared by the workload controllers (upstream's pkg/controller/controller_utils.go,
 * controller_ref_manager.go and pkg/api/v1/pod): pod predicates, expectations, deletion
 * ordering, claiming by controllerRef, pod creation, pod-template-hash, slow start,
 * conditions and the worker loop.
 */
export * from './pod.js';
export * from './expectations.js';
export * from './activepods.js';
export * from './hash.js';
export * from './slowstart.js';
export * from './conditions.js';
export * from './podcontrol.js';
export * from './refmanager.js';
export * from './worker.js';
