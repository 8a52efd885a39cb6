/**
 * The gate's scanner against an oracle: on the same live server, scanServer()
 * finds exactly what Debian's sslscan finds: the versions accepted, the
 * suites accepted in each version, and the key-exchange groups accepted.
 * One row per server configuration, openssl s_server and nginx, each started
 * on a free loopback port and stopped (its whole process group) afterwards.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { scanServer, type ScannedVersion, type ServerScan } from '../support/gate/scan';
import { freePort } from '../support/peers/process-server';
import { loadPki, profileFiles } from '../support/pki';
import { commandExists } from './helpers';

const OPENSSL = '/usr/bin/openssl';
const NGINX = '/usr/sbin/nginx';
const SSLSCAN = '/usr/bin/sslscan';


const missing = [SSLSCAN, NGINX, OPENSSL].filter((command) => !commandExists(command));
// CI installs sslscan and nginx and must not pass by skipping.
const skip = missing.length && process.env.TLS_CONFORMANCE_REQUIRE_ALL !== '1' ? `missing ${missing.join(', ')} (apt-get install -y sslscan nginx openssl)` : false;

/** sslscan's version words → the scanner's. */
const SSLSCAN_PROTOCOL: Record<string, ScannedVersion> = { 'ssl 3': 'SSLv3', 'tls 1.0': 'TLSv1', 'tls 1.1': 'TLSv1_1', 'tls 1.2': 'TLSv1_2', 'tls 1.3': 'TLSv1_3' };
const SSLSCAN_CIPHER_VERSION: Record<string, ScannedVersion> = { SSLv3: 'SSLv3', 'TLSv1.0': 'TLSv1', 'TLSv1.1': 'TLSv1_1', 'TLSv1.2': 'TLSv1_2', 'TLSv1.3': 'TLSv1_3' };
/** IANA group ids → the scanner's (OpenSSL's) group names. */
const GROUP_ID: Record<number, string> = {
  0x001d: 'X25519',
  0x0017: 'prime256v1',
  0x0018: 'secp384r1',
  0x0019: 'secp521r1',
  0x001e: 'X448',
  0x0100: 'ffdhe2048',
  0x0101: 'ffdhe3072',
  0x0102: 'ffdhe4096',
  0x0103: 'ffdhe6144',
  0x0104: 'ffdhe8192',
};

/** What one tool found, in the scanner's words; sets as sorted lists so that a mismatch prints both. */
interface Findings {
  readonly versions: string[];
  readonly suites: Record<string, string[]>;
  /** Groups per version the groups were asked in ('TLSv1.2', 'TLSv1.3'). */
  readonly groups: Record<string, string[]>;
  /** DH sizes of the DHE suites below TLS 1.3. */
  readonly dhBits: number[];
}

const sorted = <T>(values: Iterable<T>): T[] => [...new Set(values)].sort();
const attributes = (tag: string): Record<string, string> => Object.fromEntries([...tag.matchAll(/([\w-]+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));

function parseSslscan(xml: string): Findings {
  const versions: string[] = [];
  for (const tag of xml.match(/<protocol [^>]*\/>/g) ?? []) {
    const a = attributes(tag);
    const version = SSLSCAN_PROTOCOL[`${a.type} ${a.version}`];
    if (version && a.enabled === '1') versions.push(version);
  }
  const suites: Record<string, string[]> = {};
  const dhBits: number[] = [];
  for (const tag of xml.match(/<cipher [^>]*\/>/g) ?? []) {
    const a = attributes(tag);
    if (a.status !== 'accepted' && a.status !== 'preferred') continue;
    const version = SSLSCAN_CIPHER_VERSION[a.sslversion!];
    assert.ok(version, `sslscan names an unknown version: ${tag}`);
    (suites[version] ??= []).push(a.cipher!);
    if (version !== 'TLSv1_3' && a.dhebits) dhBits.push(Number(a.dhebits));
  }
  const groups: Record<string, string[]> = {};
  for (const tag of xml.match(/<group [^>]*\/>/g) ?? []) {
    const a = attributes(tag);
    const name = GROUP_ID[Number(a.id)];
    assert.ok(name, `sslscan names a group the scanner does not know: ${tag}`);
    (groups[a.sslversion === 'TLSv1.0' ? 'TLSv1' : a.sslversion!] ??= []).push(name); // the scanner says TLSv1, as OpenSSL's libraries do
  }
  return {
    versions: sorted(versions),
    suites: Object.fromEntries(Object.entries(suites).map(([v, s]) => [v, sorted(s)])),
    groups: Object.fromEntries(Object.entries(groups).map(([v, g]) => [v, sorted(g)])),
    dhBits: sorted(dhBits),
  };
}

function sslscan(port: number): Promise<{ xml: string; findings: Findings }> {
  return new Promise((resolve, reject) => {
    const args = ['--xml=-', '--no-colour', '--sni-name=localhost', '--no-heartbleed', '--no-renegotiation', '--no-compression', '--no-fallback', `127.0.0.1:${port}`];
    execFile(SSLSCAN, args, { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error) return reject(new Error(`sslscan ${args.join(' ')}: ${error.message} ${stderr}`));
      const xml = stdout.slice(stdout.indexOf('<?xml'));
      resolve({ xml, findings: parseSslscan(xml) });
    });
  });
}

interface ScannerFindings extends Findings {
  /** The version the scanner asked about groups in ("TLSv1.3", "TLSv1.2"), or null with the reason it did not. */
  readonly groupsIn: string | null;
  readonly groupsUnmeasured?: string;
}

async function scanner(port: number): Promise<ScannerFindings> {
  const scan = await scanServer({ host: '127.0.0.1', port, servername: 'localhost' });
  const suites: Record<string, string[]> = {};
  for (const s of scan.suites) (suites[s.version] ??= []).push(s.name);
  const groups: Record<string, string[]> = {};
  if (scan.groups.measured) for (const g of scan.groups.value) (groups[g.version] ??= []).push(g.name);
  const dhBits = scan.suites.filter((s) => s.version !== 'TLSv1_3').flatMap((s) => /^DH (\d+)$/.exec(s.keyExchange)?.[1] ?? []).map(Number);
  return {
    versions: sorted(scan.versions.filter((v) => v.accepted).map((v) => v.version)),
    suites: Object.fromEntries(Object.entries(suites).map(([v, s]) => [v, sorted(s)])),
    groups: Object.fromEntries(Object.entries(groups).map(([v, g]) => [v, sorted(g)])),
    dhBits: sorted(dhBits),
    // "in TLSv1.3": the version the scanner asked about groups in, even when it found none.
    groupsIn: scan.groups.measured ? (/^in (TLSv1(?:\.[123])?)$/.exec(scan.groups.detail ?? '')?.[1] ?? null) : null,
    ...(scan.groups.measured ? {} : { groupsUnmeasured: scan.groups.reason }),
  };
}

// ---- servers ----

const scratch = mkdtempSync(join(tmpdir(), 'oracle-test-'));
const running = new Set<ChildProcess>();
// Module level, so that it runs when the rows are skipped too; a failed row's server is stopped here at the latest.
after(async () => {
  await Promise.all([...running].map(stop));
  rmSync(scratch, { recursive: true, force: true });
});


function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Start a program in its own process group and wait until the port takes TCP connections. */
async function startListening(command: string, args: string[], port: number): Promise<ChildProcess> {
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let said = '';
  child.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await exited;
      running.delete(child);
      throw new Error(`${command} exited (${child.exitCode ?? child.signalCode}): ${said.trim()}`);
    }
    if (await accepts(port)) return child;
    if (Date.now() > deadline) {
      await stop(child);
      throw new Error(`${command} did not listen on ${port} within 10 s: ${said.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function stop(child: ChildProcess): Promise<void> {
  if (!running.delete(child)) return;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    return; // the group is already gone
  }
  const killed = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, 3000);
  await exited;
  clearTimeout(killed);
}

type Cert = 'rsa' | 'ecdsa';
const certFiles = (cert: Cert) => profileFiles(cert === 'rsa' ? 'localhost' : 'localhost-ecdsa');

function startOpenssl(port: number, cert: Cert, options: readonly string[]): Promise<ChildProcess> {
  const { cert: certfile, key } = certFiles(cert);
  return startListening(OPENSSL, ['s_server', '-accept', `127.0.0.1:${port}`, '-www', '-quiet', '-cert', certfile, '-key', key, ...options], port);
}

let nginxCount = 0;
function startNginx(port: number, cert: Cert, directives: readonly string[]): Promise<ChildProcess> {
  const dir = join(scratch, `nginx-${++nginxCount}`);
  const { cert: certfile, key } = certFiles(cert);
  const config = `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log;
events { worker_connections 64; }
http {
  access_log ${dir}/access.log;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    server_name localhost;
    ssl_certificate ${certfile};
    ssl_certificate_key ${key};
    ${directives.join('\n    ')}
    location / { return 200 "ok\\n"; }
  }
}
`;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'nginx.conf'), config);
  return startListening(NGINX, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], port);
}

// ---- the table ----

interface Files {
  /** DH parameters with a 1024-bit prime (usable at @SECLEVEL=0 or 1 only). */
  readonly dh1024: string;
  /** The ffdhe2048 group as DH parameters, as Mozilla's guidelines ship them. */
  readonly ffdhe2048: string;
}

interface Row {
  readonly name: string;
  readonly server: 'openssl' | 'nginx';
  readonly cert?: Cert;
  /** s_server options, or nginx directives inside `server {}`. */
  readonly options: (files: Files) => string[];
  /**
   * Where sslscan itself is wrong on this server: what its XML says instead, the truth (from the
   * server's configuration), and why. The test checks that sslscan still says exactly that (so the
   * mark goes when sslscan is fixed), then holds the scanner to the truth.
   */
  readonly sslscanWrong?: { readonly reason: string; readonly reports: Partial<Findings>; readonly truth: Partial<Findings> };
  /** A known gap of the scanner's group measurement: the groups comparison runs as a TODO subtest, the rest as usual. */
  readonly scannerGap?: string;
}

const MOZILLA_INTERMEDIATE =
  'ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305';

const ROWS: readonly Row[] = [
  { name: 's_server defaults', server: 'openssl', options: () => [] },
  {
    name: "s_server, the issue's example: ARIA, CAMELLIA, DHE, TLS 1.3 CCM_8",
    server: 'openssl',
    options: () => [
      '-cipher',
      'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ARIA256-GCM-SHA384:ECDHE-RSA-CAMELLIA256-SHA384:DHE-RSA-AES256-SHA256',
      '-ciphersuites',
      'TLS_AES_128_GCM_SHA256:TLS_AES_128_CCM_8_SHA256',
    ],
  },
  { name: 's_server, ARIA suites', server: 'openssl', options: () => ['-cipher', 'ECDHE-ARIA128-GCM-SHA256:ECDHE-ARIA256-GCM-SHA384:DHE-RSA-ARIA256-GCM-SHA384:ARIA128-GCM-SHA256'] },
  { name: 's_server, CAMELLIA suites', server: 'openssl', options: () => ['-cipher', 'ECDHE-RSA-CAMELLIA128-SHA256:DHE-RSA-CAMELLIA256-SHA:CAMELLIA128-SHA:CAMELLIA256-SHA256'] },
  {
    name: 's_server, DHE only, a 1024-bit group, no TLS 1.3 (@SECLEVEL=0 also lets TLS 1.0 and 1.1 in)',
    server: 'openssl',
    options: (f) => ['-no_tls1_3', '-dhparam', f.dh1024, '-cipher', 'DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-SHA:DHE-RSA-CHACHA20-POLY1305:@SECLEVEL=0'],
  },
  { name: 's_server, TLS 1.3 only: CCM_8, CCM, AES-256-GCM', server: 'openssl', options: () => ['-tls1_3', '-ciphersuites', 'TLS_AES_128_CCM_8_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_256_GCM_SHA384'] },
  { name: 's_server, P-521 only', server: 'openssl', options: () => ['-groups', 'P-521'] },
  { name: 's_server, TLS 1.3 only, finite-field groups only', server: 'openssl', options: () => ['-tls1_3', '-groups', 'ffdhe2048:ffdhe4096:ffdhe8192'] },
  {
    name: 's_server, TLS 1.0 only at @SECLEVEL=0',
    server: 'openssl',
    options: () => ['-tls1', '-cipher', 'ALL:@SECLEVEL=0'],
    // ECDHE suites negotiate a group in TLS 1.0 as well: both ask in the newest version that has one.
  },
  { name: 's_server, TLS 1.0 to 1.2 at @SECLEVEL=0', server: 'openssl', options: () => ['-min_protocol', 'TLSv1', '-max_protocol', 'TLSv1.2', '-cipher', 'ECDHE:AES128-SHA:@SECLEVEL=0'] },
  { name: 's_server, static RSA suites', server: 'openssl', options: () => ['-cipher', 'AES128-SHA:AES256-GCM-SHA384'] },
  { name: 's_server, server order (-serverpref)', server: 'openssl', options: () => ['-serverpref', '-cipher', 'ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:AES128-SHA'] },
  { name: 's_server, no TLS 1.3 (-no_tls1_3), X25519 and P-384', server: 'openssl', options: () => ['-no_tls1_3', '-groups', 'X25519:P-384'] },
  {
    name: 's_server, TLS 1.2 only, ECDHE only, X25519 only',
    server: 'openssl',
    options: () => ['-no_tls1_3', '-groups', 'X25519', '-cipher', 'ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305'],
    // sslscan 2.0.7 probes each version with one raw ClientHello whose supported_groups for TLS 1.2 lists
    // secp256r1, secp521r1, brainpool, secp384r1, secp256k1, sect* curves but neither X25519 nor X448
    // (checkIfTLSVersionIsSupported in sslscan.c): this server has no suite to answer it with, so sslscan
    // reports <protocol type="tls" version="1.2" enabled="0" /> and nothing else, although
    // `openssl s_client -tls1_2` connects with ECDHE-RSA-AES128-GCM-SHA256 over X25519.
    sslscanWrong: {
      reason: 'sslscan\'s TLS 1.2 probe offers no X25519',
      reports: { versions: [], suites: {}, groups: {} },
      truth: { versions: ['TLSv1_2'], suites: { TLSv1_2: ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-CHACHA20-POLY1305'] }, groups: { 'TLSv1.2': ['X25519'] } },
    },
  },
  { name: 's_server, ECDSA certificate', server: 'openssl', cert: 'ecdsa', options: () => [] },
  {
    name: 'nginx, Mozilla intermediate (TLS 1.2 and 1.3, ffdhe2048 parameters)',
    server: 'nginx',
    options: (f) => ['ssl_protocols TLSv1.2 TLSv1.3;', `ssl_ciphers ${MOZILLA_INTERMEDIATE};`, 'ssl_ecdh_curve X25519:prime256v1:secp384r1;', 'ssl_prefer_server_ciphers off;', `ssl_dhparam ${f.ffdhe2048};`],
  },
  { name: 'nginx, TLS 1.3 only', server: 'nginx', options: () => ['ssl_protocols TLSv1.3;'] },
  { name: 'nginx, TLS 1.2 only (no TLS 1.3), P-521 only', server: 'nginx', options: () => ['ssl_protocols TLSv1.2;', 'ssl_ecdh_curve secp521r1;'] },
  {
    name: 'nginx, ECDSA certificate: CAMELLIA, CCM_8, server order',
    server: 'nginx',
    cert: 'ecdsa',
    options: () => ['ssl_protocols TLSv1.2 TLSv1.3;', 'ssl_ciphers "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CAMELLIA128-SHA256:ECDHE-ECDSA-AES128-CCM8:@SECLEVEL=0";', 'ssl_prefer_server_ciphers on;'],
  },
  {
    name: 'nginx, TLS 1.2 only, DHE with a 1024-bit group, ARIA',
    server: 'nginx',
    options: (f) => [
      'ssl_protocols TLSv1.2;',
      'ssl_ciphers "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-ARIA256-GCM-SHA384:ECDHE-ARIA128-GCM-SHA256:@SECLEVEL=0";',
      'ssl_ecdh_curve X25519:secp384r1;',
      `ssl_dhparam ${f.dh1024};`,
    ],
    // sslscan enumerates TLS 1.2 groups offering a fixed list of 85 suites "sniffed from an OpenSSL client"
    // (testSupportedGroups in sslscan.c): its ECDHE suites are AES, RC4 and 3DES ones, no ARIA, CAMELLIA,
    // CHACHA20 or CCM. From that list this server can only choose DHE-RSA-AES128-GCM-SHA256, whose
    // ServerKeyExchange names no curve, so sslscan lists no <group> at all, although it lists
    // <cipher ... sslversion="TLSv1.2" cipher="ECDHE-ARIA128-GCM-SHA256" ... curve="25519" ecdhebits="253" />.
    sslscanWrong: {
      reason: 'sslscan\'s TLS 1.2 group probe offers no ECDHE-ARIA suite',
      reports: { groups: {} },
      truth: { groups: { 'TLSv1.2': ['X25519', 'secp384r1'] } },
    },
  },
];

describe('the gate scanner finds what sslscan finds', { skip, concurrency: 4 }, () => {
  const files: Files = { dh1024: join(scratch, 'dh1024.pem'), ffdhe2048: join(scratch, 'ffdhe2048.pem') };

  before(async () => {
    await loadPki();
    // PKCS#3 parameters (a safe prime): s_server cannot load the X9.42 ones `openssl dhparam -dsaparam` writes, and says
    // "Using default temp DH parameters" instead (2048 bits).
    execFileSync(OPENSSL, ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'dh_paramgen_prime_len:1024', '-out', files.dh1024], { stdio: 'ignore' });
    execFileSync(OPENSSL, ['genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', 'group:ffdhe2048', '-out', files.ffdhe2048], { stdio: 'ignore' });
  });

  it('has at least twelve rows, from both servers, and the programs it compares', () => {
    assert.deepEqual(missing, [], 'TLS_CONFORMANCE_REQUIRE_ALL=1: install them (apt-get install -y sslscan nginx openssl)');
    assert.ok(ROWS.length >= 12);
    assert.ok(ROWS.some((r) => r.server === 'openssl') && ROWS.some((r) => r.server === 'nginx'));
  });

  for (const row of ROWS) {
    it(row.name, async (t) => {
      const { server, port } = await start(row, files);
      try {
        await compare(t, row, port);
      } finally {
        await stop(server);
      }
    });
  }
});

async function start(row: Row, files: Files): Promise<{ server: ChildProcess; port: number }> {
  for (let tries = 1; ; tries++) {
    const port = await freePort();
    try {
      const server = await (row.server === 'openssl' ? startOpenssl : startNginx)(port, row.cert ?? 'rsa', row.options(files));
      return { server, port };
    } catch (error) {
      // The port given out was taken meanwhile: another one.
      if (tries >= 3 || !/in use|bind/i.test((error as Error).message)) throw error;
    }
  }
}

const show = (what: string, theirs: unknown, mine: unknown): string => `${what} differ\n  sslscan: ${JSON.stringify(theirs)}\n  scanner: ${JSON.stringify(mine)}`;

async function compare(t: TestContext, row: Row, port: number): Promise<void> {
  const oracle = await sslscan(port);
  const ours = await scanner(port);
  let theirs: Findings = oracle.findings;
  if (row.sslscanWrong) {
    for (const [key, value] of Object.entries(row.sslscanWrong.reports)) {
      assert.deepEqual(theirs[key as keyof Findings], value, `sslscan no longer reports ${key} ${JSON.stringify(value)} (${row.sslscanWrong.reason}): drop the mark\n${oracle.xml}`);
    }
    theirs = { ...theirs, ...row.sslscanWrong.truth };
  }
  t.diagnostic(
    `versions ${ours.versions.join(' ')}; ${Object.entries(ours.suites).map(([v, s]) => `${v} ${s.length} suites`).join(', ')}; ` +
      `groups ${ours.groupsIn ? `in ${ours.groupsIn}: ${(ours.groups[ours.groupsIn] ?? []).join(' ')}` : 'not measured'}` +
      `${ours.dhBits.length ? `; DHE ${ours.dhBits.join('/')} bits` : ''}${row.sslscanWrong ? `; sslscan corrected: ${row.sslscanWrong.reason}` : ''}`,
  );
  assert.ok(theirs.versions.length > 0, `sslscan found no version at all:\n${oracle.xml}`);
  assert.deepEqual(ours.versions, theirs.versions, show('accepted versions', theirs.versions, ours.versions));
  for (const version of new Set([...Object.keys(ours.suites), ...Object.keys(theirs.suites)])) {
    const expected = theirs.suites[version] ?? [];
    const found = ours.suites[version] ?? [];
    assert.deepEqual(found, expected, show(`${version} suites`, expected, found));
  }
  assert.deepEqual(ours.dhBits, theirs.dhBits, show('DH sizes of the DHE suites', theirs.dhBits, ours.dhBits));

  const groups = (): void => {
    if (ours.groupsIn === null) {
      // The scanner measured no group: where sslscan found some, the scanner missed them.
      assert.deepEqual(theirs.groups, {}, show(`groups (the scanner measured none: ${ours.groupsUnmeasured})`, theirs.groups, ours.groups));
      return;
    }
    // The scanner asks about groups in one version (TLS 1.3, else the newest with ECDHE), sslscan in TLS 1.3 and in the newest
    // version below it: compare the scanner's version.
    assert.deepEqual(Object.keys(ours.groups).filter((v) => v !== ours.groupsIn), [], `the scanner measured groups in ${ours.groupsIn} only: ${JSON.stringify(ours.groups)}`);
    const expected = theirs.groups[ours.groupsIn] ?? [];
    const found = ours.groups[ours.groupsIn] ?? [];
    assert.deepEqual(found, expected, show(`${ours.groupsIn} groups`, expected, found));
  };
  if (row.scannerGap) await t.test('groups', { todo: row.scannerGap }, groups);
  else groups();
}

describe("the scanner's suite order, with ChaCha20 prioritized by the server", { skip: !commandExists(OPENSSL) && 'openssl is not installed' }, () => {
  // s_server -serverpref -prioritize_chacha imposes its own order, except that a client preferring ChaCha20 gets it:
  // a pair of suites with ChaCha20 in it would look like the client's order.
  const order = async (ciphers: string): Promise<ServerScan['serverOrder']> => {
    await loadPki();
    const row: Row = { name: ciphers, server: 'openssl', options: () => ['-serverpref', '-prioritize_chacha', '-no_tls1_3', '-cipher', ciphers] };
    const { server, port } = await start(row, { dh1024: '', ffdhe2048: '' });
    try {
      return (await scanServer({ host: '127.0.0.1', port, servername: 'localhost' })).serverOrder;
    } finally {
      await stop(server);
    }
  };

  it('is measured on two suites without ChaCha20, and found to be the server’s', async () => {
    const measured = await order('ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384');
    assert.ok(measured.measured, JSON.stringify(measured));
    assert.equal(measured.value, true);
    assert.doesNotMatch(measured.detail!, /CHACHA20/);
  });

  it('is not claimed when the only pair has ChaCha20 and the answers follow the client', async () => {
    // The server's own order puts AES first; ChaCha20 wins only when the client puts it first.
    const measured = await order('ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-CHACHA20-POLY1305');
    assert.equal(measured.measured, false, JSON.stringify(measured));
    assert.match((measured as { reason: string }).reason, /ChaCha20 prioritized/);
  });
});
