/**
 * The npm package as an engine installs it: `npm pack` (its prepack builds), then in an empty
 * project `npm install ./tsnet-<version>.tgz` (dependencies from the npm cache when it has them),
 * `require('tsnet')` and the declared subpaths work, the binaries run through npx, the CNI shim is
 * built for that machine, and without a C compiler its build is skipped without failing the install.
 */
import { strict as assert } from 'node:assert';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..', '..');
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };
/** What the pack needs to build: the sources tsc compiles (tests included: scripts import their helpers). */
const SOURCES = ['src', 'plugins', 'scripts', 'test', 'bench', 'tsconfig.json', 'package.json', 'README.md'];

/**
 * npm, offline: every package comes from the npm cache `npm ci` filled, and better-sqlite3 is built
 * from source instead of downloading a prebuilt binary, so the test sends nothing beyond the private
 * host (it has no uplink, and never borrows the machine's).
 */
function npm(cwd: string, args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync('npm', args, {
    cwd, encoding: 'utf8', timeout: 900_000,
    env: { ...process.env, npm_config_offline: 'true', npm_config_build_from_source: 'true', npm_config_audit: 'false', npm_config_fund: 'false', ...env },
  });
}

function node(cwd: string, code: string): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, ['-e', code], { cwd, encoding: 'utf8', timeout: 60_000 });
}

describe('package: npm pack, then npm install in an empty project', function () {
  this.timeout(1_200_000);
  let dir = '';
  let tgz = '';
  let app = '';

  before(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-pack-'));
    // Packed from a copy: prepack rebuilds build/ from scratch, which must not pull the running tests' files away.
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    for (const entry of SOURCES) fs.cpSync(path.join(ROOT, entry), path.join(src, entry), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'));
    const r = npm(src, ['pack', '--pack-destination', dir]);
    assert.equal(r.status, 0, r.stderr);
    tgz = path.join(dir, `${PKG.name}-${PKG.version}.tgz`);
    assert.ok(fs.existsSync(tgz), r.stdout);
  });
  after(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('ships the built library, its types, the binaries, man pages and the shim source, and no tests, fixtures or benches', () => {
    const files = spawnSync('tar', ['tzf', tgz], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    for (const f of ['package.json', 'README.md', 'build/src/index.js', 'build/src/index.d.ts', 'build/src/cli/main.js', 'build/src/cli/tsnet-cli.js', 'build/src/cli/tsnet-cli.bundle.js', 'build/src/cli/tsnet-core.bundle.js', 'build/plugins/cni/main.js', 'build/plugins/docker/main.js',
      'build/plugins/cni/shim.js', 'plugins/cni/shim/tsnet-cni.c', 'plugins/netavark/shim/tsnet-netavark.c', 'plugins/shared/shim/exec-shim.h', 'scripts/install-shim.js', 'build/man/man1/tsnet.1', 'build/man/man1/tsnet-create.1']) assert.ok(files.includes(f), f);
    assert.deepEqual(files.filter((f) => /^(test|fixtures|bench|src|build\/test|build\/bench|build\/scripts)\//.test(f) || f.endsWith('.map') || f.endsWith('.v8cache') || f.endsWith('.ts') && !f.endsWith('.d.ts')), []);
    assert.ok(files.length < 500, `${files.length} files`);
    assert.ok(fs.statSync(tgz).size < 1_000_000, `${fs.statSync(tgz).size} bytes`);
  });

  it('installs into an empty project, building the CNI shim for that machine', () => {
    app = path.join(dir, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'engine', version: '1.0.0', private: true, allowScripts: { tsnet: true, 'better-sqlite3': true, koffi: true, protobufjs: true } }));
    const r = npm(app, ['install', '--prefer-offline', '--no-audit', '--no-fund', tgz]);
    assert.equal(r.status, 0, r.stderr);
    const shim = path.join(app, 'node_modules', 'tsnet', 'build', 'plugins', 'cni', 'tsnet-cni-shim');
    assert.ok(fs.statSync(shim).mode & 0o111, 'shim built and executable');
    // The shim execs this machine's node and the installed plugin: the paths compiled in are the install's.
    assert.ok(fs.readFileSync(shim).includes(Buffer.from(path.join(app, 'node_modules', 'tsnet', 'build', 'plugins', 'cni', 'main.js'))));
  });

  it("require('tsnet') and its declared subpaths work; undeclared deep paths are closed", () => {
    const r = node(app, `
      const t = require('tsnet');
      if (typeof t.Controller !== 'function' || typeof t.InvalidArgumentError !== 'function') throw new Error('library exports missing');
      if (typeof require('tsnet/docker-plugin').startDockerPlugin !== 'function') throw new Error('docker-plugin');
      if (typeof require('tsnet/cni').tsnetHandlers !== 'function') throw new Error('cni');
      if (require('tsnet/package.json').version !== ${JSON.stringify(PKG.version)}) throw new Error('version');
      try { require('tsnet/build/src/model'); throw new Error('deep path open'); } catch (e) { if (e.code !== 'ERR_PACKAGE_PATH_NOT_EXPORTED') throw e; }
      console.log('ok');`);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, 'ok\n');
  });

  it('types resolve for a TypeScript engine (moduleResolution node16)', () => {
    fs.writeFileSync(path.join(app, 'engine.ts'), "import { Controller, type Network } from 'tsnet';\nimport { startDockerPlugin } from 'tsnet/docker-plugin';\nexport const open: typeof Controller.open = Controller.open;\nexport const n: Network | undefined = undefined;\nexport const s = startDockerPlugin;\n");
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'node16', '--moduleResolution', 'node16', '--skipLibCheck', '--types', 'node', '--typeRoots', path.join(ROOT, 'node_modules', '@types'), 'engine.ts'], { cwd: app, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('runs the binaries with npx: tsnet --help, tsnet --version, tsnet-cni VERSION', () => {
    const help = npm(app, ['exec', '--offline', '--', 'tsnet', '--help']);
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: tsnet \[options\] \[command\]/);
    const version = npm(app, ['exec', '--offline', '--', 'tsnet', '--version']);
    assert.equal(version.stdout, `tsnet version ${PKG.version}\n`);
    const cni = npm(app, ['exec', '--offline', '--', 'tsnet-cni'], { CNI_COMMAND: 'VERSION' });
    assert.equal(cni.status, 0, cni.stderr);
    assert.match(JSON.parse(cni.stdout).cniVersion, /^1\./);
  });

  it('runs the bundled CLI from the installed package: networks made, listed and removed, no path of the build machine in it', () => {
    const cli = path.join(app, 'node_modules', 'tsnet', 'build', 'src', 'cli');
    assert.equal(fs.realpathSync(path.join(app, 'node_modules', '.bin', 'tsnet')), path.join(cli, 'tsnet-cli.js'));
    for (const f of ['tsnet-cli.js', 'tsnet-cli.bundle.js', 'tsnet-core.bundle.js']) assert.ok(!fs.readFileSync(path.join(cli, f), 'utf8').includes(ROOT), `${f} names ${ROOT}`);
    const stateDir = path.join(dir, 'state');
    const tsnet = (...args: string[]) => npm(app, ['exec', '--offline', '--', 'tsnet', '--state-dir', stateDir, ...args]);
    const name = `pk${process.pid.toString(36)}`;
    try {
      const create = tsnet('create', '--subnet', '10.213.0.0/24', name);
      assert.equal(create.status, 0, create.stderr);
      const ls = tsnet('ls', '--format', '{{.Name}} {{.Driver}}');
      assert.equal(ls.status, 0, ls.stderr);
      assert.match(ls.stdout, new RegExp(`^${name} bridge$`, 'm'));
      // The loader kept a code cache beside the installed bundle: the next ls starts from it.
      assert.ok(fs.readdirSync(cli).some((f) => f.endsWith('.ls.v8cache')), 'no code cache written');
      const rm = tsnet('rm', name);
      assert.equal(rm.status, 0, rm.stderr);
      assert.equal(rm.stdout, `${name}\n`);
    } finally {
      tsnet('rm', '-f', name);
      // The daemon a change started (for DNS) goes with the test.
      const pidFile = path.join(stateDir, 'daemon.pid');
      if (fs.existsSync(pidFile)) {
        const pid = Number(fs.readFileSync(pidFile, 'utf8'));
        try {
          process.kill(pid, 'SIGTERM');
          for (let i = 0; i < 60; i++) {
            process.kill(pid, 0);
            spawnSync('sleep', ['0.05']);
          }
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone.
        }
      }
    }
  });

  it('skips the shim without a C compiler, and the install still succeeds', () => {
    const shim = path.join(app, 'node_modules', 'tsnet', 'build', 'plugins', 'cni', 'tsnet-cni-shim');
    fs.rmSync(shim);
    const r = npm(app, ['rebuild', 'tsnet', '--foreground-scripts'], { CC: '/nonexistent/cc' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /no C compiler \(\/nonexistent\/cc\): CNI shim skipped/);
    assert.ok(!fs.existsSync(shim));
  });
});
