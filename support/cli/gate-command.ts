/** `npm run conformance -- --deployment file`: the CI gate for one deployment. */
import { relative, resolve } from 'node:path';
import { errorText, HarnessInputError } from '../errors';
import { loadDeployment } from '../gate/deployment';
import { runGate } from '../gate/gate';
import { loadPolicy } from '../gate/policy';
import { writeGateReports } from '../gate/report';
import { closePythonPeer } from '../peers/python-peer';
import { stopAllProcesses } from '../processes';
import { closeAllServers } from '../server-pool';
import type { Io } from './run';

const MARK = { held: '✔', violated: '✘', skipped: '–' } as const;

export async function runGateCommand(deploymentPath: string, reportsDir: string, io: Io): Promise<number> {
  try {
    const deployment = loadDeployment(deploymentPath);
    const policy = loadPolicy(deployment.policy);
    const run = await runGate(deployment, policy);
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
