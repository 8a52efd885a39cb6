/**
 * GnuTLS's own programs (Debian's gnutls-bin), configured from the documents'
 * vocabulary.
 *
 * Server `gnutls`: `gnutls-serv --http` (it answers every GET with a status
 * page, HTTP/1.0, and closes), one long-lived program per settings like
 * openssl s_server. Translation:
 * - certfile/keyfile → --x509certfile/--x509keyfile (no keyfile: the key is
 *   read from certfile, as Python does); every certificate of the file is sent.
 * - cert_reqs: unset or CERT_NONE → --disable-client-cert (gnutls-serv asks
 *   for a certificate by default); CERT_OPTIONAL → --verify-client-cert (ask;
 *   a certificate that is presented must verify); CERT_REQUIRED →
 *   --require-client-cert --verify-client-cert (--require-client-cert alone
 *   accepts any certificate without verifying it). ca_certs → --x509cafile.
 * - ssl_version, minimum_version, maximum_version, ciphers,
 *   server_preferred_order → one --priority string (see gnutlsPriority).
 * - alpn_protocols → --alpn for each, with --alpn-fatal: no protocol in
 *   common is a fatal no_application_protocol alert, as RFC 7301 says (a
 *   client that offers none is still served).
 * It writes nothing per request, so it runs with `-d 5` (record-level
 * debug): "Sent Packet ... Application Data" after the handshake is the
 * answer going out.
 *
 * Where it runs: gnutls-serv has no option to choose its address; it listens
 * on every address it has (0.0.0.0 and ::). So it runs in a network namespace
 * of its own, where its every address is that namespace's loopback only:
 * `unshare --net --pid --fork --kill-child node -e RELAY` (root needed). The
 * relay (see RELAY) is the namespace's first process: it brings `lo` up,
 * starts gnutls-serv on port 4433 inside, and is handed over its IPC channel
 * a socket the harness opened listening on 127.0.0.1:<free port> in the
 * host's namespace (a socket keeps the namespace it was made in). It accepts
 * the harness's connections there and relays each to gnutls-serv inside, in
 * one Node process: bytes as they come (TCP_NODELAY both ways), an end as an
 * end, a reset as a reset (resetAndDestroy, after the bytes before it); when
 * gnutls-serv is gone, the socket is closed and a connection is refused.
 * gnutls-serv names each connection by the relay's port ("* Accepted
 * connection from IPv4 127.0.0.1 port N"), so the relay tells the harness,
 * per connection, [client's port, its own port inside] as soon as it has
 * dialled gnutls-serv: an observation by the client's port is still exact.
 * The relay adds ~0.4 ms to an attempt and ~60 ms to a server's start.
 * Stopping it signals its process group (the
 * relay, gnutls-serv; unshare passes no signal on); when the relay exits,
 * everything in its PID namespace is killed with it, and it exits when the
 * harness goes away (its IPC channel closes). Without root or unshare (and
 * ip, from iproute2) detect() says so, and the server is unavailable unless
 * TLS_CONFORMANCE_GNUTLS_ANY_ADDRESS=1 lets gnutls-serv listen on every
 * address of the host, on a port the harness picked as free on 127.0.0.1.
 *
 * Client `gnutls`: `gnutls-cli`, one process per attempt, dialling 127.0.0.1
 * with --sni-hostname/--verify-hostname from server_hostname (--disable-sni
 * for an IP address); verify = CA path → --x509cafile (that file only), true →
 * the system store (gnutls-cli's default), false → --no-ca-verification
 * (neither chain nor name is checked); cert → --x509certfile/--x509keyfile;
 * alpn_protocols → --alpn; versions and ciphers → --priority; --save-cert
 * keeps the server's certificate. It writes `GET <path> HTTP/1.1` on stdin,
 * left open (at the end of its input gnutls-cli sends close_notify at once,
 * before the answer), and is killed after `timeout` seconds. gnutls-cli does
 * not set TCP_NODELAY: against a TLS 1.3 server that defers its session
 * tickets (OpenSSL's, Node's) its request would wait for a delayed ACK, about
 * 40 ms. The harness preloads a shim that sets it (support/peers/nodelay.ts,
 * built with the system's C compiler); the bytes are the same.
 *
 * Refused (ConfigurationError naming the setting): groups (GnuTLS's group
 * priorities govern TLS 1.2 finite-field DHE too, OpenSSL's list does not),
 * npn_protocols, end_without_close_notify, as_written,
 * do_handshake_on_connect=False, wrap_with; on the client
 * suppress_ragged_eofs=False and ignore_unexpected_eof=False. Any other
 * setting that is present and not its default is refused the same way:
 * nothing is silently dropped. GnuTLS's default priority (NORMAL) is left as
 * it is when no bound is given; on Debian 12 it still has TLS 1.0 and 1.1.
 *
 * Both programs print GnuTLS's own words (gnutls_strerror, its verification
 * status texts, alert descriptions); they are kept verbatim as evidence.
 */
import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, isIP, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { summarizeText } from './certificate-summary';
import { runProgram } from './command-clients';
import { CLIENT_BASICS, refuseUndeclared, SERVER_BASICS } from './declared';
import { ConfigurationError, UnsupportedSetting } from '../errors';
import { spawnTracked, stopProcess } from '../processes';
import { parseSslVersion, TLS_VERSIONS, versionRange, type ClientSettings, type ServerSettings, type TlsVersion } from '../vocabulary';
import { checkClientFiles, checkServerFiles, hasPem, readPem } from './pem-files';
import { localPortIn, nodelayShim, withShim } from './nodelay';
import { onFreePort, PortTaken, temporaryDirectory } from './process-server';
import {
  NOT_ACCEPTED,
  type Availability,
  type CertificateSummary,
  type ClientImplementation,
  type ClientObservation,
  type ClientTarget,
  type RawError,
  type RunningServer,
  type ServerImplementation,
  type ServerObservation,
} from './types';

export const GNUTLS_HINT = 'apt-get install -y gnutls-bin';

// --- the settings each adapter implements ------------------------------------------------------

export const GNUTLS_SERVER_SETTINGS = [...SERVER_BASICS, 'server_preferred_order', 'alpn_protocols'] as const satisfies readonly (keyof ServerSettings)[];

export const GNUTLS_CLIENT_SETTINGS = CLIENT_BASICS;



// --- suites: OpenSSL's names and GnuTLS's parts ------------------------------------------------

interface Suite {
  /** OpenSSL's name, the one the documents (and every other adapter) use. */
  readonly openssl: string;
  /** How `gnutls-cli -l` lists it. */
  readonly gnutls: string;
  readonly kx: string;
  readonly cipher: string;
  readonly mac: string;
}

const suite = (openssl: string, gnutls: string, kx: string, cipher: string, mac: string): Suite => ({ openssl, gnutls, kx, cipher, mac });

/** The TLS 1.2-and-below suites a `ciphers` list may name: each is a (key exchange, cipher, MAC) triple in GnuTLS's priority terms. */
export const GNUTLS_SUITES: readonly Suite[] = [
  suite('ECDHE-ECDSA-AES256-GCM-SHA384', 'TLS_ECDHE_ECDSA_AES_256_GCM_SHA384', 'ECDHE-ECDSA', 'AES-256-GCM', 'AEAD'),
  suite('ECDHE-ECDSA-AES128-GCM-SHA256', 'TLS_ECDHE_ECDSA_AES_128_GCM_SHA256', 'ECDHE-ECDSA', 'AES-128-GCM', 'AEAD'),
  suite('ECDHE-ECDSA-CHACHA20-POLY1305', 'TLS_ECDHE_ECDSA_CHACHA20_POLY1305', 'ECDHE-ECDSA', 'CHACHA20-POLY1305', 'AEAD'),
  suite('ECDHE-ECDSA-AES256-CCM', 'TLS_ECDHE_ECDSA_AES_256_CCM', 'ECDHE-ECDSA', 'AES-256-CCM', 'AEAD'),
  suite('ECDHE-ECDSA-AES128-CCM', 'TLS_ECDHE_ECDSA_AES_128_CCM', 'ECDHE-ECDSA', 'AES-128-CCM', 'AEAD'),
  suite('ECDHE-ECDSA-AES256-SHA384', 'TLS_ECDHE_ECDSA_AES_256_CBC_SHA384', 'ECDHE-ECDSA', 'AES-256-CBC', 'SHA384'),
  suite('ECDHE-ECDSA-AES128-SHA256', 'TLS_ECDHE_ECDSA_AES_128_CBC_SHA256', 'ECDHE-ECDSA', 'AES-128-CBC', 'SHA256'),
  suite('ECDHE-ECDSA-AES256-SHA', 'TLS_ECDHE_ECDSA_AES_256_CBC_SHA1', 'ECDHE-ECDSA', 'AES-256-CBC', 'SHA1'),
  suite('ECDHE-ECDSA-AES128-SHA', 'TLS_ECDHE_ECDSA_AES_128_CBC_SHA1', 'ECDHE-ECDSA', 'AES-128-CBC', 'SHA1'),
  suite('ECDHE-RSA-AES256-GCM-SHA384', 'TLS_ECDHE_RSA_AES_256_GCM_SHA384', 'ECDHE-RSA', 'AES-256-GCM', 'AEAD'),
  suite('ECDHE-RSA-AES128-GCM-SHA256', 'TLS_ECDHE_RSA_AES_128_GCM_SHA256', 'ECDHE-RSA', 'AES-128-GCM', 'AEAD'),
  suite('ECDHE-RSA-CHACHA20-POLY1305', 'TLS_ECDHE_RSA_CHACHA20_POLY1305', 'ECDHE-RSA', 'CHACHA20-POLY1305', 'AEAD'),
  suite('ECDHE-RSA-AES256-SHA384', 'TLS_ECDHE_RSA_AES_256_CBC_SHA384', 'ECDHE-RSA', 'AES-256-CBC', 'SHA384'),
  suite('ECDHE-RSA-AES128-SHA256', 'TLS_ECDHE_RSA_AES_128_CBC_SHA256', 'ECDHE-RSA', 'AES-128-CBC', 'SHA256'),
  suite('ECDHE-RSA-AES256-SHA', 'TLS_ECDHE_RSA_AES_256_CBC_SHA1', 'ECDHE-RSA', 'AES-256-CBC', 'SHA1'),
  suite('ECDHE-RSA-AES128-SHA', 'TLS_ECDHE_RSA_AES_128_CBC_SHA1', 'ECDHE-RSA', 'AES-128-CBC', 'SHA1'),
  suite('ECDHE-RSA-DES-CBC3-SHA', 'TLS_ECDHE_RSA_3DES_EDE_CBC_SHA1', 'ECDHE-RSA', '3DES-CBC', 'SHA1'),
  suite('DHE-RSA-AES256-GCM-SHA384', 'TLS_DHE_RSA_AES_256_GCM_SHA384', 'DHE-RSA', 'AES-256-GCM', 'AEAD'),
  suite('DHE-RSA-AES128-GCM-SHA256', 'TLS_DHE_RSA_AES_128_GCM_SHA256', 'DHE-RSA', 'AES-128-GCM', 'AEAD'),
  suite('DHE-RSA-CHACHA20-POLY1305', 'TLS_DHE_RSA_CHACHA20_POLY1305', 'DHE-RSA', 'CHACHA20-POLY1305', 'AEAD'),
  suite('DHE-RSA-AES256-CCM', 'TLS_DHE_RSA_AES_256_CCM', 'DHE-RSA', 'AES-256-CCM', 'AEAD'),
  suite('DHE-RSA-AES128-CCM', 'TLS_DHE_RSA_AES_128_CCM', 'DHE-RSA', 'AES-128-CCM', 'AEAD'),
  suite('DHE-RSA-AES256-SHA256', 'TLS_DHE_RSA_AES_256_CBC_SHA256', 'DHE-RSA', 'AES-256-CBC', 'SHA256'),
  suite('DHE-RSA-AES128-SHA256', 'TLS_DHE_RSA_AES_128_CBC_SHA256', 'DHE-RSA', 'AES-128-CBC', 'SHA256'),
  suite('DHE-RSA-AES256-SHA', 'TLS_DHE_RSA_AES_256_CBC_SHA1', 'DHE-RSA', 'AES-256-CBC', 'SHA1'),
  suite('DHE-RSA-AES128-SHA', 'TLS_DHE_RSA_AES_128_CBC_SHA1', 'DHE-RSA', 'AES-128-CBC', 'SHA1'),
  suite('AES256-GCM-SHA384', 'TLS_RSA_AES_256_GCM_SHA384', 'RSA', 'AES-256-GCM', 'AEAD'),
  suite('AES128-GCM-SHA256', 'TLS_RSA_AES_128_GCM_SHA256', 'RSA', 'AES-128-GCM', 'AEAD'),
  suite('AES256-CCM', 'TLS_RSA_AES_256_CCM', 'RSA', 'AES-256-CCM', 'AEAD'),
  suite('AES128-CCM', 'TLS_RSA_AES_128_CCM', 'RSA', 'AES-128-CCM', 'AEAD'),
  suite('AES256-SHA256', 'TLS_RSA_AES_256_CBC_SHA256', 'RSA', 'AES-256-CBC', 'SHA256'),
  suite('AES128-SHA256', 'TLS_RSA_AES_128_CBC_SHA256', 'RSA', 'AES-128-CBC', 'SHA256'),
  suite('AES256-SHA', 'TLS_RSA_AES_256_CBC_SHA1', 'RSA', 'AES-256-CBC', 'SHA1'),
  suite('AES128-SHA', 'TLS_RSA_AES_128_CBC_SHA1', 'RSA', 'AES-128-CBC', 'SHA1'),
  suite('DES-CBC3-SHA', 'TLS_RSA_3DES_EDE_CBC_SHA1', 'RSA', '3DES-CBC', 'SHA1'),
];

/** TLS 1.3 suites by GnuTLS's cipher name: their names are the same in OpenSSL and GnuTLS. */
const TLS13_SUITES: Readonly<Record<string, string>> = {
  'AES-256-GCM': 'TLS_AES_256_GCM_SHA384',
  'AES-128-GCM': 'TLS_AES_128_GCM_SHA256',
  'CHACHA20-POLY1305': 'TLS_CHACHA20_POLY1305_SHA256',
  'AES-128-CCM': 'TLS_AES_128_CCM_SHA256',
  'AES-128-CCM-8': 'TLS_AES_128_CCM_8_SHA256',
};

const BY_OPENSSL = new Map(GNUTLS_SUITES.map((s) => [s.openssl, s]));
const BY_GNUTLS = new Map(GNUTLS_SUITES.map((s) => [s.gnutls, s]));
const BY_PARTS = new Map(GNUTLS_SUITES.map((s) => [`${s.kx}/${s.cipher}/${s.mac}`, s]));

const GNUTLS_VERSION: Record<TlsVersion, string> = { TLSv1: 'TLS1.0', TLSv1_1: 'TLS1.1', TLSv1_2: 'TLS1.2', TLSv1_3: 'TLS1.3' };

/** "TLS1.2" (GnuTLS) → "TLSv1.2"; "TLS1.0" → "TLSv1", as Node and Python say it. */
export function protocolName(gnutls: string | undefined): string | null {
  if (!gnutls) return null;
  const minor = /^TLS1\.(\d)$/.exec(gnutls)?.[1];
  if (minor === undefined) return gnutls;
  return minor === '0' ? 'TLSv1' : `TLSv1.${minor}`;
}

/** GnuTLS's curve names → OpenSSL's (Node reports "ECDH prime256v1", "ECDH X25519"). */
const CURVE: Readonly<Record<string, string>> = {
  SECP256R1: 'prime256v1',
  SECP384R1: 'secp384r1',
  SECP521R1: 'secp521r1',
  X25519: 'X25519',
  X448: 'X448',
};

export interface Negotiated {
  readonly protocol: string | null;
  readonly cipher: string | null;
  readonly keyExchange: string | null;
}

/**
 * What a session description says, as the other adapters say it: GnuTLS
 * prints `(TLS1.3-X.509)-(ECDHE-SECP256R1)-(RSA-PSS-RSAE-SHA256)-(AES-256-GCM)`,
 * `(TLS1.2-X.509)-(RSA)-(AES-256-GCM)` or `...-(AES-128-CBC)-(SHA256)`.
 * A suite the table lacks keeps GnuTLS's parts ("ECDHE-RSA AES-128-CCM AEAD").
 */
export function describeSession(description: string): Negotiated {
  const parts = [...description.matchAll(/\(([^()]*)\)/g)].map((m) => m[1]!);
  const version = /^(TLS1\.\d|SSL3\.0)/.exec(parts[0] ?? '')?.[1];
  const protocol = protocolName(version);
  const kxPart = parts[1] ?? '';
  const curve = /^ECDHE-(.+)$/.exec(kxPart)?.[1];
  const group = /^DHE-(.+)$/.exec(kxPart)?.[1];
  const keyExchange = curve ? `ECDH ${CURVE[curve] ?? curve}` : group ? `DH ${group.toLowerCase()}` : kxPart === 'RSA' ? 'RSA key transport' : null;
  // After the key exchange: the signature algorithm (none for RSA key transport), the cipher, and the MAC of a non-AEAD cipher.
  const rest = parts.slice(kxPart === 'RSA' ? 2 : 3);
  const cipher = rest[0];
  const mac = rest[1] ?? 'AEAD';
  if (!protocol || !cipher) return { protocol, cipher: null, keyExchange };
  if (protocol === 'TLSv1.3') return { protocol, cipher: TLS13_SUITES[cipher] ?? cipher, keyExchange };
  const signature = parts[2] ?? '';
  const kx = kxPart === 'RSA' ? 'RSA' : `${curve ? 'ECDHE' : 'DHE'}-${/ECDSA/.test(signature) ? 'ECDSA' : 'RSA'}`;
  const known = BY_PARTS.get(`${kx}/${cipher}/${mac}`);
  return { protocol, cipher: known?.openssl ?? `${kx} ${cipher} ${mac}`, keyExchange };
}

// --- the priority string ------------------------------------------------------------------------

/** What `gnutls-cli -l --priority P` lists: the suites in priority order, or GnuTLS's objection to P. */
interface Listing {
  readonly error: string | null;
  /** [GnuTLS name, lowest version] in order. */
  readonly suites: readonly (readonly [string, string])[];
}

const listings = new Map<string, Promise<Listing>>();

function listSuites(priority: string): Promise<Listing> {
  let listing = listings.get(priority);
  if (!listing) {
    listing = new Promise((resolve) => {
      execFile('gnutls-cli', ['-l', '--priority', priority], { timeout: 10_000 }, (error, stdout, stderr) => {
        const objection = /^(Syntax error at: .*|Error in priorities: .*)$/m.exec(`${stderr}\n${stdout}`)?.[1];
        if (objection || (error && !stdout)) {
          resolve({ error: objection ?? String(error?.message ?? stderr).trim(), suites: [] });
          return;
        }
        const suites = [...stdout.matchAll(/^(TLS_\w+)\s+0x[0-9a-f]{2}, 0x[0-9a-f]{2}\s+(\S+)$/gm)].map((m) => [m[1]!, m[2]!] as const);
        resolve({ error: null, suites });
      });
    });
    listings.set(priority, listing);
  }
  return listing;
}

export interface PrioritySettings {
  readonly minimum_version?: TlsVersion;
  readonly maximum_version?: TlsVersion;
  readonly ciphers?: string;
  readonly server_preferred_order?: boolean;
}

function refuseCiphers(ciphers: string, why: string): ConfigurationError {
  return new UnsupportedSetting('gnutls', 'ciphers', `${JSON.stringify(ciphers)}: ${why}`);
}

/**
 * The --priority string for a version range, a cipher list and the server's
 * order; null to leave GnuTLS's default (NORMAL) as it is.
 *
 * Versions: NORMAL minus every version outside [minimum, maximum] (a bound
 * left out keeps GnuTLS's default on that side). An empty range is refused:
 * gnutls-serv would exit at the first connection on a priority with no version.
 *
 * ciphers: OpenSSL cipher lists have no general GnuTLS equivalent. Only an
 * explicit list of TLS 1.2-and-below suite names (no keywords, operators or
 * @SECLEVEL) is translated, into the key exchanges, ciphers and MACs of its
 * suites; GnuTLS then allows every suite made of those parts, and its cipher
 * list applies to TLS 1.3 too (OpenSSL's does not). So the translation is
 * kept only when GnuTLS, asked with `gnutls-cli -l`, lists exactly the named
 * TLS 1.2 suites in the named order, and (when TLS 1.3 may be spoken) its
 * default TLS 1.3 suites unchanged; anything else is refused.
 *
 * server_preferred_order true → %SERVER_PRECEDENCE; false is GnuTLS's default
 * (the client's order decides).
 */
export async function gnutlsPriority(settings: PrioritySettings, end: 'server' | 'client'): Promise<string | null> {
  const { minimum_version: min, maximum_version: max } = settings;
  if (min && max && TLS_VERSIONS.indexOf(min) > TLS_VERSIONS.indexOf(max)) {
    throw new ConfigurationError('minimum_version', `${min} is above maximum_version ${max}: GnuTLS refuses a priority string with no TLS version in it`);
  }
  const versions = TLS_VERSIONS.filter((v) => (min && TLS_VERSIONS.indexOf(v) < TLS_VERSIONS.indexOf(min)) || (max && TLS_VERSIONS.indexOf(v) > TLS_VERSIONS.indexOf(max))).map((v) => `-VERS-${GNUTLS_VERSION[v]}`);
  const base = ['NORMAL', ...versions].join(':');
  const tls13 = !max || max === 'TLSv1_3';
  const order = settings.server_preferred_order ? ':%SERVER_PRECEDENCE' : '';
  if (!settings.ciphers) {
    if (versions.length === 0 && !order) return null;
    // gnutls-serv sets its priority at each connection and exits on one it cannot use: ask GnuTLS first.
    const checked = await listSuites(`${base}${order}`);
    if (checked.error) throw new ConfigurationError(min ? 'minimum_version' : 'maximum_version', `GnuTLS refuses the priority ${base}${order}: ${checked.error}`);
    return `${base}${order}`;
  }

  const names = settings.ciphers.split(/[:, ]+/).filter(Boolean);
  const unknown = names.find((name) => !BY_OPENSSL.has(name));
  if (unknown !== undefined) {
    throw refuseCiphers(settings.ciphers, `only explicit TLS 1.2 suite names are translated; ${JSON.stringify(unknown)} is not one GnuTLS has`);
  }
  const wanted = [...new Set(names)].map((name) => BY_OPENSSL.get(name)!);
  const unique = (values: readonly string[]): string[] => [...new Set(values)];
  const defaultTls13 = tls13 ? (await listSuites(base)).suites.filter(([, version]) => version === 'TLS1.3').map(([name]) => name) : [];
  const tls13Ciphers = Object.entries(TLS13_SUITES).filter(([, name]) => defaultTls13.includes(name)).map(([cipher]) => cipher);
  const ciphers = unique([...wanted.map((s) => s.cipher), ...tls13Ciphers]);
  const macs = unique([...wanted.map((s) => s.mac), ...(tls13 ? ['AEAD'] : [])]);
  const kxs = unique(wanted.map((s) => s.kx));
  const priority = [base, '-CIPHER-ALL', ...ciphers.map((c) => `+${c}`), '-MAC-ALL', ...macs.map((m) => `+${m}`), '-KX-ALL', ...kxs.map((k) => `+${k}`)].join(':') + order;

  const listing = await listSuites(priority);
  if (listing.error) throw refuseCiphers(settings.ciphers, listing.error);
  const listed12 = listing.suites.filter(([, version]) => version !== 'TLS1.3').map(([name]) => BY_GNUTLS.get(name)?.openssl ?? name);
  const listed13 = listing.suites.filter(([, version]) => version === 'TLS1.3').map(([name]) => name);
  const named = wanted.map((s) => s.openssl);
  // The order matters where it is used: a client offers in it; a server follows it only with %SERVER_PRECEDENCE.
  const orderMatters = end === 'client' || settings.server_preferred_order === true;
  const same12 = orderMatters ? listed12.join(':') === named.join(':') : listed12.length === named.length && named.every((n) => listed12.includes(n));
  if (!same12) {
    throw refuseCiphers(settings.ciphers, `GnuTLS's priorities cannot name these suites alone: ${priority} allows ${listed12.join(':') || 'no TLS 1.2 suite'}`);
  }
  if (listed13.join(':') !== defaultTls13.join(':')) {
    throw refuseCiphers(
      settings.ciphers,
      `GnuTLS's cipher priorities restrict TLS 1.3 suites too (${listed13.join(':') || 'none'} instead of ${defaultTls13.join(':')}): give maximum_version TLSv1_2`,
    );
  }
  return priority;
}

/** The priority of a server: ssl_version pins the range, as Python's PROTOCOL_TLSv1_2 does. */
async function serverPriority(settings: ServerSettings): Promise<string | null> {
  const ssl = parseSslVersion(settings.ssl_version);
  if ('problem' in ssl) throw new ConfigurationError('ssl_version', ssl.problem);
  if (ssl.constant === 'PROTOCOL_TLS_CLIENT') throw new ConfigurationError('ssl_version', 'ssl.PROTOCOL_TLS_CLIENT cannot create a server-side socket');
  const range = versionRange(ssl.constant, settings.minimum_version, settings.maximum_version);
  return gnutlsPriority(
    {
      ...(range.min ? { minimum_version: range.min } : {}),
      ...(range.max ? { maximum_version: range.max } : {}),
      ...(settings.ciphers ? { ciphers: settings.ciphers } : {}),
      ...(settings.server_preferred_order ? { server_preferred_order: true } : {}),
    },
    'server',
  );
}

// --- certificates -----------------------------------------------------------------------------

/** A PEM certificate, summarised like Node's own peer certificates . */
export function summarizePem(pem: string | undefined): CertificateSummary | null {
  if (!pem) return null;
  try {
    return summarizeText(pem, (text) => new X509Certificate(text));
  } catch {
    return null;
  }
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

// --- versions ----------------------------------------------------------------------------------

function versionOf(command: string): Promise<Availability> {
  return new Promise((resolve) => {
    execFile(command, ['--version'], { timeout: 5000 }, (error, stdout) => {
      const version = error ? undefined : new RegExp(`^${command} (\\S+)`, 'm').exec(stdout)?.[1];
      resolve(version ? { available: true, version: `GnuTLS ${version} ${command}` } : { available: false, hint: GNUTLS_HINT });
    });
  });
}

// --- the server --------------------------------------------------------------------------------

/** What gnutls-serv says when the other end went away or sent an alert: evidence, not this server refusing. */
const PEER_LEFT = /A TLS fatal alert has been received|A TLS warning alert has been received|Error in the push function|Error in the pull function|The TLS connection was non-properly terminated|The operation timed out/;

/** The lines of each connection, from its "* Accepted connection" line to the next one's. */
export function connectionBlocks(text: string): { port: number; start: number; text: string }[] {
  const starts = [...text.matchAll(/^\* Accepted connection from IPv[46] \S+ port (\d+)/gm)];
  return starts.map((m, i) => ({ port: Number(m[1]), start: m.index, text: text.slice(m.index, starts[i + 1]?.index ?? text.length) }));
}

/** Whether gnutls-serv is done with the connection whose lines these are: it failed, or shut it down, and freed the session. */
export function connectionSettled(block: string): boolean {
  return /(^Error in handshake: |^Error while (?:receiving|sending) data|Sending Alert\[1\|0\] - Close notify)[\s\S]*Epoch #\d+ freed/m.test(block);
}

/** One connection's lines (gnutls-serv with -d 5), as a server observation. */
export function observeConnection(block: string): ServerObservation {
  if (!/^\* Accepted connection/m.test(block)) return NOT_ACCEPTED;
  const lines = block.split('\n').map((line) => line.replace(/\r$/, ''));
  const handshakeError = /^Error in handshake: (.+)$/m.exec(block)?.[1]?.trim();
  const description = /^- Description: (.+)$/m.exec(block)?.[1];
  const received = /^\* Received alert '(\d+)': (.+?)\.?$/m.exec(block);
  const sent = [...block.matchAll(/REC: Sending Alert\[2\|(\d+)\] - (.+)$/gm)].map((m) => `${m[2]!.trim()} [${m[1]}]`);
  const status = /^- Status: The certificate is NOT trusted\.\s*(.*?)\s*$/m.exec(block);
  const verificationError = status ? status[1] || 'The certificate is NOT trusted.' : null;

  let rejection: RawError | null = null;
  const errors: RawError[] = [];
  if (handshakeError) {
    const words = `Error in handshake: ${handshakeError}`;
    if (PEER_LEFT.test(handshakeError)) {
      errors.push({ message: received ? `Received alert '${received[1]}': ${received[2]}. | ${words}` : words });
    } else {
      rejection = { message: [words, ...(sent.length > 0 ? [`alert sent: ${sent[0]}`] : [])].join(' | ') };
    }
  }
  // After the handshake: the client leaving or resetting (GERR prints "Error: <why>").
  const later = lines.findIndex((line) => /^Error while (?:receiving|sending) data/.test(line));
  if (later >= 0) {
    const why = lines.slice(later + 1).find((line) => /^Error: /.test(line));
    errors.push({ message: [lines[later], received ? `Received alert '${received[1]}': ${received[2]}.` : null, why].filter(Boolean).join(' | ') });
  }

  const completed = !handshakeError && description !== undefined;
  const negotiated = completed ? describeSession(description!) : { protocol: null, cipher: null };
  // After a completed handshake, application data going out is the answer to a GET (gnutls-serv --http answers every GET with 200).
  const afterHandshake = description ? block.slice(block.indexOf(description)) : '';
  const answered = completed && /Sent Packet\[\d+\] Application Data\(23\)/.test(afterHandshake);
  const clientPem = /^- Certificate\[0\] info:[\s\S]*?(-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----)/m.exec(block)?.[1];
  return {
    accepted: true,
    handshakeCompleted: completed,
    protocol: negotiated.protocol,
    cipher: negotiated.cipher,
    clientCertificate: completed ? summarizePem(clientPem) : null,
    verificationError,
    rejection,
    errors,
    requests: answered ? [{ method: 'GET', path: '/', status: 200 }] : [],
  };
}

/** A program's output, appended as it comes; what an observation took is dropped. */
class Output {
  private text = '';
  /** Waiters, each checked again whenever something happens. */
  private readonly waiters = new Set<() => void>();

  follow(child: ChildProcess, ...streams: ('stdout' | 'stderr')[]): void {
    const append = (chunk: Buffer): void => {
      this.text += chunk.toString('latin1');
      this.notify();
    };
    for (const stream of streams) child[stream]?.on('data', append);
  }

  /** Something a waiter may be waiting for happened (more text, a message, an exit). */
  notify(): void {
    for (const check of [...this.waiters]) check();
  }

  peek(): string {
    return this.text;
  }

  /** Drop the text before `end`. */
  drop(end: number): string {
    const taken = this.text.slice(0, end);
    this.text = this.text.slice(end);
    return taken;
  }

  /** Wait until `done(text)` holds (checked at each notify, not polled) or `timeoutMs` passes. */
  waitFor(done: (text: string) => boolean, timeoutMs: number): Promise<string> {
    if (done(this.text)) return Promise.resolve(this.text);
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve(this.text);
      };
      const check = (): void => {
        if (done(this.text)) finish();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.waiters.add(check);
    });
  }
}

function serverArguments(settings: ServerSettings, port: number, priority: string | null): string[] {
  const args = ['--http', '-d', '5', '--port', String(port)];
  if (settings.certfile) args.push('--x509certfile', settings.certfile, '--x509keyfile', settings.keyfile ?? settings.certfile);
  if (settings.cert_reqs === undefined || settings.cert_reqs === 'CERT_NONE') args.push('--disable-client-cert');
  if (settings.cert_reqs === 'CERT_OPTIONAL') args.push('--verify-client-cert');
  if (settings.cert_reqs === 'CERT_REQUIRED') args.push('--require-client-cert', '--verify-client-cert');
  if (settings.ca_certs) args.push('--x509cafile', settings.ca_certs);
  if (priority) args.push('--priority', priority);
  for (const protocol of settings.alpn_protocols ?? []) args.push('--alpn', protocol);
  if (settings.alpn_protocols?.length) args.push('--alpn-fatal');
  return args;
}

function serverRefusal(output: string, settings: ServerSettings): ConfigurationError {
  const said =
    output
      .split('\n')
      .filter((line) => /^(Error|Syntax error|Warning)/.test(line))
      .join(' | ')
      .trim() || output.trim().split('\n').slice(-3).join(' | ');
  const keyInCertfile = settings.certfile !== undefined && hasPem(readPem('certfile', settings.certfile, 'certificate'), 'private key');
  // "Error reading 'cert' or 'key'" then GnuTLS's reason: a key that does not fit, or no key where one was looked for.
  if (/do not match/i.test(said) || (/^Error reading /m.test(said) && !settings.keyfile && !keyInCertfile)) {
    return new ConfigurationError('keyfile', `gnutls-serv: ${said}`, settings.keyfile ?? settings.certfile);
  }
  if (settings.ca_certs && said.includes(`Error reading '${settings.ca_certs}'`)) return new ConfigurationError('ca_certs', `gnutls-serv: ${said}`, settings.ca_certs);
  if (/^Error reading /m.test(said)) return new ConfigurationError('certfile', `gnutls-serv: ${said}`, settings.certfile);
  if (/Syntax error|priorit/i.test(said)) return new ConfigurationError(settings.ciphers ? 'ciphers' : 'ssl_version', `gnutls-serv: ${said}`);
  return new ConfigurationError('server', `gnutls-serv: ${said}`);
}

const LISTENING = (port: number): RegExp => new RegExp(`listening on IPv4 \\S+ port ${port}\\.\\.\\.done`);
const NOT_BOUND = /listening on IPv4 [^\n]*bind\(\) failed/;

// --- where gnutls-serv runs: a network namespace of its own ------------------------------------

/** Allows gnutls-serv to listen on every address of the host, where no network namespace can be made for it. */
export const ANY_ADDRESS = 'TLS_CONFORMANCE_GNUTLS_ANY_ADDRESS';

/**
 * A network namespace (only `lo` in it) inside a PID namespace: the first
 * process in it is its init, and when it exits the kernel kills everything
 * else in it; --kill-child kills it when unshare itself is killed.
 */
const NAMESPACE = ['--net', '--pid', '--fork', '--kill-child'] as const;

/** The port gnutls-serv listens on in its namespace, where nothing else listens. */
const INNER_PORT = 4433;

/**
 * The relay: the first process of gnutls-serv's namespace (`node -e RELAY --
 * <inner port> <command...>`). It brings `lo` up, starts gnutls-serv with both
 * its streams on the relay's stdout (the harness reads them in the order they
 * were written), and is sent, over its IPC channel, the listening socket the
 * harness opened on 127.0.0.1 in the host's namespace. Each connection it
 * accepts there is relayed to 127.0.0.1:<inner port> in the namespace, byte
 * for byte, in the same turn of the event loop (no timer, no Nagle); an end
 * passes on as an end, a reset as a reset, each after the bytes that came
 * before it. Once its connection to gnutls-serv is made, it tells the harness
 * [client's port, the port it dialled from]: gnutls-serv names connections by
 * the latter. When gnutls-serv exits, it stops accepting (a connection is
 * refused), lets the open connections pass on what gnutls-serv's end did to
 * them, and exits; it exits too when the harness goes away (the channel
 * closes) and on SIGTERM or SIGINT; everything else in the namespace dies with
 * it. It writes nothing on stdout, which is gnutls-serv's.
 *
 * What it cannot pass on exactly: a write to gnutls-serv that fails on
 * gnutls-serv's reset loses, in Node, what gnutls-serv sent just before (an
 * alert, its end), unread. Writes wait for the poll phase's reads, which
 * mostly avoids it; a client still sending a large body when gnutls-serv
 * gives up may see a reset where, connected directly, it would have read the
 * alert and an end.
 */
const RELAY = String.raw`'use strict';
const { execFileSync, spawn } = require('node:child_process');
const net = require('node:net');
const port = Number(process.argv[1]);
const [command, ...args] = process.argv.slice(2);
const quit = (code) => process.exit(code);
const connections = new Set();
let listener = null;
let leaving = null;
// gnutls-serv is gone: no new connection (one is refused), and each open one is left to pass on what gnutls-serv's
// end did to it (an end, a reset) before the relay exits.
const leave = (code) => {
  if (leaving !== null) return;
  leaving = code;
  if (listener) listener.close();
  if (connections.size === 0) quit(code);
  setTimeout(() => quit(code), 1000);
};
process.on('disconnect', () => quit(0));
try {
  execFileSync('ip', ['link', 'set', 'lo', 'up'], { stdio: ['ignore', 'ignore', 'pipe'] });
} catch (error) {
  process.stderr.write('ip link set lo up: ' + String(error.stderr || error.message).trim() + '\n');
  quit(1);
}
const server = spawn(command, args, { stdio: ['ignore', 1, 1] });
server.on('error', (error) => {
  process.stderr.write(command + ': ' + error.message + '\n');
  quit(1);
});
server.on('exit', (code) => leave(code ?? 1));
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => {
    server.kill(signal);
    setTimeout(() => quit(0), 500);
  });
}
const send = (message) => {
  if (process.connected) process.send(message);
};
// Bytes are written on in the same turn of the event loop, once what is readable on every socket has been read: a peer's
// bytes and end that came before its reset are read before a write to it can fail on that reset (and lose them).
const pass = (from, to) => {
  let waiting = [];
  const flush = () => {
    const chunks = waiting;
    waiting = [];
    if (to.destroyed) return;
    for (const chunk of chunks) to.write(chunk);
    if (to.writableNeedDrain) {
      from.pause();
      to.once('drain', () => from.resume());
    }
    if (from.readableEnded) to.end();
  };
  from.on('data', (chunk) => {
    if (waiting.push(chunk) === 1) setImmediate(flush);
  });
  from.on('end', () => {
    if (waiting.length === 0) to.end();
  });
};
// A reset passed on after what came before it, as TCP delivers them: the bytes, and the end when there was one (after
// the bytes pass is about to write, too: its turn comes first).
const resetAfterFlush = (socket) =>
  setImmediate(() => {
    if (socket.destroyed) return;
    const reset = () => socket.resetAndDestroy();
    setTimeout(reset, 1000).unref();
    if (socket.writableFinished) reset();
    else if (socket.writableEnded) socket.once('finish', reset);
    else socket.write(Buffer.alloc(0), reset);
  });
const relay = (client) => {
  client.allowHalfOpen = true;
  client.setNoDelay(true);
  const from = client.remotePort;
  const upstream = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
  let reached = false;
  upstream.once('connect', () => {
    reached = true;
    send([from, upstream.localPort]);
  });
  connections.add(client);
  let open = 2;
  const closed = () => {
    if (--open > 0) return;
    connections.delete(client);
    if (leaving !== null && connections.size === 0) quit(leaving);
  };
  client.once('close', closed);
  upstream.once('close', closed);
  pass(client, upstream);
  pass(upstream, client);
  client.on('error', () => resetAfterFlush(upstream));
  upstream.on('error', () => {
    if (!reached) send([from, null]);
    resetAfterFlush(client);
  });
};
process.on('message', (message, handle) => {
  if (message !== 'listen' || !handle) return;
  listener = handle;
  listener.allowHalfOpen = true;
  listener.on('connection', relay);
  send('accepting');
});
`;

let isolation: Promise<string | null> | undefined;

/** Why gnutls-serv cannot run in a network namespace of its own here, or null when it can. */
export function namespaceProblem(): Promise<string | null> {
  isolation ??= new Promise((resolve) => {
    if (process.getuid?.() !== 0) {
      resolve('not running as root');
      return;
    }
    execFile('unshare', [...NAMESPACE, '--', 'ip', 'link', 'set', 'lo', 'up'], { timeout: 5000 }, (error, _stdout, stderr) => {
      resolve(error ? `\`unshare ${NAMESPACE.join(' ')} -- ip link set lo up\` failed: ${String(stderr || error.message).trim()}` : null);
    });
  });
  return isolation;
}

const namespaceHint = (problem: string): string =>
  `gnutls-serv listens on every address, so the harness runs it in a network namespace of its own, which needs root, unshare (util-linux) and ip (iproute2): ${problem}. Where gnutls-serv may listen on every address, set ${ANY_ADDRESS}=1`;

/** Which port gnutls-serv saw a client's connection come from. */
interface Routes {
  /** The port gnutls-serv saw; null: the connection never reached gnutls-serv; undefined: not known (yet). */
  inner(clientPort: number): number | null | undefined;
  /** The observation of `clientPort`'s connection, and of the connections gnutls-serv saw from `innerPorts`, is taken. */
  taken(clientPort: number | null, innerPorts: readonly number[]): void;
}

/** gnutls-serv listening on the host: it sees the client's own port. */
const SAME_PORT: Routes = { inner: (clientPort) => clientPort, taken: () => undefined };

/** gnutls-serv behind the relay: each connection's ports, as the relay reported them. */
class RelayedRoutes implements Routes {
  private readonly routes: { client: number; inner: number | null }[] = [];

  add(client: number, inner: number | null): void {
    this.routes.push({ client, inner });
  }

  inner(clientPort: number): number | null | undefined {
    // The newest: a client's port may come round again.
    for (let i = this.routes.length - 1; i >= 0; i--) if (this.routes[i]!.client === clientPort) return this.routes[i]!.inner;
    return undefined;
  }

  taken(clientPort: number | null, innerPorts: readonly number[]): void {
    const drop = (at: number): void => {
      if (at >= 0) this.routes.splice(at, 1);
    };
    if (clientPort !== null && this.inner(clientPort) === null) drop(this.routes.map((r) => r.client).lastIndexOf(clientPort));
    for (const port of innerPorts) drop(this.routes.findIndex((r) => r.inner === port));
  }
}

const isRoute = (message: unknown): message is [number, number | null] =>
  Array.isArray(message) && message.length === 2 && typeof message[0] === 'number' && (typeof message[1] === 'number' || message[1] === null);

/** A running gnutls-serv, however it was started: `port` is where the harness dials it on 127.0.0.1. */
function serving(port: number, output: Output, routes: Routes, stop: () => Promise<void>): RunningServer {
  /** Which connection an observation is about: the client's, or the oldest one not observed yet. */
  const ours = (blocks: ReturnType<typeof connectionBlocks>, clientPort: number | null): number => {
    if (clientPort === null) return blocks.length > 0 ? 0 : -1;
    const inner = routes.inner(clientPort);
    return inner === null || inner === undefined ? -1 : blocks.findIndex((b) => b.port === inner);
  };
  return {
    implementation: 'gnutls',
    host: '127.0.0.1',
    port,
    async observe(clientPort, settleMs = 1000) {
      const text = await output.waitFor((t) => {
        // The relay could not reach gnutls-serv: it will never say anything of this connection.
        if (clientPort !== null && routes.inner(clientPort) === null) return true;
        const blocks = connectionBlocks(t);
        const i = ours(blocks, clientPort);
        return i >= 0 && connectionSettled(blocks[i]!.text);
      }, Math.min(settleMs, 500));
      const blocks = connectionBlocks(text);
      const i = ours(blocks, clientPort);
      // Up to the end of this connection's lines: a later connection's stay for its own observation.
      const end = i >= 0 && blocks[i + 1] ? blocks[i + 1]!.start : text.length;
      output.drop(end);
      routes.taken(clientPort, blocks.filter((b) => b.start < end).map((b) => b.port));
      return i >= 0 ? observeConnection(blocks[i]!.text) : NOT_ACCEPTED;
    },
    close: stop,
  };
}

/** gnutls-serv in a network namespace of its own, reached through the relay at 127.0.0.1:<a free port> on the host. */
async function startInNamespace(settings: ServerSettings, priority: string | null): Promise<RunningServer> {
  // The host's end: a listening socket on 127.0.0.1, handed to the relay. Until it is, a connection accepted here would
  // hang unanswered: none is expected (nothing knows the port yet), and one would be reset.
  const listener = createServer((socket) => socket.resetAndDestroy());
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (listener.address() as AddressInfo).port;
  const directory = temporaryDirectory('gnutls');
  // The relay is plain JavaScript: no loader the harness may have been started with (ts-node) is wanted.
  const { NODE_OPTIONS: _loader, ...env } = process.env;
  const command = ['stdbuf', '-oL', 'gnutls-serv', ...serverArguments(settings, INNER_PORT, priority)];
  // Its own process group: stopping it signals the relay (which unshare does not pass signals on to) and gnutls-serv too.
  const child = spawnTracked('unshare', [...NAMESPACE, '--', process.execPath, '-e', RELAY, '--', String(INNER_PORT), ...command], {
    cwd: directory,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const output = new Output();
  output.follow(child, 'stdout');
  let relaySaid = '';
  child.stderr?.on('data', (chunk: Buffer) => (relaySaid += chunk.toString('utf8')));
  const routes = new RelayedRoutes();
  let accepting = false;
  child.on('message', (message: unknown) => {
    if (isRoute(message)) routes.add(message[0], message[1]);
    else if (message === 'accepting') accepting = true;
    output.notify();
  });
  let failure: Error | undefined;
  child.on('error', (error) => {
    failure = error;
    output.notify();
  });
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.once('exit', () => output.notify());
  const stop = async (): Promise<void> => {
    listener.close();
    // A process that never started (no pid) will not exit either.
    if (child.pid !== undefined) await stopProcess(child);
    rmSync(directory, { recursive: true, force: true });
  };
  // Once the relay holds the socket, the harness's copy is closed: only the relay accepts on it.
  child.send('listen', listener, () => listener.close());

  const ready = (text: string): boolean => LISTENING(INNER_PORT).test(text) && accepting;
  await output.waitFor((text) => ready(text) || NOT_BOUND.test(text) || exited() || failure !== undefined, 10_000);
  if (!ready(output.peek())) {
    if (exited()) await closed;
    const text = output.peek();
    await stop();
    if (failure) throw new Error(`unshare: ${failure.message}`);
    if (relaySaid.trim()) throw new Error(`gnutls-serv's network namespace: ${relaySaid.trim()}`);
    throw serverRefusal(text || 'gnutls-serv did not start within 10 s', settings);
  }
  output.drop(output.peek().length);
  return serving(port, output, routes, stop);
}

/** gnutls-serv on every address of the host (ANY_ADDRESS): the harness dials it on 127.0.0.1. */
async function startOnEveryAddress(port: number, settings: ServerSettings, priority: string | null): Promise<RunningServer> {
  const directory = temporaryDirectory('gnutls');
  // One pipe for both streams, stdout line-buffered: a connection's lines stay in the order gnutls-serv wrote them.
  const child = spawnTracked('sh', ['-c', 'exec stdbuf -oL gnutls-serv "$@" 2>&1', 'gnutls-serv', ...serverArguments(settings, port, priority)], {
    cwd: directory,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = new Output();
  output.follow(child, 'stdout', 'stderr');
  const stop = async (): Promise<void> => {
    await stopProcess(child);
    rmSync(directory, { recursive: true, force: true });
  };
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.once('exit', () => output.notify());
  const said = await output.waitFor((text) => LISTENING(port).test(text) || NOT_BOUND.test(text) || exited(), 10_000);
  if (!LISTENING(port).test(said)) {
    if (exited()) await closed;
    const text = output.peek();
    await stop();
    // gnutls-serv does not exit when it cannot bind: it would serve nothing.
    if (NOT_BOUND.test(text)) throw new PortTaken();
    throw serverRefusal(text || 'gnutls-serv did not start within 10 s', settings);
  }
  output.drop(output.peek().length);
  return serving(port, output, SAME_PORT, stop);
}

export const gnutlsServer: ServerImplementation = {
  name: 'gnutls',
  supports: GNUTLS_SERVER_SETTINGS,
  summary: 'gnutls-serv --http: --x509certfile/--x509keyfile, --require-client-cert/--verify-client-cert from cert_reqs, --x509cafile, --priority',
  async detect() {
    const found = await versionOf('gnutls-serv');
    if (!found.available || process.env[ANY_ADDRESS] === '1') return found;
    const problem = await namespaceProblem();
    return problem === null ? found : { available: false, hint: namespaceHint(problem) };
  },
  async start(settings: ServerSettings): Promise<RunningServer> {
    refuseUndeclared('gnutls', settings, GNUTLS_SERVER_SETTINGS);
    checkServerFiles(settings);
    const priority = await serverPriority(settings);
    // gnutls-serv has no option for its address: it listens on every address (0.0.0.0 and ::) it has. In a network
    // namespace of its own those are that namespace's loopback only; on the host, only where the user says it is safe.
    const problem = await namespaceProblem();
    if (problem === null) return startInNamespace(settings, priority);
    if (process.env[ANY_ADDRESS] === '1') return onFreePort((port) => startOnEveryAddress(port, settings, priority));
    throw new ConfigurationError('server', namespaceHint(problem));
  },
};

// --- the client --------------------------------------------------------------------------------


function hostForUrl(name: string): string {
  return isIP(name) === 6 ? `[${name}]` : name;
}

function httpResponse(text: string): ClientObservation['response'] {
  const start = text.search(/HTTP\/1\.[01] \d{3}/);
  if (start < 0) return null;
  const status = Number(/HTTP\/1\.[01] (\d{3})/.exec(text.slice(start))![1]);
  return { status, body: text.slice(start).split(/\r?\n\r?\n/).slice(1).join('\n\n') };
}

/** What gnutls-cli prints on stdout around the data, after "- Simple Client Mode:". */
const CLIENT_NOTES = /^(?:- Peer has closed the GnuTLS connection|\*\*\* .*)$/gm;

let attempts = 0;

/** A file for one attempt's saved certificate chain (removed after the attempt). */
function scratchFile(): string {
  attempts += 1;
  return join(tmpdir(), `tls-conformance-gnutls-cli-${process.pid}-${attempts}-${randomBytes(4).toString('hex')}.pem`);
}

export interface ClientOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

/** gnutls-cli's output (without -V: its notes and the data share stdout) as a client observation. */
export function observeClient(ran: ClientOutput, verified: boolean, serverChainPem: string | undefined): ClientObservation {
  const marker = ran.stdout.indexOf('- Simple Client Mode:');
  const notes = marker >= 0 ? ran.stdout.slice(0, marker) : ran.stdout;
  const data = marker >= 0 ? ran.stdout.slice(marker + '- Simple Client Mode:'.length).replace(/^\r?\n\r?\n?/, '') : '';
  const handshakeCompleted = /^- Handshake was completed/m.test(notes);
  const description = /^- Description: (.+)$/m.exec(notes)?.[1];
  const negotiated = handshakeCompleted && description ? describeSession(description) : { protocol: null, cipher: null, keyExchange: null };
  const alpn = /^- Application protocol: (.+)$/m.exec(notes)?.[1]?.trim() ?? null;
  const status = /^- Status: (The certificate is NOT trusted\..*?)\s*$/m.exec(notes)?.[1];

  // GnuTLS's words, verbatim: an alert received, the verification status, "*** ..." lines, and what it wrote on stderr.
  const stars = [...ran.stdout.matchAll(/^\*\*\* .*$/gm)].map((m) => m[0].trim());
  const said = ran.stderr.split('\n').map((line) => line.trim()).filter(Boolean);
  const words = [...stars.filter((line) => /Received alert/.test(line)), ...(status ? [`- Status: ${status}`] : []), ...stars.filter((line) => !/Received alert/.test(line)), ...said];
  const error: RawError | null = words.length > 0 ? { code: 'gnutls-cli', message: [...new Set(words)].join(' | ') } : null;

  const response = httpResponse(data.replace(CLIENT_NOTES, ''));
  return {
    localPort: null,
    handshakeCompleted,
    protocol: negotiated.protocol,
    cipher: negotiated.cipher,
    keyExchange: negotiated.keyExchange,
    alpn,
    sessionReused: false,
    serverCertificate: summarizePem(serverChainPem?.match(PEM_BLOCK)?.[0]),
    verified,
    response,
    socketError: response ? null : error,
    requestError: null,
    endError: response ? error : null,
    timedOut: ran.timedOut && !response,
  };
}

async function clientArguments(target: ClientTarget, settings: ClientSettings, chainFile: string): Promise<string[]> {
  const name = settings.server_hostname;
  const args = ['--port', String(target.port), '--save-cert', chainFile];
  if (isIP(name)) args.push('--disable-sni', '--verify-hostname', name);
  else args.push('--sni-hostname', name, '--verify-hostname', name);
  if (settings.verify === false) args.push('--no-ca-verification');
  else if (typeof settings.verify === 'string') args.push('--x509cafile', settings.verify);
  if (settings.cert) args.push('--x509certfile', settings.cert[0], '--x509keyfile', settings.cert[1]);
  const priority = await gnutlsPriority(
    {
      ...(settings.minimum_version ? { minimum_version: settings.minimum_version } : {}),
      ...(settings.maximum_version ? { maximum_version: settings.maximum_version } : {}),
      ...(settings.ciphers ? { ciphers: settings.ciphers } : {}),
    },
    'client',
  );
  if (priority) args.push('--priority', priority);
  for (const protocol of settings.alpn_protocols ?? []) args.push('--alpn', protocol);
  args.push(target.host);
  return args;
}

export const gnutlsClient: ClientImplementation = {
  name: 'gnutls',
  supports: GNUTLS_CLIENT_SETTINGS,
  summary: 'gnutls-cli: --x509cafile for verify, --no-ca-verification for verify=False, --x509certfile/--x509keyfile for cert, --priority; one GET',
  detect: async () => {
    const [found, shim] = await Promise.all([versionOf('gnutls-cli'), nodelayShim()]);
    if (!found.available) return found;
    return { ...found, version: `${found.version}${shim ? ', TCP_NODELAY set by an LD_PRELOAD shim' : ' (no C compiler for the TCP_NODELAY shim: requests wait for delayed ACKs)'}` };
  },
  async attempt(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
    refuseUndeclared('gnutls', settings, GNUTLS_CLIENT_SETTINGS);
    checkClientFiles(settings);
    const chainFile = scratchFile();
    try {
      const args = await clientArguments(target, settings, chainFile);
      const name = settings.server_hostname;
      const headers = Object.entries(settings.headers ?? {}).map(([header, value]) => `${header}: ${value}\r\n`).join('');
      const request = `GET ${settings.path ?? '/'} HTTP/1.1\r\nHost: ${hostForUrl(name)}:${target.port}\r\n${headers}Connection: close\r\n\r\n`;
      // stdout line-buffered: what gnutls-cli said before a timeout is not lost in its buffer; stdin stays open, as
      // gnutls-cli ends the connection when its input ends.
      const program = await runProgram('stdbuf', ['-oL', 'gnutls-cli', ...args], request, settings.timeout * 1000, { keepInputOpen: true, env: await withShim({ nodelay: true, reportPort: true }) });
      // The shim says gnutls-cli's local port: the server's evidence is then that connection's.
      const reported = localPortIn(program.stderr);
      const ran = { ...program, stderr: reported.stderr };
      // Refused before connecting: its files or its priorities (checked beforehand, so seldom).
      if (!/^Connecting to /m.test(ran.stdout)) {
        const said = `${ran.stderr}\n${ran.stdout}`.split('\n').map((l) => l.trim()).filter((l) => /error|Error|\*\*\*/.test(l)).join(' | ');
        if (said && !ran.timedOut) throw new ConfigurationError(/priorit|Syntax/i.test(said) ? 'ciphers' : 'cert', `gnutls-cli: ${said}`);
      }
      return { ...observeClient(ran, settings.verify !== false, existsSync(chainFile) ? readFileSync(chainFile, 'latin1') : undefined), localPort: reported.port };
    } finally {
      rmSync(chainFile, { force: true });
    }
  },
};
