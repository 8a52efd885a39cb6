/**
 * The implementations the harness can drive. Issue by issue, more adapters
 * join these two lists; features and steps never name an implementation.
 */
import { HarnessInputError } from '../errors';
import { axiosClient } from './axios-client';
import { nodeServer } from './node-server';
import type { ClientImplementation, ServerImplementation } from './types';

export const SERVERS: Readonly<Record<string, ServerImplementation>> = { node: nodeServer };
export const CLIENTS: Readonly<Record<string, ClientImplementation>> = { axios: axiosClient };

export const DEFAULT_SERVER_IMPLEMENTATION = 'node';
export const DEFAULT_CLIENT_IMPLEMENTATION = 'axios';

function pick<T>(kind: string, table: Readonly<Record<string, T>>, name: string): T {
  const found = table[name];
  if (!found) throw new HarnessInputError(`unknown ${kind} implementation ${JSON.stringify(name)} (available: ${Object.keys(table).join(', ')})`);
  return found;
}

export const serverImplementation = (name: string): ServerImplementation => pick('server', SERVERS, name);
export const clientImplementation = (name: string): ClientImplementation => pick('client', CLIENTS, name);
