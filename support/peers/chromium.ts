/**
 * Chromium as a client: Debian's /usr/bin/chromium (or TLS_CONFORMANCE_CHROMIUM),
 * driven by playwright-core over CDP. An attempt is one `fetch()` of
 * "https://<server_hostname>:<port><path>" from a page of the browser that
 * stays at about:blank; Chromium's own network stack (BoringSSL) makes the
 * connection and the handshake. In the grid as client `chromium`; its `close`
 * (closeChromium) stops the browsers.
 *
 * Where the connection goes: `--host-resolver-rules=MAP * 127.0.0.1` sends
 * every name, and every IP literal ([::1] included), to 127.0.0.1 at the
 * URL's port, while the URL keeps server_hostname: it is the SNI name (none
 * for an IP address, as RFC 6066 says) and the name the certificate must
 * match. `--no-proxy-server` keeps a proxy from the environment out; QUIC,
 * background networking, component updates and sync are off. The services
 * Chromium contacts on its own at start (update.googleapis.com,
 * accounts.google.com) are mapped to 127.0.0.1 too, where nothing answers.
 *
 * Trust, one browser per trust and per set of switches, launched when first
 * needed and kept until closeChromium() (launching costs about 250 ms; an
 * attempt then costs tens of ms). Each browser has a HOME of its own (0700,
 * removed by closeChromium()) whose NSS database ($HOME/.pki/nssdb, where
 * Chromium on Linux reads locally trusted certificates) is made with certutil:
 * - verify = a CA file → every certificate of the file is added to the
 *   database: a CA certificate as a trusted CA (`-t C,,`), any other as a
 *   trusted peer (`-t P,,`, NSS's only way to trust a certificate that is not
 *   a CA, such as a self-signed leaf given as `verify`). Keyed by the path and
 *   a hash of the file's content: an edited file gets a browser of its own.
 * - verify = true → an empty database: Chromium's own root store only, so the
 *   test CAs are not trusted (requests' certifi bundle would not trust them either).
 * - verify = false → a browser launched with `--ignore-certificate-errors`:
 *   no chain and no name is checked, as requests' verify=False. Playwright's
 *   per-context `ignoreHTTPSErrors` is NOT used, although it would keep the
 *   choice to one attempt: with it Chromium first refuses the certificate
 *   (alert 46, certificate_unknown, on a first connection) and then opens a
 *   second connection with the error allowed, so a server that counts
 *   connections sees two, the first one refused. The switch makes it one.
 *   The observation says `verified: false`.
 *
 * Every attempt is a fresh connection and a full handshake, on a port of its
 * own: the adapter opens a relay on a loopback port this browser has never
 * used (FreshPorts, support/peers/fresh-port.ts) that takes one connection,
 * passes every byte to the server unchanged and refuses any second
 * connection, and fetches from that port. Chromium keys its socket pool and
 * its TLS session cache by host and port, so a port it has never seen offers
 * neither a pooled socket nor a session to resume; the browser, its context
 * and its page (one renderer process) are kept for the whole run. Before, a
 * fresh browser context per attempt did the same at the price of a renderer
 * process each (~200 ms an attempt; now ~12 ms). Measured: with the same port
 * every time, Chromium resumed 13 of 20 sessions; with fresh ports, none
 * (test/chromium.test.ts checks that the server sees no resumed session). The
 * relay also tells the server-side port, so the server's evidence is that
 * connection's, and records what crossed for the wire's account below. After
 * the attempt the relay closes the connection (a FIN to the server, as a
 * client closing an idle connection sends).
 *
 * The fetch: no cache, no credentials, aborted at the timeout, the body read
 * to its end (a load whose body nobody reads ends ~50 ms late). The browser
 * runs with `--disable-web-security`, so that the same-origin policy of the
 * about:blank page (CORS, Opaque Response Blocking) neither hides an answer
 * nor blocks an HTML one: the answer is read whole, as a navigation would.
 * That switch leaves certificate verification alone. Extra request headers
 * are the page's (Network.setExtraHTTPHeaders), one page per set of headers.
 * A request Chromium still blocked by a policy is an error of the harness,
 * never a TLS result.
 *
 * One attempt, one TCP connection, as far as Chromium allows:
 * - Chromium's classic socket pools retry a TLS connection once, on a new
 *   connection, after ERR_CONNECTION_CLOSED, ERR_CONNECTION_RESET,
 *   ERR_SSL_PROTOCOL_ERROR or ERR_SSL_VERSION_OR_CIPHER_MISMATCH
 *   (SSLConnectJob's leftover "legacy crypto" fallback, crbug.com/40085786; no
 *   switch turns it off). The browsers run with `--enable-features=HappyEyeballsV3`,
 *   Chromium's HttpStreamPool (the connection pools that replace the connect
 *   jobs, being rolled out), which makes a single TLS attempt.
 * - Chromium preconnects to a page's origin when a navigation starts (the
 *   navigation attempts of earlier versions of this adapter measured 1 to 4
 *   connections to a server that resets). The profile's Preferences set
 *   net.network_prediction_options = 2 ("do not predict network actions").
 *   The browser is launched with launchPersistentContext so that the profile
 *   (in the browser's HOME, removed with it) is ours to write; the attempts'
 *   pages are the profile's own (its first page is the anchor: one renderer
 *   per launch). A fetch makes no favicon request, and the
 *   relay refuses any connection after the first.
 * - A server that asks for a client certificate (CERT_OPTIONAL, CERT_REQUIRED)
 *   is not met at all (`unsupportedServer`: its cells are "not supported by
 *   chromium: cert_reqs (...)"), because it would see TWO connections (the
 *   relay now refuses the second): Chromium aborts the first handshake when the
 *   CertificateRequest arrives (the server sees a reset before its handshake
 *   completes), asks the browser which certificate to send (headless Chromium
 *   with no certificate to offer answers "none", without a dialog), and
 *   connects again sending an empty Certificate message. The choice is kept
 *   in the network context, so a fresh context asks again. A CERT_OPTIONAL
 *   server then completes the second handshake and answers (no certificate
 *   seen); a CERT_REQUIRED server refuses it (alert certificate_required in
 *   TLS 1.3), and Chromium says net::ERR_BAD_SSL_CLIENT_AUTH_CERT (in TLS
 *   1.2, racing its False Start write, sometimes net::ERR_SOCKET_NOT_CONNECTED).
 *   Nothing in CDP says that a certificate was requested.
 *
 * Settings (CHROMIUM_CLIENT_SETTINGS; anything else is refused by name):
 * - server_hostname, path → the URL; headers → Network.setExtraHTTPHeaders
 *   of a page kept for those headers; timeout (seconds) → the fetch's abort
 *   signal, the body read within the same deadline.
 * - minimum_version TLSv1_2 (Chromium's floor already) or TLSv1_3 →
 *   `--ssl-version-min=tls1.3`; maximum_version TLSv1_3 (the ceiling already)
 *   or TLSv1_2 → `--ssl-version-max=tls1.2`. TLS 1.0 and 1.1 are gone from
 *   Chromium (98): a bound below TLS 1.2 cannot be expressed and is refused.
 * - ciphers: an explicit list of the TLS 1.2 suites Chromium offers, in
 *   OpenSSL's names → `--cipher-suite-blacklist` with every other one.
 *   Chromium ignores the list's order (it offers its own); TLS 1.3 suites
 *   cannot be configured (BoringSSL), and Python's set_ciphers leaves them
 *   alone too, so a TLS 1.3 name is refused, as are OpenSSL's keywords and
 *   operators and any suite Chromium does not have.
 * - alpn_protocols: Chromium offers ["h2", "http/1.1"]; ["http/1.1"] alone
 *   is `--disable-http2`; any other list is refused.
 * - cert is refused: see CERT_WHY. Chromium presents a client certificate
 *   only from a certificate store (its NSS database) when a content setting
 *   or policy (AutoSelectCertificateForUrls) selects it, or through the
 *   dialog; this adapter sets up neither. Playwright's `clientCertificates`
 *   option is not used: it terminates TLS in Playwright's own Node process,
 *   so it would not be Chromium presenting the certificate.
 * - suppress_ragged_eofs / ignore_unexpected_eof are Python's: accepted at
 *   their neutral values only (Chromium takes a TCP close as the end of a
 *   body without Content-Length, close_notify or not).
 *
 * What is reported: from CDP, Network.responseReceived's securityDetails
 * (protocol "TLS 1.3" → "TLSv1.3"; cipher, key exchange and MAC → OpenSSL's
 * suite name; keyExchangeGroup → "ECDH X25519"), the status and the body,
 * and for a failure the net::ERR_* word of Network.loadingFailed, verbatim.
 * From the wire (support/observer/server-flight.ts, on the relay's
 * recording): the certificate the server sent (also one Chromium refused,
 * which CDP does not give for a fetch), the application protocol the server
 * chose by ALPN (CDP says "http/1.1" whether or not ALPN agreed on it), and
 * whether the server resumed a session. TLS 1.3 encrypts those, so each
 * browser writes its key log (--ssl-key-log-file, in its 0700 HOME, copied to
 * the run's --keylog file when there is one) and the server's handshake
 * traffic secret opens them. Chromium says net::ERR_CERT_DATE_INVALID both
 * for an expired certificate and for one not valid yet: the adapter adds
 * which, from the certificate's dates.
 */
import { runProgram } from '../spawner';
import { createHash, X509Certificate } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { UnsupportedSetting } from '../errors';
import type { ClientSettings, TlsVersion } from '../vocabulary';
import { alsoStop, mayStartProcesses } from '../processes';
import { summarizeCertificate } from './certificate-summary';
import { FreshPorts, type FreshPort } from './fresh-port';
import { KeyLogReader, readServerFlight, type ServerFlight } from '../observer/server-flight';
import { writeKeylogLine } from '../keylog';
import { CLIENT_BASICS, refuseUndeclared } from './declared';
import { readPem } from './pem-files';
import type { Availability, CertificateSummary, ClientImplementation, ClientObservation, ClientTarget, RawError } from './types';

export const CHROMIUM = process.env.TLS_CONFORMANCE_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_HINT = 'apt-get install -y chromium libnss3-tools';
const NAME = 'chromium';

// --- the settings the adapter implements -------------------------------------------------------

export const CHROMIUM_CLIENT_SETTINGS = CLIENT_BASICS.filter((field) => field !== 'cert');

/** Why `cert` is not declared (the refusal's words when the adapter is called with one). */
export const CERT_WHY =
  "Chromium presents a client certificate only from its certificate store when a policy or content setting " +
  "(AutoSelectCertificateForUrls) selects it, or through an interactive dialog, and this adapter sets up neither; " +
  "Playwright's clientCertificates option terminates TLS in Playwright's Node process, so it would not be Chromium presenting it";

// --- suites: OpenSSL's names and Chromium's ----------------------------------------------------

interface Suite {
  /** OpenSSL's name, the one the documents and the other adapters use. */
  readonly openssl: string;
  /** The IANA code point, as --cipher-suite-blacklist takes it. */
  readonly code: number;
  /** How CDP's securityDetails names the parts. */
  readonly keyExchange: string;
  readonly cipher: string;
  readonly mac?: string;
}

const suite = (openssl: string, code: number, keyExchange: string, cipher: string, mac?: string): Suite => ({ openssl, code, keyExchange, cipher, ...(mac ? { mac } : {}) });

/** The TLS 1.2 suites Chromium offers (its ClientHello, Chromium 156), in its order. */
export const CHROMIUM_TLS12_SUITES: readonly Suite[] = [
  suite('ECDHE-ECDSA-AES128-GCM-SHA256', 0xc02b, 'ECDHE_ECDSA', 'AES_128_GCM'),
  suite('ECDHE-RSA-AES128-GCM-SHA256', 0xc02f, 'ECDHE_RSA', 'AES_128_GCM'),
  suite('ECDHE-ECDSA-AES256-GCM-SHA384', 0xc02c, 'ECDHE_ECDSA', 'AES_256_GCM'),
  suite('ECDHE-RSA-AES256-GCM-SHA384', 0xc030, 'ECDHE_RSA', 'AES_256_GCM'),
  suite('ECDHE-ECDSA-CHACHA20-POLY1305', 0xcca9, 'ECDHE_ECDSA', 'CHACHA20_POLY1305'),
  suite('ECDHE-RSA-CHACHA20-POLY1305', 0xcca8, 'ECDHE_RSA', 'CHACHA20_POLY1305'),
  suite('ECDHE-RSA-AES128-SHA', 0xc013, 'ECDHE_RSA', 'AES_128_CBC', 'HMAC-SHA1'),
  suite('ECDHE-RSA-AES256-SHA', 0xc014, 'ECDHE_RSA', 'AES_256_CBC', 'HMAC-SHA1'),
  suite('AES128-GCM-SHA256', 0x009c, 'RSA', 'AES_128_GCM'),
  suite('AES256-GCM-SHA384', 0x009d, 'RSA', 'AES_256_GCM'),
  suite('AES128-SHA', 0x002f, 'RSA', 'AES_128_CBC', 'HMAC-SHA1'),
  suite('AES256-SHA', 0x0035, 'RSA', 'AES_256_CBC', 'HMAC-SHA1'),
];

/** TLS 1.3: CDP names the AEAD only; OpenSSL (and IANA) name the suite. */
const TLS13_SUITES: Readonly<Record<string, string>> = {
  AES_128_GCM: 'TLS_AES_128_GCM_SHA256',
  AES_256_GCM: 'TLS_AES_256_GCM_SHA384',
  CHACHA20_POLY1305: 'TLS_CHACHA20_POLY1305_SHA256',
};

const BY_OPENSSL = new Map(CHROMIUM_TLS12_SUITES.map((s) => [s.openssl, s]));
const BY_PARTS = new Map(CHROMIUM_TLS12_SUITES.map((s) => [`${s.keyExchange}/${s.cipher}/${s.mac ?? ''}`, s]));

/** CDP's group names → OpenSSL's, as Node reports them ("ECDH prime256v1", "ECDH X25519"). */
const GROUPS: Readonly<Record<string, string>> = {
  X25519: 'X25519',
  'P-256': 'prime256v1',
  'P-384': 'secp384r1',
  'P-521': 'secp521r1',
  X25519MLKEM768: 'X25519MLKEM768',
};

/** The parts of CDP's securityDetails the adapter reads. */
export interface SecurityDetails {
  readonly protocol: string;
  readonly keyExchange: string;
  readonly keyExchangeGroup?: string;
  readonly cipher: string;
  readonly mac?: string;
}

/** What a handshake's securityDetails say, as the other adapters say it. */
export function describeSecurity(details: SecurityDetails): { protocol: string | null; cipher: string | null; keyExchange: string | null } {
  const minor = /^TLS 1\.(\d)$/.exec(details.protocol)?.[1];
  const protocol = minor === undefined ? details.protocol || null : minor === '0' ? 'TLSv1' : `TLSv1.${minor}`;
  const cipher =
    protocol === 'TLSv1.3'
      ? (TLS13_SUITES[details.cipher] ?? details.cipher)
      : (BY_PARTS.get(`${details.keyExchange}/${details.cipher}/${details.mac ?? ''}`)?.openssl ?? [details.keyExchange, details.cipher, details.mac].filter(Boolean).join(' '));
  const group = details.keyExchangeGroup;
  const keyExchange = group ? `ECDH ${GROUPS[group] ?? group}` : details.keyExchange === 'RSA' ? 'RSA key transport' : null;
  return { protocol, cipher: cipher || null, keyExchange };
}

// --- from the settings to a browser ------------------------------------------------------------

type Trust = { readonly kind: 'file'; readonly path: string; readonly certificates: readonly string[]; readonly hash: string } | { readonly kind: 'system' } | { readonly kind: 'insecure' };

/** The browser an attempt needs: its trust and its switches. */
export interface LaunchPlan {
  readonly key: string;
  readonly trust: Trust;
  /** Switches beyond the ones every browser gets, in a stable order. */
  readonly switches: readonly string[];
}

const refuse = (field: string, why: string): never => {
  throw new UnsupportedSetting(NAME, field, why);
};

const BELOW_FLOOR = 'Chromium has had no TLS 1.0 or 1.1 since version 98: its versions are TLS 1.2 and 1.3';

function versionSwitches(minimum: TlsVersion | undefined, maximum: TlsVersion | undefined): string[] {
  const switches: string[] = [];
  if (minimum === 'TLSv1' || minimum === 'TLSv1_1') refuse('minimum_version', `${minimum} cannot be expressed: ${BELOW_FLOOR}`);
  if (maximum === 'TLSv1' || maximum === 'TLSv1_1') refuse('maximum_version', `${maximum} cannot be expressed: ${BELOW_FLOOR}`);
  if (minimum === 'TLSv1_3' && maximum === 'TLSv1_2') refuse('minimum_version', 'a minimum above the maximum cannot be expressed: Chromium takes its own range instead');
  if (minimum === 'TLSv1_3') switches.push('--ssl-version-min=tls1.3');
  if (maximum === 'TLSv1_2') switches.push('--ssl-version-max=tls1.2');
  return switches;
}

/** An OpenSSL cipher list as --cipher-suite-blacklist: every suite Chromium offers and the list does not name. */
export function cipherSwitches(ciphers: string | undefined): string[] {
  if (!ciphers) return [];
  const names = ciphers.split(/[:, ]+/).filter(Boolean);
  const tls13 = names.filter((name) => Object.values(TLS13_SUITES).includes(name) || /^TLS_AES_128_CCM/.test(name));
  if (tls13.length) refuse('ciphers', `${tls13.join(', ')}: Chromium's TLS 1.3 suites cannot be configured`);
  const syntax = names.filter((name) => !BY_OPENSSL.has(name) && (/^[!+\-@]/.test(name) || name.includes('+') || /^[A-Z0-9]+$/.test(name)));
  if (syntax.length) refuse('ciphers', `${syntax.join(', ')}: OpenSSL cipher-string keywords and operators have no Chromium equivalent; an explicit list of suites can be expressed`);
  const unknown = names.filter((name) => !BY_OPENSSL.has(name));
  if (unknown.length) refuse('ciphers', `Chromium has no suite ${unknown.join(', ')} (it offers ${CHROMIUM_TLS12_SUITES.map((s) => s.openssl).join(', ')})`);
  const kept = new Set(names);
  const dropped = CHROMIUM_TLS12_SUITES.filter((s) => !kept.has(s.openssl));
  return dropped.length ? [`--cipher-suite-blacklist=${dropped.map((s) => `0x${s.code.toString(16).padStart(4, '0')}`).join(',')}`] : [];
}

function alpnSwitches(protocols: readonly string[] | undefined): string[] {
  if (!protocols) return [];
  const list = JSON.stringify(protocols);
  if (list === JSON.stringify(['h2', 'http/1.1'])) return [];
  if (list === JSON.stringify(['http/1.1'])) return ['--disable-http2'];
  return refuse('alpn_protocols', `Chromium offers ["h2", "http/1.1"], or ["http/1.1"] with --disable-http2; it cannot offer ${list}`);
}

function trustOf(verify: string | boolean): Trust {
  if (verify === true) return { kind: 'system' };
  if (verify === false) return { kind: 'insecure' };
  const text = readPem('verify', verify, 'certificate');
  const certificates = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return { kind: 'file', path: verify, certificates, hash: createHash('sha256').update(text).digest('hex').slice(0, 16) };
}

/**
 * The browser the settings need, or UnsupportedSetting naming what Chromium
 * cannot do. `settings` may be the harness's declared view: only declared
 * settings are read (and the others only through Object.entries, which a view
 * does not list).
 */
export function chromiumPlan(settings: ClientSettings): LaunchPlan {
  const given = Object.entries(settings).filter(([, value]) => value !== undefined);
  if (given.some(([field]) => field === 'cert')) refuse('cert', CERT_WHY);
  refuseUndeclared(NAME, settings, CHROMIUM_CLIENT_SETTINGS);
  const trust = trustOf(settings.verify);
  const switches = [
    ...(trust.kind === 'insecure' ? ['--ignore-certificate-errors'] : []),
    ...versionSwitches(settings.minimum_version, settings.maximum_version),
    ...cipherSwitches(settings.ciphers),
    ...alpnSwitches(settings.alpn_protocols),
  ];
  const trustKey = trust.kind === 'file' ? `file:${trust.path}:${trust.hash}` : trust.kind;
  return { key: JSON.stringify([trustKey, switches]), trust, switches };
}

/** The URL an attempt navigates to: server_hostname as the host (an IPv6 address in brackets). */
export function targetUrl(serverHostname: string, port: number, path = '/'): string {
  const host = isIP(serverHostname) === 6 ? `[${serverHostname}]` : serverHostname;
  return `https://${host}:${port}${path.startsWith('/') ? path : `/${path}`}`;
}

// --- Chromium, its HOME, its profile -----------------------------------------------------------

/** Every browser gets these (the trust and the settings add theirs). */
const BASE_SWITCHES = [
  '--no-sandbox', // CI runs as root, where Chromium's sandbox cannot start
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--no-proxy-server',
  '--host-resolver-rules=MAP * 127.0.0.1',
  // One TLS attempt per connection (see the header). Chromium takes the last --enable-features only, so the
  // feature Playwright enables for headless runs is repeated here.
  '--enable-features=HappyEyeballsV3,SkipListAccountsWithoutGaiaCookies',
  // The attempts are fetch() calls from an about:blank page to https://<name>:<port>: without the same-origin
  // policy (CORS, Opaque Response Blocking) in this private browser, every answer is read whole, whatever its
  // type and headers, as a navigation would read it. Certificate verification is not touched by this switch.
  '--disable-web-security',
];

/** The profile's Preferences: no preconnect when a navigation starts. */
const PREFERENCES = { net: { network_prediction_options: 2 } };

/** A program run to its end, tracked like every process of the run (an interrupted launch leaves nothing behind). */
async function run(command: string, args: readonly string[], timeout = 15_000): Promise<{ stdout: string; stderr: string; error: Error | null }> {
  const ran = await runProgram(command, args, '', timeout);
  const error = ran.timedOut ? new Error(`${command}: no end within ${timeout} ms`) : ran.code !== 0 ? new Error(`${command} exited with ${ran.code}`) : null;
  return { stdout: ran.stdout, stderr: ran.stderr, error };
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && executable(join(dir, command)));
}

/** A HOME for one browser: 0700, with its NSS database holding exactly the certificates the trust names. */
async function makeHome(trust: Trust): Promise<string> {
  const home = mkdtempSync(join(tmpdir(), 'tls-conformance-chromium-')); // mkdtemp creates it 0700
  try {
    const db = join(home, '.pki', 'nssdb');
    mkdirSync(db, { recursive: true, mode: 0o700 });
    const certutil = async (args: readonly string[]): Promise<void> => {
      const ran = await run('certutil', args);
      if (ran.error) throw new Error(`certutil ${args.join(' ')}: ${(ran.stderr || ran.error.message).trim()}`);
    };
    await certutil(['-N', '--empty-password', '-d', `sql:${db}`]);
    if (trust.kind === 'file') {
      for (const [index, pem] of trust.certificates.entries()) {
        const file = join(home, `verify-${index + 1}.pem`);
        writeFileSync(file, pem);
        await certutil(['-A', '-d', `sql:${db}`, '-n', `verify-${index + 1}`, '-t', new X509Certificate(pem).ca ? 'C,,' : 'P,,', '-i', file]);
      }
    }
    const profile = join(home, 'profile', 'Default');
    mkdirSync(profile, { recursive: true });
    writeFileSync(join(profile, 'Preferences'), JSON.stringify(PREFERENCES));
    return home;
  } catch (error) {
    rmSync(home, { recursive: true, force: true });
    throw error;
  }
}

// --- one page per browser, one fetch per attempt ------------------------------------------------

/** What CDP said of one attempt's request, found by its port (each attempt has a port of its own). */
interface Exchange {
  requestId?: string;
  response?: { status: number; protocol?: string; securityDetails?: SecurityDetails };
  /** The body's load finished (it can be read). */
  finished?: boolean;
  /** Network.loadingFailed's errorText. */
  failure?: string;
  /** Chromium blocked the request or its answer by a policy (CORS, ORB, Local Network Access): a harness error, not a TLS result. */
  blocked?: string;
  readonly waiters: (() => void)[];
}

/**
 * The page attempts fetch from: a page of the browser's profile left at its
 * first about:blank, never navigated, so its renderer process is started
 * once. Attempts with extra request headers get a page of their own per set
 * of headers (Network.setExtraHTTPHeaders is per page: no CORS preflight, as
 * a navigation's headers).
 */
class Anchor {
  private readonly byPort = new Map<string, Exchange>();
  private readonly byRequest = new Map<string, Exchange>();

  private constructor(
    readonly page: Page,
    readonly cdp: CDPSession,
  ) {}

  static async open(context: BrowserContext, headers: Readonly<Record<string, string>> | undefined, existing?: Page): Promise<Anchor> {
    const page = existing ?? (await context.newPage());
    const cdp = await context.newCDPSession(page);
    const anchor = new Anchor(page, cdp);
    const wake = (exchange: Exchange | undefined): void => {
      for (const waiter of exchange?.waiters.splice(0) ?? []) waiter();
    };
    cdp.on('Network.requestWillBeSent', (e) => {
      let port: string;
      try {
        port = new URL(e.request.url).port;
      } catch {
        return;
      }
      const exchange = anchor.byPort.get(port);
      if (!exchange || exchange.requestId !== undefined) return;
      exchange.requestId = e.requestId;
      anchor.byRequest.set(e.requestId, exchange);
    });
    cdp.on('Network.responseReceived', (e) => {
      const exchange = anchor.byRequest.get(e.requestId);
      if (!exchange) return;
      const r = e.response;
      exchange.response = { status: r.status, ...(r.protocol ? { protocol: r.protocol } : {}), ...(r.securityDetails ? { securityDetails: r.securityDetails as SecurityDetails } : {}) };
      wake(exchange);
    });
    cdp.on('Network.loadingFinished', (e) => {
      const exchange = anchor.byRequest.get(e.requestId);
      if (!exchange) return;
      exchange.finished = true;
      wake(exchange);
    });
    cdp.on('Network.loadingFailed', (e) => {
      const exchange = anchor.byRequest.get(e.requestId);
      if (!exchange) return;
      if (e.blockedReason || e.corsErrorStatus) exchange.blocked ??= `${e.errorText} (${e.blockedReason ?? `CORS ${JSON.stringify(e.corsErrorStatus)}`})`;
      exchange.failure ??= e.errorText;
      wake(exchange);
    });
    await Promise.all([
      cdp.send('Network.enable'),
      cdp.send('Network.setCacheDisabled', { cacheDisabled: true }),
      ...(headers && Object.keys(headers).length ? [cdp.send('Network.setExtraHTTPHeaders', { headers: { ...headers } })] : []),
    ]);
    return anchor;
  }

  expect(port: number): Exchange {
    const exchange: Exchange = { waiters: [] };
    this.byPort.set(String(port), exchange);
    return exchange;
  }

  forget(port: number, exchange: Exchange): void {
    this.byPort.delete(String(port));
    if (exchange.requestId) this.byRequest.delete(exchange.requestId);
  }

  /** Wait until `ready()` holds (checked at each CDP event of the exchange) or `ms` have passed. */
  async until(exchange: Exchange, ready: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        exchange.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
    return true;
  }

  /**
   * fetch(url) in the page: no-cors (an opaque answer, which CDP still
   * reports whole), no cache, no credentials, aborted after `ms`. Settles
   * with what JS saw. Redirects are followed, as the navigation this replaced
   * followed them (no-cors allows no other redirect mode); the features have none.
   */
  fetch(url: string, ms: number): Promise<string> {
    return this.page.evaluate(
      ([target, limit]) =>
        fetch(target, { cache: 'no-store', credentials: 'omit', signal: AbortSignal.timeout(limit) }).then(
          // Reading the body is what ends the load at once (an unread body, as an opaque no-cors answer's, ends ~50 ms later).
          (response) => response.text().then(
            (text) => `answered ${response.status}, ${text.length} characters`,
            (error: Error) => `answered ${response.status}, then ${error.name}: ${error.message}`,
          ),
          (error: Error) => `${error.name}: ${error.message}`,
        ),
      [url, ms] as const,
    );
  }

  async body(exchange: Exchange, ms: number): Promise<string | null> {
    if (!(await this.until(exchange, () => exchange.finished === true || exchange.failure !== undefined, ms)) || !exchange.finished) return null;
    const { body, base64Encoded } = await this.cdp.send('Network.getResponseBody', { requestId: exchange.requestId! });
    return base64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  }
}

// --- the browsers ------------------------------------------------------------------------------

class ChromiumBrowser {
  /** The pages attempts fetch from, by their extra headers. */
  private readonly anchors = new Map<string, Promise<Anchor>>();
  readonly ports = new FreshPorts();
  readonly keyLog: KeyLogReader;
  private stopped = false;
  /** Attempts running on this browser, and when the last one started: which browser to close when too many run. */
  busy = 0;
  lastUsed = Date.now();

  private constructor(
    readonly home: string,
    private readonly persistent: BrowserContext,
    private readonly context: BrowserContext,
    private readonly browser: Browser,
    keyLogPath: string,
  ) {
    this.keyLog = new KeyLogReader(keyLogPath, (line) => writeKeylogLine(Buffer.from(line + '\n', 'latin1')));
  }

  static async launch(plan: LaunchPlan): Promise<ChromiumBrowser> {
    if (!mayStartProcesses()) throw new Error('the run is being interrupted: no browser is launched');
    alsoStop(closeChromium);
    const { chromium } = require('playwright-core') as typeof import('playwright-core'); // loaded only when a browser is needed
    const home = await makeHome(plan.trust);
    const keyLogPath = join(home, 'keys.log');
    try {
      const persistent = await chromium.launchPersistentContext(join(home, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        timeout: 30_000,
        env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache'), SSLKEYLOGFILE: keyLogPath },
        args: [...BASE_SWITCHES, `--ssl-key-log-file=${keyLogPath}`, ...plan.switches],
        // Playwright's own handlers would end the process at Ctrl-C before the harness has stopped and reaped the
        // other peers: the harness stops the browsers itself (alsoStop, support/processes.ts).
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
      const browser = persistent.browser();
      if (!browser) throw new Error('playwright-core gave no browser for the persistent context');
      // The attempts' pages are the profile's own (a profile in the browser's temporary HOME, removed with it): its first
      // page, already there, is the anchor without extra headers, so a launch starts one renderer, not two. Nothing of
      // one attempt reaches the next: no cookies are sent or kept (credentials: 'omit'), the cache is off, and each
      // attempt has a port of its own.
      const launched = new ChromiumBrowser(home, persistent, persistent, browser, keyLogPath);
      const first = persistent.pages()[0];
      const anchor = Anchor.open(persistent, undefined, first);
      anchor.catch(() => (launched.anchors.get('{}') === anchor ? launched.anchors.delete('{}') : undefined)); // made again when needed
      launched.anchors.set('{}', anchor);
      return launched;
    } catch (error) {
      rmSync(home, { recursive: true, force: true });
      throw error;
    }
  }

  get connected(): boolean {
    return !this.stopped && this.browser.isConnected();
  }

  anchor(headers: Readonly<Record<string, string>> | undefined): Promise<Anchor> {
    const key = JSON.stringify(headers ?? {});
    let anchor = this.anchors.get(key);
    if (!anchor) {
      anchor = Anchor.open(this.context, headers);
      const made = anchor;
      made.catch(() => (this.anchors.get(key) === made ? this.anchors.delete(key) : undefined));
      this.anchors.set(key, made);
    }
    return anchor;
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.persistent.close().catch(() => undefined);
    rmSync(this.home, { recursive: true, force: true });
  }
}

/**
 * Browsers kept at once: each costs ~150 MB with its spare tab. A run that
 * needs more (many CA files, versions, cipher lists) closes the least
 * recently used idle one; it is launched again when needed.
 */
const MAX_BROWSERS = 8;

const browsers = new Map<string, Promise<ChromiumBrowser>>();

async function retireIdleBrowsers(): Promise<void> {
  if (browsers.size < MAX_BROWSERS) return;
  const settled = await Promise.all([...browsers].map(async ([key, launched]) => [key, launched, await launched.catch(() => undefined)] as const));
  const idle = settled.filter(([, , browser]) => browser && browser.busy === 0).sort(([, , a], [, , b]) => a!.lastUsed - b!.lastUsed);
  for (const [key, launched, browser] of idle.slice(0, browsers.size - MAX_BROWSERS + 1)) {
    if (browsers.get(key) === launched) browsers.delete(key);
    await browser!.close();
  }
}

async function browserFor(plan: LaunchPlan): Promise<ChromiumBrowser> {
  let launched = browsers.get(plan.key);
  if (launched) {
    const browser = await launched.catch(() => undefined);
    if (browser?.connected) return browser;
    if (browsers.get(plan.key) === launched) browsers.delete(plan.key);
    void browser?.close();
  }
  await retireIdleBrowsers();
  launched = browsers.get(plan.key) ?? ChromiumBrowser.launch(plan); // another attempt may have launched it meanwhile
  browsers.set(plan.key, launched);
  const current = launched;
  current.catch(() => (browsers.get(plan.key) === current ? browsers.delete(plan.key) : undefined)); // tried again next time
  return current;
}

/** How many browsers are running: for tests. */
export function chromiumBrowserCount(): number {
  return browsers.size;
}

/** The HOMEs of the running browsers: for tests. */
export async function chromiumHomes(): Promise<string[]> {
  const all = await Promise.all([...browsers.values()].map((launched) => launched.catch(() => undefined)));
  return all.filter((b): b is ChromiumBrowser => b !== undefined).map((b) => b.home);
}

/** Close every browser and remove their HOMEs: for the AfterAll hook, like closeGoPeer. */
export async function closeChromium(): Promise<void> {
  const all = [...browsers.values()];
  browsers.clear();
  await Promise.all(all.map((launched) => launched.then((browser) => browser.close()).catch(() => undefined)));
}

// --- detection ---------------------------------------------------------------------------------

let detected: Promise<Availability> | undefined;

export function detectChromium(): Promise<Availability> {
  detected ??= (async (): Promise<Availability> => {
    if (!executable(CHROMIUM)) return { available: false, hint: `no Chromium at ${CHROMIUM}: ${CHROMIUM_HINT}` };
    if (!onPath('certutil')) return { available: false, hint: `no certutil to give Chromium its trusted CAs: ${CHROMIUM_HINT}` };
    let playwrightVersion: string;
    try {
      playwrightVersion = (require('playwright-core/package.json') as { version: string }).version;
    } catch {
      return { available: false, hint: 'playwright-core is not installed (npm install playwright-core)' };
    }
    const ran = await run(CHROMIUM, ['--version']);
    const version = /(?:Chromium|Google Chrome)\s+(\d+(?:\.\d+)+)/.exec(ran.stdout)?.[1];
    if (!version) return { available: false, hint: `${CHROMIUM} --version said nothing of a version (${(ran.stderr || ran.error?.message || '').trim()}): ${CHROMIUM_HINT}` };
    return { available: true, version: `Chromium ${version} (playwright-core ${playwrightVersion})` };
  })();
  return detected;
}

// --- the attempt -------------------------------------------------------------------------------

/** Errors Chromium raises only once the handshake is done (an HTTP exchange went wrong). */
const AFTER_HANDSHAKE = /^net::ERR_(EMPTY_RESPONSE|INVALID_HTTP_RESPONSE|RESPONSE_HEADERS_\w+|CONTENT_\w+|INCOMPLETE_CHUNKED_ENCODING|HTTP2_\w+|INVALID_CHUNKED_ENCODING|TOO_MANY_REDIRECTS|UNSAFE_REDIRECT)$/;
/** Errors of the TLS connection itself (as opposed to a timeout or an HTTP-level error). */
const CONNECTION = /^net::ERR_(CERT_\w+|SSL_\w+|BAD_SSL_\w+|CONNECTION_\w+|SOCKET_\w+|ADDRESS_\w+|NAME_NOT_RESOLVED|ECH_\w+)$/;

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within the timeout`), { name: 'TimeoutError' })), Math.max(1, ms));
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/** The refused or accepted certificate, as it crossed the wire. */
function certificateOf(flight: ServerFlight): { summary: CertificateSummary | null; validFrom?: number; validTo?: number } {
  const leaf = flight.certificates?.[0];
  if (!leaf) return { summary: null };
  try {
    const cert = new X509Certificate(leaf);
    return { summary: summarizeCertificate(cert), validFrom: Date.parse(cert.validFrom) / 1000, validTo: Date.parse(cert.validTo) / 1000 };
  } catch {
    return { summary: null };
  }
}

/** net::ERR_CERT_DATE_INVALID says neither which date nor which way: the refused certificate's dates do. */
function dateDetail(dates: { validFrom?: number; validTo?: number }, now: number): string {
  if (dates.validFrom === undefined || dates.validTo === undefined) return '';
  if (now < dates.validFrom * 1000) return ` (not valid before ${iso(dates.validFrom)}: read by the adapter from the certificate the server sent)`;
  if (now > dates.validTo * 1000) return ` (not valid after ${iso(dates.validTo)}: read by the adapter from the certificate the server sent)`;
  return '';
}

/** How long to wait for Chromium's key log line of a TLS 1.3 handshake (written when the ServerHello arrives). */
const KEY_LOG_WAIT_MS = 500;

/**
 * Fetches at once in this process: one per core. A fetch costs a few ms of
 * the browser's CPU; more at once on two cores only slows every one of them.
 * Waiting here comes before an attempt's own deadline is set.
 */
const AT_ONCE = Math.max(1, availableParallelism());
let fetching = 0;
const waiting: (() => void)[] = [];

async function attempt(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
  if (fetching >= AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  fetching++;
  try {
    return await attemptNow(target, settings);
  } finally {
    fetching--;
    waiting.shift()?.();
  }
}

/** The wire's account of the server's flight; for TLS 1.3 it waits a little for Chromium's key log line. */
async function flightOf(browser: ChromiumBrowser, port: FreshPort, deadline: number): Promise<ServerFlight> {
  const until = Math.min(deadline, Date.now() + KEY_LOG_WAIT_MS);
  for (;;) {
    const { clientToServer, serverToClient } = port.recording();
    const flight = readServerFlight(clientToServer, serverToClient, (random) => browser.keyLog.serverHandshakeSecret(random));
    if (!flight.unreadable?.startsWith('no SERVER_HANDSHAKE_TRAFFIC_SECRET') || Date.now() >= until) return flight;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

async function attemptNow(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
  const plan = chromiumPlan(settings);
  const timeoutMs = Math.max(1, Math.round(settings.timeout * 1000));
  const browser = await browserFor(plan);
  browser.busy++;
  browser.lastUsed = Date.now();
  let port: FreshPort | undefined;
  try {
    const anchor = await browser.anchor(settings.headers);
    port = await browser.ports.open(target.port);
    const url = targetUrl(settings.server_hostname, port.port, settings.path);
    const deadline = Date.now() + timeoutMs;
    const remaining = (): number => Math.max(1, deadline - Date.now());
    const exchange = anchor.expect(port.port);
    try {
      const said = await within(anchor.fetch(url, timeoutMs), timeoutMs + 1000, 'fetch');
      // Headers are in (or the request failed); CDP's events may come after the page's answer. The body is read from CDP.
      await anchor.until(exchange, () => exchange.response !== undefined || exchange.failure !== undefined, Math.min(remaining(), 1000));
      const body = exchange.response ? await anchor.body(exchange, remaining()) : null;
      if (exchange.blocked) throw new Error(`Chromium did not send the request: ${exchange.blocked}; the adapter's page must be allowed to fetch from loopback`);
      const timedOut = /^(TimeoutError|AbortError)\b/.test(said) || (exchange.response !== undefined && body === null && exchange.failure === undefined);
      const word = timedOut ? null : (exchange.failure ?? null);
      if (!exchange.response && word === null && !timedOut) throw new Error(`Chromium's fetch settled ("${said}") and CDP reported neither an answer nor a failure for ${url}`);

      const flight = await flightOf(browser, port, deadline);
      const certificate = certificateOf(flight);
      const details = exchange.response?.securityDetails;
      const negotiated = details ? describeSecurity(details) : { protocol: null, cipher: null, keyExchange: null };
      // The answer had begun when the load failed: its status is kept, its body is lost, the error is the end's.
      const endError: RawError | null = exchange.response && body === null && !timedOut && word !== null ? { message: word } : null;
      const response = exchange.response && !timedOut && (body !== null || endError) ? { status: exchange.response.status, body: body ?? '' } : null;
      let socketError: RawError | null = null;
      let requestError: RawError | null = null;
      if (timedOut) requestError = { code: 'TimeoutError', message: `no answer within ${timeoutMs} ms (${said})` };
      else if (word !== null && !endError) {
        const raw: RawError = { message: word === 'net::ERR_CERT_DATE_INVALID' ? word + dateDetail(certificate, Date.now()) : word };
        if (CONNECTION.test(word)) socketError = raw;
        else requestError = raw;
      }
      // ALPN: what the server chose, from the wire; Chromium speaks h2 only when it agreed on h2.
      const alpn = flight.alpn !== undefined ? flight.alpn : exchange.response?.protocol === 'h2' ? 'h2' : undefined;
      return {
        localPort: await port.serverSidePort(100),
        handshakeCompleted: details !== undefined || (word !== null && AFTER_HANDSHAKE.test(word)),
        protocol: negotiated.protocol,
        cipher: negotiated.cipher,
        keyExchange: negotiated.keyExchange,
        compression: details ? 'none' : null, // BoringSSL has no TLS compression
        ...(details && alpn !== undefined ? { alpn } : {}),
        sessionReused: flight.resumed === true,
        serverCertificate: certificate.summary,
        verified: settings.verify !== false,
        response,
        socketError,
        requestError,
        endError,
        timedOut: timedOut || word === 'net::ERR_TIMED_OUT' || word === 'net::ERR_CONNECTION_TIMED_OUT',
      };
    } finally {
      anchor.forget(port.port, exchange);
    }
  } finally {
    port?.close();
    browser.busy--;
  }
}

export const chromiumClient: ClientImplementation = {
  name: NAME,
  supports: CHROMIUM_CLIENT_SETTINGS,
  summary: 'Chromium (playwright-core) fetching https://<server_hostname>:<port> from one page: verify → its own NSS database, a fresh port per attempt (no pooled socket, no resumed session)',
  detect: detectChromium,
  attempt,
  close: closeChromium,
  // chromiumPlan refuses what the attempt would refuse (prepareClient ignores that: the attempt reports it).
  prepare: (settings) => void browserFor(chromiumPlan(settings)).catch(() => undefined),
  unsupportedServer: (server) =>
    server.cert_reqs === 'CERT_OPTIONAL' || server.cert_reqs === 'CERT_REQUIRED'
      ? `a server that asks for a client certificate (cert_reqs ${server.cert_reqs}): Chromium aborts the handshake to choose a certificate, which it cannot present here without a profile or machine-wide selection, and connects again`
      : undefined,
};
