/**
 * The `axios` client: one `GET /` per attempt through axios, with requests'
 * vocabulary translated into a fresh `https.Agent`:
 * - `verify` = CA path → `ca` + `rejectUnauthorized: true`; `true` → Node's
 *   bundled roots; `false` → `rejectUnauthorized: false` (never the global
 *   process-wide switch that turns verification off).
 * - `cert` = (cert, key) → `cert`, `key`.
 * - `server_hostname` → the URL's host and the SNI name; the socket itself
 *   always dials 127.0.0.1.
 * - `timeout` (seconds) → axios `timeout` in milliseconds.
 *
 * Every attempt is a fresh full handshake: a new agent with `keepAlive: false`
 * and `maxCachedSessions: 0`, so neither a pooled socket nor a cached TLS
 * session can hide a handshake failure (`sessionReused` is recorded to prove it).
 */
import { CLIENT_BASICS } from './declared';
import axios from 'axios';
import https from 'node:https';
import { isIP } from 'node:net';
import tls, { type TLSSocket } from 'node:tls';
import { type ClientSettings, PROTOCOL_NAME } from '../vocabulary';
import { summarizeCertificate } from './node-server';
import { ConfigurationError } from '../errors';
import { keylogFile, writeKeylogLine } from '../keylog';
import { readPem } from './pem-files';
import { rawError, type ClientImplementation, type ClientObservation, type ClientTarget, type RawError } from './types';

const axiosVersion: string = (require('axios/package.json') as { version: string }).version;


function keyExchange(socket: TLSSocket): string | null {
  const info = socket.getEphemeralKeyInfo();
  if (info && 'type' in info && info.type) return `${info.type} ${info.name ?? ''}`.trim();
  // TLS 1.2 with a non-(EC)DHE suite: the client encrypted the pre-master secret with the server's RSA key.
  return socket.getProtocol() === 'TLSv1.2' ? 'RSA key transport' : null;
}

const contexts = new Map<string, tls.SecureContext>();

/**
 * The client's secure context, built once per settings (no session is kept in
 * it: resumption in Node needs the agent's session cache, which is off). A
 * cipher list OpenSSL cannot use is the client refusing its configuration.
 */
function secureContext(settings: ClientSettings): tls.SecureContext {
  const key = JSON.stringify([settings.verify, settings.cert, settings.minimum_version, settings.maximum_version, settings.ciphers]);
  let context = contexts.get(key);
  if (!context) {
    try {
      context = tls.createSecureContext(tlsOptions(settings));
    } catch (error) {
      const raw = rawError(error);
      throw new ConfigurationError(/cipher/i.test(raw.message) ? 'ciphers' : 'cert', `${raw.code ?? ''} ${raw.message}`.trim());
    }
    contexts.set(key, context);
  }
  return context;
}

function tlsOptions(settings: ClientSettings): tls.ConnectionOptions {
  const { verify, cert } = settings;
  return {
    ...(typeof verify === 'string' ? { ca: readPem('verify', verify, 'certificate') } : {}),
    rejectUnauthorized: verify !== false,
    ...(cert ? { cert: readPem('cert', cert[0], 'certificate'), key: readPem('cert', cert[1], 'private key') } : {}),
    ...(settings.minimum_version ? { minVersion: PROTOCOL_NAME[settings.minimum_version] } : {}),
    ...(settings.maximum_version ? { maxVersion: PROTOCOL_NAME[settings.maximum_version] } : {}),
    ...(settings.ciphers ? { ciphers: settings.ciphers } : {}),
  };
}

export const axiosClient: ClientImplementation = {
  name: 'axios',
  supports: CLIENT_BASICS,
  summary: 'axios GET with its own https.Agent: verify → ca/rejectUnauthorized, cert → cert/key',
  async detect() {
    return { available: true, version: `axios ${axiosVersion}, Node ${process.versions.node}, OpenSSL ${process.versions.openssl}` };
  },
  async attempt(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
    const options = {
      secureContext: secureContext(settings),
      rejectUnauthorized: settings.verify !== false,
      ...(settings.alpn_protocols ? { ALPNProtocols: [...settings.alpn_protocols] } : {}),
    };
    const seen = {
      localPort: null as number | null,
      handshakeCompleted: false,
      protocol: null as string | null,
      cipher: null as string | null,
      keyExchange: null as string | null,
      sessionReused: false,
      alpn: null as string | null,
      serverCertificate: null as ClientObservation['serverCertificate'],
      socketError: null as RawError | null,
    };
    const agent = new https.Agent({ keepAlive: false, maxCachedSessions: 0, ...options });
    // The agent builds the socket; this is where we watch it. The name stays for SNI and identity; the address is loopback.
    agent.createConnection = (connectOptions: tls.ConnectionOptions) => {
      const socket = tls.connect({ ...connectOptions, host: target.host, port: target.port });
      socket.once('connect', () => (seen.localPort = socket.localPort ?? null));
      socket.once('secureConnect', () => {
        seen.handshakeCompleted = true;
        seen.protocol = socket.getProtocol();
        seen.cipher = socket.getCipher()?.name ?? null;
        seen.keyExchange = keyExchange(socket);
        seen.sessionReused = socket.isSessionReused();
        seen.alpn = socket.alpnProtocol || null;
      });
      socket.on('error', (error) => (seen.socketError ??= rawError(error)));
      if (keylogFile()) socket.on('keylog', writeKeylogLine);
      // The certificate is there even when verification fails: keep it as evidence.
      const capture = (): void => {
        seen.serverCertificate ??= summarizeCertificate(socket.getPeerCertificate());
      };
      socket.once('secureConnect', capture);
      socket.once('error', capture);
      return socket; // the agent calls its own callback with what we return
    };
    const host = isIP(settings.server_hostname) === 6 ? `[${settings.server_hostname}]` : settings.server_hostname;
    let response: ClientObservation['response'] = null;
    let requestError: RawError | null = null;
    let timedOut = false;
    try {
      const reply = await axios.get<string>(`https://${host}:${target.port}${settings.path ?? '/'}`, {
        headers: { ...settings.headers },
        httpsAgent: agent,
        timeout: settings.timeout * 1000,
        responseType: 'text',
        transitional: { clarifyTimeoutError: true },
        validateStatus: () => true,
        proxy: false,
        maxRedirects: 0,
      });
      response = { status: reply.status, body: String(reply.data) };
    } catch (error) {
      requestError = rawError(error);
      timedOut = requestError.code === 'ETIMEDOUT' || requestError.code === 'ECONNABORTED';
    } finally {
      agent.destroy();
    }
    return { ...seen, verified: settings.verify !== false, response, requestError, timedOut };
  },
};
