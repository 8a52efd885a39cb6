/**
 * Ctrl-C (or a CI runner's SIGTERM) must leave nothing running. Servers live
 * in this process and in Cucumber's worker processes; on a signal we pass it
 * on to every child, wait (briefly) until they are gone and reaped, then exit.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { refuseNewProcesses } from '../processes';

/** Longer than a worker needs to stop its own children (processes.ts gives each one second), so that it can reap them. */
const GRACE_MS = 8000;

function childPids(): number[] {
  const pids: number[] = [];
  try {
    for (const task of readdirSync('/proc/self/task')) {
      const text = readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim();
      if (text) pids.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* no /proc: nothing more we can do than exit */
  }
  return pids;
}

export function exitCleanlyOnSignals(onSignal: (signal: NodeJS.Signals) => void): void {
  const handle = async (signal: NodeJS.Signals): Promise<void> => {
    onSignal(signal);
    // Scenarios running in this process (without --parallel) must not start new peers from now on.
    refuseNewProcesses();
    for (const pid of childPids()) {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
    const deadline = Date.now() + GRACE_MS;
    while (childPids().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const pid of childPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return; // a second Ctrl-C while children are stopping changes nothing
      stopping = true;
      void handle(signal);
    });
  }
}
