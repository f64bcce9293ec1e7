/** Library attach/detach latency for N sandboxes on one bridge (issue: p50 ≤ 10 ms, flat in N). */
import type { Controller } from '../src/index';
import { summarize, timeMs } from './stats';

/** Creates N bare sandboxes, times connect of each to one bridge, then disconnect of each, then cleans up. */
export async function measureAttach(c: Controller, n: number, subnet: string): Promise<Record<string, unknown>> {
  const tag = `b${n}-${process.pid.toString(36)}`;
  const net = await c.createNetwork({ name: `bench-${tag}`, ipam: [{ subnet }] });
  const names = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  try {
    for (const name of names) await c.createSandbox({ name, network: null });
    const attach: number[] = [];
    for (const name of names) attach.push(await timeMs(() => c.connect(net.id, name)));
    const detach: number[] = [];
    for (const name of names) detach.push(await timeMs(() => c.disconnect(net.id, name)));
    return { sandboxes: n, attachMs: summarize(attach), detachMs: summarize(detach) };
  } finally {
    for (const name of names) await c.deleteSandbox(name).catch(() => undefined);
    await c.deleteNetwork(net.id);
  }
}
