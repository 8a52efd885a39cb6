/**
 * What a server accepts, measured from the wire the way cipherscan and sslscan
 * do it, with real handshakes from Node's OpenSSL:
 * - versions: one handshake per version (TLS 1.0 to 1.3; SSLv3 by a raw hello);
 * - suites, per version, by elimination: offer everything this OpenSSL build
 *   can offer (`ALL:COMPLEMENTOFALL:@SECLEVEL=0`, the five TLS 1.3 suites),
 *   note the suite the server chose, take it out, offer again, until the
 *   server refuses: one handshake per accepted suite plus one;
 * - groups, by elimination too, in TLS 1.3 (else in TLS 1.2 with ECDHE), and
 *   the DH and ECDH sizes every accepted suite and group used;
 * - whether the server imposes its own suite order (two handshakes, the
 *   same two suites in both orders);
 * - from raw hellos (hello.ts): compression, secure renegotiation, extended
 *   master secret, TLS_FALLBACK_SCSV;
 * - OCSP stapling, and the HSTS header of the HTTP answer (when asked).
 *
 * A value that could not be measured carries the reason instead: the gate
 * turns it into a skipped check, never into a held one.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { TLS_VERSIONS, PROTOCOL_NAME, type TlsVersion } from '../vocabulary';
import { sendHello, type HelloAnswer, type WireVersionName } from './hello';

export type Measured<T> = { readonly measured: true; readonly value: T; readonly detail?: string } | { readonly measured: false; readonly reason: string };

/** Every version the scan asks about, oldest first. */
export const SCANNED_VERSIONS = ['SSLv3', ...TLS_VERSIONS] as const;
export type ScannedVersion = (typeof SCANNED_VERSIONS)[number];

/** The five TLS 1.3 suites (RFC 8446 §B.4), all of which OpenSSL 3 can offer. */
export const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_CCM_SHA256', 'TLS_AES_128_CCM_8_SHA256'];
/** Everything this OpenSSL build can offer below TLS 1.3, at the lowest security level so that nothing is held back. */
const EVERY_SUITE = 'ALL:COMPLEMENTOFALL';

/**
 * Groups in Mozilla's (OpenSSL's) names, cheapest key generation first, with
 * Node's name for offering them and the size that counts (X25519 as 256 bits,
 * as sslyze and Mozilla count it; OpenSSL reports 253).
 */
export const GROUPS: readonly { readonly name: string; readonly offer: string; readonly kind: 'ECDH' | 'DH'; readonly bits: number }[] = [
  { name: 'X25519', offer: 'X25519', kind: 'ECDH', bits: 256 },
  { name: 'prime256v1', offer: 'P-256', kind: 'ECDH', bits: 256 },
  { name: 'secp384r1', offer: 'P-384', kind: 'ECDH', bits: 384 },
  { name: 'X448', offer: 'X448', kind: 'ECDH', bits: 448 },
  { name: 'secp521r1', offer: 'P-521', kind: 'ECDH', bits: 521 },
  { name: 'ffdhe2048', offer: 'ffdhe2048', kind: 'DH', bits: 2048 },
  { name: 'ffdhe3072', offer: 'ffdhe3072', kind: 'DH', bits: 3072 },
  { name: 'ffdhe4096', offer: 'ffdhe4096', kind: 'DH', bits: 4096 },
  { name: 'ffdhe6144', offer: 'ffdhe6144', kind: 'DH', bits: 6144 },
  { name: 'ffdhe8192', offer: 'ffdhe8192', kind: 'DH', bits: 8192 },
];

export interface ScanTarget {
  readonly host: string;
  readonly port: number;
  /** The name asked for by SNI (not sent when it is an IP address). */
  readonly servername: string;
  /** The client certificate and key to present, so that a mutual server gets past the handshake. */
  readonly cert?: readonly [string, string];
  /** Also fetch `GET /` and read its Strict-Transport-Security header. */
  readonly readHttp?: boolean;
  readonly timeoutMs?: number;
}

/** One suite the server accepted, and the key exchange it used then. */
export interface AcceptedSuite {
  readonly version: ScannedVersion;
  readonly name: string;
  /** "ECDH X25519 256", "DH 2048", "RSA key transport". */
  readonly keyExchange: string;
}

export interface AcceptedGroup {
  readonly name: string;
  readonly kind: 'ECDH' | 'DH';
  readonly bits: number;
  readonly version: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
}

export interface ServerScan {
  /** Per version: accepted or not, and what the server answered. */
  readonly versions: readonly { readonly version: ScannedVersion; readonly accepted: boolean; readonly detail: string }[];
  /** Per accepted version, the suites in the order they were found (the server's order when it imposes one). */
  readonly suites: readonly AcceptedSuite[];
  readonly groups: Measured<readonly AcceptedGroup[]>;
  /** Finite-field DH sizes used (DHE suites, ffdhe groups), and ECDH sizes. */
  readonly dhBits: readonly number[];
  readonly ecdhBits: readonly number[];
  readonly serverOrder: Measured<boolean>;
  readonly compression: Measured<boolean>;
  readonly secureRenegotiation: Measured<boolean>;
  readonly extendedMasterSecret: Measured<boolean>;
  readonly fallbackScsv: Measured<boolean>;
  readonly ocspStapled: Measured<boolean>;
  readonly hsts: Measured<{ readonly header: string | null; readonly maxAge: number | null }>;
  /** The certificates the server presents, leaf first. */
  readonly chain: readonly X509Certificate[];
  /** Connections the scan made. */
  readonly connections: number;
  readonly durationMs: number;
}

interface Handshake {
  /** The server chose a suite: it accepted the version and that suite, whatever happened after. */
  readonly accepted: boolean;
  readonly protocol: string | null;
  readonly cipher: string | null;
  readonly ephemeral: tls.EphemeralKeyInfo | null;
  readonly ocsp: Buffer | null;
  readonly chain: X509Certificate[];
  readonly error: string | null;
}

const VERSION_NAME: Record<TlsVersion, string> = PROTOCOL_NAME;

export async function scanServer(target: ScanTarget): Promise<ServerScan> {
  const started = performance.now();
  let connections = 0;
  const credentials = target.cert ? { cert: readFileSync(target.cert[0]), key: readFileSync(target.cert[1]) } : {};
  const timeout = target.timeoutMs ?? 5000;

  const handshake = (options: { version: TlsVersion; ciphers?: string; groups?: string; ocsp?: boolean }): Promise<Handshake> =>
    new Promise((resolve) => {
      connections++;
      let ocsp: Buffer | null = null;
      const legacy = options.version !== 'TLSv1_3';
      let socket: tls.TLSSocket;
      try {
        socket = tls.connect({
        host: target.host,
        port: target.port,
        ...(isIP(target.servername) ? {} : { servername: target.servername }),
        rejectUnauthorized: false, // this asks what the server accepts; the gate checks the certificate separately
        minVersion: VERSION_NAME[options.version] as tls.SecureVersion,
        maxVersion: VERSION_NAME[options.version] as tls.SecureVersion,
        // TLS 1.3 suites go to their own list; the rest of the string only lowers the security level.
        ciphers: options.ciphers ?? (legacy ? `${EVERY_SUITE}:@SECLEVEL=0` : tls13Offer(TLS13_SUITES)!),
        ecdhCurve: options.groups ?? GROUPS.map((g) => g.offer).join(':'),
        ...(options.ocsp ? { requestOCSP: true } : {}),
        // The client certificate goes with each version's first handshake (as a real client would send it), not with the
        // elimination's others: what the server chose is read as soon as the keys exist, before it judges a certificate,
        // and a certificate costs a signature on each side of every handshake.
        ...(options.ocsp ? credentials : {}),
      });
      } catch (error) {
        // This OpenSSL build cannot offer what was asked (a suite or a group it lacks): nothing was sent.
        resolve({ accepted: false, protocol: null, cipher: null, ephemeral: null, ocsp: null, chain: [], error: `not offered: ${(error as Error).message}` });
        return;
      }
      if (options.ocsp) socket.once('OCSPResponse', (response: Buffer) => (ocsp = response && response.length ? response : null));
      // What the server chose, read as soon as the keys exist (after its hello and key exchange): a server that then
      // drops the connection (refusing the client's certificate with a reset) takes the socket's state with it.
      let chosen: { protocol: string | null; cipher: string; ephemeral: tls.EphemeralKeyInfo | null; chain: X509Certificate[] } | null = null;
      const snapshot = (): void => {
        const cipher = socket.getCipher?.()?.name;
        // The chain is read from each version's first handshake only (the one that asks for OCSP): it is the same in the others.
        if (cipher) chosen = { protocol: socket.getProtocol(), cipher, ephemeral: socket.getEphemeralKeyInfo() as tls.EphemeralKeyInfo | null, chain: options.ocsp ? peerChain(socket) : [] };
      };
      socket.on('keylog', () => chosen ?? snapshot());
      const done = (error: string | null): void => {
        if (!error || !chosen) snapshot();
        const seen = chosen as { protocol: string | null; cipher: string; ephemeral: tls.EphemeralKeyInfo | null; chain: X509Certificate[] } | null;
        const result: Handshake = {
          accepted: Boolean(seen),
          protocol: seen?.protocol ?? null,
          cipher: seen?.cipher ?? null,
          ephemeral: seen?.ephemeral ?? null,
          ocsp,
          chain: seen?.chain ?? [],
          error,
        };
        socket.destroy();
        resolve(result);
      };
      socket.setTimeout(timeout, () => done(`no answer within ${timeout} ms`));
      socket.once('secureConnect', () => done(null));
      socket.once('error', (error: NodeJS.ErrnoException) => done(`${error.code ?? ''} ${error.message.split('\n')[0]}`.trim()));
    });

  const hello = async (version: WireVersionName, extra: { compression?: number[]; fallbackScsv?: boolean } = {}): Promise<HelloAnswer> => {
    connections++;
    return sendHello({ host: target.host, port: target.port, servername: target.servername, version, timeoutMs: timeout, ...extra });
  };

  // Versions and their suites, each version's elimination on its own.
  const versions: { version: ScannedVersion; accepted: boolean; detail: string }[] = [];
  const suites: AcceptedSuite[] = [];
  const dhBits = new Set<number>();
  const ecdhBits = new Set<number>();
  let ocspStapled: Measured<boolean> = { measured: false, reason: 'no TLS handshake completed far enough to ask for an OCSP staple' };
  let chain: X509Certificate[] = [];
  const sslv3 = await hello('SSLv3');
  versions.push({ version: 'SSLv3', accepted: sslv3.kind === 'server-hello' && sslv3.version === 0x0300, detail: describeAnswer(sslv3) });
  const perVersion = await Promise.all(
    TLS_VERSIONS.map(async (version) => {
      const found: Handshake[] = [];
      let last: Handshake;
      for (;;) {
        const ciphers =
          version === 'TLSv1_3'
            ? tls13Offer(TLS13_SUITES.filter((s) => !found.some((f) => f.cipher === s)))
            : [EVERY_SUITE, ...found.map((f) => `!${f.cipher}`), '@SECLEVEL=0'].join(':');
        if (ciphers === null) break;
        last = await handshake({ version, ciphers, ocsp: found.length === 0 });
        if (!last.accepted || found.some((f) => f.cipher === last.cipher)) break;
        found.push(last);
      }
      return { version, found, refusal: last! };
    }),
  );
  for (const { version, found, refusal } of perVersion) {
    versions.push({ version, accepted: found.length > 0, detail: found.length ? `${found.length} suites` : refusal.error ?? 'refused' });
    for (const h of found) {
      suites.push({ version, name: h.cipher!, keyExchange: describeKeyExchange(h) });
      const bits = ephemeralBits(h.ephemeral);
      if (bits?.kind === 'DH') dhBits.add(bits.bits);
      if (bits?.kind === 'ECDH') ecdhBits.add(bits.bits);
    }
    if (found[0] && chain.length === 0) chain = found[0].chain;
    if (found[0] && !ocspStapled.measured) ocspStapled = { measured: true, value: found[0].ocsp !== null };
  }
  const accepted = (version: ScannedVersion): boolean => versions.some((v) => v.version === version && v.accepted);
  const suitesOf = (version: ScannedVersion): string[] => suites.filter((s) => s.version === version).map((s) => s.name);

  // Groups, by elimination, where the client names the group: TLS 1.3, else the newest older version with an ECDHE suite.
  let groups: Measured<AcceptedGroup[]>;
  const groupVersion: TlsVersion | null = accepted('TLSv1_3')
    ? 'TLSv1_3'
    : ((['TLSv1_2', 'TLSv1_1', 'TLSv1'] as const).find((v) => suitesOf(v).some((s) => /^(ECDHE|AECDH)-/.test(s))) ?? null);
  if (!groupVersion) {
    groups = { measured: false, reason: 'the server accepts neither TLS 1.3 nor an ECDHE suite in an older version: no group is negotiated' };
  } else {
    const found: AcceptedGroup[] = [];
    // OpenSSL negotiates finite-field groups in TLS 1.3 only (TLS 1.2's DHE uses the server's own parameters).
    let left = GROUPS.filter((g) => groupVersion === 'TLSv1_3' || g.kind === 'ECDH');
    while (left.length) {
      const h = await handshake({ version: groupVersion, groups: left.map((g) => g.offer).join(':'), ...(groupVersion !== 'TLSv1_3' ? { ciphers: `ECDHE:AECDH:@SECLEVEL=0` } : {}) });
      const group = h.accepted ? groupOf(h.ephemeral) : undefined;
      if (!group || !left.includes(group)) break;
      found.push({ name: group.name, kind: group.kind, bits: group.bits, version: VERSION_NAME[groupVersion] as AcceptedGroup['version'] });
      (group.kind === 'DH' ? dhBits : ecdhBits).add(group.bits);
      left = left.filter((g) => g !== group);
    }
    groups = { measured: true, value: found, detail: `in ${VERSION_NAME[groupVersion]}` };
  }

  // Whose order: the first two suites found, offered both ways round.
  let serverOrder: Measured<boolean> = { measured: false, reason: 'the server accepts at most one suite in each version: there is no order to impose' };
  for (const version of ['TLSv1_2', 'TLSv1_3', 'TLSv1_1', 'TLSv1'] as const) {
    const found = suitesOf(version);
    if (found.length < 2) continue;
    // ChaCha20 is left out of the pair where possible: a server may impose its order except when the client
    // prefers ChaCha20 (OpenSSL's PRIORITIZE_CHACHA, HAProxy's default), which looks like following the client.
    const plain = found.filter((n) => !/CHACHA20/.test(n));
    const names = plain.length >= 2 ? plain : found;
    const [first, second] = names as [string, string];
    const offer = (list: string[]): string => (version === 'TLSv1_3' ? tls13Offer(list)! : `${list.join(':')}:@SECLEVEL=0`);
    const reversed = await handshake({ version, ciphers: offer([second, first]) });
    const straight = await handshake({ version, ciphers: offer([first, second]) });
    if (!reversed.accepted || !straight.accepted) {
      serverOrder = { measured: false, reason: `a handshake offering ${first} and ${second} failed: ${reversed.error ?? straight.error}` };
    } else {
      const imposes = reversed.cipher === straight.cipher;
      if (!imposes && /CHACHA20/.test(`${first}:${second}`)) {
        serverOrder = { measured: false, reason: `${VERSION_NAME[version]}: the server chose whichever of ${first} and ${second} came first, and one is ChaCha20: that is the client's order, or the server's with ChaCha20 prioritized for clients that prefer it; no other pair of suites is accepted to tell them apart` };
        break;
      }
      serverOrder = {
        measured: true,
        value: imposes,
        detail: `${VERSION_NAME[version]}: offered ${second} before ${first}, the server chose ${reversed.cipher}; offered ${first} before ${second}, it chose ${straight.cipher}`,
      };
    }
    break;
  }

  // Raw hellos in the newest version ≤ TLS 1.2 the server accepts.
  const legacyTop = (['TLSv1_2', 'TLSv1_1', 'TLSv1'] as const).find(accepted);
  const below13 = legacyTop ? VERSION_NAME[legacyTop] : null;
  const onlyTls13 = { measured: false as const, reason: 'the server accepts TLS 1.3 only, which has neither compression, renegotiation nor a separate master secret' };
  let compression: Measured<boolean> = onlyTls13;
  let secureRenegotiation: Measured<boolean> = onlyTls13;
  let extendedMasterSecret: Measured<boolean> = onlyTls13;
  if (legacyTop) {
    const [plain, compressed] = await Promise.all([hello(legacyTop), hello(legacyTop, { compression: [1, 0] })]);
    if (plain.kind === 'server-hello') {
      secureRenegotiation = { measured: true, value: plain.extensions.has(0xff01), detail: `${below13} ServerHello ${plain.extensions.has(0xff01) ? 'carries' : 'lacks'} renegotiation_info` };
      extendedMasterSecret = { measured: true, value: plain.extensions.has(23), detail: `${below13} ServerHello ${plain.extensions.has(23) ? 'carries' : 'lacks'} extended_master_secret` };
    } else {
      secureRenegotiation = extendedMasterSecret = { measured: false, reason: `a raw ${below13} hello got no ServerHello: ${describeAnswer(plain)}` };
    }
    compression =
      compressed.kind === 'server-hello'
        ? { measured: true, value: compressed.compression !== 0, detail: `offered DEFLATE and null, the server chose ${compressed.compression === 0 ? 'null' : `method ${compressed.compression}`}` }
        : { measured: false, reason: `a raw ${below13} hello offering DEFLATE got no ServerHello: ${describeAnswer(compressed)}` };
  }
  // TLS_FALLBACK_SCSV: a hello one version below the server's best, marked as a fallback, must be refused.
  const acceptedTls = TLS_VERSIONS.filter(accepted);
  let fallbackScsv: Measured<boolean>;
  if (acceptedTls.length < 2) {
    fallbackScsv = { measured: false, reason: `the server accepts ${acceptedTls.length ? `only ${VERSION_NAME[acceptedTls[0]!]}` : 'no version'}: there is nothing to fall back to` };
  } else {
    const lower = acceptedTls[acceptedTls.length - 2]!;
    const answer = await hello(lower as WireVersionName, { fallbackScsv: true });
    fallbackScsv =
      answer.kind === 'alert' && answer.description === 86
        ? { measured: true, value: true, detail: `a ${VERSION_NAME[lower]} fallback hello got alert 86 inappropriate_fallback` }
        : answer.kind === 'server-hello'
          ? { measured: true, value: false, detail: `a ${VERSION_NAME[lower]} hello marked TLS_FALLBACK_SCSV was accepted although the server speaks ${VERSION_NAME[acceptedTls[acceptedTls.length - 1]!]}` }
          : { measured: false, reason: `a ${VERSION_NAME[lower]} fallback hello got ${describeAnswer(answer)}, not inappropriate_fallback nor a ServerHello` };
  }

  let hsts: ServerScan['hsts'] = { measured: false, reason: 'the HTTP answer was not read' };
  if (target.readHttp && acceptedTls.length) {
    connections++;
    hsts = await readHsts(target, credentials, timeout);
  }
  return {
    versions,
    suites,
    groups,
    dhBits: [...dhBits].sort((a, b) => a - b),
    ecdhBits: [...ecdhBits].sort((a, b) => a - b),
    serverOrder,
    compression,
    secureRenegotiation,
    extendedMasterSecret,
    fallbackScsv,
    ocspStapled,
    hsts,
    chain,
    connections,
    durationMs: Math.round(performance.now() - started),
  };
}

/** TLS 1.3 suites to offer, at security level 0 (the TLS 1.2 part of the string is what carries the level); null for none. */
function tls13Offer(suites: readonly string[]): string | null {
  return suites.length ? `${suites.join(':')}:${EVERY_SUITE}:@SECLEVEL=0` : null;
}

function peerChain(socket: tls.TLSSocket): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let cert = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(new X509Certificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

function groupOf(info: tls.EphemeralKeyInfo | null): (typeof GROUPS)[number] | undefined {
  if (!info || !('type' in info)) return undefined;
  if (info.type === 'DH') return GROUPS.find((g) => g.kind === 'DH' && g.bits === info.size);
  return GROUPS.find((g) => g.kind === 'ECDH' && g.name === info.name);
}

function ephemeralBits(info: tls.EphemeralKeyInfo | null): { kind: 'DH' | 'ECDH'; bits: number } | null {
  if (!info || !('type' in info) || !info.type) return null;
  if (info.type === 'DH') return { kind: 'DH', bits: info.size ?? 0 };
  const group = GROUPS.find((g) => g.kind === 'ECDH' && g.name === info.name);
  return { kind: 'ECDH', bits: group?.bits ?? info.size ?? 0 };
}

function describeKeyExchange(h: Handshake): string {
  const info = h.ephemeral;
  if (info && 'type' in info && info.type === 'DH') return `DH ${info.size}`;
  if (info && 'type' in info && info.type === 'ECDH') return `ECDH ${info.name} ${ephemeralBits(info)?.bits}`;
  return h.protocol === 'TLSv1.3' ? 'ephemeral' : 'RSA key transport';
}

export function describeAnswer(answer: HelloAnswer): string {
  if (answer.kind === 'alert') return `alert ${answer.description}`;
  if (answer.kind === 'closed') return answer.detail;
  return `ServerHello version 0x${answer.version.toString(16)}, suite 0x${answer.suite.toString(16).padStart(4, '0')}`;
}

/** `GET /` with the name asked for, and its Strict-Transport-Security header (RFC 6797 §6.1). */
function readHsts(target: ScanTarget, credentials: { cert?: Buffer; key?: Buffer }, timeout: number): Promise<ServerScan['hsts']> {
  return new Promise((resolve) => {
    const host = isIP(target.servername) === 6 ? `[${target.servername}]` : target.servername;
    const request = https.request(
      {
        host: target.host,
        port: target.port,
        path: '/',
        method: 'GET',
        headers: { host: `${host}:${target.port}` },
        ...(isIP(target.servername) ? {} : { servername: target.servername }),
        rejectUnauthorized: false, // reading a header; the gate checks the certificate separately
        agent: new https.Agent({ keepAlive: false, maxCachedSessions: 0 }),
        timeout,
        ...credentials,
      },
      (response) => {
        response.resume();
        const header = response.headers['strict-transport-security'];
        const text = Array.isArray(header) ? header[0]! : header ?? null;
        const maxAge = text ? Number(/max-age\s*=\s*"?(\d+)"?/i.exec(text)?.[1] ?? NaN) : null;
        resolve({ measured: true, value: { header: text, maxAge: maxAge === null || Number.isNaN(maxAge) ? null : maxAge }, detail: `HTTP ${response.statusCode}` });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`no HTTP answer within ${timeout} ms`)));
    request.on('error', (error) => resolve({ measured: false, reason: `GET / failed: ${error.message.split('\n')[0]}` }));
    request.end();
  });
}
