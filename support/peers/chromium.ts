/**
 * Chromium as a client: Debian's /usr/bin/chromium (or TLS_CONFORMANCE_CHROMIUM),
 * driven by playwright-core over CDP. An attempt is one navigation,
 * `page.goto("https://<server_hostname>:<port><path>")`, in a fresh browser
 * context; Chromium's own network stack (BoringSSL) makes the connection and
 * the handshake. In the grid as client `chromium`; its `close` (closeChromium) stops the browsers.
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
 * Every attempt uses a fresh context (`browser.newContext()`: a network
 * context of its own, so no pooled socket, no TLS session and no client
 * certificate decision is carried over), closed when the attempt ends. To
 * keep an attempt in the tens of ms, the next context and its page (the
 * renderer process costs ~100 ms) are made in advance, after the previous
 * attempt: a context that has not navigated has made no connection.
 *
 * One attempt, one TCP connection, as far as Chromium allows:
 * - Chromium's classic socket pools retry a TLS connection once, on a new
 *   connection, after ERR_CONNECTION_CLOSED, ERR_CONNECTION_RESET,
 *   ERR_SSL_PROTOCOL_ERROR or ERR_SSL_VERSION_OR_CIPHER_MISMATCH
 *   (SSLConnectJob's leftover "legacy crypto" fallback, crbug.com/40085786; no
 *   switch turns it off). The browsers run with `--enable-features=HappyEyeballsV3`,
 *   Chromium's HttpStreamPool (the connection pools that replace the connect
 *   jobs, being rolled out), which makes a single TLS attempt.
 * - Chromium preconnects to a page's origin when a navigation starts; the
 *   request and the preconnect may then each open a connection (measured: 1
 *   to 4 connections to a server that resets). The profile's Preferences set
 *   net.network_prediction_options = 2 ("do not predict network actions"),
 *   which turns that preconnect off. The browser is launched with
 *   launchPersistentContext so that the profile (in the browser's HOME) is
 *   ours to write; each attempt still uses a new off-the-record context of it.
 * - A favicon request after the page is blocked (Network.setBlockedURLs)
 *   unless the path asked for is /favicon.ico.
 * - A server that asks for a client certificate (CERT_OPTIONAL, CERT_REQUIRED)
 *   is not met at all (`unsupportedServer`: its cells are "not supported by
 *   chromium: cert_reqs (...)"), because it always sees TWO connections: Chromium aborts the first handshake when the
 *   CertificateRequest arrives (the server sees a reset before its handshake
 *   completes), asks the browser which certificate to send (headless Chromium
 *   with no certificate to offer answers "none", without a dialog), and
 *   connects again sending an empty Certificate message. The choice is kept
 *   in the network context, so a fresh context asks again. A CERT_OPTIONAL
 *   server then completes the second handshake and answers (no certificate
 *   seen); a CERT_REQUIRED server refuses it (alert certificate_required in
 *   TLS 1.3), and Chromium says net::ERR_BAD_SSL_CLIENT_AUTH_CERT (in TLS
 *   1.2, racing its False Start write, sometimes net::ERR_SOCKET_NOT_CONNECTED).
 *   The adapter cannot tell the client's port (`localPort: null`), so the
 *   server is asked for its oldest connection: the aborted first one. Nothing
 *   in CDP says that a certificate was requested.
 *
 * Settings (CHROMIUM_CLIENT_SETTINGS; anything else is refused by name):
 * - server_hostname, path → the URL; headers → page.setExtraHTTPHeaders;
 *   timeout (seconds) → the goto timeout, the body read within the same deadline.
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
 * What is reported, from CDP: Network.responseReceived's securityDetails
 * (protocol "TLS 1.3" → "TLSv1.3"; cipher, key exchange and MAC → OpenSSL's
 * suite name; keyExchangeGroup → "ECDH X25519"), the certificate chain from
 * Security.visibleSecurityStateChanged (also for a certificate Chromium
 * refused), ALPN from chrome.loadTimes() in the page (response.protocol says
 * "http/1.1" whether or not ALPN agreed on it), the status and body, and for
 * a failure the net::ERR_* word of Network.loadingFailed, verbatim. Chromium
 * says net::ERR_CERT_DATE_INVALID both for an expired certificate and for one
 * not valid yet: the adapter adds which, from the refused certificate's dates.
 */
import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { Browser, BrowserContext, CDPSession, Page } from 'playwright-core';
import { UnsupportedSetting } from '../errors';
import type { ClientSettings, TlsVersion } from '../vocabulary';
import { alsoStop } from '../processes';
import { summarizeDer } from './certificate-summary';
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
];

/** The profile's Preferences: no preconnect when a navigation starts. */
const PREFERENCES = { net: { network_prediction_options: 2 } };

function run(command: string, args: readonly string[], timeout = 15_000): Promise<{ stdout: string; stderr: string; error: Error | null }> {
  return new Promise((resolve) => {
    execFile(command, args, { timeout, maxBuffer: 1 << 20 }, (error, stdout, stderr) => resolve({ stdout: String(stdout), stderr: String(stderr), error }));
  });
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

// --- one attempt's tab -------------------------------------------------------------------------

interface CertificateState {
  readonly certificate?: readonly string[];
  readonly certificateNetworkError?: string;
  readonly validFrom?: number;
  readonly validTo?: number;
}

/** What CDP said of the page's navigation. */
interface Seen {
  documentRequest?: string;
  response?: { status: number; protocol?: string; securityDetails?: SecurityDetails };
  /** The document's load finished (its body can be read). */
  finished?: boolean;
  /** Network.loadingFailed's errorText for the document. */
  failure?: string;
  security?: CertificateState;
}

/** A fresh context with its page, listening to CDP, not navigated yet. */
class Tab {
  readonly seen: Seen = {};
  private waiters: (() => void)[] = [];

  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    readonly cdp: CDPSession,
  ) {}

  static async open(browser: Browser): Promise<Tab> {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      const tab = new Tab(context, page, cdp);
      const seen = tab.seen;
      const changed = (): void => {
        for (const wake of tab.waiters.splice(0)) wake();
      };
      cdp.on('Network.requestWillBeSent', (e) => {
        if (e.type === 'Document' && seen.documentRequest === undefined) seen.documentRequest = e.requestId;
      });
      cdp.on('Network.responseReceived', (e) => {
        if (e.requestId !== seen.documentRequest) return;
        const r = e.response;
        seen.response = { status: r.status, ...(r.protocol ? { protocol: r.protocol } : {}), ...(r.securityDetails ? { securityDetails: r.securityDetails as SecurityDetails } : {}) };
        changed();
      });
      cdp.on('Network.loadingFinished', (e) => {
        if (e.requestId !== seen.documentRequest) return;
        seen.finished = true;
        changed();
      });
      cdp.on('Network.loadingFailed', (e) => {
        if (e.requestId !== seen.documentRequest || e.blockedReason) return;
        seen.failure ??= e.errorText;
        changed();
      });
      cdp.on('Security.visibleSecurityStateChanged', (e) => {
        const state = e.visibleSecurityState.certificateSecurityState as CertificateState | undefined;
        if (!state?.certificate?.length) return;
        seen.security = state;
        changed();
      });
      await Promise.all([cdp.send('Network.enable'), cdp.send('Security.enable'), cdp.send('Network.setBlockedURLs', { urls: ['*/favicon.ico'] })]);
      return tab;
    } catch (error) {
      await context.close().catch(() => undefined);
      throw error;
    }
  }

  /** Wait until `ready()` holds (checked at each CDP event the tab follows) or `ms` have passed. */
  async until(ready: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!ready()) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
    return true;
  }

  /** The document's body, once its load finished; null when it failed or did not finish in time. */
  async body(ms: number): Promise<string | null> {
    if (!(await this.until(() => this.seen.finished === true || this.seen.failure !== undefined, ms)) || !this.seen.finished) return null;
    const { body, base64Encoded } = await this.cdp.send('Network.getResponseBody', { requestId: this.seen.documentRequest! });
    return base64Encoded ? Buffer.from(body, 'base64').toString('utf8') : body;
  }

  /** The ALPN protocol agreed, as the page's chrome.loadTimes() says; undefined when it cannot say. */
  async alpn(ms: number): Promise<string | null | undefined> {
    const asked = this.page.evaluate(() => {
      const times = (globalThis as { chrome?: { loadTimes?: () => { wasNpnNegotiated: boolean; npnNegotiatedProtocol: string } } }).chrome?.loadTimes?.();
      return times ? (times.wasNpnNegotiated ? times.npnNegotiatedProtocol : null) : undefined;
    });
    return within(asked, ms, 'chrome.loadTimes()').catch(() => undefined);
  }

  close(): Promise<void> {
    return this.context.close().catch(() => undefined);
  }
}

// --- the browsers ------------------------------------------------------------------------------

class ChromiumBrowser {
  /** Tabs made in advance (see SPARE_TABS). */
  private spares: Promise<Tab>[] = [];
  /** Tabs of finished attempts, still closing. */
  private readonly closing = new Set<Promise<void>>();
  private stopped = false;
  /** Attempts running on this browser, and when the last one started: which browser to close when too many run. */
  busy = 0;
  lastUsed = Date.now();

  private constructor(
    readonly home: string,
    private readonly persistent: BrowserContext,
    private readonly browser: Browser,
  ) {}

  static async launch(plan: LaunchPlan): Promise<ChromiumBrowser> {
    alsoStop(closeChromium);
    const { chromium } = require('playwright-core') as typeof import('playwright-core'); // loaded only when a browser is needed
    const home = await makeHome(plan.trust);
    try {
      const persistent = await chromium.launchPersistentContext(join(home, 'profile'), {
        executablePath: CHROMIUM,
        headless: true,
        timeout: 30_000,
        env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), XDG_CACHE_HOME: join(home, '.cache') },
        args: [...BASE_SWITCHES, ...plan.switches],
        // Playwright's own handlers would end the process at Ctrl-C before the harness has stopped and reaped the
        // other peers: the harness stops the browsers itself (alsoStop, support/processes.ts).
        handleSIGINT: false,
        handleSIGTERM: false,
        handleSIGHUP: false,
      });
      const browser = persistent.browser();
      if (!browser) throw new Error('playwright-core gave no browser for the persistent context');
      // The persistent context's own page is never used: its renderer process is not kept.
      await Promise.all(persistent.pages().map((page) => page.close().catch(() => undefined)));
      const launched = new ChromiumBrowser(home, persistent, browser);
      launched.refill();
      return launched;
    } catch (error) {
      rmSync(home, { recursive: true, force: true });
      throw error;
    }
  }

  get connected(): boolean {
    return !this.stopped && this.browser.isConnected();
  }

  /** A fresh tab: one made in advance when there is one, or a new one. */
  tab(): Promise<Tab> {
    const spare = this.spares.shift();
    return spare ? spare.catch(() => Tab.open(this.browser)) : Tab.open(this.browser);
  }

  /**
   * Make the next attempts' tabs. Called when an attempt is over, not when it
   * starts: a renderer started during an attempt slows it down (two cores:
   * 25 ms navigations became 80 to 200 ms).
   */
  refill(): void {
    while (this.connected && this.spares.length < SPARE_TABS) {
      const spare = Tab.open(this.browser);
      spare.catch(() => (this.spares = this.spares.filter((s) => s !== spare)));
      this.spares.push(spare);
    }
  }

  /**
   * Close an attempt's tab without waiting: the context's sockets close with
   * it a few ms later, which is what a server waiting for the connection's end sees.
   */
  retire(tab: Tab): void {
    const closing = tab.close();
    this.closing.add(closing);
    void closing.finally(() => this.closing.delete(closing));
  }

  async close(): Promise<void> {
    this.stopped = true;
    const spares = this.spares.splice(0);
    await Promise.all([...this.closing, ...spares.map((spare) => spare.then((tab) => tab.close(), () => undefined))]);
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

/** Chromium's net::ERR_* word in an error from Playwright, or its first line. */
function netError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return /net::ERR_[A-Z0-9_]+/.exec(message)?.[0] ?? message.split('\n')[0]!.trim();
}

/** Errors Chromium raises only once the handshake is done (an HTTP exchange went wrong). */
const AFTER_HANDSHAKE = /^net::ERR_(EMPTY_RESPONSE|INVALID_HTTP_RESPONSE|RESPONSE_HEADERS_\w+|CONTENT_\w+|INCOMPLETE_CHUNKED_ENCODING|HTTP2_\w+|INVALID_CHUNKED_ENCODING|TOO_MANY_REDIRECTS|UNSAFE_REDIRECT)$/;
/** Errors of the TLS connection itself (as opposed to a timeout or an HTTP-level error). */
const CONNECTION = /^net::ERR_(CERT_\w+|SSL_\w+|BAD_SSL_\w+|CONNECTION_\w+|SOCKET_\w+|ADDRESS_\w+|NAME_NOT_RESOLVED|ECH_\w+)$/;

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** net::ERR_CERT_DATE_INVALID says neither which date nor which way: the refused certificate's dates do. */
function dateDetail(state: CertificateState | undefined, now: number): string {
  if (state?.validFrom === undefined || state.validTo === undefined) return '';
  if (now < state.validFrom * 1000) return ` (not valid before ${iso(state.validFrom)}: read by the adapter from the refused certificate)`;
  if (now > state.validTo * 1000) return ` (not valid after ${iso(state.validTo)}: read by the adapter from the refused certificate)`;
  return '';
}

function certificateOf(state: CertificateState | undefined): CertificateSummary | null {
  try {
    return summarizeDer(state?.certificate?.[0]);
  } catch {
    return null;
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within the timeout`), { name: 'TimeoutError' })), Math.max(1, ms));
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}

/**
 * Tabs each browser keeps ready: a new context's page costs a renderer process
 * (~100 ms), made while the previous attempt runs.
 */
const SPARE_TABS = 1;

/** How long to wait, after the body, for the certificate of a page that loaded (it comes with the security state). */
const CERTIFICATE_WAIT_MS = 500;
/** How long to wait, after a certificate error, for the refused certificate (it comes with the error page). */
const REFUSED_CERTIFICATE_WAIT_MS = 1000;

/**
 * Navigations at once in this process: one per core. A grid runs one attempt
 * per server at a time, and eight renderers working together on two cores
 * made navigations several seconds long, past a scenario's 5 s timeout.
 * Waiting here comes before an attempt's own deadline is set.
 */
const AT_ONCE = Math.max(1, availableParallelism());
let navigating = 0;
const waiting: (() => void)[] = [];

async function attempt(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
  if (navigating >= AT_ONCE) await new Promise<void>((resolve) => waiting.push(resolve));
  navigating++;
  try {
    return await attemptNow(target, settings);
  } finally {
    navigating--;
    waiting.shift()?.();
  }
}

async function attemptNow(target: ClientTarget, settings: ClientSettings): Promise<ClientObservation> {
  const plan = chromiumPlan(settings);
  const url = targetUrl(settings.server_hostname, target.port, settings.path);
  const timeoutMs = Math.max(1, Math.round(settings.timeout * 1000));
  const browser = await browserFor(plan);
  browser.busy++;
  browser.lastUsed = Date.now();
  let tab: Tab;
  try {
    tab = await browser.tab();
  } catch (error) {
    browser.busy--;
    throw error;
  }
  try {
    const deadline = Date.now() + timeoutMs;
    const remaining = (): number => Math.max(1, deadline - Date.now());
    const { page, seen } = tab;
    if (settings.headers && Object.keys(settings.headers).length) await page.setExtraHTTPHeaders({ ...settings.headers });
    if (new URL(url).pathname === '/favicon.ico') await tab.cdp.send('Network.setBlockedURLs', { urls: [] });

    let committed = false;
    let failure: unknown;
    try {
      // 'commit': the answer's headers are in; the body is read from CDP below.
      committed = (await page.goto(url, { waitUntil: 'commit', timeout: timeoutMs })) !== null;
    } catch (error) {
      failure = error;
    }
    let body: string | null = null;
    let alpn: string | null | undefined;
    if (committed && seen.response) {
      [body, alpn] = await Promise.all([tab.body(remaining()), tab.alpn(Math.min(remaining(), 2000))]);
      if (body === null && seen.failure === undefined) failure = Object.assign(new Error('reading the body: no end within the timeout'), { name: 'TimeoutError' });
    }
    const timedOut = failure instanceof Error && failure.name === 'TimeoutError';
    const word = failure === undefined ? null : timedOut ? netError(failure) : (seen.failure ?? netError(failure));
    // A certificate Chromium refused comes with the error page's security state; a certificate it accepted, with the page's.
    const refusedCertificate = word !== null && /^net::ERR_CERT_/.test(word);
    // A date error says which date only through the refused certificate: wait longer for it (a loaded machine is slow to send it).
    const refusedWait = word === 'net::ERR_CERT_DATE_INVALID' ? 3 * REFUSED_CERTIFICATE_WAIT_MS : REFUSED_CERTIFICATE_WAIT_MS;
    const state = await tab.until(() => seen.security !== undefined, refusedCertificate ? Math.min(refusedWait, remaining()) : seen.response ? Math.min(CERTIFICATE_WAIT_MS, remaining()) : 0).then(() => seen.security);

    const details = seen.response?.securityDetails;
    const negotiated = details ? describeSecurity(details) : { protocol: null, cipher: null, keyExchange: null };
    // The answer had begun when the load failed: its status is kept, its body is lost, the error is the end's.
    const endError: RawError | null = seen.response && body === null && !timedOut && seen.failure !== undefined ? { message: seen.failure } : null;
    const response = seen.response && !timedOut && (body !== null || endError) ? { status: seen.response.status, body: body ?? '' } : null;
    let socketError: RawError | null = null;
    let requestError: RawError | null = null;
    if (word !== null && !endError) {
      const raw: RawError = timedOut ? { code: 'TimeoutError', message: word } : { message: word === 'net::ERR_CERT_DATE_INVALID' ? word + dateDetail(state, Date.now()) : word };
      if (!timedOut && CONNECTION.test(word)) socketError = raw;
      else requestError = raw;
    }
    return {
      localPort: null,
      handshakeCompleted: details !== undefined || (word !== null && AFTER_HANDSHAKE.test(word)),
      protocol: negotiated.protocol,
      cipher: negotiated.cipher,
      keyExchange: negotiated.keyExchange,
      compression: details ? 'none' : null, // BoringSSL has no TLS compression
      // Without chrome.loadTimes() only h2 is certain: "http/1.1" is also what CDP says when no ALPN was agreed.
      ...(alpn !== undefined ? { alpn } : seen.response?.protocol === 'h2' ? { alpn: 'h2' } : {}),
      sessionReused: false,
      serverCertificate: certificateOf(state),
      verified: settings.verify !== false,
      response,
      socketError,
      requestError,
      endError,
      timedOut: timedOut || word === 'net::ERR_TIMED_OUT' || word === 'net::ERR_CONNECTION_TIMED_OUT',
    };
  } finally {
    browser.busy--;
    browser.retire(tab);
    browser.refill();
  }
}

export const chromiumClient: ClientImplementation = {
  name: NAME,
  supports: CHROMIUM_CLIENT_SETTINGS,
  summary: 'Chromium (playwright-core) navigating to https://<server_hostname>:<port>: verify → its own NSS database, one fresh browser context per attempt',
  detect: detectChromium,
  attempt,
  close: closeChromium,
  unsupportedServer: (server) =>
    server.cert_reqs === 'CERT_OPTIONAL' || server.cert_reqs === 'CERT_REQUIRED'
      ? `a server that asks for a client certificate (cert_reqs ${server.cert_reqs}): Chromium aborts the handshake to choose a certificate, which it cannot present here without a profile or machine-wide selection, and connects again`
      : undefined,
};
