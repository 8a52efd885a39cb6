/**
 * gate.sarif: SARIF 2.1.0, built with node-sarif-builder, so that a CI
 * system's code scanning (GitHub's among them) shows each violated or
 * inconclusive finding on the line to change: the deployment file's field,
 * or the server configuration file's directive (or the block where it is
 * missing). Rule ids are the gate's, with help text and a link to their row
 * in docs/rules.md. A file that could not be gated at all is a tool
 * execution notification, with its one line.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SarifBuilder, SarifResultBuilder, SarifRuleBuilder, SarifRunBuilder } from 'node-sarif-builder';
import { PROJECT_ROOT } from '../pki/store';
import type { Finding } from './gate';
import type { GateResult } from './report';

const PACKAGE = join(PROJECT_ROOT, 'package.json');

function packageInfo(): { version: string; docs: string } {
  try {
    const json = JSON.parse(readFileSync(PACKAGE, 'utf8')) as { version?: string; homepage?: string };
    const home = json.homepage?.replace(/#.*$/, '').replace(/\/$/, '');
    return { version: json.version ?? '0.0.0', docs: home ? `${home}/blob/main/docs/rules.md` : 'docs/rules.md' };
  } catch {
    return { version: '0.0.0', docs: 'docs/rules.md' };
  }
}

/** "deploy/nginx.conf:23" → its file and line. */
function place(where: string | undefined, fallback: string): { file: string; line?: number } {
  const m = where ? /^(.*?):(\d+)$/.exec(where) : null;
  if (m) return { file: m[1]!, line: Number(m[2]) };
  return { file: where ?? fallback };
}

function message(f: Finding): string {
  const about = f.endpoint ? `[${f.endpoint}] ` : '';
  const what = f.status === 'inconclusive' ? 'not decided' : 'violated';
  const change = f.field ? ` ${f.status === 'inconclusive' ? 'Fix first' : f.missing ? 'Add' : 'Change'}: ${f.field}${f.missing ? ` (not set, ${f.missing})` : ''}.` : '';
  return `${about}${f.rule} ${what}: ${f.title}. ${f.detail}.${change}`;
}

export function gateSarif(results: readonly GateResult[]): string {
  const { version, docs } = packageInfo();
  const builder = new SarifBuilder();
  const run = new SarifRunBuilder().initSimple({ toolDriverName: 'tls-conformance', toolDriverVersion: version, url: docs });
  const rules = new Map<string, Finding>();
  for (const result of results) for (const f of result.run?.findings ?? []) if (!rules.has(f.rule)) rules.set(f.rule, f);
  for (const [id, f] of [...rules].sort(([a], [b]) => a.localeCompare(b))) {
    const rule = new SarifRuleBuilder().initSimple({ ruleId: id, shortDescriptionText: f.title, helpUri: `${docs}#${id}` });
    rule.rule.help = { text: `${f.title}. See ${docs}#${id} for the rule and the document passage it comes from.`, markdown: `${f.title}. See [\`${id}\` in docs/rules.md](${docs}#${id}).` };
    run.addRule(rule);
  }
  for (const result of results) {
    for (const f of result.run?.findings ?? []) {
      if (f.status !== 'violated' && f.status !== 'inconclusive') continue;
      const at = place(f.where, result.file);
      run.addResult(
        new SarifResultBuilder().initSimple({
          ruleId: f.rule,
          level: f.status === 'violated' ? 'error' : 'warning',
          messageText: message(f),
          fileUri: at.file,
          ...(at.line ? { startLine: at.line } : {}),
        }),
      );
    }
  }
  const broken = results.filter((r) => r.broken);
  builder.addRun(run);
  const log = builder.log;
  log.runs[0]!.invocations = [
    {
      executionSuccessful: broken.length === 0,
      toolExecutionNotifications: broken.map((r) => ({ level: 'error' as const, message: { text: r.broken! }, locations: [{ physicalLocation: { artifactLocation: { uri: place(r.broken!.split(': ')[0], r.file).file } } }] })),
    },
  ];
  return builder.buildSarifJsonString({ indent: true });
}
