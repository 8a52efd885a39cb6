/**
 * The gate's reports for CI systems: several deployment files (and globs)
 * in one run give one gate.json, one JUnit file, one Markdown summary and one
 * SARIF 2.1.0 log, valid against the SARIF schema (test/fixtures, from
 * Microsoft's SARIF tooling), each violated or inconclusive finding located
 * at the line to change, and one exit status.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import Ajv from 'ajv-draft-04';
import { runConformance } from '../support/cli/run';
import { commandExists } from './helpers';

const ROOT = resolve(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'gate-reports-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

async function conformance(args: string[], cwd = process.cwd()): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const previous = process.cwd();
  process.chdir(cwd);
  try {
    const code = await runConformance(args, {
      stdout: new Writable({ write: (c, _e, done) => ((stdout += c), done()) }),
      stderr: new Writable({ write: (c, _e, done) => ((stderr += c), done()) }),
    });
    return { code, stdout, stderr };
  } finally {
    process.chdir(previous);
  }
}

// The schema's own patterns are not valid under Unicode regular expressions; formats are not what is checked here.
const validateSarif = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false, validateFormats: false, logger: false }).compile(JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'sarif-2.1.0.schema.json'), 'utf8')));

interface SarifLog {
  runs: { tool: { driver: { rules: { id: string; helpUri: string; help: { text: string } }[] } }; results: { ruleId: string; level: string; message: { text: string }; locations: { physicalLocation: { artifactLocation: { uri: string }; region?: { startLine: number } } }[] }[]; invocations: { executionSuccessful: boolean; toolExecutionNotifications: { message: { text: string } }[] }[] }[];
}

describe('the gate reports for CI', () => {
  it('gates several files and a glob side by side: one gate.json, JUnit, Markdown and schema-valid SARIF, one exit status', async () => {
    // A repository of its own: deployment files under deploy/, found by a glob, the PKI referenced by absolute path.
    const repo = join(scratch, 'repo');
    const certs = join(ROOT, 'certs');
    for (const [name, example] of [['api', 'mutual-ok'], ['www', 'wrong-ca-certs'], ['old', 'legacy-tls']] as const) {
      mkdirSync(join(repo, 'deploy', name), { recursive: true });
      writeFileSync(join(repo, 'deploy', name, 'tls.yaml'), readFileSync(join(ROOT, 'examples', example, 'deployment.yaml'), 'utf8').replace(/\.\.\/\.\.\/certs\//g, `${certs}/`));
    }
    mkdirSync(join(repo, 'broken'), { recursive: true });
    writeFileSync(join(repo, 'broken', 'tls.yaml'), 'server:\n  colour: blue\n');
    const run = await conformance(['--deployment', 'deploy/**/tls.yaml', 'broken/tls.yaml', '--reports', 'out'], repo);
    assert.equal(run.code, 2, `a broken file makes the run exit 2\n${run.stdout}${run.stderr}`);
    assert.match(run.stdout, /gate: broken \(4 deployment files: 1 pass, 2 fail, 1 broken\)/);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /broken\/tls\.yaml:2: server\.colour: unknown field/);

    const gate = JSON.parse(readFileSync(join(repo, 'out', 'gate.json'), 'utf8')) as { verdict: string; deployments: { deployment: string; verdict: string }[] };
    assert.equal(gate.verdict, 'broken');
    assert.deepEqual(gate.deployments.map((d) => `${d.deployment} ${d.verdict}`), ['deploy/api/tls.yaml pass', 'deploy/old/tls.yaml fail', 'deploy/www/tls.yaml fail', 'broken/tls.yaml broken']);
    assert.match(readFileSync(join(repo, 'out', 'gate.md'), 'utf8'), /## TLS gate: ✘ broken input — 4 deployment file\(s\)[\s\S]*deploy\/www\/tls\.yaml/);
    if (commandExists('xmllint') || process.env.TLS_CONFORMANCE_REQUIRE_ALL === '1') {
      execFileSync('xmllint', ['--noout', '--schema', join(ROOT, 'test', 'fixtures', 'junit.xsd'), join(repo, 'out', 'gate.junit.xml')], { stdio: 'pipe' });
    }

    const sarif = JSON.parse(readFileSync(join(repo, 'out', 'gate.sarif'), 'utf8')) as SarifLog;
    assert.ok(validateSarif(sarif), JSON.stringify(validateSarif.errors?.slice(0, 3)));
    const [only] = sarif.runs;
    // One result per violated or inconclusive finding, located at the deployment file's line.
    const findings = gate.deployments.flatMap((d) => ((d as unknown as { findings?: { status: string; where?: string }[] }).findings ?? []).filter((f) => f.status === 'violated' || f.status === 'inconclusive'));
    assert.equal(only!.results.length, findings.length);
    assert.ok(only!.results.length >= 3);
    for (const result of only!.results) {
      const location = result.locations[0]!.physicalLocation;
      assert.match(location.artifactLocation.uri, /^deploy\/(www|old)\/tls\.yaml$/);
      assert.ok(location.region!.startLine >= 1);
      assert.ok(only!.tool.driver.rules.some((r) => r.id === result.ruleId));
    }
    const rules = readFileSync(join(ROOT, 'docs', 'rules.md'), 'utf8');
    for (const rule of only!.tool.driver.rules) {
      assert.match(rule.helpUri, new RegExp(`docs/rules\\.md#${rule.id.replace(/\./g, '\\.')}$`));
      assert.ok(rules.includes(`<a id="${rule.id}"></a>`), `docs/rules.md has an anchor for ${rule.id}`);
      assert.ok(rule.help.text.length > 20);
    }
    assert.equal(only!.invocations[0]!.executionSuccessful, false);
    assert.match(only!.invocations[0]!.toolExecutionNotifications[0]!.message.text, /server\.colour: unknown field/);
    // The schema check itself rejects what is not SARIF.
    assert.equal(validateSarif({ version: '2.1.0', runs: [{ results: [] }] }), false);
  });

  it('locates a server configuration file finding at the directive in SARIF', { skip: !commandExists('nginx') && process.env.TLS_CONFORMANCE_REQUIRE_ALL !== '1' && 'nginx is not installed' }, async () => {
    const reports = join(scratch, 'config');
    const run = await conformance(['--deployment', join(ROOT, 'examples', 'nginx-config-defaults', 'deployment.yaml'), '--reports', reports], ROOT);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const sarif = JSON.parse(readFileSync(join(reports, 'gate.sarif'), 'utf8')) as SarifLog;
    assert.ok(validateSarif(sarif), JSON.stringify(validateSarif.errors?.slice(0, 3)));
    const versions = sarif.runs[0]!.results.find((r) => r.ruleId === 'policy.versions')!;
    assert.equal(versions.locations[0]!.physicalLocation.artifactLocation.uri, 'examples/nginx-config-defaults/nginx/nginx.conf');
    assert.equal(versions.locations[0]!.physicalLocation.region!.startLine, 5);
    assert.match(versions.message.text, /\[localhost:443\] policy\.versions violated: .*Add: ssl_protocols \(not set, nginx's default applies/);
  });
});
