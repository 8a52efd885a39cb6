/**
 * Short-lived programs (curl, openssl s_client, gnutls-cli: one process per
 * attempt) are started by a small helper process, not by the harness itself.
 * Starting a program forks its parent first, and forking the harness, with
 * hundreds of MB of memory mapped, cost ~6 ms of CPU per program (measured:
 * half the busy time of a serial run was ChildProcess.spawn); the helper's
 * fork costs a small part of that. What runs, its input, output, exit status
 * and timeout are unchanged.
 *
 * The helper is one per process (`node -e`, plain JavaScript: no transpiling),
 * started when first needed and tracked like every other process: on SIGTERM,
 * or when the harness goes away (its IPC channel closes), it kills what it
 * started and exits. A helper that cannot start is an error of the harness.
 */
import type { ChildProcess } from 'node:child_process';
import { mayStartProcesses, spawnTracked } from './processes';

export interface Ran {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
  readonly timedOut: boolean;
}

interface Request {
  readonly command: string;
  readonly args: readonly string[];
  readonly input: string;
  readonly timeoutMs: number;
  readonly keepInputOpen: boolean;
  readonly env?: NodeJS.ProcessEnv;
}

/** The helper: runs each request's program to its end and answers with what it printed. */
const HELPER = `
const { spawn } = require('node:child_process');
const running = new Set();
// Stop what runs and reap it before leaving: an exited parent's zombies may never be reaped (a container's pid 1).
const stopAll = () => {
  for (const child of running) { try { child.kill('SIGKILL'); } catch {} }
  const leave = () => (running.size === 0 ? process.exit(0) : setTimeout(leave, 5));
  setTimeout(() => process.exit(0), 1000).unref();
  leave();
};
process.on('disconnect', stopAll);
process.on('SIGTERM', stopAll);
process.on('SIGINT', stopAll); // Ctrl-C reaches the whole process group: this helper stops with the rest
process.on('message', (m) => {
  let done = false;
  const answer = (ran) => { if (done) return; done = true; if (process.connected) process.send({ id: m.id, ...ran }); };
  let child;
  try {
    // The environment: this helper's (the harness's when it started), with the request's changes.
    const env = { ...process.env };
    for (const [name, value] of Object.entries(m.envChanges || {})) { if (value === null) delete env[name]; else env[name] = value; }
    child = spawn(m.command, m.args, { stdio: ['pipe', 'pipe', 'pipe'], env });
  } catch (error) {
    answer({ stdout: '', stderr: String(error && error.message), code: null, timedOut: false });
    return;
  }
  running.add(child);
  let stdout = '';
  let stderr = '';
  let timedOut = false;
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, m.timeoutMs);
  child.stdout.on('data', (chunk) => (stdout += chunk.toString('latin1')));
  child.stderr.on('data', (chunk) => (stderr += chunk.toString('latin1')));
  child.stdin.on('error', () => undefined); // the program may exit before reading its input
  if (m.keepInputOpen) child.stdin.write(m.input); else child.stdin.end(m.input);
  child.once('close', (code) => { clearTimeout(timer); running.delete(child); child.stdin.destroy(); answer({ stdout, stderr, code, timedOut }); });
  child.once('error', (error) => { clearTimeout(timer); running.delete(child); answer({ stdout, stderr: stderr + error.message, code: null, timedOut }); });
});
process.send({ ready: true });
`;

class Spawner {
  private next = 1;
  private readonly pending = new Map<number, (ran: Ran) => void>();

  private constructor(
    private readonly child: ChildProcess,
    /** The environment the helper started with: requests send only what differs from it. */
    private readonly baseEnv: NodeJS.ProcessEnv,
  ) {
    child.on('message', (message: { id?: number } & Ran) => {
      const resolve = message.id === undefined ? undefined : this.pending.get(message.id);
      if (!resolve) return;
      this.pending.delete(message.id!);
      if (this.pending.size === 0) this.channel?.unref?.(); // an idle helper keeps no process alive
      resolve({ stdout: message.stdout, stderr: message.stderr, code: message.code, timedOut: message.timedOut });
    });
    child.once('exit', () => {
      helper = undefined;
      for (const resolve of this.pending.values()) resolve({ stdout: '', stderr: 'the harness helper that starts programs exited', code: null, timedOut: false });
      this.pending.clear();
    });
  }

  static start(): Promise<Spawner> {
    return new Promise((resolve, reject) => {
      const baseEnv = { ...process.env };
      const child = spawnTracked(process.execPath, ['-e', HELPER], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: baseEnv });
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the helper that starts programs exited (${code})`)));
      child.once('message', () => {
        // Ready: from now on an idle helper keeps no process alive (its channel is held only while a program runs).
        (child.channel as { unref?: () => void } | undefined)?.unref?.();
        resolve(new Spawner(child, baseEnv));
      });
      child.unref();
    });
  }

  private get channel(): { ref?: () => void; unref?: () => void } | undefined {
    return this.child.channel as { ref?: () => void; unref?: () => void } | undefined;
  }

  run(request: Request): Promise<Ran> {
    const id = this.next++;
    return new Promise((resolve) => {
      if (this.pending.size === 0) this.channel?.ref?.(); // a program is running: its answer is awaited
      this.pending.set(id, resolve);
      // Only what differs from the helper's environment crosses (the whole of it, per program, cost more than the program's start).
      const { env = process.env, ...rest } = request;
      const envChanges: Record<string, string | null> = {};
      for (const [name, value] of Object.entries(env)) if (value !== undefined && this.baseEnv[name] !== value) envChanges[name] = value;
      for (const name of Object.keys(this.baseEnv)) if (env[name] === undefined) envChanges[name] = null;
      this.child.send({ id, ...rest, envChanges });
    });
  }
}

let helper: Promise<Spawner> | undefined;

/** The helper of this process: started when first needed, again after it exited or failed to start. */
function spawner(): Promise<Spawner> {
  helper ??= Spawner.start();
  helper.catch(() => (helper = undefined));
  return helper;
}

/**
 * Run a program to its end (killed after `timeoutMs`), feeding it `input`; with `keepInputOpen` its stdin stays
 * open until it exits (gnutls-cli ends the connection when its input ends).
 */
export async function runProgram(command: string, args: readonly string[], input: string, timeoutMs: number, options: { keepInputOpen?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  if (!mayStartProcesses()) throw new Error('the run is being interrupted: no new process is started');
  const request: Request = { command, args, input, timeoutMs, keepInputOpen: options.keepInputOpen ?? false, ...(options.env ? { env: options.env } : {}) };
  return (await spawner()).run(request);
}
