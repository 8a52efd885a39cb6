/** One connection attempt between two implementations, observed from both ends. */
import { performance } from 'node:perf_hooks';
import { classify } from './outcome/classify';
import type { Outcome } from './outcome/vocabulary';
import type { ClientImplementation, RunningServer } from './peers/types';
import type { ClientSettings } from './vocabulary';

/** How long to wait for the server to finish with a connection the client is done with. */
const SERVER_SETTLE_MS = 1000;

export async function attemptConnection(server: RunningServer, client: ClientImplementation, settings: ClientSettings): Promise<Outcome> {
  const started = performance.now();
  const clientSide = await client.attempt({ host: server.host, port: server.port }, settings);
  const durationMs = performance.now() - started;
  const serverSide = await server.observe(clientSide.localPort, SERVER_SETTLE_MS);
  return classify(clientSide, serverSide, Math.round(durationMs * 100) / 100);
}
