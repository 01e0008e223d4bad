import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isNotAcceptable } from '../apimachinery/index.js';
import { negotiate } from './negotiation.js';

const cases: { name: string; accept: string | undefined; allow?: { table?: boolean; discovery?: boolean }; want: string }[] = [
  { name: 'no Accept is JSON', accept: undefined, want: 'json' },
  { name: 'kubectl get asks for a Table first', accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json', allow: { table: true }, want: 'table' },
  { name: 'a Table where none is served falls back to JSON', accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json', want: 'json' },
  { name: 'protobuf first, JSON second', accept: 'application/vnd.kubernetes.protobuf,application/json', want: 'json' },
  { name: 'aggregated discovery v2', accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json', allow: { discovery: true }, want: 'discovery' },
  { name: 'YAML', accept: 'application/yaml', want: 'yaml' },
  { name: 'anything', accept: '*/*', want: 'json' },
];

for (const tc of cases) {
  test(`negotiate: ${tc.name}`, () => {
    assert.equal(negotiate(tc.accept, tc.allow ?? {}).kind, tc.want);
  });
}

test('negotiate: protobuf only is 406 NotAcceptable', () => {
  assert.throws(() => negotiate('application/vnd.kubernetes.protobuf', {}), (err: unknown) => isNotAcceptable(err));
});
