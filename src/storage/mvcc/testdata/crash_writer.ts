/**
 * Crash-test fixture (not a test): opens the store in argv[2] and writes under load, 64
 * puts in flight, printing "key value" to stdout once each put is acknowledged. The test
 * SIGKILLs it mid-run and checks every acknowledged key survived.
 *   node --import tsx src/storage/mvcc/testdata/crash_writer.ts <dataDir> [snapshotEveryRecords]
 */
import { silentLogger } from '../../../util/log.js';
import { MvccStore } from '../store.js';

const dir = process.argv[2];
if (!dir) throw new Error('usage: crash_writer <dataDir> [snapshotEveryRecords]');
const store = await MvccStore.open({ dataDir: dir, logger: silentLogger(), snapshotEveryRecords: Number(process.argv[3] ?? 5000), snapshotMinLogRatio: 0 });
const lease = await store.leaseGrant(3600, 77n);
process.stdout.write(`lease ${lease.id}\n`);
let next = 0;
const worker = async () => {
  for (;;) {
    const n = next++;
    const key = `k${n}`;
    const value = `v${n}-${'x'.repeat(n % 200)}`;
    if (n % 10 === 0) {
      await store.txn({ compare: [], success: [{ put: { key: Buffer.from(key), value: Buffer.from(value), lease: 77n } }], failure: [] });
    } else {
      await store.put({ key: Buffer.from(key), value: Buffer.from(value) });
    }
    process.stdout.write(`${key} ${value}\n`);
  }
};
await Promise.all(Array.from({ length: 64 }, worker));
