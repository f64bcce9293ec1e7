/**
 * Test topology for firewall scenarios, built with `ip` inside the private host: bridges with a
 * gateway address (the host side), "container" namespaces on veths, and an "outside" namespace on an
 * uplink veth whose only route is the host. Probes report the peer address the server saw.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { netnsPath } from '../../../src/kernel/netns';
import { setSysctl } from '../../../src/kernel/sysctl';

const execFileP = promisify(execFile);

/** Runs a command, rejecting with its stderr. */
export async function sh(cmd: string, ...args: string[]): Promise<string> {
  try {
    return (await execFileP(cmd, args)).stdout;
  } catch (err) {
    throw new Error(`${cmd} ${args.join(' ')}: ${(err as { stderr?: string }).stderr || (err as Error).message}`);
  }
}

/**
 * Fresh links spend a second in IPv6 DAD with a tentative link-local address, and neighbour
 * solicitations for forwarded packets go unanswered meanwhile: turn DAD off before link up.
 */
function noDad(ifname: string, ns?: string): void {
  setSysctl(`net.ipv6.conf.${ifname}.accept_dad`, '0', ns ? netnsPath(ns) : undefined);
}

/** The uplink between the host and the outside namespace. */
export const UPLINK = { host4: '198.51.100.1', out4: '198.51.100.2', host6: '2001:db8:100::1', out6: '2001:db8:100::2' };

// Replies with the address the connection or datagram came from, so tests see NAT at work.
const SERVER = `const net=require('net'),dgram=require('dgram');const port=+process.argv[1];const clean=a=>a.replace(/^::ffff:/,'');
const s=net.createServer(c=>{c.on('error',()=>{});c.end(clean(c.remoteAddress)+'\\n')});
s.listen({port,host:'::',ipv6Only:false},()=>{const u4=dgram.createSocket('udp4');u4.on('message',(m,r)=>u4.send(r.address,r.port,r.address));
u4.bind(port,'0.0.0.0',()=>{const u6=dgram.createSocket({type:'udp6',ipv6Only:true});u6.on('message',(m,r)=>u6.send(r.address,r.port,r.address));
u6.bind(port,'::',()=>process.stdout.write('ready\\n'))})})`;

const CLIENT = `const net=require('net'),dgram=require('dgram');const [proto,ip,port,t]=process.argv.slice(1);
const out=x=>{process.stdout.write(String(x).trim());process.exit(0)};setTimeout(()=>out('timeout'),+t);
if(proto==='tcp'){const c=net.connect({host:ip,port:+port});let b='';c.on('data',d=>b+=d);c.on('end',()=>out(b));c.on('error',e=>out('error:'+e.code))}
else{const s=dgram.createSocket(net.isIPv6(ip)?'udp6':'udp4');s.on('message',m=>out(m));s.on('error',e=>out('error:'+e.code));s.send('x',+port,ip)}`;

/** argv to run node with a script in namespace ns ('' = the host). */
const nodeIn = (ns: string, script: string, args: string[]): [string, string[]] =>
  ns ? ['ip', ['netns', 'exec', ns, process.execPath, '-e', script, ...args]] : [process.execPath, ['-e', script, ...args]];

/** A container namespace on a bridge. */
export interface Container {
  ns: string;
  ip4: string;
  ip6?: string;
  hostVeth: string;
}

let counter = 0;

/** Everything one test made; cleanup() removes it all, whatever failed. */
export class Topology {
  readonly tag = `${(process.pid % 1296).toString(36)}${(counter++).toString(36)}`;
  readonly outside = `fw-${this.tag}-out`;
  private readonly namespaces: string[] = [];
  private readonly links: string[] = [];
  private readonly servers: ChildProcess[] = [];
  private veths = 0;

  /** Creates the outside namespace and its uplink to the host (default route via the host only). */
  async addOutside(): Promise<void> {
    const hostSide = `tu${this.tag}`;
    await sh('ip', 'netns', 'add', this.outside);
    this.namespaces.push(this.outside);
    await sh('ip', 'link', 'add', hostSide, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', this.outside);
    this.links.push(hostSide);
    await sh('ip', 'addr', 'add', `${UPLINK.host4}/24`, 'dev', hostSide);
    await sh('ip', '-6', 'addr', 'add', `${UPLINK.host6}/64`, 'dev', hostSide, 'nodad');
    noDad(hostSide);
    noDad('eth0', this.outside);
    await sh('ip', 'link', 'set', hostSide, 'up');
    const o = (...a: string[]) => sh('ip', '-n', this.outside, ...a);
    await o('link', 'set', 'lo', 'up');
    await o('addr', 'add', `${UPLINK.out4}/24`, 'dev', 'eth0');
    await o('-6', 'addr', 'add', `${UPLINK.out6}/64`, 'dev', 'eth0', 'nodad');
    await o('link', 'set', 'eth0', 'up');
    await o('route', 'add', 'default', 'via', UPLINK.host4);
    await o('-6', 'route', 'add', 'default', 'via', UPLINK.host6);
  }

  /** Creates bridge tb<tag><suffix> with gateway addresses (the first address of each subnet). */
  async addBridge(suffix: string, gw4: string, gw6?: string): Promise<string> {
    const bridge = `tb${this.tag}${suffix}`;
    await sh('ip', 'link', 'add', bridge, 'type', 'bridge');
    this.links.push(bridge);
    await sh('ip', 'addr', 'add', gw4, 'dev', bridge);
    if (gw6) await sh('ip', '-6', 'addr', 'add', gw6, 'dev', bridge, 'nodad');
    noDad(bridge);
    await sh('ip', 'link', 'set', bridge, 'up');
    return bridge;
  }

  /** Creates a container namespace with eth0 on bridge, default routes via the bridge gateways. */
  async addContainer(bridge: string, cidr4: string, gw4: string, v6?: { cidr: string; gw: string }): Promise<Container> {
    const n = this.veths++;
    const ns = `fw-${this.tag}-c${n}`;
    const hostVeth = `tv${this.tag}${n}`;
    await sh('ip', 'netns', 'add', ns);
    this.namespaces.push(ns);
    await sh('ip', 'link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
    await sh('ip', 'link', 'set', hostVeth, 'master', bridge);
    // What the bridge driver does when ports are published (constants.BRIDGE_PORT_HAIRPIN).
    await sh('ip', 'link', 'set', hostVeth, 'type', 'bridge_slave', 'hairpin', 'on');
    noDad(hostVeth);
    noDad('eth0', ns);
    await sh('ip', 'link', 'set', hostVeth, 'up');
    const c = (...a: string[]) => sh('ip', '-n', ns, ...a);
    await c('link', 'set', 'lo', 'up');
    await c('addr', 'add', cidr4, 'dev', 'eth0');
    if (v6) await c('-6', 'addr', 'add', v6.cidr, 'dev', 'eth0', 'nodad');
    await c('link', 'set', 'eth0', 'up');
    await c('route', 'add', 'default', 'via', gw4);
    if (v6) await c('-6', 'route', 'add', 'default', 'via', v6.gw);
    return { ns, ip4: cidr4.split('/')[0], ip6: v6?.cidr.split('/')[0], hostVeth };
  }

  /** Starts a TCP+UDP "who are you" server on port in ns ('' = the host). */
  async serve(ns: string, port: number): Promise<void> {
    const [cmd, args] = nodeIn(ns, SERVER, [String(port)]);
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    this.servers.push(proc);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`server ${ns}:${port} did not start`)), 5000);
      proc.stdout!.once('data', () => { clearTimeout(timer); resolve(); });
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server ${ns}:${port} exited ${code}`)); });
    });
  }

  /** Connects from ns ('' = host) and returns the address the server saw, or 'timeout' / 'error:CODE'. */
  probe(ns: string, proto: 'tcp' | 'udp', ip: string, port: number, timeoutMs = 1500): Promise<string> {
    const [cmd, args] = nodeIn(ns, CLIENT, [proto, ip, String(port), String(timeoutMs)]);
    return new Promise((resolve) => {
      const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout!.on('data', (d) => (out += d));
      proc.on('exit', () => resolve(out));
    });
  }

  /** Runs a command (for tests that play the operator). */
  sh(cmd: string, ...args: string[]): Promise<string> {
    return sh(cmd, ...args);
  }

  /** Stops servers and deletes namespaces and links (veths go with their namespace). */
  async cleanup(): Promise<void> {
    for (const p of this.servers.splice(0)) {
      p.kill();
      await new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)));
    }
    for (const ns of this.namespaces.splice(0)) await sh('ip', 'netns', 'del', ns).catch(() => undefined);
    for (const l of this.links.splice(0)) await sh('ip', 'link', 'del', l).catch(() => undefined);
  }
}
