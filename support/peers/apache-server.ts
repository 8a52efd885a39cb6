/**
 * The `apache` server: apache2 with mod_ssl, in the foreground (-X, one
 * process) from a temporary ServerRoot, terminating TLS as document 001 says
 * many deployments do: certfile/keyfile → SSLCertificateFile/
 * SSLCertificateKeyFile; cert_reqs → SSLVerifyClient none | optional |
 * require; ca_certs → SSLCACertificateFile; versions → SSLProtocol; ciphers →
 * SSLCipherSuite. Evidence comes from its access log (client port, protocol,
 * cipher, SSL_CLIENT_VERIFY, status) and its error log (LogLevel ssl:info).
 */
import { SERVER_BASICS } from './declared';
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, UnsupportedSetting } from '../errors';
import { type ServerSettings, PROTOCOL_NAME } from '../vocabulary';
import { sortServerErrors } from './openssl-server';
import { checkServerFiles } from './pem-files';
import { onFreePort, quote, startLoggingServer, temporaryDirectory, versionsToList } from './process-server';
import { NOT_ACCEPTED, type Availability, type RunningServer, type ServerImplementation, type ServerObservation } from './types';

const APACHE = process.env.TLS_CONFORMANCE_APACHE ?? '/usr/sbin/apache2';
const MODULES = process.env.TLS_CONFORMANCE_APACHE_MODULES ?? '/usr/lib/apache2/modules';
const VERIFY_CLIENT = { CERT_NONE: 'none', CERT_OPTIONAL: 'optional', CERT_REQUIRED: 'require' } as const;

export function apacheConfig(settings: ServerSettings, directory: string, port: number): string {
  const versions = versionsToList(settings);
  const alpn = settings.alpn_protocols?.join(',');
  // Apache agrees on ALPN from its Protocols directive; h2 would need mod_http2, which this configuration does not load.
  if (alpn !== undefined && alpn !== 'http/1.1') {
    throw new UnsupportedSetting('apache', 'alpn_protocols', `apache (without mod_http2) agrees to http/1.1 only, not ${JSON.stringify(alpn)}`);
  }
  const at = (name: string): string => quote(join(directory, name));
  const lines = [
    `ServerRoot ${quote(directory)}`,
    `Listen 127.0.0.1:${port}`,
    `PidFile ${at('httpd.pid')}`,
    `Mutex file:${directory} default`,
    'ServerName localhost',
    ...['mpm_prefork', 'authz_core', 'dir', 'alias', 'ssl'].map((m) => `LoadModule ${m}_module ${quote(join(MODULES, `mod_${m}.so`))}`),
    // Root reads the keys at start-up; the one process then serves as nobody.
    'User nobody',
    'Group nogroup',
    `ErrorLog ${at('error.log')}`,
    'LogLevel warn ssl:info',
    `LogFormat "%{remote}p %{SSL_PROTOCOL}x %{SSL_CIPHER}x \\"%{SSL_CLIENT_VERIFY}x\\" \\"%{SSL_CLIENT_S_DN}x\\" \\"%r\\" %>s" conformance`,
    `CustomLog ${at('access.log')} conformance`,
    `DocumentRoot ${at('htdocs')}`,
    'DirectoryIndex index.html',
    // Any path answers with the page, as the other servers do.
    `AliasMatch "^/.+" ${at('htdocs/index.html')}`,
    'SSLEngine on',
    ...(settings.certfile ? [`SSLCertificateFile ${quote(settings.certfile)}`] : []),
    ...(settings.keyfile ? [`SSLCertificateKeyFile ${quote(settings.keyfile)}`] : []),
    ...(settings.ca_certs ? [`SSLCACertificateFile ${quote(settings.ca_certs)}`] : []),
    ...(settings.cert_reqs ? [`SSLVerifyClient ${VERIFY_CLIENT[settings.cert_reqs]}`, 'SSLVerifyDepth 9'] : []),
    ...(versions ? [`SSLProtocol -all ${versions.map((v) => `+${PROTOCOL_NAME[v]}`).join(' ')}`] : []),
    ...(settings.ciphers ? [`SSLCipherSuite ${quote(settings.ciphers)}`] : []),
    ...(settings.groups ? [`SSLOpenSSLConfCmd Groups ${quote(settings.groups)}`] : []),
    ...(settings.server_preferred_order !== undefined ? [`SSLHonorCipherOrder ${settings.server_preferred_order ? 'on' : 'off'}`] : []),
    ...(alpn ? ['Protocols http/1.1'] : []),
  ];
  return lines.join('\n') + '\n';
}

const ACCESS = /^(\d+) (\S+) (\S+) "([^"]*)" "([^"]*)" "([^"]*)" (\d+)$/m;

/**
 * The lines about the connection from `clientPort`. Apache (one prefork process
 * here, one connection at a time) starts each connection's error-log lines
 * with "[client 127.0.0.1:<port>] AH01964: Connection to child … established";
 * its own lines follow, some without the client's address (SSL Library Error),
 * until the next connection's. Its access line starts with the port. Before
 * that line has come, nothing is this connection's.
 */
export function narrowApache(text: string, clientPort: number): string {
  const lines = text.split('\n');
  const start = lines.findIndex((line) => line.includes(`[client 127.0.0.1:${clientPort}] AH01964:`));
  if (start < 0) return lines.filter((line) => line.startsWith(`${clientPort} `)).join('\n');
  const end = lines.findIndex((line, i) => i > start && /\] AH01964: Connection to child/.test(line) && !line.includes(`[client 127.0.0.1:${clientPort}]`));
  const errorLog = lines.slice(start, end < 0 ? undefined : end).filter((line) => !ACCESS.test(line));
  const access = lines.filter((line) => ACCESS.test(line) && line.startsWith(`${clientPort} `));
  return [...errorLog, ...access].join('\n') + '\n';
}

export function observeApache(text: string): ServerObservation {
  const access = ACCESS.exec(text);
  const library = [...text.matchAll(/SSL Library Error: (error:[^\n]+)/g)].map((m) => m[1]!.trim());
  const verification = /Certificate Verification: Error \(\d+\): ([^\n]+)/.exec(text)?.[1]?.trim() ?? null;
  const dropped = /Connection reset by peer|AH02008: SSL library error \d+ in handshake/.exec(text);
  if (!access && library.length === 0 && !verification && !dropped) return NOT_ACCEPTED;
  const sorted = sortServerErrors(library);
  const errors = sorted.errors;
  let rejection = sorted.rejection;
  if (verification && !rejection) rejection = { code: 'verify', message: `apache: certificate verification: ${verification}` };
  if (!access) return { ...NOT_ACCEPTED, accepted: true, verificationError: verification, rejection, errors };
  const [, , protocol, cipher, , subject, request, status] = access;
  const [method, path] = request!.split(' ');
  return {
    accepted: true,
    handshakeCompleted: true,
    protocol: protocol === '-' ? null : protocol!,
    cipher: cipher === '-' ? null : cipher!,
    clientCertificate: subject && subject !== '-' ? { subject: subject.split(/(?<!\\),/).join(', '), issuer: '' } : null,
    verificationError: verification,
    rejection,
    errors,
    requests: method ? [{ method, path: path ?? '/', status: Number(status) }] : [],
  };
}

function detectApache(): Promise<Availability> {
  return new Promise((resolve) => {
    execFile(APACHE, ['-v'], { timeout: 5000 }, (error, stdout) => {
      const version = /Apache\/(\S+)/.exec(stdout)?.[1];
      resolve(error || !version ? { available: false, hint: 'apt-get install -y apache2' } : { available: true, version: `Apache ${version} (mod_ssl)` });
    });
  });
}

function refusal(text: string): ConfigurationError {
  const fatal = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /:emerg\]|Syntax error|AH00526|AH00015/.test(l))
    .map((l) => l.replace(/^\[[^\]]*\] \[[^\]]*\] \[pid [^\]]*\] /, ''));
  const line = fatal.join(' | ') || text.trim().split('\n').slice(-2).join(' | ');
  if (/KeyFile|private key|key values mismatch|KEY_VALUES_MISMATCH/i.test(line)) return new ConfigurationError('keyfile', `apache: ${line}`);
  if (/CACertificate|acceptable CA|client authentication/i.test(line)) return new ConfigurationError('ca_certs', `apache: ${line}`);
  if (/Certificate|certificate/.test(line)) return new ConfigurationError('certfile', `apache: ${line}`);
  if (/Cipher/i.test(line)) return new ConfigurationError('ciphers', `apache: ${line}`);
  return new ConfigurationError('server', `apache: ${line}`);
}

export const apacheServer: ServerImplementation = {
  name: 'apache',
  supports: [...SERVER_BASICS, 'groups', 'server_preferred_order', 'alpn_protocols'],
  summary: 'apache2 + mod_ssl: SSLCertificateFile/KeyFile, SSLVerifyClient none|optional|require, SSLCACertificateFile',
  detect: detectApache,
  async start(settings: ServerSettings): Promise<RunningServer> {
    checkServerFiles(settings);
    return onFreePort((port) => startOn(port, settings));
  },
};

function startOn(port: number, settings: ServerSettings): Promise<RunningServer> {
  const directory = temporaryDirectory('apache');
  chmodSync(directory, 0o755);
  mkdirSync(join(directory, 'htdocs'), { mode: 0o755 });
  writeFileSync(join(directory, 'htdocs', 'index.html'), 'hello from apache\n', { mode: 0o644 });
  writeFileSync(join(directory, 'httpd.conf'), apacheConfig(settings, directory, port));
  return startLoggingServer({
    implementation: 'apache',
    command: APACHE,
    args: ['-X', '-d', directory, '-f', join(directory, 'httpd.conf')],
    directory,
    port,
    logs: [join(directory, 'access.log'), join(directory, 'error.log')],
    // Apache opens its port before mod_ssl checks the certificates: only the pid file says it is serving.
    pidFile: join(directory, 'httpd.pid'),
    refusal: (output) => refusal(output),
    // A connection's story ends with its access line, an SSL error, or, for a client that said its port, mod_ssl's
    // "Connection closed to child" for that port (ssl:info, the end of any connection; another connection's line,
    // written late, must not end this one's).
    settled: (text, clientPort) =>
      ACCESS.test(text) || /SSL Library Error|Certificate Verification: Error|Connection reset by peer/.test(text) || (clientPort !== null && text.includes(`[client 127.0.0.1:${clientPort}] AH01998: Connection closed to child`)),
    observe: observeApache,
    narrow: narrowApache,
  });
}
