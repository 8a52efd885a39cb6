/**
 * Every process the harness starts (the Python peer, nginx, apache,
 * openssl s_server, curl...) is started here and stopped here: on normal
 * exit, on SIGINT/SIGTERM, and by `stopAllProcesses()` from the AfterAll hook.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const running = new Set<ChildProcess>();
/** Children started with `detached: true`: each leads a process group of its own, and is signalled with its whole group. */
const groups = new WeakSet<ChildProcess>();
let installed = false;
/** Set once the run is being interrupted: a scenario still running must not start a process nobody will reap. */
let refusing = false;

export function refuseNewProcesses(): void {
  refusing = true;
}

/** False once the run is being interrupted. */
export function mayStartProcesses(): boolean {
  return !refusing;
}

/** Signal a child, or its whole process group when it leads one (what it started is stopped with it). */
function signal(child: ChildProcess, name: NodeJS.Signals): void {
  try {
    if (groups.has(child) && child.pid !== undefined) process.kill(-child.pid, name);
    else child.kill(name);
  } catch {
    /* already gone */
  }
}

function killAll(name: NodeJS.Signals = 'SIGTERM'): void {
  for (const child of running) signal(child, name);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', () => killAll('SIGKILL'));
  // In Cucumber's workers nothing else handles these; the command line installs its own first.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    if (process.listenerCount(signal) === 0) {
      // `on`, not `once`: the same signal often arrives twice (to the process group, and passed on by the
      // command line); a second one must not end the process before its children are reaped.
      process.on(signal, () => {
        if (refusing) return;
        refuseNewProcesses();
        void stopAllProcesses(1000).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
      });
    }
  }
}

/**
 * Start a tracked process. With `detached: true` it leads a new process group,
 * and stopping it signals the whole group: for a program that starts others.
 */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  install();
  if (refusing) throw new Error('the run is being interrupted: no new process is started');
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...options });
  running.add(child);
  if (options.detached && process.platform !== 'win32') groups.add(child);
  child.once('exit', () => running.delete(child));
  child.once('error', () => running.delete(child));
  return child;
}

/** Stop a child and wait until it has exited (SIGKILL after `graceMs`). */
export function stopProcess(child: ChildProcess, graceMs = 2000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => signal(child, 'SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    signal(child, 'SIGTERM');
  });
}

/** What else must stop with the processes (browsers a library started): run first by stopAllProcesses. */
const stoppers = new Set<() => Promise<void>>();
export function alsoStop(stop: () => Promise<void>): void {
  stoppers.add(stop);
}

export async function stopAllProcesses(graceMs = 2000): Promise<void> {
  await Promise.all([...stoppers].map((stop) => stop().catch(() => undefined)));
  // Until none is left: a process started while the others were stopping is stopped too.
  while (running.size > 0) await Promise.all([...running].map((child) => stopProcess(child, graceMs)));
}

export function runningProcessCount(): number {
  return running.size;
}
