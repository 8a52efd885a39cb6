/**
 * One combination of parameters, attempted for every implementation pair of
 * the run. Pairs that share a server implementation use one server, one
 * client after another (so each end's evidence belongs to one attempt);
 * different server implementations work at the same time.
 */
import { connect } from 'node:net';
import { attemptConnection } from './attempt';
import { ConfigurationError, UnsupportedSetting } from './errors';
import type { Decryption } from './observer/decrypt-tls12';
import type { Recording } from './observer/relay';
import type { Expectation } from './expectation';
import type { Outcome } from './outcome/vocabulary';
import { clientImplementation, serverImplementation, type Chosen } from './peers/registry';
import { acquireServer } from './server-pool';
import { prepareClient } from './attempt';
import type { ClientSettings, ServerSettings } from './vocabulary';

export interface Check {
  /** The expectation's words. */
  readonly expected: string;
  /** The expectation as data: what deviations match on. */
  readonly expectation: Expectation;
  /** `not supported`: the pair could not run the combination (PairAttempt.unsupported), or an end does not report what the check asks about. */
  readonly verdict: 'held' | 'violated' | 'deviation' | 'not supported';
  readonly actual?: string;
  /** The deviation that explains a failed expectation. */
  readonly deviation?: { readonly id: string; readonly reason: string };
  /** A listed deviation that did not happen: the expectation held. */
  readonly staleDeviation?: string;
}

export interface PairAttempt {
  readonly server: Chosen;
  readonly client: Chosen;
  readonly outcome?: Outcome;
  /** What the passive observer recorded, when the scenario asked for one. */
  readonly recording?: Recording;
  /** The server (or client) refused its configuration. */
  readonly refusal?: ConfigurationError;
  readonly refusedBy?: 'server' | 'client';
  /** An end does not implement a setting the combination gives: nothing was attempted. */
  readonly unsupported?: UnsupportedSetting;
  /** The recording decrypted with the server's leaked private key (or why it could not be). */
  decryption?: Decryption;
  readonly checks: Check[];
}

export interface Pair {
  readonly server: Chosen;
  readonly client: Chosen;
}

export async function attemptPairs(
  pairs: readonly Pair[],
  serverSettings: ServerSettings,
  clientSettings: ClientSettings,
  scenario: string,
  options: { observe?: boolean } = {},
): Promise<PairAttempt[]> {
  // Clients that take long to get ready (a browser to launch) start now, while the others' attempts run.
  for (const name of new Set(pairs.map((pair) => pair.client.name))) {
    const client = clientImplementation(name);
    if (!client.unsupportedServer?.(serverSettings)) prepareClient(client, clientSettings);
  }
  const byServer = new Map<string, Pair[]>();
  for (const pair of pairs) byServer.set(pair.server.name, [...(byServer.get(pair.server.name) ?? []), pair]);
  const groups = await Promise.all(
    [...byServer.values()].map(async (group) => {
      const attempts: PairAttempt[] = [];
      let server;
      try {
        server = await acquireServer(serverImplementation(group[0]!.server.name), serverSettings, scenario);
      } catch (error) {
        if (error instanceof UnsupportedSetting) return group.map((pair) => ({ ...pair, unsupported: error, checks: [] }));
        if (!(error instanceof ConfigurationError)) throw error;
        return group.map((pair) => ({ ...pair, refusal: error, refusedBy: 'server' as const, checks: [] }));
      }
      for (const pair of group) {
        const client = clientImplementation(pair.client.name);
        const cannot = client.unsupportedServer?.(serverSettings);
        if (cannot) {
          attempts.push({ ...pair, unsupported: new UnsupportedSetting(client.name, 'cert_reqs', cannot), checks: [] });
          continue;
        }
        try {
          attempts.push({ ...pair, ...(await attemptConnection(server, client, clientSettings, options)), checks: [] });
        } catch (error) {
          if (error instanceof UnsupportedSetting) attempts.push({ ...pair, unsupported: error, checks: [] });
          else if (!(error instanceof ConfigurationError)) throw error;
          else attempts.push({ ...pair, refusal: error, refusedBy: 'client', checks: [] });
        }
      }
      return attempts;
    }),
  );
  // Report in the order the pairs were given.
  const all = groups.flat();
  return pairs.map((pair) => all.find((a) => a.server.name === pair.server.name && a.client.name === pair.client.name)!);
}

/** Open a TCP connection to each pair's server and close it at once, without a byte of TLS. */
export async function connectAndCloseBare(pairs: readonly Pair[], serverSettings: ServerSettings, scenario: string): Promise<void> {
  const names = [...new Set(pairs.map((pair) => pair.server.name))];
  await Promise.all(
    names.map(async (name) => {
      let server;
      try {
        server = await acquireServer(serverImplementation(name), serverSettings, scenario);
      } catch (error) {
        // Not run on this server: the attempt that follows records why.
        if (error instanceof UnsupportedSetting) return;
        throw error;
      }
      const localPort = await new Promise<number | null>((resolve) => {
        let port: number | null = null;
        const socket = connect(server.port, server.host, () => {
          port = socket.localPort ?? null;
          socket.destroy();
        });
        socket.once('close', () => resolve(port));
        socket.once('error', () => resolve(port));
      });
      // The server's record of it is taken now: left in place, the next attempt that cannot say its port would be given it.
      if (localPort !== null) await server.observe(localPort, 300).catch(() => undefined);
    }),
  );
  // Give the server the moment it needs to notice.
  await new Promise((resolve) => setTimeout(resolve, 200));
}
