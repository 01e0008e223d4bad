import { test } from 'node:test';
import assert from 'node:assert/strict';
import { servicePorts } from '../tracker.js';
import type { EndpointInfo, ProxyState } from '../types.js';
import { appliedChain, endpointChainName, generateRules, portProtoHash, probability, restorePayload, restorePayloads, serviceChainNames, type GenerateResult } from './rules.js';

type SvcSpec = Record<string, unknown>;

function state(services: { ns?: string; name: string; spec: SvcSpec; status?: unknown }[], endpoints: Record<string, Partial<EndpointInfo>[]> = {}): ProxyState {
  const ports = services.flatMap((s) => servicePorts({ metadata: { namespace: s.ns ?? 'ns1', name: s.name }, spec: s.spec, status: s.status } as never));
  return {
    services: new Map(ports.map((p) => [p.name, p])),
    endpoints: new Map(Object.entries(endpoints).map(([k, eps]) => [k, eps.map((e) => ({ ip: '', port: 80, ready: true, serving: true, terminating: false, isLocal: false, ...e }))])),
  };
}

const svc1 = { name: 'svc1', spec: { clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] } };

/** The rules of one chain (nat unless said), as written. */
function chain(r: GenerateResult, name: string, table: 'nat' | 'filter' = 'nat'): string[] {
  const text = appliedChain(r.applied, table, name);
  return text ? text.split('\n') : [];
}

test('chain names are upstream\'s (base32 of sha256, 16 characters)', () => {
  assert.equal(portProtoHash('default/kubernetes:https', 'tcp'), 'NPX46M4PTMTKRN6Y');
  assert.equal(portProtoHash('kube-system/kube-dns:dns', 'udp'), 'TCOU7JCQXEZGVUNU');
  const sp = state([svc1]).services.get('ns1/svc1:p80')!;
  assert.deepEqual(serviceChainNames(sp), {
    cluster: 'KUBE-SVC-XPGD46QRK7WJZT7O',
    local: 'KUBE-SVL-XPGD46QRK7WJZT7O',
    external: 'KUBE-EXT-XPGD46QRK7WJZT7O',
    firewall: 'KUBE-FW-XPGD46QRK7WJZT7O',
  });
  assert.equal(endpointChainName(sp, { ip: '10.180.0.1', port: 80 } as EndpointInfo), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
});

test('probabilities are formatted with 10 decimals', () => {
  assert.deepEqual([probability(3), probability(2), probability(7)], ['0.3333333333', '0.5000000000', '0.1428571429']);
});

test('a cluster IP service with three endpoints', () => {
  const r = generateRules({ state: state([svc1], { 'ns1/svc1:p80': [{ ip: '10.180.0.1' }, { ip: '10.180.0.2' }, { ip: '10.180.0.3' }] }) }, { clusterCIDR: '10.0.0.0/8' });
  assert.deepEqual(chain(r, 'KUBE-SERVICES'), [
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O',
    '-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
  ]);
  const svc = chain(r, 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal(svc[0], '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ');
  assert.match(svc[1]!, /^-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1\/svc1:p80 -> 10.180.0.1:80" -m statistic --mode random --probability 0.3333333333 -j KUBE-SEP-SXIVWICOYRO3J4NJ$/);
  assert.match(svc[2]!, /--probability 0.5000000000 -j KUBE-SEP-/);
  assert.doesNotMatch(svc[3]!, /statistic/);
  assert.deepEqual(chain(r, 'KUBE-SEP-SXIVWICOYRO3J4NJ'), [
    '-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1/32 -j KUBE-MARK-MASQ',
    '-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80',
  ]);
  assert.deepEqual(chain(r, 'KUBE-MARK-MASQ'), ['-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000']);
  assert.deepEqual(chain(r, 'KUBE-POSTROUTING'), [
    '-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN',
    '-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000',
    '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully',
  ]);
  assert.deepEqual(chain(r, 'KUBE-SERVICES', 'filter'), []);
  assert.equal(r.full, true);
});

test('only ready endpoints; serving terminating ones when none is ready', () => {
  const mixed = generateRules({ state: state([svc1], { 'ns1/svc1:p80': [{ ip: '10.1.0.1' }, { ip: '10.1.0.2', ready: false, serving: false }] }) });
  assert.ok(chain(mixed, 'KUBE-SVC-XPGD46QRK7WJZT7O').every((l) => !l.includes('10.1.0.2')));
  const draining = generateRules({ state: state([svc1], { 'ns1/svc1:p80': [{ ip: '10.1.0.2', ready: false, serving: true, terminating: true }, { ip: '10.1.0.3', ready: false, serving: false, terminating: true }] }) });
  const rules = chain(draining, 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal(rules.length, 1);
  assert.match(rules[0]!, /10\.1\.0\.2:80/);
});

test('a service without endpoints is rejected in the filter table', () => {
  const r = generateRules({ state: state([{ name: 'svc1', spec: { type: 'NodePort', clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }] } }]) });
  assert.deepEqual(chain(r, 'KUBE-SERVICES', 'filter'), [
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j REJECT',
  ]);
  assert.deepEqual(chain(r, 'KUBE-EXTERNAL-SERVICES', 'filter'), [
    '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j REJECT',
  ]);
  assert.equal(chain(r, 'KUBE-SERVICES').length, 1, 'only the nodeports rule');
  assert.equal(r.applied.services.get('ns1/svc1')!.chains.size, 0);
});

test('NodePort and LoadBalancer traffic goes through KUBE-EXT- and is masqueraded', () => {
  const r = generateRules({
    state: state(
      [{ name: 'svc1', spec: { type: 'LoadBalancer', clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4', ipMode: 'VIP' }, { ip: '5.6.7.8', ipMode: 'Proxy' }] } } }],
      { 'ns1/svc1:p80': [{ ip: '10.180.0.1' }] },
    ),
  });
  assert.ok(chain(r, 'KUBE-SERVICES').includes('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-XPGD46QRK7WJZT7O'));
  assert.ok(!chain(r, 'KUBE-SERVICES').some((l) => l.includes('5.6.7.8')), 'ipMode Proxy is left to the load balancer');
  assert.deepEqual(chain(r, 'KUBE-NODEPORTS'), ['-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-XPGD46QRK7WJZT7O']);
  assert.deepEqual(chain(r, 'KUBE-EXT-XPGD46QRK7WJZT7O'), [
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade traffic for ns1/svc1:p80 external destinations" -j KUBE-MARK-MASQ',
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVC-XPGD46QRK7WJZT7O',
  ]);
});

test('externalTrafficPolicy Local: external traffic to local endpoints only (KUBE-SVL-)', () => {
  const spec = { type: 'NodePort', externalTrafficPolicy: 'Local', clusterIP: '172.30.0.41', ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }] };
  const r = generateRules({ state: state([{ name: 'svc1', spec }], { 'ns1/svc1:p80': [{ ip: '10.180.0.1', isLocal: true }, { ip: '10.180.2.1' }] }) }, { clusterCIDR: '10.0.0.0/8' });
  assert.deepEqual(chain(r, 'KUBE-EXT-XPGD46QRK7WJZT7O'), [
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "pod traffic for ns1/svc1:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-XPGD46QRK7WJZT7O',
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "masquerade LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ',
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -m comment --comment "route LOCAL traffic for ns1/svc1:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-XPGD46QRK7WJZT7O',
    '-A KUBE-EXT-XPGD46QRK7WJZT7O -j KUBE-SVL-XPGD46QRK7WJZT7O',
  ]);
  assert.deepEqual(chain(r, 'KUBE-SVL-XPGD46QRK7WJZT7O'), ['-A KUBE-SVL-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ']);
  assert.equal(chain(r, 'KUBE-SVC-XPGD46QRK7WJZT7O').length, 3, 'masquerade + two endpoints');

  const none = generateRules({ state: state([{ name: 'svc1', spec }], { 'ns1/svc1:p80': [{ ip: '10.180.2.1' }] }) });
  assert.deepEqual(chain(none, 'KUBE-EXTERNAL-SERVICES', 'filter'), [
    '-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP',
  ]);
  assert.equal(none.stats.noLocalEndpointsExternal, 1);
});

test('internalTrafficPolicy Local: the cluster IP goes to local endpoints, or is dropped', () => {
  const spec = { clusterIP: '172.30.0.41', internalTrafficPolicy: 'Local', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] };
  const r = generateRules({ state: state([{ name: 'svc1', spec }], { 'ns1/svc1:p80': [{ ip: '10.180.0.1', isLocal: true }, { ip: '10.180.2.1' }] }) });
  assert.match(chain(r, 'KUBE-SERVICES')[0]!, /-j KUBE-SVL-XPGD46QRK7WJZT7O$/);
  assert.equal(chain(r, 'KUBE-SVC-XPGD46QRK7WJZT7O').length, 0);
  const none = generateRules({ state: state([{ name: 'svc1', spec }], { 'ns1/svc1:p80': [{ ip: '10.180.2.1' }] }) });
  assert.deepEqual(chain(none, 'KUBE-SERVICES', 'filter'), [
    '-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP',
  ]);
});

test('sessionAffinity ClientIP uses -m recent in the service and endpoint chains', () => {
  const spec = { clusterIP: '172.30.0.41', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } }, ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] };
  const r = generateRules({ state: state([{ name: 'svc1', spec }], { 'ns1/svc1:p80': [{ ip: '10.180.0.1' }] }) });
  assert.deepEqual(chain(r, 'KUBE-SVC-XPGD46QRK7WJZT7O'), [
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -m recent --name KUBE-SEP-SXIVWICOYRO3J4NJ --rcheck --seconds 60 --reap -j KUBE-SEP-SXIVWICOYRO3J4NJ',
    '-A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ',
  ]);
  assert.equal(chain(r, 'KUBE-SEP-SXIVWICOYRO3J4NJ')[1], '-A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m recent --name KUBE-SEP-SXIVWICOYRO3J4NJ --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80');
});

test('loadBalancerSourceRanges: KUBE-FW- lets the ranges in, the filter table drops the rest', () => {
  const r = generateRules({
    state: state(
      [{ name: 'svc1', spec: { type: 'LoadBalancer', clusterIP: '172.30.0.41', loadBalancerSourceRanges: ['192.168.0.0/24'], ports: [{ name: 'p80', port: 80, protocol: 'TCP', nodePort: 3001 }] }, status: { loadBalancer: { ingress: [{ ip: '1.2.3.4' }] } } }],
      { 'ns1/svc1:p80': [{ ip: '10.180.0.1' }] },
    ),
  });
  assert.ok(chain(r, 'KUBE-SERVICES').some((l) => l.endsWith('-d 1.2.3.4 --dport 80 -j KUBE-FW-XPGD46QRK7WJZT7O')));
  assert.deepEqual(chain(r, 'KUBE-FW-XPGD46QRK7WJZT7O'), ['-A KUBE-FW-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 loadbalancer IP" -s 192.168.0.0/24 -j KUBE-EXT-XPGD46QRK7WJZT7O']);
  assert.deepEqual(chain(r, 'KUBE-PROXY-FIREWALL', 'filter'), ['-A KUBE-PROXY-FIREWALL -m comment --comment "ns1/svc1:p80 traffic not accepted by KUBE-FW-XPGD46QRK7WJZT7O" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP']);
});

test('--nodeport-addresses: NodePorts only on the given node IPs', () => {
  const r = generateRules({ state: state([svc1]) }, { nodePortIPs: ['192.168.1.10'] });
  assert.deepEqual(chain(r, 'KUBE-SERVICES'), ['-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.1.10 -j KUBE-NODEPORTS']);
});

test('headless and ExternalName services get no rules', () => {
  const r = generateRules({ state: state([{ name: 'h', spec: { clusterIP: 'None', ports: [{ port: 80 }] } }, { name: 'x', spec: { type: 'ExternalName', externalName: 'example.com' } }]) });
  assert.ok([...r.applied.services.values()].every((rec) => rec.chains.size === 0));
  assert.equal(chain(r, 'KUBE-SERVICES').length, 1);
});

test('large clusters leave per-endpoint comments out', () => {
  const eps = Array.from({ length: 1001 }, (_, i) => ({ ip: `10.${(i >> 8) & 255}.${i & 255}.1` }));
  const r = generateRules({ state: state([svc1], { 'ns1/svc1:p80': eps }) });
  assert.ok(chain(r, 'KUBE-SVC-XPGD46QRK7WJZT7O').slice(0, 3).every((l) => !l.includes('--comment')));
  assert.equal(r.applied.largeClusterMode, true);
});

test('incremental: only changed chains are written; removed ones are flushed and deleted', () => {
  const svc2 = { name: 'svc2', spec: { clusterIP: '172.30.0.42', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] } };
  const first = generateRules({ state: state([svc1, svc2], { 'ns1/svc1:p80': [{ ip: '10.1.0.1' }, { ip: '10.1.0.2' }], 'ns1/svc2:p80': [{ ip: '10.2.0.1' }] }) });
  // An endpoint of svc1 goes: its service chain changes, one endpoint chain goes, nothing else is touched.
  const second = generateRules({
    state: state([svc1, svc2], { 'ns1/svc1:p80': [{ ip: '10.1.0.1' }], 'ns1/svc2:p80': [{ ip: '10.2.0.1' }] }),
    changedServices: new Set(['ns1/svc1']),
    previous: first.applied,
  });
  assert.equal(second.full, false);
  const gone = endpointChainName(state([svc1]).services.get('ns1/svc1:p80')!, { ip: '10.1.0.2', port: 80 } as EndpointInfo);
  assert.deepEqual(second.tables.filter, { chainLines: [], ruleLines: [], deleteLines: [] });
  assert.deepEqual(second.tables.nat.chainLines, [':KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]', `:${gone} - [0:0]`]);
  assert.deepEqual(second.tables.nat.deleteLines, [`-X ${gone}`]);
  assert.equal(second.stats.chainsWritten, 1);
  // svc2's chains are still known, though not rendered.
  assert.notEqual(appliedChain(second.applied, 'nat', serviceChainNames(state([svc2]).services.get('ns1/svc2:p80')!).cluster), undefined);
  const payload = restorePayload(second);
  assert.ok(payload.startsWith('*nat\n:KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]\n'));
  assert.ok(payload.endsWith(`-X ${gone}\nCOMMIT\n`));
  // Nothing changed: nothing to restore.
  const third = generateRules({ state: state([svc1, svc2], { 'ns1/svc1:p80': [{ ip: '10.1.0.1' }], 'ns1/svc2:p80': [{ ip: '10.2.0.1' }] }), changedServices: new Set(['ns1/svc1']), previous: second.applied });
  assert.equal(restorePayload(third), '');
  // A deleted service: KUBE-SERVICES changes, its chains go.
  const fourth = generateRules({ state: state([svc2], { 'ns1/svc2:p80': [{ ip: '10.2.0.1' }] }), changedServices: new Set(['ns1/svc1']), previous: third.applied });
  const kept = endpointChainName(state([svc1]).services.get('ns1/svc1:p80')!, { ip: '10.1.0.1', port: 80 } as EndpointInfo);
  assert.deepEqual(fourth.tables.nat.deleteLines.sort(), [`-X ${kept}`, '-X KUBE-SVC-XPGD46QRK7WJZT7O'].sort());
  assert.ok(fourth.tables.nat.chainLines.includes(':KUBE-SERVICES - [0:0]'));
});

test('a full sync deletes stale service chains found on the host', () => {
  const r = generateRules({ state: state([svc1], { 'ns1/svc1:p80': [{ ip: '10.180.0.1' }] }), existingNatChains: new Set(['KUBE-SVC-AAAAAAAAAAAAAAAA', 'KUBE-SEP-SXIVWICOYRO3J4NJ', 'CNI-123', 'KUBE-MARK-DROP']) });
  assert.deepEqual(r.tables.nat.deleteLines, ['-X KUBE-SVC-AAAAAAAAAAAAAAAA']);
});

test('a large sync is split: whole services first, shared chains and deletions last', () => {
  const svc2 = { name: 'svc2', spec: { clusterIP: '172.30.0.42', ports: [{ name: 'p80', port: 80, protocol: 'TCP' }] } };
  const r = generateRules({
    state: state([svc1, svc2], { 'ns1/svc1:p80': [{ ip: '10.1.0.1' }, { ip: '10.1.0.2' }], 'ns1/svc2:p80': [{ ip: '10.2.0.1' }] }),
    existingNatChains: new Set(['KUBE-SEP-AAAAAAAAAAAAAAAA']),
  });
  assert.deepEqual(restorePayloads(r, {}, 1000), [restorePayload(r)]);
  const parts = restorePayloads(r, { nat: ['-I PREROUTING 1 -j KUBE-SERVICES'] }, 3);
  assert.equal(parts.length, 3);
  // svc1: KUBE-SVC + 2 KUBE-SEP; svc2: KUBE-SVC + 1 KUBE-SEP.
  assert.deepEqual(parts.slice(0, 2).map((p) => p.split('\n').filter((l) => l.startsWith(':')).length), [4, 2]);
  assert.ok(parts[0]!.startsWith('*nat\n:KUBE-MARK-MASQ - [0:0]\n') && parts[0]!.includes('-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000\n'));
  assert.ok(!parts[2]!.includes('KUBE-MARK-MASQ - [0:0]'));
  assert.ok(parts.slice(0, 2).every((p) => p.startsWith('*nat\n') && !p.includes('KUBE-SERVICES') && !p.includes('*filter')));
  const last = parts[2]!;
  assert.ok(last.startsWith('*filter\n'));
  assert.ok(last.includes(':KUBE-SERVICES - [0:0]\n') && last.includes('-I PREROUTING 1 -j KUBE-SERVICES\n'));
  assert.ok(last.includes(':KUBE-SEP-AAAAAAAAAAAAAAAA - [0:0]\n') && last.endsWith('-X KUBE-SEP-AAAAAAAAAAAAAAAA\nCOMMIT\n'));
  assert.ok(!last.includes(':KUBE-SVC-XPGD46QRK7WJZT7O'));
});
