/**
 * The deployment gate: start the real server with the deployment's own files
 * (or take a running one, --target), read its certificates, drive real
 * clients at it (the deployment's own, and the probes of probes.ts), scan
 * what it accepts (scan.ts), and return one finding per check, each naming
 * the field to change. A check is held only when what it asks about
 * happened; otherwise it is skipped or inconclusive, with the reason.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { relative } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { attemptConnection } from '../attempt';
import { ConfigurationError, HarnessInputError, UnsupportedSetting } from '../errors';
import { declaredView, undeclaredSetting } from '../peers/declared';
import { describeOutcome } from '../outcome/classify';
import { serverRefused } from '../outcome/judge';
import type { Outcome } from '../outcome/vocabulary';
import { checkClientFiles, checkServerFiles } from '../peers/pem-files';
import { clientImplementation, serverImplementation } from '../peers/registry';
import { NOT_ACCEPTED, type ClientImplementation, type RunningServer } from '../peers/types';
import { loadPki } from '../pki';
import { findRule } from '../rules';
import { DEFAULT_CLIENT, type ClientSettings, type ServerSettings } from '../vocabulary';
import { certificatesInPem, checkChain, checkHostnames, checkPolicyCertificate, checkValidity } from './certificates';
import type { Deployment } from './deployment';
import type { Change } from '../serverconfig/types';
import type { Policy } from './policy';
import { CONNECTION_PROBES, GATE_RULES, MEASURED_CHECKS, judgeProbe, type Judged, type Status } from './probes';
import { scanServer, type ServerScan } from './scan';

export { GATE_RULES } from './probes';

export interface Finding {
  readonly rule: string;
  readonly title: string;
  readonly status: Status;
  readonly detail: string;
  /** The deployment field to change (for an inconclusive finding: to fix first), e.g. "server.cert_reqs". */
  readonly field?: string;
  /** "deployment.yaml:7", where that field is written (or its section, where it would go). */
  readonly where?: string;
  /** For a server configuration file's endpoint: which endpoint ("api.example.test:443"). */
  readonly endpoint?: string;
  /** When the directive to change is not written: the default that applies instead. */
  readonly missing?: string;
}

/** The server the gate started from the user's own configuration file, and one TLS endpoint of it. */
export interface ConfiguredEndpoint {
  readonly host: string;
  readonly port: number;
  /** The name asked for by SNI; none for a catch-all endpoint. */
  readonly sni?: string;
  /** "nginx from nginx/nginx.conf". */
  readonly implementation: string;
  readonly version: string;
  /** "api.example.test:443" */
  readonly id: string;
  /** Where the file turns on OCSP stapling that the sandbox turned off (it would fetch from the responder). */
  readonly staplingTurnedOff?: string;
  /** A finding's field (rule, vocabulary field) → the directive in the file, and where it is or would go. */
  locate(rule: string, field: string): { field: string; where: string; missing?: string } | null;
}

export interface GateRun {
  readonly findings: Finding[];
  readonly server: { readonly implementation: string; readonly version: string };
  readonly client: { readonly implementation: string; readonly version: string };
  /** What the scan found the server accepts, for the reports. */
  readonly scan?: ServerScan;
  readonly durationMs: number;
  /** The server's own configuration file, when the gate ran it: its endpoints and what the sandbox changed. */
  readonly config?: {
    readonly file: string;
    readonly implementation: string;
    readonly files: readonly string[];
    readonly changes: readonly Change[];
    readonly endpoints: readonly unknown[];
  };
}

/** A server already running at `host:port`, named explicitly by the user; `sni` is the name asked for. */
export interface LiveTarget {
  readonly host: string;
  readonly port: number;
  readonly sni?: string;
}

/** How long a --target has to answer a TLS hello before the gate gives up (exit 2). */
export const TARGET_TIMEOUT_MS = 5000;

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
    socket.setTimeout(TARGET_TIMEOUT_MS, () => socket.destroy(new Error(`no TLS answer within ${TARGET_TIMEOUT_MS / 1000} s`)));
    socket.once('error', reject);
  });
}

export async function runGate(deployment: Deployment, policy: Policy, liveTarget?: LiveTarget, configured?: ConfiguredEndpoint): Promise<GateRun> {
  const started = performance.now();
  await loadPki();
  const findings: Finding[] = [];
  const display = relative(process.cwd(), deployment.file) || deployment.file;
  const where = (field: string): string => {
    const line = deployment.lines.get(field) ?? deployment.lines.get(field.split('.')[0]!);
    return line ? `${display}:${line}` : display;
  };
  const add = (rule: string, judged: Judged): void => {
    const field = judged.field;
    const located = field && configured ? configured.locate(rule, field) : null;
    const at = located ? { field: located.field, where: located.where, ...(located.missing ? { missing: located.missing } : {}) } : field ? { field, where: where(field) } : {};
    findings.push({ rule, title: findRule(rule)?.title ?? GATE_RULES[rule] ?? rule, status: judged.status, detail: judged.detail, ...at, ...(configured ? { endpoint: configured.id } : {}) });
  };
  // A configured endpoint is reached like a live target: its certificates and answers are read from the wire.
  const target: LiveTarget | undefined = configured ? { host: configured.host, port: configured.port, ...(configured.sni ? { sni: configured.sni } : {}) } : liveTarget;
  const servername = target?.sni ?? deployment.server.hostnames[0]!;

  // Files that cannot be used at all are a broken deployment file (exit 2), not a finding.
  const brokenFile = (field: string, detail: string): never => {
    throw new HarnessInputError(`${where(field)}: ${field}: ${detail}`);
  };
  try {
    if (!target) checkServerFiles(deployment.server);
    checkClientFiles(deployment.client);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    brokenFile(error.field === 'verify' || error.field === 'cert' ? `client.${error.field}` : `server.${error.field}`, error.message.replace(/^\S+ \([^)]*\): /, ''));
  }
  const parse = (field: string, path: string): X509Certificate[] => {
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
      served = await presentedChain(target, servername);
    } catch (error) {
      if (configured) throw new HarnessInputError(`${configured.implementation}: endpoint ${configured.id} does not complete a TLS handshake (${(error as Error).message.split('\n')[0]})`);
      throw new HarnessInputError(`--target ${target.host}:${target.port}: no TLS server answers there (${(error as Error).message.split('\n')[0]})`);
    }
    if (!served.length) throw new HarnessInputError(`--target ${target.host}:${target.port}: the server presents no certificate`);
  } else {
    served = parse('server.certfile', deployment.server.certfile);
  }
  const verify = deployment.client.verify;
  const trusted = typeof verify === 'string' ? parse('client.verify', verify) : verify ? tls.rootCertificates.map((pem) => new X509Certificate(pem)) : null;
  const leaf = served[0]!;
  if (trusted) {
    const chain = checkChain(served, trusted);
    add('identity.ca-signed', { status: chain.signed.ok ? 'held' : 'violated', detail: chain.signed.detail, field: 'server.certfile' });
    add('identity.chain', { status: chain.complete.ok ? 'held' : 'violated', detail: chain.complete.detail, field: 'server.certfile' });
  } else {
    const why = "the deployment's client trusts no CA (verify: false), so there is no trust anchor to chain to";
    add('identity.ca-signed', { status: 'skipped', detail: why });
    add('identity.chain', { status: 'skipped', detail: why });
  }
  if (configured && !configured.sni) {
    add('identity.hostname-matches', { status: 'skipped', detail: 'the endpoint names no host (a catch-all): there is no name to match; asked without SNI' });
  } else if (configured && deployment.server.hostnames.length > 1) {
    // Each name the endpoint serves is asked for by itself: a server may choose its certificate by name (SNI).
    const checks = await Promise.all(
      deployment.server.hostnames.map(async (name, i) => {
        const presented = i === 0 ? leaf : (await presentedChain(target!, name).catch(() => []))[0];
        return presented ? { name, check: checkHostnames(presented, [name]) } : { name, check: { ok: false, detail: `asked for ${name}, the server presented no certificate` } as ReturnType<typeof checkHostnames> };
      }),
    );
    const failed = checks.filter((c) => !c.check.ok);
    add('identity.hostname-matches', failed.length
      ? { status: 'violated', detail: failed.map((c) => `asked for ${c.name}: ${c.check.detail}`).join('; '), field: (!failed[0]!.check.ok && failed[0]!.check.field) || 'server.hostnames' }
      : { status: 'held', detail: `asked for each name by SNI, the certificate presented names it in its subjectAltName: ${checks.map((c) => c.name).join(', ')}` });
  } else {
    const names = checkHostnames(leaf, deployment.server.hostnames);
    add('identity.hostname-matches', { status: names.ok ? 'held' : 'violated', detail: names.detail, field: (!names.ok && names.field) || 'server.hostnames' });
  }
  const validity = checkValidity(leaf, deployment.expiryWarningDays);
  add('identity.validity-period', { status: validity.ok ? 'held' : 'violated', detail: validity.detail, field: 'server.certfile' });
  const certificatePolicy = checkPolicyCertificate(leaf, policy);
  add('policy.certificate', certificatePolicy ? { status: certificatePolicy.ok ? 'held' : 'violated', detail: certificatePolicy.detail, field: 'server.certfile' } : { status: 'skipped', detail: `${policy.name} says nothing about certificates` });

  // The server, running.
  // A configured endpoint's program (haproxy too) was started by the config gate, which knows its version.
  const serverImpl = configured || liveTarget ? null : serverImplementation(deployment.server.implementation);
  const own = clientImplementation(deployment.client.implementation);
  const probe = clientImplementation('axios');
  const [serverVersion, clientVersion] = await Promise.all([
    serverImpl ? serverImpl.detect() : Promise.resolve(configured ? ({ available: true, version: configured.version } as const) : ({ available: false, hint: 'a running server' } as const)),
    own.detect(),
  ]);
  const s = deployment.server;
  const settings: ServerSettings = {
    ssl_version: s.ssl_version ?? 'ssl.PROTOCOL_TLS',
    certfile: s.certfile,
    ...(s.keyfile ? { keyfile: s.keyfile } : {}),
    ...(s.ca_certs ? { ca_certs: s.ca_certs } : {}),
    ...(s.cert_reqs ? { cert_reqs: s.cert_reqs } : {}),
    ...(s.minimum_version ? { minimum_version: s.minimum_version } : {}),
    ...(s.maximum_version ? { maximum_version: s.maximum_version } : {}),
    ...(s.ciphers ? { ciphers: s.ciphers } : {}),
    ...(s.groups ? { groups: s.groups } : {}),
    ...(s.server_preferred_order !== undefined ? { server_preferred_order: s.server_preferred_order } : {}),
  };
  const base: ClientSettings = {
    ...DEFAULT_CLIENT,
    verify,
    server_hostname: servername,
    ...(deployment.client.cert ? { cert: deployment.client.cert } : {}),
  };
  let server: RunningServer;
  let scan: ServerScan | undefined;
  if (target) {
    server = { implementation: 'live target', host: target.host, port: target.port, observe: async () => NOT_ACCEPTED, close: async () => undefined };
    if (configured) add('one-way.server-needs-cert-and-key', { status: 'held', detail: `${configured.implementation} started from the file and serves this endpoint with its certificate and key` });
    else add('one-way.server-needs-cert-and-key', { status: 'skipped', detail: `a live target (${target.host}:${target.port}): its files are not read` });
  } else {
    try {
      if (!serverVersion.available) throw new HarnessInputError(`${where('server.implementation')}: server.implementation: ${deployment.server.implementation} is not available here: ${serverVersion.hint}`);
      // A setting the implementation does not implement is the file's problem, not the server's.
      const undeclared = undeclaredSetting(settings, serverImpl!.supports);
      if (undeclared) brokenFile(`server.${undeclared}`, new UnsupportedSetting(serverImpl!.name, undeclared).detail);
      server = await serverImpl!.start(declaredView(serverImpl!.name, 'server', settings, serverImpl!.supports));
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      if (error instanceof UnsupportedSetting || /cannot express/.test(error.detail)) brokenFile(`server.${error.field}`, error.detail);
      add('one-way.server-needs-cert-and-key', { status: 'violated', detail: `${deployment.server.implementation} refused the configuration: ${error.message}`, field: error.field.startsWith('server.') ? error.field : `server.${error.field}` });
      return finish();
    }
    add('one-way.server-needs-cert-and-key', { status: 'held', detail: `${deployment.server.implementation} serves with certfile and keyfile`, field: 'server.certfile' });
  }
  try {
    const attempt = async (client: ClientImplementation, changes: Partial<ClientSettings>): Promise<Outcome> => (await attemptConnection(server, client, { ...base, ...changes })).outcome;
    const fieldOfFailure = (outcome: Outcome): string => fieldForFailure(outcome, deployment);

    // The deployment's own client: it verifies the server, and connects.
    const ownRule = deployment.intent === 'mutual' ? 'mutual.client-verifies-server-too' : 'one-way.client-verifies-server';
    const mine = await attempt(own, {});
    const ownWhat = `its own ${deployment.client.implementation} client: ${describeOutcome(mine)}`;
    if (verify === false) {
      const insecure = { status: 'violated' as const, detail: `verify: false: the client accepts any server, an impostor included (${ownWhat})`, field: 'client.verify' };
      add('one-way.client-verifies-server', insecure);
      if (ownRule !== 'one-way.client-verifies-server') add(ownRule, insecure);
    } else if (target && !mine.connected && mine.reason === 'http_error' && mine.httpStatus !== 400) {
      // The user's own server answered over the finished handshake: its HTTP status is the application's, not a TLS refusal.
      add(ownRule, { status: 'held', detail: `${ownWhat}; the TLS connection was made, the status is the application's answer` });
    } else {
      add(ownRule, mine.connected ? { status: 'held', detail: ownWhat } : { status: 'violated', detail: ownWhat, field: fieldOfFailure(mine) });
    }

    // Probes: the deployment's client with one thing changed, each asking whether the server refuses it.
    for (const row of CONNECTION_PROBES) {
      const skip = row.skip(deployment);
      if (skip) {
        add(row.rule, { status: 'skipped', detail: skip });
        continue;
      }
      const judged = judgeProbe(row, await attempt(probe, row.change()), fieldOfFailure);
      // A server that lets in a client without any certificate does not ask for one: that is what to change first.
      const asksNoCertificate = findings.some((f) => f.rule === 'mutual.server-requires-client-cert' && f.status === 'violated');
      add(row.rule, judged.status === 'violated' && row.field === 'server.ca_certs' && asksNoCertificate ? { ...judged, field: 'server.cert_reqs' } : judged);
    }

    // What the server accepts, from the wire.
    scan = await scanServer({ host: server.host, port: server.port, servername, ...(deployment.client.cert ? { cert: deployment.client.cert } : {}), readHttp: Boolean(target), timeoutMs: TARGET_TIMEOUT_MS });
    if (!scan.versions.some((v) => v.accepted)) {
      for (const row of MEASURED_CHECKS) add(row.rule, { status: 'skipped', detail: `no handshake with the server succeeded in any version (${scan.versions.map((v) => `${v.version}: ${v.detail}`).join('; ')})` });
    } else {
      for (const row of MEASURED_CHECKS) {
        const judged = row.check({ deployment, policy, scan, startedHere: !target, leaf });
        if (configured?.staplingTurnedOff && row.rule === 'policy.ocsp-staple' && judged.status !== 'skipped') {
          add(row.rule, { status: 'skipped', detail: `stapling is on (${configured.staplingTurnedOff}), but fetching a staple contacts the OCSP responder named in the certificate, which the gate never does; check the running server with --target` });
          continue;
        }
        add(row.rule, { ...judged, ...(judged.status === 'violated' ? { field: judged.field ?? row.field } : {}) });
      }
    }
  } finally {
    await server.close();
  }
  return finish();

  function finish(): GateRun {
    return {
      findings,
      server: configured
        ? { implementation: configured.implementation, version: configured.version }
        : target
        ? { implementation: `live target ${target.host}:${target.port}`, version: 'not known: a running server' }
        : { implementation: deployment.server.implementation, version: serverVersion.available ? serverVersion.version : 'not available' },
      client: { implementation: deployment.client.implementation, version: clientVersion.available ? clientVersion.version : 'not available' },
      ...(scan ? { scan } : {}),
      durationMs: Math.round(performance.now() - started),
    };
  }
}

/**
 * The field a failed connection points at, from the evidence and the
 * deployment, whatever the implementation's way of refusing (an alert, a
 * reset, nginx's HTTP 400): a server that refuses a client certificate that
 * is valid and presented points at what the server trusts (server.ca_certs).
 */
export function fieldForFailure(outcome: Outcome, deployment: Deployment): string {
  if (outcome.reason === 'protocol_version') return 'server.minimum_version';
  if (outcome.reason === 'no_shared_cipher') return 'server.ciphers';
  if (outcome.endedBy === 'client') {
    if (outcome.reason === 'hostname_mismatch') return 'server.hostnames';
    if (outcome.reason === 'unknown_ca') return 'client.verify';
    return 'server.certfile';
  }
  if (serverRefused(outcome)) {
    const cert = deployment.client.cert;
    if (!cert || outcome.reason === 'certificate_required') return 'client.cert';
    return clientCertificateCurrent(cert[0]) ? 'server.ca_certs' : 'client.cert';
  }
  return 'server.certfile';
}

function clientCertificateCurrent(path: string): boolean {
  try {
    const cert = certificatesInPem(readFileSync(path, 'utf8'))[0];
    const now = Date.now();
    return Boolean(cert) && Date.parse(cert!.validFrom) <= now && now <= Date.parse(cert!.validTo);
  } catch {
    return false;
  }
}
