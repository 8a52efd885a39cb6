/** The gate's results for CI: gate.json (with the verdict), gate.junit.xml (one testcase per rule), gate.md (for a pull request). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Deployment } from './deployment';
import type { Finding, GateRun } from './gate';
import type { Policy } from './policy';

export type Verdict = 'pass' | 'fail';

export function verdictOf(findings: readonly Finding[]): Verdict {
  return findings.some((f) => f.status === 'violated') ? 'fail' : 'pass';
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function junitXml(run: GateRun, deployment: string): string {
  const failures = run.findings.filter((f) => f.status === 'violated').length;
  const skipped = run.findings.filter((f) => f.status === 'skipped').length;
  const cases = run.findings.map((f) => {
    const name = `${f.rule}: ${f.title}`;
    const body =
      f.status === 'violated'
        ? `\n    <failure message="${xml(f.detail)}" type="${xml(f.rule)}">${xml(`${f.detail}${f.field ? `\nchange: ${f.field}${f.where ? ` (${f.where})` : ''}` : ''}`)}</failure>\n  `
        : f.status === 'skipped'
          ? `\n    <skipped message="${xml(f.detail)}"/>\n  `
          : '';
    return `  <testcase classname="tls-gate.${xml(deployment)}" name="${xml(name)}" time="0">${body}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="tls-gate" tests="${run.findings.length}" failures="${failures}" errors="0" skipped="${skipped}" time="${(run.durationMs / 1000).toFixed(3)}" timestamp="${new Date().toISOString()}">
${cases.join('\n')}
</testsuite>
`;
}

const MARK = { held: '✔', violated: '✘', skipped: '–' } as const;

export function markdown(run: GateRun, deployment: string, policy: Policy): string {
  const verdict = verdictOf(run.findings);
  const lines = [
    `### TLS gate: ${verdict === 'pass' ? '✔ pass' : '✘ fail'} — \`${deployment}\``,
    '',
    `Server ${run.server.implementation} (${run.server.version}), client ${run.client.implementation} (${run.client.version}), policy ${policy.name}.`,
    '',
    '| | rule | finding | change |',
    '|---|---|---|---|',
    ...run.findings.map((f) => `| ${MARK[f.status]} | \`${f.rule}\` | ${f.detail.replace(/\|/g, '\\|')} | ${f.status === 'violated' && f.field ? `\`${f.field}\`${f.where ? ` (${f.where})` : ''}` : ''} |`),
    '',
  ];
  return lines.join('\n');
}

export function writeGateReports(dir: string, run: GateRun, deployment: Deployment, policy: Policy): { verdict: Verdict; files: string[] } {
  mkdirSync(dir, { recursive: true });
  const name = relative(process.cwd(), deployment.file) || deployment.file;
  const verdict = verdictOf(run.findings);
  const files = ['gate.json', 'gate.junit.xml', 'gate.md'].map((f) => join(dir, f));
  writeFileSync(files[0]!, JSON.stringify({ verdict, deployment: name, policy: policy.name, intent: deployment.intent, server: run.server, client: run.client, durationMs: run.durationMs, findings: run.findings }, null, 2) + '\n');
  writeFileSync(files[1]!, junitXml(run, name));
  writeFileSync(files[2]!, markdown(run, name, policy));
  return { verdict, files };
}
