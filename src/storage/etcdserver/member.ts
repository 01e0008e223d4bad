/**
 * The single member Flotilla's etcd endpoint presents. IDs are derived exactly as etcd
 * derives them for a freshly bootstrapped member, so they are stable across restarts and
 * equal to what a real etcd started with the same flags would report: with the defaults
 * (peer URL http://localhost:2380, token "etcd-cluster") the member is 8e9e05c52164694d in
 * cluster cdf818194e3a8c32, the IDs every etcd user has seen.
 */
import { createHash } from 'node:crypto';

/** etcd's member ID: the first 8 bytes (big-endian) of sha1(sorted peer URLs joined + token). */
export function computeMemberId(peerUrls: string[], clusterToken: string): bigint {
  const joined = [...peerUrls].sort().join('');
  return createHash('sha1').update(joined + clusterToken).digest().readBigUInt64BE(0);
}

/** etcd's cluster ID: the first 8 bytes of sha1 over the sorted member IDs, 8 bytes each. */
export function computeClusterId(memberIds: bigint[]): bigint {
  const ids = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * ids.length);
  ids.forEach((id, i) => b.writeBigUInt64BE(id, 8 * i));
  return createHash('sha1').update(b).digest().readBigUInt64BE(0);
}

/** An ID as etcd prints it (types.ID.String()): lower-case hex without padding. */
export function idString(id: bigint): string {
  return id.toString(16);
}
