import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { attemptConnection } from '../support/attempt';
import { ConfigurationError } from '../support/errors';
import { axiosClient } from '../support/peers/axios-client';
import { nodeServer } from '../support/peers/node-server';
import { loadPki, profileFiles } from '../support/pki';
import { acquireServer, closeAllServers, runningServerCount } from '../support/server-pool';
import { DEFAULT_CLIENT, DEFAULT_SERVER, type ServerSettings } from '../support/vocabulary';

const refusesToConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', () => resolve(true));
  });

describe('node server and axios client', () => {
  let serving: ServerSettings;
  before(async () => {
    await loadPki();
    serving = { ...DEFAULT_SERVER, certfile: profileFiles('localhost').cert, keyfile: profileFiles('localhost').key };
  });
  after(closeAllServers);

  it('listens on 127.0.0.1 on a port the system chose', async () => {
    const server = await nodeServer.start(serving);
    try {
      assert.equal(server.host, '127.0.0.1');
      assert.ok(server.port > 0);
    } finally {
      await server.close();
    }
    assert.ok(await refusesToConnect(server.port), 'closed servers stop listening');
  });

  it('makes every attempt a fresh full handshake: a new connection and no resumed session', async () => {
    const server = await acquireServer(nodeServer, serving);
    const settings = { ...DEFAULT_CLIENT, verify: profileFiles('server-ca').cert };
    const ports = new Set<number>();
    for (let i = 0; i < 5; i++) {
      const { outcome } = await attemptConnection(server, axiosClient, settings);
      assert.equal(outcome.connected, true);
      assert.equal(outcome.sessionReused, false, `attempt ${i} resumed a session`);
      assert.equal(outcome.evidence.server.handshakeCompleted, true, 'the server saw its own handshake');
      ports.add(outcome.evidence.client.localPort!);
    }
    assert.equal(ports.size, 5, 'five attempts, five connections');
  });

  it('reuses one server for the same settings and closes them all at the end', async () => {
    const a = await acquireServer(nodeServer, serving);
    const b = await acquireServer(nodeServer, { ...serving });
    const c = await acquireServer(nodeServer, { ...serving, cert_reqs: 'CERT_OPTIONAL' });
    assert.equal(a, b);
    assert.notEqual(a, c);
    await closeAllServers();
    assert.equal(runningServerCount(), 0);
    assert.ok(await refusesToConnect(a.port));
    assert.ok(await refusesToConnect(c.port));
  });

  it('reports refused configurations as errors naming the field', async () => {
    const refused = async (settings: ServerSettings, field: string, pattern: RegExp): Promise<void> => {
      await assert.rejects(nodeServer.start(settings), (e: Error) => e instanceof ConfigurationError && e.field === field && pattern.test(e.message));
    };
    await refused({ ...serving, ssl_version: '"ssl.PROTOCOL_TLSv1_2"' }, 'ssl_version', /is the string/);
    await refused({ ...serving, ssl_version: 'ssl.PROTOCOL_TLS_CLIENT' }, 'ssl_version', /server-side/);
    await refused({ ...serving, certfile: profileFiles('mismatched-key').cert, keyfile: profileFiles('mismatched-key').key }, 'keyfile', /does not match/);
    await refused({ ...serving, certfile: '/nonexistent/cert.pem' }, 'certfile', /no such file/);
    await refused({ ...serving, keyfile: profileFiles('localhost').cert }, 'keyfile', /holds no PEM private key/);
    await refused({ ...serving, ciphers: 'NO-SUCH-CIPHER' }, 'ciphers', /no cipher matches/);
  });

  it('pins versions from ssl_version and the version bounds', async () => {
    const settings = { ...DEFAULT_CLIENT, verify: profileFiles('server-ca').cert };
    const tls12 = await acquireServer(nodeServer, { ...serving, ssl_version: 'ssl.PROTOCOL_TLSv1_2' });
    assert.equal((await attemptConnection(tls12, axiosClient, settings)).outcome.protocol, 'TLSv1.2');
    const tls13 = await acquireServer(nodeServer, { ...serving, minimum_version: 'TLSv1_3' });
    assert.equal((await attemptConnection(tls13, axiosClient, settings)).outcome.protocol, 'TLSv1.3');
    const { outcome: refused } = await attemptConnection(tls12, axiosClient, { ...settings, minimum_version: 'TLSv1_3' });
    assert.equal(refused.connected, false);
    assert.equal(refused.reason, 'protocol_version');
  });
});
