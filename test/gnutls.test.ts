/**
 * The GnuTLS adapters (support/peers/gnutls.ts): real handshakes on loopback
 * between gnutls-serv / gnutls-cli and the node server / axios client, and
 * between the two GnuTLS programs, classified as the grid classifies them.
 *
 * Where the outcome depends on GnuTLS's own words ("The certificate issuer is
 * unknown.", "*** Received alert [116]"), error-map.ts does not know them yet:
 * those tests check the verdict and the raw evidence, check that the entries
 * proposed below would give the vocabulary's reason, and the reasons
 * themselves are asserted in one `todo` test that passes once the entries are
 * in error-map.ts.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { attemptConnection } from '../support/attempt';
import { ConfigurationError } from '../support/errors';
import type { Outcome, Reason } from '../support/outcome/vocabulary';
import { axiosClient } from '../support/peers/axios-client';
import {
  ANY_ADDRESS,
  describeSession,
  GNUTLS_CLIENT_SETTINGS,
  GNUTLS_SERVER_SETTINGS,
  gnutlsClient,
  gnutlsPriority,
  gnutlsServer,
  observeConnection,
} from '../support/peers/gnutls';
import { nodeServer } from '../support/peers/node-server';
import type { RunningServer } from '../support/peers/types';
import { loadPki, profileFiles } from '../support/pki';
import { acquireServer, closeAllServers } from '../support/server-pool';
import { DEFAULT_CLIENT, DEFAULT_SERVER, type ClientSettings, type ServerSettings } from '../support/vocabulary';
import { commandExists } from './helpers';

const missing = ['gnutls-serv', 'gnutls-cli', 'stdbuf'].filter((command) => !commandExists(command));
// CI installs gnutls-bin and must not pass by skipping.
const skip = missing.length > 0 && process.env.TLS_CONFORMANCE_REQUIRE_ALL !== '1' ? `missing ${missing.join(', ')} (apt-get install -y gnutls-bin)` : false;

/**
 * GnuTLS's words and the reasons they mean: the entries error-map.ts needs
 * (the first group for ERROR_MAP, the alert forms for alertIn).
 */
const PROPOSED: readonly { pattern: RegExp; reason: Reason }[] = [
  { pattern: /The certificate chain uses expired certificate/, reason: 'certificate_expired' },
  { pattern: /The certificate chain uses not yet valid certificate/, reason: 'certificate_not_yet_valid' },
  { pattern: /The name in the certificate does not match the expected/, reason: 'hostname_mismatch' },
  { pattern: /The certificate issuer is unknown|The certificate issuer is not a CA/, reason: 'unknown_ca' },
  { pattern: /Error in handshake: (?:Certificate is required|No certificate was found)/, reason: 'certificate_required' },
  { pattern: /Error in handshake: No common application protocol could be negotiated/, reason: 'no_application_protocol' },
  { pattern: /Error in handshake: No supported cipher suites have been found/, reason: 'no_shared_cipher' },
  { pattern: /A packet with illegal or unsupported version was received/, reason: 'protocol_version' },
];
/** gnutls-cli says "*** Received alert [116]: ...", gnutls-serv "* Received alert '42': ...". */
const PROPOSED_ALERT = /Received alert (?:\[(\d+)\]|'(\d+)')/;

function proposedReason(text: string | null | undefined): Reason | null {
  return PROPOSED.find((entry) => entry.pattern.test(text ?? ''))?.reason ?? null;
}

function proposedAlert(text: string | null | undefined): number | null {
  const m = PROPOSED_ALERT.exec(text ?? '');
  return m ? Number(m[1] ?? m[2]) : null;
}

const refusesToConnect = (port: number, host = '127.0.0.1'): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect(port, host);
    socket.once('connect', () => (socket.destroy(), resolve(false)));
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });

const isRefusal = (field: string, detail?: RegExp) => (e: unknown) =>
  e instanceof ConfigurationError && e.field === field && (detail ? detail.test(e.detail) : e.detail === `not supported by gnutls: ${field}`);

// gnutls-serv listens on every address: it runs in a network namespace of its own (root, unshare, ip), or on the host's
// every address where that was allowed (support/peers/gnutls.ts). CI runs as root and must not pass by skipping.
const requireAll = process.env.TLS_CONFORMANCE_REQUIRE_ALL === '1';
const namespaces = process.getuid?.() === 0 && spawnSync('unshare', ['--net', '--pid', '--fork', '--kill-child', '--', 'ip', 'link', 'set', 'lo', 'up']).status === 0;
const noNamespace = namespaces || requireAll ? false : 'needs a network namespace for gnutls-serv: root, unshare and ip';
const noServer = namespaces || requireAll || process.env[ANY_ADDRESS] === '1' ? false : `${noNamespace}, or ${ANY_ADDRESS}=1`;

/** The TCP sockets listening in this process's network namespace, as /proc/net/tcp{,6} write them ("0100007F:1F90"). */
function listeningSockets(): Set<string> {
  const rows = ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(1) : []));
  return new Set(rows.map((row) => row.trim().split(/\s+/)).filter((fields) => fields[3] === '0A').map((fields) => fields[1]!));
}

/** 127.0.0.0/8 (little-endian hex: the last byte is 7F) or ::1. */
const isLoopback = (socket: string): boolean => /^[0-9A-F]{6}7F:/.test(socket) || socket.startsWith('00000000000000000000000001000000:');

/** This host's own addresses other than loopback (link-local IPv6 left out: it needs a scope to dial). */
const hostAddresses = (): string[] =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a !== undefined && !a.internal && !a.address.startsWith('fe80:'))
    .map((a) => a!.address);

/** The processes whose working directory is one of the harness's gnutls-serv directories: pid → directory. */
function gnutlsProcesses(): Map<number, string> {
  const found = new Map<number, string>();
  const prefix = join(tmpdir(), 'tls-conformance-gnutls-');
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cwd.startsWith(prefix)) found.set(Number(entry), cwd.replace(/ \(deleted\)$/, ''));
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

/** One raw TCP connection: what `act` does once connected, and what the client saw until it closed. */
function rawConnection(port: number, act: (socket: Socket) => void): Promise<{ localPort: number | null; events: string[] }> {
  return new Promise((resolve) => {
    const events: string[] = [];
    let localPort: number | null = null;
    const socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => (events.push('timeout'), socket.destroy()), 5000);
    socket.once('connect', () => {
      localPort = socket.localPort ?? null;
      act(socket);
    });
    socket.on('data', () => (events.at(-1) === 'data' ? undefined : events.push('data')));
    socket.on('end', () => (events.push('end'), socket.end()));
    socket.on('error', (error: NodeJS.ErrnoException) => events.push(`error ${error.code}`));
    socket.once('close', () => (clearTimeout(timer), resolve({ localPort, events })));
  });
}

/** A TLS record header announcing a 512-byte ClientHello, and the first bytes of it. */
const PARTIAL_HELLO = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

describe('GnuTLS adapters', { skip }, () => {
  let serving: ServerSettings;
  let mutual: ServerSettings;
  let verifying: ClientSettings;
  let withCert: ClientSettings;
  let withOtherCaCert: ClientSettings;
  /** Outcomes whose reason needs GnuTLS's words in error-map.ts, with the reason they should then have. */
  const pending: { name: string; outcome: Outcome; reason: Reason; alert?: number }[] = [];

  before(async () => {
    await loadPki();
    const files = profileFiles;
    serving = { ...DEFAULT_SERVER, certfile: files('localhost').cert, keyfile: files('localhost').key };
    mutual = { ...serving, cert_reqs: 'CERT_REQUIRED', ca_certs: files('client-ca').cert };
    verifying = { ...DEFAULT_CLIENT, verify: files('server-ca').cert };
    withCert = { ...verifying, cert: [files('client').cert, files('client').key] };
    withOtherCaCert = { ...verifying, cert: [files('client-from-unrelated-ca').cert, files('client-from-unrelated-ca').key] };
  });
  after(closeAllServers);

  it('detects gnutls-serv and gnutls-cli and says their version', async () => {
    const server = await gnutlsServer.detect();
    const client = await gnutlsClient.detect();
    assert.ok(server.available && /^GnuTLS 3\.\d+\.\d+ gnutls-serv$/.test(server.version), JSON.stringify(server));
    assert.ok(client.available && /^GnuTLS 3\.\d+\.\d+ gnutls-cli, TCP_NODELAY set by an LD_PRELOAD shim$/.test(client.version), JSON.stringify(client));
  });

  describe('settings', () => {
    it('lists the settings each adapter implements, all of them in the vocabulary', () => {
      assert.ok(GNUTLS_SERVER_SETTINGS.includes('cert_reqs') && GNUTLS_SERVER_SETTINGS.includes('ciphers'));
      assert.ok(!(GNUTLS_SERVER_SETTINGS as readonly string[]).includes('groups'));
      assert.ok(GNUTLS_CLIENT_SETTINGS.includes('verify') && GNUTLS_CLIENT_SETTINGS.includes('server_hostname'));
    });

    it('refuses every server setting it does not implement, by name, instead of dropping it', async () => {
      // Every setting of the vocabulary at a value that asks for something (Required<>: a new setting must be added here).
      const asking: Required<ServerSettings> = {
        ...serving,
        keyfile: serving.keyfile!,
        certfile: serving.certfile!,
        cert_reqs: 'CERT_OPTIONAL',
        ca_certs: profileFiles('client-ca').cert,
        minimum_version: 'TLSv1_2',
        maximum_version: 'TLSv1_3',
        ciphers: 'ECDHE-RSA-AES128-GCM-SHA256',
        groups: 'X25519',
        server_preferred_order: true,
        as_written: true,
        alpn_protocols: ['http/1.1'],
        npn_protocols: ['http/1.1'],
        end_without_close_notify: true,
        do_handshake_on_connect: false,
        wrap_with: 'SSLContext.wrap_socket',
        context: 'create_default_context',
      };
      const unsupported = Object.keys(asking).filter((field) => !(GNUTLS_SERVER_SETTINGS as readonly string[]).includes(field));
      assert.deepEqual(unsupported.sort(), ['as_written', 'context', 'do_handshake_on_connect', 'end_without_close_notify', 'groups', 'npn_protocols', 'wrap_with']);
      for (const field of unsupported) {
        await assert.rejects(gnutlsServer.start({ ...serving, [field]: asking[field as keyof ServerSettings] }), isRefusal(field), field);
      }
    });

    it('accepts those settings at the values that ask for nothing', { skip: noServer }, async () => {
      const server = await gnutlsServer.start({ ...serving, as_written: false, do_handshake_on_connect: true, end_without_close_notify: false });
      try {
        const { outcome } = await attemptConnection(server, axiosClient, verifying);
        assert.equal(outcome.connected, true);
      } finally {
        await server.close();
      }
    });

    it('refuses every client setting it does not implement, by name', async () => {
      const server = await acquireServer(nodeServer, serving);
      const target = { host: server.host, port: server.port };
      for (const [field, value] of [['suppress_ragged_eofs', false], ['ignore_unexpected_eof', false]] as const) {
        await assert.rejects(gnutlsClient.attempt(target, { ...verifying, [field]: value }), isRefusal(field), field);
      }
      // At their defaults they ask for nothing.
      const { outcome } = await attemptConnection(server, gnutlsClient, { ...verifying, suppress_ragged_eofs: true, ignore_unexpected_eof: true });
      assert.equal(outcome.connected, true);
    });

    it('translates versions into a priority string, and refuses a range with no version', async () => {
      assert.equal(await gnutlsPriority({}, 'server'), null);
      assert.equal(await gnutlsPriority({ minimum_version: 'TLSv1_2', maximum_version: 'TLSv1_2' }, 'server'), 'NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-TLS1.3');
      assert.equal(await gnutlsPriority({ minimum_version: 'TLSv1_3' }, 'client'), 'NORMAL:-VERS-TLS1.0:-VERS-TLS1.1:-VERS-TLS1.2');
      assert.equal(await gnutlsPriority({ server_preferred_order: true }, 'server'), 'NORMAL:%SERVER_PRECEDENCE');
      await assert.rejects(gnutlsPriority({ minimum_version: 'TLSv1_3', maximum_version: 'TLSv1_2' }, 'server'), isRefusal('minimum_version', /no TLS version/));
    });

    it('translates only the cipher lists GnuTLS can say exactly, and refuses the rest', async () => {
      // TLS 1.2 only: the suites' parts allow these two suites and nothing else.
      const two = await gnutlsPriority({ maximum_version: 'TLSv1_2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305' }, 'client');
      assert.equal(two, 'NORMAL:-VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-RSA');
      // OpenSSL keywords and operators have no GnuTLS equivalent.
      await assert.rejects(gnutlsServer.start({ ...serving, ciphers: 'HIGH:!aNULL' }), isRefusal('ciphers', /^not supported by gnutls: ciphers \("HIGH:!aNULL"/));
      await assert.rejects(gnutlsPriority({ ciphers: 'RC4-SHA:@SECLEVEL=0' }, 'client'), isRefusal('ciphers', /not one GnuTLS has/));
      // Parts that make more suites than were named: AES256 and AES128 with both key exchanges.
      await assert.rejects(
        gnutlsPriority({ maximum_version: 'TLSv1_2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256' }, 'server'),
        isRefusal('ciphers', /cannot name these suites alone/),
      );
      // With TLS 1.3 possible, GnuTLS's cipher list would narrow the TLS 1.3 suites too (OpenSSL's does not).
      await assert.rejects(gnutlsPriority({ ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }, 'client'), isRefusal('ciphers', /not supported by gnutls: ciphers/));
    });

    it('refuses what Python and the other adapters refuse: ssl_version as a string, a key that is not the certificate\'s, no key', { skip: noServer }, async () => {
      await assert.rejects(gnutlsServer.start({ ...serving, ssl_version: '"ssl.PROTOCOL_TLSv1_2"' }), isRefusal('ssl_version', /is the string/));
      const mismatched = profileFiles('mismatched-key');
      await assert.rejects(gnutlsServer.start({ ...serving, certfile: mismatched.cert, keyfile: mismatched.key }), isRefusal('keyfile', /do not match/));
      await assert.rejects(gnutlsServer.start({ ...DEFAULT_SERVER, certfile: serving.certfile! }), isRefusal('keyfile', /Error reading/));
    });

    it('reads session descriptions as the other adapters name suites', () => {
      assert.deepEqual(describeSession('(TLS1.3-X.509)-(ECDHE-SECP256R1)-(RSA-PSS-RSAE-SHA256)-(AES-256-GCM)'), {
        protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', keyExchange: 'ECDH prime256v1',
      });
      assert.deepEqual(describeSession('(TLS1.2-X.509)-(ECDHE-X25519)-(ECDSA-SECP256R1-SHA256)-(AES-128-GCM)'), {
        protocol: 'TLSv1.2', cipher: 'ECDHE-ECDSA-AES128-GCM-SHA256', keyExchange: 'ECDH X25519',
      });
      assert.deepEqual(describeSession('(TLS1.2-X.509)-(RSA)-(AES-128-CBC)-(SHA1)'), { protocol: 'TLSv1.2', cipher: 'AES128-SHA', keyExchange: 'RSA key transport' });
      assert.deepEqual(describeSession('(TLS1.2-X.509)-(DHE-FFDHE2048)-(RSA-SHA256)-(AES-256-GCM)'), {
        protocol: 'TLSv1.2', cipher: 'DHE-RSA-AES256-GCM-SHA384', keyExchange: 'DH ffdhe2048',
      });
    });

    it('reads a connection gnutls-serv did not finish as accepted and incomplete', () => {
      const seen = observeConnection('* Accepted connection from IPv4 127.0.0.1 port 40000 on Mon\n|<5>| REC[0x1]: Allocating epoch #0\n');
      assert.equal(seen.accepted, true);
      assert.equal(seen.handshakeCompleted, false);
      assert.equal(seen.rejection, null);
    });
  });

  describe('gnutls server × axios client', { skip: noServer }, () => {
    it('listens on 127.0.0.1 and stops listening when closed', async () => {
      const server = await gnutlsServer.start(serving);
      assert.equal(server.host, '127.0.0.1');
      assert.ok(server.port > 0);
      await server.close();
      assert.ok(await refusesToConnect(server.port));
    });

    it('one-way: the request completes, and both ends name the same protocol and suite', async () => {
      const server = await acquireServer(gnutlsServer, serving);
      const { outcome } = await attemptConnection(server, axiosClient, verifying);
      assert.equal(outcome.verdict, 'connected', JSON.stringify(outcome.evidence));
      assert.equal(outcome.httpStatus, 200);
      assert.equal(outcome.protocol, 'TLSv1.3');
      const { client, server: seen } = outcome.evidence;
      assert.equal(seen.handshakeCompleted, true);
      assert.equal(seen.protocol, client.protocol);
      assert.equal(seen.cipher, client.cipher);
      assert.deepEqual(seen.requests, [{ method: 'GET', path: '/', status: 200 }]);
      assert.equal(seen.clientCertificate, null);
    });

    it('makes every attempt its own connection, each observed once', async () => {
      const server = await acquireServer(gnutlsServer, serving);
      for (let i = 0; i < 3; i++) {
        const { outcome } = await attemptConnection(server, axiosClient, verifying);
        assert.equal(outcome.connected, true);
        assert.equal(outcome.requestReachedServer, true, `attempt ${i}`);
      }
    });

    it('mutual, CERT_REQUIRED: a client certificate from client-ca is accepted and seen', async () => {
      const server = await acquireServer(gnutlsServer, mutual);
      const { outcome } = await attemptConnection(server, axiosClient, withCert);
      assert.equal(outcome.connected, true, JSON.stringify(outcome.evidence));
      assert.equal(outcome.clientCertificate?.subject, 'CN=conformance client, O=TLS conformance harness');
      assert.equal(outcome.clientCertificate?.issuer, 'CN=Conformance Client CA, O=TLS conformance harness');
    });

    it('mutual, CERT_REQUIRED: no client certificate → the server refuses: certificate_required', async () => {
      const server = await acquireServer(gnutlsServer, mutual);
      const { outcome } = await attemptConnection(server, axiosClient, verifying);
      assert.equal(outcome.verdict, 'server rejected client', JSON.stringify(outcome.evidence));
      assert.equal(outcome.reason, 'certificate_required');
      assert.deepEqual(outcome.alert, { code: 116, name: 'certificate_required', sentBy: 'server' });
      assert.match(outcome.evidence.server.rejection!.message, /^Error in handshake: Certificate is required\./);
    });

    it('mutual, CERT_REQUIRED: a client certificate from another CA → the server refuses (access_denied, issuer unknown)', async () => {
      const server = await acquireServer(gnutlsServer, mutual);
      const { outcome } = await attemptConnection(server, axiosClient, withOtherCaCert);
      assert.equal(outcome.verdict, 'server rejected client', JSON.stringify(outcome.evidence));
      assert.equal(outcome.connected, false);
      assert.equal(outcome.requestReachedServer, false);
      assert.equal(outcome.evidence.server.verificationError, 'The certificate issuer is unknown.');
      assert.match(outcome.evidence.server.rejection!.message, /Error in the certificate\..*Access was denied \[49\]/);
      assert.equal(outcome.alert?.code, 49, 'GnuTLS answers a client certificate it cannot verify with access_denied (49)');
      assert.equal(proposedReason(outcome.evidence.server.verificationError), 'unknown_ca');
      pending.push({ name: 'gnutls server, client certificate from another CA', outcome, reason: 'unknown_ca' });
    });

    it('mutual, CERT_OPTIONAL: no certificate is served; a certificate from another CA is refused', async () => {
      const server = await acquireServer(gnutlsServer, { ...mutual, cert_reqs: 'CERT_OPTIONAL' });
      assert.equal((await attemptConnection(server, axiosClient, verifying)).outcome.connected, true);
      const { outcome } = await attemptConnection(server, axiosClient, withOtherCaCert);
      assert.equal(outcome.verdict, 'server rejected client');
      assert.equal(outcome.evidence.server.verificationError, 'The certificate issuer is unknown.');
    });

    it('TLS 1.2 only (ssl.PROTOCOL_TLSv1_2): TLS 1.2 with an ECDHE suite; a TLS 1.3-only client is refused', async () => {
      const server = await acquireServer(gnutlsServer, { ...serving, ssl_version: 'ssl.PROTOCOL_TLSv1_2' });
      const { outcome } = await attemptConnection(server, axiosClient, verifying);
      assert.equal(outcome.connected, true, JSON.stringify(outcome.evidence));
      assert.equal(outcome.protocol, 'TLSv1.2');
      assert.equal(outcome.evidence.server.cipher, outcome.evidence.client.cipher);
      assert.match(outcome.cipher!, /^ECDHE-RSA-/);
      const { outcome: refused } = await attemptConnection(server, axiosClient, { ...verifying, minimum_version: 'TLSv1_3' });
      assert.equal(refused.verdict, 'server rejected client', JSON.stringify(refused.evidence));
      assert.equal(refused.phase, 'handshake');
      // GnuTLS's words are about suites, not versions: OpenSSL's TLS 1.3-only hello offers no TLS 1.2 suite.
      assert.match(refused.evidence.server.rejection!.message, /No supported cipher suites have been found/);
    });

    it('ciphers (TLS 1.2): the named suite is negotiated; a client without it is refused', async () => {
      const server = await acquireServer(gnutlsServer, { ...serving, minimum_version: 'TLSv1_2', maximum_version: 'TLSv1_2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' });
      const { outcome } = await attemptConnection(server, axiosClient, { ...verifying, ciphers: 'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256' });
      assert.equal(outcome.cipher, 'ECDHE-RSA-AES256-GCM-SHA384', JSON.stringify(outcome.evidence));
      const { outcome: refused } = await attemptConnection(server, axiosClient, { ...verifying, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' });
      assert.equal(refused.verdict, 'server rejected client');
      assert.equal(proposedReason(refused.evidence.server.rejection?.message), 'no_shared_cipher');
      pending.push({ name: 'gnutls server, no suite in common', outcome: refused, reason: 'no_shared_cipher' });
    });

    it('alpn_protocols: the agreed protocol; none in common is no_application_protocol', async () => {
      const server = await acquireServer(gnutlsServer, { ...serving, alpn_protocols: ['conformance/2', 'http/1.1'] });
      assert.equal((await attemptConnection(server, axiosClient, { ...verifying, alpn_protocols: ['http/1.1'] })).outcome.alpn, 'http/1.1');
      const { outcome } = await attemptConnection(server, axiosClient, { ...verifying, alpn_protocols: ['h2'] });
      assert.equal(outcome.verdict, 'server rejected client');
      assert.equal(outcome.reason, 'no_application_protocol');
    });
  });

  describe('node server × gnutls client', () => {
    let node: RunningServer;
    before(async () => {
      node = await acquireServer(nodeServer, serving);
    });

    it('the request completes; both ends name the same suite; the server certificate is the one served', async () => {
      const { outcome } = await attemptConnection(node, gnutlsClient, verifying);
      assert.equal(outcome.verdict, 'connected', JSON.stringify(outcome.evidence));
      assert.equal(outcome.httpStatus, 200);
      assert.equal(outcome.insecure, false);
      const { client, server } = outcome.evidence;
      assert.equal(client.protocol, server.protocol);
      assert.equal(client.cipher, server.cipher);
      assert.equal(client.serverCertificate?.subject, 'CN=localhost, O=TLS conformance harness');
      assert.equal(client.serverCertificate?.issuer, 'CN=Conformance Server CA, O=TLS conformance harness');
      assert.equal(server.requests.length, 1);
      assert.match(client.response!.body, /hello from the node server/);
    });

    it('verify from another CA → the client refuses the server (issuer unknown)', async () => {
      const { outcome } = await attemptConnection(node, gnutlsClient, { ...verifying, verify: profileFiles('client-ca').cert });
      assert.equal(outcome.verdict, 'client rejected server', JSON.stringify(outcome.evidence));
      assert.equal(outcome.phase, 'handshake');
      assert.equal(outcome.requestReachedServer, false);
      assert.match(outcome.evidence.client.socketError!.message, /The certificate is NOT trusted\. The certificate issuer is unknown\./);
      assert.deepEqual(outcome.alert, { code: 42, name: 'bad_certificate', sentBy: 'client' }, 'GnuTLS sends bad_certificate where OpenSSL sends unknown_ca');
      assert.equal(proposedReason(outcome.evidence.client.socketError!.message), 'unknown_ca');
      pending.push({ name: 'gnutls client, server from another CA', outcome, reason: 'unknown_ca' });
    });

    it('a certificate for another name (wrong.host) → the client refuses the server', async () => {
      const server = await acquireServer(nodeServer, { ...serving, certfile: profileFiles('wrong.host').cert, keyfile: profileFiles('wrong.host').key });
      const { outcome } = await attemptConnection(server, gnutlsClient, verifying);
      assert.equal(outcome.verdict, 'client rejected server', JSON.stringify(outcome.evidence));
      assert.match(outcome.evidence.client.socketError!.message, /The name in the certificate does not match the expected\./);
      assert.equal(proposedReason(outcome.evidence.client.socketError!.message), 'hostname_mismatch');
      pending.push({ name: 'gnutls client, wrong.host', outcome, reason: 'hostname_mismatch' });
      // The name the client means is the one it checks and sends: wrong.host.example passes.
      const { outcome: named } = await attemptConnection(server, gnutlsClient, { ...verifying, server_hostname: 'wrong.host.example' });
      assert.equal(named.connected, true, JSON.stringify(named.evidence));
      // verify=False checks neither chain nor name, and says so.
      const { outcome: unverified } = await attemptConnection(server, gnutlsClient, { ...verifying, verify: false });
      assert.equal(unverified.connected, true);
      assert.equal(unverified.insecure, true);
    });

    it('an expired certificate → the client refuses the server', async () => {
      const server = await acquireServer(nodeServer, { ...serving, certfile: profileFiles('expired').cert, keyfile: profileFiles('expired').key });
      const { outcome } = await attemptConnection(server, gnutlsClient, verifying);
      assert.equal(outcome.verdict, 'client rejected server');
      assert.equal(proposedReason(outcome.evidence.client.socketError!.message), 'certificate_expired');
      pending.push({ name: 'gnutls client, expired', outcome, reason: 'certificate_expired' });
    });

    it('an IP address as server_hostname is checked against the IP SANs, without SNI', async () => {
      const { outcome } = await attemptConnection(node, gnutlsClient, { ...verifying, server_hostname: '127.0.0.1' });
      assert.equal(outcome.connected, true, JSON.stringify(outcome.evidence));
    });

    it('maximum_version TLSv1_2 against a TLS 1.3-only server → protocol_version', async () => {
      const server = await acquireServer(nodeServer, { ...serving, minimum_version: 'TLSv1_3' });
      const { outcome } = await attemptConnection(server, gnutlsClient, { ...verifying, maximum_version: 'TLSv1_2' });
      assert.equal(outcome.verdict, 'server rejected client');
      assert.equal(outcome.reason, 'protocol_version');
      assert.match(outcome.evidence.client.socketError!.message, /Received alert \[70\]/);
    });

    it('per attempt: median of 10 gnutls-cli attempts against the node server (reported, not asserted)', async (t) => {
      const times: number[] = [];
      for (let i = 0; i < 10; i++) {
        const started = performance.now();
        const { outcome } = await attemptConnection(node, gnutlsClient, verifying);
        times.push(performance.now() - started);
        assert.equal(outcome.connected, true);
      }
      times.sort((a, b) => a - b);
      const median = (times[4]! + times[5]!) / 2;
      const line = `gnutls-cli × node: median ${median.toFixed(1)} ms per attempt (min ${times[0]!.toFixed(1)}, max ${times[9]!.toFixed(1)})`;
      t.diagnostic(line);
    });
  });

  describe('gnutls server × gnutls client', { skip: noServer }, () => {
    it('one-way: the request completes, both ends name the same suite', async () => {
      const server = await acquireServer(gnutlsServer, serving);
      const { outcome } = await attemptConnection(server, gnutlsClient, verifying);
      assert.equal(outcome.verdict, 'connected', JSON.stringify(outcome.evidence));
      assert.equal(outcome.evidence.client.cipher, outcome.evidence.server.cipher);
      assert.equal(outcome.evidence.client.protocol, 'TLSv1.3');
      assert.equal(outcome.requestReachedServer, true);
    });

    it('mutual: with a client certificate it completes; without one the server refuses', async () => {
      const server = await acquireServer(gnutlsServer, mutual);
      const { outcome } = await attemptConnection(server, gnutlsClient, withCert);
      assert.equal(outcome.connected, true, JSON.stringify(outcome.evidence));
      assert.equal(outcome.clientCertificate?.subject, 'CN=conformance client, O=TLS conformance harness');
      const { outcome: refused } = await attemptConnection(server, gnutlsClient, verifying);
      assert.equal(refused.verdict, 'server rejected client', JSON.stringify(refused.evidence));
      assert.match(refused.evidence.server.rejection!.message, /Certificate is required/);
      assert.equal(proposedAlert(refused.evidence.client.socketError?.message), 116);
      assert.equal(proposedReason(refused.evidence.server.rejection?.message), 'certificate_required');
      pending.push({ name: 'gnutls × gnutls, no client certificate', outcome: refused, reason: 'certificate_required', alert: 116 });
    });

    it('TLS 1.2 pinned at both ends, with a named suite', async () => {
      const server = await acquireServer(gnutlsServer, { ...serving, ssl_version: 'ssl.PROTOCOL_TLSv1_2' });
      const { outcome } = await attemptConnection(server, gnutlsClient, { ...verifying, maximum_version: 'TLSv1_2', ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' });
      assert.equal(outcome.connected, true, JSON.stringify(outcome.evidence));
      assert.equal(outcome.protocol, 'TLSv1.2');
      assert.equal(outcome.cipher, 'ECDHE-RSA-CHACHA20-POLY1305');
      assert.equal(outcome.evidence.server.cipher, 'ECDHE-RSA-CHACHA20-POLY1305');
    });
  });

  describe('gnutls-serv in a network namespace of its own, behind a relay on 127.0.0.1', { skip: noNamespace }, () => {
    it('listens on 127.0.0.1 only: nothing new listens on another address of the host, whose other addresses refuse', async () => {
      const before = listeningSockets();
      const server = await gnutlsServer.start(serving);
      try {
        const added = [...listeningSockets()].filter((socket) => !before.has(socket));
        assert.ok(added.includes(`0100007F:${server.port.toString(16).toUpperCase().padStart(4, '0')}`), added.join(' '));
        // Other test files may start servers meanwhile, on loopback: nothing may listen anywhere else (0.0.0.0, ::).
        assert.deepEqual(added.filter((socket) => !isLoopback(socket)), []);
        for (const address of hostAddresses()) assert.ok(await refusesToConnect(server.port, address), `${address}:${server.port} accepts`);
        assert.equal((await attemptConnection(server, axiosClient, verifying)).outcome.connected, true);
      } finally {
        await server.close();
      }
    });

    it('close() stops gnutls-serv, the relay and the namespace, and removes their directory', async () => {
      const before = gnutlsProcesses();
      const server = await gnutlsServer.start(serving);
      const started = [...gnutlsProcesses()].filter(([pid]) => !before.has(pid));
      const names = started.map(([pid]) => readFileSync(`/proc/${pid}/comm`, 'utf8').trim()).sort();
      assert.deepEqual(names, ['gnutls-serv', 'node', 'unshare']);
      const directory = started[0]![1];
      await server.close();
      assert.deepEqual(started.filter(([pid]) => existsSync(`/proc/${pid}`)), []);
      assert.equal(existsSync(directory), false);
      assert.ok(await refusesToConnect(server.port));
    });

    it('tells connections apart by the client\'s port: the relay says which port it dialled gnutls-serv from', async () => {
      const server = await gnutlsServer.start(serving);
      try {
        // An older connection not observed yet (not TLS: gnutls-serv refuses it), then an attempt that must be given its own.
        const older = await rawConnection(server.port, (socket) => socket.write('GET / HTTP/1.0\r\n\r\n'));
        assert.deepEqual(older.events, ['data', 'end']);
        const { outcome } = await attemptConnection(server, axiosClient, verifying);
        assert.equal(outcome.verdict, 'connected', JSON.stringify(outcome.evidence));
        assert.equal(outcome.evidence.server.handshakeCompleted, true);
        assert.equal(outcome.evidence.server.rejection, null);
        // A client that cannot tell its port is given the oldest connection not observed yet.
        const unnamed = await rawConnection(server.port, (socket) => socket.write('GET / HTTP/1.0\r\n\r\n'));
        assert.deepEqual(unnamed.events, ['data', 'end']);
        assert.match((await server.observe(null)).rejection!.message, /An unexpected TLS packet was received/);
      } finally {
        await server.close();
      }
    });

    it('passes the client\'s end as an end and its reset as a reset; gnutls-serv\'s end reaches the client as an end', async () => {
      const server = await gnutlsServer.start(serving);
      try {
        // The client ends its side: gnutls-serv reads the end, sends its alert and closes, and the client reads an end.
        const ended = await rawConnection(server.port, (socket) => setTimeout(() => socket.end(), 20));
        assert.deepEqual(ended.events, ['data', 'end']);
        assert.match((await server.observe(ended.localPort)).errors[0]!.message, /The TLS connection was non-properly terminated/);
        // The client resets: gnutls-serv's read fails (ECONNRESET), not an end.
        const reset = await rawConnection(server.port, (socket) => {
          socket.write(PARTIAL_HELLO);
          setTimeout(() => socket.resetAndDestroy(), 20);
        });
        assert.match((await server.observe(reset.localPort)).errors[0]!.message, /Error in the pull function/);
      } finally {
        await server.close();
      }
    });

    it('passes on what gnutls-serv\'s end does when it dies: a reset where bytes were left unread, an end elsewhere; then refuses', async () => {
      const before = gnutlsProcesses();
      const server = await gnutlsServer.start(serving);
      try {
        const pid = [...gnutlsProcesses().keys()].find((p) => !before.has(p) && readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'gnutls-serv')!;
        let unreadSocket!: Socket;
        const unread = rawConnection(server.port, (socket) => (unreadSocket = socket));
        const quiet = rawConnection(server.port, () => undefined);
        await new Promise((r) => setTimeout(r, 200)); // both accepted by gnutls-serv, waiting for a ClientHello
        // Stopped, gnutls-serv does not read what comes now; killed, its kernel resets the connection that has unread
        // bytes and ends the other.
        process.kill(pid, 'SIGSTOP');
        unreadSocket.write(PARTIAL_HELLO);
        await new Promise((r) => setTimeout(r, 100));
        process.kill(pid, 'SIGKILL');
        assert.deepEqual((await unread).events, ['error ECONNRESET']);
        assert.deepEqual((await quiet).events, ['end']);
        // gnutls-serv gone, the relay stops accepting: a connection is refused.
        let refused = false;
        for (let tries = 0; tries < 20 && !refused; tries++) {
          refused = await refusesToConnect(server.port);
          if (!refused) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(refused);
      } finally {
        await server.close();
      }
    });

    it('detect(): not root, it says what is needed, unless the user allows every address', () => {
      const detect = (env: NodeJS.ProcessEnv): unknown => {
        const script = `require('./support/peers/gnutls').gnutlsServer.detect().then((a) => process.stdout.write(JSON.stringify(a)))`;
        const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, '--require', 'ts-node/register/transpile-only', '-e', script], {
          cwd: join(__dirname, '..'),
          env: { ...process.env, HOME: tmpdir(), [ANY_ADDRESS]: undefined, ...env },
          encoding: 'utf8',
        });
        assert.equal(run.status, 0, run.stderr);
        return JSON.parse(run.stdout);
      };
      const unavailable = detect({}) as { available: boolean; hint: string };
      assert.equal(unavailable.available, false);
      assert.match(unavailable.hint, /network namespace of its own, which needs root, unshare \(util-linux\) and ip \(iproute2\): not running as root/);
      assert.match(unavailable.hint, new RegExp(`set ${ANY_ADDRESS}=1`));
      assert.deepEqual(Object.keys(detect({ [ANY_ADDRESS]: '1' }) as object).sort(), ['available', 'version']);
    });
  });

  it('gives the vocabulary\'s reasons: error-map.ts knows GnuTLS\'s words', () => {
    assert.ok(pending.length > 0);
    const wrong = pending.filter((p) => p.outcome.reason !== p.reason || (p.alert !== undefined && p.outcome.alert?.code !== p.alert));
    assert.deepEqual(wrong.map((p) => `${p.name}: ${p.outcome.reason}`), []);
  });
});
