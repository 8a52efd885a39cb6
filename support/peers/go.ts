/**
 * Go's crypto/tls + net/http, run by the Go peer (go-peer/main.go): one
 * long-lived process, asked over JSON lines to start servers and make client
 * requests, like the Python peer. The peer is built once with the system's Go
 * (standard library only, CGO_ENABLED=0) into a cache keyed by a hash of
 * main.go and `go version`, and reused by every later run.
 *
 * Server `go`: `tls.LoadX509KeyPair` + `tls.Config` + `http.Server.Serve`
 * (HTTP/1.1), the handshake run by the peer as net/http runs it, so that Go's
 * error for each connection is kept. Translation:
 * - certfile/keyfile → LoadX509KeyPair(certfile, keyfile ?? certfile): the key may be in certfile.
 * - cert_reqs → ClientAuth: CERT_NONE or unset → NoClientCert, CERT_OPTIONAL →
 *   VerifyClientCertIfGiven, CERT_REQUIRED → RequireAndVerifyClientCert;
 *   ca_certs → ClientCAs (and only those: without ca_certs no client CA is
 *   trusted, where Go with ClientCAs nil would use the system roots).
 * - ssl_version and minimum/maximum_version → MinVersion/MaxVersion.
 * - ciphers → CipherSuites, only an explicit list of TLS 1.2-and-below suite
 *   names Go has (OpenSSL's names, translated to Go's): OpenSSL cipher-string
 *   keywords and operators (HIGH, !aNULL, @SECLEVEL=0) have no Go equivalent,
 *   and Go ignores CipherSuites for TLS 1.3, so a TLS 1.3 suite is refused.
 *   Go ignores the order of CipherSuites (it applies its own preference).
 * - groups → CurvePreferences (X25519, P-256, P-384, P-521 under OpenSSL's names).
 * - alpn_protocols → NextProtos; end_without_close_notify → the handler
 *   hijacks the connection and closes the TCP connection under TLS.
 *
 * Client `go`: `http.Client` with its own `http.Transport` (no keep-alive, no
 * session cache, HTTP/1.1), dialling 127.0.0.1 while the URL and ServerName
 * keep server_hostname. verify = CA path → RootCAs from that file, `true` →
 * Go's system roots, `false` → InsecureSkipVerify (reported as insecure);
 * cert → LoadX509KeyPair; timeout → http.Client.Timeout; versions, ciphers
 * and alpn_protocols as for the server.
 *
 * Any other setting that is present and not its default is refused with a
 * ConfigurationError naming it: nothing is silently dropped.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_BASICS, refuseUndeclared, SERVER_BASICS } from './declared';
import { ConfigurationError, UnsupportedSetting } from '../errors';
import { buildCacheDir, cachedBuild, runTool } from './build-cache';
import { JsonLinesPeer, peerFailure, refusalIn } from './json-lines-peer';
import { parseSslVersion, PROTOCOL_NAME, versionRange, type ClientSettings, type ServerSettings } from '../vocabulary';
import { checkClientFiles, checkServerFiles } from './pem-files';
import { summarizeDer } from './certificate-summary';
import {
  NOT_ACCEPTED,
  type Availability,
  type ClientImplementation,
  type ClientObservation,
  type ClientTarget,
  type RawError,
  type RunningServer,
  type ServerImplementation,
  type ServerObservation,
} from './types';

export const GO = process.env.TLS_CONFORMANCE_GO ?? 'go';
export const GO_HINT = 'apt-get install -y golang-go';
const PEER_SOURCE = join(__dirname, 'go-peer', 'main.go');
const REQUEST_TIMEOUT_MS = 30_000;

// --- the settings each adapter implements ------------------------------------------------------

export const GO_SERVER_SETTINGS = [...SERVER_BASICS, 'groups', 'alpn_protocols', 'end_without_close_notify'] as const satisfies readonly (keyof ServerSettings)[];

export const GO_CLIENT_SETTINGS = CLIENT_BASICS;

// The settings Go does not implement are accepted at their neutral values (declared.ts NEUTRAL). Go's behaviour
// matches them: crypto/tls accepts a TCP close without close_notify at a record boundary as the end of the stream
// (suppress_ragged_eofs, ignore_unexpected_eof).


// --- OpenSSL's names and Go's ------------------------------------------------------------------

/** OpenSSL's name of every TLS 1.2-and-below suite Go 1.19 has (tls.CipherSuites + InsecureCipherSuites), and Go's (IANA's). */
export const GO_CIPHER_SUITES: Readonly<Record<string, string>> = {
  'ECDHE-ECDSA-AES128-GCM-SHA256': 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256': 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384': 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384': 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305': 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256',
  'ECDHE-RSA-CHACHA20-POLY1305': 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-SHA': 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA',
  'ECDHE-RSA-AES128-SHA': 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA',
  'ECDHE-ECDSA-AES256-SHA': 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA',
  'ECDHE-RSA-AES256-SHA': 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA',
  'ECDHE-ECDSA-AES128-SHA256': 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256',
  'ECDHE-RSA-AES128-SHA256': 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  'AES128-GCM-SHA256': 'TLS_RSA_WITH_AES_128_GCM_SHA256',
  'AES256-GCM-SHA384': 'TLS_RSA_WITH_AES_256_GCM_SHA384',
  'AES128-SHA': 'TLS_RSA_WITH_AES_128_CBC_SHA',
  'AES256-SHA': 'TLS_RSA_WITH_AES_256_CBC_SHA',
  'AES128-SHA256': 'TLS_RSA_WITH_AES_128_CBC_SHA256',
  'ECDHE-RSA-DES-CBC3-SHA': 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA',
  'DES-CBC3-SHA': 'TLS_RSA_WITH_3DES_EDE_CBC_SHA',
  'ECDHE-ECDSA-RC4-SHA': 'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA',
  'ECDHE-RSA-RC4-SHA': 'TLS_ECDHE_RSA_WITH_RC4_128_SHA',
  'RC4-SHA': 'TLS_RSA_WITH_RC4_128_SHA',
};
const OPENSSL_NAME = new Map(Object.entries(GO_CIPHER_SUITES).map(([openssl, go]) => [go, openssl]));
/** TLS 1.3 suites: OpenSSL and Go both use IANA's names. */
const TLS13_SUITES = /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256|AES_128_CCM_SHA256|AES_128_CCM_8_SHA256)$/;

/** A suite as the other adapters name it (OpenSSL's names; TLS 1.3 suites keep IANA's). */
export function opensslCipherName(goName: string | null): string | null {
  return goName === null ? null : (OPENSSL_NAME.get(goName) ?? goName);
}

/** An OpenSSL cipher list as Go's CipherSuites, when it is an explicit list of suites Go has; refused otherwise. */
export function goCipherSuites(ciphers: string | undefined): string[] | undefined {
  if (!ciphers) return undefined;
  const names = ciphers.split(/[:, ]+/).filter(Boolean);
  const refuse = (why: string): never => {
    throw new UnsupportedSetting('go', 'ciphers', `${JSON.stringify(ciphers)}: ${why}`);
  };
  const tls13 = names.filter((name) => TLS13_SUITES.test(name));
  if (tls13.length) refuse(`${tls13.join(', ')}: Go ignores CipherSuites for TLS 1.3, whose suites cannot be configured`);
  const syntax = names.filter((name) => !(name in GO_CIPHER_SUITES) && (/^[!+\-@]/.test(name) || name.includes('+') || /^[A-Z0-9]+$/.test(name)));
  if (syntax.length) refuse(`${syntax.join(', ')}: OpenSSL cipher-string keywords and operators have no Go equivalent; Go takes a list of suites`);
  const unknown = names.filter((name) => !(name in GO_CIPHER_SUITES));
  if (unknown.length) refuse(`crypto/tls has no suite ${unknown.join(', ')}`);
  return names.map((name) => GO_CIPHER_SUITES[name]!);
}

const GO_CURVES: Readonly<Record<string, string>> = {
  X25519: 'X25519',
  x25519: 'X25519',
  prime256v1: 'P256',
  secp256r1: 'P256',
  'P-256': 'P256',
  secp384r1: 'P384',
  'P-384': 'P384',
  secp521r1: 'P521',
  'P-521': 'P521',
};

function goCurves(groups: string | undefined): string[] | undefined {
  if (!groups) return undefined;
  const names = groups.split(/[:,]+/).filter(Boolean);
  const unknown = names.filter((name) => !(name in GO_CURVES));
  if (unknown.length) {
    throw new UnsupportedSetting('go', 'groups', `${JSON.stringify(groups)}: crypto/tls has no group ${unknown.join(', ')}: only X25519, P-256, P-384, P-521`);
  }
  return names.map((name) => GO_CURVES[name]!);
}

const CLIENT_AUTH = { CERT_NONE: 'NoClientCert', CERT_OPTIONAL: 'VerifyClientCertIfGiven', CERT_REQUIRED: 'RequireAndVerifyClientCert' } as const;

/** The server settings in crypto/tls's terms, as the peer takes them. */
export function goServerConfig(settings: ServerSettings): Record<string, unknown> {
  refuseUndeclared('go', settings, GO_SERVER_SETTINGS);
  const ssl = parseSslVersion(settings.ssl_version);
  if ('problem' in ssl) throw new ConfigurationError('ssl_version', ssl.problem);
  if (ssl.constant === 'PROTOCOL_TLS_CLIENT') throw new ConfigurationError('ssl_version', 'ssl.PROTOCOL_TLS_CLIENT cannot create a server-side socket');
  const range = versionRange(ssl.constant, settings.minimum_version, settings.maximum_version);
  return {
    certFile: settings.certfile ?? '',
    keyFile: settings.keyfile ?? '',
    clientAuth: CLIENT_AUTH[settings.cert_reqs ?? 'CERT_NONE'],
    clientCAs: settings.ca_certs ?? '',
    minVersion: range.min ? PROTOCOL_NAME[range.min] : '',
    maxVersion: range.max ? PROTOCOL_NAME[range.max] : '',
    cipherSuites: goCipherSuites(settings.ciphers),
    curvePreferences: goCurves(settings.groups),
    nextProtos: settings.alpn_protocols ? [...settings.alpn_protocols] : undefined,
    endWithoutCloseNotify: settings.end_without_close_notify === true,
  };
}

/** The client settings in crypto/tls's terms, as the peer takes them. */
export function goClientConfig(settings: ClientSettings): Record<string, unknown> {
  refuseUndeclared('go', settings, GO_CLIENT_SETTINGS);
  const { verify } = settings;
  return {
    verify: typeof verify === 'string' ? 'file' : verify ? 'system' : 'none',
    rootCAsFile: typeof verify === 'string' ? verify : '',
    certFile: settings.cert?.[0] ?? '',
    keyFile: settings.cert?.[1] ?? '',
    serverName: settings.server_hostname,
    timeoutMs: settings.timeout * 1000,
    minVersion: settings.minimum_version ? PROTOCOL_NAME[settings.minimum_version] : '',
    maxVersion: settings.maximum_version ? PROTOCOL_NAME[settings.maximum_version] : '',
    cipherSuites: goCipherSuites(settings.ciphers),
    nextProtos: settings.alpn_protocols ? [...settings.alpn_protocols] : undefined,
    path: settings.path ?? '/',
    headers: settings.headers ?? {},
  };
}

// --- Go itself, and the peer built once --------------------------------------------------------

const run = runTool;

let goVersionLine: Promise<string | null> | undefined;

/** `go version`'s line ("go version go1.19.8 linux/amd64"), or null when there is no Go. */
function goVersion(): Promise<string | null> {
  goVersionLine ??= run(GO, ['version']).then(({ stdout, error }) => (error || !/^go version /.test(stdout) ? null : stdout.trim()));
  return goVersionLine;
}

let detected: Promise<Availability> | undefined;

export function detectGo(): Promise<Availability> {
  detected ??= goVersion().then((line) => {
    if (!line) return { available: false, hint: `no Go toolchain (${GO}) to build the Go peer: ${GO_HINT}` };
    const version = /go version go(\S+)/.exec(line)?.[1] ?? line;
    const [major, minor] = (/^(\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
    // The peer uses tls.Conn.NetConn (Go 1.18).
    if (major === undefined || minor === undefined || major < 1 || (major === 1 && minor < 18)) {
      return { available: false, hint: `Go ${version} is too old for the Go peer (1.18 or later): ${GO_HINT}` };
    }
    return { available: true, version: `Go ${version} crypto/tls + net/http` };
  });
  return detected;
}

/** Where built peers are kept: node_modules/.cache/tls-conformance/go-peer, or the temporary directory when that cannot be written. */
export function defaultGoPeerCache(): string {
  return process.env.TLS_CONFORMANCE_GO_CACHE || buildCacheDir('go-peer');
}

/** Bump when the way the peer is built changes. */
const BUILD_RECIPE = 'go build -trimpath, CGO_ENABLED=0, v1';

export interface GoBuild {
  readonly binary: string;
  /** True when the binary was already in the cache. */
  readonly cached: boolean;
  readonly ms: number;
}

/**
 * The peer binary for this main.go and this Go: from the cache when it is
 * there, else built into it (atomically: concurrent runs may both build, the
 * last rename wins, both binaries being the same program).
 */
export async function buildGoPeer(cacheDir = defaultGoPeerCache()): Promise<GoBuild> {
  const line = await goVersion();
  if (!line) throw new Error(`no Go toolchain (${GO}) to build the Go peer: ${GO_HINT}`);
  const key = createHash('sha256').update(readFileSync(PEER_SOURCE)).update('\0').update(line).update('\0').update(BUILD_RECIPE).digest('hex').slice(0, 16);
  const built = await cachedBuild({
    cacheDir,
    key,
    file: 'go-peer',
    timeoutMs: BUILD_TIMEOUT_MS,
    build: async (partial, scratch) => {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: scratch,
        GOCACHE: join(scratch, 'cache'),
        GOPATH: join(scratch, 'gopath'),
        GOENV: 'off',
        GOFLAGS: '',
        CGO_ENABLED: '0',
      };
      // A single file on the command line: no module needed (standard library only).
      const ran = await run(GO, ['build', '-trimpath', '-o', partial, PEER_SOURCE], { env, cwd: scratch, timeout: BUILD_TIMEOUT_MS });
      if (ran.error) throw new Error(`building the Go peer failed: ${(ran.stderr || ran.error.message).trim()}`);
    },
  });
  return { binary: built.path, cached: built.cached, ms: built.ms };
}

const BUILD_TIMEOUT_MS = 300_000;

let build: Promise<GoBuild> | undefined;

/** The peer binary of this process: built (or found in the cache) once. */
export function goPeerBinary(): Promise<GoBuild> {
  build ??= buildGoPeer();
  build.catch(() => (build = undefined)); // a failed build is tried again next time
  return build;
}

// --- the peer process --------------------------------------------------------------------------

let shared: JsonLinesPeer | undefined;

export function goPeer(): JsonLinesPeer {
  shared ??= new JsonLinesPeer('Go', goPeerBinary().then(({ binary }) => ({ command: binary, args: [] })), REQUEST_TIMEOUT_MS);
  return shared;
}

/** Stop the Go peer (and every server it runs): for the AfterAll hook, like closePythonPeer. */
export async function closeGoPeer(): Promise<void> {
  const peer = shared;
  shared = undefined;
  await peer?.close();
}

// --- the adapters ------------------------------------------------------------------------------

type Wire = Record<string, unknown>;

const refusal = refusalIn;

const fail = (reply: Wire, what: string): never => peerFailure('Go', reply, what);

class GoRunningServer implements RunningServer {
  readonly implementation = 'go';
  readonly host = '127.0.0.1';
  constructor(readonly port: number) {}

  async observe(clientPort: number | null, settleMs = 1000): Promise<ServerObservation> {
    const reply = await goPeer().request('observe', { server: this.port, clientPort, settleMs });
    if (!reply.ok) fail(reply, 'observe');
    const effective = reply.effective as Record<string, string>;
    const seen = reply.observation as (Wire & ServerObservation & { clientCertificateDer?: string | null }) | null;
    if (!seen) return { ...NOT_ACCEPTED, effective };
    const { clientCertificateDer, ...rest } = seen;
    return { ...rest, cipher: opensslCipherName(rest.cipher), clientCertificate: summarizeDer(clientCertificateDer), effective };
  }

  async close(): Promise<void> {
    await goPeer().request('stop_server', { server: this.port });
  }
}

export const goServer: ServerImplementation = {
  name: 'go',
  supports: GO_SERVER_SETTINGS,
  summary: "Go's crypto/tls + net/http: tls.LoadX509KeyPair, ClientAuth from cert_reqs, ClientCAs from ca_certs, http.Server.Serve",
  detect: detectGo,
  async start(settings: ServerSettings): Promise<RunningServer> {
    const config = goServerConfig(settings);
    checkServerFiles(settings);
    const reply = await goPeer().request('start_server', { settings: config });
    const refused = refusal(reply);
    if (refused) throw refused;
    if (!reply.ok) fail(reply, 'start go');
    return new GoRunningServer(reply.port as number);
  },
};

export const goClient: ClientImplementation = {
  name: 'go',
  supports: GO_CLIENT_SETTINGS,
  summary: "Go's net/http client with its own Transport: verify → RootCAs/InsecureSkipVerify, cert → LoadX509KeyPair, server_hostname → ServerName",
  detect: detectGo,
  async attempt(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
    const config = goClientConfig(settings);
    checkClientFiles(settings);
    const reply = await goPeer().request('client', { target, settings: config }, Math.max(REQUEST_TIMEOUT_MS, settings.timeout * 1000 + 10_000));
    const refused = refusal(reply);
    if (refused) throw refused;
    if (!reply.ok) fail(reply, 'go client');
    const { serverCertificateDer, ...seen } = reply.observation as Wire & {
      localPort: number | null;
      handshakeCompleted: boolean;
      protocol: string | null;
      cipher: string | null;
      alpn: string | null;
      sessionReused: boolean;
      serverCertificateDer?: string | null;
      response: ClientObservation['response'];
      socketError: RawError | null;
      requestError: RawError | null;
      endError: RawError | null;
      timedOut: boolean;
    };
    return {
      ...seen,
      cipher: opensslCipherName(seen.cipher),
      // crypto/tls reports no key exchange group (classify infers one from the suite); it never compresses.
      keyExchange: null,
      compression: 'none',
      verified: settings.verify !== false,
      serverCertificate: summarizeDer(serverCertificateDer),
    };
  },
};
