/**
 * Builds the shipped CLI: one file (build/src/cli/tsnet-cli.bundle.js) from the TypeScript sources,
 * so a command reads one script instead of resolving ~150 modules, and a loader
 * (build/src/cli/tsnet-cli.js) that runs it through a V8 code cache per command name kept beside
 * it. The core sits in the bundle as a lazily evaluated module (src/cli/lazy.ts): `--help` and a
 * refused flag never run it. koffi is loaded without its build tooling (as the CNI bundle does).
 * Usage (part of `npm run build`): node build/scripts/cli-bundle.js (TSNET_BUNDLE_MINIFY=0: readable, for profiles)
 */
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { buildTreeDirname, lazyModuleSource, lighterCore } from '../plugins/cni/bundle';
import { cachedLoadSource } from '../plugins/shared/loader';

/** Repository root, from build/scripts or scripts alike. */
const ROOT = path.resolve(__dirname, __dirname.includes(`${path.sep}build${path.sep}`) ? '../..' : '..');
/** The bundle, beside the compiled entry point so node_modules resolve as for it. */
export const CLI_BUNDLE = path.join(ROOT, 'build', 'src', 'cli', 'tsnet-cli.bundle.js');
/** The core (src/index.ts) in a file of its own, loaded by the CLI bundle when a command first needs it. */
export const CORE_BUNDLE = path.join(ROOT, 'build', 'src', 'cli', 'tsnet-core.bundle.js');
/** The loader node runs (the thin client execs it). */
export const CLI_LOADER = path.join(ROOT, 'build', 'src', 'cli', 'tsnet-cli.js');
// better-sqlite3/package.json: only require.resolve'd, at run time, to find the addon (sqliteAddon).
const EXTERNAL = ['koffi', 'etcd3', 'esbuild', '*.node', 'better-sqlite3/package.json'];
/** JS expression naming a process's command for its code caches: the first lower-case word (ls, create, …). */
const COMMAND_WORD = "process.argv.slice(2).find((a) => /^[a-z]+$/.test(a)) || 'help'";

/**
 * Node built-ins the core imports at its top but most commands never use (net and dgram for the
 * daemon's sockets, child_process for the firewall tools, crypto for ids, http/https/tls/zlib from
 * dependencies): each becomes a stand-in with the module's own property names whose values load the
 * real module on first access, so `tsnet ls` does not pay ~20 ms of module loading for them.
 */
const LAZY_BUILTINS = ['net', 'dgram', 'child_process', 'crypto', 'http', 'https', 'tls', 'zlib', 'stream', 'dns'];

function lazyBuiltin(name: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const keys = Object.getOwnPropertyNames(require(name)).filter((k) => k !== 'default');
  return lazyModuleSource(`() => require(${JSON.stringify(`node:${name}`)})`, keys);
}

/**
 * Node built-ins as the bundle sees them. From tsnet's own sources each is one ES module re-exporting
 * the built-in (the lazy stand-in for LAZY_BUILTINS), so its properties are copied into a namespace
 * once, not once per importing module as esbuild's CommonJS interop would (~10 ms over the core).
 */
const builtins: esbuild.Plugin = {
  name: 'builtins',
  setup(build) {
    const names = builtinModules.filter((m) => !m.startsWith('_') && !m.includes('/'));
    const filter = new RegExp(`^(node:)?(${names.join('|')})$`);
    const ours = (importer: string) => !importer.includes(`${path.sep}node_modules${path.sep}`) && importer.startsWith(ROOT);
    build.onResolve({ filter }, (args) => {
      const name = args.path.replace(/^node:/, '');
      if (args.namespace === 'builtin-esm') return LAZY_BUILTINS.includes(name) ? { path: name, namespace: 'lazy-builtin' } : { path: `node:${name}`, external: true };
      if (args.namespace === 'lazy-builtin') return { path: `node:${name}`, external: true };
      if (ours(args.importer)) return { path: name, namespace: 'builtin-esm' };
      return LAZY_BUILTINS.includes(name) ? { path: name, namespace: 'lazy-builtin' } : undefined;
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin-esm' }, (args) => ({ contents: `import * as ns from ${JSON.stringify(args.path)};\nexport default ns.default ?? ns;\nexport * from ${JSON.stringify(args.path)};\n`, loader: 'js', resolveDir: ROOT }));
    build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => ({ contents: lazyBuiltin(args.path), loader: 'js', resolveDir: ROOT }));
  },
};

/** better-sqlite3 finds its addon through the \`bindings\` package's search of a dozen paths; the bundle names it. */
const sqliteAddon: esbuild.Plugin = {
  name: 'sqlite-addon',
  setup(build) {
    build.onResolve({ filter: /^bindings$/ }, (args) => (args.importer.includes(`${path.sep}better-sqlite3${path.sep}`) ? { path: 'bindings', namespace: 'sqlite-addon' } : undefined));
    // Found from the bundle's place, as node would find better-sqlite3: the bundle also runs from an installed package.
    build.onLoad({ filter: /.*/, namespace: 'sqlite-addon' }, () => ({
      contents: "module.exports = () => { const path = require('path'); return require(path.join(path.dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node')); };",
      loader: 'js', resolveDir: ROOT,
    }));
  },
};

/** The code run by src/cli/lazy.ts's require('../index') in the CLI bundle: the core bundle, through its code cache. */
const coreLoader: esbuild.Plugin = {
  name: 'core-loader',
  setup(build) {
    // Every face reaches the core through src/index.ts only (test/unit/architecture): each such import is the one core bundle.
    const index = path.join(ROOT, 'src', 'index');
    build.onResolve({ filter: /\/index$/ }, (args) => (path.resolve(args.resolveDir, args.path) === index ? { path: 'core', namespace: 'core-loader' } : undefined));
    // A code cache per command, as for the CLI bundle: `ls` deserializes what ls compiled, not all `create` did.
    // Beside the CLI bundle, wherever that is (__filename: the CLI bundle runs as one CommonJS module).
    build.onLoad({ filter: /.*/, namespace: 'core-loader' }, () => ({
      contents: `module.exports = (${runCached.toString()})(require('path').join(require('path').dirname(__filename), ${JSON.stringify(path.basename(CORE_BUNDLE))}), 'core.' + (${COMMAND_WORD}));`,
      loader: 'js', resolveDir: ROOT,
    }));
  },
};

/**
 * Runs a CommonJS file through a V8 code cache kept beside it (file.<key>.v8cache), written
 * atomically at exit when there was none or V8 rejected it (a rebuild); returns its exports.
 */
function runCached(file: string, key: string): unknown {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const fs = require('fs'), path = require('path'), vm = require('vm'), Module = require('module');
  const cacheFile = `${file}.${key}.v8cache`;
  let cachedData: Buffer | undefined;
  try { cachedData = fs.readFileSync(cacheFile); } catch { /* first run */ }
  const script = new vm.Script(Module.wrap(fs.readFileSync(file, 'utf8')), { filename: file, cachedData });
  if (!cachedData || script.cachedDataRejected) {
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}`;
        fs.writeFileSync(tmp, script.createCachedData());
        fs.renameSync(tmp, cacheFile);
      } catch { /* a read-only build tree: no cache */ }
    });
  }
  const m = new Module(file, null);
  m.filename = file;
  m.paths = Module._nodeModulePaths(path.dirname(file));
  script.runInThisContext().call(m.exports, m.exports, Module.createRequire(file), m, file, path.dirname(file));
  return m.exports;
}

/**
 * The loader: the bundle through a V8 code cache per command (the first word: ls, create, …), so
 * each command's cache holds the functions it compiled. A cache is written, atomically, after a
 * run that had none or whose cache V8 rejected (a rebuild).
 */
function loaderScript(bundle: string): string {
  return `#!/usr/bin/env node
'use strict';
const fs = require('fs'), path = require('path');
const file = path.join(__dirname, ${JSON.stringify(path.basename(bundle))});
const word = ${COMMAND_WORD};
${cachedLoadSource({ cacheFile: "file + '.' + word + '.v8cache'" })}`;
}

/** Bundles entry into outfile (renamed over; its code caches dropped when it changed). */
async function bundleInto(entry: string, outfile: string, plugins: esbuild.Plugin[]): Promise<void> {
  const tmp = `${outfile}.tmp-${process.pid}`;
  await esbuild.build({
    entryPoints: [entry], outfile: tmp, bundle: true, platform: 'node', target: 'node20', format: 'cjs', minify: process.env.TSNET_BUNDLE_MINIFY !== '0', keepNames: true,
    external: EXTERNAL, plugins, logLevel: 'warning',
  });
  if (fs.existsSync(outfile) && fs.readFileSync(tmp).equals(fs.readFileSync(outfile))) {
    fs.rmSync(tmp);
    return;
  }
  fs.renameSync(tmp, outfile);
  // The code caches belong to the previous bundle.
  for (const f of fs.readdirSync(path.dirname(outfile))) if (f.startsWith(`${path.basename(outfile)}.`) && f.endsWith('.v8cache')) fs.rmSync(path.join(path.dirname(outfile), f), { force: true });
}

/** Bundles the CLI layer and the core and writes the loader; returns the loader's path. */
export async function bundleCli(): Promise<string> {
  const core = [lighterCore, buildTreeDirname(path.dirname(CLI_BUNDLE)), builtins, sqliteAddon];
  await bundleInto(path.join(ROOT, 'src', 'index.ts'), CORE_BUNDLE, core);
  // The CLI layer: commander and the command definitions; plugins/docker (daemon only) is bundled in with the core's plugins.
  await bundleInto(path.join(ROOT, 'src', 'cli', 'run.ts'), CLI_BUNDLE, [coreLoader, ...core]);
  const tmpLoader = `${CLI_LOADER}.tmp-${process.pid}`;
  fs.writeFileSync(tmpLoader, loaderScript(CLI_BUNDLE), { mode: 0o755 });
  fs.renameSync(tmpLoader, CLI_LOADER);
  return CLI_LOADER;
}

if (require.main === module) {
  bundleCli().catch((err) => {
    process.stderr.write(`cli bundle: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
