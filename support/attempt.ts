/** One connection attempt between two implementations, observed from both ends (and, on request, from the wire). */
import { performance } from 'node:perf_hooks';
import { Relay, type Recording } from './observer/relay';
import { classify } from './outcome/classify';
import type { Outcome } from './outcome/vocabulary';
import type { ClientImplementation, RunningServer } from './peers/types';
import { ConfigurationError, UnsupportedSetting } from './errors';
import { declaredView, undeclaredSetting } from './peers/declared';
import type { ClientSettings } from './vocabulary';

/** How long to wait for the server to finish with a connection the client is done with. */
const SERVER_SETTLE_MS = 1000;

export interface Attempt {
  readonly outcome: Outcome;
  /** What a passive observer between the two recorded, when one was asked for. */
  readonly recording?: Recording;
}

/** Let a client get ready for these settings in the background (only when it declares every one given). */
export function prepareClient(client: ClientImplementation, given: ClientSettings): void {
  if (!client.prepare || undeclaredSetting(given, client.supports)) return;
  try {
    client.prepare(declaredView(client.name, 'client', given, client.supports));
  } catch {
    // The attempt reports it.
  }
}

export async function attemptConnection(server: RunningServer, client: ClientImplementation, given: ClientSettings, options: { observe?: boolean } = {}): Promise<Attempt> {
  // A setting the client does not declare is not dropped: there is no attempt (UnsupportedSetting).
  const missing = undeclaredSetting(given, client.supports);
  if (missing) throw new UnsupportedSetting(client.name, missing);
  const settings = declaredView(client.name, 'client', given, client.supports);
  const relay = options.observe ? await Relay.start(server.port) : undefined;
  try {
    const started = performance.now();
    let clientSide;
    try {
      clientSide = await client.attempt({ host: server.host, port: relay?.port ?? server.port }, settings);
    } catch (error) {
      // A client that refused its settings after opening the TCP connection (curl, which then fails to set its cipher
      // list): take that connection's record now, or the next attempt would be given it. The other clients refuse
      // before connecting, and waiting for a connection that never comes would cost every refusal 200 ms.
      if (error instanceof ConfigurationError && error.afterConnecting) await server.observe(null, 200);
      throw error;
    }
    const durationMs = performance.now() - started;
    // Through the relay the server sees the relay's port, not the client's: it is asked for its oldest connection.
    const serverSide = await server.observe(relay ? null : clientSide.localPort, SERVER_SETTLE_MS);
    const recording = (await relay?.take()) ?? undefined;
    return { outcome: classify(clientSide, serverSide, Math.round(durationMs * 100) / 100), ...(recording ? { recording } : {}) };
  } finally {
    await relay?.close();
  }
}
