/**
 * The `nginx` server: a configuration generated per server settings and run
 * in the foreground (`daemon off; master_process off`) from a temporary
 * prefix, terminating TLS as document 001 says many deployments do:
 * certfile/keyfile → ssl_certificate/ssl_certificate_key; cert_reqs →
 * ssl_verify_client on | optional | off; ca_certs → ssl_client_certificate;
 * versions → ssl_protocols; ciphers → ssl_ciphers. Evidence comes from its
 * access log (client port, protocol, cipher, $ssl_client_verify, status) and
 * its error log at level info (handshake failures).
 */
import { SERVER_BASICS } from './declared';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigurationError, UnsupportedSetting } from '../errors';
import { type ServerSettings, PROTOCOL_NAME } from '../vocabulary';
import { sortServerErrors } from './openssl-server';
import { checkServerFiles } from './pem-files';
import { onFreePort, quote, startLoggingServer, temporaryDirectory, versionsToList } from './process-server';
import { NOT_ACCEPTED, type Availability, type RunningServer, type ServerImplementation, type ServerObservation } from './types';

const VERIFY_CLIENT = { CERT_NONE: 'off', CERT_OPTIONAL: 'optional', CERT_REQUIRED: 'on' } as const;

export function nginxConfig(settings: ServerSettings, directory: string, port: number): string {
  const versions = versionsToList(settings);
  const alpn = settings.alpn_protocols?.join(',');
  // nginx chooses ALPN itself: http/1.1 for HTTPS, and h2 first when http2 is on.
  if (alpn !== undefined && alpn !== 'http/1.1' && alpn !== 'h2,http/1.1') {
    throw new UnsupportedSetting('nginx', 'alpn_protocols', `nginx agrees to http/1.1, or h2 and http/1.1 (listen ... http2), not ${JSON.stringify(alpn)}`);
  }
  const lines = [
    `listen 127.0.0.1:${port} ssl${alpn === 'h2,http/1.1' ? ' http2' : ''};`,
    'server_name localhost;',
    ...(settings.certfile ? [`ssl_certificate ${quote(settings.certfile)};`, `ssl_certificate_key ${quote(settings.keyfile ?? settings.certfile)};`] : []),
    ...(settings.ca_certs ? [`ssl_client_certificate ${quote(settings.ca_certs)};`] : []),
    ...(settings.cert_reqs ? [`ssl_verify_client ${VERIFY_CLIENT[settings.cert_reqs]};`, 'ssl_verify_depth 9;'] : []),
    ...(versions ? [`ssl_protocols ${versions.map((v) => PROTOCOL_NAME[v]).join(' ')};`] : []),
    ...(settings.ciphers ? [`ssl_ciphers ${quote(settings.ciphers)};`] : []),
    ...(settings.groups ? [`ssl_ecdh_curve ${quote(settings.groups)};`] : []),
    ...(settings.server_preferred_order !== undefined ? [`ssl_prefer_server_ciphers ${settings.server_preferred_order ? 'on' : 'off'};`] : []),
    'location / { return 200 "hello from nginx\\n"; }',
  ];
  const at = (name: string): string => quote(join(directory, name));
  return `daemon off;
master_process off;
worker_processes 1;
pid ${at('nginx.pid')};
error_log ${at('error.log')} info;
events { worker_connections 256; }
http {
  log_format conformance '$remote_port $ssl_protocol $ssl_cipher "$ssl_client_verify" "$ssl_client_s_dn" "$request" $status';
  access_log ${at('access.log')} conformance;
  client_body_temp_path ${at('body')};
  proxy_temp_path ${at('proxy')};
  fastcgi_temp_path ${at('fastcgi')};
  uwsgi_temp_path ${at('uwsgi')};
  scgi_temp_path ${at('scgi')};
  server {
    ${lines.join('\n    ')}
  }
}
`;
}

const ACCESS = /^(\d+) (\S+) (\S+) "([^"]*)" "([^"]*)" "([^"]*)" (\d+)$/m;

/** An RFC 2253 name as nginx logs it ("CN=conformance client,O=x") → "CN=conformance client, O=x". */
function dn(text: string): string {
  return text.split(/(?<!\\),/).join(', ');
}

export function observeNginx(text: string): ServerObservation {
  const access = ACCESS.exec(text);
  const handshakeErrors = [...text.matchAll(/SSL_do_handshake\(\) failed \(SSL: ([^)]*(?:\([^)]*\))?[^)]*)\)/g)].map((m) => m[1]!);
  const dropped = /peer closed connection in SSL handshake|client (closed|prematurely closed) connection/.exec(text);
  if (!access && handshakeErrors.length === 0 && !dropped) return NOT_ACCEPTED;
  const { rejection, errors } = sortServerErrors(handshakeErrors);
  if (dropped) errors.push({ message: dropped[0] });
  if (!access) {
    return { ...NOT_ACCEPTED, accepted: true, rejection, errors };
  }
  const [, , protocol, cipher, verify, subject, request, status] = access;
  const failedVerify = /^FAILED:(.+)$/.exec(verify!)?.[1] ?? null;
  const [method, path] = request!.split(' ');
  const code = Number(status);
  return {
    accepted: true,
    handshakeCompleted: true,
    protocol: protocol === '-' ? null : protocol!,
    cipher: cipher === '-' ? null : cipher!,
    clientCertificate: subject && subject !== '-' ? { subject: dn(subject), issuer: '' } : null,
    verificationError: failedVerify,
    rejection: code === 400 && verify !== 'SUCCESS' ? { code: 'HTTP 400', message: `nginx answered 400 with ssl_client_verify=${verify}` } : rejection,
    errors,
    requests: method ? [{ method, path: path ?? '/', status: code }] : [],
  };
}

function detectNginx(): Promise<Availability> {
  return new Promise((resolve) => {
    execFile('nginx', ['-v'], { timeout: 5000 }, (error, _stdout, stderr) => {
      const version = /nginx\/(\S+)/.exec(stderr)?.[1];
      execFile('nginx', ['-V'], { timeout: 5000 }, (_e, _o, built) => {
        const openssl = /built with OpenSSL (\S+)/.exec(built)?.[1];
        resolve(error || !version ? { available: false, hint: 'apt-get install -y nginx' } : { available: true, version: `nginx ${version}${openssl ? `, OpenSSL ${openssl}` : ''}` });
      });
    });
  });
}

function refusal(text: string, settings: ServerSettings): ConfigurationError {
  const line = text.split('\n').find((l) => /\[emerg\]|\[alert\]|\[crit\]/.test(l))?.replace(/^.*?\[(emerg|alert|crit)\] \d+#\d+: /, '') ?? text.trim();
  if (/ssl_client_certificate/.test(line)) return new ConfigurationError('ca_certs', `nginx: ${line}`);
  if (/ssl_certificate_key|PrivateKey|key values mismatch|KEY_VALUES_MISMATCH/.test(line)) return new ConfigurationError('keyfile', `nginx: ${line}`);
  if (/ssl_certificate/.test(line)) return new ConfigurationError('certfile', `nginx: ${line}`);
  if (/ssl_ciphers|cipher/.test(line)) return new ConfigurationError('ciphers', `nginx: ${line}`);
  return new ConfigurationError(settings.certfile ? 'server' : 'certfile', `nginx: ${line}`);
}

export const nginxServer: ServerImplementation = {
  name: 'nginx',
  supports: [...SERVER_BASICS, 'groups', 'server_preferred_order', 'alpn_protocols'],
  summary: 'nginx terminating TLS: ssl_certificate(_key), ssl_verify_client on|optional|off, ssl_client_certificate',
  detect: detectNginx,
  async start(settings: ServerSettings): Promise<RunningServer> {
    checkServerFiles(settings);
    return onFreePort((port) => startOn(port, settings));
  },
};

function startOn(port: number, settings: ServerSettings): Promise<RunningServer> {
  const directory = temporaryDirectory('nginx');
  writeFileSync(join(directory, 'nginx.conf'), nginxConfig(settings, directory, port));
  return startLoggingServer({
    implementation: 'nginx',
    command: 'nginx',
    args: ['-p', directory, '-c', join(directory, 'nginx.conf'), '-e', join(directory, 'error.log')],
    directory,
    port,
    logs: [join(directory, 'access.log'), join(directory, 'error.log')],
    pidFile: join(directory, 'nginx.pid'),
    refusal: (output) => (output.includes('[emerg]') ? refusal(output, settings) : null),
    settled: (text) => ACCESS.test(text) || /SSL_do_handshake\(\) failed|closed connection/.test(text),
    observe: observeNginx,
  });
}
