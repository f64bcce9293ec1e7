/**
 * What the installed node scripts of the CNI plugin and the netavark helper share: loading the face
 * (its bundle, or main.js) through a V8 code cache kept beside it, so later execs skip parsing and
 * compiling it, and writing the script where a runtime may be exec'ing the old one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * Script statements that run the CommonJS module at the path in the script's `file` constant (with
 * `fs` and `path` required), through the cache `file + '.v8cache'`. The cache is written (atomically)
 * as the process exits when it was missing or V8 rejected it (e.g. after a rebuild), and, with
 * writeWhen (a JS condition), only when that holds too: the CNI plugin writes it on ADD, the hot path,
 * so it holds the functions ADD compiled. cacheFile (a JS expression) names another cache. indent
 * prefixes every line (for a function body).
 */
export function cachedLoadSource(opts: { writeWhen?: string; indent?: string; cacheFile?: string } = {}): string {
  const rejected = '(!cachedData || script.cachedDataRejected)';
  const source = `const vm = require('vm'), Module = require('module');
const cacheFile = ${opts.cacheFile ?? "file + '.v8cache'"};
let cachedData;
try { cachedData = fs.readFileSync(cacheFile); } catch {}
const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8').replace(/^#!.*/, '')), { filename: file, cachedData });
if (${opts.writeWhen ? `${rejected} && ${opts.writeWhen}` : rejected.slice(1, -1)}) {
  process.once('exit', () => {
    try {
      const tmp = cacheFile + '.' + process.pid;
      fs.writeFileSync(tmp, script.createCachedData());
      fs.renameSync(tmp, cacheFile);
    } catch {}
  });
}
const m = new Module(file, null);
m.filename = file;
m.paths = Module._nodeModulePaths(path.dirname(file));
script.runInThisContext().call(m.exports, m.exports, Module.createRequire(file), m, file, path.dirname(file));
`;
  return opts.indent ? source.replace(/^(?=.)/gm, opts.indent) : source;
}

/** Writes dir/name with mode 0755 atomically (rename), so a runtime exec'ing it meanwhile never sees half a file. */
export function writeExecutable(dir: string, name: string, text: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, name);
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, text, { mode: 0o755 });
  fs.renameSync(tmp, file);
  return file;
}

/**
 * The file a face's script loads: a fresh bundle when esbuild is installed (make, given dir/bundle.js
 * loaded), else dir/main.js, the unbundled entry point. The bundler is loaded by path, not import: a
 * bundle must not swallow the bundler (and esbuild with it).
 */
export async function faceEntry<B>(dir: string, make: (bundler: B) => Promise<string>): Promise<string> {
  const bundler = path.join(dir, 'bundle.js');
  try {
    if (fs.existsSync(bundler)) return await make(require(bundler) as B);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw err;
  }
  return path.join(dir, 'main.js');
}
