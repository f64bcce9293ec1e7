/**
 * Resolver benchmark for `npm run bench`: one sandbox namespace with the server listening at
 * 127.0.0.11:53 in-process, and dnsperf inside that namespace asking for one known name.
 * Needs root; run it under the private host so nothing is left on the machine.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { InternalError } from '../errors';
import { run } from '../kernel/exec';
import { loopbackUp } from '../kernel/netlink';
import { createNetns, deleteNetns, netnsPath } from '../kernel/netns';
import { teardownAll } from '../undo';
import { DNS_LISTEN_ADDRESS } from './constants';
import { DnsRecords } from './records';
import { DnsServer } from './server';

/** Options of measureResolver. */
export interface MeasureOptions {
  /** dnsperf -l: seconds of load (default 10). */
  durationSec?: number;
  /** dnsperf -c: concurrent clients (default 4). */
  clients?: number;
  /** dnsperf -q: queries outstanding at once (default dnsperf's 100). */
  outstanding?: number;
}

/** Throughput and latency percentiles of one run. */
export interface ResolverMeasurement {
  qps: number;
  p50ms: number;
  p95ms: number;
}

const BENCH_NETWORK = 'bench-net';
const CLIENT_SANDBOX = 'b0b0b0b0b0b0b0b0';
/** Seconds of the -v run that yields latencies. */
const LATENCY_RUN_SEC = 3;
/** The name dnsperf asks for: a sandbox on the client's network. */
const TARGET_NAME = 'web';

/** Runs dnsperf against the embedded resolver in a fresh sandbox namespace and returns what it measured. */
export async function measureResolver(opts: MeasureOptions = {}): Promise<ResolverMeasurement> {
  const duration = opts.durationSec ?? 10;
  const nsPath = netnsPath(`tsnet-dnsbench-${process.pid}`);
  const records = new DnsRecords();
  records.setNetwork(BENCH_NETWORK, { name: BENCH_NETWORK });
  records.add(BENCH_NETWORK, { endpointId: 'ep-client', networkId: BENCH_NETWORK, sandboxId: CLIENT_SANDBOX, name: 'client', aliases: [], ipv4: '10.89.0.2' });
  records.add(BENCH_NETWORK, { endpointId: 'ep-web', networkId: BENCH_NETWORK, sandboxId: 'c0c0c0c0c0c0c0c0', name: TARGET_NAME, aliases: [], ipv4: '10.89.0.3' });
  const server = new DnsServer({ backend: records });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-dnsbench-'));
  const cleanup: (() => unknown)[] = [() => fs.rmSync(tmp, { recursive: true, force: true })];
  try {
    createNetns(nsPath);
    cleanup.unshift(() => deleteNetns(nsPath));
    await loopbackUp(nsPath);
    await server.listenInNetns(nsPath, CLIENT_SANDBOX);
    cleanup.unshift(() => server.stop());
    const dataFile = path.join(tmp, 'queries.txt');
    fs.writeFileSync(dataFile, `${TARGET_NAME} A\n`);
    const dnsperf = (seconds: number, verbose: boolean) => {
      const args = ['--net=' + nsPath, '--', 'dnsperf', '-s', DNS_LISTEN_ADDRESS, '-c', String(opts.clients ?? 4), '-l', String(seconds), '-d', dataFile];
      if (opts.outstanding) args.push('-q', String(opts.outstanding));
      if (verbose) args.push('-v');
      return run('nsenter', args, { timeoutMs: (seconds + 30) * 1000 }).then((r) => r.stdout);
    };
    // Throughput from a quiet run; percentiles from a shorter run under the same load with -v (one
    // line per answer), whose output volume would otherwise weigh on the throughput figure.
    const qps = parseQps(await dnsperf(duration, false));
    const latency = parseLatencies(await dnsperf(Math.min(duration, LATENCY_RUN_SEC), true));
    return { qps, ...latency };
  } finally {
    await teardownAll('dns bench cleanup', cleanup);
  }
}

/** Queries per second from dnsperf's summary; a run with lost queries or error answers is refused, not reported. */
export function parseQps(output: string): number {
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(output)?.[1]);
  if (!Number.isFinite(qps)) throw new InternalError(`dnsperf: no "Queries per second" in its output: ${output.slice(-300)}`);
  const noerror = Number(/Response codes:\s+NOERROR \d+ \(([\d.]+)%\)/.exec(output)?.[1] ?? 0);
  const lost = Number(/Queries lost:\s+\d+ \(([\d.]+)%\)/.exec(output)?.[1] ?? 100);
  if (noerror < 99 || lost > 1) throw new InternalError(`dnsperf: ${noerror}% NOERROR answers and ${lost}% lost: not a valid throughput run`);
  return qps;
}

/** Median and 95th percentile latency (ms) from dnsperf -v lines ("> NOERROR web A 0.000047"). */
export function parseLatencies(output: string): { p50ms: number; p95ms: number } {
  const latencies: number[] = [];
  let failed = 0;
  for (const m of output.matchAll(/^> (\S+) \S+ \S+ ([\d.]+)$/gm)) {
    if (m[1] === 'NOERROR') latencies.push(Number(m[2]));
    else failed++;
  }
  // An error answer is fast and meaningless: a run with many would measure the wrong thing.
  if (latencies.length === 0 || failed > latencies.length / 100) {
    throw new InternalError(`dnsperf: ${failed} of ${failed + latencies.length} answers were errors`);
  }
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] * 1000;
  return { p50ms: at(0.5), p95ms: at(0.95) };
}
