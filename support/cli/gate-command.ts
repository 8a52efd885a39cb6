/** `npm run conformance -- --deployment file`: the CI gate for one deployment. */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { errorText, HarnessInputError } from '../errors';
import { isServerConfigFile, loadBareConfig, loadDeployment, type BareConfigOptions } from '../gate/deployment';
import { runGate, TARGET_TIMEOUT_MS, type Finding, type LiveTarget } from '../gate/gate';
import { runConfigGate } from '../serverconfig/config-gate';
import { isBuiltInPolicyName, loadPolicy } from '../gate/policy';
import { writeGateReports, type GateResult } from '../gate/report';
import type { GateRun } from '../gate/gate';
import type { Policy } from '../gate/policy';
import { closeGoPeer } from '../peers/go';
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

/** Gate one deployment file; its problems are its own result (broken), never another file's. */
export async function gateOne(path: string, options: GateCommandOptions): Promise<GateResult> {
  const file = relative(process.cwd(), resolve(path)) || path;
  try {
    const loaded = isServerConfigFile(path) ? loadBareConfig(path, options.bare ?? {}) : loadDeployment(path, { live: Boolean(options.target) });
    // --policy overrides a deployment file's own (a policy file named on the command line is relative to the working directory).
    const override = options.bare?.policy;
    const deployment = override && !isServerConfigFile(path) ? { ...loaded, policy: isBuiltInPolicyName(override) ? override : resolve(override) } : loaded;
    const policy = loadPolicy(deployment.policy);
    const target = options.target ? await resolveTarget(options.target, options.sni) : undefined;
    if (target && deployment.server.config) throw new HarnessInputError(`--target: ${file} gates a configuration file the gate runs itself; --target checks a running server from a deployment without server.config`);
    const run = deployment.server.config ? await runConfigGate(deployment, policy) : await runGate(deployment, policy, target);
    return { file, deployment, policy, run };
  } catch (error) {
    if (error instanceof HarnessInputError) return { file, broken: error.message };
    return { file, broken: `harness error: ${errorText(error).split('\n')[0]}` };
  }
}

/** Deployment files and globs ('deploy/**' + '/tls.yaml') → the files, in order, each once; a pattern that matches nothing is an error. */
export function expandDeployments(patterns: readonly string[]): string[] {
  const files: string[] = [];
  for (const pattern of patterns) {
    const found = /[*?[]/.test(pattern) ? globFiles(pattern) : [pattern];
    if (!found.length) throw new HarnessInputError(`--deployment ${pattern}: no file matches`);
    for (const f of found) if (!files.includes(f)) files.push(f);
  }
  return files;
}

/** A glob with *, ?, [...] and ** (any depth), relative to the working directory; node_modules and dot directories are not searched. */
function globFiles(pattern: string): string[] {
  const parts = pattern.split('/');
  const fixed: string[] = [];
  while (parts.length && !/[*?[]/.test(parts[0]!)) fixed.push(parts.shift()!);
  const base = fixed.join('/') || '.';
  const regex = new RegExp(
    `^${parts
      .map((p) => (p === '**' ? '(?:[^/]+/)*' : `${p.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}/`))
      .join('')
      .replace(/\/$/, '')}$`,
  );
  const out: string[] = [];
  const walk = (dir: string, rel: string, depth: number): void => {
    if (depth > 20) return;
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(join(dir, entry.name), path, depth + 1);
      else if (regex.test(path)) out.push(fixed.length ? `${base}/${path}` : path);
    }
  };
  walk(base, '', 0);
  return out;
}

/** Gate the files in this thread and `count` worker threads (gate-worker.ts), each taking the next file when it is free; results in the files' order. */
function inWorkers(files: readonly string[], count: number, options: GateCommandOptions): Promise<GateResult[]> {
  const results: GateResult[] = new Array(files.length);
  let next = 0;
  // This thread takes files too, while the workers load.
  const here = async (): Promise<void> => {
    while (next < files.length) {
      const i = next++;
      results[i] = await gateOne(files[i]!, options);
    }
  };
  const one = (): Promise<void> =>
    new Promise((resolvePromise, reject) => {
      const worker = new Worker(join(__dirname, 'gate-worker.js'), { workerData: { options } });
      let current = -1;
      let inFlight = 0;
      const give = (): void => {
        if (next < files.length) {
          current = next++;
          inFlight++;
          worker.postMessage({ index: current, file: files[current] });
        } else {
          worker.postMessage({ done: true });
        }
      };
      worker.on('message', (message: { ready?: true; closed?: true; index?: number; result?: GateResult }) => {
        if (message.closed) return;
        if (message.index !== undefined) {
          results[message.index] = message.result!;
          inFlight--;
        }
        if (inFlight === 0) give();
      });
      worker.once('error', (error) => {
        if (current >= 0 && !results[current]) results[current] = { file: files[current]!, broken: `harness error: ${errorText(error).split('\n')[0]}` };
        reject(error);
      });
      worker.once('exit', () => resolvePromise());
    });
  return Promise.all([here(), ...Array.from({ length: count }, one)]).then(() => results);
}

/** Run `work` over `items`, at most `limit` at a time, results in the items' order. */
async function bounded<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

function printRun(io: Io, run: GateRun, policy: Policy, verdict: string, allowInconclusive: boolean, full: boolean): void {
  let endpoint: string | undefined;
  for (const f of run.findings) {
    if (!full && f.status !== 'violated' && f.status !== 'inconclusive') continue;
    if (f.endpoint !== endpoint) {
      endpoint = f.endpoint;
      const about = (run.config?.endpoints as { id: string; label: string }[] | undefined)?.find((e) => e.id === endpoint);
      io.stdout.write(`\nendpoint ${endpoint}${about ? `: ${about.label}` : ''}\n`);
    }
    io.stdout.write(`${MARK[f.status]} ${f.rule}: ${f.detail}${advice(f)}\n`);
  }
  if (full && run.config?.changes.length) {
    io.stdout.write(`\nchanged to run in the sandbox (${run.config.changes.length}):\n${run.config.changes.map((c) => `  ${c.where}: ${c.from} → ${c.to} (${c.why})`).join('\n')}\n`);
  }
  const count = (status: string): number => run.findings.filter((f) => f.status === status).length;
  const inconclusive = count('inconclusive');
  io.stdout.write(
    `\nserver: ${run.server.implementation} (${run.server.version}) · client: ${run.client.implementation} (${run.client.version}) · policy: ${policy.name}\n` +
      (full && run.scan ? `scan: ${run.scan.connections} connections in ${(run.scan.durationMs / 1000).toFixed(1)} s\n` : '') +
      (full ? `time: ${(run.durationMs / 1000).toFixed(1)} s\n` : '') +
      `gate: ${verdict} (${count('held')} held, ${count('violated')} violated, ${inconclusive} inconclusive${allowInconclusive && inconclusive ? ' (allowed)' : ''}, ${count('skipped')} skipped)\n` +
      (full ? `rules: ${count('held')} passed, ${count('violated')} failed\n` : ''),
  );
}

/**
 * Gate one or more deployment files (globs expanded), side by side but at
 * most as many at once as the machine has cores; one set of reports, one
 * exit status: 2 if any file is broken, else 1 if any deployment fails.
 */
export async function runGateCommand(deploymentPaths: string | readonly string[], reportsDir: string, io: Io, options: GateCommandOptions = {}): Promise<number> {
  const started = performance.now();
  try {
    const files = expandDeployments(typeof deploymentPaths === 'string' ? [deploymentPaths] : deploymentPaths);
    if (files.length > 1 && options.target) throw new HarnessInputError(`--target checks one running server: give one --deployment, not ${files.length}`);
    const cores = Math.max(1, availableParallelism());
    // The compiled command gates many files on every core: this thread and a worker thread per other core; under ts-node each
    // worker would transpile the tree again.
    const results = files.length > 1 && cores > 1 && __filename.endsWith('.js') ? await inWorkers(files, Math.min(cores, files.length) - 1, options) : await bounded(files, cores, (file) => gateOne(file, options));
    const allowInconclusive = Boolean(options.allowInconclusive);
    const { verdict, verdicts, files: written } = writeGateReports(resolve(reportsDir), results, { allowInconclusive });
    const reports = `reports: ${written.map((f) => relative(process.cwd(), f)).join(', ')}\n`;
    if (results.length === 1) {
      const [one] = results;
      if (one!.broken) {
        io.stderr.write(`conformance: ${one!.broken}\n`);
        return 2;
      }
      printRun(io, one!.run!, one!.policy!, verdicts.get(one!)!, allowInconclusive, true);
      io.stdout.write(reports);
      return verdict === 'pass' ? 0 : 1;
    }
    for (const result of results) {
      io.stdout.write(`\n=== ${result.file}: ${result.broken ? 'broken' : verdicts.get(result)}\n`);
      if (result.broken) io.stderr.write(`conformance: ${result.broken}\n`);
      else printRun(io, result.run!, result.policy!, verdicts.get(result)!, allowInconclusive, false);
    }
    const count = (v: string): number => results.filter((r) => (r.broken ? 'broken' : verdicts.get(r)) === v).length;
    io.stdout.write(`\n${reports}time: ${((performance.now() - started) / 1000).toFixed(1)} s\ngate: ${verdict} (${results.length} deployment files: ${count('pass')} pass, ${count('fail')} fail, ${count('broken')} broken)\n`);
    return verdict === 'broken' ? 2 : verdict === 'fail' ? 1 : 0;
  } catch (error) {
    if (error instanceof HarnessInputError) {
      io.stderr.write(`conformance: ${error.message}\n`);
      return 2;
    }
    io.stderr.write(`conformance: harness error: ${errorText(error).split('\n')[0]}\n`);
    return 2;
  } finally {
    await closeAllServers();
    await Promise.all([closePythonPeer(), closeGoPeer()]);
    await stopAllProcesses();
  }
}
