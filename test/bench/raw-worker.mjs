// The raw side of the worker drain as its own process, like our `worker` (core.bench.ts): a plain BullMQ
// Worker with a no-op processor on its own ioredis connection, nothing else. Plain JavaScript so `node` runs
// it without a loader, as the Procfile runs dist/. BENCH_CPU_PROF applies to it as to our processes.
//   node test/bench/raw-worker.mjs <redisUrl> <prefix> <concurrency>
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const [url, prefix, concurrency] = process.argv.slice(2);
const connection = new Redis(url, { maxRetriesPerRequest: null });
const worker = new Worker('default', async () => null, { connection, prefix, concurrency: Number(concurrency) });
await worker.waitUntilReady();
console.log(JSON.stringify({ msg: 'raw worker ready' }));
process.once('SIGTERM', async () => {
  await worker.close();
  connection.disconnect();
  process.exit(0);
});
