// Run the ES stand-in on its own (a separate process for the benchmark, or a local ELASTICSEARCH_URL
// for trying `npm start` with search): `tsx test/es-standin/main.ts [port]`.
// ES_STANDIN_LATENCY_MS adds a fixed delay to every answer. Prints `{"url": …}` on stdout once listening.
// A TEST STAND-IN, NOT ELASTICSEARCH: in memory, single node, the slice of the API in server.ts.
import { EsStandin } from './server.ts';

const standin = new EsStandin();
standin.faults.latencyMs = Number(process.env.ES_STANDIN_LATENCY_MS ?? 0);
const url = await standin.start(Number(process.argv[2] ?? 0));
console.log(JSON.stringify({ url }));
const stop = async () => {
  await standin.close();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
