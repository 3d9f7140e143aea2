/**
 * autocannon in a child process, so that the load generator's CPU is not
 * counted in the process whose threads bench/dynamodb-cost.bench.ts reads.
 * argv[2]: a JSON file of autocannon's options plus `bodies` (signed
 * requests to take in turn across all connections); prints the result as one
 * JSON line.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

interface Result {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: Record<string, unknown>) => Promise<Result>;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

const { bodies, ...options } = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { bodies?: Array<Record<string, unknown>> } & Record<string, unknown>;
if (bodies !== undefined && bodies.length > 1) {
  let next = 0;
  options['requests'] = [{ setupRequest: (request: Record<string, unknown>) => ({ ...request, ...bodies[next++ % bodies.length]! }) }];
}
const result = await autocannon(options);
console.log(JSON.stringify({
  total: result.requests.total, perSecond: result.requests.average, p50Ms: result.latency.p50, p99Ms: result.latency.p99,
  failed: result.non2xx + result.errors + result.timeouts,
}));
