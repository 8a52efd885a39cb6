/**
 * The command line as users and CI meet it: exit codes, one-line errors,
 * reports, and nothing left running after a passing, failing or interrupted run.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';

const ROOT = resolve(__dirname, '..');
const FIXTURES = 'test/fixtures/features';
const scratch = mkdtempSync(join(tmpdir(), 'conformance-cli-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly reports: string;
  /** Processes still alive in the run's process group after it ended. */
  readonly leftovers: string[];
}

let runs = 0;

/** The in-process pair: fast, for tests about the command line rather than about implementations. */
const NODE_ONLY = ['--servers', 'node', '--clients', 'axios'];

function conformance(args: readonly string[], options: { interruptAfterFirstScenario?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const reports = join(scratch, `reports-${++runs}`);
  return new Promise((done) => {
    // Its own process group, so that anything it starts can be found afterwards.
    const child = spawn(process.execPath, ['--require', 'ts-node/register/transpile-only', 'bin/conformance.ts', '--reports', reports, ...args], {
      cwd: ROOT,
      // CI sets TLS_CONFORMANCE_REQUIRE_ALL for its own run; these runs choose for themselves.
      env: { ...process.env, TLS_CONFORMANCE_REQUIRE_ALL: '', ...options.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (options.interruptAfterFirstScenario && /^progress: /m.test(stdout) && !interrupted) {
        interrupted = true;
        process.kill(-child.pid!, 'SIGINT');
      }
    });
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('close', async (code, signal) => {
      await new Promise((r) => setTimeout(r, 200));
      let leftovers: string[] = [];
      try {
        leftovers = execFileSync('ps', ['-o', 'pid=,args=', '-g', String(child.pid)], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
      } catch {
        /* ps exits 1 when the group is empty */
      }
      done({ code, signal, stdout, stderr, reports, leftovers });
    });
  });
}

function assertOneLineError(run: Run, pattern: RegExp): void {
  assert.equal(run.code, 2, `exit 2 expected, got ${run.code}\n${run.stdout}\n${run.stderr}`);
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one line expected on stderr, got:\n${run.stderr}`);
  assert.match(lines[0]!, /^conformance: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(run.stderr + run.stdout, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace');
}

describe('npm run conformance', { concurrency: 2 }, () => {
  it('exits 0 when the headline rule holds for every pair, records it from both ends, and leaves nothing running', async () => {
    const run = await conformance(['--rule', 'mutual.server-requires-client-cert']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /rules: 1 held, 0 violated/);
    assert.match(run.stdout, /^scenarios: 2 passed, 0 failed$/m);
    assert.deepEqual(run.leftovers, []);
    const matrix = JSON.parse(readFileSync(join(run.reports, 'matrix.json'), 'utf8'));
    const pairs = matrix.implementations.servers.length * matrix.implementations.clients.length;
    assert.equal(matrix.rows.length, 2 * pairs);
    for (const row of matrix.rows) {
      if (row.client.implementation === 'chromium') {
        // Chromium cannot meet a server that asks for a certificate: the cell says so, and nothing was attempted.
        assert.equal(row.verdict, 'not supported');
        assert.match(row.actual, /^not supported by chromium: cert_reqs \(a server that asks for a client certificate/);
        assert.equal(row.outcome, null);
        continue;
      }
      assert.ok(['as expected', 'expected deviation'].includes(row.verdict), `${row.server.implementation} × ${row.client.implementation}: ${row.verdict}`);
      assert.equal(row.outcome.verdict, 'server rejected client');
      assert.ok(row.server.version && row.client.version, 'both ends name their version');
    }
    // Both ends, for the in-process pair: the client's raw error carries the alert, the server's its own refusal.
    for (const row of matrix.rows.filter((r: { server: { implementation: string }; client: { implementation: string } }) => r.server.implementation === 'node' && r.client.implementation === 'axios')) {
      assert.equal(row.outcome.reason, 'certificate_required');
      assert.match(row.evidence.client.socketError.message, /alert/);
      assert.equal(row.evidence.server.rejection.code, 'ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE');
    }
    for (const file of ['matrix.json', 'matrix.md', 'matrix.html', 'cucumber.html', 'cucumber.junit.xml', 'cucumber.ndjson', 'run.json']) {
      assert.ok(readdirSync(run.reports).includes(file), file);
    }
  });

  it('exits 1 when a rule is violated, naming the rule, expected and actual', async () => {
    const run = await conformance([...NODE_ONLY, `${FIXTURES}/violated-rule.feature`]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /rule mutual\.server-requires-client-cert: /);
    assert.match(run.stdout, /expected: the server rejects the client: certificate_required/);
    assert.match(run.stdout, /actual: +node server × axios client: request completes/);
    assert.match(run.stdout, /rules: 0 held, 1 violated: mutual\.server-requires-client-cert/);
    assert.deepEqual(run.leftovers, []);
    const matrix = JSON.parse(readFileSync(join(run.reports, 'matrix.json'), 'utf8'));
    assert.equal(matrix.rows[0].verdict, 'violated');
  });

  const broken: [string, string[], RegExp][] = [
    ['an unknown option', ['--frobnicate'], /unknown option --frobnicate/],
    ['an unknown rule id', ['--rule', 'mutual.sometimes'], /--rule mutual\.sometimes: no rule with that id/],
    ['a missing feature path', ['features/nope.feature'], /features\/nope\.feature: no such feature file/],
    ['an unknown certificate profile', [`${FIXTURES}/unknown-profile.feature`], /unknown-profile\.feature:7: unknown certificate profile "nonexistent"/],
    ['cert_reqs CERT_SOMETIMES', [`${FIXTURES}/unknown-cert-reqs.feature`], /unknown-cert-reqs\.feature:7: cert_reqs: unknown value "CERT_SOMETIMES"/],
    ['a missing certificate file', [`${FIXTURES}/missing-file.feature`], /certfile \(test\/fixtures\/files\/does-not-exist\.pem\): no such file/],
    ['a file that is not PEM', [`${FIXTURES}/not-pem.feature`], /certfile \(test\/fixtures\/files\/not-a-certificate\.pem\): holds no PEM certificate/],
    ['a certificate file that cannot be read', [`${FIXTURES}/unreadable.feature`], /certfile \(test\/fixtures\/files\): cannot read the file \(EISDIR\)/],
    ['a key that does not match its certificate', [`${FIXTURES}/mismatched-key.feature`], /keyfile \(certs\/mismatched-key\.key\.pem\): the private key does not match/],
    ['ssl_version as the string "ssl.PROTOCOL_TLSv1_2"', [`${FIXTURES}/ssl-version-string.feature`], /ssl_version: is the string "ssl\.PROTOCOL_TLSv1_2", not a protocol constant/],
    ['a step no definition matches', [`${FIXTURES}/undefined-step.feature`], /no step definition matches "the server speaks Klingon"/],
    ['an unknown reason', [`${FIXTURES}/unknown-reason.feature`], /unknown reason "certificate_missing"/],
    ['a feature file that is not Gherkin', [`${FIXTURES}/unparsable.feature`], /unparsable\.feature:4: not valid Gherkin/],
    ['a scenario that connects and asserts nothing', [`${FIXTURES}/unasserted.feature`], /no Then step asserted anything/],
    ['a tag that selects nothing', ['--tags', '@no-such-tag'], /no scenario matches --tags @no-such-tag/],
    ['an unknown implementation', ['--servers', 'node,iis'], /--servers iis: unknown implementation/],
  ];
  for (const [what, args, pattern] of broken) {
    it(`exits 2 with one line for ${what}`, async () => {
      const run = await conformance([...NODE_ONLY, ...args]);
      assertOneLineError(run, pattern);
      assert.deepEqual(run.leftovers, []);
    });
  }

  it('runs right under --parallel: the same combinations, attached to their scenarios', async () => {
    const some = ['--servers', 'node,python-context,nginx', '--clients', 'axios,requests'];
    const serial = await conformance(['--tags', '@mutual', ...some]);
    const parallel = await conformance(['--tags', '@mutual', ...some, '--parallel', '2']);
    assert.equal(serial.code, 0, serial.stdout + serial.stderr);
    assert.equal(parallel.code, 0, parallel.stdout + parallel.stderr);
    assert.deepEqual(parallel.leftovers, []);
    const key = (row: { location: string; server: { implementation: string }; client: { implementation: string }; outcome: { verdict: string; reason: string | null; phase: string | null } | null }): string =>
      `${row.location} ${row.server.implementation}×${row.client.implementation} ${row.outcome?.verdict} ${row.outcome?.reason} ${row.outcome?.phase}`;
    const rows = (run: Run): string[] => JSON.parse(readFileSync(join(run.reports, 'matrix.json'), 'utf8')).rows.map(key).sort();
    assert.deepEqual(rows(parallel), rows(serial));
  });

  it('leaves nothing running when interrupted with Ctrl-C', async () => {
    const run = await conformance(['--parallel', '2'], { interruptAfterFirstScenario: true });
    assert.ok(run.code === 130 || run.signal === 'SIGINT', `interrupted: code ${run.code} signal ${run.signal}`);
    assert.deepEqual(run.leftovers, []);
  });

  it('skips a missing implementation with a hint, and fails on it with --require-all', async () => {
    const env = { TLS_CONFORMANCE_APACHE: '/nonexistent/apache2' };
    const args = ['--servers', 'node,apache', '--clients', 'axios', '--rule', 'mutual.server-requires-client-cert'];
    const skipping = await conformance(args, { env });
    assert.equal(skipping.code, 0, skipping.stdout + skipping.stderr);
    assert.match(skipping.stdout, /skipping server apache: apt-get install -y apache2/);
    assert.match(skipping.stdout, /skipped server apache: apt-get install -y apache2/);
    const matrix = JSON.parse(readFileSync(join(skipping.reports, 'matrix.json'), 'utf8'));
    assert.deepEqual(matrix.implementations.missing.map((m: { name: string }) => m.name), ['apache']);
    assertOneLineError(await conformance([...args, '--require-all'], { env }), /--require-all: server apache is not available here \(apt-get install -y apache2\)/);
  });

  it('writes the TLS secrets of the run in the NSS key log format on request, and only then', async () => {
    const keylog = join(scratch, 'keys.log');
    const run = await conformance(['--rule', 'one-way.client-verifies-server', '--servers', 'node,openssl', '--clients', 'axios,curl', '--keylog', keylog]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = readFileSync(keylog, 'utf8').split('\n').filter((line) => line && !line.startsWith('#'));
    assert.ok(lines.length > 0);
    for (const line of lines) assert.match(line, /^(CLIENT_RANDOM|CLIENT_HANDSHAKE_TRAFFIC_SECRET|SERVER_HANDSHAKE_TRAFFIC_SECRET|CLIENT_TRAFFIC_SECRET_0|SERVER_TRAFFIC_SECRET_0|EXPORTER_SECRET) [0-9a-f]{64} [0-9a-f]+$/);
    assert.equal(statSync(keylog).mode & 0o777, 0o600);
    const without = await conformance(['--rule', 'one-way.client-verifies-server', ...NODE_ONLY], { env: { SSLKEYLOGFILE: join(scratch, 'unasked.log') } });
    assert.equal(without.code, 0);
    assert.equal(existsSync(join(scratch, 'unasked.log')), false, 'an inherited SSLKEYLOGFILE is not used unless --keylog asks');
  });

  it('never writes a private key into a report', async () => {
    const run = await conformance(['--tags', '@one-way', ...NODE_ONLY]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    for (const file of readdirSync(run.reports)) {
      assert.doesNotMatch(readFileSync(join(run.reports, file), 'utf8'), /PRIVATE KEY/, file);
    }
  });
});
