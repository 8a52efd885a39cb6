/**
 * Reading a recorded TLS byte stream the way a passive observer can: record
 * headers, the handshake messages sent in the clear, the server name (SNI)
 * in the ClientHello. Nothing here needs a key.
 */

export const CONTENT = { change_cipher_spec: 20, alert: 21, handshake: 22, application_data: 23 } as const;
export const HANDSHAKE = { client_hello: 1, server_hello: 2, certificate: 11, server_key_exchange: 12, server_hello_done: 14, client_key_exchange: 16, finished: 20 } as const;

export interface TlsRecord {
  readonly type: number;
  readonly version: number;
  /** The record's bytes, header included. */
  readonly raw: Buffer;
  readonly payload: Buffer;
}

export function parseRecords(stream: Buffer): TlsRecord[] {
  const records: TlsRecord[] = [];
  let offset = 0;
  while (offset + 5 <= stream.length) {
    const length = stream.readUInt16BE(offset + 3);
    if (offset + 5 + length > stream.length) break;
    records.push({ type: stream[offset]!, version: stream.readUInt16BE(offset + 1), raw: stream.subarray(offset, offset + 5 + length), payload: stream.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return records;
}

export interface HandshakeMessage {
  readonly type: number;
  /** Header (type and 3-byte length) and body: what the handshake transcript hashes. */
  readonly raw: Buffer;
  readonly body: Buffer;
}

/** The handshake messages sent in the clear: those before the direction's ChangeCipherSpec (TLS 1.2), or before its first encrypted record (TLS 1.3). */
export function plaintextHandshake(records: readonly TlsRecord[]): HandshakeMessage[] {
  const chunks: Buffer[] = [];
  for (const record of records) {
    if (record.type !== CONTENT.handshake) break;
    chunks.push(record.payload);
  }
  const stream = Buffer.concat(chunks);
  const messages: HandshakeMessage[] = [];
  let offset = 0;
  while (offset + 4 <= stream.length) {
    const length = stream.readUIntBE(offset + 1, 3);
    if (offset + 4 + length > stream.length) break;
    messages.push({ type: stream[offset]!, raw: stream.subarray(offset, offset + 4 + length), body: stream.subarray(offset + 4, offset + 4 + length) });
    offset += 4 + length;
  }
  return messages;
}

/** The extensions of a ClientHello or ServerHello body, by type. */
export function helloExtensions(body: Buffer, kind: 'client' | 'server'): Map<number, Buffer> {
  let offset = 2 + 32; // version, random
  offset += 1 + body[offset]!; // session id
  if (kind === 'client') {
    offset += 2 + body.readUInt16BE(offset); // cipher suites
    offset += 1 + body[offset]!; // compression methods
  } else {
    offset += 2 + 1; // cipher suite, compression method
  }
  const extensions = new Map<number, Buffer>();
  if (offset + 2 > body.length) return extensions;
  const end = offset + 2 + body.readUInt16BE(offset);
  offset += 2;
  while (offset + 4 <= end) {
    const type = body.readUInt16BE(offset);
    const length = body.readUInt16BE(offset + 2);
    extensions.set(type, body.subarray(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return extensions;
}

/** The host name the client put in the server_name extension (RFC 6066), or null when it sent none. */
export function serverNameIndication(clientToServer: Buffer): string | null {
  const hello = plaintextHandshake(parseRecords(clientToServer)).find((m) => m.type === HANDSHAKE.client_hello);
  const extension = hello ? helloExtensions(hello.body, 'client').get(0) : undefined;
  if (!extension || extension.length < 5) return null;
  // server_name_list length (2), name type (1, host_name = 0), name length (2), name
  const length = extension.readUInt16BE(3);
  return extension.subarray(5, 5 + length).toString('latin1');
}

/** The bytes of application data records a direction carried (payload lengths, as an observer sees them). */
export function applicationDataBytes(stream: Buffer): number {
  return parseRecords(stream)
    .filter((r) => r.type === CONTENT.application_data)
    .reduce((sum, r) => sum + r.payload.length, 0);
}
