/**
 * The `openssl` server: `openssl s_server -www` (answers `GET /` with a status
 * page), configured from the documents' vocabulary:
 * certfile/keyfile → -cert/-key; cert_reqs CERT_OPTIONAL → -verify,
 * CERT_REQUIRED → -Verify, both with -verify_return_error (otherwise s_server
 * only prints verification errors); ca_certs → -CAfile; versions →
 * -min_protocol/-max_protocol; ciphers → -cipher. It listens on port 0 and
 * prints the port it got. Its per-connection state lines (-state) are the
 * server end's evidence.
 */
import { SERVER_BASICS } from './declared';
import { execFile } from 'node:child_process';
import { ConfigurationError } from '../errors';
import { keylogFile } from '../keylog';
import { alertIn, lookUp } from '../outcome/error-map';
import { spawnTracked } from '../processes';
import { parseSslVersion, versionRange, type ServerSettings, PROTOCOL_NAME } from '../vocabulary';
import { checkServerFiles, readPem } from './pem-files';

function certificateCount(path: string): number {
  return readPem('certfile', path, 'certificate').match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
}
import { atMostEvery, serverSideOpen, Tail, stopAndRemove, temporaryDirectory, waitUntilReady } from './process-server';
import { NOT_ACCEPTED, type Availability, type RawError, type RunningServer, type ServerImplementation, type ServerObservation } from './types';

/** Sort a server program's error line: an alert the client sent or the client leaving is evidence; anything else is a refusal. */
export function sortServerError(line: string): { rejection: RawError | null; error: RawError | null } {
  const raw: RawError = { message: line.trim() };
  const entry = lookUp(raw);
  if (alertIn(raw) || entry?.meaning === 'dropped' || entry?.meaning === 'timeout') return { rejection: null, error: raw };
  return { rejection: raw, error: null };
}

/** Sort a server program's error lines into its refusal (the first) and the rest of the evidence. */
export function sortServerErrors(lines: readonly string[]): { rejection: RawError | null; errors: RawError[] } {
  let rejection: RawError | null = null;
  const errors: RawError[] = [];
  for (const line of lines) {
    const sorted = sortServerError(line);
    rejection ??= sorted.rejection;
    if (sorted.error) errors.push(sorted.error);
  }
  return { rejection, errors };
}

export function opensslVersion(): Promise<Availability> {
  return new Promise((resolve) => {
    execFile('openssl', ['version'], { timeout: 5000 }, (error, stdout) => {
      const version = /^OpenSSL (\S+)/.exec(stdout)?.[1];
      resolve(error || !version ? { available: false, hint: 'apt-get install -y openssl' } : { available: true, version: `OpenSSL ${version} s_server` });
    });
  });
}

function argumentsFor(settings: ServerSettings): string[] {
  const args = ['s_server', '-state', '-accept', '127.0.0.1:0', '-www', ...(keylogFile() ? ['-keylogfile', keylogFile()!] : [])];
  if (settings.certfile) {
    args.push('-cert', settings.certfile);
    // -cert reads only the first certificate of the file; the intermediates after it are sent only when named again.
    if (certificateCount(settings.certfile) > 1) args.push('-cert_chain', settings.certfile);
    // Python's rule: no keyfile → the key is in certfile. s_server reads the key from -cert by default too.
    if (settings.keyfile) args.push('-key', settings.keyfile);
  } else {
    args.push('-nocert');
  }
  if (settings.cert_reqs === 'CERT_OPTIONAL') args.push('-verify', '9', '-verify_return_error');
  if (settings.cert_reqs === 'CERT_REQUIRED') args.push('-Verify', '9', '-verify_return_error');
  if (settings.ca_certs) args.push('-CAfile', settings.ca_certs);
  const ssl = parseSslVersion(settings.ssl_version);
  if ('problem' in ssl) throw new ConfigurationError('ssl_version', ssl.problem);
  const range = versionRange(ssl.constant, settings.minimum_version, settings.maximum_version);
  if (range.min) args.push('-min_protocol', PROTOCOL_NAME[range.min]);
  if (range.max) args.push('-max_protocol', PROTOCOL_NAME[range.max]);
  if (settings.ciphers) args.push('-cipher', settings.ciphers);
  if (settings.groups) args.push('-groups', settings.groups);
  if (settings.server_preferred_order) args.push('-serverpref');
  if (settings.alpn_protocols) args.push('-alpn', settings.alpn_protocols.join(','));
  return args;
}

/** The part of s_server's output about one connection, as an observation. */
export function observeStateLines(text: string): ServerObservation {
  if (!/before SSL initialization/.test(text)) return NOT_ACCEPTED;
  const lines = text.split('\n');
  const { rejection, errors } = sortServerErrors(lines.filter((line) => /:error:/.test(line)));
  const verify = /verify error:num=\d+:(.+)/.exec(text)?.[1]?.trim() ?? null;
  const subject = /^depth=0 (.+)$/m.exec(text)?.[1];
  const failed = /SSL_accept:error in/.test(text);
  return {
    accepted: true,
    handshakeCompleted: !failed,
    protocol: null,
    cipher: null,
    clientCertificate: subject ? { subject: subject.replace(/\s*=\s*/g, '=').replace(/,\s*/g, ', '), issuer: '' } : null,
    verificationError: verify,
    rejection: rejection ?? (verify ? { code: verify, message: `s_server refused the client certificate: ${verify}` } : null),
    errors,
    // -www answers GET / and then shuts the connection down with close_notify.
    requests: !failed && /alert write:warning:close notify/.test(text) ? [{ method: 'GET', path: '/', status: 200 }] : [],
  };
}

export const opensslServer: ServerImplementation = {
  name: 'openssl',
  supports: [...SERVER_BASICS, 'groups', 'server_preferred_order', 'alpn_protocols'],
  summary: 'openssl s_server -www: -cert/-key, -verify/-Verify with -verify_return_error, -CAfile',
  detect: opensslVersion,
  async start(settings: ServerSettings): Promise<RunningServer> {
    checkServerFiles(settings);
    const args = argumentsFor(settings);
    const directory = temporaryDirectory('openssl');
    const child = spawnTracked('openssl', args, { cwd: directory, stdio: ['ignore', 'pipe', 'pipe'] });
    const tail = new Tail();
    tail.follow(child);
    try {
      await waitUntilReady(child, tail, () => /ACCEPT 127\.0\.0\.1:\d+/.test(tail.peek()), 'openssl s_server');
    } catch (error) {
      await stopAndRemove(child, directory);
      throw configurationError(tail.peek() || String(error), settings);
    }
    const port = Number(/ACCEPT 127\.0\.0\.1:(\d+)/.exec(tail.take())![1]);
    return {
      implementation: 'openssl',
      host: '127.0.0.1',
      port,
      async observe(clientPort, settleMs = 1000) {
        // One connection's lines are complete once it failed, or once it was shut down. A client that completes the
        // handshake and leaves without a word (Node's client refusing a certificate after the handshake, urllib3
        // checking the name after it) leaves no such line: once s_server has read the client's Finished and its end
        // of that connection is closed (seen twice, a poll apart, for the pipe to deliver the last lines), nothing
        // more is written about it. Only then: a handshake that failed always ends with s_server's error lines, which
        // may come late, and taken early they would be the next attempt's. Under load s_server may write its lines
        // late: a late block would otherwise be taken by the next attempt.
        let closedSeen = 0;
        // Looked for only when the lines are late (50 ms), then every 20 ms: most connections end with their lines.
        const closed = clientPort === null ? () => false : atMostEvery(20, () => (serverSideOpen(port, clientPort) ? (closedSeen = 0) : ++closedSeen) >= 2, { delayMs: 50 });
        const text = await tail.takeWhen((t) => /before SSL initialization/.test(t) && (/(:error:.*\n|close notify\n)/.test(t) || (/SSL_accept:SSLv3\/TLS read finished\n/.test(t) && closed())), settleMs);
        return observeStateLines(text);
      },
      close: () => stopAndRemove(child, directory),
    };
  },
};

function configurationError(output: string, settings: ServerSettings): ConfigurationError {
  const text = output.trim().split('\n').filter((line) => /error|unable|Error/.test(line)).join(' | ') || output.trim();
  if (/KEY_VALUES_MISMATCH|key values mismatch/i.test(text)) return new ConfigurationError('keyfile', text);
  if (/unable to load (server )?(certificate|private key)|No such file|no certificate|PEM/i.test(text)) {
    return new ConfigurationError(/private key/i.test(text) ? 'keyfile' : 'certfile', text);
  }
  if (/cipher/i.test(text)) return new ConfigurationError('ciphers', text);
  return new ConfigurationError(settings.certfile ? 'server' : 'certfile', text);
}
