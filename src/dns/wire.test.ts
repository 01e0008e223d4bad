import { test } from 'node:test';
import assert from 'node:assert/strict';
import dnsPacket, { type Packet } from 'dns-packet';
import { encodeCompressed } from './wire.js';

const packet: Packet = {
  type: 'response',
  id: 42,
  flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
  questions: [{ type: 'SRV', name: '_http._tcp.Web.default.svc.cluster.local', class: 'IN' }],
  answers: [
    { type: 'SRV', name: '_http._tcp.Web.default.svc.cluster.local', ttl: 5, class: 'IN', data: { priority: 0, weight: 50, port: 80, target: 'web-0.web.default.svc.cluster.local' } },
    { type: 'CNAME', name: 'alias.default.svc.cluster.local', ttl: 5, class: 'IN', data: 'web.default.svc.cluster.local' },
    { type: 'PTR', name: '20.0.96.10.in-addr.arpa', ttl: 5, class: 'IN', data: 'web.default.svc.cluster.local' },
  ],
  authorities: [{ type: 'SOA', name: 'cluster.local', ttl: 5, class: 'IN', data: { mname: 'ns.dns.cluster.local', rname: 'hostmaster.cluster.local', serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 } }],
  additionals: [
    { type: 'A', name: 'web-0.web.default.svc.cluster.local', ttl: 5, class: 'IN', data: '10.244.0.5' },
    { type: 'AAAA', name: 'web-0.web.default.svc.cluster.local', ttl: 5, class: 'IN', data: 'fd00::5' },
    { type: 'TXT', name: 'dns-version.cluster.local', ttl: 5, class: 'IN', data: ['1.1.0'] },
    { type: 'OPT', name: '.', udpPayloadSize: 1232, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] } as never,
  ],
};

test('wire: compressed messages decode to the same records and are smaller', () => {
  const plain = dnsPacket.encode(packet);
  const compressed = encodeCompressed(packet);
  assert.ok(compressed.length < plain.length, `${compressed.length} < ${plain.length}`);
  const a = dnsPacket.decode(plain);
  const b = dnsPacket.decode(compressed);
  assert.deepEqual(b.questions, a.questions);
  assert.deepEqual(b.answers, a.answers);
  assert.deepEqual(b.authorities, a.authorities);
  assert.deepEqual(b.additionals, a.additionals);
  assert.equal(b.id, 42);
  assert.equal(b.flag_aa, true);
});

test('wire: forty A records of one name fit a 1232-byte UDP answer', () => {
  const answers = Array.from({ length: 40 }, (_, i) => ({ type: 'A' as const, name: 'many.default.svc.cluster.local', ttl: 5, class: 'IN' as const, data: `10.244.2.${i + 1}` }));
  const out = encodeCompressed({ type: 'response', id: 1, questions: [{ type: 'A', name: 'many.default.svc.cluster.local' }], answers });
  assert.ok(out.length <= 1232, String(out.length));
  assert.equal(dnsPacket.decode(out).answers?.length, 40);
});
