/**
 * Writes fixtures/cli/format/network.golden.json: what the real `docker network ls/inspect --format`
 * (Debian's docker.io CLI against a private dockerd) prints for each template in FORMAT_CASES, on
 * networks made for it, plus those networks' inspect JSON. The unit tests render the same templates
 * on that JSON with tsnet's formatter and must print the same bytes.
 * Run inside a private host: npm run build && node build/test/helpers/private-host.js node build/scripts/format-goldens.js
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine, ensurePackages, IMAGE } from '../test/integration/docker/engine';
import { FORMAT_CASES, GOLDEN_CONTAINERS, GOLDEN_NETWORKS, SANDBOX_CASES, type FormatGolden, type Outcome, type SandboxGolden } from '../test/helpers/format-cases';

/** Debian's docker CLI (setup.sh installs docker.io): the goldens must be reproducible on CI's machine. */
const DOCKER = '/usr/bin/docker';
const FIXTURES = path.join(__dirname, '..', '..', 'fixtures', 'cli', 'format');
const OUT = path.join(FIXTURES, 'network.golden.json');

/** Runs the docker CLI against engine: its exact stdout, or its exit status and stderr when it fails. */
function capture(engine: Engine, args: string[]): Outcome {
  const r = spawnSync(DOCKER, ['-H', `unix://${engine.socket}`, ...args], { encoding: 'utf8', env: { ...process.env, DOCKER_CONFIG: path.join(engine.dir, 'cli') } });
  if (r.status === 0) return { stdout: r.stdout };
  return { error: { status: r.status ?? -1, stderr: r.stderr } };
}

/** docker ps and docker inspect --format on containers shaped like sandboxes; writes sandbox.golden.json. */
async function sandboxGoldens(engine: Engine, docker: string): Promise<void> {
  await engine.importImage();
  for (const c of GOLDEN_CONTAINERS) await engine.docker('run', '-d', '--name', c.name, ...c.args, IMAGE, 'sleep', '600');
  const ids = (await engine.docker('ps', '-q', '--no-trunc')).split('\n');
  const golden: SandboxGolden = { docker, containers: JSON.parse(await engine.docker('inspect', ...ids)) as unknown[], ps: [], inspect: [] };
  for (const c of SANDBOX_CASES.ps) golden.ps.push({ ...c, ...capture(engine, ['ps', ...(c.noTrunc ? ['--no-trunc'] : []), '--format', c.format]) });
  for (const c of SANDBOX_CASES.inspect) golden.inspect.push({ ...c, ...capture(engine, ['inspect', '--format', c.format, ...c.networks]) });
  for (const c of [...GOLDEN_CONTAINERS].reverse()) await engine.docker('rm', '-f', c.name);
  fs.writeFileSync(path.join(FIXTURES, 'sandbox.golden.json'), JSON.stringify(golden, null, 2) + '\n');
  console.log(`wrote sandbox.golden.json: ${golden.ps.length} ps and ${golden.inspect.length} inspect cases`);
}

async function main(): Promise<void> {
  const missing = ensurePackages();
  if (missing) throw new Error(missing);
  const engine = Engine.prepare();
  try {
    await engine.start();
    for (const n of GOLDEN_NETWORKS) await engine.docker('network', 'create', ...n.args, n.name);
    const ids = (await engine.docker('network', 'ls', '-q', '--no-trunc')).split('\n');
    const networks = JSON.parse(await engine.docker('network', 'inspect', ...ids)) as unknown[];
    const golden: FormatGolden = { docker: spawnSync(DOCKER, ['--version'], { encoding: 'utf8' }).stdout.trim(), networks, ls: [], inspect: [] };
    for (const c of FORMAT_CASES.ls) {
      golden.ls.push({ ...c, ...capture(engine, ['network', 'ls', ...(c.noTrunc ? ['--no-trunc'] : []), ...(c.filter ? ['--filter', c.filter] : []), '--format', c.format]) });
    }
    for (const c of FORMAT_CASES.inspect) {
      golden.inspect.push({ ...c, ...capture(engine, ['network', 'inspect', '--format', c.format, ...c.networks]) });
    }
    await sandboxGoldens(engine, golden.docker);
    for (const n of GOLDEN_NETWORKS) await engine.docker('network', 'rm', n.name);
    fs.mkdirSync(path.dirname(OUT), { recursive: true });
    fs.writeFileSync(OUT, JSON.stringify(golden, null, 2) + '\n');
    console.log(`wrote ${OUT}: ${golden.ls.length} ls and ${golden.inspect.length} inspect cases from docker ${golden.docker}`);
  } finally {
    await engine.remove();
  }
}

main().catch((err) => {
  console.error(`format-goldens: ${(err as Error).message}`);
  process.exitCode = 1;
});
