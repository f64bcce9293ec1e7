/** Shared fixtures for the IPAM tests: a throw-away sqlite store and error matchers. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErrorKind, TsnetError } from '../../../src/errors';
import { openSqliteStore, type SqliteStore } from '../../../src/store/sqlite';
import type { PoolRequest } from '../../../src/ipam/ipam';

/** A store in a fresh temp dir; dispose() closes it and removes the dir. */
export interface TempStore {
  store: SqliteStore;
  dir: string;
  dispose(): Promise<void>;
}

/** Opens a sqlite store in a new mkdtemp dir, so tests never share state. */
export function tempStore(): TempStore {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-ipam-'));
  const store = openSqliteStore(dir);
  return {
    store,
    dir,
    dispose: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Checks err is a TsnetError of kind with exactly message (or matching it). */
function isKind(err: unknown, kind: ErrorKind, message: string | RegExp): true {
  assert.ok(err instanceof TsnetError, `expected a TsnetError, got ${String(err)}`);
  assert.equal(err.kind, kind, err.message);
  if (typeof message === 'string') assert.equal(err.message, message);
  else assert.match(err.message, message);
  return true;
}

/** Asserts fn throws a TsnetError of kind with exactly message (or matching it). */
export function throwsKind(fn: () => unknown, kind: ErrorKind, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => isKind(err, kind, message));
}

/** Asserts p rejects with a TsnetError of kind with exactly message (or matching it). */
export async function rejectsKind(p: Promise<unknown>, kind: ErrorKind, message: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => isKind(err, kind, message));
}

/** A v4 pool request for network "mynet" with the given overrides. */
export function poolReq(over: Partial<PoolRequest> = {}): PoolRequest {
  return { owner: 'net0000000001', ownerName: 'mynet', v6: false, ...over };
}
