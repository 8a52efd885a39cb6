/**
 * The installable command and the GitHub Action, as another repository meets them: `npm pack` (which
 * compiles into dist/ on prepack), the tarball installed into a fresh project, `npx tls-conformance`
 * gating a deployment there, and action.yml's steps run by scripts/run-action-locally.ts against a
 * passing and a failing deployment. Nothing here is timed against a limit: `--help`'s wall time is
 * printed only (the bench measures speed).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { ensurePki } from '../support/pki/store';
import { runActionLocally } from '../scripts/run-action-locally';

const ROOT = resolve(__dirname, '..');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const scratch = mkdtempSync(join(tmpdir(), 'conformance-package-'));
const runnerTemps: string[] = [];
after(() => {
  rmSync(scratch, { recursive: true, force: true });
  for (const dir of runnerTemps) rmSync(dir, { recursive: true, force: true });
});

/** The installed command's own PKI: the variable a developer may have set must not send it elsewhere. */
const ENV = { ...process.env, TLS_CONFORMANCE_CERTS: '', TLS_CONFORMANCE_REQUIRE_ALL: '', npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };

function run(command: string, args: readonly string[], cwd: string): SpawnSyncReturns<string> {
  return spawnSync(command, args, { cwd, env: ENV, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

function check(result: SpawnSyncReturns<string>, what: string): string {
  assert.equal(result.status, 0, `${what}: exit ${result.status}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

describe('the installable command and the GitHub Action', { timeout: 300_000 }, () => {
  const packed = join(scratch, 'packed');
  const project = join(scratch, 'project');
  const tarball = join(packed, `tls-conformance-${VERSION}.tgz`);

  before(() => {
    mkdirSync(packed);
    const started = performance.now();
    check(run('npm', ['pack', '--pack-destination', packed], ROOT), 'npm pack');
    process.stdout.write(`npm pack (prepack: tsc -p tsconfig.build.json): ${((performance.now() - started) / 1000).toFixed(1)} s, ${(statSync(tarball).size / 1024).toFixed(0)} kB\n`);

    mkdirSync(project);
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'a-deployment', version: '1.0.0', private: true }, null, 2));
    // From the npm cache when it has everything (no network needed), else from the registry.
    const offline = run('npm', ['install', '--offline', tarball], project);
    if (offline.status !== 0) check(run('npm', ['install', '--prefer-offline', tarball], project), 'npm install');
  });

  it('packs compiled JavaScript and what it reads at run time, without the TypeScript, tests and bench', () => {
    const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).trim().split('\n').map((f) => f.replace(/^package\//, ''));
    process.stdout.write(`${files.length} files\n`);
    for (const needed of ['package.json', 'dist/bin/conformance.js', 'dist/usage.txt', 'dist/support/cli/run.js', 'dist/support/world.js', 'dist/steps/server-steps.js',
      'dist/support/peers/python/peer.py', 'dist/support/peers/python/literal_server.py', 'dist/support/gate/mozilla/6.0.json', 'dist/support/gate/mozilla/5.7.json',
      'features/deviations.json', 'features/mutual-authentication.feature']) {
      assert.ok(files.includes(needed), `${needed} is not in the package`);
    }
    assert.deepEqual(files.filter((f) => f.endsWith('.ts') || /^(dist\/)?(test|bench)\//.test(f) || f.startsWith('certs/') || f.startsWith('reports/')), []);
    const manifest = JSON.parse(readFileSync(join(project, 'node_modules', 'tls-conformance', 'package.json'), 'utf8')) as { bin: Record<string, string> };
    assert.deepEqual(Object.keys(manifest.bin), ['tls-conformance']);
  });

  it('answers --help and --version', () => {
    const times: string[] = [];
    let help = '';
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      help = check(run('npx', ['tls-conformance', '--help'], project), 'npx tls-conformance --help');
      times.push(((performance.now() - started) / 1000).toFixed(2));
    }
    process.stdout.write(`npx tls-conformance --help: ${times.join(', ')} s wall\n`);
    assert.match(help, /^Usage: tls-conformance /);
    // `--help` alone prints the text the build saved (dist/usage.txt); with another option, the options module's own.
    assert.equal(help, check(run('npx', ['tls-conformance', '--help', '--debug'], project), '--help --debug'));
    assert.equal(check(run('npx', ['tls-conformance', '--version'], project), '--version').trim(), VERSION);
  });

  describe('with a deployment in the project', () => {
    before(async () => {
      // examples/<name>/deployment.yaml says ../../certs: the project gets the same layout.
      const pki = await ensurePki();
      mkdirSync(join(project, 'certs'));
      for (const file of readdirSync(pki.dir).filter((f) => f.endsWith('.pem'))) cpSync(join(pki.dir, file), join(project, 'certs', file));
      for (const name of ['mutual-ok', 'wrong-ca-certs']) cpSync(join(ROOT, 'examples', name), join(project, 'examples', name), { recursive: true });
    });

    it('npx tls-conformance --deployment gates it and writes the reports there; the PKI is built inside the package', () => {
      const out = check(run('npx', ['tls-conformance', '--deployment', 'examples/mutual-ok/deployment.yaml'], project), 'npx tls-conformance --deployment');
      assert.match(out, /gate: pass/);
      assert.match(readFileSync(join(project, 'reports', 'gate.json'), 'utf8'), /"verdict": "pass"/);
      assert.ok(existsSync(join(project, 'node_modules', 'tls-conformance', 'certs', 'manifest.json')));
    });

    it('gates several deployment files by a glob in worker threads: one report, one exit status', () => {
      const result = spawnSync('npx', ['tls-conformance', '--deployment', 'examples/*/deployment.yaml', 'examples/mutual-ok/deployment.yaml', '--reports', 'reports-many'], { cwd: project, encoding: 'utf8' });
      assert.equal(result.status, 1, result.stdout + result.stderr);
      assert.match(result.stdout, /gate: fail \(2 deployment files: 1 pass, 1 fail, 0 broken\)/);
      const gate = JSON.parse(readFileSync(join(project, 'reports-many', 'gate.json'), 'utf8')) as { verdict: string; deployments: { deployment: string; verdict: string }[] };
      assert.deepEqual(gate.deployments.map((d) => `${d.deployment} ${d.verdict}`), ['examples/mutual-ok/deployment.yaml pass', 'examples/wrong-ca-certs/deployment.yaml fail']);
    });

    for (const [name, status] of [['mutual-ok', 0], ['wrong-ca-certs', 1]] as const) {
      it(`the action, run locally: ${name} → exit ${status}, its gate.md in the step summary, the reports uploaded`, async () => {
        const reports = `reports-action-${name}`;
        const result = await runActionLocally({
          workdir: project,
          inputs: { deployment: join(project, 'examples', name, 'deployment.yaml'), package: tarball, reports },
          env: ENV as Record<string, string>,
          stdio: 'pipe',
        });
        runnerTemps.push(result.runnerTemp);
        assert.equal(result.status, status, result.log);
        assert.equal(result.outputs.status, String(status));
        const gateMd = readFileSync(join(project, reports, 'gate.md'), 'utf8');
        assert.ok(gateMd.length > 0 && result.summary.includes(gateMd), `the step summary is not gate.md:\n${result.summary}`);
        assert.deepEqual(result.steps.map((s) => [s.name, s.outcome, s.status]), [
          ['Install the programs the deployment runs', 'ran', 0],
          ['Install tls-conformance', 'ran', 0],
          ['Gate', 'ran', status],
          ['Job summary', 'ran', 0],
          ['Upload the reports', 'recorded', undefined],
        ]);
        const upload = result.steps.find((s) => s.uses);
        assert.match(upload!.uses!, /^actions\/upload-artifact@v4$/);
        assert.equal(upload!.with!.path, reports);
      });
    }
  });
});
