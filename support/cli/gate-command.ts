/** `npm run conformance -- --deployment file`: the CI gate for one deployment. */
import { relative, resolve } from 'node:path';
import { errorText, HarnessInputError } from '../errors';
import { loadDeployment } from '../gate/deployment';
import { runGate, type LiveTarget } from '../gate/gate';
import { loadPolicy } from '../gate/policy';
import { writeGateReports } from '../gate/report';
import { closePythonPeer } from '../peers/python-peer';
import { stopAllProcesses } from '../processes';
import { closeAllServers } from '../server-pool';
import type { Io } from './run';

const MARK = { held: '✔', violated: '✘', skipped: '–' } as const;

const LOOPBACK = /^(127(\.\d{1,3}){3}|::1|localhost)$/;

/** host:port of a server already running, on loopback: the harness sends traffic nowhere else. */
export function parseTarget(text: string): LiveTarget {
  const match = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(text);
  if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) throw new HarnessInputError(`--target ${text}: expected host:port, for example 127.0.0.1:8443`);
  if (!LOOPBACK.test(match[1]!)) throw new HarnessInputError(`--target ${text}: the harness connects to loopback addresses only (127.0.0.0/8, ::1, localhost)`);
  return { host: match[1] === 'localhost' ? '127.0.0.1' : match[1]!, port: Number(match[2]) };
}

export async function runGateCommand(deploymentPath: string, reportsDir: string, io: Io, targetText?: string): Promise<number> {
  try {
    const target = targetText ? parseTarget(targetText) : undefined;
    const deployment = loadDeployment(deploymentPath, { live: Boolean(target) });
    const policy = loadPolicy(deployment.policy);
    const run = await runGate(deployment, policy, target);
    const { verdict, files } = writeGateReports(resolve(reportsDir), run, deployment, policy);
    for (const f of run.findings) {
      io.stdout.write(`${MARK[f.status]} ${f.rule}: ${f.detail}${f.status === 'violated' && f.field ? `\n    change ${f.field}${f.where ? ` (${f.where})` : ''}` : ''}\n`);
    }
    const count = (status: string): number => run.findings.filter((f) => f.status === status).length;
    io.stdout.write(
      `\nserver: ${run.server.implementation} (${run.server.version}) · client: ${run.client.implementation} (${run.client.version}) · policy: ${policy.name}\n` +
        `reports: ${files.map((f) => relative(process.cwd(), f)).join(', ')}\n` +
        `time: ${(run.durationMs / 1000).toFixed(1)} s\n` +
        `gate: ${verdict} (${count('held')} held, ${count('violated')} violated, ${count('skipped')} skipped)\n` +
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
