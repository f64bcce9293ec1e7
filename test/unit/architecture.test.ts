/** The layering STYLE.md asks for, checked on the source: who may start processes, what drivers and faces import, no cycles. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..', '..');

/** Every .ts file under dir, relative to the repo root. */
function sources(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sources(rel));
    else if (rel.endsWith('.ts') && !rel.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

/** Module specifiers a file imports or re-exports (static imports only). */
function imports(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]);
}

/** A relative specifier resolved to a repo path without extension. */
function resolve(from: string, spec: string): string {
  return path.normalize(path.join(path.dirname(from), spec)).replace(/\/index$/, '');
}

const SRC = sources('src');
const FACES = [...sources('plugins'), ...sources('src/cli')];

describe('architecture', () => {
  it('starts processes only from the kernel launchers', () => {
    const allowed = new Set(['src/kernel/exec.ts', 'src/kernel/sandbox-exec.ts']);
    const offenders = SRC.filter((f) => !allowed.has(f) && imports(f).some((s) => s === 'node:child_process' || s === 'child_process'));
    assert.deepEqual(offenders, []);
  });

  it('keeps drivers away from the firewall, the store and processes', () => {
    const offenders = sources('src/drivers').flatMap((f) =>
      imports(f).filter((s) => /child_process/.test(s) || (s.startsWith('.') && /^src\/(firewall|store)(\/|$)/.test(resolve(f, s)))).map((s) => `${f}: ${s}`));
    assert.deepEqual(offenders, []);
  });

  it('lets faces (CLI, plugins) reach the core only through src/index.ts and the schemas', () => {
    const offenders = FACES.flatMap((f) => imports(f).filter((s) => s.startsWith('.')).map((s) => [s, resolve(f, s)] as const)
      .filter(([, target]) => target.startsWith('src/') && !target.startsWith('src/cli') && target !== 'src' && !target.startsWith('src/schema/'))
      .map(([s]) => `${f}: ${s}`));
    assert.deepEqual(offenders, []);
  });

  it('keeps driver-specific options inside src/drivers/<name>/ (the controller reads typed NetworkInfo)', () => {
    // Faces translate their own config only through functions a driver exports (cniBridgeOptions, …).
    const driverKeys = /com\.docker\.network\.(bridge|driver)\.|driverState|macvlan_mode|ipvlan_mode|\bBridgeOption\b/;
    const outside = [...SRC.filter((f) => !f.startsWith('src/drivers/') && f !== 'src/model.ts'), ...FACES];
    const offenders = outside.filter((f) => driverKeys.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('has the daemon depend on the controller, never the controller on the daemon', () => {
    const offenders = sources('src/controller').flatMap((f) => imports(f).filter((s) => s.startsWith('.') && resolve(f, s).startsWith('src/daemon')).map((s) => `${f}: ${s}`));
    assert.deepEqual(offenders, []);
  });

  it('exports no kernel internals from the library API', () => {
    const index = fs.readFileSync(path.join(ROOT, 'src/index.ts'), 'utf8');
    const leaked = ['NetlinkHandle', 'withFileLock', 'withNetns', "from './kernel/netlink'", "from './kernel/lock'", "from './store/"].filter((name) => index.includes(name));
    assert.deepEqual(leaked, []);
  });

  it('lets faces write no raw store keys', () => {
    const offenders = FACES.filter((f) => /\.txn\(|\bstore\.(get|list|put)\b|'(network|endpoint|sandbox|port|ipam)\//.test(fs.readFileSync(path.join(ROOT, f), 'utf8')));
    assert.deepEqual(offenders, []);
  });

  it('has no import cycles in src/', () => {
    const graph = new Map(SRC.map((f) => [f.replace(/\.ts$/, '').replace(/\/index$/, ''), imports(f).filter((s) => s.startsWith('.') && !s.endsWith('.json')).map((s) => resolve(f, s))]));
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (node: string, trail: string[]) => {
      if (state.get(node) === 'done' || !graph.has(node)) return;
      if (state.get(node) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(node)), node].join(' -> '));
        return;
      }
      state.set(node, 'open');
      for (const next of graph.get(node)!) visit(next, [...trail, node]);
      state.set(node, 'done');
    };
    for (const node of graph.keys()) visit(node, []);
    assert.deepEqual(cycles, []);
  });
});
