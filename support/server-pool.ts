/**
 * Servers are reused: every scenario whose server has the same implementation
 * and the same settings talks to the same running server (connections are
 * told apart by the client's port). Everything started is closed by
 * `closeAllServers()`, which the AfterAll hook calls, failed run or not.
 */
import type { RunningServer, ServerImplementation } from './peers/types';
import { UnsupportedSetting } from './errors';
import { declaredView, undeclaredSetting } from './peers/declared';
import type { ServerSettings } from './vocabulary';

const running = new Map<string, Promise<RunningServer>>();
/** Servers that belong to one scenario only, by scenario. */
const scenarioOnly = new Map<string, Set<string>>();

function keyOf(implementation: string, settings: ServerSettings, scenario: string | null): string {
  return JSON.stringify([implementation, Object.entries(settings).sort(([a], [b]) => a.localeCompare(b)), scenario]);
}

/**
 * The running server for these settings, started if needed. A server its
 * implementation calls not reusable is shared only within `scenario`.
 */
export async function acquireServer(implementation: ServerImplementation, given: ServerSettings, scenario = ''): Promise<RunningServer> {
  // A setting the implementation does not declare is not dropped: the server is not started (UnsupportedSetting).
  const missing = undeclaredSetting(given, implementation.supports);
  if (missing) throw new UnsupportedSetting(implementation.name, missing);
  const settings = declaredView(implementation.name, 'server', given, implementation.supports);
  const shared = implementation.reusable?.(settings) ?? true;
  const key = keyOf(implementation.name, settings, shared ? null : scenario);
  if (!shared) scenarioOnly.set(scenario, (scenarioOnly.get(scenario) ?? new Set()).add(key));
  let server = running.get(key);
  if (!server) {
    server = implementation.start(settings);
    running.set(key, server);
    // A configuration the implementation refuses is not cached: the next scenario gets the same error afresh.
    server.catch(() => running.delete(key));
  }
  return server;
}

/** Close the servers that belonged to one scenario only. */
export async function closeScenarioServers(scenario: string): Promise<void> {
  const keys = scenarioOnly.get(scenario) ?? new Set();
  scenarioOnly.delete(scenario);
  await Promise.all(
    [...keys].map(async (key) => {
      const server = running.get(key);
      running.delete(key);
      await (await server?.catch(() => null))?.close();
    }),
  );
}

export async function closeAllServers(): Promise<void> {
  const servers = [...running.values()];
  running.clear();
  await Promise.all(servers.map(async (server) => (await server.catch(() => null))?.close()));
}

export function runningServerCount(): number {
  return running.size;
}
