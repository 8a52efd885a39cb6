/**
 * `npm run bench`: the speed goals, measured (never asserted by tests).
 * - PKI build, cold (empty directory) and warm (cached);
 * - one attempt (node server, axios client, observed from both ends and
 *   classified) next to the floor measured in the same process: a bare
 *   tls.connect handshake plus one HTTP GET with a prebuilt secure context;
 * - the conformance suite's wall time (serial and --parallel 2) and peak memory.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import tls from 'node:tls';
import { attemptConnection } from '../support/attempt';
import { scanServer } from '../support/gate/scan';
import { clientImplementation, detectImplementations, serverImplementation, SERVERS, CLIENTS } from '../support/peers/registry';
import { closePythonPeer, pythonPeer } from '../support/peers/python-peer';
import { stopAllProcesses } from '../support/processes';
import { axiosClient } from '../support/peers/axios-client';
import { nodeServer } from '../support/peers/node-server';
import { ensurePki } from '../support/pki/store';
import { DEFAULT_CLIENT, DEFAULT_SERVER } from '../support/vocabulary';

const ROOT = resolve(__dirname, '..');
/** How `npm run conformance` loads the TypeScript: the cached transpiler. */
const REGISTER = join(ROOT, 'scripts', 'register-ts.js');
const ATTEMPTS = 300;
const PAIR_ATTEMPTS = 20;

function stats(samples: number[]): { median: number; mean: number; p90: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), mean: samples.reduce((a, b) => a + b, 0) / samples.length, p90: at(0.9) };
}

const ms = (n: number): string => `${n.toFixed(2)} ms`;

async function timed<T>(work: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await work();
  return [result, performance.now() - started];
}

function floorRequest(port: number, context: tls.SecureContext): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', secureContext: context }, () => {
      socket.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    });
    let response = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (response += chunk));
    socket.on('error', reject);
    socket.on('close', () => (response.startsWith('HTTP/1.1 200') ? resolve() : reject(new Error(`floor request failed: ${response.slice(0, 40)}`))));
  });
}

function runSuite(extra: string[]): { wallMs: number; peakRssKb: number; reportMs: number; code: number | null; combinations: number; attempted: number } {
  const reports = mkdtempSync(join(tmpdir(), 'bench-reports-'));
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--require', REGISTER, 'bin/conformance.ts', '--reports', reports, ...extra], { cwd: ROOT, encoding: 'utf8' });
  const wallMs = performance.now() - started;
  const inner = JSON.parse(readFileSync(join(reports, 'run.json'), 'utf8')) as { peakRssKb: number; reportMs: number; combinations: number };
  // Combinations that ran a handshake (the others were not supported by an end, or refused before one).
  const rows = (JSON.parse(readFileSync(join(reports, 'matrix.json'), 'utf8')) as { rows: { outcome: unknown }[] }).rows;
  rmSync(reports, { recursive: true, force: true });
  return { wallMs, peakRssKb: inner.peakRssKb, reportMs: inner.reportMs, code: run.status, combinations: inner.combinations, attempted: rows.filter((r) => r.outcome).length };
}

async function main(): Promise<void> {
  console.log(`Node ${process.versions.node}, OpenSSL ${process.versions.openssl}, ${require('node:os').cpus().length} cores\n`);

  // PKI
  const dir = mkdtempSync(join(tmpdir(), 'bench-pki-'));
  const [, cold] = await timed(() => ensurePki({ dir }));
  const warmSamples: number[] = [];
  for (let i = 0; i < 20; i++) warmSamples.push((await timed(() => ensurePki({ dir })))[1]);
  rmSync(dir, { recursive: true, force: true });
  console.log(`PKI build   cold ${ms(cold)}   warm ${ms(stats(warmSamples).median)} (median of 20)   goals: ≤ 3000 ms cold, ≤ 100 ms warm`);

  // One attempt vs the floor, against the same server
  const pki = await ensurePki();
  const profile = (name: string) => pki.profiles[name]!;
  const server = await nodeServer.start({ ...DEFAULT_SERVER, certfile: profile('localhost').cert, keyfile: profile('localhost').key });
  const clientSettings = { ...DEFAULT_CLIENT, verify: profile('server-ca').cert };
  const context = tls.createSecureContext({ ca: readFileSync(profile('server-ca').cert) });
  for (let i = 0; i < 30; i++) {
    await attemptConnection(server, axiosClient, clientSettings);
    await floorRequest(server.port, context);
  }
  const attemptSamples: number[] = [];
  const floorSamples: number[] = [];
  // Interleaved, so that both see the same machine.
  for (let i = 0; i < ATTEMPTS; i++) {
    const [{ outcome }, attemptMs] = await timed(() => attemptConnection(server, axiosClient, clientSettings));
    if (!outcome.connected) throw new Error(`attempt ${i} did not connect: ${outcome.reason}`);
    attemptSamples.push(attemptMs);
    floorSamples.push((await timed(() => floorRequest(server.port, context)))[1]);
  }
  await server.close();
  const attempt = stats(attemptSamples);
  const floor = stats(floorSamples);
  console.log(`attempt     median ${ms(attempt.median)}   mean ${ms(attempt.mean)}   p90 ${ms(attempt.p90)}   (node server × axios client, both ends observed, ${ATTEMPTS} runs)`);
  console.log(`floor       median ${ms(floor.median)}   mean ${ms(floor.mean)}   p90 ${ms(floor.p90)}   (tls.connect + GET, prebuilt secure context)`);
  console.log(`ratio       ${(attempt.median / floor.median).toFixed(2)}× (median)   ${(attempt.mean / floor.mean).toFixed(2)}× (mean)   goal: ≤ 2×`);

  // Every available pair: server start-up, and the cost of one attempt (median of PAIR_ATTEMPTS after a warm-up)
  const { servers, clients, missing } = await detectImplementations(Object.keys(SERVERS), Object.keys(CLIENTS));
  for (const m of missing) console.log(`(missing ${m.end} ${m.name}: ${m.hint})`);
  console.log(`\nper pair: median ms per attempt (${PAIR_ATTEMPTS} attempts after 3 to warm up); server start-up in brackets`);
  console.log(`${'server \\ client'.padEnd(26)}${clients.map((c) => c.name.padStart(15)).join('')}`);
  await closePythonPeer();
  const [, peerStartMs] = await timed(() => pythonPeer().request('version'));
  for (const chosen of servers) {
    const [running, startMs] = await timed(() => serverImplementation(chosen.name).start({ ...DEFAULT_SERVER, certfile: profile('localhost').cert, keyfile: profile('localhost').key }));
    const cells: string[] = [];
    for (const client of clients) {
      const implementation = clientImplementation(client.name);
      for (let i = 0; i < 3; i++) await attemptConnection(running, implementation, clientSettings);
      const samples: number[] = [];
      for (let i = 0; i < PAIR_ATTEMPTS; i++) {
        const [{ outcome }, took] = await timed(() => attemptConnection(running, implementation, clientSettings));
        if (!outcome.connected) throw new Error(`${chosen.name} × ${client.name} did not connect: ${outcome.reason}`);
        samples.push(took);
      }
      cells.push(stats(samples).median.toFixed(1).padStart(15));
    }
    await running.close();
    console.log(`${`${chosen.name} [${startMs.toFixed(0)} ms]`.padEnd(26)}${cells.join('')}`);
  }
  await closePythonPeer();
  await stopAllProcesses();
  console.log(`the Python peer's start-up (Python + eventlet + requests), paid once per process: ${ms(peerStartMs)}`);

  // The deployment gate, start-up included, for one deployment run by different server implementations
  const gateDir = mkdtempSync(join(tmpdir(), 'bench-gate-'));
  const example = readFileSync(join(ROOT, 'examples', 'mutual-ok', 'deployment.yaml'), 'utf8').replace(/\.\.\/\.\.\/certs\//g, `${join(ROOT, 'certs')}/`);
  const gateTimes: string[] = [];
  for (const implementation of ['node', 'nginx', 'python-eventlet']) {
    if (!servers.some((s) => s.name === implementation)) continue;
    const file = join(gateDir, `${implementation}.yaml`);
    // The Python servers cannot set groups or the suite order: their deployment leaves both at the default.
    const text = example.replace('implementation: node', `implementation: ${implementation}`);
    writeFileSync(file, implementation.startsWith('python') ? text.replace(/\n  (groups|server_preferred_order): .*/g, '') : text);
    const started = performance.now();
    const run = spawnSync(process.execPath, ['--require', REGISTER, 'bin/conformance.ts', '--deployment', file, '--reports', join(gateDir, implementation)], { cwd: ROOT, encoding: 'utf8' });
    gateTimes.push(`${implementation} ${ms(performance.now() - started)} (exit ${run.status})`);
  }
  rmSync(gateDir, { recursive: true, force: true });
  console.log(`\ngate        one mutual deployment, wall time with start-up: ${gateTimes.join(', ')}   goal: node ≤ 5000 ms`);

  // Many deployment files in one run (a glob), against one: start-up is paid once, the gates run side by side.
  {
    const manyDir = mkdtempSync(join(tmpdir(), 'bench-many-'));
    const one = readFileSync(join(ROOT, 'examples', 'mutual-ok', 'deployment.yaml'), 'utf8').replace(/\.\.\/\.\.\/certs\//g, `${join(ROOT, 'certs')}/`);
    for (let i = 1; i <= 20; i++) {
      require('node:fs').mkdirSync(join(manyDir, 'deploy', `service-${String(i).padStart(2, '0')}`), { recursive: true });
      writeFileSync(join(manyDir, 'deploy', `service-${String(i).padStart(2, '0')}`, 'tls.yaml'), one);
    }
    // The installed command's compiled JavaScript (npm run build, as npm pack does), and the repository's cached transpiling.
    const built = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' }).status === 0;
    const commands: [string, string[], NodeJS.ProcessEnv][] = [
      ...(built ? [['compiled (the installed command)', [join(ROOT, 'dist', 'bin', 'conformance.js')], {}] as [string, string[], NodeJS.ProcessEnv]] : []),
      ['the repository (npm run conformance, cached transpiling)', ['--require', REGISTER, join(ROOT, 'bin', 'conformance.ts')], {}],
    ];
    console.log(`\ngate on many deployment files (mutual-ok, node server), wall time with start-up, median of 3:`);
    for (const [label, command, env] of commands) {
      const wall = (args: string[]): number => {
        const t = performance.now();
        spawnSync(process.execPath, [...command, ...args], { cwd: manyDir, encoding: 'utf8', env: { ...process.env, ...env } });
        return performance.now() - t;
      };
      const helps: number[] = [];
      const ones: number[] = [];
      const twenties: number[] = [];
      for (let i = 0; i < 3; i++) {
        helps.push(wall(['--help']));
        ones.push(wall(['--deployment', 'deploy/service-01/tls.yaml', '--reports', join(manyDir, 'reports')]));
        twenties.push(wall(['--deployment', 'deploy/**/tls.yaml', '--reports', join(manyDir, 'reports')]));
      }
      const a = stats(ones).median;
      const b = stats(twenties).median;
      console.log(`  ${label}: --help ${ms(stats(helps).median)} (goal ≤ 500 ms compiled); one file ${ms(a)}, twenty files by a glob ${ms(b)}: ratio ${(b / a).toFixed(2)}×   goal: ≤ 3×`);
    }
    rmSync(manyDir, { recursive: true, force: true });
  }

  // The gate on nginx's own file with two TLS endpoints, against the gate on the same TLS settings written as
  // deployment files (one per endpoint), in this process so that start-up is not in either number.
  if (servers.some((s) => s.name === 'nginx')) {
    const configDir = mkdtempSync(join(tmpdir(), 'bench-config-'));
    const certs = join(ROOT, 'certs');
    const settings = `  implementation: nginx\n  minimum_version: TLSv1_2\n  maximum_version: TLSv1_3\n  ciphers: ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305\n  groups: X25519:prime256v1:secp384r1\n  server_preferred_order: false\n`;
    const yaml = (cert: string, host: string): string => `server:\n${settings}  certfile: ${certs}/${cert}.cert.pem\n  keyfile: ${certs}/${cert}.key.pem\n  hostnames: [${host}]\nclient:\n  verify: ${certs}/server-ca.cert.pem\nintent: one-way\npolicy: mozilla-intermediate\n`;
    writeFileSync(join(configDir, 'www.yaml'), yaml('localhost', 'localhost'));
    writeFileSync(join(configDir, 'api.yaml'), yaml('wrong.host', 'api.conformance.test'));
    const quiet = { stdout: new (require('node:stream').Writable)({ write: (_c: unknown, _e: unknown, done: () => void) => done() }), stderr: process.stderr };
    const { runGateCommand } = require('../support/cli/gate-command') as typeof import('../support/cli/gate-command');
    const once = async (file: string): Promise<number> => (await timed(() => runGateCommand(file, join(configDir, 'reports'), quiet)))[1];
    const configRuns: number[] = [];
    const yamlOne: number[] = [];
    const yamlBoth: number[] = [];
    for (let i = 0; i < 5; i++) {
      configRuns.push(await once(join(ROOT, 'examples', 'nginx-config-two-endpoints', 'deployment.yaml')));
      const www = await once(join(configDir, 'www.yaml'));
      const api = await once(join(configDir, 'api.yaml'));
      yamlOne.push(www);
      yamlBoth.push(www + api);
    }
    rmSync(configDir, { recursive: true, force: true });
    const c = stats(configRuns).median;
    const one = stats(yamlOne).median;
    const both = stats(yamlBoth).median;
    console.log(`\ngate on nginx's own file, two TLS endpoints (examples/nginx-config-two-endpoints), in process, median of 5:`);
    console.log(`  the file (parse, nginx -t, start, both endpoints checked side by side): ${ms(c)}`);
    console.log(`  the same settings as deployment files: one endpoint ${ms(one)}, both endpoints one after the other ${ms(both)}`);
    console.log(`  ratio file/deployment: ${(c / one).toFixed(2)}× one deployment file, ${(c / both).toFixed(2)}× the two   goal: ≤ 2×`);
  }

  // The gate and sslscan against the same live server (issue 9's s_server): the gate probes far more.
  const sslscan = spawnSync('sh', ['-c', 'command -v sslscan'], { encoding: 'utf8' }).stdout.trim();
  if (sslscan) {
    const port = await new Promise<number>((done) => {
      const probe = require('node:net').createServer().listen(0, '127.0.0.1', () => {
        const p = probe.address().port;
        probe.close(() => done(p));
      });
    });
    const pki = join(ROOT, 'certs');
    const server = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-www', '-quiet', '-cert', join(pki, 'localhost.cert.pem'), '-key', join(pki, 'localhost.key.pem'),
      '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ARIA256-GCM-SHA384:ECDHE-RSA-CAMELLIA256-SHA384:DHE-RSA-AES256-SHA256', '-ciphersuites', 'TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_8_SHA256'], { stdio: 'ignore' });
    try {
      for (let i = 0; i < 50; i++) {
        const open = await new Promise<boolean>((done) => require('node:net').connect(port, '127.0.0.1').once('connect', function (this: import('node:net').Socket) { this.destroy(); done(true); }).once('error', () => done(false)));
        if (open) break;
        await new Promise((done) => setTimeout(done, 50));
      }
      const scans: number[] = [];
      let connections = 0;
      for (let i = 0; i < 3; i++) {
        const [scan, scanMs] = await timed(() => scanServer({ host: '127.0.0.1', port, servername: 'localhost' }));
        scans.push(scanMs);
        connections = scan.connections;
      }
      const gateDir2 = mkdtempSync(join(tmpdir(), 'bench-live-'));
      const started = performance.now();
      const gate = spawnSync(process.execPath, ['--require', REGISTER, 'bin/conformance.ts', '--deployment', 'examples/live-target/deployment.yaml', '--target', `127.0.0.1:${port}`, '--reports', gateDir2], { cwd: ROOT, encoding: 'utf8' });
      const gateWall = performance.now() - started;
      const gateOwn = (JSON.parse(readFileSync(join(gateDir2, 'gate.json'), 'utf8')) as { durationMs: number }).durationMs;
      rmSync(gateDir2, { recursive: true, force: true });
      const sslscans: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        spawnSync(sslscan, ['--xml=-', '--no-colour', `127.0.0.1:${port}`], { encoding: 'utf8' });
        sslscans.push(performance.now() - t);
      }
      const scanMedian = stats(scans).median;
      const sslscanMedian = stats(sslscans).median;
      console.log(`\ngate vs sslscan, the same live server (4 TLS 1.2 suites, 2 TLS 1.3 suites, 10 groups):`);
      console.log(`  the gate's scan (versions, every suite by elimination, groups, sizes, order, compression, renegotiation, EMS, fallback SCSV, OCSP): median ${ms(scanMedian)}, ${connections} connections`);
      console.log(`  the whole gate on it (certificates, clients, probes, scan, reports): ${ms(gateOwn)} in the gate, ${ms(gateWall)} wall with the repository's start-up (exit ${gate.status})`);
      console.log(`  sslscan --xml (versions, suites, groups, certificate): median ${ms(sslscanMedian)}`);
      console.log(`  ratio gate/sslscan: scan ${(scanMedian / sslscanMedian).toFixed(2)}×, whole gate ${(gateOwn / sslscanMedian).toFixed(2)}×   goal: ≤ 1×`);
    } finally {
      server.kill();
    }
  } else {
    console.log('\ngate vs sslscan: sslscan is not installed (apt-get install sslscan)');
  }

  // The suite, every available pair
  // The catalog as `npm run conformance` runs it (a worker per core); the serial run only with BENCH_SERIAL=1 (minutes).
  const parallel = runSuite([]);
  const serial = process.env.BENCH_SERIAL === '1' ? runSuite(['--parallel', '0']) : undefined;
  const withoutBrowser = runSuite(['--clients', Object.keys(CLIENTS).filter((c) => c !== 'chromium').join(',')]);
  const nodeOnly = runSuite(['--servers', 'node', '--clients', 'axios']);
  const authentication = runSuite(['--tags', '@one-way or @mutual']);
  console.log(`\nsuite       the whole catalog, all pairs: ${ms(parallel.wallMs)} wall, a worker per core (exit ${parallel.code})${serial ? `; ${ms(serial.wallMs)} serial (exit ${serial.code})` : ''}`);
  const runs: [string, ReturnType<typeof runSuite>][] = [['all pairs, a worker per core', parallel], ['without the chromium column', withoutBrowser], ...(serial ? [['all pairs, serial', serial] as [string, ReturnType<typeof runSuite>]] : [])];
  for (const [label, run] of runs) {
    const perCombination = run.wallMs / run.combinations;
    const perAttempt = run.wallMs / run.attempted;
    console.log(
      `            ${label}: ${run.combinations} combinations (${run.attempted} with a handshake): ${ms(perCombination)} per combination, ${(perCombination / floor.median).toFixed(2)}× the floor attempt; ` +
        `${ms(perAttempt)} per handshake, ${(perAttempt / floor.median).toFixed(2)}× the floor   goal: ≤ 4× per combination`,
    );
  }
  console.log(`            authentication rules, all pairs: ${ms(authentication.wallMs)} wall (exit ${authentication.code})   goal: ≤ 60000 ms`);
  console.log(`            node × axios only: ${ms(nodeOnly.wallMs)} wall (exit ${nodeOnly.code})   goal: ≤ 10000 ms`);
  console.log(`reports     writing every report took ${ms(parallel.reportMs)}, ${((parallel.reportMs / parallel.wallMs) * 100).toFixed(1)} % of the suite's wall time   goal: ≤ 5 %`);
  console.log(`peak memory ${(parallel.peakRssKb / 1024).toFixed(0)} MiB (the suite's main process, all pairs; workers and peers are separate processes)   ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (this benchmark)`);
}

main().catch((error: unknown) => {
  console.error(`bench: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 2;
});
