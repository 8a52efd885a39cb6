/** `npm run conformance -- --deployment file`: the CI gate for one deployment. */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { relative, resolve } from 'node:path';
import { errorText, HarnessInputError } from '../errors';
import { isServerConfigFile, loadBareConfig, loadDeployment, type BareConfigOptions } from '../gate/deployment';
import { runGate, TARGET_TIMEOUT_MS, type Finding, type LiveTarget } from '../gate/gate';
import { runConfigGate } from '../serverconfig/config-gate';
import { loadPolicy } from '../gate/policy';
import { writeGateReports } from '../gate/report';
import { closePythonPeer } from '../peers/python-peer';
import { stopAllProcesses } from '../processes';
import { closeAllServers } from '../server-pool';
import type { Io } from './run';

const MARK = { held: '✔', violated: '✘', skipped: '–', inconclusive: '?' } as const;

/** host:port of a server already running, named explicitly: a host name, an IPv4 address or a bracketed IPv6 address. */
export function parseTarget(text: string): { host: string; port: number } {
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+)):(\d{1,5})$/.exec(text);
  const host = match?.[1] ?? match?.[2];
  if (!match || !host || Number(match[3]) < 1 || Number(match[3]) > 65535) {
    throw new HarnessInputError(`--target ${text}: expected host:port, for example staging.example.com:443, 10.0.0.5:8443 or [::1]:8443`);
  }
  if (match[1] && isIP(host) !== 6) throw new HarnessInputError(`--target ${text}: ${host} is not an IPv6 address`);
  return { host, port: Number(match[3]) };
}

/** The target's address, looked up once within a bounded time (every client then dials that address). */
export async function resolveTarget(text: string, sni?: string): Promise<LiveTarget> {
  const { host, port } = parseTarget(text);
  if (sni !== undefined && !/^[A-Za-z0-9*._-]+$/.test(sni)) throw new HarnessInputError(`--sni ${sni}: expected a host name`);
  let address = host;
  if (!isIP(host)) {
    let timer: NodeJS.Timeout | undefined;
    try {
      const found = await Promise.race([
        lookup(host),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer from the resolver within ${TARGET_TIMEOUT_MS / 1000} s`)), TARGET_TIMEOUT_MS))),
      ]);
      address = found.address;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new HarnessInputError(`--target ${text}: ${host} cannot be resolved (${code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'no such host' : (code ?? (error as Error).message)})`);
    } finally {
      clearTimeout(timer);
    }
  }
  // Without --sni, a target named by host name is asked for that name; one named by address, for the deployment's first name.
  return { host: address, port, ...(sni ? { sni } : isIP(host) ? {} : { sni: host }) };
}

/** What to do about a finding: the field (or directive) to change, where, and the default that applies when it is not written. */
export function advice(f: Finding): string {
  if (!f.field || (f.status !== 'violated' && f.status !== 'inconclusive')) return '';
  const verb = f.status === 'inconclusive' ? 'fix' : f.missing ? 'add' : 'change';
  return `\n    ${verb} ${f.field}${f.status === 'inconclusive' ? ' first' : ''}${f.where ? ` (${f.where})` : ''}${f.missing ? `: not set, ${f.missing}` : ''}`;
}

export interface GateCommandOptions {
  readonly target?: string;
  readonly sni?: string;
  readonly allowInconclusive?: boolean;
  /** For a bare server configuration file: what a deployment file would say. */
  readonly bare?: BareConfigOptions;
}

export async function runGateCommand(deploymentPath: string, reportsDir: string, io: Io, options: GateCommandOptions = {}): Promise<number> {
  try {
    const deployment = isServerConfigFile(deploymentPath) ? loadBareConfig(deploymentPath, options.bare ?? {}) : loadDeployment(deploymentPath, { live: Boolean(options.target) });
    const policy = loadPolicy(deployment.policy);
    const target = options.target ? await resolveTarget(options.target, options.sni) : undefined;
    if (target && deployment.server.config) throw new HarnessInputError(`--target: ${relative(process.cwd(), deployment.file)} gates a configuration file the gate runs itself; --target checks a running server from a deployment without server.config`);
    const run = deployment.server.config ? await runConfigGate(deployment, policy) : await runGate(deployment, policy, target);
    const { verdict, files } = writeGateReports(resolve(reportsDir), run, deployment, policy, { allowInconclusive: Boolean(options.allowInconclusive) });
    let endpoint: string | undefined;
    for (const f of run.findings) {
      if (f.endpoint !== endpoint) {
        endpoint = f.endpoint;
        const about = (run.config?.endpoints as { id: string; label: string }[] | undefined)?.find((e) => e.id === endpoint);
        io.stdout.write(`\nendpoint ${endpoint}${about ? `: ${about.label}` : ''}\n`);
      }
      io.stdout.write(`${MARK[f.status]} ${f.rule}: ${f.detail}${advice(f)}\n`);
    }
    if (run.config?.changes.length) {
      io.stdout.write(`\nchanged to run in the sandbox (${run.config.changes.length}):\n${run.config.changes.map((c) => `  ${c.where}: ${c.from} → ${c.to} (${c.why})`).join('\n')}\n`);
    }
    const count = (status: string): number => run.findings.filter((f) => f.status === status).length;
    const inconclusive = count('inconclusive');
    io.stdout.write(
      `\nserver: ${run.server.implementation} (${run.server.version}) · client: ${run.client.implementation} (${run.client.version}) · policy: ${policy.name}\n` +
        (run.scan ? `scan: ${run.scan.connections} connections in ${(run.scan.durationMs / 1000).toFixed(1)} s\n` : '') +
        `reports: ${files.map((f) => relative(process.cwd(), f)).join(', ')}\n` +
        `time: ${(run.durationMs / 1000).toFixed(1)} s\n` +
        `gate: ${verdict} (${count('held')} held, ${count('violated')} violated, ${inconclusive} inconclusive${options.allowInconclusive && inconclusive ? ' (allowed)' : ''}, ${count('skipped')} skipped)\n` +
        `rules: ${count('held')} passed, ${count('violated')} failed\n`,
    );
    return verdict === 'pass' ? 0 : 1;
  } catch (error) {
    if (error instanceof HarnessInputError) {
      io.stderr.write(`conformance: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`conformance: harness error: ${errorText(error).split('\n')[0]}\n`);
    return 2;
  } finally {
    await closeAllServers();
    await closePythonPeer();
    await stopAllProcesses();
  }
}
