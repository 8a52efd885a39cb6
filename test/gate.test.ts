/**
 * The deployment gate: the examples pass and fail exactly as their
 * expected.json says, and bad deployment files never crash it: exit 2, one
 * line naming the file (and line, and field), nothing written outside reports/.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { commandExists } from './helpers';
import { runConformance } from '../support/cli/run';
import { loadPki, profileFiles } from '../support/pki';

const ROOT = resolve(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'gate-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (chunk, _e, done) => ((text += chunk), done()) }), text: () => text };
}

async function gate(file: string, reports: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runConformance(['--deployment', file, '--reports', reports], { stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

describe('the deployment gate', () => {
  const examples = readdirSync(join(ROOT, 'examples')).filter((name) => {
    try {
      return readdirSync(join(ROOT, 'examples', name)).includes('expected.json');
    } catch {
      return false;
    }
  });

  it('has a correct deployment and at least eight wrong ones among its examples', () => {
    assert.ok(examples.includes('mutual-ok'));
    assert.ok(examples.length >= 9, examples.join(', '));
  });

  for (const example of examples) {
    it(`examples/${example}: exits and finds exactly what expected.json says`, async () => {
      type Expected = { rule: string; field: string; endpoint?: string; where?: string };
      const expected = JSON.parse(readFileSync(join(ROOT, 'examples', example, 'expected.json'), 'utf8')) as { exit: number; violated: Expected[]; inconclusive: Expected[] };
      // A finding of a server configuration file names its endpoint and the directive's file:line as well.
      const key = (f: { rule: string; field?: string; endpoint?: string; where?: string }): string => `${f.rule} @ ${f.field}${f.endpoint ? ` @ ${f.endpoint} @ ${f.where}` : ''}`;
      const reports = join(scratch, `reports-${example}`);
      const run = await gate(join(ROOT, 'examples', example, 'deployment.yaml'), reports);
      assert.equal(run.code, expected.exit, run.stdout + run.stderr);
      const result = JSON.parse(readFileSync(join(reports, 'gate.json'), 'utf8')) as { verdict: string; findings: { rule: string; field?: string; status: string; endpoint?: string; where?: string }[] };
      assert.equal(result.verdict, expected.exit === 0 ? 'pass' : 'fail');
      const violated = result.findings.filter((f) => f.status === 'violated').map(key).sort();
      assert.deepEqual(violated, expected.violated.map(key).sort());
      const inconclusive = result.findings.filter((f) => f.status === 'inconclusive').map(key).sort();
      assert.deepEqual(inconclusive, expected.inconclusive.map(key).sort());
      for (const v of expected.inconclusive) assert.match(run.stdout, new RegExp(`\\? ${v.rule.replace(/\./g, '\\.')}:[^\\n]*\\n    fix ${v.field.replace(/\./g, '\\.')} first`));
      // Each violated rule is printed with the field to change.
      const literally = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      for (const v of expected.violated) assert.match(run.stdout, new RegExp(`✘ ${literally(v.rule)}:[^\\n]*\\n    (change|add) ${literally(v.field)}${v.where ? ` \\(${literally(v.where)}\\)` : ''}`));
      const junit = readFileSync(join(reports, 'gate.junit.xml'), 'utf8');
      assert.equal((junit.match(/<testcase /g) ?? []).length, result.findings.length, 'one testcase per rule');
      assert.equal((junit.match(/<failure /g) ?? []).length, expected.violated.length);
      assert.equal((junit.match(/<error /g) ?? []).length, expected.inconclusive.length);
      for (const testcase of junit.match(/<testcase [^>]*>/g) ?? []) assert.match(testcase, /classname="[^"]+" name="[^"]+"/);
      // Schema-valid against the JUnit shape CI systems read (xmllint comes from libxml2-utils, which CI installs).
      if (commandExists('xmllint') || process.env.TLS_CONFORMANCE_REQUIRE_ALL === '1') {
        execFileSync('xmllint', ['--noout', '--schema', join(ROOT, 'test', 'fixtures', 'junit.xsd'), join(reports, 'gate.junit.xml')], { stdio: 'pipe' });
      }
      assert.match(readFileSync(join(reports, 'gate.md'), 'utf8'), expected.exit === 0 ? /TLS gate: ✔ pass/ : /TLS gate: ✘ fail/);
    });
  }

  it('checks a live target, named by address or by host name, with --sni', async () => {
    await loadPki();
    const listen = (ciphers?: string, hsts?: string): Promise<Server> =>
      new Promise((done) => {
        // Mozilla's intermediate groups and the client's suite order; only the suites differ between the two servers.
        const server = createServer(
          { cert: readFileSync(profileFiles('localhost').cert), key: readFileSync(profileFiles('localhost').key), ecdhCurve: 'X25519:P-256:P-384', honorCipherOrder: false, ...(ciphers ? { ciphers } : {}) },
          (_q, r) => {
            if (hsts) r.setHeader('Strict-Transport-Security', hsts);
            r.end('ok');
          },
        );
        server.listen(0, '127.0.0.1', () => done(server));
      });
    const deployment = join(ROOT, 'examples', 'live-target', 'deployment.yaml');
    const strict = await listen('ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305', 'max-age=63072000; includeSubDomains');
    const lax = await listen();
    try {
      const pass = await runWith(deployment, `127.0.0.1:${port(strict)}`);
      assert.equal(pass.code, 0, pass.stdout + pass.stderr);
      // The live target's own HTTP answer is read: its HSTS header counts, and its absence is a finding.
      assert.match(pass.stdout, /✔ policy\.hsts: Strict-Transport-Security: max-age=63072000/);
      const fail = await runWith(deployment, `127.0.0.1:${port(lax)}`);
      assert.equal(fail.code, 1, fail.stdout + fail.stderr);
      assert.match(fail.stdout, /✘ policy\.hsts: the HTTP answer \(HTTP 200\) has no Strict-Transport-Security header/);
      assert.match(fail.stdout, /✘ cipher\.restricted-by-ciphers: accepts legacy suites: [^\n]*AES128-GCM-SHA256/);
      // A host name is resolved and asked for by SNI; --sni asks for another name.
      const byName = await runWith(deployment, `localhost:${port(strict)}`);
      assert.equal(byName.code, 0, byName.stdout + byName.stderr);
      const otherName = await runWith(deployment, `127.0.0.1:${port(strict)}`, ['--sni', 'wrong.host.example']);
      assert.equal(otherName.code, 1, otherName.stdout);
      assert.match(otherName.stdout, /✘ one-way\.client-verifies-server: [^\n]*hostname_mismatch/);
    } finally {
      strict.close();
      lax.close();
    }

    function port(server: Server): number {
      return (server.address() as AddressInfo).port;
    }
    async function runWith(file: string, target: string, extra: string[] = []) {
      const out = capture();
      const err = capture();
      const result = await runConformance(['--deployment', file, '--target', target, ...extra, '--reports', join(scratch, `live-${target}`)], { stdout: out.stream, stderr: err.stream });
      return { code: result, stdout: out.text(), stderr: err.text() };
    }
  });

  it('gives up on a target that cannot be reached within a bounded time: exit 2, one line', async () => {
    const deployment = join(ROOT, 'examples', 'live-target', 'deployment.yaml');
    // A port nobody listens on, and one that accepts TCP and never answers.
    const closed = await new Promise<number>((done) => {
      const probe = createNetServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as AddressInfo).port;
        probe.close(() => done(p));
      });
    });
    const silent = createNetServer(() => undefined);
    await new Promise<void>((done) => silent.listen(0, '127.0.0.1', done));
    const cases: [string, RegExp][] = [
      [`127.0.0.1:${closed}`, /^conformance: --target 127\.0\.0\.1:\d+: no TLS server answers there \(connect ECONNREFUSED/],
      [`127.0.0.1:${(silent.address() as AddressInfo).port}`, /^conformance: --target 127\.0\.0\.1:\d+: no TLS server answers there \(no TLS answer within 5 s\)/],
      ['no-such-host.invalid:443', /^conformance: --target no-such-host\.invalid:443: no-such-host\.invalid cannot be resolved/],
      ['not a target', /^conformance: --target not a target: expected host:port/],
      ['[not-ipv6]:443', /^conformance: --target \[not-ipv6\]:443: expected host:port/],
    ];
    try {
      for (const [target, pattern] of cases) {
        const out = capture();
        const err = capture();
        const started = Date.now();
        const code = await runConformance(['--deployment', deployment, '--target', target, '--reports', join(scratch, 'unreachable')], { stdout: out.stream, stderr: err.stream });
        assert.equal(code, 2, `${target}: ${out.text()}${err.text()}`);
        assert.equal(err.text().trim().split('\n').length, 1, err.text());
        assert.match(err.text(), pattern);
        assert.ok(Date.now() - started < 12_000, `${target}: gave up after ${Date.now() - started} ms`);
      }
    } finally {
      silent.close();
    }
  });

  it('never crashes on a bad deployment file: exit 2, one line with file, line and field, nothing written outside reports/', async () => {
    await loadPki();
    const dir = join(scratch, 'bad');
    mkdirSync(join(dir, 'a-directory'), { recursive: true });
    const cert = profileFiles('localhost').cert;
    const key = profileFiles('localhost').key;
    const ca = profileFiles('server-ca').cert;
    writeFileSync(join(dir, 'garbage.pem'), 'not a certificate\n');
    writeFileSync(
      join(dir, 'bad-policy.yaml'),
      'name: p\nversions: [TLSv9]\ntls12_ciphers: []\ncertificate:\n  key_types: [rsa]\n  min_rsa_bits: 2048\n  min_ec_bits: 256\n  signature_algorithms: [sha256WithRSAEncryption]\n  max_lifespan_days: 366\n',
    );
    const good = (extra = ''): string =>
      `server:\n  certfile: ${cert}\n  keyfile: ${key}\nclient:\n  verify: ${ca}\nintent: one-way\n${extra}`;
    const cases: [string, string | Buffer | null, RegExp][] = [
      ['missing.yaml', null, /missing\.yaml: cannot read the deployment file \(ENOENT\)/],
      ['a-directory', null, /a-directory: is a directory, not a deployment or configuration file/],
      ['empty.yaml', '', /empty\.yaml:1: a deployment file is a mapping of fields/],
      ['binary.yaml', Buffer.from([0, 1, 2, 255, 254, 0, 7]), /binary\.yaml: binary data, not a deployment file/],
      ['huge.yaml', `# ${'x'.repeat(1_100_000)}\n`, /huge\.yaml: \d+ bytes is too large/],
      ['syntax.yaml', 'server: [unclosed\n', /syntax\.yaml:\d+: not valid YAML/],
      ['list.yaml', '- a\n- b\n', /list\.yaml:1: a deployment file is a mapping/],
      ['unknown-top.yaml', good('colour: blue\n'), /unknown-top\.yaml:7: colour: unknown field/],
      ['duplicate.yaml', good('intent: mutual\n'), /duplicate\.yaml:7: not valid YAML: Map keys must be unique/],
      ['no-server.yaml', `client:\n  verify: ${ca}\nintent: one-way\n`, /no-server\.yaml:1: server: is missing/],
      ['server-string.yaml', `server: node\nclient:\n  verify: ${ca}\nintent: one-way\n`, /server-string\.yaml:1: server: must be a mapping/],
      ['unknown-server-field.yaml', good().replace('  keyfile:', '  colour: blue\n  keyfile:'), /unknown-server-field\.yaml:3: server\.colour: unknown field/],
      ['no-certfile.yaml', good().replace(/  certfile: .*\n/, ''), /no-certfile\.yaml:2: server\.certfile: is missing/],
      ['certfile-number.yaml', good().replace(/certfile: .*/, 'certfile: 42'), /certfile-number\.yaml:2: server\.certfile: must be a non-empty string/],
      ['certfile-absent.yaml', good().replace(/certfile: .*/, 'certfile: tls/nowhere.pem'), /certfile-absent\.yaml:2: server\.certfile: tls\/nowhere\.pem: no such file \(paths are relative to the deployment file\)/],
      ['relative.yaml', good().replace(/certfile: .*/, 'certfile: certs/localhost.cert.pem'), /relative\.yaml:2: server\.certfile: certs\/localhost\.cert\.pem: no such file \(paths are relative to the deployment file\)/],
      ['certfile-directory.yaml', good().replace(/certfile: .*/, 'certfile: a-directory'), /certfile-directory\.yaml:2: server\.certfile: a-directory is a directory/],
      ['certfile-garbage.yaml', good().replace(/certfile: .*/, 'certfile: garbage.pem'), /certfile-garbage\.yaml:2: server\.certfile: holds no PEM certificate/],
      ['keyfile-garbage.yaml', good().replace(/keyfile: .*/, 'keyfile: garbage.pem'), /keyfile-garbage\.yaml:3: server\.keyfile: holds no PEM private key/],
      ['passphrase.yaml', good().replace(/keyfile: .*/, `keyfile: ${profileFiles('encrypted-key').key}`), /passphrase\.yaml:3: server\.keyfile: the private key is encrypted and no password was given/],
      ['implementation.yaml', good().replace('server:\n', 'server:\n  implementation: iis\n'), /implementation\.yaml:2: server\.implementation: unknown value "iis"/],
      ['cert-reqs.yaml', good().replace('server:\n', 'server:\n  cert_reqs: CERT_SOMETIMES\n'), /cert-reqs\.yaml:2: server\.cert_reqs: unknown value "CERT_SOMETIMES"/],
      ['ssl-version-string.yaml', good().replace('server:\n', `server:\n  ssl_version: '"ssl.PROTOCOL_TLSv1_2"'\n`), /ssl-version-string\.yaml:2: server\.ssl_version: unknown protocol constant/],
      ['min-version.yaml', good().replace('server:\n', 'server:\n  minimum_version: TLSv2\n'), /min-version\.yaml:2: server\.minimum_version: unknown value "TLSv2"/],
      ['hostnames.yaml', good().replace('server:\n', 'server:\n  hostnames: localhost\n'), /hostnames\.yaml:2: server\.hostnames: must be a non-empty list/],
      ['client-cert-shape.yaml', good().replace('client:\n', `client:\n  cert: [${cert}]\n`), /client-cert-shape\.yaml:5: client\.cert: must be \[certificate file, key file\]/],
      ['verify-missing.yaml', good().replace(/  verify: .*\n/, '  implementation: axios\n'), /verify-missing\.yaml:\d+: client\.verify: is missing/],
      ['verify-directory.yaml', good().replace(/verify: .*/, 'verify: a-directory'), /verify-directory\.yaml:5: client\.verify: a-directory is a directory/],
      ['intent.yaml', good().replace('intent: one-way', 'intent: both-ways'), /intent\.yaml:6: intent: unknown value "both-ways"/],
      ['mutual-no-cert.yaml', good().replace('intent: one-way', 'intent: mutual'), /mutual-no-cert\.yaml:\d+: client\.cert: a mutual deployment needs/],
      ['policy-unknown.yaml', good('policy: mozilla-ancient\n'), /policy-unknown\.yaml:7: policy: mozilla-ancient: neither a built-in policy/],
      ['policy-bad.yaml', good('policy: bad-policy.yaml\n'), /bad-policy\.yaml:2: versions: unknown value "TLSv9"/],
      ['days.yaml', good('expiry_warning_days: -3\n'), /days\.yaml:7: expiry_warning_days: must be a whole number/],
      ['days-string.yaml', good('expiry_warning_days: soon\n'), /days-string\.yaml:7: expiry_warning_days: must be a whole number/],
    ];
    for (const [name, content] of cases) if (content !== null) writeFileSync(join(dir, name), content);
    const before = readdirSync(dir).sort();
    const reports = join(scratch, 'bad-reports');
    assert.ok(cases.length >= 25);
    for (const [name, , pattern] of cases) {
      const run = await gate(join(dir, name), reports);
      assert.equal(run.code, 2, `${name}: exit ${run.code}\n${run.stdout}${run.stderr}`);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${name}: one line expected, got:\n${run.stderr}`);
      assert.match(lines[0]!, pattern, name);
      assert.doesNotMatch(run.stderr, /^\s+at /m, `${name}: no stack trace`);
    }
    assert.deepEqual(readdirSync(dir).sort(), before, 'nothing written next to the deployment files');
  });
});

