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
  /** The same two counts for one method, with the label lookup done once (per-request paths). */
  forMethod(type: GrpcType, service: string, method: string): MethodMetrics;
}

export interface MethodMetrics {
  started(): void;
  handled(code: number): void;
}

/** One method's counts; `handled` is indexed by gRPC code. */
interface MethodCounts {
  labels: { grpc_type: GrpcType; grpc_service: string; grpc_method: string };
  started: number;
  handled: number[];
}

/**
 * Counts per registry (two servers in one test process share a registry, and so its
 * counts). Requests bump plain numbers; the Prometheus counters are filled from them when
 * scraped, which keeps prom-client's label hashing and validation (several microseconds
 * per increment) off the request path.
 */
const countsByRegistry = new WeakMap<Registry, Map<string, MethodCounts>>();

/**
 * Registers the series on `registry`. `dbSize` is read at scrape time. Registering twice on
 * one registry (two servers in one test process) reuses the first registration.
 */
export function newEtcdServerMetrics(registry: Registry, dbSize: () => number): EtcdServerMetrics {
  const get = <T>(name: string, make: () => T): T => (registry.getSingleMetric(name) as T | undefined) ?? make();
  let counts = countsByRegistry.get(registry);
  if (!counts) countsByRegistry.set(registry, (counts = new Map()));
  const all = counts;
  const labelNames = ['grpc_type', 'grpc_service', 'grpc_method'] as const;
  get('grpc_server_started_total', () => new Counter({
    name: 'grpc_server_started_total',
    help: 'Total number of RPCs started on the server.',
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const c of all.values()) if (c.started > 0) this.inc(c.labels, c.started);
    },
  }));
  get('grpc_server_handled_total', () => new Counter({
    name: 'grpc_server_handled_total',
    help: 'Total number of RPCs completed on the server, regardless of success or failure.',
    labelNames: [...labelNames, 'grpc_code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of all.values()) {
        c.handled.forEach((n, code) => {
          if (n > 0) this.inc({ ...c.labels, grpc_code: grpcCodeName(code) }, n);
        });
      }
    },
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
  const countsFor = (type: GrpcType, service: string, method: string): MethodCounts => {
    const key = `${type} ${service} ${method}`;
    let c = all.get(key);
    if (!c) all.set(key, (c = { labels: { grpc_type: type, grpc_service: service, grpc_method: method }, started: 0, handled: [] }));
    return c;
  };
  const bumpHandled = (c: MethodCounts, code: number) => { c.handled[code] = (c.handled[code] ?? 0) + 1; };
  return {
    started(type, service, method) {
      countsFor(type, service, method).started++;
    },
    handled(type, service, method, code) {
      bumpHandled(countsFor(type, service, method), code);
    },
    forMethod(type, service, method) {
      const c = countsFor(type, service, method);
      return { started: () => { c.started++; }, handled: (code) => bumpHandled(c, code) };
    },
  };
}
