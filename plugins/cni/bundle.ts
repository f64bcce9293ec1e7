/**
 * Builds the shipped plugin: one file (build/plugins/cni/tsnet-cni.js) from the TypeScript sources,
 * so an exec reads one script instead of resolving ~80 modules. The config schema is compiled by ajv
 * here, once, into standalone code that replaces validate.ts; native modules stay external and
 * resolve from the build tree's node_modules.
 * Usage: node build/plugins/cni/bundle.js [OUTFILE]
 */
import Ajv from 'ajv';
import standaloneCode from 'ajv/dist/standalone';
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import schema from '../../src/schema/cni-config.schema.json';

/** Repository root, from build/plugins/cni or plugins/cni alike. */
const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}build${path.sep}`) ? '../../..' : '../..');
/** Where the bundle goes by default: beside the compiled entry point, so node_modules resolve as for it. */
export const BUNDLE_FILE = path.join(ROOT, 'build', 'plugins', 'cni', 'tsnet-cni.js');
/**
 * Packages with native parts (their loaders find .node files relative to themselves), and etcd3: the
 * core requires it only when a cluster store is configured, so the bundle does not carry it and its gRPC stack.
 */
const EXTERNAL = ['better-sqlite3', 'koffi', 'etcd3', '*.node'];

/** validate.ts's contract, backed by the schema compiled ahead of time. */
function standaloneValidator(): string {
  const ajv = new Ajv({ allErrors: true, strict: false, code: { source: true } });
  const code = standaloneCode(ajv, ajv.compile(schema));
  return `${code}\nconst compiled = module.exports;\nmodule.exports = { cniConfigValidator: () => compiled };\n`;
}

/** Swaps plugins/cni/validate.ts for the standalone validator. */
const precompiledSchema: esbuild.Plugin = {
  name: 'precompiled-schema',
  setup(build) {
    build.onResolve({ filter: /^\.\/validate$/ }, (args) => (args.importer.endsWith(path.join('plugins', 'cni', 'config.ts')) ? { path: 'cni-config', namespace: 'validator' } : undefined));
    build.onLoad({ filter: /.*/, namespace: 'validator' }, () => ({ contents: standaloneValidator(), loader: 'js', resolveDir: ROOT }));
  },
};

/**
 * koffi's index.js finds its native module through its build tooling, which loads https, zlib and
 * crypto (~25 ms). The bundle is built on the machine it runs on, so it can name the module directly;
 * tsnet uses only the native API (load, func, decode). The module itself is loaded on the first use
 * of one of its properties: most commands (`tsnet ls`, a CNI CHECK) make no libc call, and the
 * dlopen and koffi's set-up cost them a few ms. undefined when this platform has no prebuilt one.
 */
function koffiDirect(): string | undefined {
  const pkgFile = require.resolve('koffi/package.json', { paths: [ROOT] });
  const native = path.join(path.dirname(pkgFile), 'build', 'koffi', `${process.platform}_${process.arch}`, 'koffi.node');
  if (!fs.existsSync(native)) return undefined;
  const version = (JSON.parse(fs.readFileSync(pkgFile, 'utf8')) as { version: string }).version;
  // The property names, read here from the same module, so the stand-in needs no load to list them.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const keys = Object.getOwnPropertyNames(require(native)).filter((k) => k !== 'default');
  // Found from the bundle's place when first used, as node would find koffi: the bundle also runs from an installed package.
  return lazyModuleSource(`() => {
  const path = require('path');
  const native = require(path.join(path.dirname(require.resolve('koffi/package.json')), 'build', 'koffi', process.platform + '_' + process.arch, 'koffi.node'));
  if (native.version !== ${JSON.stringify(version)}) throw new Error('koffi: native module ' + native.version + ' does not match package ${version}; reinstall the plugin');
  return native;
}`, keys);
}

/**
 * CommonJS source of a stand-in for a module: an object with the module's property names (keys)
 * whose getters load it, through load (a JS function expression returning its exports), on first access.
 */
export function lazyModuleSource(load: string, keys: string[]): string {
  return `let real;
const load = () => (real ??= (${load})());
const lazy = {};
for (const k of ${JSON.stringify(keys)}) Object.defineProperty(lazy, k, { enumerable: true, configurable: true, get: () => load()[k] });
Object.defineProperty(lazy, 'default', { enumerable: false, configurable: true, get: load });
module.exports = lazy;
`;
}

/** Loads heavy core dependencies in part (see koffiDirect). */
export const lighterCore: esbuild.Plugin = {
  name: 'lighter-core',
  setup(build) {
    const contents: Record<string, string | undefined> = { koffi: koffiDirect() };
    build.onResolve({ filter: /^koffi$/ }, (args) => (args.namespace === 'lighter-core' || !contents[args.path] ? undefined : { path: args.path, namespace: 'lighter-core' }));
    build.onLoad({ filter: /.*/, namespace: 'lighter-core' }, (args) => ({ contents: contents[args.path], loader: 'js', resolveDir: ROOT }));
  },
};

/**
 * Core modules find siblings through __dirname (the daemon's CLI entry point, sandbox-exec). In one
 * bundled file __dirname would be the bundle's directory, so each such module gets back the
 * directory its tsc output has in the build tree, found from the bundle's own file at run time
 * (__filename: the bundle runs as one CommonJS module), so the bundle and the build tree beside
 * it work wherever they are installed. bundleDir: where the bundle is written.
 */
export function buildTreeDirname(bundleDir: string): esbuild.Plugin {
  return {
    name: 'build-tree-dirname',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => {
        const rel = path.relative(ROOT, args.path);
        if (rel.startsWith('..') || rel.startsWith(`plugins${path.sep}`)) return undefined;
        const source = fs.readFileSync(args.path, 'utf8');
        if (!source.includes('__dirname')) return undefined;
        const dir = path.relative(bundleDir, path.join(ROOT, 'build', path.dirname(rel)));
        // After a #! line, which must stay first (src/cli/main.ts); the line count stays the same.
        const shebang = /^#!.*\n/.exec(source)?.[0] ?? '';
        return { contents: `${shebang}const __dirname = require('path').join(require('path').dirname(__filename), ${JSON.stringify(dir)});${source.slice(shebang.length)}`, loader: 'ts' };
      });
    },
  };
}

/** Bundles the plugin into outfile (minified, lazy chunks kept lazy); returns its path. opts.entry bundles another face (tsnet-netavark) the same way. */
export async function bundle(outfile = BUNDLE_FILE, opts: { minify?: boolean; entry?: string } = {}): Promise<string> {
  // Written beside and renamed over: a runtime may be exec'ing the previous bundle right now.
  const tmp = `${outfile}.tmp-${process.pid}`;
  await esbuild.build({
    entryPoints: [opts.entry ?? path.join(ROOT, 'plugins', 'cni', 'main.ts')],
    outfile: tmp,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: opts.minify ?? true,
    keepNames: true,
    external: EXTERNAL,
    plugins: [precompiledSchema, lighterCore, buildTreeDirname(path.dirname(outfile))],
    logLevel: 'warning',
  });
  const same = fs.existsSync(outfile) && fs.readFileSync(tmp).equals(fs.readFileSync(outfile));
  if (same) {
    // Unchanged: keep the file and the code cache the wrapper made for it.
    fs.rmSync(tmp);
    return outfile;
  }
  fs.chmodSync(tmp, 0o755);
  fs.renameSync(tmp, outfile);
  // The wrapper's code cache belongs to the previous bundle.
  fs.rmSync(`${outfile}.v8cache`, { force: true });
  return outfile;
}

if (require.main === module) {
  bundle(process.argv[2]).then(
    (file) => process.stdout.write(`${file}\n`),
    (err) => {
      process.stderr.write(`bundle: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
