/**
 * The Chromium client adapter (support/peers/chromium.ts), with real
 * handshakes: Debian's Chromium, driven by playwright-core, against the node
 * server and the test PKI. Each test counts the connections the server saw:
 * one attempt should be one connection, except where Chromium cannot help it
 * (a server that asks for a client certificate), which is pinned down here.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { attemptConnection } from '../support/attempt';
import { UnsupportedSetting } from '../support/errors';
import { lookUp } from '../support/outcome/error-map';
import { classify } from '../support/outcome/classify';
import {
  CERT_WHY,
  CHROMIUM,
  CHROMIUM_CLIENT_SETTINGS,
  CHROMIUM_TLS12_SUITES,
  chromiumClient,
  chromiumHomes,
  chromiumPlan,
  closeChromium,
  describeSecurity,
  detectChromium,
  targetUrl,
} from '../support/peers/chromium';
import { nodeServer } from '../support/peers/node-server';
import type { RunningServer, ServerObservation } from '../support/peers/types';
import { loadPki, profileFiles } from '../support/pki';
import { DEFAULT_CLIENT, DEFAULT_SERVER, type ClientSettings, type ServerSettings } from '../support/vocabulary';
import { client as clientSeen, commandExists, server as serverSeen } from './helpers';

const installed = (() => {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return commandExists('certutil');
  } catch {
    return false;
  }
})();
// CI installs Chromium and libnss3-tools, and must not pass by skipping.
const skip = !installed && process.env.TLS_CONFORMANCE_REQUIRE_ALL !== '1' ? `no Chromium at ${CHROMIUM} or no certutil (apt-get install -y chromium libnss3-tools)` : false;

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

/** Every connection the server saw that nobody has observed yet (they come oldest first). */
async function drain(server: RunningServer): Promise<ServerObservation[]> {
  const seen: ServerObservation[] = [];
  for (;;) {
    const observation = await server.observe(null, 300);
    if (!observation.accepted) return seen;
    seen.push(observation);
  }
}

/** Processes whose command line names one of `homes` (each browser's --user-data-dir is inside its HOME). */
function processesUsing(homes: readonly string[]): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const command = readFileSync(join('/proc', entry, 'cmdline'), 'utf8');
      if (homes.some((home) => command.includes(home))) found.push(Number(entry));
    } catch {
      /* gone meanwhile */
    }
  }
  return found;
}

const leftovers = (): string[] => readdirSync(tmpdir()).filter((name) => /^tls-conformance-chromium-|^playwright-artifacts-/.test(name));

describe('the Chromium adapter without a browser: settings, names, words', () => {
  before(loadPki);
  const trusting = (): ClientSettings => ({ ...DEFAULT_CLIENT, verify: profileFiles('server-ca').cert });

  it('declares what it can express exactly, and not cert', () => {
    assert.deepEqual(chromiumClient.supports, CHROMIUM_CLIENT_SETTINGS);
    assert.ok(!(chromiumClient.supports as readonly string[]).includes('cert'));
    for (const field of ['verify', 'server_hostname', 'timeout', 'path', 'headers']) assert.ok((chromiumClient.supports as readonly string[]).includes(field), field);
  });

  it('refuses cert with the reason, and any other undeclared setting by name', () => {
    const cert = [profileFiles('client').cert, profileFiles('client').key] as const;
    assert.throws(
      () => chromiumPlan({ ...trusting(), cert }),
      (e: Error) => e instanceof UnsupportedSetting && e.field === 'cert' && e.message === `cert: not supported by chromium: cert (${CERT_WHY})`,
    );
    assert.match(CERT_WHY, /AutoSelectCertificateForUrls/);
    assert.match(CERT_WHY, /Playwright's clientCertificates option terminates TLS in Playwright's Node process/);
    assert.throws(() => chromiumPlan({ ...trusting(), suppress_ragged_eofs: false }), (e: Error) => e instanceof UnsupportedSetting && e.field === 'suppress_ragged_eofs');
    assert.throws(() => chromiumPlan({ ...trusting(), ignore_unexpected_eof: false }), (e: Error) => e instanceof UnsupportedSetting && e.field === 'ignore_unexpected_eof');
    assert.throws(() => chromiumPlan({ ...trusting(), context: 'create_default_context' }), (e: Error) => e instanceof UnsupportedSetting && e.field === 'context');
    // Python's defaults ask for nothing.
    assert.doesNotThrow(() => chromiumPlan({ ...trusting(), suppress_ragged_eofs: true, ignore_unexpected_eof: true }));
  });

  it('translates versions, ciphers and ALPN into switches, one browser per distinct set', () => {
    const plain = chromiumPlan(trusting());
    assert.deepEqual(plain.switches, []);
    assert.equal(plain.trust.kind, 'file');
    assert.deepEqual(chromiumPlan({ ...trusting(), minimum_version: 'TLSv1_2', maximum_version: 'TLSv1_3', alpn_protocols: ['h2', 'http/1.1'] }).switches, [], "Chromium's own range and list");
    assert.deepEqual(chromiumPlan({ ...trusting(), minimum_version: 'TLSv1_3' }).switches, ['--ssl-version-min=tls1.3']);
    assert.deepEqual(chromiumPlan({ ...trusting(), maximum_version: 'TLSv1_2' }).switches, ['--ssl-version-max=tls1.2']);
    assert.deepEqual(chromiumPlan({ ...trusting(), alpn_protocols: ['http/1.1'] }).switches, ['--disable-http2']);
    const ciphers = chromiumPlan({ ...trusting(), ciphers: 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384' }).switches;
    assert.equal(ciphers.length, 1);
    const blacklisted = ciphers[0]!.replace('--cipher-suite-blacklist=', '').split(',');
    assert.equal(blacklisted.length, CHROMIUM_TLS12_SUITES.length - 2);
    assert.ok(!blacklisted.includes('0xc02f') && !blacklisted.includes('0xc030') && blacklisted.includes('0x002f'));
    assert.deepEqual(chromiumPlan({ ...trusting(), ciphers: CHROMIUM_TLS12_SUITES.map((s) => s.openssl).join(':') }).switches, [], 'every suite: nothing to take away');
    assert.deepEqual(chromiumPlan({ ...DEFAULT_CLIENT, verify: false }).switches, ['--ignore-certificate-errors']);
    assert.equal(chromiumPlan({ ...DEFAULT_CLIENT, verify: true }).trust.kind, 'system');
    assert.notEqual(chromiumPlan({ ...DEFAULT_CLIENT, verify: true }).key, chromiumPlan({ ...DEFAULT_CLIENT, verify: false }).key);
    assert.equal(chromiumPlan(trusting()).key, chromiumPlan({ ...trusting(), path: '/x', headers: { A: 'b' }, timeout: 9 }).key, 'per-attempt settings need no browser of their own');
  });

  it('refuses what Chromium cannot express, saying why', () => {
    const refused = (settings: Partial<ClientSettings>, field: string, why: RegExp): void => {
      assert.throws(() => chromiumPlan({ ...trusting(), ...settings }), (e: Error) => e instanceof UnsupportedSetting && e.field === field && why.test(e.message), JSON.stringify(settings));
    };
    refused({ minimum_version: 'TLSv1' }, 'minimum_version', /no TLS 1\.0 or 1\.1 since version 98/);
    refused({ maximum_version: 'TLSv1_1' }, 'maximum_version', /no TLS 1\.0 or 1\.1/);
    refused({ minimum_version: 'TLSv1_3', maximum_version: 'TLSv1_2' }, 'minimum_version', /minimum above the maximum/);
    refused({ ciphers: 'HIGH:!aNULL' }, 'ciphers', /keywords and operators/);
    refused({ ciphers: 'TLS_AES_128_GCM_SHA256' }, 'ciphers', /TLS 1\.3 suites cannot be configured/);
    refused({ ciphers: 'DHE-RSA-AES128-GCM-SHA256' }, 'ciphers', /Chromium has no suite DHE-RSA-AES128-GCM-SHA256/);
    refused({ alpn_protocols: ['conformance/2'] }, 'alpn_protocols', /cannot offer \["conformance\/2"\]/);
    refused({ alpn_protocols: ['http/1.1', 'h2'] }, 'alpn_protocols', /cannot offer/);
  });

  it('names suites, versions and groups as OpenSSL does', () => {
    assert.deepEqual(describeSecurity({ protocol: 'TLS 1.3', keyExchange: '', keyExchangeGroup: 'X25519', cipher: 'AES_256_GCM' }), { protocol: 'TLSv1.3', cipher: 'TLS_AES_256_GCM_SHA384', keyExchange: 'ECDH X25519' });
    assert.deepEqual(describeSecurity({ protocol: 'TLS 1.2', keyExchange: 'ECDHE_RSA', keyExchangeGroup: 'P-256', cipher: 'AES_128_GCM' }), { protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', keyExchange: 'ECDH prime256v1' });
    assert.deepEqual(describeSecurity({ protocol: 'TLS 1.2', keyExchange: 'RSA', cipher: 'AES_256_CBC', mac: 'HMAC-SHA1' }), { protocol: 'TLSv1.2', cipher: 'AES256-SHA', keyExchange: 'RSA key transport' });
    assert.equal(describeSecurity({ protocol: 'TLS 1.2', keyExchange: 'ECDHE_ECDSA', cipher: 'CHACHA20_POLY1305' }).cipher, 'ECDHE-ECDSA-CHACHA20-POLY1305');
    assert.equal(describeSecurity({ protocol: 'TLS 1.2', keyExchange: 'DHE_RSA', cipher: 'AES_128_CBC', mac: 'HMAC-SHA256' }).cipher, 'DHE_RSA AES_128_CBC HMAC-SHA256', 'a suite the table lacks keeps CDP parts');
  });

  it('puts server_hostname in the URL as it is (an IPv6 address in brackets)', () => {
    assert.equal(targetUrl('localhost', 8443), 'https://localhost:8443/');
    assert.equal(targetUrl('127.0.0.1', 8443, '/a?b=c'), 'https://127.0.0.1:8443/a?b=c');
    assert.equal(targetUrl('::1', 8443, 'x'), 'https://[::1]:8443/x');
  });

  it("maps Chromium's net::ERR_* words to the vocabulary's reasons", () => {
    const cases: [string, string, string][] = [
      ['net::ERR_CERT_AUTHORITY_INVALID', 'unknown_ca', 'verification'],
      ['net::ERR_CERT_COMMON_NAME_INVALID', 'hostname_mismatch', 'verification'],
      ['net::ERR_CERT_DATE_INVALID (not valid after 2026-10-31T18:03:02.000Z: read by the adapter from the refused certificate)', 'certificate_expired', 'verification'],
      ['net::ERR_CERT_DATE_INVALID (not valid before 2026-12-30T18:03:02.000Z: read by the adapter from the refused certificate)', 'certificate_not_yet_valid', 'verification'],
      ['net::ERR_CERT_INVALID', 'bad_certificate', 'verification'],
      ['net::ERR_CERT_WEAK_SIGNATURE_ALGORITHM', 'bad_certificate', 'verification'],
      ['net::ERR_SSL_KEY_USAGE_INCOMPATIBLE', 'bad_certificate', 'verification'],
      ['net::ERR_BAD_SSL_CLIENT_AUTH_CERT', 'certificate_required', 'dropped'],
      ['net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH', 'handshake_failure', 'refusal'],
      ['net::ERR_SSL_PROTOCOL_ERROR', 'handshake_failure', 'refusal'],
      ['net::ERR_SSL_UNRECOGNIZED_NAME_ALERT', 'handshake_failure', 'refusal'],
      ['net::ERR_CONNECTION_REFUSED', 'connection_refused', 'unreachable'],
      ['net::ERR_TIMED_OUT', 'timeout', 'timeout'],
      ['net::ERR_CONNECTION_TIMED_OUT', 'timeout', 'timeout'],
      ['net::ERR_CONNECTION_RESET', 'reset_without_alert', 'dropped'],
      ['net::ERR_CONNECTION_CLOSED', 'reset_without_alert', 'dropped'],
      ['net::ERR_EMPTY_RESPONSE', 'reset_without_alert', 'dropped'],
      ['net::ERR_SOCKET_NOT_CONNECTED', 'reset_without_alert', 'dropped'],
    ];
    for (const [message, reason, meaning] of cases) {
      const entry = lookUp({ message });
      assert.equal(entry?.reason, reason, message);
      assert.equal(entry?.meaning, meaning, message);
    }
    // The entries name Chromium's words only: Node's codes of the same spirit keep their own entries.
    assert.equal(lookUp({ code: 'ECONNRESET', message: 'socket hang up' })?.reason, 'reset_without_alert');
    assert.equal(lookUp({ message: 'ERR_CERT_AUTHORITY_INVALID without the net:: prefix' }), null);
    // Without the refused certificate's dates, which date failed is not known: not guessed.
    assert.ok(!['certificate_expired', 'certificate_not_yet_valid'].includes(lookUp({ message: 'net::ERR_CERT_DATE_INVALID' })?.reason ?? ''));
  });

  it('classifies a refusal worded by Chromium alone: a certificate error is the client refusing, a client-certificate refusal names neither end', () => {
    const unknownCa = classify(clientSeen({ localPort: null, socketError: { message: 'net::ERR_CERT_AUTHORITY_INVALID' } }), serverSeen({ errors: [{ code: 'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN', message: 'sslv3 alert certificate unknown:SSL alert number 46' }] }), 1);
    assert.equal(unknownCa.verdict, 'client rejected server');
    assert.equal(unknownCa.reason, 'unknown_ca');
    assert.deepEqual(unknownCa.alert, { code: 46, name: 'certificate_unknown', sentBy: 'client' });
    const noCertificate = classify(clientSeen({ localPort: null, socketError: { message: 'net::ERR_BAD_SSL_CLIENT_AUTH_CERT' } }), serverSeen({ errors: [{ code: 'ECONNRESET', message: 'socket hang up' }] }), 1);
    assert.equal(noCertificate.verdict, 'failed');
    assert.equal(noCertificate.reason, 'certificate_required');
    const refusedByServer = classify(clientSeen({ localPort: null, socketError: { message: 'net::ERR_BAD_SSL_CLIENT_AUTH_CERT' } }), serverSeen({ rejection: { code: 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', message: 'peer did not return a certificate' } }), 1);
    assert.equal(refusedByServer.verdict, 'server rejected client');
    assert.equal(refusedByServer.reason, 'certificate_required');
  });
});

describe('Chromium as a client, with real handshakes', { skip }, () => {
  let trusting: ClientSettings;
  const started: RunningServer[] = [];
  const tmpBefore = new Set(leftovers());
  const homes = new Set<string>();
  const files = (name: string): Pick<ServerSettings, 'certfile' | 'keyfile'> => ({ certfile: profileFiles(name).cert, keyfile: profileFiles(name).key });
  const start = async (settings: ServerSettings): Promise<RunningServer> => {
    const server = await nodeServer.start(settings);
    started.push(server);
    return server;
  };
  const serving = (profile = 'localhost', more: Partial<ServerSettings> = {}): ServerSettings => ({ ...DEFAULT_SERVER, ...files(profile), ...more });
  const remember = async (): Promise<void> => {
    for (const home of await chromiumHomes()) homes.add(home);
  };

  before(async () => {
    await loadPki();
    trusting = { ...DEFAULT_CLIENT, verify: profileFiles('server-ca').cert };
  });

  after(async () => {
    await remember();
    await Promise.all(started.map((server) => server.close()));
    await closeChromium();
    assert.deepEqual(processesUsing([...homes]), [], 'no Chromium process is left');
    assert.deepEqual(leftovers().filter((name) => !tmpBefore.has(name)), [], 'no temporary HOME or Playwright directory is left');
  });

  it('is detected with its version and playwright-core', async () => {
    const availability = await detectChromium();
    assert.ok(availability.available, JSON.stringify(availability));
    assert.match(availability.version, /^Chromium \d+\.\d+\.\d+\.\d+ \(playwright-core \d+\.\d+\.\d+\)$/);
  });

  it('trusts the CA file through its own NSS database: connects, one connection, and reports what was agreed', async () => {
    const server = await start(serving());
    const { outcome } = await attemptConnection(server, chromiumClient, trusting);
    assert.equal(outcome.connected, true, JSON.stringify(outcome.evidence));
    assert.equal(outcome.httpStatus, 200);
    assert.match(outcome.evidence.client.response!.body, /hello from the node server/);
    assert.equal(outcome.protocol, 'TLSv1.3');
    assert.equal(outcome.cipher, outcome.evidence.server.cipher, 'both ends name the suite the same way');
    assert.equal(outcome.keyExchange, 'ECDH X25519');
    assert.equal(outcome.alpn, 'http/1.1', "Node's https server agrees to http/1.1");
    assert.equal(outcome.compression, 'none');
    assert.equal(outcome.insecure, false);
    assert.equal(outcome.sessionReused, false);
    assert.equal(outcome.serverCertificate?.subject, 'CN=localhost, O=TLS conformance harness');
    assert.equal(outcome.serverCertificate?.issuer, 'CN=Conformance Server CA, O=TLS conformance harness');
    assert.deepEqual(outcome.evidence.server.requests, [{ method: 'GET', path: '/', status: 200 }]);
    assert.deepEqual(await drain(server), [], 'one attempt, one connection: no preconnect, no favicon');

    await remember();
    const [home] = await chromiumHomes();
    assert.ok(home);
    assert.equal(statSync(home).mode & 0o777, 0o700, 'the HOME is 0700');
    const listed = execFileSync('certutil', ['-L', '-d', `sql:${join(home, '.pki', 'nssdb')}`], { encoding: 'utf8' });
    assert.match(listed, /verify-1\s+C,,/, 'the CA is in the browser\'s own database, trusted for servers');
  });

  it('sends path and headers, and reaches the server by an IP address (IPv6 in brackets) without leaving loopback', async () => {
    const server = await start(serving());
    for (const server_hostname of ['127.0.0.1', '::1']) {
      const { outcome } = await attemptConnection(server, chromiumClient, { ...trusting, server_hostname, path: '/some/where?x=1', headers: { 'X-Conformance': 'yes' } });
      assert.equal(outcome.connected, true, `${server_hostname}: ${JSON.stringify(outcome.evidence)}`);
      assert.deepEqual(outcome.evidence.server.requests, [{ method: 'GET', path: '/some/where?x=1', status: 200 }]);
    }
  });

  it('a server from a CA it does not trust: unknown_ca, alert 46 at the server, the refused certificate kept, one connection', async () => {
    const server = await start(serving('untrusted-root'));
    const { outcome } = await attemptConnection(server, chromiumClient, trusting);
    assert.equal(outcome.verdict, 'client rejected server');
    assert.equal(outcome.reason, 'unknown_ca');
    assert.deepEqual(outcome.evidence.client.socketError, { message: 'net::ERR_CERT_AUTHORITY_INVALID' });
    assert.deepEqual(outcome.alert, { code: 46, name: 'certificate_unknown', sentBy: 'client' });
    assert.equal(outcome.phase, 'handshake');
    assert.match(outcome.serverCertificate?.issuer ?? '', /CN=Unrelated CA/, 'the refused certificate is kept as evidence (read from the wire)');
    assert.deepEqual(await drain(server), [], 'no retry');
  });

  it('verify=True is the system store: an empty database of its own, the test CA unknown', async () => {
    const server = await start(serving());
    const { outcome } = await attemptConnection(server, chromiumClient, { ...DEFAULT_CLIENT, verify: true });
    assert.equal(outcome.reason, 'unknown_ca');
  });

  it('a certificate for another name: hostname_mismatch', async () => {
    const server = await start(serving('wrong.host'));
    const { outcome } = await attemptConnection(server, chromiumClient, trusting);
    assert.equal(outcome.verdict, 'client rejected server');
    assert.equal(outcome.reason, 'hostname_mismatch');
    assert.deepEqual(outcome.evidence.client.socketError, { message: 'net::ERR_CERT_COMMON_NAME_INVALID' });
  });

  it('expired and not yet valid: one Chromium word, told apart by the refused certificate\'s dates', async () => {
    const expired = (await attemptConnection(await start(serving('expired')), chromiumClient, trusting)).outcome;
    assert.equal(expired.reason, 'certificate_expired');
    assert.match(expired.evidence.client.socketError?.message ?? '', /^net::ERR_CERT_DATE_INVALID \(not valid after \d{4}-/);
    const early = (await attemptConnection(await start(serving('not-yet-valid')), chromiumClient, trusting)).outcome;
    assert.equal(early.reason, 'certificate_not_yet_valid');
    assert.match(early.evidence.client.socketError?.message ?? '', /^net::ERR_CERT_DATE_INVALID \(not valid before \d{4}-/);
  });

  it('verify=False connects to anything, in one connection, reported as insecure', async () => {
    const server = await start(serving('self-signed'));
    const { outcome } = await attemptConnection(server, chromiumClient, { ...DEFAULT_CLIENT, verify: false });
    assert.equal(outcome.connected, true, JSON.stringify(outcome.evidence));
    assert.equal(outcome.insecure, true);
    assert.equal(outcome.evidence.server.handshakeCompleted, true, 'the connection the server saw first is the one that was served');
    assert.deepEqual(await drain(server), [], 'no refused first connection (what ignoreHTTPSErrors would make)');
    const expired = await start(serving('wrong.host'));
    assert.equal((await attemptConnection(expired, chromiumClient, { ...DEFAULT_CLIENT, verify: false })).outcome.connected, true, 'nor is the name checked');
  });

  it('a leaf given as verify is trusted as itself (a self-signed server)', async () => {
    const server = await start(serving('self-signed'));
    const { outcome } = await attemptConnection(server, chromiumClient, { ...DEFAULT_CLIENT, verify: profileFiles('self-signed').cert });
    assert.equal(outcome.connected, true, JSON.stringify(outcome.evidence));
    assert.equal(outcome.insecure, false);
  });

  it('versions, ciphers and ALPN take effect, and TLS 1.2 suites are named as the server names them', async () => {
    const tls12 = await start(serving('localhost', { ssl_version: 'ssl.PROTOCOL_TLSv1_2' }));
    const capped = (await attemptConnection(await start(serving()), chromiumClient, { ...trusting, maximum_version: 'TLSv1_2' })).outcome;
    assert.equal(capped.protocol, 'TLSv1.2');
    assert.equal(capped.cipher, capped.evidence.server.cipher);
    const chosen = (await attemptConnection(tls12, chromiumClient, { ...trusting, ciphers: 'ECDHE-RSA-CHACHA20-POLY1305' })).outcome;
    assert.equal(chosen.cipher, 'ECDHE-RSA-CHACHA20-POLY1305');
    assert.equal(chosen.evidence.server.cipher, 'ECDHE-RSA-CHACHA20-POLY1305');
    const rsa = (await attemptConnection(await start(serving('localhost', { ssl_version: 'ssl.PROTOCOL_TLSv1_2', ciphers: 'AES128-SHA' })), chromiumClient, trusting)).outcome;
    assert.equal(rsa.cipher, 'AES128-SHA');
    assert.equal(rsa.keyExchange, 'RSA key transport');
    const ecdsa = (await attemptConnection(await start(serving('localhost-ecdsa', { ssl_version: 'ssl.PROTOCOL_TLSv1_2', groups: 'prime256v1' })), chromiumClient, trusting)).outcome;
    assert.equal(ecdsa.cipher, ecdsa.evidence.server.cipher);
    assert.match(ecdsa.cipher ?? '', /^ECDHE-ECDSA-/);
    assert.equal(ecdsa.keyExchange, 'ECDH prime256v1');
    const refused = (await attemptConnection(tls12, chromiumClient, { ...trusting, minimum_version: 'TLSv1_3' })).outcome;
    assert.equal(refused.verdict, 'server rejected client');
    assert.equal(refused.reason, 'protocol_version', "the server's own words name the reason");
    assert.deepEqual(refused.evidence.client.socketError, { message: 'net::ERR_SSL_VERSION_OR_CIPHER_MISMATCH' });
    assert.deepEqual(await drain(tls12), [], 'a refused handshake is not retried');
    const alpn = (await attemptConnection(await start(serving('localhost', { alpn_protocols: ['http/1.1'] })), chromiumClient, { ...trusting, alpn_protocols: ['http/1.1'] })).outcome;
    assert.equal(alpn.alpn, 'http/1.1');
  });

  it('a failed handshake is one connection: no retry after a reset or a version the server refuses', async () => {
    let connections = 0;
    const resetting: Server = createServer((socket: Socket) => {
      connections++;
      socket.on('error', () => undefined);
      socket.once('data', () => socket.resetAndDestroy());
    });
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    try {
      const port = (resetting.address() as { port: number }).port;
      const seen = await chromiumClient.attempt({ host: '127.0.0.1', port }, trusting);
      assert.deepEqual(seen.socketError, { message: 'net::ERR_CONNECTION_RESET' });
      assert.equal(lookUp(seen.socketError)?.reason, 'reset_without_alert');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(connections, 1, "one connection (Chromium's classic pools would retry once)");
    } finally {
      await new Promise((resolve) => resetting.close(resolve));
    }
    const tls11 = await start(serving('localhost', { ssl_version: 'ssl.PROTOCOL_TLSv1_1' }));
    const { outcome } = await attemptConnection(tls11, chromiumClient, trusting);
    assert.equal(outcome.reason, 'protocol_version');
    assert.deepEqual(await drain(tls11), []);
  });

  it('a server that asks for a certificate sees one connection, aborted at the CertificateRequest: the port refuses the reconnection', async () => {
    for (const cert_reqs of ['CERT_OPTIONAL', 'CERT_REQUIRED'] as const) {
      const server = await start(serving('localhost', { cert_reqs, ca_certs: profileFiles('client-ca').cert }));
      const seen = await chromiumClient.attempt({ host: server.host, port: server.port }, trusting);
      assert.equal(seen.response, null, cert_reqs);
      assert.deepEqual(seen.socketError, { message: 'net::ERR_CONNECTION_REFUSED' }, `${cert_reqs}: Chromium connected again, to a port that takes one connection`);
      const [aborted, ...more] = await drain(server);
      assert.deepEqual(more, [], `${cert_reqs}: one connection reached the server`);
      assert.equal(aborted?.handshakeCompleted, false);
      assert.deepEqual(aborted?.requests, []);
      assert.match(chromiumClient.unsupportedServer!({ ...DEFAULT_SERVER, cert_reqs }) ?? '', /aborts the handshake/, 'so the grid does not run these pairs');
    }
  });

  it('never resumes a session: every attempt is a full handshake on a port the browser has not used', async () => {
    const server = await start(serving());
    const ports = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const { outcome } = await attemptConnection(server, chromiumClient, trusting);
      assert.equal(outcome.connected, true);
      assert.equal(outcome.sessionReused, false, 'no pre_shared_key in the ServerHello');
      assert.ok(outcome.serverCertificate, 'a full handshake: the server sent its certificate');
      assert.ok(outcome.evidence.client.localPort, 'the server-side port is known');
      ports.add(outcome.evidence.client.localPort!);
    }
    assert.equal(ports.size, 12, 'twelve connections');
    assert.deepEqual(await drain(server), [], 'and no other');
  });

  it('a timeout is reported as one', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket: Socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const seen = await chromiumClient.attempt({ host: '127.0.0.1', port: (silent.address() as { port: number }).port }, { ...trusting, timeout: 0.5 });
      assert.equal(seen.timedOut, true);
      assert.equal(seen.response, null);
      assert.equal(lookUp(seen.requestError)?.reason, 'timeout');
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('refuses cert through the harness too, before any connection', async () => {
    const server = await start(serving());
    await assert.rejects(
      attemptConnection(server, chromiumClient, { ...trusting, cert: [profileFiles('client').cert, profileFiles('client').key] }),
      (e: Error) => e instanceof UnsupportedSetting && e.message === 'cert: not supported by chromium: cert',
    );
    await assert.rejects(chromiumClient.attempt({ host: server.host, port: server.port }, { ...trusting, cert: [profileFiles('client').cert, profileFiles('client').key] }), (e: Error) => e instanceof UnsupportedSetting && e.message.includes(CERT_WHY));
    await assert.rejects(attemptConnection(server, chromiumClient, { ...trusting, ciphers: 'HIGH' }), UnsupportedSetting);
    assert.deepEqual(await drain(server), [], 'nothing reached the server');
  });

  it('costs a few ms an attempt once warm (one page, a fresh port per attempt): printed, not asserted', async () => {
    const server = await start(serving());
    for (let i = 0; i < 3; i++) await attemptConnection(server, chromiumClient, trusting); // warm-up
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const begun = performance.now();
      assert.equal((await attemptConnection(server, chromiumClient, trusting)).outcome.connected, true);
      times.push(performance.now() - begun);
    }
    console.log(`chromium attempt against the node server (attempt + server observation): median ${median(times).toFixed(1)} ms back to back`);
  });
});
