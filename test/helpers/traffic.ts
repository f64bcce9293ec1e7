/** Real traffic probes between namespaces: a TCP echo server in one, a client in another (or in the host). */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';

const SERVER = `const net=require('net');const s=net.createServer(c=>c.on('data',d=>c.end('echo:'+d)));s.listen(+process.argv[1],process.argv[2]||undefined,()=>process.stdout.write('ready\\n'))`;

/** Command prefix that runs argv inside the namespace at nsPath ('' = the current one). */
export function inNs(nsPath: string, argv: string[]): [string, string[]] {
  return nsPath ? ['nsenter', [`--net=${nsPath}`, '--', ...argv]] : [argv[0], argv.slice(1)];
}

/** Starts a TCP echo server in nsPath on port; resolves once it listens. Kill it with stop(). */
export function startEchoServer(nsPath: string, port: number, host = ''): Promise<{ stop(): void; proc: ChildProcess }> {
  const [cmd, args] = inNs(nsPath, [process.execPath, '-e', SERVER, String(port), host]);
  const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { proc.kill(); reject(new Error(`echo server in ${nsPath} did not start`)); }, 5000);
    proc.stdout!.once('data', () => { clearTimeout(timer); resolve({ proc, stop: () => proc.kill() }); });
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`echo server exited ${code}`)); });
  });
}

const CLIENT = `const c=require('net').connect(+process.argv[2],process.argv[1]);let b='';c.setTimeout(+process.argv[4],()=>{process.stdout.write('timeout');process.exit(3)});c.on('connect',()=>c.write(process.argv[3]));c.on('data',d=>b+=d);c.on('end',()=>{process.stdout.write(b);process.exit(0)});c.on('error',e=>{process.stdout.write('error:'+e.code);process.exit(2)})`;

/** Sends token to ip:port from inside nsPath ('' = here) and returns what came back (or "error:…"/"timeout"). */
export function tcpExchange(nsPath: string, ip: string, port: number, token = 'hello', timeoutMs = 3000): Promise<string> {
  if (!nsPath) return tcpExchangeHere(ip, port, token, timeoutMs);
  const [cmd, args] = inNs(nsPath, [process.execPath, '-e', CLIENT, ip, String(port), token, String(timeoutMs)]);
  return new Promise((resolve) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    proc.stdout!.on('data', (d) => (out += d));
    proc.on('exit', () => resolve(out));
  });
}

function tcpExchangeHere(ip: string, port: number, token: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect(port, ip);
    let buf = '';
    c.setTimeout(timeoutMs, () => { c.destroy(); resolve('timeout'); });
    c.on('connect', () => c.write(token));
    c.on('data', (d) => (buf += d));
    c.on('end', () => resolve(buf));
    c.on('error', (e: NodeJS.ErrnoException) => resolve('error:' + e.code));
  });
}
