/**
 * The gate on a server's own configuration file (nginx, Apache, HAProxy):
 * the file runs as written but for the sandbox, and every change is listed;
 * a broken or unsupported file is exit 2 with one line naming its file and
 * line, and leaves nothing running; the parts that need no program are unit
 * tested (line-preserving edits, names for patterns, the program's words).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { runConformance } from '../support/cli/run';
import { implementationOfConfig } from '../support/gate/deployment';
import { endpointNames, patternMatches } from '../support/serverconfig/names';
import { applyEdits, placeOf } from '../support/serverconfig/sandbox';
import { commandExists } from './helpers';

const ROOT = resolve(__dirname, '..');
const CORPUS = join(ROOT, 'test', 'fixtures', 'configs');
const scratch = mkdtempSync(join(tmpdir(), 'config-test-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return { stream: new Writable({ write: (chunk, _e, done) => ((text += chunk), done()) }), text: () => text };
}

async function conformance(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = capture();
  const stderr = capture();
  const code = await runConformance(args, { stdout: stdout.stream, stderr: stderr.stream });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Server programs running, and sandboxes left, right now. */
function leftovers(): string[] {
  let processes = '';
  try {
    processes = execFileSync('pgrep', ['-a', '-f', 'tls-conformance-config-'], { encoding: 'utf8' });
  } catch {
    // pgrep exits 1 when nothing matches
  }
  const sandboxes = readdirSync(tmpdir()).filter((name) => name.startsWith('tls-conformance-config-'));
  return [...processes.split('\n').filter(Boolean), ...sandboxes];
}

const PROGRAM = { nginx: 'nginx', apache: 'apache2', haproxy: 'haproxy' } as const;
const available = (program: string): boolean => commandExists(program) || commandExists(`/usr/sbin/${program}`);
const required = process.env.TLS_CONFORMANCE_REQUIRE_ALL === '1';

describe('a server configuration file, gated as it ships', () => {
  it('has at least fifteen broken or unsupported files in its corpus, each exit 2 with one line naming the file and line, nothing left running', async () => {
    const files = readdirSync(CORPUS).sort();
    assert.ok(files.length >= 15, `${files.length} files`);
    const before = leftovers();
    for (const file of files) {
      const text = readFileSync(join(CORPUS, file), 'utf8');
      const expect = /^# expect: (.+)$/m.exec(text)?.[1];
      assert.ok(expect, `${file}: says what it expects on its first line`);
      const program = (Object.keys(PROGRAM) as (keyof typeof PROGRAM)[]).find((p) => file.startsWith(p));
      if (program && !available(PROGRAM[program])) {
        assert.ok(!required, `${PROGRAM[program]} is required`);
        continue;
      }
      const run = await conformance(['--deployment', join(CORPUS, file), '--verify', join(ROOT, 'certs', 'server-ca.cert.pem'), '--reports', join(scratch, 'corpus')]);
      assert.equal(run.code, 2, `${file}: exit ${run.code}\n${run.stdout}${run.stderr}`);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${file}: one line expected, got:\n${run.stderr}`);
      assert.ok(lines[0]!.includes(expect!), `${file}: ${lines[0]} does not say "${expect}"`);
      assert.match(lines[0]!, new RegExp(file.replace(/\./g, '\\.')), `${file}: the line names the file`);
      assert.doesNotMatch(run.stderr, /^\s+at /m, `${file}: no stack trace`);
      assert.deepEqual(leftovers(), before, `${file}: nothing left running, no sandbox left`);
    }
  });

  it('runs a bare configuration file with the command line saying what a deployment file would', { skip: !available('nginx') && !required && 'nginx is not installed' }, async () => {
    const config = join(ROOT, 'examples', 'nginx-config-intermediate', 'nginx', 'nginx.conf');
    const reports = join(scratch, 'bare');
    const run = await conformance(['--deployment', config, '--verify', join(ROOT, 'certs', 'server-ca.cert.pem'), '--paths', `/etc/nginx/tls=${join(ROOT, 'certs')}`, '--reports', reports]);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const result = JSON.parse(readFileSync(join(reports, 'gate.json'), 'utf8')) as { config: { implementation: string; changes: { where: string; from: string; why: string }[]; endpoints: { id: string; intentFrom: string }[] } };
    assert.equal(result.config.implementation, 'nginx');
    assert.deepEqual(result.config.endpoints.map((e) => [e.id, e.intentFrom]), [['localhost:443', 'file']]);
    // Everything the sandbox changed is in the report, at the user's line.
    const changed = result.config.changes.map((c) => `${c.where.replace(/^.*nginx\.conf/, 'nginx.conf')} ${c.from.split(' ')[0]}`);
    for (const expected of ['nginx.conf:2 user', 'nginx.conf:4 pid', 'nginx.conf:5 error_log', 'nginx.conf:16 listen', 'nginx.conf:21 listen', 'nginx.conf:25 /etc/nginx/tls/localhost.cert.pem', 'nginx.conf:38 http://app.internal:8080']) {
      assert.ok(changed.includes(expected), `${expected} not among ${changed.join(', ')}`);
    }
    assert.match(run.stdout, /changed to run in the sandbox \(\d+\):/);
    // Without the CA the clients trust, nothing can be judged: exit 2, saying so.
    const bare = await conformance(['--deployment', config, '--reports', reports]);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /needs --verify <CA file>/);
  });

  it('asks for every name an endpoint serves by itself, and takes any HTTP answer after the handshake as the application’s', { skip: !available('nginx') && !required && 'nginx is not installed' }, async () => {
    const dir = join(scratch, 'names');
    mkdirSync(dir, { recursive: true });
    // No location: nginx answers 404, which is the application's business, not a TLS refusal.
    writeFileSync(join(dir, 'site.conf'), 'server {\n    listen 443 ssl;\n    server_name localhost www.conformance.test;\n    ssl_certificate /etc/nginx/tls/localhost.cert.pem;\n    ssl_certificate_key /etc/nginx/tls/localhost.key.pem;\n    ssl_protocols TLSv1.2 TLSv1.3;\n}\n');
    const reports = join(scratch, 'names-reports');
    const run = await conformance(['--deployment', join(dir, 'site.conf'), '--verify', join(ROOT, 'certs', 'server-ca.cert.pem'), '--paths', `/etc/nginx/tls=${join(ROOT, 'certs')}`, '--policy', 'mozilla-intermediate', '--reports', reports]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    const result = JSON.parse(readFileSync(join(reports, 'gate.json'), 'utf8')) as { findings: { rule: string; status: string; detail: string; field?: string; where?: string }[] };
    const names = result.findings.find((f) => f.rule === 'identity.hostname-matches')!;
    assert.equal(names.status, 'violated');
    assert.match(names.detail, /^asked for www\.conformance\.test: the certificate \(DNS:localhost/);
    assert.equal(names.field, 'ssl_certificate');
    assert.match(names.where!, /site\.conf:4$/);
    const own = result.findings.find((f) => f.rule === 'one-way.client-verifies-server')!;
    assert.equal(own.status, 'held', own.detail);
    assert.match(own.detail, /HTTP 404.*the status is the application's answer/);
  });

  it('claims nothing about an endpoint it cannot ask for by name when another block answers a client that names none', { skip: !available('nginx') && !required && 'nginx is not installed' }, async () => {
    const dir = join(scratch, 'unreached');
    mkdirSync(dir, { recursive: true });
    const block = (names: string, extra: string): string => `server {\n    listen 443 ssl${extra};\n    server_name ${names};\n    ssl_certificate /etc/nginx/tls/localhost.cert.pem;\n    ssl_certificate_key /etc/nginx/tls/localhost.key.pem;\n}\n`;
    // A second block for a name the first already serves is not reached by it either.
    writeFileSync(join(dir, 'site.conf'), block('localhost', ' default_server') + block('~^api\\d+\\.example\\.test$', '') + block('localhost', ''));
    const args = ['--deployment', join(dir, 'site.conf'), '--verify', join(ROOT, 'certs', 'server-ca.cert.pem'), '--paths', `/etc/nginx/tls=${join(ROOT, 'certs')}`, '--allow-inconclusive'];
    const reports = join(scratch, 'unreached-reports');
    await conformance([...args, '--reports', reports]);
    type Result = { findings: { rule: string; status: string; endpoint?: string; field?: string }[] };
    const unreached = (JSON.parse(readFileSync(join(reports, 'gate.json'), 'utf8')) as Result).findings.filter((f) => f.endpoint === '(any name):443');
    assert.deepEqual(unreached.map((f) => `${f.rule} ${f.status} ${f.field ?? ''}`.trim()), ['config.intent skipped', 'config.endpoint-reached inconclusive --hostnames']);
    const shadowed = (JSON.parse(readFileSync(join(reports, 'gate.json'), 'utf8')) as Result).findings.filter((f) => /^localhost:443 \(server block at .*site\.conf:13\)$/.test(f.endpoint ?? ''));
    assert.deepEqual(shadowed.map((f) => `${f.rule} ${f.status} ${f.field ?? ''}`.trim()), ['config.intent skipped', 'config.endpoint-reached inconclusive server_name']);
    // With a name for its pattern, it is asked for and checked like any other.
    await conformance([...args, '--hostnames', 'api7.example.test', '--reports', reports]);
    const reached = (JSON.parse(readFileSync(join(reports, 'gate.json'), 'utf8')) as Result).findings.filter((f) => f.endpoint === 'api7.example.test:443');
    assert.ok(reached.length > 20);
    assert.equal(reached.find((f) => f.rule === 'identity.hostname-matches')!.status, 'violated');
  });

  it('refuses a deployment file that mixes server.config with the settings the file says, naming both lines', async () => {
    const dir = join(scratch, 'yaml');
    mkdirSync(join(dir, 'tls'), { recursive: true });
    const ca = join(ROOT, 'certs', 'server-ca.cert.pem');
    writeFileSync(join(dir, 'nginx.conf'), 'events { }\nhttp { server { listen 443 ssl; } }\n');
    const cases: [string, string, RegExp][] = [
      ['both.yaml', `server:\n  implementation: nginx\n  config: nginx.conf\n  ciphers: HIGH\nclient:\n  verify: ${ca}\n`, /both\.yaml:4: server\.ciphers: and server\.config \(line 3\): one or the other/],
      ['node.yaml', `server:\n  implementation: node\n  config: nginx.conf\nclient:\n  verify: ${ca}\n`, /node\.yaml:2: server\.implementation: unknown value "node" \(expected one of nginx, apache, haproxy\)/],
      ['no-program.yaml', `server:\n  config: nginx.conf\nclient:\n  verify: ${ca}\n`, /no-program\.yaml:2: server\.implementation: is missing: with config, say which program runs it/],
      ['no-config.yaml', `server:\n  implementation: nginx\n  config: nowhere.conf\nclient:\n  verify: ${ca}\n`, /no-config\.yaml:3: server\.config: nowhere\.conf: no such file/],
      ['paths-relative.yaml', `server:\n  implementation: nginx\n  config: nginx.conf\n  paths: { etc/nginx: tls }\nclient:\n  verify: ${ca}\n`, /paths-relative\.yaml:4: server\.paths: "etc\/nginx": each key is an absolute path/],
      ['paths-missing.yaml', `server:\n  implementation: nginx\n  config: nginx.conf\n  paths: { /etc/nginx: nowhere }\nclient:\n  verify: ${ca}\n`, /paths-missing\.yaml:4: server\.paths: nowhere: no such directory/],
      ['paths-alone.yaml', `server:\n  certfile: ${ca}\n  paths: { /etc/nginx: tls }\nclient:\n  verify: ${ca}\nintent: one-way\n`, /paths-alone\.yaml:3: server\.paths: only means something with server\.config/],
    ];
    for (const [name, content, pattern] of cases) {
      writeFileSync(join(dir, name), content);
      const run = await conformance(['--deployment', join(dir, name), '--reports', join(scratch, 'yaml-reports')]);
      assert.equal(run.code, 2, `${name}: ${run.stdout}${run.stderr}`);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.match(run.stderr, pattern, name);
    }
    // The command line's words for a bare file are refused with a deployment file, which says them itself.
    const run = await conformance(['--deployment', join(dir, 'both.yaml'), '--verify', ca]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--verify is for --deployment <a server's own configuration file>/);
  });

  it('edits a file without moving any line, so the program’s file:line is the user’s', () => {
    const text = 'a 1;\nlisten 443\n  ssl;\nb 2;\n';
    const start = text.indexOf('listen');
    const end = text.indexOf(';', start) + 1;
    const out = applyEdits(text, [{ start, end, text: 'listen 127.0.0.1:5 ssl;' }]);
    assert.equal(out.split('\n').length, text.split('\n').length);
    assert.equal(out.split('\n')[3], 'b 2;');
  });

  it('asks for a made-up or given name where the file writes a pattern', () => {
    assert.deepEqual(endpointNames(['www.example.test', '*.example.test'], ['api.example.test']), { names: ['www.example.test', 'api.example.test'], patterns: [] });
    assert.deepEqual(endpointNames(['*.example.test'], []), { names: ['tls-conformance-check.example.test'], patterns: [] });
    assert.deepEqual(endpointNames(['~^api\\d+\\.example\\.test$'], []), { names: [], patterns: ['~^api\\d+\\.example\\.test$'] });
    assert.ok(patternMatches('~^api\\d+\\.example\\.test$', 'api7.example.test'));
    assert.ok(patternMatches('.example.test', 'example.test'));
    assert.ok(patternMatches('www.example.*', 'www.example.org'));
    assert.ok(!patternMatches('*.example.test', 'example.test'));
  });

  it('reads where a program says the problem is, and which program a file is for', () => {
    assert.equal(placeOf('unknown directive "x" in deploy/nginx.conf:9'), 'deploy/nginx.conf:9');
    assert.equal(placeOf("parsing [deploy/haproxy.cfg:12] : unknown keyword 'x'"), 'deploy/haproxy.cfg:12');
    assert.equal(placeOf('AH00526: Syntax error on line 7 of deploy/site.conf:'), 'deploy/site.conf:7');
    assert.equal(implementationOfConfig('x', 'events { }\nhttp { server { listen 443 ssl; } }\n'), 'nginx');
    assert.equal(implementationOfConfig('x', '<VirtualHost *:443>\n  SSLEngine on\n</VirtualHost>\n'), 'apache');
    assert.equal(implementationOfConfig('x', 'frontend web\n  bind :443 ssl crt /x.pem\n'), 'haproxy');
    assert.throws(() => implementationOfConfig('x', 'key = value\n'), /cannot tell which program/);
  });
});
