/**
 * The gate on the configuration file that ships: the real program (nginx,
 * Apache, HAProxy) runs the user's file in a sandbox, and every TLS endpoint
 * of it gets all of the gate's checks, asked for by its name (SNI). Each
 * finding names its endpoint and the directive to change, at its file and
 * line (or the block where it is missing and its default applies).
 */
import { execFile } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { HarnessInputError, shortPath } from '../errors';
import { serverImplementation } from '../peers/registry';
import type { Deployment } from '../gate/deployment';
import { GATE_RULES, runGate, type Finding, type GateRun } from '../gate/gate';
import type { Policy } from '../gate/policy';
import { prepareApache } from './apache';
import { prepareHaproxy } from './haproxy';
import { prepareNginx } from './nginx';
import { BackendStub, removeSandbox, startProgram, testConfig } from './sandbox';
import type { Endpoint, Knob, PreparedConfig } from './types';

export { CONFIG_IMPLEMENTATIONS, type ConfigImplementation } from './names';
import type { ConfigImplementation } from './names';

/** The vocabulary field a finding points at → what sets it in a server's own file. */
const FIELD_KNOB: Readonly<Record<string, Knob>> = {
  'server.minimum_version': 'versions',
  'server.maximum_version': 'versions',
  'server.ssl_version': 'versions',
  'server.ciphers': 'ciphers',
  'server.groups': 'groups',
  'server.server_preferred_order': 'order',
  'server.certfile': 'cert',
  'server.keyfile': 'key',
  'server.ca_certs': 'ca',
  'server.cert_reqs': 'verify',
  // The file's own server names say what the endpoint serves: a certificate that does not name them is what to change.
  'server.hostnames': 'cert',
  'server.implementation': 'program',
};
const RULE_KNOB: Readonly<Record<string, Knob>> = {
  'policy.tls13-ciphers': 'tls13',
  'policy.hsts': 'hsts',
  'policy.ocsp-staple': 'ocsp',
  'policy.dh-size': 'dhparam',
};

export function knobFor(rule: string, field: string): Knob | null {
  if (field.startsWith('client.')) return null;
  return RULE_KNOB[rule] ?? FIELD_KNOB[field] ?? null;
}

export function detectHaproxy(): Promise<{ available: true; version: string } | { available: false; hint: string }> {
  return new Promise((resolve) => {
    execFile('haproxy', ['-v'], { timeout: 5000 }, (error, stdout) => {
      const version = /HA-?Proxy version (\S+)/i.exec(stdout)?.[1];
      resolve(error || !version ? { available: false, hint: 'apt-get install -y haproxy' } : { available: true, version: `HAProxy ${version}` });
    });
  });
}

async function detect(implementation: ConfigImplementation): Promise<{ available: true; version: string } | { available: false; hint: string }> {
  if (implementation === 'haproxy') return detectHaproxy();
  const found = await serverImplementation(implementation).detect();
  return found.available ? { available: true, version: found.version } : { available: false, hint: found.hint };
}

export interface EndpointSummary {
  readonly id: string;
  readonly label: string;
  readonly names: readonly string[];
  readonly patterns: readonly string[];
  readonly intent: 'one-way' | 'mutual';
  readonly intentFrom: 'deployment' | 'file';
  readonly port: number;
}

export async function prepareConfig(deployment: Deployment, stub: BackendStub): Promise<PreparedConfig> {
  const config = deployment.server.config!;
  const options = { paths: config.paths, hostnames: deployment.server.hostnamesGiven ? deployment.server.hostnames : [], stub };
  switch (deployment.server.implementation as ConfigImplementation) {
    case 'nginx':
      return prepareNginx(config.file, options);
    case 'apache':
      return prepareApache(config.file, options);
    case 'haproxy':
      return prepareHaproxy(config.file, options);
    default:
      throw new HarnessInputError(`server.implementation: ${deployment.server.implementation} cannot run a configuration file (nginx, apache or haproxy can)`);
  }
}

export async function runConfigGate(deployment: Deployment, policy: Policy): Promise<GateRun> {
  const started = performance.now();
  const implementation = deployment.server.implementation as ConfigImplementation;
  const found = await detect(implementation);
  if (!found.available) throw new HarnessInputError(`server.implementation: ${implementation} is not available here: ${found.hint}`);
  const stub = new BackendStub();
  let prepared: PreparedConfig | null = null;
  let program: { stop(): Promise<void> } | null = null;
  try {
    prepared = await prepareConfig(deployment, stub);
    try {
      program = await startProgram(prepared);
    } catch (error) {
      // The program's own configuration test says best what is wrong: it runs only when the start failed, to save a process start.
      await testConfig(prepared);
      throw error;
    }
    const display = shortPath(prepared.file);
    const staplingOff = prepared.changes.find((c) => /OCSP responder/.test(c.why))?.where;
    // A name two endpoints of one socket both write is answered by the first (nginx and Apache alike): the later one
    // is not asked for by it.
    const taken = new Map<number, Map<string, string>>();
    const shadowed = new Map<Endpoint, string[]>();
    const endpoints = prepared.endpoints.map((endpoint) => {
      const owners = taken.get(endpoint.port) ?? new Map<string, string>();
      taken.set(endpoint.port, owners);
      const lost = endpoint.names.filter((n) => owners.has(n.toLowerCase()));
      for (const n of endpoint.names) if (!owners.has(n.toLowerCase())) owners.set(n.toLowerCase(), endpoint.label);
      if (!lost.length) return endpoint;
      const kept: Endpoint = { ...endpoint, names: endpoint.names.filter((n) => !lost.includes(n)) };
      shadowed.set(kept, lost.map((n) => `${n} (answered by the ${owners.get(n.toLowerCase())})`));
      return kept;
    });
    // Each endpoint's id is its own in the reports: a second one with the same says where it is.
    const seen = new Set<string>();
    const unique = endpoints.map((endpoint) => {
      const id = seen.has(endpoint.id) ? `${endpoint.id} (${endpoint.label.replace(/ \(.*$/, '')})` : endpoint.id;
      seen.add(id);
      if (id === endpoint.id) return endpoint;
      const renamed: Endpoint = { ...endpoint, id };
      if (shadowed.has(endpoint)) shadowed.set(renamed, shadowed.get(endpoint)!);
      return renamed;
    });
    const runs = await Promise.all(
      unique.map(async (endpoint) => {
        const intentFrom: 'deployment' | 'file' = deployment.intentGiven ? 'deployment' : 'file';
        const intent = deployment.intentGiven ? deployment.intent : endpoint.clientCertificates.mode === 'require' ? 'mutual' : 'one-way';
        const summary: EndpointSummary = { id: endpoint.id, label: endpoint.label, names: endpoint.names, patterns: endpoint.patterns, intent, intentFrom, port: endpoint.port };
        if (!endpoint.names.length && !endpoint.reachableWithoutName) {
          // Asked without a name, the program would answer with another block: nothing is claimed about this one.
          const names = endpoint.locate('names');
          const unreached: Finding = {
            rule: 'config.endpoint-reached',
            title: GATE_RULES['config.endpoint-reached']!,
            status: 'inconclusive',
            detail: `${endpoint.label} names no host the gate can ask for${endpoint.patterns.length ? ` (only ${endpoint.patterns.join(', ')}, which no hostnames: entry matches)` : ''}${shadowed.has(endpoint) ? ` (its names go to an earlier endpoint: ${shadowed.get(endpoint)!.join(', ')})` : ''}, and a client that names none reaches another endpoint of its socket: none of its checks was made`,
            // Names another endpoint takes are the file's to change; a pattern needs a name from the deployment.
            ...(shadowed.has(endpoint)
              ? { field: names.directive, where: names.where }
              : { field: deployment.lines.has('server') ? 'server.hostnames' : '--hostnames', where: deployment.lines.get('server') ? `${shortPath(deployment.file)}:${deployment.lines.get('server')}` : names.where }),
            endpoint: endpoint.id,
          };
          return { run: { findings: [intentFinding(endpoint, deployment, intent), unreached], server: { implementation, version: found.version }, client: { implementation: deployment.client.implementation, version: '' }, durationMs: 0 } as GateRun, summary };
        }
        const own: Deployment = {
          ...deployment,
          server: { ...deployment.server, certfile: '', hostnames: endpoint.names.length ? endpoint.names : ['127.0.0.1'] },
          intent,
        };
        const run = await runGate(own, policy, undefined, {
          host: '127.0.0.1',
          port: endpoint.port,
          ...(endpoint.names[0] ? { sni: endpoint.names[0] } : {}),
          implementation: `${implementation} from ${display}`,
          version: found.version,
          id: endpoint.id,
          ...(staplingOff ? { staplingTurnedOff: staplingOff } : {}),
          locate: (rule, field) => {
            const knob = knobFor(rule, field);
            if (!knob) return null;
            const located = endpoint.locate(knob);
            return { field: located.directive, where: located.where, ...(located.missing ? { missing: located.missing } : {}) };
          },
        });
        const findings: Finding[] = [intentFinding(endpoint, deployment, intent), ...run.findings];
        return { run: { ...run, findings }, summary };
      }),
    );
    const first = runs.find((r) => r.run.scan)?.run ?? runs[0]!.run;
    return {
      findings: runs.flatMap((r) => r.run.findings),
      server: { implementation: `${implementation} from ${display}`, version: found.version },
      client: first.client,
      ...(first.scan ? { scan: first.scan } : {}),
      durationMs: Math.round(performance.now() - started),
      config: { file: display, implementation, files: prepared.files.map(shortPath), changes: prepared.changes, endpoints: runs.map((r) => ({ ...r.summary, accepted: r.run.scan ? acceptedOf(r.run) : null })) },
    };
  } finally {
    await program?.stop();
    await stub.close();
    if (prepared) removeSandbox(prepared.directory);
  }
}

function acceptedOf(run: GateRun): unknown {
  const scan = run.scan!;
  return {
    versions: scan.versions.filter((v) => v.accepted).map((v) => v.version),
    suites: scan.suites.map((s) => s.name),
    groups: scan.groups.measured ? scan.groups.value.map((g) => g.name) : null,
  };
}

/** The file's own word on client certificates, against the deployment's intent. */
function intentFinding(endpoint: Endpoint, deployment: Deployment, intent: 'one-way' | 'mutual'): Finding {
  const { mode, located } = endpoint.clientCertificates;
  const said = `${located.directive}${located.missing ? ` not set (${located.missing})` : ''} at ${located.where}: client certificates ${mode === 'require' ? 'required' : mode === 'optional' ? 'asked for but optional' : 'not asked for'}`;
  const base = { rule: 'config.intent', title: GATE_RULES['config.intent']!, endpoint: endpoint.id };
  if (!deployment.intentGiven) return { ...base, status: 'skipped', detail: `intent not given: read from the file as ${intent} (${said})` };
  const agrees = intent === 'mutual' ? mode === 'require' : mode !== 'require';
  if (agrees) return { ...base, status: 'held', detail: `intent ${intent}; ${said}` };
  return { ...base, status: 'violated', detail: `intent ${intent}, but ${said}`, field: located.directive, where: located.where, ...(located.missing ? { missing: located.missing } : {}) };
}
