/**
 * The gate's results for CI: gate.json (with the verdict), gate.junit.xml
 * (one testcase per rule and deployment), gate.md (for a pull request) and
 * gate.sarif (for code scanning), for one deployment or many in one run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gateSarif } from './sarif';
import type { Deployment } from './deployment';
import type { Finding, GateRun } from './gate';
import type { Policy } from './policy';

export type Verdict = 'pass' | 'fail';

/** One deployment file of a run: gated, or broken (its one line). */
export interface GateResult {
  /** As the user named it, relative to the working directory. */
  readonly file: string;
  readonly deployment?: Deployment;
  readonly policy?: Policy;
  readonly run?: GateRun;
  readonly broken?: string;
}

/** Fail on a violation, and on a check that could not be made unless that is allowed. */
export function verdictOf(findings: readonly Finding[], options: { allowInconclusive?: boolean } = {}): Verdict {
  return findings.some((f) => f.status === 'violated' || (f.status === 'inconclusive' && !options.allowInconclusive)) ? 'fail' : 'pass';
}

function xml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

export function junitXml(run: GateRun, deployment: string): string {
  return junitSuite([{ file: deployment, run }]);
}

/** One testsuite: a testcase per rule (and endpoint) of each deployment, and an error testcase for each broken file. */
export function junitSuite(results: readonly GateResult[]): string {
  const findings = results.flatMap((r) => r.run?.findings ?? []);
  const broken = results.filter((r) => r.broken);
  const failures = findings.filter((f) => f.status === 'violated').length;
  const errors = findings.filter((f) => f.status === 'inconclusive').length + broken.length;
  const skipped = findings.filter((f) => f.status === 'skipped').length;
  const seconds = results.reduce((sum, r) => sum + (r.run?.durationMs ?? 0), 0) / 1000;
  const cases = results.flatMap((r) => (r.run ? testcases(r.run, r.file) : [`  <testcase classname="tls-gate.${xml(r.file)}" name="deployment file" time="0">\n    <error message="${xml(r.broken ?? '')}" type="broken">${xml(r.broken ?? '')}</error>\n  </testcase>`]));
  return `<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="tls-gate" tests="${findings.length + broken.length}" failures="${failures}" errors="${errors}" skipped="${skipped}" time="${seconds.toFixed(3)}" timestamp="${new Date().toISOString()}">
${cases.join('\n')}
</testsuite>
`;
}

function testcases(run: GateRun, deployment: string): string[] {
  return run.findings.map((f) => {
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

/** What gate.json says of one gated deployment. */
function resultJson(run: GateRun, deployment: Deployment, policy: Policy, verdict: Verdict, options: { allowInconclusive?: boolean }): Record<string, unknown> {
  const name = relative(process.cwd(), deployment.file) || deployment.file;
  return { verdict, deployment: name, policy: policy.name, policySource: policy.source, allowInconclusive: Boolean(options.allowInconclusive), intent: deployment.intentGiven ? deployment.intent : 'read from the file, per endpoint', server: run.server, ...(run.config ? { config: run.config } : {}), client: run.client, durationMs: run.durationMs, findings: run.findings, accepted: acceptedSummary(run) };
}

export type RunVerdict = Verdict | 'broken';

/**
 * Write the reports of one run: for one deployment gate.json is that
 * deployment's; for several, it lists each (`deployments`) under one
 * verdict: broken if any file is, else fail if any deployment fails.
 */
export function writeGateReports(dir: string, results: readonly GateResult[], options: { allowInconclusive?: boolean } = {}): { verdict: RunVerdict; verdicts: ReadonlyMap<GateResult, Verdict>; files: string[] } {
  mkdirSync(dir, { recursive: true });
  const verdicts = new Map<GateResult, Verdict>(results.filter((r) => r.run).map((r) => [r, verdictOf(r.run!.findings, options)]));
  const verdict: RunVerdict = results.some((r) => r.broken) ? 'broken' : [...verdicts.values()].includes('fail') ? 'fail' : 'pass';
  const files = ['gate.json', 'gate.junit.xml', 'gate.md', 'gate.sarif'].map((f) => join(dir, f));
  const one = results.length === 1 && results[0]!.run ? results[0]! : null;
  const json = one
    ? resultJson(one.run!, one.deployment!, one.policy!, verdicts.get(one)!, options)
    : {
        verdict,
        allowInconclusive: Boolean(options.allowInconclusive),
        summary: { deployments: results.length, passed: [...verdicts.values()].filter((v) => v === 'pass').length, failed: [...verdicts.values()].filter((v) => v === 'fail').length, broken: results.filter((r) => r.broken).length },
        deployments: results.map((r) => (r.run ? resultJson(r.run, r.deployment!, r.policy!, verdicts.get(r)!, options) : { verdict: 'broken', deployment: r.file, broken: r.broken })),
      };
  writeFileSync(files[0]!, JSON.stringify(json, null, 2) + '\n');
  writeFileSync(files[1]!, junitSuite(results));
  writeFileSync(
    files[2]!,
    results.length === 1 && one
      ? markdown(one.run!, one.file, one.policy!, verdicts.get(one)!)
      : [
          `## TLS gate: ${verdict === 'pass' ? '✔ pass' : verdict === 'fail' ? '✘ fail' : '✘ broken input'} — ${results.length} deployment file(s)`,
          '',
          ...results.map((r) => (r.run ? markdown(r.run, r.file, r.policy!, verdicts.get(r)!) : `### TLS gate: ✘ broken — \`${r.file}\`\n\n${r.broken}\n`)),
        ].join('\n'),
  );
  writeFileSync(files[3]!, gateSarif(results));
  return { verdict, verdicts, files };
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
