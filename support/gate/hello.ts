/**
 * One ClientHello written byte by byte, and the server's first answer read
 * back: its ServerHello (version, suite, compression method, extensions) or
 * its alert. This asks a real server what no TLS library here lets a client
 * ask: whether it would take SSLv3, DEFLATE compression, or a downgraded
 * hello carrying TLS_FALLBACK_SCSV, and whether its ServerHello carries
 * renegotiation_info and extended_master_secret. The connection is closed
 * after the ServerHello: nothing is encrypted, nothing is mocked.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

/** The wire versions (RFC 8446 §4.1.2 legacy_version). */
export const WIRE_VERSION = { SSLv3: 0x0300, TLSv1: 0x0301, TLSv1_1: 0x0302, TLSv1_2: 0x0303 } as const;
export type WireVersionName = keyof typeof WIRE_VERSION;

/** Extension numbers (IANA TLS ExtensionType registry). */
export const EXTENSION = { server_name: 0, supported_groups: 10, ec_point_formats: 11, signature_algorithms: 13, extended_master_secret: 23, renegotiation_info: 0xff01 } as const;

/** RFC 5746 §3.3 and RFC 7507 §2: signalling suites, not real ones. */
const EMPTY_RENEGOTIATION_INFO_SCSV = 0x00ff;
export const TLS_FALLBACK_SCSV = 0x5600;

/**
 * Every suite code a TLS ≤ 1.2 server might know: the whole 0x00xx and 0xC0xx
 * blocks and the ChaCha20 block. Unknown codes are ignored by servers (RFC
 * 5246 §7.4.1.2), so offering them all asks the server for any suite it has.
 */
const EVERY_SUITE: readonly number[] = [
  ...range(0x0001, 0x00fe),
  ...range(0xc001, 0xc0ff),
  ...range(0xcca8, 0xccae),
];

/** Groups: x25519, secp256r1, secp384r1, secp521r1, x448, ffdhe2048-8192 (RFC 8422, 7919). */
const GROUPS = [0x001d, 0x0017, 0x0018, 0x0019, 0x001e, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104];
/** Signature schemes, SHA-1 ones included, so that no server refuses for want of one (RFC 8446 §4.2.3). */
const SIGNATURE_SCHEMES = [0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807, 0x0808, 0x0203, 0x0201, 0x0402, 0x0202];

export interface HelloRequest {
  readonly host: string;
  readonly port: number;
  /** Sent in server_name unless it is an IP address. */
  readonly servername: string;
  readonly version: WireVersionName;
  /** Compression methods offered, in order (0 = null, 1 = DEFLATE). Default: null only. */
  readonly compression?: readonly number[];
  /** Add TLS_FALLBACK_SCSV to the suites (RFC 7507). */
  readonly fallbackScsv?: boolean;
  readonly timeoutMs?: number;
}

export type HelloAnswer =
  | {
      readonly kind: 'server-hello';
      readonly version: number;
      readonly suite: number;
      readonly compression: number;
      readonly extensions: ReadonlySet<number>;
    }
  | { readonly kind: 'alert'; readonly level: number; readonly description: number }
  /** The server closed or reset the connection without a ServerHello or an alert. */
  | { readonly kind: 'closed'; readonly detail: string };

export function clientHello(request: HelloRequest): Buffer {
  const version = WIRE_VERSION[request.version];
  const suites = [...EVERY_SUITE, EMPTY_RENEGOTIATION_INFO_SCSV, ...(request.fallbackScsv ? [TLS_FALLBACK_SCSV] : [])];
  const extensions: Buffer[] = [];
  if (version > WIRE_VERSION.SSLv3) {
    if (net.isIP(request.servername) === 0) {
      const name = Buffer.from(request.servername, 'ascii');
      extensions.push(extension(EXTENSION.server_name, u16(name.length + 3), Buffer.from([0]), u16(name.length), name));
    }
    extensions.push(extension(EXTENSION.supported_groups, u16(GROUPS.length * 2), ...GROUPS.map(u16)));
    extensions.push(extension(EXTENSION.ec_point_formats, Buffer.from([1, 0])));
    if (version >= WIRE_VERSION.TLSv1_2) extensions.push(extension(EXTENSION.signature_algorithms, u16(SIGNATURE_SCHEMES.length * 2), ...SIGNATURE_SCHEMES.map(u16)));
    extensions.push(extension(EXTENSION.extended_master_secret));
  }
  const compression = request.compression ?? [0];
  const extensionBytes = Buffer.concat(extensions);
  const body = Buffer.concat([
    u16(version),
    randomBytes(32),
    Buffer.from([0]), // no session id
    u16(suites.length * 2),
    ...suites.map(u16),
    Buffer.from([compression.length, ...compression]),
    ...(version > WIRE_VERSION.SSLv3 ? [u16(extensionBytes.length), extensionBytes] : []),
  ]);
  const handshake = Buffer.concat([Buffer.from([1]), u24(body.length), body]);
  // Record version: TLS 1.0 for every later hello (RFC 8446 §5.1 allows either; old servers want 0x0301).
  return Buffer.concat([Buffer.from([22]), u16(Math.min(version, WIRE_VERSION.TLSv1)), u16(handshake.length), handshake]);
}

/** Send one hello and read the first answer: a ServerHello, an alert, or the connection ending. */
export function sendHello(request: HelloRequest): Promise<HelloAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: request.host, port: request.port });
    let records = Buffer.alloc(0);
    let handshake = Buffer.alloc(0);
    let settled = false;
    const finish = (answer: HelloAnswer | Error): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (answer instanceof Error) reject(answer);
      else resolve(answer);
    };
    socket.setTimeout(request.timeoutMs ?? 5000, () => finish(new Error(`no answer to a ClientHello within ${request.timeoutMs ?? 5000} ms`)));
    socket.once('connect', () => socket.write(clientHello(request)));
    socket.on('data', (chunk: Buffer) => {
      records = Buffer.concat([records, chunk]);
      while (records.length >= 5) {
        const length = records.readUInt16BE(3);
        if (records.length < 5 + length) return;
        const type = records[0]!;
        const fragment = records.subarray(5, 5 + length);
        records = records.subarray(5 + length);
        if (type === 21 && fragment.length >= 2) return finish({ kind: 'alert', level: fragment[0]!, description: fragment[1]! });
        if (type !== 22) return finish({ kind: 'closed', detail: `record type ${type} before a ServerHello` });
        handshake = Buffer.concat([handshake, fragment]);
        if (handshake.length >= 4) {
          const size = handshake.readUIntBE(1, 3);
          if (handshake.length < 4 + size) continue;
          if (handshake[0] !== 2) return finish({ kind: 'closed', detail: `handshake message ${handshake[0]} before a ServerHello` });
          try {
            return finish(parseServerHello(handshake.subarray(4, 4 + size)));
          } catch (error) {
            return finish({ kind: 'closed', detail: `a ServerHello that cannot be read (${(error as Error).message})` });
          }
        }
      }
    });
    socket.once('end', () => finish({ kind: 'closed', detail: 'the server closed the connection' }));
    socket.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') finish({ kind: 'closed', detail: `the server reset the connection (${error.code})` });
      else finish(error);
    });
  });
}

function parseServerHello(body: Buffer): HelloAnswer {
  let at = 0;
  const take = (n: number): Buffer => {
    if (at + n > body.length) throw new Error('truncated');
    const part = body.subarray(at, at + n);
    at += n;
    return part;
  };
  const version = take(2).readUInt16BE(0);
  take(32); // random
  take(take(1)[0]!); // session id
  const suite = take(2).readUInt16BE(0);
  const compression = take(1)[0]!;
  const extensions = new Set<number>();
  if (at + 2 <= body.length) {
    const end = at + 2 + take(2).readUInt16BE(0);
    while (at + 4 <= end) {
      const type = take(2).readUInt16BE(0);
      take(take(2).readUInt16BE(0));
      extensions.add(type);
    }
  }
  return { kind: 'server-hello', version, suite, compression, extensions };
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function u24(value: number): Buffer {
  const b = Buffer.alloc(3);
  b.writeUIntBE(value, 0, 3);
  return b;
}

function extension(type: number, ...data: Buffer[]): Buffer {
  const body = Buffer.concat(data);
  return Buffer.concat([u16(type), u16(body.length), body]);
}
