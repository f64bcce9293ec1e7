/** Sandbox lifecycle: a namespace (or the host's, or another sandbox's), its resolver files, its first network. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { ConflictError, InvalidArgumentError, NotFoundError } from '../errors';
import { family } from '../kernel/addr';
import { loopbackUp } from '../kernel/netlink';
import { setSysctl } from '../kernel/sysctl';
import { createNetns, deleteNetns, netnsPath } from '../kernel/netns';
import type { Sandbox, SandboxMode, Protocol } from '../model';
import { randomHex, validateName } from '../names';
import { keys, type StoreReader } from '../store/store';
import { teardownAll, Undo } from '../undo';
import { type Core, driverOf, findNetwork, findSandbox, networkById, now, sandboxDir, sandboxEndpoints } from './core';
import { connect, type ConnectOptions, disconnect, removeEndpoint } from './endpoint';
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
  /** Networks joined after the first (Docker 25's repeated --network), each with its own options. */
  extraNetworks?: NetworkAttachment[];
  /** --domainname. */
  domainname?: string;
  /** --sysctl: namespaced kernel parameters, net.* only. */
  sysctls?: Record<string, string>;
  /** Docker's legacy --link "name[:alias]": hosts entries for that sandbox (its address on a network both share). */
  links?: string[];
}

/** One network a sandbox joins, with the options of its endpoint. */
export interface NetworkAttachment extends ConnectOptions {
  network: string;
}

/** An --expose value: "80", "53/udp", "8000-8010/tcp". */
export function parseExpose(p: string): { port: number; protocol: Protocol }[] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/.exec(p);
  const [start, end] = m ? [Number(m[1]), Number(m[2] ?? m[1])] : [0, 0];
  if (!m || start < 1 || end > 65535 || end < start) throw new InvalidArgumentError(`invalid --expose "${p}": expected PORT[-PORT][/PROTO]`);
  const protocol = (m[3] ?? 'tcp') as Protocol;
  return Array.from({ length: end - start + 1 }, (_, i) => ({ port: start + i, protocol }));
}

/** A --link value split into the linked sandbox and its alias (the name itself when none is given). */
function parseLink(link: string): { name: string; alias: string } {
  const m = /^\/?([^:/]+)(?::\/?([^:]+))?$/.exec(link);
  if (!m) throw new InvalidArgumentError(`invalid --link "${link}": expected NAME[:ALIAS]`);
  return { name: m[1], alias: m[2] ?? m[1] };
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
  for (const p of o.expose ?? []) parseExpose(p);
  if (o.domainname !== undefined && !/^[a-zA-Z0-9]([a-zA-Z0-9-]{0,62})(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,62}))*$/.test(o.domainname)) throw new InvalidArgumentError(`invalid domainname "${o.domainname}"`);
  for (const key of Object.keys(o.sysctls ?? {})) {
    if (!/^net\.[A-Za-z0-9_.\/-]+$/.test(key) || key.includes('..')) throw new InvalidArgumentError(`--sysctl ${key}: only network namespace sysctls (net.*) can be set on a sandbox`);
  }
  for (const l of o.links ?? []) parseLink(l);
}

/** Network modes that make a sandbox's only network: it cannot join others at creation (Docker's non-user-defined modes). */
const ALONE = 'conflicting options: cannot attach both user-defined and non-user-defined network-modes';

/** Checks the networks a sandbox joins at creation beyond the first; returns every network's id in order. */
async function checkExtraNetworks(core: Core, mode: SandboxMode, first: string | undefined, extras: NetworkAttachment[]): Promise<string[]> {
  const ids = first ? [first] : [];
  if (!extras.length) return ids;
  const user = async (id: string) => {
    const net = await findNetwork(core, id);
    return driverOf(core, net).capabilities.sandboxMode === 'own' && !net.info.predefined ? net.id : undefined;
  };
  if (mode !== 'own' || !first || !(await user(first))) throw new InvalidArgumentError(ALONE);
  for (const e of extras) {
    const id = await user(e.network);
    if (!id) throw new InvalidArgumentError(ALONE);
    if (ids.includes(id)) throw new InvalidArgumentError(`network "${e.network}" is specified multiple times`);
    ids.push(id);
  }
  return ids;
}

/** The sandboxes --link names, each checked to share one of the networks the new sandbox joins. */
async function resolveLinks(core: Core, links: string[], networkIds: string[]): Promise<NonNullable<Sandbox['links']>> {
  const out: NonNullable<Sandbox['links']> = [];
  for (const l of links) {
    const { name, alias } = parseLink(l);
    const target = await findSandbox(core.local, name).catch(() => { throw new NotFoundError(`--link ${l}: could not get sandbox for ${name}`); });
    const shared = (await sandboxEndpoints(core, target.id)).some((e) => networkIds.includes(e.networkId));
    if (!shared) throw new InvalidArgumentError(`--link ${l}: cannot link to ${name}, as it does not belong to the network of this sandbox`);
    out.push({ id: target.id, name: target.name, alias });
  }
  return out;
}

/** Writes --sysctl values in the sandbox's namespace; a key the kernel does not have is the user's error. */
function applySysctls(sb: Sandbox): void {
  for (const [key, value] of Object.entries(sb.sysctls ?? {})) {
    try {
      setSysctl(key, value, sb.key);
    } catch (err) {
      const code = ((err as Error).cause as NodeJS.ErrnoException | undefined)?.code;
      if (code === 'ENOENT') throw new InvalidArgumentError(`--sysctl ${key}: no such network sysctl`);
      if (code === 'EINVAL') throw new InvalidArgumentError(`--sysctl ${key}=${value}: invalid value`);
      throw err;
    }
  }
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
  if (o.sysctls && Object.keys(o.sysctls).length && (mode === 'host' || mode === 'container')) {
    throw new InvalidArgumentError(`--sysctl ${Object.keys(o.sysctls)[0]}: not allowed with the ${mode} network mode (the stack is not the sandbox's own)`);
  }
  const networkIds = await checkExtraNetworks(core, mode, network, o.extraNetworks ?? []);
  const links = await resolveLinks(core, o.links ?? [], networkIds);
  const id = randomHex(64);
  const sb: Sandbox = {
    id, name: o.name, hostname: o.hostname ?? (mode === 'host' ? os.hostname() : id.slice(0, 12)), mode,
    key: mode === 'host' ? HOST_KEY : mode === 'container' ? shared!.key : o.netnsPath ?? netnsPath(`tsnet-${id.slice(0, 12)}`),
    sharedWith: shared?.id, external: o.netnsPath ? true : undefined, dns: { servers: o.dns ?? [], search: o.dnsSearch ?? [], options: o.dnsOptions ?? [] },
    extraHosts: o.addHost ?? [], exposed: (o.expose ?? []).flatMap(parseExpose), created: now(),
    networkMode: o.network === null ? undefined : o.network ?? 'bridge',
    ...(o.domainname ? { domainname: o.domainname } : {}), ...(o.sysctls && Object.keys(o.sysctls).length ? { sysctls: o.sysctls } : {}), ...(links.length ? { links } : {}),
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
    } else if (mode === 'own' && sb.external) {
      // A runtime's namespace may come with loopback down (ctr, or a CNI chain without the loopback
      // plugin); the embedded resolver listens on 127.0.0.11 there. Left up: it is no state of ours.
      await loopbackUp(sb.key);
    }
    undo.push('sandbox files', () => fs.rmSync(sandboxDir(core, sb.id), { recursive: true, force: true }));
    const joins = [...(network ? [{ ...o, network }] : []), ...(o.extraNetworks ?? [])];
    for (const [i, att] of joins.entries()) {
      await connect(core, networkIds[i] ?? att.network, sb.id, att);
      undo.push(`connect ${att.network}`, async () => { await disconnect(core, networkIds[i] ?? att.network, sb.id, { force: true }); });
    }
    if (!joins.length) await refreshSandboxFiles(core, sb);
    applySysctls(sb);
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
