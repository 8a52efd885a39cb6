/**
 * Document 001's question, answered on recorded bytes: "if someone later
 * obtains our private key, can they decrypt conversations they recorded?"
 *
 * Given only a recording (both directions) and the server's private key, this
 * recovers what the client sent, when that is possible at all: a TLS 1.2
 * session whose key exchange is RSA key transport (the client encrypted the
 * pre-master secret with the server's public key). With ECDHE the key only
 * signed an ephemeral share; with TLS 1.3 even the handshake is encrypted and
 * every key exchange is ephemeral. No key log and no hook into either peer.
 *
 * The key schedule is RFC 5246 with RFC 7627's extended master secret (which
 * OpenSSL 3 negotiates): master = PRF(pre_master, "extended master secret",
 * hash(handshake up to ClientKeyExchange)). Node refuses PKCS#1 v1.5
 * decryption (ERR_INVALID_ARG_VALUE), so the raw RSA operation is Node's
 * (RSA_NO_PADDING) and the padding is taken off here (unpadPkcs1Type2): ten
 * times faster than node-forge's big-integer arithmetic, which it replaced.
 */
import { constants, createDecipheriv, createHash, createHmac, privateDecrypt } from 'node:crypto';
import type { Recording } from './relay';
import { CONTENT, HANDSHAKE, helloExtensions, parseRecords, plaintextHandshake } from './tls-records';

export type Decryption =
  | { readonly decrypted: true; readonly cipherSuite: string; readonly extendedMasterSecret: boolean; readonly clientPlaintext: string }
  | { readonly decrypted: false; readonly why: string };

/** RSA key-transport suites with AES-GCM (RFC 5288): suite id → name, key length, PRF hash. */
const RSA_GCM: Record<number, { name: string; keyLength: number; hash: 'sha256' | 'sha384' }> = {
  0x009c: { name: 'TLS_RSA_WITH_AES_128_GCM_SHA256', keyLength: 16, hash: 'sha256' },
  0x009d: { name: 'TLS_RSA_WITH_AES_256_GCM_SHA384', keyLength: 32, hash: 'sha384' },
};
const EXTENDED_MASTER_SECRET = 0x0017;
const SUPPORTED_VERSIONS = 0x002b;

/** TLS 1.2 PRF: P_hash(secret, label + seed) (RFC 5246 section 5). */
export function prf(hash: 'sha256' | 'sha384', secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
  const labelled = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out: Buffer[] = [];
  let a = labelled;
  let produced = 0;
  while (produced < length) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(Buffer.concat([a, labelled])).digest();
    out.push(block);
    produced += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** The message of a PKCS#1 v1.5 encryption block (RFC 8017 7.2.2): 00 02, eight or more non-zero bytes, 00, the message. */
export function unpadPkcs1Type2(block: Buffer): Buffer {
  const separator = block.indexOf(0, 2);
  if (block[0] !== 0 || block[1] !== 2 || separator < 10) throw new Error('decryption error: not a PKCS#1 v1.5 encryption block');
  return block.subarray(separator + 1);
}

export function decryptRecording(recording: Recording, serverKeyPem: string): Decryption {
  const clientRecords = parseRecords(recording.clientToServer);
  const serverRecords = parseRecords(recording.serverToClient);
  const clientMessages = plaintextHandshake(clientRecords);
  const serverMessages = plaintextHandshake(serverRecords);
  const clientHello = clientMessages.find((m) => m.type === HANDSHAKE.client_hello);
  const serverHello = serverMessages.find((m) => m.type === HANDSHAKE.server_hello);
  if (!clientHello || !serverHello) return { decrypted: false, why: 'no complete handshake was recorded' };

  const serverExtensions = helloExtensions(serverHello.body, 'server');
  const selectedVersion = serverExtensions.get(SUPPORTED_VERSIONS);
  if (selectedVersion && selectedVersion.readUInt16BE(0) === 0x0304) {
    return { decrypted: false, why: 'TLS 1.3: the handshake after ServerHello is encrypted and the key exchange is always ephemeral (EC)DHE; the private key only signs' };
  }
  const sessionIdLength = serverHello.body[34]!;
  const suite = serverHello.body.readUInt16BE(35 + sessionIdLength);
  if (serverMessages.some((m) => m.type === HANDSHAKE.server_key_exchange)) {
    return { decrypted: false, why: `suite 0x${suite.toString(16).padStart(4, '0')} uses an ephemeral key exchange (ServerKeyExchange): the private key only signed the server's share` };
  }
  const parameters = RSA_GCM[suite];
  if (!parameters) return { decrypted: false, why: `suite 0x${suite.toString(16).padStart(4, '0')} is not an RSA key-transport AES-GCM suite this decryptor knows` };

  const clientKeyExchange = clientMessages.find((m) => m.type === HANDSHAKE.client_key_exchange);
  if (!clientKeyExchange) return { decrypted: false, why: 'no ClientKeyExchange was recorded' };
  const encrypted = clientKeyExchange.body.subarray(2, 2 + clientKeyExchange.body.readUInt16BE(0));
  let preMaster: Buffer;
  try {
    preMaster = unpadPkcs1Type2(privateDecrypt({ key: serverKeyPem, padding: constants.RSA_NO_PADDING }, encrypted));
  } catch (error) {
    return { decrypted: false, why: `the private key does not decrypt the pre-master secret: ${(error as Error).message}` };
  }

  const clientRandom = clientHello.body.subarray(2, 34);
  const serverRandom = serverHello.body.subarray(2, 34);
  const extendedMasterSecret = serverExtensions.has(EXTENDED_MASTER_SECRET);
  // The handshake so far, in wire order: ClientHello, the server's first flight (up to ServerHelloDone; a
  // NewSessionTicket comes later), then the client's messages up to ClientKeyExchange.
  const serverFlight = serverMessages.slice(0, serverMessages.findIndex((m) => m.type === HANDSHAKE.server_hello_done) + 1);
  const upToKeyExchange = clientMessages.slice(clientMessages.indexOf(clientHello) + 1, clientMessages.indexOf(clientKeyExchange) + 1);
  const sessionHash = createHash(parameters.hash).update(Buffer.concat([clientHello.raw, ...serverFlight.map((m) => m.raw), ...upToKeyExchange.map((m) => m.raw)])).digest();
  const master = extendedMasterSecret
    ? prf(parameters.hash, preMaster, 'extended master secret', sessionHash, 48)
    : prf(parameters.hash, preMaster, 'master secret', Buffer.concat([clientRandom, serverRandom]), 48);
  const keyBlock = prf(parameters.hash, master, 'key expansion', Buffer.concat([serverRandom, clientRandom]), 2 * parameters.keyLength + 8);
  const clientKey = keyBlock.subarray(0, parameters.keyLength);
  const clientSalt = keyBlock.subarray(2 * parameters.keyLength, 2 * parameters.keyLength + 4);

  // After the client's ChangeCipherSpec: its Finished (sequence 0), then its application data.
  const encryptedRecords = clientRecords.slice(clientRecords.findIndex((r) => r.type === CONTENT.change_cipher_spec) + 1);
  const plaintext: string[] = [];
  let sequence = 0n;
  for (const record of encryptedRecords) {
    const explicitNonce = record.payload.subarray(0, 8);
    const tag = record.payload.subarray(record.payload.length - 16);
    const ciphertext = record.payload.subarray(8, record.payload.length - 16);
    const additional = Buffer.alloc(13);
    additional.writeBigUInt64BE(sequence++, 0);
    additional.writeUInt8(record.type, 8);
    additional.writeUInt16BE(record.version, 9);
    additional.writeUInt16BE(ciphertext.length, 11);
    const decipher = createDecipheriv(parameters.keyLength === 16 ? 'aes-128-gcm' : 'aes-256-gcm', clientKey, Buffer.concat([clientSalt, explicitNonce]));
    decipher.setAAD(additional);
    decipher.setAuthTag(tag);
    let opened: Buffer;
    try {
      opened = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch {
      return { decrypted: false, why: `record ${sequence - 1n} did not authenticate: the derived keys are wrong` };
    }
    if (record.type === CONTENT.application_data) plaintext.push(opened.toString('latin1'));
  }
  return { decrypted: true, cipherSuite: parameters.name, extendedMasterSecret, clientPlaintext: plaintext.join('') };
}
