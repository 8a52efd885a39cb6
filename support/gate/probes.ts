/**
 * The gate's checks, one row each: which rule, what the client changes (for
 * a connection probe) or what was measured (for a check of the scan), how it
 * is judged, and which deployment field a violation points at. A new check
 * is a new row; a rule's meaning is the judge's, written once.
 */
import type { X509Certificate } from 'node:crypto';
import { judgeRefusal } from '../outcome/judge';
import { describeOutcome } from '../outcome/classify';
import type { Outcome } from '../outcome/vocabulary';
import { profileFiles } from '../pki';
import type { ClientSettings } from '../vocabulary';
import type { Deployment } from './deployment';
import type { Policy } from './policy';
import { GROUPS, type Measured, type ServerScan, type ScannedVersion } from './scan';

export type Status = 'held' | 'violated' | 'skipped' | 'inconclusive';

export interface Judged {
  readonly status: Status;
  readonly detail: string;
  /** The field to change; for an inconclusive finding, the one to fix first. */
  readonly field?: string;
}

/** Rules the gate checks that are the policy's or the protocol's, not the documents'. */
export const GATE_RULES: Readonly<Record<string, string>> = {
  'policy.versions': 'The server accepts exactly the TLS versions the policy allows',
  'policy.tls13-ciphers': 'The server accepts only the TLS 1.3 cipher suites the policy allows',
  'policy.ciphers': 'The server accepts only the cipher suites below TLS 1.3 the policy allows',
  'policy.groups': 'The server accepts only the key exchange groups the policy allows',
  'policy.dh-size': 'Finite-field DH keys are at least as large as the policy asks',
  'policy.ecdh-size': 'ECDH keys are at least as large as the policy asks',
  'policy.server-order': 'The server imposes its own suite order exactly when the policy says so',
  'policy.ocsp-staple': 'The server staples an OCSP response when the policy asks for it',
  'policy.hsts': 'The HTTP answer carries Strict-Transport-Security with the max-age the policy asks for',
  'policy.certificate': "The certificate's key type, curve, key size, signature algorithm and lifespan are those the policy allows",
  'tls.compression-refused': 'The server refuses TLS compression (CRIME)',
  'tls.secure-renegotiation': 'The server supports secure renegotiation (RFC 5746)',
  'tls.extended-master-secret': 'The server supports the extended master secret (RFC 7627)',
  'tls.fallback-scsv': 'The server refuses a downgraded hello marked TLS_FALLBACK_SCSV (RFC 7507)',
  'config.intent': "The server configuration file asks for client certificates exactly as the deployment's intent says",
  'config.endpoint-reached': 'Each TLS endpoint of the server configuration file is reached by a name it serves, so that its checks are about it',
};

/** A connection made by a real client with one thing changed, and the question it answers. */
export interface ConnectionProbe {
  readonly rule: string;
  /** Why the probe does not apply to this deployment, or null. */
  readonly skip: (deployment: Deployment) => string | null;
  /** "a client without a certificate". */
  readonly describe: string;
  /** What the probe's client changes from the deployment's own client. */
  readonly change: () => Partial<ClientSettings>;
  /** "server refuses": held only when the server ended the connection (judge.ts). */
  readonly judge: 'server refuses';
  readonly field: string;
}

export const CONNECTION_PROBES: readonly ConnectionProbe[] = [
  {
    rule: 'mutual.server-requires-client-cert',
    skip: (d) => (d.intent === 'mutual' ? null : 'a one-way deployment: no client certificate is required'),
    describe: 'a client without a certificate',
    change: () => ({ cert: undefined }),
    judge: 'server refuses',
    field: 'server.cert_reqs',
  },
  {
    rule: 'mutual.client-cert-must-match-ca-certs',
    skip: (d) => (d.intent === 'mutual' ? null : 'a one-way deployment: client certificates are not checked'),
    describe: 'a client certificate from another CA',
    change: () => {
      const stranger = profileFiles('client-from-unrelated-ca');
      return { cert: [stranger.cert, stranger.key] };
    },
    judge: 'server refuses',
    field: 'server.ca_certs',
  },
];

/** Judge a connection probe's outcome; `fieldOfFailure` names what to fix when the probe's own client gave up. */
export function judgeProbe(probe: ConnectionProbe, outcome: Outcome, fieldOfFailure: (o: Outcome) => string): Judged {
  const judged = judgeRefusal(outcome);
  const what = `${probe.describe}: ${describeOutcome(outcome)}`;
  if (judged.status === 'inconclusive') {
    const first = fieldOfFailure(outcome);
    return { status: 'inconclusive', detail: `${what}: ${judged.because}; fix ${first} first, then the gate can ask the server`, field: first };
  }
  return { status: judged.status, detail: what, ...(judged.status === 'violated' ? { field: probe.field } : {}) };
}

/** What the measured checks read. */
export interface ScanContext {
  readonly deployment: Deployment;
  readonly policy: Policy;
  readonly scan: ServerScan;
  /** The harness started the server from the deployment (not a --target): its HTTP answer is the harness's own. */
  readonly startedHere: boolean;
  readonly leaf: X509Certificate;
}

export interface MeasuredCheck {
  readonly rule: string;
  readonly field: string;
  readonly check: (context: ScanContext) => Judged;
}

const LEGACY: readonly ScannedVersion[] = ['SSLv3', 'TLSv1', 'TLSv1_1'];
const below13 = (s: ServerScan) => s.suites.filter((x) => x.version !== 'TLSv1_3');
const tls13 = (s: ServerScan) => s.suites.filter((x) => x.version === 'TLSv1_3');
const acceptedVersions = (s: ServerScan) => s.versions.filter((v) => v.accepted).map((v) => v.version);
const list = (items: readonly string[]) => (items.length ? items.join(', ') : 'none');

/** Suites nobody should accept: no key exchange secrecy (static RSA), no authentication (anon), or broken ciphers and MACs. */
export function weakness(suite: { name: string; keyExchange: string }): string | null {
  if (/(^|-)(NULL|eNULL)(-|$)/.test(suite.name)) return 'no encryption';
  if (/^(ADH|AECDH)-|-anon-|^DH-anon/i.test(suite.name)) return 'no authentication';
  if (/(^|-)EXP(-|$)|EXPORT/.test(suite.name)) return 'export-grade';
  if (/RC4|(^|-)DES-CBC-|DES-CBC3|3DES|(^|-)RC2|IDEA|MD5/.test(suite.name)) return 'broken cipher or MAC';
  if (suite.keyExchange === 'RSA key transport') return 'static RSA: no forward secrecy';
  return null;
}

/** Skipped: the policy says nothing about it. */
const unasked = (policy: Policy, what: string): Judged => ({ status: 'skipped', detail: `${policy.name} says nothing about ${what}` });
const notMeasured = (m: Measured<unknown>): Judged => ({ status: 'skipped', detail: m.measured ? '' : m.reason });

/** A yes/no property of the server, held when it is what `wanted` says. */
function hygiene(rule: string, field: string, measure: (scan: ServerScan) => Measured<boolean>, wanted: boolean): MeasuredCheck {
  return {
    rule,
    field,
    check: ({ scan }) => {
      const measured = measure(scan);
      return measured.measured ? { status: measured.value === wanted ? 'held' : 'violated', detail: measured.detail! } : notMeasured(measured);
    },
  };
}

/** The ephemeral key sizes the server used, against the policy's minimum. */
function keySize(rule: string, field: string, kind: 'DH' | 'ECDH', sizes: (scan: ServerScan) => readonly number[], minimum: (policy: Policy) => number | undefined, none: string): MeasuredCheck {
  return {
    rule,
    field,
    check: ({ scan, policy }) => {
      const least = minimum(policy);
      if (!least) return unasked(policy, `${kind} sizes`);
      const used = sizes(scan);
      if (!used.length) return { status: 'skipped', detail: none };
      const small = used.filter((b) => b < least);
      return small.length
        ? { status: 'violated', detail: `uses ${kind} ${small.join(', ')} bits; ${policy.name} asks for at least ${least}` }
        : { status: 'held', detail: `${kind} ${used.join(', ')} bits, at least ${least}` };
    },
  };
}

export const MEASURED_CHECKS: readonly MeasuredCheck[] = [
  {
    rule: 'version.legacy-refused',
    field: 'server.minimum_version',
    check: ({ scan }) => {
      const legacy = acceptedVersions(scan).filter((v) => LEGACY.includes(v));
      return legacy.length ? { status: 'violated', detail: `accepts ${legacy.join(', ')}` } : { status: 'held', detail: 'refuses SSLv3, TLS 1.0 and TLS 1.1' };
    },
  },
  {
    rule: 'cipher.restricted-by-ciphers',
    field: 'server.ciphers',
    check: ({ scan }) => {
      const suites = below13(scan);
      if (!suites.length) return { status: 'skipped', detail: 'the server accepts no version below TLS 1.3, whose suites are all strong' };
      // A suite accepted in several versions is named once.
      const weak = [...new Set(suites.filter((s) => weakness(s)).map((s) => `${s.name} (${weakness(s)})`))];
      return weak.length ? { status: 'violated', detail: `accepts legacy suites: ${weak.join(', ')}` } : { status: 'held', detail: `refuses static-RSA, anonymous, export, NULL, RC4, DES and 3DES suites (accepts ${suites.length}: all ephemeral and authenticated)` };
    },
  },
  {
    rule: 'policy.versions',
    field: 'server.minimum_version',
    check: ({ scan, policy }) => {
      if (!policy.versions) return unasked(policy, 'versions');
      const accepted = acceptedVersions(scan);
      const outside = accepted.filter((v) => !policy.versions!.includes(v));
      const absent = policy.versions.filter((v) => !accepted.includes(v));
      const detail = `accepts ${list(accepted)}; ${policy.name} allows ${policy.versions.join(', ')}${outside.length ? `: remove ${outside.join(', ')}` : ''}${absent.length ? `: enable ${absent.join(', ')}` : ''}`;
      return { status: outside.length || absent.length ? 'violated' : 'held', detail, ...(absent.length && !outside.length ? { field: 'server.maximum_version' } : {}) };
    },
  },
  {
    rule: 'policy.tls13-ciphers',
    field: 'server.ciphers',
    check: ({ scan, policy }) => {
      if (!policy.tls13Ciphers) return unasked(policy, 'TLS 1.3 suites');
      const suites = tls13(scan).map((s) => s.name);
      if (!suites.length) return { status: 'skipped', detail: 'the server does not accept TLS 1.3' };
      const extra = suites.filter((s) => !policy.tls13Ciphers!.includes(s));
      return extra.length
        ? { status: 'violated', detail: `accepts ${extra.join(', ')}, which ${policy.name} does not allow (it allows ${policy.tls13Ciphers.join(', ')})` }
        : { status: 'held', detail: `accepts only TLS 1.3 suites ${policy.name} allows (${suites.join(', ')})` };
    },
  },
  {
    rule: 'policy.ciphers',
    field: 'server.ciphers',
    check: ({ scan, policy }) => {
      if (!policy.tls12Ciphers) return unasked(policy, 'suites below TLS 1.3');
      const suites = [...new Set(below13(scan).map((s) => s.name))];
      if (!acceptedVersions(scan).some((v) => v !== 'TLSv1_3')) return { status: 'skipped', detail: 'the server accepts no version below TLS 1.3' };
      const extra = suites.filter((s) => !policy.tls12Ciphers!.includes(s));
      return extra.length
        ? { status: 'violated', detail: `accepts ${extra.join(', ')}, which ${policy.name} does not allow` }
        : { status: 'held', detail: `accepts only suites ${policy.name} allows (${suites.join(', ')})` };
    },
  },
  {
    rule: 'policy.groups',
    field: 'server.groups',
    check: ({ scan, policy }) => {
      if (!policy.groups) return unasked(policy, 'groups');
      if (!scan.groups.measured) return notMeasured(scan.groups);
      const accepted = scan.groups.value.map((g) => g.name);
      const extra = accepted.filter((g) => !policy.groups!.includes(g));
      const unprobed = policy.groups.filter((g) => !GROUPS.some((known) => known.name === g));
      const note = unprobed.length ? ` (${unprobed.join(', ')} not probed: this OpenSSL cannot offer it)` : '';
      return extra.length
        ? { status: 'violated', detail: `accepts ${extra.join(', ')} ${scan.groups.detail}, which ${policy.name} does not allow (it allows ${policy.groups.join(', ')})${note}` }
        : { status: 'held', detail: `accepts only groups ${policy.name} allows (${list(accepted)}, ${scan.groups.detail})${note}` };
    },
  },
  keySize('policy.dh-size', 'server.ciphers', 'DH', (s) => s.dhBits, (p) => p.minDhBits, 'no finite-field DH key exchange happened (no DHE suite, no ffdhe group accepted)'),
  keySize('policy.ecdh-size', 'server.groups', 'ECDH', (s) => s.ecdhBits, (p) => p.minEcdhBits, 'no ECDH key exchange happened'),
  {
    rule: 'policy.server-order',
    field: 'server.server_preferred_order',
    check: ({ scan, policy }) => {
      if (policy.serverPreferredOrder === undefined) return unasked(policy, 'suite order');
      if (!scan.serverOrder.measured) return notMeasured(scan.serverOrder);
      const imposes = scan.serverOrder.value;
      const wanted = policy.serverPreferredOrder ? 'the server chooses' : 'the client chooses';
      return {
        status: imposes === policy.serverPreferredOrder ? 'held' : 'violated',
        detail: `${imposes ? 'the server imposes its own order' : "the server follows the client's order"} (${scan.serverOrder.detail}); ${policy.name}: ${wanted}`,
      };
    },
  },
  {
    rule: 'policy.ocsp-staple',
    field: 'server.certfile',
    check: ({ scan, policy, leaf, startedHere }) => {
      if (!policy.ocspStaple) return unasked(policy, 'OCSP stapling');
      const responder = /OCSP - URI:(\S+)/.exec(leaf.infoAccess ?? '')?.[1];
      if (!responder) return { status: 'skipped', detail: 'the certificate names no OCSP responder (no Authority Information Access OCSP URI): there is nothing to staple' };
      if (startedHere) return { status: 'skipped', detail: `the certificate names ${responder}, but the deployment vocabulary has no stapling setting: check the running server with --target` };
      if (!scan.ocspStapled.measured) return notMeasured(scan.ocspStapled);
      return scan.ocspStapled.value ? { status: 'held', detail: 'the server staples an OCSP response' } : { status: 'violated', detail: `the certificate names ${responder}, and the server staples no OCSP response; ${policy.name} asks for one` };
    },
  },
  {
    rule: 'policy.hsts',
    field: 'server.implementation',
    check: ({ scan, policy, startedHere }) => {
      if (!policy.hstsMinAge) return unasked(policy, 'HSTS');
      if (startedHere) return { status: 'skipped', detail: "the server the gate starts answers with the harness's own page, not your application's headers: check the running server with --target" };
      if (!scan.hsts.measured) return notMeasured(scan.hsts);
      const { header, maxAge } = scan.hsts.value;
      if (!header) return { status: 'violated', detail: `the HTTP answer (${scan.hsts.detail}) has no Strict-Transport-Security header; ${policy.name} asks for max-age ≥ ${policy.hstsMinAge}` };
      return maxAge !== null && maxAge >= policy.hstsMinAge
        ? { status: 'held', detail: `Strict-Transport-Security: ${header}` }
        : { status: 'violated', detail: `Strict-Transport-Security: ${header}; ${policy.name} asks for max-age ≥ ${policy.hstsMinAge}` };
    },
  },
  // Protocol hygiene: held when the server has the property (or, for compression, lacks it), as measured.
  hygiene('tls.compression-refused', 'server.implementation', (s) => s.compression, false),
  hygiene('tls.secure-renegotiation', 'server.implementation', (s) => s.secureRenegotiation, true),
  hygiene('tls.extended-master-secret', 'server.implementation', (s) => s.extendedMasterSecret, true),
  hygiene('tls.fallback-scsv', 'server.minimum_version', (s) => s.fallbackScsv, true),
];
