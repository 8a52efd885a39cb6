/**
 * A client that refuses its own settings: the attempt waits for a stray
 * connection only where one can exist (curl connects before it sets its
 * cipher list), and no client leaves a connection for the next attempt to be
 * given as its own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { attemptConnection } from '../support/attempt';
import { ConfigurationError, UnsupportedSetting } from '../support/errors';
import { closeChromium } from '../support/peers/chromium';
import { closeGoPeer } from '../support/peers/go';
import { nodeServer } from '../support/peers/node-server';
import { closePythonPeer } from '../support/peers/python-peer';
import { CLIENTS, detectImplementations } from '../support/peers/registry';
import type { RunningServer } from '../support/peers/types';
import { loadPki, profileFiles } from '../support/pki';
import { DEFAULT_CLIENT, DEFAULT_SERVER } from '../support/vocabulary';

describe('a client refusing its settings', () => {
  let server: RunningServer;
  let clients: string[] = [];

  before(async () => {
    await loadPki();
    server = await nodeServer.start({ ...DEFAULT_SERVER, certfile: profileFiles('localhost').cert, keyfile: profileFiles('localhost').key });
    clients = (await detectImplementations(['node'], Object.keys(CLIENTS))).clients.map((c) => c.name);
  });
  after(async () => {
    await server.close();
    await Promise.all([closeChromium(), closeGoPeer(), closePythonPeer()]);
  });

  it('leaves no connection behind for the next attempt, and only curl is waited for', async () => {
    const required = process.env.TLS_CONFORMANCE_REQUIRE_ALL === '1';
    if (required) assert.deepEqual(clients.sort(), Object.keys(CLIENTS).sort(), 'every client is installed');
    for (const client of clients) {
      let refusal: unknown;
      try {
        await attemptConnection(server, CLIENTS[client]!, { ...DEFAULT_CLIENT, verify: profileFiles('server-ca').cert, ciphers: 'RC4' });
      } catch (error) {
        refusal = error;
      }
      assert.ok(refusal instanceof ConfigurationError || refusal instanceof UnsupportedSetting, `${client} refuses RC4: ${String(refusal)}`);
      assert.equal(refusal instanceof ConfigurationError && refusal.afterConnecting === true, client === 'curl', `${client}: connected before refusing`);
      const stray = await server.observe(null, 300);
      assert.equal(stray.accepted, false, `${client} left a connection the next attempt would be given`);
    }
  });
});
