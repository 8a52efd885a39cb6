/**
 * The deployment gate: start the real server with the deployment's own files
 * on loopback, drive real clients at it, read its certificates, and return
 * one finding per rule, each naming the file and field to change.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import { attemptConnection } from '../attempt';
import { ConfigurationError, HarnessInputError } from '../errors';
import { checkClientFiles, checkServerFiles } from '../peers/pem-files';
import { describeOutcome } from '../outcome/classify';
import type { Outcome, Reason } from '../outcome/vocabulary';
import { clientImplementation, serverImplementation } from '../peers/registry';
import { NOT_ACCEPTED, type ClientImplementation, type RunningServer } from '../peers/types';
import { loadPki, profileFiles } from '../pki';
import { findRule } from '../rules';
import { DEFAULT_CLIENT, type ClientSettings, type ServerSettings, type TlsVersion } from '../vocabulary';
import { certificatesInPem, checkChain, checkHostnames, checkPolicyCertificate, checkValidity } from './certificates';
import type { Deployment } from './deployment';
import type { Policy } from './policy';

export interface Finding {
  readonly rule: string;
  readonly title: string;
  readonly status: 'held' | 'violated' | 'skipped';
  readonly detail: string;
  /** The deployment field to change, e.g. "server.cert_reqs". */
  readonly field?: string;
  /** "deployment.yaml:7", where that field is written. */
  readonly where?: string;
}

/** Gate checks that are not rules of the documents but of the policy. */
export const POLICY_RULES: Readonly<Record<string, string>> = {
  'policy.versions': 'The server accepts exactly the TLS versions the policy allows',
  'policy.ciphers': 'The server accepts only the TLS 1.2 cipher suites the policy allows',
  'policy.certificate': "The certificate's key type, key size, signature algorithm and lifespan are those the policy allows",
};

const LEGACY_VERSIONS: readonly TlsVersion[] = ['TLSv1', 'TLSv1_1'];
/** TLS 1.2 suites a server may accept; each is offered alone, and the policy says which may connect. */
const PROBED_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305', 'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES128-SHA256', 'ECDHE-RSA-AES256-SHA384', 'ECDHE-RSA-AES128-SHA', 'ECDHE-RSA-AES256-SHA',
  'AES128-GCM-SHA256', 'AES256-GCM-SHA384', 'AES128-SHA256', 'AES128-SHA', 'AES256-SHA', 'DES-CBC3-SHA', 'NULL-SHA256',
];

/** Refusals of the client's certificate: the handshake had accepted the version and the suite by then. */
const CERTIFICATE_REFUSALS: readonly (Reason | null)[] = ['certificate_required', 'unknown_ca', 'bad_certificate', 'certificate_expired', 'certificate_not_yet_valid', 'http_error'];

/** Which deployment field a failed connection points at, by reason. */
const FIELD_OF: Partial<Record<Reason, string>> = {
  unknown_ca: 'server.certfile',
  hostname_mismatch: 'server.hostnames',
  certificate_expired: 'server.certfile',
  certificate_not_yet_valid: 'server.certfile',
  certificate_required: 'client.cert',
  protocol_version: 'server.minimum_version',
  no_shared_cipher: 'server.ciphers',
  no_signature_algorithm: 'server.certfile',
  missing_certificate: 'server.certfile',
};

/** The field a failed connection of the deployment's own client points at. */
function fieldFor(outcome: Outcome): string {
  // The server refusing the client's certificate is about what the server trusts (or what the client presents).
  if (outcome.endedBy === 'server' && (outcome.reason === 'unknown_ca' || outcome.reason === 'bad_certificate')) return 'server.ca_certs';
  if (outcome.endedBy === 'server' && (outcome.reason === 'certificate_expired' || outcome.reason === 'certificate_not_yet_valid')) return 'client.cert';
  if (outcome.endedBy === 'client' && outcome.reason === 'unknown_ca') return 'client.verify';
  return FIELD_OF[outcome.reason!] ?? 'server.certfile';
}

export interface GateRun {
  readonly findings: Finding[];
  readonly server: { readonly implementation: string; readonly version: string };
  readonly client: { readonly implementation: string; readonly version: string };
  readonly durationMs: number;
}

/** A server already running at `target` (loopback only): the gate drives clients at it and reads what it presents. */
export interface LiveTarget {
  readonly host: string;
  readonly port: number;
}

/** The certificates a live server presents, leaf first, as any client sees them. */
function presentedChain(target: LiveTarget, servername: string): Promise<X509Certificate[]> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: target.host, port: target.port, servername: isIP(servername) ? undefined : servername, rejectUnauthorized: false }, () => {
      const chain: X509Certificate[] = [];
      let cert = socket.getPeerCertificate(true);
      const seen = new Set<string>();
      while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
        seen.add(cert.fingerprint256);
        chain.push(new X509Certificate(cert.raw));
        cert = cert.issuerCertificate;
      }
      socket.end();
      resolve(chain);
    });
    socket.setTimeout(5000, () => socket.destroy(new Error('no TLS answer within 5 s')));
    socket.once('error', reject);
  });
}

export async function runGate(deployment: Deployment, policy: Policy, target?: LiveTarget): Promise<GateRun> {
  const started = performance.now();
  await loadPki();
  const findings: Finding[] = [];
  const display = relative(process.cwd(), deployment.file) || deployment.file;
  const where = (field: string): string | undefined => {
    const line = deployment.lines.get(field) ?? deployment.lines.get(field.split('.').slice(0, 1).join('.'));
    return line ? `${display}:${line}` : display;
  };
  const add = (rule: string, status: Finding['status'], detail: string, field?: string): void => {
    findings.push({ rule, title: findRule(rule)?.title ?? POLICY_RULES[rule] ?? rule, status, detail, ...(field ? { field, where: where(field) } : {}) });
  };

  // Files that cannot be used at all are a broken deployment file (exit 2), not a finding.
  const brokenFile = (field: string, detail: string): never => {
    throw new HarnessInputError(`${where(field) ?? display}: ${field}: ${detail}`);
  };
  try {
    if (!target) checkServerFiles(deployment.server);
    checkClientFiles(deployment.client);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    brokenFile(error.field === 'verify' || error.field === 'cert' ? `client.${error.field}` : `server.${error.field}`, error.message.replace(/^\S+ \([^)]*\): /, ''));
  }
  const parse = (field: string, path: string) => {
    try {
      return certificatesInPem(readFileSync(path, 'utf8'));
    } catch (error) {
      return brokenFile(field, `a certificate in ${relative(process.cwd(), path)} cannot be parsed (${(error as Error).message})`);
    }
  };
  // The certificates: the files, or what the live server presents.
  let served: X509Certificate[];
  if (target) {
    try {
      served = await presentedChain(target, deployment.server.hostnames[0]!);
    } catch (error) {
      throw new HarnessInputError(`--target ${target.host}:${target.port}: no TLS server answers there (${(error as Error).message})`);
    }
    // A live server sends its leaf and intermediates; the root, if sent, changes nothing.
  } else {
    served = parse('server.certfile', deployment.server.certfile);
  }
  const trusted = parse('client.verify', deployment.client.verify);
  const leaf = served[0]!;
  const chain = checkChain(served, trusted);
  add('identity.ca-signed', chain.signed.ok ? 'held' : 'violated', chain.signed.detail, 'server.certfile');
  add('identity.chain', chain.complete.ok ? 'held' : 'violated', chain.complete.detail, 'server.certfile');
  const names = checkHostnames(leaf, deployment.server.hostnames);
  add('identity.hostname-matches', names.ok ? 'held' : 'violated', names.detail, 'server.hostnames');
  const validity = checkValidity(leaf, deployment.expiryWarningDays);
  add('identity.validity-period', validity.ok ? 'held' : 'violated', validity.detail, 'server.certfile');
  const certificatePolicy = checkPolicyCertificate(leaf, policy);
  add('policy.certificate', certificatePolicy.ok ? 'held' : 'violated', certificatePolicy.detail, 'server.certfile');

  // The server, running.
  const serverImpl = serverImplementation(deployment.server.implementation);
  const own = clientImplementation(deployment.client.implementation);
  const probe = clientImplementation('axios');
  const [serverVersion, clientVersion] = await Promise.all([serverImpl.detect(), own.detect()]);
  const settings: ServerSettings = {
    ssl_version: deployment.server.ssl_version ?? 'ssl.PROTOCOL_TLS',
    certfile: deployment.server.certfile,
    ...(deployment.server.keyfile ? { keyfile: deployment.server.keyfile } : {}),
    ...(deployment.server.ca_certs ? { ca_certs: deployment.server.ca_certs } : {}),
    ...(deployment.server.cert_reqs ? { cert_reqs: deployment.server.cert_reqs } : {}),
    ...(deployment.server.minimum_version ? { minimum_version: deployment.server.minimum_version } : {}),
    ...(deployment.server.maximum_version ? { maximum_version: deployment.server.maximum_version } : {}),
    ...(deployment.server.ciphers ? { ciphers: deployment.server.ciphers } : {}),
  };
  const base: ClientSettings = {
    ...DEFAULT_CLIENT,
    verify: deployment.client.verify,
    server_hostname: deployment.server.hostnames[0]!,
    ...(deployment.client.cert ? { cert: deployment.client.cert } : {}),
  };
  let server: RunningServer;
  if (target) {
    server = { implementation: 'live target', host: target.host, port: target.port, observe: async () => NOT_ACCEPTED, close: async () => undefined };
    add('one-way.server-needs-cert-and-key', 'skipped', `a live target (${target.host}:${target.port}): its files are not read`);
  } else try {
    if (!serverVersion.available) throw new ConfigurationError('server.implementation', `${deployment.server.implementation} is not available here: ${serverVersion.hint}`);
    server = await serverImpl.start(settings);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    add('one-way.server-needs-cert-and-key', 'violated', `${deployment.server.implementation} refused the configuration: ${error.message}`, error.field.startsWith('server.') ? error.field : `server.${error.field}`);
    return finish();
  }
  if (!target) add('one-way.server-needs-cert-and-key', 'held', `${deployment.server.implementation} serves with certfile and keyfile`, 'server.certfile');
  try {
    const attempt = async (client: ClientImplementation, changes: Partial<ClientSettings>): Promise<Outcome> => (await attemptConnection(server, client, { ...base, ...changes })).outcome;
    const ownRule = deployment.intent === 'mutual' ? 'mutual.client-verifies-server-too' : 'one-way.client-verifies-server';
    const mine = await attempt(own, {});
    add(ownRule, mine.connected ? 'held' : 'violated', `its own ${deployment.client.implementation} client: ${describeOutcome(mine)}`, mine.connected ? undefined : fieldFor(mine));

    if (deployment.intent === 'mutual') {
      const bare = await attempt(probe, { cert: undefined });
      const refused = !bare.connected;
      add('mutual.server-requires-client-cert', refused ? 'held' : 'violated', `a client without a certificate: ${describeOutcome(bare)}`, 'server.cert_reqs');
      const stranger = profileFiles('client-from-unrelated-ca');
      const other = await attempt(probe, { cert: [stranger.cert, stranger.key] });
      add('mutual.client-cert-must-match-ca-certs', other.connected ? 'violated' : 'held', `a client certificate from another CA: ${describeOutcome(other)}`, 'server.ca_certs');
    } else {
      add('mutual.server-requires-client-cert', 'skipped', 'a one-way deployment: no client certificate is required');
    }

    // Probes ask one thing, whether a version or a suite is accepted: they do not verify the server (the
    // certificate findings above do), and a refusal of the client's certificate still means the handshake
    // got past the version and the suite.
    const probeSettings: Partial<ClientSettings> = { verify: false };
    const accepts = (outcome: Outcome): boolean => outcome.connected || CERTIFICATE_REFUSALS.includes(outcome.reason!);
    // Versions: legacy ones must be refused, and the accepted ones must be the policy's.
    const accepted: TlsVersion[] = [];
    for (const version of [...LEGACY_VERSIONS, 'TLSv1_2', 'TLSv1_3'] as TlsVersion[]) {
      const legacy = LEGACY_VERSIONS.includes(version);
      const outcome = await attempt(probe, { ...probeSettings, minimum_version: version, maximum_version: version, ...(legacy ? { ciphers: 'DEFAULT:@SECLEVEL=0' } : {}) });
      if (accepts(outcome)) accepted.push(version);
    }
    const legacyAccepted = accepted.filter((v) => LEGACY_VERSIONS.includes(v));
    add('version.legacy-refused', legacyAccepted.length ? 'violated' : 'held', legacyAccepted.length ? `accepts ${legacyAccepted.join(', ')}` : 'refuses TLS 1.0 and TLS 1.1', 'server.minimum_version');
    const outside = accepted.filter((v) => !policy.versions.includes(v));
    const absent = policy.versions.filter((v) => !accepted.includes(v));
    add(
      'policy.versions',
      outside.length || absent.length ? 'violated' : 'held',
      `accepts ${accepted.join(', ') || 'no version'}; ${policy.name} allows ${policy.versions.join(', ')}${outside.length ? `: remove ${outside.join(', ')}` : ''}${absent.length ? `: enable ${absent.join(', ')}` : ''}`,
      outside.length && !absent.length ? 'server.minimum_version' : 'server.maximum_version',
    );

    // TLS 1.2 suites, one at a time: weak ones refused, and only the policy's accepted.
    if (accepted.includes('TLSv1_2')) {
      const acceptedSuites: string[] = [];
      for (const suite of PROBED_SUITES) {
        try {
          const outcome = await attempt(probe, { ...probeSettings, minimum_version: 'TLSv1_2', maximum_version: 'TLSv1_2', ciphers: `${suite}:@SECLEVEL=0` });
          if (accepts(outcome)) acceptedSuites.push(suite);
        } catch (error) {
          if (!(error instanceof ConfigurationError)) throw error; // this client cannot offer it: nothing to learn
        }
      }
      const weak = acceptedSuites.filter((s) => /DES|NULL|RC4|EXP|^AES/.test(s));
      add('cipher.restricted-by-ciphers', weak.length ? 'violated' : 'held', weak.length ? `accepts legacy suites: ${weak.join(', ')} (static RSA has no forward secrecy; 3DES and NULL are broken)` : 'refuses static-RSA, 3DES and NULL suites', 'server.ciphers');
      const notAllowed = acceptedSuites.filter((s) => !policy.tls12Ciphers.includes(s));
      add('policy.ciphers', notAllowed.length ? 'violated' : 'held', notAllowed.length ? `accepts ${notAllowed.join(', ')}, which ${policy.name} does not allow` : `accepts only suites ${policy.name} allows (${acceptedSuites.join(', ')})`, 'server.ciphers');
    } else {
      add('cipher.restricted-by-ciphers', 'skipped', 'the server does not accept TLS 1.2: TLS 1.3 suites are all strong');
      add('policy.ciphers', 'skipped', 'the server does not accept TLS 1.2');
    }
  } finally {
    await server.close();
  }
  return finish();

  function finish(): GateRun {
    return {
      findings,
      server: target
        ? { implementation: `live target ${target.host}:${target.port}`, version: 'not known: a running server' }
        : { implementation: deployment.server.implementation, version: serverVersion.available ? serverVersion.version : 'not available' },
      client: { implementation: deployment.client.implementation, version: clientVersion.available ? clientVersion.version : 'not available' },
      durationMs: Math.round(performance.now() - started),
    };
  }
}
