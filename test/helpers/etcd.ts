/**
 * A real etcd server (Debian's etcd-server) for a test: single member, on a loopback address of the
 * test's private host (or any listen IP, for the multi-host harness), data under a fresh temp dir.
 * It can be stopped, killed with SIGKILL, frozen and restarted on the same ports and data, and is
 * always cleaned up: by dispose(), and at process exit for anything a failed test left behind.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Options of startEtcd. */
export interface EtcdOptions {
  /** IP to listen on (default 127.0.0.1). */
  listenIp?: string;
  /** Extra etcd flags, e.g. ['--max-txn-ops', '1024']. */
  flags?: string[];
  /** Serve clients over TLS with these PEM files, and require client certificates signed by ca. */
  tls?: { ca: string; cert: string; key: string };
}

/** A running (or stopped) test etcd. */
export interface EtcdServer {
  /** host:port clients connect to. */
  readonly endpoint: string;
  /** The cluster-store address with prefix, e.g. "etcd://127.0.0.1:40123/t1". */
  url(prefix?: string): string;
  readonly dataDir: string;
  /** SIGTERM, and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL, and wait for exit (a crash: nothing is flushed beyond what etcd already synced). */
  kill(): Promise<void>;
  /** SIGSTOP: the server keeps its sockets but answers nothing. resume() undoes it. */
  freeze(): void;
  resume(): void;
  /** Starts it again on the same ports and data, and waits until it is healthy. */
  restart(): Promise<void>;
  /** Compacts history up to revision, through etcdctl. */
  compact(revision: number): Promise<void>;
  /** Kills it and removes its data. Idempotent. */
  dispose(): Promise<void>;
}

/** Milliseconds etcd may take to become healthy. */
const START_MS = 15000;
const live = new Set<{ child?: ChildProcess; dir: string }>();

// Whatever a failed test left running or on disk goes with the test process.
process.on('exit', () => {
  for (const s of live) {
    if (s.child?.exitCode === null) s.child.kill('SIGKILL');
    fs.rmSync(s.dir, { recursive: true, force: true });
  }
});

/** True when Debian's etcd binary is installed. */
export function haveEtcd(): boolean {
  return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** In a mocha before(): skips the suite with one line when there is no etcd binary. */
export function skipWithoutEtcd(ctx: Mocha.Context): void {
  if (haveEtcd()) return;
  process.stdout.write('      skipped: no etcd binary (apt-get install etcd-server)\n');
  ctx.skip();
}

/** A port free on ip now (etcd binds it a moment later; collisions are the tests' problem to retry). */
function freePort(ip: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, ip, () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** GET /health answers {"health":"true"} (over TLS with the client certificate when tls is given). */
function healthy(host: string, port: number, tls?: EtcdOptions['tls']): Promise<boolean> {
  return new Promise((resolve) => {
    const opts = { host, port, path: '/health', timeout: 1000 };
    const onResponse = (res: http.IncomingMessage) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(/"health":\s*"true"/.test(body)));
    };
    const req = tls
      ? https.get({ ...opts, servername: '', ca: fs.readFileSync(tls.ca), cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) }, onResponse)
      : http.get(opts, onResponse);
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
  });
}

function waitExit(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts a single-member etcd and waits until it is healthy. */
export async function startEtcd(opts: EtcdOptions = {}): Promise<EtcdServer> {
  const ip = opts.listenIp ?? '127.0.0.1';
  const host = ip.includes(':') ? `[${ip}]` : ip;
  const [clientPort, peerPort] = [await freePort(ip), await freePort(ip)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsnet-etcd-'));
  const state: { child?: ChildProcess; dir: string } = { dir };
  live.add(state);
  const client = `${opts.tls ? 'https' : 'http'}://${host}:${clientPort}`;
  const tlsFlags = opts.tls
    ? ['--cert-file', opts.tls.cert, '--key-file', opts.tls.key, '--trusted-ca-file', opts.tls.ca, '--client-cert-auth']
    : [];
  const peer = `http://${host}:${peerPort}`;
  const args = [
    '--name', 'tsnet-test', '--data-dir', path.join(dir, 'data'),
    '--listen-client-urls', client, '--advertise-client-urls', client,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
    '--initial-cluster', `tsnet-test=${peer}`, '--initial-cluster-state', 'new',
    // Shorter raft timers: a restarted single member elects itself sooner; the lease minimum stays ≤ 2 s.
    '--heartbeat-interval', '50', '--election-timeout', '500',
    '--logger', 'zap', '--log-outputs', path.join(dir, 'etcd.log'),
    ...tlsFlags,
    ...(opts.flags ?? []),
  ];
  const launch = async () => {
    state.child = spawn('etcd', args, { stdio: 'ignore' });
    const deadline = Date.now() + START_MS;
    while (!(await healthy(ip, clientPort, opts.tls))) {
      if (state.child.exitCode !== null || Date.now() > deadline) {
        const log = fs.existsSync(path.join(dir, 'etcd.log')) ? fs.readFileSync(path.join(dir, 'etcd.log'), 'utf8').split('\n').slice(-5).join('\n') : '';
        state.child.kill('SIGKILL');
        throw new Error(`etcd on ${client} did not become healthy (exit ${state.child.exitCode}):\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const signal = async (sig: NodeJS.Signals) => {
    const child = state.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    if (sig !== 'SIGKILL') child.kill('SIGCONT'); // a frozen server cannot act on SIGTERM
    child.kill(sig);
    await waitExit(child);
  };
  await launch();
  return {
    endpoint: `${host}:${clientPort}`,
    url: (prefix = '') => `etcd://${host}:${clientPort}${prefix ? `/${prefix}` : ''}`,
    dataDir: path.join(dir, 'data'),
    stop: () => signal('SIGTERM'),
    kill: () => signal('SIGKILL'),
    freeze: () => { state.child?.kill('SIGSTOP'); },
    resume: () => { state.child?.kill('SIGCONT'); },
    restart: async () => { await signal('SIGTERM'); await launch(); },
    compact: (revision) => new Promise((resolve, reject) => {
      const tls = opts.tls ? ['--cacert', opts.tls.ca, '--cert', opts.tls.cert, '--key', opts.tls.key] : [];
      execFile('etcdctl', ['--endpoints', client, ...tls, 'compact', String(revision), '--physical'], { env: { ...process.env, ETCDCTL_API: '3' } },
        (err, _out, stderr) => (err ? reject(new Error(`etcdctl compact ${revision}: ${stderr.trim() || err.message}`)) : resolve()));
    }),
    dispose: async () => {
      await signal('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
      live.delete(state);
    },
  };
}
