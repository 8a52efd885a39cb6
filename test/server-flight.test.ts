/**
 * The wire's account of a server's handshake flight (support/observer/server-flight.ts):
 * real Node handshakes through the passive relay, the client's key log giving the TLS 1.3 secrets.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { Relay } from '../support/observer/relay';
import { expandLabel, readServerFlight, type ServerFlight } from '../support/observer/server-flight';
import { unpadPkcs1Type2 } from '../support/observer/decrypt-tls12';
import { constants, generateKeyPairSync, privateDecrypt, publicEncrypt } from 'node:crypto';
import { loadPki, profileFiles } from '../support/pki';

describe('what a server sent in its handshake, read from the wire', () => {
  const secrets = new Map<string, Buffer>();
  const servers: tls.Server[] = [];
  const secretFor = (random: string): Buffer | undefined => secrets.get(random);
  let ca: Buffer;

  before(async () => {
    await loadPki();
    ca = readFileSync(profileFiles('server-ca').cert);
  });
  after(() => {
    for (const server of servers) server.close();
  });

  async function serve(options: tls.TlsOptions): Promise<number> {
    const server = tls.createServer({ key: readFileSync(profileFiles('full-chain').key), cert: readFileSync(profileFiles('full-chain').cert), ...options }, (socket) => {
      socket.on('error', () => undefined);
      socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
    });
    server.on('tlsClientError', () => undefined);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as { port: number }).port;
  }

  async function through(port: number, options: tls.ConnectionOptions = {}): Promise<{ flight: ServerFlight; session?: Buffer; socket: { alpn: string | false; version: string | null } }> {
    const relay = await Relay.start(port);
    let session: Buffer | undefined;
    const socket = await new Promise<{ alpn: string | false; version: string | null }>((resolve) => {
      const client = tls.connect({ host: '127.0.0.1', port: relay.port, servername: 'localhost', ca, ...options });
      client.on('keylog', (line: Buffer) => {
        const [label, random, secret] = line.toString('latin1').trim().split(' ');
        if (label === 'SERVER_HANDSHAKE_TRAFFIC_SECRET') secrets.set(random!, Buffer.from(secret!, 'hex'));
      });
      client.on('session', (s: Buffer) => (session = s));
      client.on('error', () => resolve({ alpn: false, version: null }));
      client.on('data', () => undefined);
      client.on('end', () => client.end());
      client.on('secureConnect', () => resolve({ alpn: client.alpnProtocol ?? false, version: client.getProtocol() }));
    });
    const recording = (await relay.take(2000))!;
    await relay.close();
    return { flight: readServerFlight(recording.clientToServer, recording.serverToClient, secretFor), session, socket };
  }

  it('HKDF-Expand-Label matches RFC 8448 (server handshake key and iv of the simple 1-RTT trace)', () => {
    const secret = Buffer.from('b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38', 'hex');
    assert.equal(expandLabel('sha256', secret, 'key', 16).toString('hex'), '3fce516009c21727d0f2e4e86ee403bc');
    assert.equal(expandLabel('sha256', secret, 'iv', 12).toString('hex'), '5d313eb2671276ee13000b30');
  });

  it('TLS 1.3: the certificates (leaf first, with the chain) and the ALPN choice, opened with the key log', async () => {
    const port = await serve({ ALPNProtocols: ['http/1.1'] });
    for (const cipher of ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256']) {
      const { flight } = await through(port, { ALPNProtocols: ['h2', 'http/1.1'], ciphers: cipher });
      assert.equal(flight.version, 'TLSv1.3', cipher);
      assert.equal(flight.unreadable, undefined, cipher);
      assert.equal(flight.alpn, 'http/1.1', cipher);
      assert.equal(flight.resumed, false);
      assert.equal(flight.certificates?.length, 2, 'leaf and intermediate');
      assert.match(new X509Certificate(flight.certificates![0]!).subject, /CN=localhost/);
    }
    const none = await through(await serve({}), { ALPNProtocols: ['http/1.1'] });
    assert.equal(none.flight.alpn, null, 'the server chose none');
  });

  it('TLS 1.3 after a HelloRetryRequest: the second ServerHello is the one read', async () => {
    const port = await serve({ ecdhCurve: 'secp384r1' });
    const { flight, socket } = await through(port, { ecdhCurve: 'X25519:secp384r1' });
    assert.equal(socket.version, 'TLSv1.3');
    assert.equal(flight.unreadable, undefined);
    assert.ok(flight.certificates?.length);
  });

  it('TLS 1.2: read in the clear; a resumed session is seen, in both versions', async () => {
    const port = await serve({ ALPNProtocols: ['http/1.1'], maxVersion: 'TLSv1.2' });
    const first = await through(port, { ALPNProtocols: ['http/1.1'] });
    assert.equal(first.flight.version, 'TLSv1.2');
    assert.equal(first.flight.alpn, 'http/1.1');
    assert.equal(first.flight.resumed, false);
    assert.equal(first.flight.certificates?.length, 2);
    const again = await through(port, { session: first.session });
    assert.equal(again.flight.resumed, true, 'an abbreviated handshake');
    assert.equal(again.flight.certificates, null, 'no certificate in a resumed handshake');

    const port13 = await serve({});
    const full = await through(port13);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const resumed = await through(port13, { session: full.session });
    assert.equal(resumed.flight.resumed, true, 'pre_shared_key in the ServerHello');
  });

  it("a leaked key's raw RSA operation and the PKCS#1 v1.5 padding taken off give back what was encrypted", () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const preMaster = Buffer.concat([Buffer.from([3, 3]), Buffer.alloc(46, 7)]);
    const encrypted = publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_PADDING }, preMaster);
    assert.deepEqual(unpadPkcs1Type2(privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, encrypted)), preMaster);
    assert.throws(() => unpadPkcs1Type2(Buffer.alloc(256, 1)), /not a PKCS#1 v1.5 encryption block/);
  });

  it('says what it could not read instead of guessing', () => {
    assert.deepEqual(readServerFlight(Buffer.alloc(0), Buffer.alloc(0), secretFor), { version: null, certificates: null, alpn: undefined, resumed: undefined });
  });

  it('TLS 1.3 without the secret: unreadable, with the reason', async () => {
    const port = await serve({});
    const relay = await Relay.start(port);
    await new Promise<void>((resolve) => {
      const client = tls.connect({ host: '127.0.0.1', port: relay.port, servername: 'localhost', ca }, () => (client.end(), resolve()));
      client.on('error', () => resolve());
    });
    const recording = (await relay.take(2000))!;
    await relay.close();
    const flight = readServerFlight(recording.clientToServer, recording.serverToClient, () => undefined);
    assert.equal(flight.version, 'TLSv1.3');
    assert.equal(flight.certificates, null);
    assert.equal(flight.alpn, undefined);
    assert.match(flight.unreadable ?? '', /^no SERVER_HANDSHAKE_TRAFFIC_SECRET in the key log for client random [0-9a-f]{64}$/);
  });
});
