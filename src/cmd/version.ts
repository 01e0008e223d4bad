/** Flotilla's version and the Kubernetes / etcd versions it speaks for. */
export const version = '0.1.0';
/** The etcd release whose API and wire behaviour the embedded store reproduces. */
export const etcdVersion = '3.4.23';
