/**
 * The Prometheus series etcd exports that dashboards and kubeadm's health checks read:
 * go-grpc-prometheus's grpc_server_started_total / grpc_server_handled_total (same label
 * names and code spellings), and etcd's leader and db-size gauges.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Counter, Gauge, type Registry } from 'prom-client';

export type GrpcType = 'unary' | 'client_stream' | 'server_stream' | 'bidi_stream';

/** grpc-go's codes.Code.String() spellings, which go-grpc-prometheus uses as label values. */
const codeNames: Record<number, string> = {
  [GrpcStatus.OK]: 'OK',
  [GrpcStatus.CANCELLED]: 'Canceled',
  [GrpcStatus.UNKNOWN]: 'Unknown',
  [GrpcStatus.INVALID_ARGUMENT]: 'InvalidArgument',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'DeadlineExceeded',
  [GrpcStatus.NOT_FOUND]: 'NotFound',
  [GrpcStatus.ALREADY_EXISTS]: 'AlreadyExists',
  [GrpcStatus.PERMISSION_DENIED]: 'PermissionDenied',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'ResourceExhausted',
  [GrpcStatus.FAILED_PRECONDITION]: 'FailedPrecondition',
  [GrpcStatus.ABORTED]: 'Aborted',
  [GrpcStatus.OUT_OF_RANGE]: 'OutOfRange',
  [GrpcStatus.UNIMPLEMENTED]: 'Unimplemented',
  [GrpcStatus.INTERNAL]: 'Internal',
  [GrpcStatus.UNAVAILABLE]: 'Unavailable',
  [GrpcStatus.DATA_LOSS]: 'DataLoss',
  [GrpcStatus.UNAUTHENTICATED]: 'Unauthenticated',
};

export function grpcCodeName(code: number): string {
  return codeNames[code] ?? `Code(${code})`;
}

export interface EtcdServerMetrics {
  started(type: GrpcType, service: string, method: string): void;
  handled(type: GrpcType, service: string, method: string, code: number): void;
}

/**
 * Registers the series on `registry`. `dbSize` is read at scrape time. Registering twice on
 * one registry (two servers in one test process) reuses the first registration.
 */
export function newEtcdServerMetrics(registry: Registry, dbSize: () => number): EtcdServerMetrics {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
  const started = get('grpc_server_started_total', () => new Counter({
    name: 'grpc_server_started_total',
    help: 'Total number of RPCs started on the server.',
    labelNames,
    registers: [registry],
  }));
  const handled = get('grpc_server_handled_total', () => new Counter({
    name: 'grpc_server_handled_total',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    labelNames: [...labelNames, 'grpc_code'],
    registers: [registry],
  }));
  // A single member is always its own leader.
  get('etcd_server_has_leader', () => new Gauge({
    name: 'etcd_server_has_leader',
    help: 'Whether or not a leader exists. 1 is existence, 0 is not.',
    registers: [registry],
    collect() { this.set(1); },
  }));
  get('etcd_server_is_leader', () => new Gauge({
    name: 'etcd_server_is_leader',
    help: 'Whether or not this member is a leader. 1 if is, 0 otherwise.',
    registers: [registry],
    collect() { this.set(1); },
  }));
  get('etcd_mvcc_db_total_size_in_bytes', () => new Gauge({
    name: 'etcd_mvcc_db_total_size_in_bytes',
    help: 'Total size of the underlying database physically allocated in bytes.',
    registers: [registry],
    collect() { this.set(dbSize()); },
  }));
  return {
    started(type, service, method) {
      started.inc({ grpc_type: type, grpc_service: service, grpc_method: method });
    },
    handled(type, service, method, code) {
      handled.inc({ grpc_type: type, grpc_service: service, grpc_method: method, grpc_code: grpcCodeName(code) });
    },
  };
}
