/**
 * The implementations the harness can drive. Features and steps never name
 * an implementation: the run chooses the pairs (`--servers`, `--clients`),
 * and each adapter translates the documents' vocabulary for its own end.
 */
import { HarnessInputError } from '../errors';
import { apacheServer } from './apache-server';
import { axiosClient } from './axios-client';
import { chromiumClient } from './chromium';
import { curlClient, opensslClient } from './command-clients';
import { gnutlsClient, gnutlsServer } from './gnutls';
import { goClient, goServer } from './go';
import { nginxServer } from './nginx-server';
import { nodeServer } from './node-server';
import { opensslServer } from './openssl-server';
import { pythonContextClient, pythonContextServer, pythonEventletServer, requestsClient } from './python-adapters';
import type { ClientImplementation, ServerImplementation } from './types';

export const SERVERS: Readonly<Record<string, ServerImplementation>> = {
  node: nodeServer,
  'python-eventlet': pythonEventletServer,
  'python-context': pythonContextServer,
  openssl: opensslServer,
  nginx: nginxServer,
  apache: apacheServer,
  go: goServer,
  gnutls: gnutlsServer,
};
export const CLIENTS: Readonly<Record<string, ClientImplementation>> = {
  axios: axiosClient,
  requests: requestsClient,
  'python-context': pythonContextClient,
  openssl: opensslClient,
  curl: curlClient,
  go: goClient,
  gnutls: gnutlsClient,
  chromium: chromiumClient,
};

/** An implementation chosen for a run, with the version detected at start. */
export interface Chosen {
  readonly name: string;
  readonly version: string;
}

/** An implementation that was asked for (or is a default) and is missing here. */
export interface Missing {
  readonly end: 'server' | 'client';
  readonly name: string;
  readonly hint: string;
}

function pick<T>(kind: string, table: Readonly<Record<string, T>>, name: string): T {
  const found = table[name];
  if (!found) throw new HarnessInputError(`unknown ${kind} implementation ${JSON.stringify(name)} (available: ${Object.keys(table).join(', ')})`);
  return found;
}

export const serverImplementation = (name: string): ServerImplementation => pick('server', SERVERS, name);
export const clientImplementation = (name: string): ClientImplementation => pick('client', CLIENTS, name);

/** Detect the named implementations (all of them by default) at once; split into chosen and missing. */
export async function detectImplementations(servers: readonly string[], clients: readonly string[]): Promise<{ servers: Chosen[]; clients: Chosen[]; missing: Missing[] }> {
  const missing: Missing[] = [];
  const detect = async (end: 'server' | 'client', names: readonly string[]): Promise<Chosen[]> => {
    const found = await Promise.all(names.map(async (name) => [name, await (end === 'server' ? serverImplementation(name) : clientImplementation(name)).detect()] as const));
    const chosen: Chosen[] = [];
    for (const [name, availability] of found) {
      if (availability.available) chosen.push({ name, version: availability.version });
      else missing.push({ end, name, hint: availability.hint });
    }
    return chosen;
  };
  const [s, c] = await Promise.all([detect('server', servers), detect('client', clients)]);
  return { servers: s, clients: c, missing };
}
