/** The Docker plugin as a separate process (node build/plugins/docker/main.js), as it runs beside a real engine. */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Compiled standalone entry point. */
const MAIN = path.join(__dirname, '..', '..', '..', 'plugins', 'docker', 'main.js');

/**
 * A plugin process with the test's state directory; logs go to logFile. It serves the default socket
 * unless args say otherwise (`['--driver', 'macvlan']`: the tsnet-macvlan socket beside it).
 */
export class PluginProcess {
  private proc?: ChildProcess;

  constructor(private readonly logFile: string, private readonly args: string[] = []) {}

  /** Starts the plugin (unless it runs) and resolves once it serves its socket. */
  async start(): Promise<void> {
    if (this.proc && this.proc.exitCode === null && this.proc.signalCode === null) return;
    const log = fs.openSync(this.logFile, 'a');
    const proc = spawn(process.execPath, [MAIN, ...this.args], { stdio: ['ignore', log, 'pipe'], env: { ...process.env, TSNET_DEBUG: 'tsnet:plugins:docker,tsnet:controller:*' } });
    fs.closeSync(log);
    this.proc = proc;
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`docker plugin did not start: ${seen}`)), 15_000);
      proc.stderr!.on('data', (d: Buffer) => {
        fs.appendFileSync(this.logFile, d);
        seen += d;
        if (seen.includes('tsnet docker plugin: serving')) {
          clearTimeout(timer);
          resolve();
        }
      });
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`docker plugin exited with ${code}: ${seen}`)); });
    });
  }

  /** Stops it: SIGTERM for a clean stop, SIGKILL for a crash (its socket file stays behind). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
    this.proc = undefined;
  }
}
