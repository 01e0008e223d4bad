import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseListen } from './dns.js';

test('flotilla dns: --listen takes IP:PORT and [IPv6]:PORT, a bare :PORT listens everywhere', () => {
  assert.deepEqual(parseListen('127.0.0.1:53'), { host: '127.0.0.1', port: 53 });
  assert.deepEqual(parseListen('[::1]:5353'), { host: '::1', port: 5353 });
  assert.deepEqual(parseListen(':53'), { host: '0.0.0.0', port: 53 });
  for (const bad of ['127.0.0.1', 'localhost:53', '127.0.0.1:70000', '::1:53']) assert.throws(() => parseListen(bad), /invalid --listen/, bad);
});
