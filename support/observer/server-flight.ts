/**
 * What the server sent a client in its handshake, read from the bytes that
 * crossed the wire: its version, the certificates it presented, the
 * application protocol it chose (ALPN), and whether it resumed a session.
 *
 * TLS 1.2 and older send all of it in the clear. TLS 1.3 encrypts everything
 * after the ServerHello under the server's handshake traffic secret; the
 * client's key log (NSS format, SERVER_HANDSHAKE_TRAFFIC_SECRET for the
 * ClientHello's random) gives that secret, and RFC 8446 section 7 the rest:
 * key and iv = HKDF-Expand-Label(secret, "key"/"iv", "", length), nonce = iv
 * XOR the record's sequence number, the record header as additional data.
 *
 * Used for Chromium, whose DevTools protocol says nothing of a certificate it
 * refused for a subresource, nor whether ALPN agreed on http/1.1.
 */
import { createDecipheriv, createHmac } from 'node:crypto';
import { CONTENT, HANDSHAKE, helloExtensions, parseRecords, type TlsRecord } from './tls-records';
import { readAppended } from '../read-appended';

export interface ServerFlight {
  /** "TLSv1.3", "TLSv1.2"...: the version the ServerHello chose; null when no ServerHello crossed. */
  readonly version: string | null;
  /** The certificates the server presented (DER, leaf first); null when none crossed or they could not be read. */
  readonly certificates: readonly Buffer[] | null;
  /** The protocol the server chose by ALPN, null for none; undefined when the part of the handshake that says it could not be read. */
  readonly alpn: string | null | undefined;
  /** The server resumed a session (TLS 1.3 pre_shared_key, or a TLS 1.2 abbreviated handshake); undefined when no ServerHello crossed. */
  readonly resumed: boolean | undefined;
  /** Why a TLS 1.3 flight could not be read (no secret in the key log, a record that does not decrypt). */
  readonly unreadable?: string;
}

const EXT = { alpn: 16, supported_versions: 43, pre_shared_key: 41 } as const;
const ENCRYPTED_EXTENSIONS = 8;
const VERSIONS: Readonly<Record<number, string>> = { 0x0301: 'TLSv1', 0x0302: 'TLSv1.1', 0x0303: 'TLSv1.2', 0x0304: 'TLSv1.3' };
/** The ServerHello random that marks a HelloRetryRequest (RFC 8446 4.1.3). */
const RETRY_RANDOM = 'cf21ad74e59a6111be1d8c021e65b891c2a211167abb8c5e079e09e2c8a8339c';

/** TLS 1.3 suites: AEAD, key length, hash. */
const TLS13: Readonly<Record<number, { readonly aead: 'aes-128-gcm' | 'aes-256-gcm' | 'chacha20-poly1305'; readonly keyLength: number; readonly hash: 'sha256' | 'sha384' }>> = {
  0x1301: { aead: 'aes-128-gcm', keyLength: 16, hash: 'sha256' },
  0x1302: { aead: 'aes-256-gcm', keyLength: 32, hash: 'sha384' },
  0x1303: { aead: 'chacha20-poly1305', keyLength: 32, hash: 'sha256' },
};

interface Message {
  readonly type: number;
  readonly body: Buffer;
}

function messages(stream: Buffer): Message[] {
  const found: Message[] = [];
  let offset = 0;
  while (offset + 4 <= stream.length) {
    const length = stream.readUIntBE(offset + 1, 3);
    if (offset + 4 + length > stream.length) break;
    found.push({ type: stream[offset]!, body: stream.subarray(offset + 4, offset + 4 + length) });
    offset += 4 + length;
  }
  return found;
}

/** HKDF-Expand-Label (RFC 8446 7.1) with an empty context. */
export function expandLabel(hash: 'sha256' | 'sha384', secret: Buffer, label: string, length: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([length >> 8, length & 0xff, full.length]), full, Buffer.from([0])]);
  const blocks: Buffer[] = [];
  let previous = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(blocks).length < length; i++) {
    previous = createHmac(hash, secret).update(Buffer.concat([previous, info, Buffer.from([i])])).digest();
    blocks.push(previous);
  }
  return Buffer.concat(blocks).subarray(0, length);
}

function alpnOf(extension: Buffer | undefined): string | null {
  if (!extension || extension.length < 3) return null;
  const length = extension[2]!;
  return extension.subarray(3, 3 + length).toString('latin1');
}

/** A Certificate message's DER certificates: TLS 1.3 has a request context and per-certificate extensions. */
function certificatesOf(body: Buffer, tls13: boolean): Buffer[] {
  let offset = tls13 ? 1 + body[0]! : 0;
  const end = offset + 3 + body.readUIntBE(offset, 3);
  offset += 3;
  const certificates: Buffer[] = [];
  while (offset + 3 <= end) {
    const length = body.readUIntBE(offset, 3);
    certificates.push(body.subarray(offset + 3, offset + 3 + length));
    offset += 3 + length;
    if (tls13) offset += 2 + body.readUInt16BE(offset);
  }
  return certificates;
}

/** The server's encrypted handshake messages (TLS 1.3), as far as they decrypt. */
function decryptFlight(records: readonly TlsRecord[], suite: number, secret: Buffer): { plaintext: Buffer; unreadable?: string } {
  const spec = TLS13[suite];
  if (!spec) return { plaintext: Buffer.alloc(0), unreadable: `suite 0x${suite.toString(16)} is not one this reader decrypts` };
  const key = expandLabel(spec.hash, secret, 'key', spec.keyLength);
  const iv = expandLabel(spec.hash, secret, 'iv', 12);
  const chunks: Buffer[] = [];
  let sequence = 0n;
  for (const record of records) {
    if (record.type === CONTENT.change_cipher_spec) continue;
    if (record.type !== CONTENT.application_data || record.payload.length < 17) break;
    const nonce = Buffer.from(iv);
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(sequence++);
    for (let i = 0; i < 8; i++) nonce[4 + i]! ^= counter[i]!;
    let inner: Buffer;
    try {
      const decipher = createDecipheriv(spec.aead, key, nonce, { authTagLength: 16 } as never) as ReturnType<typeof createDecipheriv> & { setAAD(aad: Buffer, options?: unknown): void; setAuthTag(tag: Buffer): void };
      decipher.setAAD(record.raw.subarray(0, 5), { plaintextLength: record.payload.length - 16 });
      decipher.setAuthTag(record.payload.subarray(record.payload.length - 16));
      inner = Buffer.concat([decipher.update(record.payload.subarray(0, record.payload.length - 16)), decipher.final()]);
    } catch {
      // The first record that does not open under the handshake key is the first under the application key.
      break;
    }
    let end = inner.length;
    while (end > 0 && inner[end - 1] === 0) end--;
    if (end === 0 || inner[end - 1] !== CONTENT.handshake) break;
    chunks.push(inner.subarray(0, end - 1));
  }
  return { plaintext: Buffer.concat(chunks) };
}

/**
 * Read a recording's server flight. `secretFor` gives the key log's
 * SERVER_HANDSHAKE_TRAFFIC_SECRET for a client random (hex), when there is one.
 */
export function readServerFlight(clientToServer: Buffer, serverToClient: Buffer, secretFor: (clientRandom: string) => Buffer | undefined): ServerFlight {
  const fromClient = parseRecords(clientToServer);
  const clientHello = messages(Buffer.concat(fromClient.filter((r) => r.type === CONTENT.handshake).map((r) => r.payload))).find((m) => m.type === HANDSHAKE.client_hello);
  const records = parseRecords(serverToClient);
  // The ServerHello (after a HelloRetryRequest, the second one) and what follows it.
  let at = -1;
  let hello: Message | undefined;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.type !== CONTENT.handshake) continue;
    const found = messages(record.payload).find((m) => m.type === HANDSHAKE.server_hello);
    if (found && found.body.subarray(2, 34).toString('hex') !== RETRY_RANDOM) {
      hello = found;
      at = i;
      break;
    }
  }
  if (!hello) return { version: null, certificates: null, alpn: undefined, resumed: undefined };
  const extensions = helloExtensions(hello.body, 'server');
  const chosen = extensions.get(EXT.supported_versions);
  const wire = chosen && chosen.length >= 2 ? chosen.readUInt16BE(0) : hello.body.readUInt16BE(0);
  const version = VERSIONS[wire] ?? `0x${wire.toString(16)}`;
  const sessionIdLength = hello.body[34]!;
  const suite = hello.body.readUInt16BE(35 + sessionIdLength);

  if (wire !== 0x0304) {
    // TLS 1.2 and older: all in the clear, up to the server's ChangeCipherSpec.
    const clear: Buffer[] = [];
    for (const record of records.slice(at)) {
      if (record.type !== CONTENT.handshake) break;
      clear.push(record.payload);
    }
    const flight = messages(Buffer.concat(clear));
    const certificate = flight.find((m) => m.type === HANDSHAKE.certificate);
    const offeredId = clientHello ? clientHello.body.subarray(35, 35 + clientHello.body[34]!) : Buffer.alloc(0);
    const echoedId = hello.body.subarray(35, 35 + sessionIdLength);
    const resumed = offeredId.length > 0 && offeredId.equals(echoedId) && !certificate;
    return { version, certificates: certificate ? certificatesOf(certificate.body, false) : null, alpn: alpnOf(extensions.get(EXT.alpn)), resumed };
  }

  const resumed = extensions.has(EXT.pre_shared_key);
  const random = clientHello?.body.subarray(2, 34).toString('hex');
  const secret = random ? secretFor(random) : undefined;
  if (!secret) return { version, certificates: null, alpn: undefined, resumed, unreadable: random ? `no SERVER_HANDSHAKE_TRAFFIC_SECRET in the key log for client random ${random}` : 'no ClientHello crossed' };
  const { plaintext, unreadable } = decryptFlight(records.slice(at + 1), suite, secret);
  const flight = messages(plaintext);
  const encryptedExtensions = flight.find((m) => m.type === ENCRYPTED_EXTENSIONS);
  const certificate = flight.find((m) => m.type === HANDSHAKE.certificate);
  let alpn: string | null | undefined;
  if (encryptedExtensions) {
    const list = encryptedExtensions.body;
    const found = new Map<number, Buffer>();
    for (let offset = 2; offset + 4 <= 2 + list.readUInt16BE(0); ) {
      const length = list.readUInt16BE(offset + 2);
      found.set(list.readUInt16BE(offset), list.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
    }
    alpn = alpnOf(found.get(EXT.alpn));
  }
  return {
    version,
    certificates: certificate ? certificatesOf(certificate.body, true) : null,
    alpn,
    resumed,
    ...(unreadable ? { unreadable } : !encryptedExtensions ? { unreadable: 'no encrypted handshake message opened under the logged secret' } : {}),
  };
}

/**
 * An NSS key log read as it grows: SERVER_HANDSHAKE_TRAFFIC_SECRET by client
 * random. `onLine` gets every new line (to copy it to the run's own key log).
 */
export class KeyLogReader {
  private offset = 0;
  private partial = '';
  private readonly secrets = new Map<string, Buffer>();

  constructor(
    readonly path: string,
    private readonly onLine: (line: string) => void = () => undefined,
  ) {}

  private readMore(): void {
    const read = readAppended(this.path, this.offset);
    if (!read) return;
    this.offset = read.position;
    const lines = (this.partial + read.text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line) continue;
      this.onLine(line);
      const [label, random, secret] = line.split(' ');
      if (label === 'SERVER_HANDSHAKE_TRAFFIC_SECRET' && random && secret) this.secrets.set(random.toLowerCase(), Buffer.from(secret, 'hex'));
    }
  }

  /** The secret for a client random, reading what the file gained since the last call. */
  serverHandshakeSecret(clientRandom: string): Buffer | undefined {
    const key = clientRandom.toLowerCase();
    if (!this.secrets.has(key)) this.readMore();
    return this.secrets.get(key);
  }
}
