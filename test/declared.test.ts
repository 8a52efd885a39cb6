/**
 * Adapters declare what they support (support/peers/declared.ts): every
 * implementation of the registry lists its settings, all of them in the
 * vocabulary; a setting given that an adapter does not declare is never
 * dropped (the pair is "not supported by <implementation>: <setting>"); and
 * an adapter that reads a setting it did not declare fails.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { attemptConnection } from '../support/attempt';
import { UnsupportedSetting } from '../support/errors';
import { attemptPairs } from '../support/pairs';
import { declaredView, NEUTRAL, UndeclaredRead, undeclaredSetting, VOCABULARY_FIELDS } from '../support/peers/declared';
import { axiosClient } from '../support/peers/axios-client';
import { nodeServer } from '../support/peers/node-server';
import { CLIENTS, SERVERS } from '../support/peers/registry';
import type { ClientImplementation, ServerImplementation } from '../support/peers/types';
import { loadPki, profileFiles } from '../support/pki';
import { acquireServer, closeAllServers, runningServerCount } from '../support/server-pool';
import { DEFAULT_CLIENT, DEFAULT_SERVER, type ClientSettings, type ServerSettings } from '../support/vocabulary';

describe('adapters declare the settings they implement', () => {
  let serving: ServerSettings;
  let verifying: ClientSettings;
  before(async () => {
    await loadPki();
    serving = { ...DEFAULT_SERVER, certfile: profileFiles('localhost').cert, keyfile: profileFiles('localhost').key };
    verifying = { ...DEFAULT_CLIENT, verify: profileFiles('server-ca').cert };
  });
  after(closeAllServers);

  it('every implementation of the grid lists its settings, all of them words of the vocabulary, with the ones no attempt can go without', () => {
    for (const [name, server] of Object.entries(SERVERS)) {
      assert.ok(server.supports.length > 0, name);
      for (const field of server.supports) assert.ok((VOCABULARY_FIELDS.server as readonly string[]).includes(field), `${name} server: ${field}`);
      for (const field of ['certfile', 'keyfile', 'ssl_version']) assert.ok((server.supports as readonly string[]).includes(field), `${name} server declares ${field}`);
    }
    for (const [name, client] of Object.entries(CLIENTS)) {
      for (const field of client.supports) assert.ok((VOCABULARY_FIELDS.client as readonly string[]).includes(field), `${name} client: ${field}`);
      for (const field of ['verify', 'server_hostname', 'timeout']) assert.ok((client.supports as readonly string[]).includes(field), `${name} client declares ${field}`);
    }
  });

  it('the vocabulary list names every setting (a new setting must be added to it)', () => {
    // Required<>: adding a field to ServerSettings or ClientSettings without listing it fails to compile here.
    const server: Record<keyof Required<ServerSettings>, true> = {
      certfile: true, keyfile: true, cert_reqs: true, ca_certs: true, ssl_version: true, minimum_version: true, maximum_version: true, ciphers: true, groups: true,
      server_preferred_order: true, as_written: true, alpn_protocols: true, npn_protocols: true, end_without_close_notify: true, do_handshake_on_connect: true, wrap_with: true, context: true,
    };
    const client: Record<keyof Required<ClientSettings>, true> = {
      verify: true, cert: true, server_hostname: true, timeout: true, minimum_version: true, maximum_version: true, ciphers: true, path: true, headers: true,
      alpn_protocols: true, suppress_ragged_eofs: true, ignore_unexpected_eof: true, context: true,
    };
    assert.deepEqual([...VOCABULARY_FIELDS.server].sort(), Object.keys(server).sort());
    assert.deepEqual([...VOCABULARY_FIELDS.client].sort(), Object.keys(client).sort());
  });

  it('a setting given at the value that asks for nothing is no reason to skip a pair', () => {
    assert.equal(undeclaredSetting({ ...DEFAULT_SERVER, as_written: false, do_handshake_on_connect: true }, ['ssl_version']), undefined);
    assert.equal(undeclaredSetting({ ...DEFAULT_SERVER, do_handshake_on_connect: false }, ['ssl_version']), 'do_handshake_on_connect');
    assert.equal(undeclaredSetting({ ...DEFAULT_CLIENT, suppress_ragged_eofs: NEUTRAL.suppress_ragged_eofs as boolean }, ['verify', 'server_hostname', 'timeout']), undefined);
  });

  it('fails an adapter that reads a setting it did not declare', () => {
    const view = declaredView('example', 'server', { ...serving, groups: 'X25519' }, ['certfile', 'keyfile', 'ssl_version']);
    assert.equal(view.certfile, serving.certfile);
    assert.deepEqual(Object.keys(view).sort(), ['certfile', 'keyfile', 'ssl_version'], 'the undeclared setting is not handed over');
    assert.throws(() => view.groups, (e: Error) => e instanceof UndeclaredRead && /example server adapter read groups, which it does not declare/.test(e.message));
    assert.throws(() => view.as_written, UndeclaredRead, 'a neutral setting is not handed over either');
    assert.deepEqual(JSON.parse(JSON.stringify(view)), { certfile: serving.certfile, keyfile: serving.keyfile, ssl_version: serving.ssl_version }, 'a view is sent to a peer as JSON');
  });

  it('an adapter that reads an undeclared setting fails the attempt, loudly', async () => {
    const nosy: ClientImplementation = { ...axiosClient, name: 'nosy', supports: ['verify', 'server_hostname', 'timeout'], attempt: (target, settings) => axiosClient.attempt(target, { ...settings, ciphers: settings.ciphers }) };
    const server = await acquireServer(nodeServer, serving);
    await assert.rejects(attemptConnection(server, nosy, verifying), UndeclaredRead);
  });

  it('does not start a server with a setting it does not declare, and says which', async () => {
    const before = runningServerCount();
    const limited: ServerImplementation = { ...nodeServer, name: 'limited', supports: ['certfile', 'keyfile', 'ssl_version'] };
    await assert.rejects(acquireServer(limited, { ...serving, groups: 'X25519' }), (e: Error) => e instanceof UnsupportedSetting && e.message === 'groups: not supported by limited: groups');
    assert.equal(runningServerCount(), before, 'nothing was started');
  });

  it('records the pair as not supported, naming the implementation and the setting, instead of running it without', async () => {
    const attempts = await attemptPairs(
      [
        { server: { name: 'python-context', version: 'x' }, client: { name: 'axios', version: 'x' } },
        { server: { name: 'node', version: 'x' }, client: { name: 'axios', version: 'x' } },
        { server: { name: 'node', version: 'x' }, client: { name: 'curl', version: 'x' } },
      ],
      { ...serving, groups: 'X25519' },
      { ...verifying, context: 'create_default_context' },
      'declared-test',
    );
    assert.equal(attempts[0]!.unsupported?.detail, 'not supported by python-context: groups');
    assert.equal(attempts[1]!.unsupported?.detail, 'not supported by axios: context');
    assert.equal(attempts[2]!.unsupported?.detail, 'not supported by curl: context');
    for (const attempt of attempts) assert.equal(attempt.outcome, undefined, 'nothing was attempted');
  });

  it('a client that cannot meet a server says why, and is not run against it (Chromium and a server asking for a certificate)', async () => {
    const chromium = CLIENTS.chromium!;
    assert.match(chromium.unsupportedServer?.({ ...serving, cert_reqs: 'CERT_REQUIRED' }) ?? '', /asks for a client certificate \(cert_reqs CERT_REQUIRED\)/);
    assert.equal(chromium.unsupportedServer?.({ ...serving, cert_reqs: 'CERT_NONE' }), undefined);
    const [attempt] = await attemptPairs([{ server: { name: 'node', version: 'x' }, client: { name: 'chromium', version: 'x' } }], { ...serving, cert_reqs: 'CERT_OPTIONAL', ca_certs: profileFiles('client-ca').cert }, verifying, 'declared-test-2');
    assert.match(attempt!.unsupported?.detail ?? '', /^not supported by chromium: cert_reqs \(a server that asks for a client certificate/);
    assert.equal(attempt!.outcome, undefined);
  });
});
