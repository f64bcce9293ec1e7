/** Sandbox lifecycle: a namespace (or the host's, or another sandbox's), its resolver files, its first network. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors';
import { family } from '../kernel/addr';
import { loopbackUp } from '../kernel/netlink';
import { createNetns, deleteNetns, netnsPath } from '../kernel/netns';
import type { Sandbox, SandboxMode, Protocol } from '../model';
import { randomHex, validateName } from '../names';
import { keys, type StoreReader } from '../store/store';
import { teardownAll, Undo } from '../undo';
import { type Core, driverOf, findNetwork, findSandbox, networkById, now, sandboxDir, sandboxEndpoints } from './core';
import { connect, type ConnectOptions, removeEndpoint } from './endpoint';
import { refreshSandboxFiles } from './sandbox-files';

/** Sandbox key of sandboxes that use the host's stack. */
export const HOST_KEY = 'host';

/** What `sandbox create` / `run` ask for. */
export interface SandboxOptions extends ConnectOptions {
  name: string;
  hostname?: string;
  /** Network name or id, `host`, `none` or `container:<sandbox>`; default `bridge`, as Docker; null: an own stack with no network yet. */
  network?: string | null;
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** --add-host entries, "name:ip". */
  addHost?: string[];
  /** --expose'd ports, "80" or "53/udp". */
  expose?: string[];
  /** An existing network namespace to use (a CNI runtime's or an engine's); tsnet will not create or delete it. */
  netnsPath?: string;
  /** With netnsPath: bring its loopback up (netavark does; a CNI runtime runs its loopback plugin instead). */
  loopbackUp?: boolean;
}

/** Checks every option that needs no state, before any side effect. */
function validateOptions(o: SandboxOptions): void {
  validateName('sandbox', o.name);
  if (o.hostname !== undefined && !/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}))*$/.test(o.hostname)) throw new InvalidArgumentError(`invalid hostname "${o.hostname}"`);
  for (const ip of o.dns ?? []) if (!family(ip)) throw new InvalidArgumentError(`--dns ${ip}: not an IP address`);
  for (const h of o.addHost ?? []) {
    const i = h.indexOf(':');
    if (i < 1 || !family(h.slice(i + 1).replace(/^\[|\]$/g, ''))) throw new InvalidArgumentError(`invalid --add-host "${h}": expected NAME:IP`);
  }
  for (const p of o.expose ?? []) if (!/^\d{1,5}(\/(tcp|udp|sctp))?$/.test(p) || Number(p.split('/')[0]) < 1 || Number(p.split('/')[0]) > 65535) throw new InvalidArgumentError(`invalid --expose "${p}"`);
}

/** Resolves --network into a mode, the network to join, and the sandbox whose stack is shared. */
async function resolveMode(core: Core, ref: string): Promise<{ mode: SandboxMode; network?: string; shared?: Sandbox }> {
  if (ref.startsWith('container:')) {
    const shared = await findSandbox(core.local, ref.slice('container:'.length));
    if (shared.mode === 'container') throw new InvalidArgumentError(`--network ${ref}: sandbox ${shared.name} itself shares another sandbox's stack`);
    return { mode: 'container', shared };
  }
  const net = await findNetwork(core, ref);
  const netMode = driverOf(core, net).capabilities.sandboxMode;
  if (netMode === 'host') return { mode: 'host', network: net.id };
  if (netMode === 'none') return { mode: 'none', network: net.id };
  return { mode: 'own', network: net.id };
}

/** Creates a sandbox and joins its first network; nothing is left behind when a step fails. */
export async function createSandbox(core: Core, o: SandboxOptions): Promise<Sandbox> {
  validateOptions(o);
  const { mode, network, shared } = o.network === null ? { mode: 'own' as const, network: undefined, shared: undefined } : await resolveMode(core, o.network ?? 'bridge');
  if (mode === 'container' && (o.ip || o.ip6 || o.aliases?.length || o.mac)) throw new InvalidArgumentError('conflicting options: --ip, --alias and --mac-address cannot be used with the container network mode');
  if (mode === 'container' && (o.publish?.length || o.publishAll || o.ports?.length)) throw new ConflictError('conflicting options: port publishing and the container type network mode');
  if (o.netnsPath && (mode === 'host' || mode === 'container')) throw new InvalidArgumentError(`conflicting options: a namespace path cannot be used with the ${mode} network mode`);
  if (o.netnsPath && !fs.existsSync(o.netnsPath)) throw new NotFoundError(`network namespace ${o.netnsPath}: does not exist`);
  const id = randomHex(64);
  const sb: Sandbox = {
    id, name: o.name, hostname: o.hostname ?? (mode === 'host' ? os.hostname() : id.slice(0, 12)), mode,
    key: mode === 'host' ? HOST_KEY : mode === 'container' ? shared!.key : o.netnsPath ?? netnsPath(`tsnet-${id.slice(0, 12)}`),
    sharedWith: shared?.id, external: o.netnsPath ? true : undefined, dns: { servers: o.dns ?? [], search: o.dnsSearch ?? [], options: o.dnsOptions ?? [] },
    extraHosts: o.addHost ?? [], exposed: (o.expose ?? []).map((p) => ({ port: Number(p.split('/')[0]), protocol: (p.split('/')[1] ?? 'tcp') as Protocol })), created: now(),
    networkMode: o.network === null ? undefined : o.network ?? 'bridge',
  };
  const undo = new Undo();
  try {
    await core.local.txn(async (t) => {
      if (!(await t.create(keys.sandboxName(sb.name), sb.id))) throw new ConflictError(`sandbox name "${sb.name}" is already in use`);
      if (shared && !(await t.get(keys.sandbox(shared.id)))) throw new NotFoundError(`sandbox ${shared.name} not found`);
      t.put(keys.sandbox(sb.id), sb);
    });
    undo.push('record sandbox', () => forgetSandbox(core, sb));
    if ((mode === 'own' || mode === 'none') && !sb.external) {
      createNetns(sb.key);
      undo.push('create namespace', () => deleteNetns(sb.key));
      await loopbackUp(sb.key);
    } else if (sb.external && o.loopbackUp) {
      // Left up on failure: the namespace is the runtime's, and a loopback up harms nothing.
      await loopbackUp(sb.key);
    }
    undo.push('sandbox files', () => fs.rmSync(sandboxDir(core, sb.id), { recursive: true, force: true }));
    if (network) await connect(core, network, sb.id, o);
    else await refreshSandboxFiles(core, sb);
    undo.commit();
    return sb;
  } catch (err) {
    await undo.run();
    throw err;
  }
}

async function forgetSandbox(core: Core, sb: Sandbox): Promise<void> {
  await core.local.txn(async (t) => {
    await t.delete(keys.sandbox(sb.id));
    if ((await t.get<string>(keys.sandboxName(sb.name))) === sb.id) await t.delete(keys.sandboxName(sb.name));
  });
}

/** Sandboxes that share sb's stack, read in r (a transaction, so the check and a removal are one decision). */
async function dependentsOf(r: StoreReader, sb: Sandbox): Promise<Sandbox[]> {
  return (await r.list<Sandbox>('sandbox/')).map((s) => s.value).filter((s) => s.sharedWith === sb.id);
}

/** Deletes a sandbox: every endpoint, the namespace, the files, the record; refused while others share its stack. */
export async function deleteSandbox(core: Core, ref: string): Promise<Sandbox> {
  const sb = await findSandbox(core.local, ref);
  const dependents = await dependentsOf(core.local, sb);
  if (dependents.length) throw new ConflictError(`sandbox ${sb.name}: its network stack is shared by ${dependents.map((d) => d.name).join(', ')}`);
  const steps = (await sandboxEndpoints(core, sb.id)).map((ep) => async () => {
    const net = await networkById(core, ep.networkId);
    if (net) await removeEndpoint(core, net, sb, ep);
  });
  // Every endpoint first: if one cannot be removed, the sandbox stays recorded so a retry can finish the job.
  await teardownAll(`delete sandbox ${sb.name}`, steps);
  await teardownAll(`delete sandbox ${sb.name}`, [
    () => { if ((sb.mode === 'own' || sb.mode === 'none') && !sb.external) deleteNetns(sb.key); },
    () => fs.rmSync(sandboxDir(core, sb.id), { recursive: true, force: true }),
    () => forgetSandbox(core, sb),
  ]);
  return sb;
}

/** The sandbox whose files and stack a sandbox uses (itself, or the one it shares with). */
export async function stackOwner(core: Core, sb: Sandbox): Promise<Sandbox> {
  if (!sb.sharedWith) return sb;
  const owner = await core.local.get<Sandbox>(keys.sandbox(sb.sharedWith));
  if (!owner) throw new NotFoundError(`sandbox ${sb.name}: the sandbox it shares a stack with is gone`);
  return owner;
}
