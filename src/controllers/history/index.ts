/**
 * ControllerRevision history for the DaemonSet and StatefulSet controllers (upstream's
 * pkg/controller/history).
 */
export * from './history.js';
