import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newWorkQueue } from '../../client/workqueue.js';
import { FakeClock } from '../../util/clock.js';
import { silentLogger } from '../../util/log.js';
import { processNextWorkItem } from './worker.js';

const cases: { name: string; failures: number; maxRetries?: number; wantCalls: number; wantRequeues: number }[] = [
  { name: 'success forgets the key', failures: 0, wantCalls: 1, wantRequeues: 0 },
  { name: 'failure requeues with backoff until success', failures: 2, wantCalls: 3, wantRequeues: 0 },
  { name: 'maxRetries drops the key', failures: 10, maxRetries: 2, wantCalls: 3, wantRequeues: 0 },
];

for (const tc of cases) {
  test(`processNextWorkItem: ${tc.name}`, async () => {
    const clock = new FakeClock();
    const queue = newWorkQueue<string>({ name: 'test', clock });
    let calls = 0;
    const sync = async () => {
      calls++;
      if (calls <= tc.failures) throw new Error('boom');
    };
    queue.add('ns/a');
    const opts = { queue, sync, logger: silentLogger(), maxRetries: tc.maxRetries };
    for (let i = 0; i < 10; i++) {
      if (queue.len() === 0) clock.step(10_000);
      if (queue.len() === 0) break;
      await processNextWorkItem(opts);
    }
    assert.equal(calls, tc.wantCalls);
    assert.equal(queue.numRequeues('ns/a'), tc.wantRequeues);
    queue.shutDown();
  });
}
