/**
 * The `node` server: Node's own https server, configured from the documents'
 * vocabulary.
 *
 * Translation, and why:
 * - `cert_reqs=CERT_REQUIRED` → `requestCert: true, rejectUnauthorized: true`,
 *   Node's own way. Node then destroys a connection whose client certificate
 *   fails verification without sending any alert and without telling the
 *   application; the adapter keeps the reason by following each TLS socket
 *   from its first key-log line and reading `authorizationError` when it closes.
 * - `CERT_OPTIONAL` → `requestCert: true, rejectUnauthorized: false`, plus the
 *   check Python's CERT_OPTIONAL makes: a certificate that is presented must
 *   verify; the adapter drops the connection when it does not, as a Node
 *   application would. Node has no built-in equivalent.
 * - `CERT_NONE`, or cert_reqs left unset → `requestCert: false`: no certificate is asked for.
 * - `keyfile` absent → the key is read from `certfile`, as Python does.
 * - `ssl_version`, `minimum_version`, `maximum_version` → `minVersion`/`maxVersion`.
 */
import { SERVER_BASICS } from './declared';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import { ConfigurationError } from '../errors';
import { writeKeylogLine } from '../keylog';
import { alertIn } from '../outcome/error-map';
import { parseSslVersion, PROTOCOL_NAME, versionRange, type ServerSettings } from '../vocabulary';
import { checkServerFiles, hasPem, readPem } from './pem-files';
import { NOT_ACCEPTED, rawError, type CertificateSummary, type RawError, type RunningServer, type ServerImplementation, type ServerObservation } from './types';

/** Errors that mean "the other end went away", not "this end refused". */
const PEER_LEFT = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

export function summarizeCertificate(cert: PeerCertificate | Record<string, never> | null | undefined): CertificateSummary | null {
  if (!cert || !('subject' in cert) || !cert.subject) return null;
  const names = (dn: Record<string, unknown>): string =>
    Object.entries(dn)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
      .join(', ');
  return {
    subject: names(cert.subject as unknown as Record<string, unknown>),
    issuer: names(cert.issuer as unknown as Record<string, unknown>),
    validFrom: cert.valid_from,
    validTo: cert.valid_to,
    ...(cert.subjectaltname ? { subjectAltName: cert.subjectaltname } : {}),
  };
}


interface ConnectionRecord {
  accepted: boolean;
  handshakeCompleted: boolean;
  protocol: string | null;
  cipher: string | null;
  clientCertificate: CertificateSummary | null;
  verificationError: string | null;
  rejection: RawError | null;
  errors: RawError[];
  requests: { method: string; path: string; status: number }[];
  closed: Promise<void>;
  markClosed: () => void;
  tlsSocket: TLSSocket | null;
}

function newRecord(): ConnectionRecord {
  let markClosed!: () => void;
  const closed = new Promise<void>((resolve) => (markClosed = resolve));
  return {
    accepted: true,
    handshakeCompleted: false,
    protocol: null,
    cipher: null,
    clientCertificate: null,
    verificationError: null,
    rejection: null,
    errors: [],
    requests: [],
    closed,
    markClosed,
    tlsSocket: null,
  };
}

/**
 * Node itself starts without a certificate or without a key, and then fails
 * every handshake ("no suitable signature algorithm"): the adapter passes
 * exactly what it was given, so that is what the scenarios show.
 */
function translate(settings: ServerSettings): https.ServerOptions {
  const certText = settings.certfile ? readPem('certfile', settings.certfile, 'certificate') : undefined;
  let key: string | undefined;
  if (settings.keyfile) key = readPem('keyfile', settings.keyfile, 'private key');
  else if (certText && hasPem(certText, 'private key')) key = certText; // Python: no keyfile → the key is in certfile
  const ssl = parseSslVersion(settings.ssl_version);
  if ('problem' in ssl) throw new ConfigurationError('ssl_version', ssl.problem);
  if (ssl.constant === 'PROTOCOL_TLS_CLIENT') {
    throw new ConfigurationError('ssl_version', 'ssl.PROTOCOL_TLS_CLIENT cannot create a server-side socket');
  }
  const range = versionRange(ssl.constant, settings.minimum_version, settings.maximum_version);
  const verifying = settings.cert_reqs === 'CERT_OPTIONAL' || settings.cert_reqs === 'CERT_REQUIRED';
  return {
    ...(certText ? { cert: certText } : {}),
    ...(key ? { key } : {}),
    ...(settings.ca_certs ? { ca: readPem('ca_certs', settings.ca_certs, 'certificate') } : {}),
    requestCert: verifying,
    rejectUnauthorized: settings.cert_reqs === 'CERT_REQUIRED',
    ...(range.min ? { minVersion: PROTOCOL_NAME[range.min] } : {}),
    ...(range.max ? { maxVersion: PROTOCOL_NAME[range.max] } : {}),
    ...(settings.ciphers ? { ciphers: settings.ciphers } : {}),
    ...(settings.groups ? { ecdhCurve: settings.groups } : {}),
    ...(settings.server_preferred_order !== undefined ? { honorCipherOrder: settings.server_preferred_order } : {}),
    ...(settings.alpn_protocols ? { ALPNProtocols: [...settings.alpn_protocols] } : {}),
  };
}

/** Node reports a key that does not fit its certificate as an OpenSSL error at context creation. */
function configurationErrorFrom(error: unknown, settings: ServerSettings): ConfigurationError {
  const raw = rawError(error);
  if (/KEY_VALUES_MISMATCH|key values mismatch/i.test(`${raw.code} ${raw.message}`)) {
    return new ConfigurationError('keyfile', 'the private key does not match the certificate in certfile', settings.keyfile ?? settings.certfile);
  }
  if (/curve|group/i.test(raw.message) && settings.groups) {
    return new ConfigurationError('groups', `not a group list this OpenSSL accepts: ${JSON.stringify(settings.groups)} (${raw.message})`);
  }
  if (/cipher/i.test(raw.message) && settings.ciphers) {
    return new ConfigurationError('ciphers', `no cipher matches ${JSON.stringify(settings.ciphers)} (${raw.message})`);
  }
  if (/PEM|asn1|DECODER|bad base64|no start line/i.test(`${raw.code} ${raw.message}`)) {
    return new ConfigurationError('certfile', `cannot be loaded: ${raw.message}`, settings.certfile);
  }
  return new ConfigurationError('server', raw.message);
}

class NodeRunningServer implements RunningServer {
  readonly implementation = 'node';
  readonly host = '127.0.0.1';
  private readonly connections = new Map<number, ConnectionRecord>();

  constructor(
    private readonly server: https.Server,
    readonly port: number,
    private readonly settings: ServerSettings,
  ) {
    server.on('connection', (socket: Socket) => this.onConnection(socket));
    server.on('keylog', (line: Buffer, tlsSocket: TLSSocket) => {
      writeKeylogLine(line);
      this.follow(tlsSocket);
    });
    // Before the HTTP layer's own listener, so a rejected client never reaches a request handler.
    server.prependListener('secureConnection', (tlsSocket: TLSSocket) => this.onSecure(tlsSocket));
    server.on('tlsClientError', (error: Error, tlsSocket: TLSSocket) => this.onClientError(error, tlsSocket));
  }

  private record(port: number | undefined): ConnectionRecord | undefined {
    return port === undefined ? undefined : this.connections.get(port);
  }

  private onConnection(socket: Socket): void {
    const port = socket.remotePort;
    if (port === undefined) return;
    const record = newRecord();
    this.connections.set(port, record);
    // The raw socket closes with the TLS socket built on it.
    socket.once('close', () => record.markClosed());
  }

  /** Keep hold of the TLS socket from its first key-log line: Node may destroy it before any event reaches us. */
  private follow(tlsSocket: TLSSocket): void {
    const record = this.record(tlsSocket.remotePort);
    if (!record || record.tlsSocket) return;
    record.tlsSocket = tlsSocket;
    tlsSocket.once('close', () => {
      if (!record.handshakeCompleted && this.settings.cert_reqs === 'CERT_REQUIRED' && tlsSocket.authorizationError) {
        record.verificationError = String(tlsSocket.authorizationError);
        record.clientCertificate ??= summarizeCertificate(tlsSocket.getPeerCertificate());
        record.rejection ??= { code: String(tlsSocket.authorizationError), message: 'Node destroyed the connection: the client certificate failed verification (no alert sent)' };
      }
      record.markClosed();
    });
  }

  private onSecure(tlsSocket: TLSSocket): void {
    const record = this.record(tlsSocket.remotePort);
    if (!record) return;
    record.handshakeCompleted = true;
    record.protocol = tlsSocket.getProtocol();
    record.cipher = tlsSocket.getCipher()?.name ?? null;
    record.clientCertificate = summarizeCertificate(tlsSocket.getPeerCertificate());
    // Node sets authorizationError even when no certificate was presented; only a presented one was verified.
    if (record.clientCertificate && tlsSocket.authorizationError) record.verificationError = String(tlsSocket.authorizationError);
    if (this.settings.cert_reqs === 'CERT_OPTIONAL' && record.clientCertificate && !tlsSocket.authorized) {
      // Python's CERT_OPTIONAL: a certificate that is presented must verify.
      record.rejection = {
        code: String(tlsSocket.authorizationError),
        message: 'the adapter dropped the connection: the optional client certificate failed verification (no alert sent)',
      };
      tlsSocket.destroy();
    }
  }

  private onClientError(error: Error, tlsSocket: TLSSocket): void {
    const record = this.record(tlsSocket.remotePort);
    if (!record) return;
    const raw = rawError(error);
    // The client leaving, or an alert the client sent, is evidence; anything else is this server refusing.
    if ((raw.code && PEER_LEFT.has(raw.code)) || alertIn(raw)) record.errors.push(raw);
    else record.rejection ??= raw;
  }

  handle(request: IncomingMessage, response: ServerResponse): void {
    const record = this.record(request.socket.remotePort);
    if (record?.rejection) {
      request.socket.destroy();
      return;
    }
    const status = 200;
    record?.requests.push({ method: request.method ?? '?', path: request.url ?? '/', status });
    if (this.settings.end_without_close_notify) {
      // No Content-Length; the end of the body is the end of the connection, and that end is a bare TCP close.
      const socket = request.socket;
      socket.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nthe first part of a longer body', () => socket.destroy());
      return;
    }
    response.writeHead(status, { 'content-type': 'text/plain', connection: 'close' });
    response.end('hello from the node server\n');
  }

  async observe(clientPort: number | null, settleMs = 1000): Promise<ServerObservation> {
    // Without a port: the oldest connection not observed yet (the map keeps accept order).
    const port = clientPort ?? this.connections.keys().next().value;
    const record = port === undefined ? undefined : this.connections.get(port);
    if (!record) return NOT_ACCEPTED;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([record.closed, new Promise<void>((resolve) => (timer = setTimeout(resolve, settleMs)))]);
    clearTimeout(timer);
    this.connections.delete(port!);
    const { closed: _closed, markClosed: _mark, tlsSocket: _socket, ...observation } = record;
    return { ...observation, errors: [...observation.errors], requests: [...observation.requests] };
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

export const nodeServer: ServerImplementation = {
  name: 'node',
  supports: [...SERVER_BASICS, 'groups', 'server_preferred_order', 'alpn_protocols', 'end_without_close_notify'],
  summary: "Node's https.createServer: requestCert/rejectUnauthorized from cert_reqs",
  async detect() {
    return { available: true, version: `Node ${process.versions.node}, OpenSSL ${process.versions.openssl}` };
  },
  async start(settings: ServerSettings): Promise<RunningServer> {
    checkServerFiles(settings);
    const options = translate(settings);
    let server: https.Server;
    let running: NodeRunningServer | undefined;
    try {
      server = https.createServer(options, (request, response) => running!.handle(request, response));
    } catch (error) {
      throw configurationErrorFrom(error, settings);
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    running = new NodeRunningServer(server, (server.address() as AddressInfo).port, settings);
    return running;
  },
};
