/** Namespaced logger (tsnet:drivers:bridge …) to stderr, silent unless TSNET_DEBUG or DEBUG names it. */

const pattern = process.env.TSNET_DEBUG ?? process.env.DEBUG ?? '';
const matchers = pattern.split(/[\s,]+/).filter(Boolean).map((p) => new RegExp('^' + p.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*') + '$'));

/** A logging function for one namespace; `enabled` lets callers skip building costly messages. */
export interface Logger {
  (msg: string, ...args: unknown[]): void;
  readonly enabled: boolean;
}

/** Returns the logger for `namespace`, e.g. log('tsnet:firewall'). */
export function log(namespace: string): Logger {
  const enabled = matchers.some((m) => m.test(namespace));
  const fn = ((msg: string, ...args: unknown[]) => {
    if (!enabled) return;
    const extra = args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' ');
    process.stderr.write(`${new Date().toISOString()} ${namespace} ${msg}${extra ? ' ' + extra : ''}\n`);
  }) as Logger;
  Object.defineProperty(fn, 'enabled', { value: enabled });
  return fn;
}
