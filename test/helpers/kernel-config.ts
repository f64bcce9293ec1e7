/** What the running kernel was built with (/proc/config.gz), so tests of missing features skip with one line naming the option. */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';

let cached: string | undefined;

/** Whether CONFIG_<name> is built in or a module; true when the kernel does not publish its config (let the test find out). */
export function kernelHas(name: string): boolean {
  if (cached === undefined) {
    try {
      cached = zlib.gunzipSync(fs.readFileSync('/proc/config.gz')).toString();
    } catch {
      return true;
    }
  }
  return new RegExp(`^CONFIG_${name}=[ym]$`, 'm').test(cached);
}

/** Skips the mocha test or suite with a one-line reason when the kernel lacks CONFIG_<name>. */
export function requireKernel(ctx: Mocha.Context, name: string): void {
  if (!kernelHas(name)) {
    ctx.test!.title += ` (skipped: kernel has no CONFIG_${name})`;
    ctx.skip();
  }
}
