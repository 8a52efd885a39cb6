/** The gate's results for CI: gate.json (with the verdict), gate.junit.xml (one testcase per rule), gate.md (for a pull request). */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Deployment } from './deployment';
import type { Finding, GateRun } from './gate';
import type { Policy } from './policy';

export type Verdict = 'pass' | 'fail';

/** Fail on a violation, and on a check that could not be made unless that is allowed. */
export function verdictOf(findings: readonly Finding[], options: { allowInconclusive?: boolean } = {}): Verdict {
  return findings.some((f) => f.status === 'violated' || (f.status === 'inconclusive' && !options.allowInconclusive)) ? 'fail' : 'pass';
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function junitXml(run: GateRun, deployment: string): string {
  const failures = run.findings.filter((f) => f.status === 'violated').length;
  const errors = run.findings.filter((f) => f.status === 'inconclusive').length;
  const skipped = run.findings.filter((f) => f.status === 'skipped').length;
  const cases = run.findings.map((f) => {
    const name = `${f.rule}: ${f.title}`;
    const body =
      f.status === 'violated'
        ? `\n    <failure message="${xml(f.detail)}" type="${xml(f.rule)}">${xml(`${f.detail}${f.field ? `\n${f.missing ? 'add' : 'change'}: ${f.field}${f.where ? ` (${f.where})` : ''}${f.missing ? `; not set, ${f.missing}` : ''}` : ''}`)}</failure>\n  `
        : f.status === 'inconclusive'
          ? `\n    <error message="${xml(f.detail)}" type="inconclusive">${xml(`${f.detail}${f.field ? `\nfix first: ${f.field}${f.where ? ` (${f.where})` : ''}` : ''}`)}</error>\n  `
          : f.status === 'skipped'
          ? `\n    <skipped message="${xml(f.detail)}"/>\n  `
          : '';
    return `  <testcase classname="tls-gate.${xml(deployment)}${f.endpoint ? `.${xml(f.endpoint)}` : ''}" name="${xml(name)}" time="0">${body}</testcase>`;
  });
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="tls-gate" tests="${run.findings.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${(run.durationMs / 1000).toFixed(3)}" timestamp="${new Date().toISOString()}">
${cases.join('\n')}
</testsuite>
`;
}

const MARK = { held: '✔', violated: '✘', skipped: '–', inconclusive: '?' } as const;

export function markdown(run: GateRun, deployment: string, policy: Policy, verdict: Verdict): string {
  const lines = [
    `### TLS gate: ${verdict === 'pass' ? '✔ pass' : '✘ fail'} — \`${deployment}\``,
    '',
    `Server ${run.server.implementation} (${run.server.version}), client ${run.client.implementation} (${run.client.version}), policy ${policy.name}.`,
    '',
    ...(run.config ? [`Configuration file \`${run.config.file}\`, run by ${run.config.implementation} in a sandbox: ${run.config.endpoints.length} TLS endpoint(s), ${run.config.changes.length} sandbox change(s) (listed in gate.json).`, ''] : []),
    `| | ${run.config ? 'endpoint | ' : ''}rule | finding | change |`,
    `|---|${run.config ? '---|' : ''}---|---|---|`,
    ...run.findings.map((f) => `| ${MARK[f.status]} | ${run.config ? `${f.endpoint ?? ''} | ` : ''}\`${f.rule}\` | ${cell(f.detail)} | ${(f.status === 'violated' || f.status === 'inconclusive') && f.field ? `${f.status === 'inconclusive' ? 'fix first: ' : f.missing ? 'add ' : ''}\`${f.field}\`${f.where ? ` (${f.where})` : ''}${f.missing ? `: not set, ${cell(f.missing)}` : ''}` : ''} |`),
    '',
    ...(run.config?.changes.length
      ? ['<details><summary>What the sandbox changed to run the file</summary>', '', '| where | written | run as | why |', '|---|---|---|---|', ...run.config.changes.map((c) => `| ${c.where} | \`${cell(c.from)}\` | \`${cell(c.to)}\` | ${cell(c.why)} |`), '', '</details>', '']
      : []),
  ];
  return lines.join('\n');
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function writeGateReports(dir: string, run: GateRun, deployment: Deployment, policy: Policy, options: { allowInconclusive?: boolean } = {}): { verdict: Verdict; files: string[] } {
  mkdirSync(dir, { recursive: true });
  const name = relative(process.cwd(), deployment.file) || deployment.file;
  const verdict = verdictOf(run.findings, options);
  const files = ['gate.json', 'gate.junit.xml', 'gate.md'].map((f) => join(dir, f));
  writeFileSync(files[0]!, JSON.stringify({ verdict, deployment: name, policy: policy.name, policySource: policy.source, allowInconclusive: Boolean(options.allowInconclusive), intent: deployment.intentGiven ? deployment.intent : 'read from the file, per endpoint', server: run.server, ...(run.config ? { config: run.config } : {}), client: run.client, durationMs: run.durationMs, findings: run.findings, accepted: acceptedSummary(run) }, null, 2) + '\n');
  writeFileSync(files[1]!, junitXml(run, name));
  writeFileSync(files[2]!, markdown(run, name, policy, verdict));
  return { verdict, files };
}

/** What the scan found the server accepts, for gate.json: versions, suites by version, groups, sizes. */
function acceptedSummary(run: GateRun): unknown {
  const scan = run.scan;
  if (!scan) return null;
  return {
    versions: scan.versions.filter((v) => v.accepted).map((v) => v.version),
    suites: Object.fromEntries(scan.versions.filter((v) => v.accepted).map((v) => [v.version, scan.suites.filter((s) => s.version === v.version).map((s) => ({ name: s.name, keyExchange: s.keyExchange }))])),
    groups: scan.groups.measured ? scan.groups.value.map((g) => g.name) : null,
    dhBits: scan.dhBits,
    ecdhBits: scan.ecdhBits,
    serverOrder: scan.serverOrder.measured ? scan.serverOrder.value : null,
    connections: scan.connections,
    scanMs: scan.durationMs,
  };
}
