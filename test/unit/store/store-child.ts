/**
 * Child process of the contract suite. argv: JSON StoreSpec, job name, JSON job arguments.
 * Jobs: "increment" {key, times} (read-modify-write transactions), "write" {ops} (one transaction
 * per op, in order).
 */
import { childMain } from './fork';
import { openSpec, type StoreSpec } from './spec';

/** One write of the "write" job: a put, or a delete when value is absent. */
export interface WriteOp { key: string; value?: unknown }

function main(): void {
  const [specJson, job, argsJson] = process.argv.slice(2);
  const store = openSpec(JSON.parse(specJson) as StoreSpec);
  const args = JSON.parse(argsJson);
  const jobs: Record<string, () => Promise<unknown>> = {
    increment: async () => {
      for (let i = 0; i < args.times; i++) {
        await store.txn(async (t) => { t.put(args.key, ((await t.get<number>(args.key)) ?? 0) + 1); });
      }
      return args.times;
    },
    write: async () => {
      for (const op of args.ops as WriteOp[]) {
        await store.txn(async (t) => { if (op.value === undefined) await t.delete(op.key); else t.put(op.key, op.value); });
      }
      return (args.ops as WriteOp[]).length;
    },
  };
  if (!jobs[job]) throw new Error(`unknown job ${job}`);
  childMain(jobs[job], () => store.close());
}

main();
