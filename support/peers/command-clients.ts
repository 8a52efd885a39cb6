/**
 * Clients that are command-line programs, one process per attempt (a fresh
 * full handshake by construction):
 * - `curl`: `--cacert` for verify, `-k` for verify=False, `--cert/--key`,
 *   `--resolve name:port:127.0.0.1` so that the URL keeps server_hostname;
 * - `openssl`: `openssl s_client` with `-CAfile -verify_return_error
 *   -verify_hostname` (s_client checks nothing unless told), sending one GET.
 *   It exits 1 even on success when the server skips close_notify: its exit
 *   status is ignored; what it printed is read instead.
 */
import { CLIENT_BASICS } from './declared';
import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { ConfigurationError, UnsupportedSetting } from '../errors';
import { keylogFile } from '../keylog';
import type { ClientSettings, TlsVersion } from '../vocabulary';
import { checkClientFiles } from './pem-files';
import { localPortIn, withShim } from './nodelay';
import type { Availability, CertificateSummary, ClientImplementation, ClientObservation, ClientTarget, RawError } from './types';

const TLS_FLAG: Record<TlsVersion, string> = { TLSv1: '1.0', TLSv1_1: '1.1', TLSv1_2: '1.2', TLSv1_3: '1.3' };
const OPENSSL_PROTOCOL: Record<TlsVersion, string> = { TLSv1: 'TLSv1', TLSv1_1: 'TLSv1.1', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' };

export { runProgram, type Ran } from '../spawner';
import { runProgram } from '../spawner';

function versionOf(command: string, args: readonly string[], parse: (out: string) => string | null, hint: string): Promise<Availability> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 5000 }, (error, stdout) => {
      const version = error ? null : parse(stdout);
      resolve(version ? { available: true, version } : { available: false, hint });
    });
  });
}

/** "CN = localhost, O = x" or "CN=localhost; O=x" → "CN=localhost, O=x", like the other adapters. */
function distinguishedName(text: string): string {
  return text
    .split(/[;,]\s*/)
    .map((part) => part.replace(/\s*=\s*/, '='))
    .join(', ');
}

function httpResponse(text: string): ClientObservation['response'] {
  const start = text.search(/HTTP\/1\.[01] \d{3}/);
  if (start < 0) return null;
  const status = Number(/HTTP\/1\.[01] (\d{3})/.exec(text.slice(start))![1]);
  return { status, body: text.slice(start).split(/\r?\n\r?\n/).slice(1).join('\n\n') };
}

function hostForUrl(name: string): string {
  return isIP(name) === 6 ? `[${name}]` : name;
}

/** curl offers ALPN from its HTTP version flags only: http/1.1 (--http1.1) or h2 and http/1.1 (--http2). */
function curlAlpn(protocols: readonly string[] | undefined): string[] {
  if (!protocols) return [];
  const list = protocols.join(',');
  if (list === 'http/1.1') return ['--http1.1'];
  if (list === 'h2,http/1.1') return ['--http2'];
  throw new UnsupportedSetting('curl', 'alpn_protocols', `curl offers only "http/1.1" (--http1.1) or "h2,http/1.1" (--http2), not ${JSON.stringify(list)}`);
}

export const curlClient: ClientImplementation = {
  name: 'curl',
  supports: CLIENT_BASICS,
  summary: 'curl: --cacert for verify, -k for verify=False, --cert/--key for cert, --resolve to dial 127.0.0.1',
  detect: () =>
    versionOf('curl', ['--version'], (out) => {
      const m = /^curl (\S+).*?(OpenSSL\/\S+)/m.exec(out);
      return m ? `curl ${m[1]}, ${m[2]!.replace('/', ' ')}` : null;
    }, 'apt-get install -y curl'),
  async attempt(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
    checkClientFiles(settings);
    const name = settings.server_hostname;
    const args = ['-sS', '-v', '--max-time', String(settings.timeout), '-o', '-', '-w', '\n@@curl %{http_code} %{local_port}\n'];
    if (!isIP(name)) args.push('--resolve', `${name}:${target.port}:127.0.0.1`);
    if (typeof settings.verify === 'string') args.push('--cacert', settings.verify);
    else if (settings.verify === false) args.push('-k');
    if (settings.cert) args.push('--cert', settings.cert[0], '--key', settings.cert[1]);
    if (settings.minimum_version) args.push(`--tlsv${TLS_FLAG[settings.minimum_version]}`);
    if (settings.maximum_version) args.push('--tls-max', TLS_FLAG[settings.maximum_version]);
    if (settings.ciphers) args.push('--ciphers', settings.ciphers);
    args.push(...curlAlpn(settings.alpn_protocols));
    for (const [header, value] of Object.entries(settings.headers ?? {})) args.push('-H', `${header}: ${value}`);
    args.push(`https://${hostForUrl(name)}:${target.port}${settings.path ?? '/'}`);
    const ran = await runProgram('curl', args, '', (settings.timeout + 5) * 1000);

    const refused = /^curl: \(59\) (.+)$/m.exec(ran.stderr);
    // curl connects first and sets its cipher list then: the server saw a connection.
    if (refused) throw Object.assign(new ConfigurationError('ciphers', `curl: ${refused[1]}`), { afterConnecting: true });
    const trailer = /\n@@curl (\d{3}) (\d+)\n$/.exec(ran.stdout);
    const status = trailer ? Number(trailer[1]) : 0;
    const session = /\* SSL connection using (\S+) \/ (\S+)/.exec(ran.stderr);
    const subject = /\*\s+subject: (.+)/.exec(ran.stderr);
    const issuer = /\*\s+issuer: (.+)/.exec(ran.stderr);
    const failure = /^curl: \((\d+)\) (.+)$/m.exec(ran.stderr);
    const alpn = /ALPN[,:] server accepted (?:to use )?(\S+)/.exec(ran.stderr)?.[1] ?? null;
    const error: RawError | null = failure ? { code: `CURLE ${failure[1]}`, message: failure[2]! } : null;
    const serverCertificate: CertificateSummary | null = subject && issuer ? { subject: distinguishedName(subject[1]!), issuer: distinguishedName(issuer[1]!) } : null;
    return {
      localPort: trailer && trailer[2] !== '0' ? Number(trailer[2]) : null,
      handshakeCompleted: session !== null,
      protocol: session?.[1] ?? null,
      cipher: session?.[2] ?? null,
      keyExchange: null,
      sessionReused: false,
      alpn,
      serverCertificate,
      verified: settings.verify !== false,
      response: status > 0 ? { status, body: ran.stdout.slice(0, trailer?.index ?? undefined) } : null,
      socketError: status > 0 ? null : error,
      requestError: status > 0 ? null : error,
      endError: status > 0 ? error : null,
      timedOut: ran.timedOut || failure?.[1] === '28',
    };
  },
};

export const opensslClient: ClientImplementation = {
  name: 'openssl',
  supports: CLIENT_BASICS,
  summary: 'openssl s_client: -CAfile + -verify_return_error + -verify_hostname for verify, -cert/-key for cert; one GET',
  detect: () => versionOf('openssl', ['version'], (out) => (/^OpenSSL (\S+)/.exec(out) ? `OpenSSL ${/^OpenSSL (\S+)/.exec(out)![1]} s_client` : null), 'apt-get install -y openssl'),
  async attempt(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
    checkClientFiles(settings);
    const name = settings.server_hostname;
    const ip = isIP(name) !== 0;
    // -state: "SSL_connect:error in ..." tells a failed handshake from a failure after it
    // (s_client prints the negotiated session either way).
    const args = ['s_client', '-state', '-connect', `127.0.0.1:${target.port}`, '-ign_eof', ...(keylogFile() ? ['-keylogfile', keylogFile()!] : [])];
    if (!ip) args.push('-servername', name);
    if (settings.verify !== false) {
      if (typeof settings.verify === 'string') args.push('-CAfile', settings.verify);
      args.push('-verify_return_error', ip ? '-verify_ip' : '-verify_hostname', name);
    }
    if (settings.cert) args.push('-cert', settings.cert[0], '-key', settings.cert[1]);
    if (settings.minimum_version) args.push('-min_protocol', OPENSSL_PROTOCOL[settings.minimum_version]);
    if (settings.maximum_version) args.push('-max_protocol', OPENSSL_PROTOCOL[settings.maximum_version]);
    if (settings.ciphers) args.push('-cipher', settings.ciphers);
    if (settings.alpn_protocols) args.push('-alpn', settings.alpn_protocols.join(','));
    const headers = Object.entries(settings.headers ?? {}).map(([header, value]) => `${header}: ${value}\r\n`).join('');
    const request = `GET ${settings.path ?? '/'} HTTP/1.1\r\nHost: ${hostForUrl(name)}:${target.port}\r\n${headers}Connection: close\r\n\r\n`;
    // The shim has s_client say its local port (it prints only the server's): the server's evidence is then that connection's.
    const program = await runProgram('openssl', args, request, settings.timeout * 1000, { env: await withShim({ reportPort: true }) });
    const reported = localPortIn(program.stderr);
    const ran = { ...program, stderr: reported.stderr };

    if (/Error setting cipher list|no cipher match/i.test(ran.stderr) && !/CONNECTED/.test(ran.stdout)) {
      throw new ConfigurationError('ciphers', `openssl s_client: ${ran.stderr.split('\n').find((l) => /cipher/i.test(l))?.trim()}`);
    }
    const negotiated = /^New, (TLSv[\d.]+), Cipher is (\S+)/m.exec(ran.stdout);
    const session = negotiated && !/SSL_connect:error in/.test(ran.stderr) ? negotiated : null;
    const tempKey = /^Server Temp Key: ([^,\n]+)/m.exec(ran.stdout);
    const subject = /^subject=(.+)$/m.exec(ran.stdout);
    const issuer = /^issuer=(.+)$/m.exec(ran.stdout);
    const errorLine = ran.stderr.split('\n').find((line) => /:error:/.test(line));
    const verifyError = /verify error:num=\d+:(.+)/.exec(ran.stderr);
    const message = [errorLine, verifyError?.[1]].filter(Boolean).join(' | ');
    const error: RawError | null = message ? { code: 'openssl s_client', message } : null;
    const response = httpResponse(ran.stdout.slice(ran.stdout.indexOf('---\nHTTP') >= 0 ? ran.stdout.lastIndexOf('---\nHTTP') : 0));
    return {
      localPort: reported.port,
      handshakeCompleted: session !== null,
      protocol: session?.[1] ?? null,
      cipher: session?.[2] ?? null,
      keyExchange: session ? (tempKey ? `ECDH ${tempKey[1]}` : session[1] === 'TLSv1.2' ? 'RSA key transport' : null) : null,
      compression: session ? (/^Compression: (\S+)/m.exec(ran.stdout)?.[1]?.toLowerCase() ?? null) : null,
      alpn: /^ALPN protocol: (\S+)/m.exec(ran.stdout)?.[1] ?? null,
      sessionReused: false,
      serverCertificate: subject && issuer ? { subject: distinguishedName(subject[1]!), issuer: distinguishedName(issuer[1]!) } : null,
      verified: settings.verify !== false,
      response,
      socketError: response ? null : error,
      requestError: null,
      endError: response ? error : null,
      timedOut: ran.timedOut && !response,
    };
  },
};
