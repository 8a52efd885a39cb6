/**
 * Servers are reused: every scenario whose server has the same implementation
 * and the same settings talks to the same running server (connections are
 * told apart by the client's port). Everything started is closed by
 * `closeAllServers()`, which the AfterAll hook calls, failed run or not.
 */
import type { RunningServer, ServerImplementation } from './peers/types';
import type { ServerSettings } from './vocabulary';

const running = new Map<string, Promise<RunningServer>>();

function keyOf(implementation: string, settings: ServerSettings): string {
  return JSON.stringify([implementation, Object.entries(settings).sort(([a], [b]) => a.localeCompare(b))]);
}

export async function acquireServer(implementation: ServerImplementation, settings: ServerSettings): Promise<RunningServer> {
  const key = keyOf(implementation.name, settings);
  let server = running.get(key);
  if (!server) {
    server = implementation.start(settings);
    running.set(key, server);
    // A configuration the implementation refuses is not cached: the next scenario gets the same error afresh.
    server.catch(() => running.delete(key));
  }
  return server;
}

export async function closeAllServers(): Promise<void> {
  const servers = [...running.values()];
  running.clear();
  await Promise.all(servers.map(async (server) => (await server.catch(() => null))?.close()));
}

export function runningServerCount(): number {
  return running.size;
}
